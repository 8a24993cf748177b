"""Presentation geometry: the look-back periods, count rows and bar shares, the dashboard's
stacked bar chart and the event page's chain timeline, ready for a template (inline SVG).

Pure Python over numbers the selectors read; no queries here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.utils import timezone

from decision_trace.enums import ActorType, EventOutcome, choices
from traces.models import EventRecord

__all__ = [
    "ACTOR_LABELS",
    "CHAIN_INDENT_LIMIT",
    "NO_ACTOR",
    "OUTCOME_LABELS",
    "PERIODS",
    "ActivityChart",
    "ChainNode",
    "ChartBar",
    "ChartSegment",
    "ChartTick",
    "CountRow",
    "Period",
    "activity_chart",
    "chain_layout",
    "count_rows",
]

CHAIN_INDENT_LIMIT = 12
NO_ACTOR = ""
ACTOR_LABELS = {**dict(choices(ActorType)), NO_ACTOR: "No actor"}
OUTCOME_LABELS = dict(choices(EventOutcome))


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
        """The start of the window: ``buckets`` whole units ending with the current hour.

        Rolling, to the hour: "last 7 days" is the 7 x 24 hours up to the end of
        the current hour, not a window from midnight. (Hour buckets end with the
        current hour as well.)
        """
        floor = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return floor + timedelta(hours=1) - self.step * self.buckets


PERIODS: dict[str, Period] = {
    "24h": Period("24h", "Last 24 hours", "hour", 24),
    "7d": Period("7d", "Last 7 days", "day", 7),
    "30d": Period("30d", "Last 30 days", "day", 30),
}


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


def count_rows(counts: dict[str, int], labels: dict[str, str]) -> list[CountRow]:
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


def activity_chart(
    period: Period, since: datetime, grid: dict[tuple[datetime, str], int]
) -> ActivityChart:
    series_keys = [member.value for member in ActorType]
    if any(actor_type == NO_ACTOR for _, actor_type in grid):
        series_keys.append(NO_ACTOR)

    starts = [since + period.step * i for i in range(period.buckets)]
    columns = [[grid.get((s, k), 0) for k in series_keys] for s in starts]
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
            segments.append(ChartSegment(key, ACTOR_LABELS[key], count, bottom, height))
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
        series=count_rows(series_totals, {key: ACTOR_LABELS[key] for key in series_keys}),
        total=grand_total,
        busiest=busiest,
        show_totals=digits * 6.5 <= slot,
    )


@dataclass(frozen=True)
class ChainNode:
    """One event of a chain, placed on the chain's time axis (percentages of its span)."""

    event: EventRecord
    level: int
    offset: float
    width: float
    is_current: bool

    @property
    def indent(self) -> int:
        """The indentation step shown (deeper levels line up with the twelfth)."""
        return min(self.level, CHAIN_INDENT_LIMIT)


def _duration(row: EventRecord) -> float:
    # Seconds as stored; a row written around the services may hold NaN or a negative value.
    value: object = row.duration
    return (
        float(value)
        if isinstance(value, float | int) and math.isfinite(value) and value > 0
        else 0.0
    )


def chain_layout(rows: list[EventRecord], current: EventRecord) -> tuple[list[ChainNode], float]:
    """Each event of a chain placed on the chain's time axis, depth first; and the span in seconds.

    Arithmetic on seconds (floats), not datetimes: a stored row at the edge of
    the datetime range or with an absurd duration cannot overflow the page.
    """
    start = min(row.effective_at for row in rows)
    end = max((row.effective_at - start).total_seconds() + _duration(row) for row in rows)
    span = max(end, 0.001)
    by_parent: dict[Any, list[EventRecord]] = {}
    ids = {row.pk for row in rows}
    for row in rows:
        by_parent.setdefault(row.parent_id if row.parent_id in ids else None, []).append(row)

    nodes: list[ChainNode] = []
    stack = list(reversed(by_parent.get(None, [])))
    while stack:
        row = stack.pop()
        offset = (row.effective_at - start).total_seconds() / span * 100
        width = max(_duration(row) / span * 100, 0.8)
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
