"""Hourly event counts: what the dashboard reads instead of the events themselves.

One ``HourlyEventCount`` row per (UTC hour, actor type, outcome) that has
events. The write services keep the rows exact inside their own transaction:
``trace_record`` / ``trace_record_many`` add (one upsert statement per batch),
``trace_delete`` subtracts and removes the counts that reach zero. A week on
the dashboard is then at most 168 hours x 6 actor types x 6 outcomes rows,
whatever the number of events.

Events written any other way (``bulk_create``, raw SQL, a restored table) are
not counted until ``event_counts_rebuild()`` runs (the ``rebuild_event_counts``
command); ``event_counts_differences()`` (``rebuild_event_counts --check``)
says whether the counts match the events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from django.db import NotSupportedError, connections, router, transaction
from django.db.models import Count, DateTimeField, Func

from traces.bulk import insert_rows
from traces.models import EventRecord, HourlyEventCount

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

__all__ = [
    "CountDifference",
    "EventKey",
    "UTCFloor",
    "event_counts_add",
    "event_counts_differences",
    "event_counts_rebuild",
    "event_counts_remove",
    "hour_of",
]

EventKey = tuple[datetime, str, str]
"""``(effective_at, actor_type, outcome)`` of one event: what its count is keyed on."""


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour ``moment`` (timezone-aware) falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class UTCFloor(Func):
    """A datetime column truncated to its UTC hour or day, in the database's own SQL.

    The one SQL helper for time buckets: the hourly counts group events by
    hour, the dashboard groups those counts by hour or day. On SQLite
    datetimes are stored as UTC text, so the bucket is a prefix of it (the
    grouping stays in SQLite's C code, off Django's Python functions).
    """

    output_field = DateTimeField()

    def __init__(
        self, expression: str, *, unit: Literal["hour", "day"] = "hour", start_hour: int = 0
    ) -> None:
        """``start_hour``: days run from that UTC hour (the floor is then that hour's time
        on the day, minus ``start_hour`` hours: add them back to get the bucket's start)."""
        if not 0 <= start_hour < 24:
            raise ValueError(f"start_hour must be from 0 to 23; got {start_hour}")
        self.unit = unit
        self.start_hour = start_hour
        super().__init__(expression)

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> _AsSqlType:
        raise NotSupportedError(f"time buckets are not implemented for {connection.vendor}")

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        value = "%(expressions)s"
        if self.start_hour:
            value = f"DATETIME(%(expressions)s, '-{self.start_hour} hours')"
        if self.unit == "hour":
            template = f"SUBSTR({value}, 1, 13) || ':00:00'"
        else:
            template = f"SUBSTR({value}, 1, 10) || ' 00:00:00'"
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        value = "%(expressions)s AT TIME ZONE 'UTC'"
        if self.start_hour:
            value = f"({value} - INTERVAL '{self.start_hour} hours')"
        template = f"DATE_TRUNC('{self.unit}', {value}) AT TIME ZONE 'UTC'"
        return super().as_sql(compiler, connection, template=template, **extra)


def _tally(events: Iterable[EventKey]) -> list[tuple[tuple[datetime, str, str], int]]:
    """Counts per (hour, actor type, outcome), sorted.

    Sorted so that concurrent transactions on PostgreSQL lock the count rows
    in the same order and cannot deadlock on them.
    """
    counts = Counter((hour_of(when), actor_type, outcome) for when, actor_type, outcome in events)
    return sorted(counts.items())


def event_counts_add(events: Iterable[EventKey], *, using: str) -> None:
    """Count these events in: one upsert statement (``ON CONFLICT ... DO UPDATE``).

    Args:
        events: ``(effective_at, actor_type, outcome)`` of each stored event.
        using: the database alias; call inside the transaction that stores the events.
    """
    tally = _tally(events)
    if not tally:
        return
    quote = connections[using].ops.quote_name
    table = quote(HourlyEventCount._meta.db_table)
    insert_rows(
        HourlyEventCount,
        [
            {"hour": hour, "actor_type": actor_type, "outcome": outcome, "event_count": n}
            for (hour, actor_type, outcome), n in tally
        ],
        using=using,
        with_pk=False,
        suffix=(
            f" ON CONFLICT ({quote('hour')}, {quote('actor_type')}, {quote('outcome')})"
            f" DO UPDATE SET {quote('event_count')} ="
            f" {table}.{quote('event_count')} + excluded.{quote('event_count')}"
        ),
    )


def event_counts_remove(events: Iterable[EventKey], *, using: str) -> None:
    """Count these events out; counts that reach zero are deleted.

    A count never goes below zero: if the counts were already short (events
    stored without them and never rebuilt), the deletion still succeeds and
    ``rebuild_event_counts --check`` shows the difference.
    """
    tally = _tally(events)
    if not tally:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(HourlyEventCount._meta.db_table)
    count = quote("event_count")
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {count} = CASE WHEN {count} > %s THEN {count} - %s ELSE 0 END"
            f" WHERE {quote('hour')} = %s AND {quote('actor_type')} = %s"
            f" AND {quote('outcome')} = %s",
            [(n, n, adapt(hour), actor_type, outcome) for (hour, actor_type, outcome), n in tally],
        )
    hours = sorted({hour for (hour, _, _), _ in tally})
    HourlyEventCount.objects.using(using).filter(hour__in=hours, event_count=0).delete()


