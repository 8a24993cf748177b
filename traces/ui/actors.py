"""The actor page's read: counts by event type and outcome over a period, the latest events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from traces.models import ActorRecord, EventRecord
from traces.ui.charts import OUTCOME_LABELS, CountRow, Period, count_rows

__all__ = ["ACTOR_RECENT_LIMIT", "ActorSummary", "actor_summary"]

ACTOR_RECENT_LIMIT = 15


@dataclass(frozen=True)
class ActorSummary:
    actor: ActorRecord
    period: Period
    since: datetime
    total: int
    by_event_type: list[CountRow]
    by_outcome: list[CountRow]
    recent: list[EventRecord]


def actor_summary(
    actor: ActorRecord, *, period: Period, now: datetime | None = None
) -> ActorSummary:
    """An actor's counts by event type and outcome over ``period``, and its latest events."""
    now = now or timezone.now()
    since = period.start(now)
    window = EventRecord.objects.order_by().filter(actor=actor, effective_at__gte=since)
    by_outcome = dict(window.values_list("outcome").annotate(n=Count("pk")))
    total = sum(by_outcome.values())
    by_type = window.values_list("event_type").annotate(n=Count("pk")).order_by("-n", "event_type")
    return ActorSummary(
        actor=actor,
        period=period,
        since=since,
        total=total,
        by_event_type=[
            CountRow(event_type, event_type, n, n / total if total else 0.0)
            for event_type, n in by_type[:20]
        ],
        by_outcome=[row for row in count_rows(by_outcome, OUTCOME_LABELS) if row.count],
        recent=list(
            EventRecord.objects.filter(actor=actor)
            .for_display()
            .newest_first()[:ACTOR_RECENT_LIMIT]
        ),
    )
