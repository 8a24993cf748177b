"""Event counts: what the dashboard and ``stats()`` read instead of the events themselves.

Two tables, kept together:

- ``HourlyEventCount``: one row per (UTC hour, actor type, outcome) that has
  events. A week on the dashboard is at most 168 hours x 6 actor types x 6
  outcomes rows, whatever the number of events.
- ``EventTypeCount``: one row per (event type, actor type, outcome, risk
  level), all time: the totals of ``stats()`` and ``GET /api/v1/stats``
  (grouping ten million events took about six seconds).

The write services keep both exact inside their own transaction:
``trace_record`` / ``trace_record_many`` add (one upsert statement per table
and batch), ``trace_delete`` and retention subtract and remove the counts that
reach zero.

Events written any other way (``bulk_create``, raw SQL, a restored table) are
not counted until ``event_counts_rebuild()`` runs (the ``rebuild_event_counts``
command); ``event_counts_differences()`` (``rebuild_event_counts --check``)
says whether the counts match the events.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from django.db import NotSupportedError, connections, router, transaction
from django.db.models import Count, DateTimeField, Func, Model, QuerySet

from traces.bulk import column_adapter
from traces.cursors import driver_cursor
from traces.models import EventRecord, EventTypeCount, HourlyEventCount

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

__all__ = [
    "CountDifference",
    "CountRows",
    "EventKey",
    "TypeCountDifference",
    "UTCFloor",
    "event_counts_add",
    "event_counts_differences",
    "event_counts_rebuild",
    "event_counts_remove",
    "event_key_fields",
    "hour_of",
]

EventKey = tuple[datetime, str, str, str, str]
"""``(effective_at, actor_type, outcome, event_type, risk_level)`` of one event.

What its counts are keyed on (``event_key_fields`` names the event's fields in this order).
"""

event_key_fields = ("effective_at", "actor_type", "outcome", "event_type", "risk_level")


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


@dataclass(frozen=True)
class _Counts:
    """One counts table: its model, its key fields and how an event maps onto them."""

    model: type[Model]
    fields: tuple[str, ...]
    key: Callable[[EventKey], tuple[Any, ...]]
    grouped: Callable[[QuerySet[EventRecord]], QuerySet[EventRecord, Any]]


_TABLES = (
    _Counts(
        HourlyEventCount,
        ("hour", "actor_type", "outcome"),
        lambda event: (hour_of(event[0]), event[1], event[2]),
        lambda events: events.annotate(hour=UTCFloor("effective_at")).values(
            "hour", "actor_type", "outcome"
        ),
    ),
    _Counts(
        EventTypeCount,
        ("event_type", "actor_type", "outcome", "risk_level"),
        lambda event: (event[3], event[1], event[2], event[4]),
        lambda events: events.values("event_type", "actor_type", "outcome", "risk_level"),
    ),
)
"""Always written in this order, each tally sorted: concurrent transactions on
PostgreSQL lock the count rows in the same order and cannot deadlock on them."""


def _tally(counts: _Counts, events: list[EventKey]) -> list[tuple[tuple[Any, ...], int]]:
    """Counts per key of ``counts``' table, sorted."""
    return sorted(Counter(counts.key(event) for event in events).items())


@dataclass(frozen=True)
class _Upsert:
    """``event_counts_add``'s statement for one table and connection, and its key adapters."""

    sql: str
    adapters: tuple[Callable[[Any], Any], ...]

    def params(self, key: tuple[Any, ...], n: int) -> tuple[Any, ...]:
        return (*(adapt(value) for adapt, value in zip(self.adapters, key, strict=True)), n)


# Per connection object (one per thread and alias) and time zone, dropped with the connection.
_UPSERTS: weakref.WeakKeyDictionary[Any, dict[Any, tuple[_Upsert, ...]]] = (
    weakref.WeakKeyDictionary()
)


def _upserts(connection: Any) -> tuple[_Upsert, ...]:
    """One ``INSERT ... ON CONFLICT ... DO UPDATE`` per table of ``_TABLES``, built once."""
    built = _UPSERTS.setdefault(connection, {})
    found = built.get(connection.timezone)
    if found is None:
        quote = connection.ops.quote_name
        count = quote("event_count")
        statements = []
        for counts in _TABLES:
            table = quote(counts.model._meta.db_table)
            fields = {field.name: field for field in counts.model._meta.concrete_fields}
            columns = ", ".join(quote(fields[name].column) for name in counts.fields)
            marks = ", ".join(["%s"] * (len(counts.fields) + 1))
            statements.append(
                _Upsert(
                    sql=(
                        f"INSERT INTO {table} ({columns}, {count}) VALUES ({marks})"
                        f" ON CONFLICT ({columns})"
                        f" DO UPDATE SET {count} = {table}.{count} + excluded.{count}"
                    ),
                    adapters=tuple(
                        column_adapter(fields[name], connection) for name in counts.fields
                    ),
                )
            )
        found = built[connection.timezone] = tuple(statements)
    return found


def event_counts_add(events: Iterable[EventKey], *, using: str) -> None:
    """Count these events in: one upsert statement (``ON CONFLICT ... DO UPDATE``) per table.

    Args:
        events: ``EventKey`` of each stored event.
        using: the database alias; call inside the transaction that stores the events.
    """
    keys = list(events)
    if not keys:
        return
    connection = connections[using]
    with driver_cursor(connection) as cursor:
        for counts, upsert in zip(_TABLES, _upserts(connection), strict=True):
            cursor.executemany(
                upsert.sql, [upsert.params(key, n) for key, n in _tally(counts, keys)]
            )


def event_counts_remove(events: Iterable[EventKey], *, using: str) -> None:
    """Count these events out; counts that reach zero are deleted.

    A count never goes below zero: if the counts were already short (events
    stored without them and never rebuilt), the deletion still succeeds and
    ``rebuild_event_counts --check`` shows the difference.
    """
    keys = list(events)
    if not keys:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    count = quote("event_count")
    adapt = connection.ops.adapt_datetimefield_value
    for counts in _TABLES:
        tally = _tally(counts, keys)
        where = " AND ".join(f"{quote(field)} = %s" for field in counts.fields)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {quote(counts.model._meta.db_table)} SET {count} ="
                f" CASE WHEN {count} > %s THEN {count} - %s ELSE 0 END WHERE {where}",
                [
                    (n, n, *(adapt(v) if isinstance(v, datetime) else v for v in key))
                    for key, n in tally
                ],
            )
        first = sorted({key[0] for key, _ in tally})
        counts.model._default_manager.using(using).filter(
            **{f"{counts.fields[0]}__in": first}, event_count=0
        ).delete()


