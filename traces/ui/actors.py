"""The actor page's read: counts by event type and outcome over a period, the latest events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from traces.models import ActorRecord, EventRecord
from traces.ui.charts import OUTCOME_LABELS, CountRow, Period, count_rows

__all__ = ["ACTOR_COUNT_LIMIT", "ACTOR_RECENT_LIMIT", "ActorSummary", "actor_summary"]

ACTOR_RECENT_LIMIT = 15
# An actor with hundreds of thousands of events in the period: count its latest ones
# only, so the page costs what 5,000 events cost (tens of ms), and say so.
ACTOR_COUNT_LIMIT = 5_000


@dataclass(frozen=True)
class ActorSummary:
    actor: ActorRecord
    period: Period
    since: datetime
    total: int
    capped: bool
    by_event_type: list[CountRow]
    by_outcome: list[CountRow]
    recent: list[EventRecord]


def actor_summary(
    actor: ActorRecord, *, period: Period, now: datetime | None = None
) -> ActorSummary:
    """An actor's counts by event type and outcome over ``period``, and its latest events.

    The counts cover the actor's latest ``ACTOR_COUNT_LIMIT`` events of the
    period (read through the ``(actor, effective_at, id)`` index); ``capped``
    says the period held more.
    """
    now = now or timezone.now()
    since = period.start(now)
    in_period = EventRecord.objects.filter(actor=actor, effective_at__gte=since).order_by(
        "-effective_at", "-id"
    )
    window = EventRecord.objects.order_by().filter(
        pk__in=in_period.values("pk")[:ACTOR_COUNT_LIMIT]
    )
    by_outcome = dict(window.values_list("outcome").annotate(n=Count("pk")))
    total = sum(by_outcome.values())
    # Only a full window can have more behind it: one index probe past its end.
    capped = total == ACTOR_COUNT_LIMIT and in_period[ACTOR_COUNT_LIMIT:].exists()
    by_type = window.values_list("event_type").annotate(n=Count("pk")).order_by("-n", "event_type")
    return ActorSummary(
        actor=actor,
        period=period,
        since=since,
        total=total,
        capped=capped,
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
