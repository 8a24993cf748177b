"""Read helpers for the web UI: each returns what one page needs, in a fixed number of queries.

The timeline itself is ``EventFilterSet(...).qs`` plus ``keyset_page``; the
helpers here build the rest: dashboard aggregates and chart geometry, the
event detail bundle (objects, chain, correlated events, decisions), an
object's history, an actor's summary, the decisions list and the known
event types offered by the event-type filter.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.db import NotSupportedError, connection
from django.db.models import CharField, Count, Func, Model, QuerySet, Sum
from django.utils import timezone

from decision_trace.enums import ActorType, EventOutcome, RiskLevel, choices
from decisioning.models import Decision, DecisionOutcome
from traces.models import ActorRecord, EventRecord, HourlyEventCount, TrackedObjectRecord
from traces.pagination import Cursor, Page, keyset_page

__all__ = [
    "CHAIN_LIMIT",
    "CORRELATED_LIMIT",
    "EVENT_TYPE_LIMIT",
    "PAGE_SIZE",
    "PERIODS",
    "ActivityChart",
    "ActorSummary",
    "Alternative",
    "ChainNode",
    "CountRow",
    "Dashboard",
    "EventDetail",
    "FieldChange",
    "HistoryEntry",
    "ObjectHistory",
    "Period",
    "actor_summary",
    "dashboard_summary",
    "decisions_page",
    "distinct_indexed_values",
    "event_detail",
    "known_event_types",
    "object_history",
    "pending_decisions_count",
    "state_changes",
]

PAGE_SIZE = 30
CHAIN_LIMIT = 200
CORRELATED_LIMIT = 20
DASHBOARD_LIST_LIMIT = 8
ACTOR_RECENT_LIMIT = 15
EVENT_TYPE_LIMIT = 200
HIGH_RISK = (RiskLevel.HIGH.value, RiskLevel.CRITICAL.value)

NO_ACTOR = ""
_ACTOR_LABELS = {**dict(choices(ActorType)), NO_ACTOR: "No actor"}
_OUTCOME_LABELS = dict(choices(EventOutcome))


@dataclass(frozen=True)
class Period:
    """A look-back window ending now, split into hour or day buckets (UTC)."""

    key: str
    label: str
    unit: Literal["hour", "day"]
    buckets: int

    @property
    def step(self) -> timedelta:
        return timedelta(hours=1) if self.unit == "hour" else timedelta(days=1)

    def start(self, now: datetime) -> datetime:
        """The start of the first bucket: ``buckets`` whole units ending with the current one."""
        now = now.astimezone(UTC)
        if self.unit == "hour":
            floor = now.replace(minute=0, second=0, microsecond=0)
        else:
            floor = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return floor - self.step * (self.buckets - 1)


PERIODS: dict[str, Period] = {
    "24h": Period("24h", "Last 24 hours", "hour", 24),
    "7d": Period("7d", "Last 7 days", "day", 7),
    "30d": Period("30d", "Last 30 days", "day", 30),
}


class _TimeBucket(Func):
    """The UTC hour (``YYYY-MM-DD HH``) or day (``YYYY-MM-DD``) of a datetime column, as text.

    Text slicing on SQLite (where datetimes are stored as UTC text) keeps the
    grouping inside the database's C code and off Django's Python functions.
    """

    output_field = CharField()

    def __init__(self, expression: str, *, unit: Literal["hour", "day"]) -> None:
        self.unit = unit
        super().__init__(expression)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        raise NotSupportedError(f"time buckets are not implemented for {connection.vendor}")

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        length = 13 if self.unit == "hour" else 10
        template = f"SUBSTR(%(expressions)s, 1, {length})"
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        pattern = "YYYY-MM-DD HH24" if self.unit == "hour" else "YYYY-MM-DD"
        template = f"TO_CHAR(%(expressions)s AT TIME ZONE 'UTC', '{pattern}')"
        return super().as_sql(compiler, connection, template=template, **extra)


@dataclass(frozen=True)
class CountRow:
    key: str
    label: str
    count: int
    share: float

    @property
    def percent(self) -> int:
        return round(self.share * 100)


@dataclass(frozen=True)
class ChartSegment:
    series: str
    label: str
    count: int
    y: float
    height: float


@dataclass(frozen=True)
class ChartBar:
    start: datetime
    label: str
    show_label: bool
    total: int
    x: float
    center: float
    width: float
    top: float
    segments: list[ChartSegment]
    cells: list[int]


@dataclass(frozen=True)
class ChartTick:
    value: int
    y: float


@dataclass(frozen=True)
class ActivityChart:
    """Geometry of a stacked bar chart, ready for an inline SVG (viewBox ``width`` x ``height``)."""

    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_bottom: int
    bars: list[ChartBar]
    ticks: list[ChartTick]
    series: list[CountRow]
    total: int
    busiest: ChartBar | None
    show_totals: bool


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
    pending_count: int


def pending_decisions_count() -> int:
    """Live decisions waiting for a person (the review queue's pending tab; its partial index)."""
    return Decision.objects.filter(outcome=DecisionOutcome.PENDING).count()


def dashboard_summary(*, period: Period, now: datetime | None = None) -> Dashboard:
    """Counts per bucket and actor type, per outcome, and the last 24 hours' trouble.

    The period's counts come from the hourly counts (``traces.counts``) in one
    query of at most hours x actor types x outcomes rows, so a month costs
    what a day does. The last 24 hours' failures and high risks are read from
    the events through the ``outcome`` and ``risk_level`` indexes (a rolling
    window to the second, and the rows themselves are listed).
    """
    now = now or timezone.now()
    since = period.start(now)
    until = since + period.step * period.buckets

    grid: dict[tuple[str, str], int] = {}
    outcome_counts: dict[str, int] = {}
    for row in (
        HourlyEventCount.objects.filter(hour__gte=since, hour__lt=until)
        .values("actor_type", "outcome", bucket=_TimeBucket("hour", unit=period.unit))
        .annotate(n=Sum("event_count"))
        .order_by()
    ):
        cell = (row["bucket"], row["actor_type"])
        grid[cell] = grid.get(cell, 0) + row["n"]
        outcome_counts[row["outcome"]] = outcome_counts.get(row["outcome"], 0) + row["n"]

    day_ago = now - timedelta(hours=24)
    failures = EventRecord.objects.filter(
        outcome=EventOutcome.FAILURE.value, effective_at__gte=day_ago
    )
    high_risk = EventRecord.objects.filter(risk_level__in=HIGH_RISK, effective_at__gte=day_ago)

    chart = _activity_chart(period, since, grid)
    by_actor_type = [row for row in chart.series if row.count or row.key != NO_ACTOR]
    return Dashboard(
        period=period,
        since=since,
        chart=chart,
        by_outcome=_count_rows(outcome_counts, _OUTCOME_LABELS),
        by_actor_type=by_actor_type,
        failures=list(failures.select_related("actor").newest_first()[:DASHBOARD_LIST_LIMIT]),
        failure_count=failures.order_by().count(),
        high_risk=list(high_risk.select_related("actor").newest_first()[:DASHBOARD_LIST_LIMIT]),
        high_risk_count=high_risk.order_by().count(),
        pending_count=pending_decisions_count(),
    )


def _count_rows(counts: dict[str, int], labels: dict[str, str]) -> list[CountRow]:
    total = sum(counts.values())
    return [
        CountRow(key, label, counts.get(key, 0), counts.get(key, 0) / total if total else 0.0)
        for key, label in labels.items()
    ]


_CHART_WIDTH, _CHART_HEIGHT = 760, 260
_PLOT_LEFT, _PLOT_RIGHT, _PLOT_TOP, _PLOT_BOTTOM = 48, 748, 20, 222


def _nice_step(raw: float) -> int:
    """The smallest 1, 2 or 5 x 10^k at least ``raw`` (and at least 1)."""
    if raw <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if multiple * magnitude >= raw:
            return int(multiple * magnitude)
    return int(10 * magnitude)


def _activity_chart(
    period: Period, since: datetime, grid: dict[tuple[str, str], int]
) -> ActivityChart:
    series_keys = [member.value for member in ActorType]
    if any(actor_type == NO_ACTOR for _, actor_type in grid):
        series_keys.append(NO_ACTOR)

    key_format = "%Y-%m-%d %H" if period.unit == "hour" else "%Y-%m-%d"
    starts = [since + period.step * i for i in range(period.buckets)]
    columns = [[grid.get((s.strftime(key_format), k), 0) for k in series_keys] for s in starts]
    totals = [sum(column) for column in columns]

    step = _nice_step(max(totals, default=0) / 4)
    axis_max = step * max(1, math.ceil(max(totals, default=0) / step))
    plot_height = _PLOT_BOTTOM - _PLOT_TOP
    slot = (_PLOT_RIGHT - _PLOT_LEFT) / period.buckets
    bar_width = slot * 0.72
    label_every = 1 if period.buckets <= 12 else (3 if period.buckets <= 24 else 5)
    digits = len(f"{max(totals, default=0):,}")

    bars = []
    for index, (start, column, total) in enumerate(zip(starts, columns, totals, strict=True)):
        x = _PLOT_LEFT + slot * index + (slot - bar_width) / 2
        bottom = float(_PLOT_BOTTOM)
        segments = []
        for key, count in zip(series_keys, column, strict=True):
            if not count:
                continue
            height = count / axis_max * plot_height
            bottom -= height
            segments.append(ChartSegment(key, _ACTOR_LABELS[key], count, bottom, height))
        local = timezone.localtime(start)
        label = local.strftime("%H:%M") if period.unit == "hour" else local.strftime("%b %d")
        bars.append(
            ChartBar(
                start=start,
                label=label,
                show_label=index % label_every == 0,
                total=total,
                x=round(x, 2),
                center=round(x + bar_width / 2, 2),
                width=round(bar_width, 2),
                top=round(bottom, 2),
                segments=segments,
                cells=column,
            )
        )

    ticks = [
        ChartTick(value, round(_PLOT_BOTTOM - value / axis_max * plot_height, 2))
        for value in range(0, axis_max + 1, step)
    ]
    series_totals = {key: sum(column[i] for column in columns) for i, key in enumerate(series_keys)}
    grand_total = sum(totals)
    busiest = max(bars, key=lambda bar: bar.total) if grand_total else None
    return ActivityChart(
        width=_CHART_WIDTH,
        height=_CHART_HEIGHT,
        plot_left=_PLOT_LEFT,
        plot_right=_PLOT_RIGHT,
        plot_bottom=_PLOT_BOTTOM,
        bars=bars,
        ticks=ticks,
        series=_count_rows(series_totals, {key: _ACTOR_LABELS[key] for key in series_keys}),
        total=grand_total,
        busiest=busiest,
        show_totals=digits * 6.5 <= slot,
    )


@dataclass(frozen=True)
class FieldChange:
    """One key of an object's state: its value before and after, and what happened to it."""

    key: str
    before: str
    after: str
    kind: Literal["added", "removed", "changed", "same"]


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def state_changes(before: Any, after: Any) -> list[FieldChange]:
    """Compare two recorded states key by key (a non-dict state is one key, ``value``)."""
    if before is None and after is None:
        return []

    def as_dict(state: Any) -> dict[str, Any]:
        if state is None:
            return {}
        return state if isinstance(state, dict) else {"value": state}

    old, new = as_dict(before), as_dict(after)
    changes = []
    for key in dict.fromkeys([*old, *new]):
        if key in old and key in new:
            kind = "same" if old[key] == new[key] else "changed"
        else:
            kind = "added" if key in new else "removed"
        changes.append(
            FieldChange(
                key=str(key),
                before=_as_text(old[key]) if key in old else "",
                after=_as_text(new[key]) if key in new else "",
                kind=kind,
            )
        )
    return changes


@dataclass(frozen=True)
class Alternative:
    """An option the decision considered, with why it was not taken."""

    option: str
    detail: str
    rejection: str


@dataclass(frozen=True)
class ObjectState:
    obj: TrackedObjectRecord
    changes: list[FieldChange]


@dataclass(frozen=True)
class ChainNode:
    """One event of a chain, placed on the chain's time axis (percentages of its span)."""

    event: EventRecord
    level: int
    offset: float
    width: float
    is_current: bool


@dataclass(frozen=True)
class EventDetail:
    event: EventRecord
    objects: list[ObjectState]
    alternatives: list[Alternative]
    context_rows: list[tuple[str, str]]
    constraints: list[str]
    chain: list[ChainNode]
    chain_truncated: bool
    parent: EventRecord | None
    children: list[EventRecord]
    correlated: list[EventRecord]
    decisions: list[Decision]
    span_seconds: float


def _alternatives(alternatives: Any, rejection_reasons: Any) -> list[Alternative]:
    reasons = rejection_reasons if isinstance(rejection_reasons, dict) else {}
    items = alternatives if isinstance(alternatives, list) else []
    result, seen = [], set()
    for item in items:
        if isinstance(item, dict):
            name = item.get("action") or item.get("option") or item.get("name")
            option = _as_text(name) if name is not None else _as_text(item)
            detail = _as_text(item.get("reason") or item.get("description") or "")
        else:
            option, detail = _as_text(item), ""
        seen.add(option)
        result.append(Alternative(option, detail, _as_text(reasons.get(option, ""))))
    result.extend(
        Alternative(str(key), "", _as_text(reason))
        for key, reason in reasons.items()
        if str(key) not in seen
    )
    return result


def _decisions_about(events: QuerySet) -> QuerySet:
    return Decision.objects.filter(
        target_content_type__app_label=EventRecord._meta.app_label,
        target_content_type__model=EventRecord._meta.model_name,
        target_id__in=events,
    )


def _chain_nodes(rows: list[EventRecord], current: EventRecord) -> tuple[list[ChainNode], float]:
    start = min(row.effective_at for row in rows)
    end = max(row.effective_at + timedelta(seconds=row.duration) for row in rows)
    span = max((end - start).total_seconds(), 0.001)
    by_parent: dict[Any, list[EventRecord]] = {}
    ids = {row.pk for row in rows}
    for row in rows:
        by_parent.setdefault(row.parent_id if row.parent_id in ids else None, []).append(row)

    nodes: list[ChainNode] = []
    stack = list(reversed(by_parent.get(None, [])))
    while stack:
        row = stack.pop()
        offset = (row.effective_at - start).total_seconds() / span * 100
        width = max(row.duration / span * 100, 0.8)
        nodes.append(
            ChainNode(
                event=row,
                level=row.depth,
                offset=round(min(offset, 99.2), 2),
                width=round(min(width, 100 - min(offset, 99.2)), 2),
                is_current=row.pk == current.pk,
            )
        )
        stack.extend(reversed(by_parent.get(row.pk, [])))
    return nodes, span


def event_detail(event: EventRecord) -> EventDetail:
    """Everything the event page shows, in five queries whatever the chain's size.

    The chain is capped at ``CHAIN_LIMIT`` events (oldest first) and the
    correlated events outside the chain at ``CORRELATED_LIMIT``.
    """
    objects = [
        ObjectState(obj, state_changes(obj.state_before, obj.state_after))
        for obj in event.tracked_objects.order_by("position")
    ]
    chain_rows = list(
        EventRecord.objects.in_chain(event.root_id)
        .select_related("actor")
        .oldest_first()[: CHAIN_LIMIT + 1]
    )
    truncated = len(chain_rows) > CHAIN_LIMIT
    chain_rows = chain_rows[:CHAIN_LIMIT]
    if all(row.pk != event.pk for row in chain_rows):
        chain_rows.append(event)
    chain, span = _chain_nodes(chain_rows, event)
    by_id = {row.pk: row for row in chain_rows}

    correlated: list[EventRecord] = []
    if event.correlation_id:
        correlated = list(
            EventRecord.objects.in_correlation(event.correlation_id)
            .exclude(root_id=event.root_id)
            .select_related("actor")
            .oldest_first()[:CORRELATED_LIMIT]
        )

    context = event.context
    context_rows = (
        [(str(key), _as_text(value)) for key, value in context.items()]
        if isinstance(context, dict)
        else [("value", _as_text(context))]
        if context
        else []
    )
    constraints = event.constraints
    constraint_list = (
        [_as_text(item) for item in constraints]
        if isinstance(constraints, list)
        else [_as_text(constraints)]
        if constraints
        else []
    )
    decisions = list(
        _decisions_about([str(event.pk)]).select_related("decided_by").order_by("effective_at")
    )
    return EventDetail(
        event=event,
        objects=objects,
        alternatives=_alternatives(event.alternatives, event.rejection_reasons),
        context_rows=context_rows,
        constraints=constraint_list,
        chain=chain,
        chain_truncated=truncated,
        parent=by_id.get(event.parent_id),
        children=[row for row in chain_rows if row.parent_id == event.pk],
        correlated=correlated,
        decisions=decisions,
        span_seconds=span,
    )


@dataclass(frozen=True)
class HistoryEntry:
    """An event in an object's history, with that object's state change and what else it touched."""

    event: EventRecord
    obj: TrackedObjectRecord | None
    changes: list[FieldChange]
    others: list[TrackedObjectRecord]


@dataclass(frozen=True)
class ObjectHistory:
    object_type: str
    object_id: str
    name: str
    page: Page[EventRecord]
    entries: list[HistoryEntry] = field(default_factory=list)


def object_history(
    *, object_type: str, object_id: str, cursor: str | None = None, limit: int = PAGE_SIZE
) -> ObjectHistory:
    """Every event that touched one object (by id or external id), oldest first, one page.

    Raises:
        InvalidCursorError: ``cursor`` was not produced by this list.
    """
    queryset = EventRecord.objects.touching([object_id], [object_type]).for_display()
    page = keyset_page(queryset, cursor=cursor, limit=limit, newest_first=False)
    entries, name = [], ""
    for event in page.items:
        mine = None
        others = []
        for obj in event.tracked_objects.all():
            matches = obj.object_type == object_type and object_id in (
                obj.object_id,
                obj.external_id,
            )
            if matches and mine is None:
                mine = obj
            else:
                others.append(obj)
        if mine is not None and mine.name and not name:
            name = mine.name
        changes = state_changes(mine.state_before, mine.state_after) if mine else []
        entries.append(HistoryEntry(event, mine, changes, others))
    return ObjectHistory(object_type, object_id, name, page, entries)


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
        by_outcome=[row for row in _count_rows(by_outcome, _OUTCOME_LABELS) if row.count],
        recent=list(
            EventRecord.objects.filter(actor=actor)
            .for_display()
            .newest_first()[:ACTOR_RECENT_LIMIT]
        ),
    )