def _counted_events(counts: _Counts, using: str) -> Any:
    """Events grouped by ``counts``' key fields, with their number as ``n``."""
    return counts.grouped(EventRecord.objects.using(using).order_by()).annotate(n=Count("pk"))


class CountRows(NamedTuple):
    """How many rows ``event_counts_rebuild`` wrote."""

    hourly: int
    by_type: int


def event_counts_rebuild(*, using: str | None = None) -> CountRows:
    """Recompute every count from the events, in one transaction.

    One ``INSERT ... SELECT ... GROUP BY`` over the events per table (a few
    seconds for a million on SQLite). On PostgreSQL the events table is locked
    against writes (``SHARE`` mode; reads go on) until the new counts are
    committed, so no event recorded meanwhile is counted twice or missed; on
    SQLite the write transaction already excludes other writers.

    Returns:
        The rows written: ``(hourly, by_type)``.
    """
    db = using or router.db_for_write(HourlyEventCount)
    connection = connections[db]
    quote = connection.ops.quote_name
    rows = []
    with transaction.atomic(using=db), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {quote(EventRecord._meta.db_table)} IN SHARE MODE")
        for counts in _TABLES:
            table = quote(counts.model._meta.db_table)
            select, params = _counted_events(counts, db).query.get_compiler(using=db).as_sql()
            columns = [*counts.fields, "event_count"]
            cursor.execute(f"DELETE FROM {table}")
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(quote(column) for column in columns)}) "
                f"SELECT {', '.join(f'grouped.{quote(field)}' for field in counts.fields)}, "
                f"grouped.n FROM ({select}) grouped",
                params,
            )
            rows.append(counts.model._default_manager.using(db).count())
    return CountRows(*rows)


@dataclass(frozen=True)
class CountDifference:
    """One (hour, actor type, outcome) whose stored count is not the number of events."""

    hour: datetime
    actor_type: str
    outcome: str
    stored: int
    actual: int

    def describe(self) -> str:
        who = self.actor_type or "(no actor)"
        return f"hourly {self.hour:%Y-%m-%d %H}:00 UTC {who} {self.outcome}"


@dataclass(frozen=True)
class TypeCountDifference:
    """One (event type, actor type, outcome, risk level) whose count is not the number of events."""

    event_type: str
    actor_type: str
    outcome: str
    risk_level: str
    stored: int
    actual: int

    def describe(self) -> str:
        who = self.actor_type or "(no actor)"
        return f"by type {self.event_type} {who} {self.outcome} {self.risk_level or '(no risk)'}"


def event_counts_differences(
    *, using: str | None = None
) -> list[CountDifference | TypeCountDifference]:
    """Every count that does not match the events (none: the counts are exact).

    The hourly counts first, oldest first, then the counts by type.
    """
    db = using or router.db_for_read(HourlyEventCount)
    differences: list[CountDifference | TypeCountDifference] = []
    for counts, difference in zip(_TABLES, (CountDifference, TypeCountDifference), strict=True):
        actual = {
            tuple(row[field] for field in counts.fields): row["n"]
            for row in _counted_events(counts, db)
        }
        stored = {
            tuple(row[:-1]): row[-1]
            for row in counts.model._default_manager.using(db).values_list(
                *counts.fields, "event_count"
            )
        }
        differences += [
            difference(*key, stored=stored.get(key, 0), actual=actual.get(key, 0))
            for key in sorted(actual.keys() | stored.keys())
            if stored.get(key, 0) != actual.get(key, 0)
        ]
    return differences