def _counted_events(using: str) -> Any:
    """Events grouped per (UTC hour, actor type, outcome) with their number, as ``n``."""
    return (
        EventRecord.objects.using(using)
        .order_by()
        .annotate(hour=UTCFloor("effective_at"))
        .values("hour", "actor_type", "outcome")
        .annotate(n=Count("pk"))
    )


def event_counts_rebuild(*, using: str | None = None) -> int:
    """Recompute every count from the events, in one transaction; returns the number of rows.

    One ``INSERT ... SELECT ... GROUP BY`` over the events (a few seconds for a
    million on SQLite). On PostgreSQL the events table is locked against
    writes (``SHARE`` mode; reads go on) until the new counts are committed, so
    no event recorded meanwhile is counted twice or missed; on SQLite the
    write transaction already excludes other writers.
    """
    db = using or router.db_for_write(HourlyEventCount)
    connection = connections[db]
    quote = connection.ops.quote_name
    table = quote(HourlyEventCount._meta.db_table)
    select, params = _counted_events(db).query.get_compiler(using=db).as_sql()
    with transaction.atomic(using=db), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {quote(EventRecord._meta.db_table)} IN SHARE MODE")
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(
            f"INSERT INTO {table} ({quote('hour')}, {quote('actor_type')}, {quote('outcome')}, "
            f"{quote('event_count')}) SELECT grouped.hour, grouped.actor_type, grouped.outcome, "
            f"grouped.n FROM ({select}) grouped",
            params,
        )
        return HourlyEventCount.objects.using(db).count()


@dataclass(frozen=True)
class CountDifference:
    """One (hour, actor type, outcome) whose stored count is not the number of events."""

    hour: datetime
    actor_type: str
    outcome: str
    stored: int
    actual: int


def event_counts_differences(*, using: str | None = None) -> list[CountDifference]:
    """Every count that does not match the events (none: the counts are exact), oldest first."""
    db = using or router.db_for_read(HourlyEventCount)
    actual: dict[EventKey, int] = {
        (row["hour"], row["actor_type"], row["outcome"]): row["n"] for row in _counted_events(db)
    }
    stored: dict[EventKey, int] = {
        (hour, actor_type, outcome): n
        for hour, actor_type, outcome, n in HourlyEventCount.objects.using(db).values_list(
            "hour", "actor_type", "outcome", "event_count"
        )
    }
    return [
        CountDifference(*key, stored=stored.get(key, 0), actual=actual.get(key, 0))
        for key in sorted(actual.keys() | stored.keys())
        if stored.get(key, 0) != actual.get(key, 0)
    ]
