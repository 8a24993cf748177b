"""The actor page's read: counts by event type and outcome over a period, the latest events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from traces.feedback import FeedbackShare, feedback_shares
from traces.models import ActorRecord, EventRecord
from traces.selectors import events_visible
from traces.ui.charts import OUTCOME_LABELS, CountRow, Period, count_rows
from traces.ui.events import approval_decisions_attach

__all__ = [
    "ACTOR_COUNT_LIMIT",
    "ACTOR_RECENT_LIMIT",
    "ActorSummary",
    "FeedbackChart",
    "FeedbackLine",
    "actor_summary",
    "feedback_chart",
]

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
    feedback: FeedbackChart


@dataclass(frozen=True)
class FeedbackLine:
    """One model version's share marked correct per bucket, as SVG polyline points (0-100)."""

    label: str
    series: int
    points: str
    dots: list[tuple[float, float, int]]


@dataclass(frozen=True)
class FeedbackChart:
    """The actor page's "share marked correct" chart and table (empty for non-AI actors)."""

    rows: list[FeedbackShare]
    lines: list[FeedbackLine]
    buckets: int


# Lines get one of a few distinguishable classes; more versions repeat them (the table names all).
FEEDBACK_SERIES = 4


def feedback_chart(rows: list[FeedbackShare], *, since: datetime, period: Period) -> FeedbackChart:
    """Polylines on a 100 x 100 box: x is the bucket's place in the period, y the share correct."""
    by_version: dict[str, list[FeedbackShare]] = {}
    for row in rows:
        name = f"{row.model} {row.version}".strip() or "unknown version"
        by_version.setdefault(name, []).append(row)
    span = max(period.buckets - 1, 1)
    lines = []
    for index, (name, shares) in enumerate(by_version.items()):
        dots = [
            (
                round(100 * ((share.bucket - since) / period.step) / span, 2),
                round(100 - share.share_correct * 100, 2),
                share.percent,
            )
            for share in shares
        ]
        lines.append(
            FeedbackLine(
                label=name,
                series=index % FEEDBACK_SERIES,
                points=" ".join(f"{x},{y}" for x, y, _ in dots),
                dots=dots,
            )
        )
    return FeedbackChart(rows=rows, lines=lines, buckets=period.buckets)


def actor_summary(
    actor: ActorRecord,
    *,
    period: Period,
    now: datetime | None = None,
    with_decisions: bool = True,
) -> ActorSummary:
    """An actor's counts by event type and outcome over ``period``, and its latest events.

    The counts cover the actor's latest ``ACTOR_COUNT_LIMIT`` events of the
    period (read through the ``(actor, effective_at, id)`` index); ``capped``
    says the period held more. ``with_decisions=False``: the review trail's
    events (a reviewer's approvals and rejections) are neither counted nor listed.
    """
    now = now or timezone.now()
    since = period.start(now)
    events = events_visible(EventRecord.objects.filter(actor=actor), with_decisions=with_decisions)
    in_period = events.filter(effective_at__gte=since).order_by("-effective_at", "-id")
    window = EventRecord.objects.order_by().filter(
        pk__in=in_period.values("pk")[:ACTOR_COUNT_LIMIT]
    )
    by_outcome = dict(window.values_list("outcome").annotate(n=Count("pk")))
    total = sum(by_outcome.values())
    # Only a full window can have more behind it: one index probe past its end.
    capped = total == ACTOR_COUNT_LIMIT and in_period[ACTOR_COUNT_LIMIT:].exists()
    by_type = window.values_list("event_type").annotate(n=Count("pk")).order_by("-n", "event_type")
    recent = list(events.for_display().newest_first()[:ACTOR_RECENT_LIMIT])
    approval_decisions_attach(recent)
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
        recent=recent,
        feedback=feedback_chart(
            feedback_shares(actor, since=since, step=period.step), since=since, period=period
        ),
    )
