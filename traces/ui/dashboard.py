"""The dashboard's reads: counts per period bucket from the hourly counts, the day's trouble."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Sum
from django.utils import timezone

from decision_trace.enums import EventOutcome, RiskLevel
from traces.counts import UTCFloor
from traces.models import EventRecord, HourlyEventCount
from traces.selectors import events_visible
from traces.ui.charts import (
    NO_ACTOR,
    OUTCOME_LABELS,
    ActivityChart,
    CountRow,
    Period,
    activity_chart,
    count_rows,
)
from traces.ui.common import (
    overdue_decisions_count,
    pending_decisions_count,
    review_trail_event_types,
)

__all__ = ["DASHBOARD_LIST_LIMIT", "HIGH_RISK", "Dashboard", "dashboard_summary"]

DASHBOARD_LIST_LIMIT = 8
# High-risk decisions are counted up to this many (then "5,000+"), through the risk index.
HIGH_RISK_COUNT_LIMIT = 5_000
HIGH_RISK = (RiskLevel.HIGH.value, RiskLevel.CRITICAL.value)


@dataclass(frozen=True)
class Dashboard:
    period: Period
    since: datetime
    chart: ActivityChart
    by_outcome: list[CountRow]
    by_actor_type: list[CountRow]
    failures: list[EventRecord]
    failure_count: int
    high_risk: list[EventRecord]
    high_risk_count: int
    high_risk_capped: bool
    pending_count: int
    overdue_count: int


def _review_trail_counts(since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The review trail's events per (hour, actor type, outcome) in ``[since, until)``.

    Read through the ``(event_type, effective_at, id)`` index, one range per
    review-trail type stored: the cost is that of the reviews in the period.
    """
    types = review_trail_event_types()
    if not types:
        return []
    return list(
        EventRecord.objects.filter(event_type__in=types, effective_at__gte=since)
        .filter(effective_at__lt=until)
        .order_by()
        .annotate(hour=UTCFloor("effective_at"))
        .values("hour", "actor_type", "outcome")
        .annotate(n=-Count("pk"))
    )


def dashboard_summary(
    *, period: Period, now: datetime | None = None, with_decisions: bool = True
) -> Dashboard:
    """Counts per bucket and actor type, per outcome, failures and high-risk decisions.

    Every figure covers the same rolling window (``Period.start``). The counts
    come from the hourly counts (``traces.counts``) in one query of at most
    hours x actor types x outcomes rows, bucketed here, so a month costs what
    a day does; the failure count is theirs too. The failures and high-risk
    decisions listed are read from the events through the ``outcome`` and
    ``risk_level`` indexes; high-risk means an event recorded with a decision
    (``has_decision``) at high or critical risk, counted up to
    ``HIGH_RISK_COUNT_LIMIT``.

    ``with_decisions=False`` (a user who may not view decisions): the review
    trail's events are neither counted nor listed; their counts are taken off
    the hourly counts (``_review_trail_counts``).
    """
    now = now or timezone.now()
    since = period.start(now)
    until = since + period.step * period.buckets

    grid: dict[tuple[datetime, str], int] = {}
    outcome_counts: dict[str, int] = {}
    floor: UTCFloor | F = F("hour")
    shift = timedelta(0)
    if period.unit == "day":
        # Days of the window start at the hour ``since`` does: bucketed in the database,
        # so a month is about 200 rows, not 5,000 (each a datetime Django converts).
        floor = UTCFloor("hour", unit="day", start_hour=since.hour)
        shift = timedelta(hours=since.hour)
    rows: list[dict[str, Any]] = [
        {
            "hour": row["bucket"] + shift,
            "actor_type": row["actor_type"],
            "outcome": row["outcome"],
            "n": row["n"],
        }
        for row in HourlyEventCount.objects.filter(hour__gte=since, hour__lt=until)
        .order_by()
        .annotate(bucket=floor)
        .values("bucket", "actor_type", "outcome")
        .annotate(n=Sum("event_count"))
    ]
    if not with_decisions:
        rows += _review_trail_counts(since, until)
    for row in rows:
        bucket = since + period.step * int((row["hour"] - since) / period.step)
        cell = (bucket, row["actor_type"])
        grid[cell] = grid.get(cell, 0) + row["n"]
        outcome_counts[row["outcome"]] = outcome_counts.get(row["outcome"], 0) + row["n"]

    visible = events_visible(EventRecord.objects.all(), with_decisions=with_decisions)
    failures = visible.filter(outcome=EventOutcome.FAILURE.value, effective_at__gte=since)
    high_risk = visible.filter(risk_level__in=HIGH_RISK, effective_at__gte=since, has_decision=True)
    # Counted in the database (COUNT over a LIMIT): no id is sent back or converted.
    high_risk_count = high_risk.order_by()[: HIGH_RISK_COUNT_LIMIT + 1].count()

    chart = activity_chart(period, since, grid)
    by_actor_type = [row for row in chart.series if row.count or row.key != NO_ACTOR]
    return Dashboard(
        period=period,
        since=since,
        chart=chart,
        by_outcome=count_rows(outcome_counts, OUTCOME_LABELS),
        by_actor_type=by_actor_type,
        failures=list(failures.select_related("actor").newest_first()[:DASHBOARD_LIST_LIMIT]),
        failure_count=outcome_counts.get(EventOutcome.FAILURE.value, 0),
        high_risk=list(high_risk.select_related("actor").newest_first()[:DASHBOARD_LIST_LIMIT]),
        high_risk_count=min(high_risk_count, HIGH_RISK_COUNT_LIMIT),
        high_risk_capped=high_risk_count > HIGH_RISK_COUNT_LIMIT,
        pending_count=pending_decisions_count(),
        overdue_count=overdue_decisions_count(now=now),
    )