def decisions_page(
    queryset: QuerySet[Decision], *, cursor: str | Cursor | None, newest_first: bool
) -> Page[Decision]:
    """One keyset page of decisions with who decided and the target event joined.

    Raises:
        InvalidCursorError: ``cursor`` was not produced by this list.
    """
    queryset = queryset.select_related("decided_by", "target_content_type").prefetch_related(
        GenericPrefetch("target", [EventRecord.objects.select_related("actor")])
    )
    return keyset_page(queryset, cursor=cursor, limit=PAGE_SIZE, newest_first=newest_first)


def known_event_types(limit: int = EVENT_TYPE_LIMIT) -> list[str]:
    """The distinct event types, alphabetically, read by skipping through the type index."""
    return distinct_indexed_values(EventRecord, "event_type", limit=limit)


def distinct_indexed_values(model: type[Model], column: str, *, limit: int) -> list[str]:
    """The distinct values of an indexed text column (all rows), alphabetically.

    A recursive query asks the index for the next value after the last one, so
    the cost is one index probe per distinct value, not a scan of every row.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(column)
    sql = (
        f"WITH RECURSIVE types(value) AS ("
        f" SELECT MIN({column}) FROM {table}"
        f" UNION ALL"
        f" SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > types.value)"
        f" FROM types WHERE types.value IS NOT NULL"
        f") SELECT value FROM types WHERE value IS NOT NULL LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [row[0] for row in cursor.fetchall()]
