"""Set-based inserts for the trace write path.

Why not ``bulk_create``: measured on the benchmark, it spends about 200 µs per
row building model instances and compiling SQL (every value goes through
``get_db_prep_save`` inside a statement capped at 999 parameters on SQLite),
five times the cost of the database work itself. Here each field's database
adapter is resolved once per connection (and cached with the statement) and
the rows go to the driver in one ``executemany`` per table, with values
adapted exactly as Django would (``connection.ops`` adapters for JSON, IPs;
datetimes and UUIDs as the backend stores them).

Rows are dicts keyed by field ``attname``; missing fields take the model
default. Primary keys that are auto fields are left to the database unless a
row gives one. Nothing here validates: the services did that first.

On PostgreSQL ``RowBatch.write()`` sends the rows with ``COPY ... FROM STDIN``
(psycopg 3's ``cursor.copy``) instead: one stream per table, no statement
per row, no parameter limit. Measured in one run at a million stored events
(benchmarks/README.md), ``record_many()`` went from about 0.2 of a raw COPY's
rate with ``executemany`` to the figures given there.
"""

from __future__ import annotations

import gc
import json
import sqlite3
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, tzinfo
from operator import itemgetter
from typing import Any

from django.db import connections, models
from django.db.models.fields import NOT_PROVIDED
from psycopg import Pipeline
from psycopg.types.json import Jsonb

from traces.cursors import driver_cursor

__all__ = [
    "COPY_MIN_ROWS",
    "RowBatch",
    "column_adapter",
    "cyclic_gc_paused",
    "insert_rows",
    "insert_rows_returning",
    "max_query_params",
    "pipeline_commit",
    "statement_pipeline",
    "write_rows",
]

_Adapter = Callable[[Any], Any]
# Below this many rows an INSERT is cheaper than COPY, which takes one more round trip
# (the server's CopyInResponse) before the data: record() writes one row per table.
COPY_MIN_ROWS = 50
# PostgreSQL's wire protocol counts a statement's parameters in 16 bits.
_POSTGRES_MAX_PARAMS = 65_535


def _identity(value: Any) -> Any:
    return value


def _sqlite_json(value: Any) -> str | None:
    # Plain json.dumps: an encoder built once from CPython's private c_make_encoder
    # saved 2.7 % of record_many()'s time in a same-run benchmark, not worth it.
    if value is None:
        return None
    if not value and type(value) in (dict, list):
        return "{}" if type(value) is dict else "[]"
    return json.dumps(value)


def _as_is(text: Any) -> str:
    """The ``dumps`` of JSON that is text already."""
    return str(text)


def _sqlite_uuid(value: Any) -> str | None:
    return None if value is None else value.hex


def _sqlite_datetime(zone: tzinfo) -> _Adapter:
    """What ``adapt_datetimefield_value`` does on SQLite with ``USE_TZ``, minus its lookups."""

    def adapt(value: datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(zone).replace(tzinfo=None)
        return str(value)

    return adapt


def column_adapter(field: models.Field[Any, Any], connection: Any) -> _Adapter:
    """How a value of ``field`` is sent to ``connection``, as Django would adapt it."""
    if isinstance(field, models.ForeignKey):
        return column_adapter(field.target_field, connection)
    ops = connection.ops
    sqlite = connection.vendor == "sqlite"
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        if encoder is None and (sqlite or connection.vendor == "postgresql"):
            # What ops.adapt_json_value does on SQLite, minus a call per value. On
            # PostgreSQL the same JSON text: COPY sends it as it is (the server parses
            # it into jsonb), INSERTs wrap it as already-dumped Jsonb (_postgres_json).
            return _sqlite_json
        return lambda value: None if value is None else ops.adapt_json_value(value, encoder)
    if isinstance(field, models.UUIDField):
        return _identity if connection.features.has_native_uuid_field else _sqlite_uuid
    if isinstance(field, models.DateTimeField):
        if sqlite and connection.timezone is not None:
            return _sqlite_datetime(connection.timezone)
        if connection.vendor == "postgresql":
            return _identity  # psycopg adapts aware datetimes itself
        adapt_datetime: _Adapter = ops.adapt_datetimefield_value
        return adapt_datetime
    if isinstance(field, models.GenericIPAddressField):
        adapt_ip: _Adapter = ops.adapt_ipaddressfield_value
        return adapt_ip
    if isinstance(
        field,
        models.CharField
        | models.TextField
        | models.IntegerField
        | models.FloatField
        | models.BooleanField,
    ):
        return _identity
    return lambda value: field.get_db_prep_save(value, connection)


@dataclass(frozen=True)
class _Plan:
    """How rows of one model reach one connection: the statement and each column's adapter."""

    sql: str
    copy_sql: str
    one_row: str
    getter: Callable[[dict[str, Any]], tuple[Any, ...]]
    defaults: dict[str, Any]
    adapters: tuple[tuple[int, _Adapter], ...]
    width: int
    # PostgreSQL: the JSON columns, whose text an INSERT sends as Jsonb.
    json_columns: tuple[int, ...]
    # Multi-row INSERTs by (returned columns, rows, suffix): see RowBatch._values_sql.
    statements: dict[tuple[tuple[str, ...], int, str], str] = dataclass_field(default_factory=dict)


# Plans per connection object (one per thread and alias), dropped with the connection;
# keyed by the connection's time zone too, which settings overrides may change.
_PLANS: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], _Plan]] = weakref.WeakKeyDictionary()


def _plan(model: type[models.Model], with_pk: bool, connection: Any) -> _Plan:
    plans = _PLANS.setdefault(connection, {})
    key = (model, with_pk, connection.timezone)
    plan = plans.get(key)
    if plan is None:
        fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
        names = [field.attname for field in fields]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        adapters = [(i, column_adapter(field, connection)) for i, field in enumerate(fields)]
        plan = _Plan(
            sql=f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ",
            copy_sql=f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN",
            one_row=one_row,
            # itemgetter of one name returns the value itself, not a 1-tuple.
            getter=itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],),
            defaults={
                field.attname: None if field.default is NOT_PROVIDED else field.get_default()
                for field in fields
            },
            adapters=tuple((i, adapt) for i, adapt in adapters if adapt is not _identity),
            width=len(fields),
            json_columns=tuple(
                i
                for i, field in enumerate(fields)
                if connection.vendor == "postgresql"
                and isinstance(field, models.JSONField)
                and field.encoder is None
            ),
        )
        plans[key] = plan
    return plan


def _column(field: object) -> str:
    if not isinstance(field, models.Field) or field.column is None:
        raise ValueError(f"{field} is not a column of this table.")
    return field.column


class RowBatch:
    """Rows for one table, adapted as they are added, inserted with one ``executemany``.

    Each row (a dict keyed by field attname; missing fields take the model
    default) becomes its parameters at once, so the dict is freed right away.
    What a batch keeps is one tuple of plain values per row, which Python's
    cyclic garbage collector stops tracking at its first pass: thousands of
    rows then do not make it walk the whole heap again and again.

    Args:
        model: the model whose table receives the rows.
        using: the database alias.
        with_pk: send the primary key column (False: the database numbers rows).
    """

    def __init__(self, model: type[models.Model], *, using: str, with_pk: bool = True) -> None:
        self.model = model
        self.using = using
        self.connection = connections[using]
        self._plan = _plan(model, with_pk, self.connection)
        self.params: list[tuple[Any, ...]] = []

    def __len__(self) -> int:
        return len(self.params)

    def _adapted(self, row: dict[str, Any]) -> tuple[Any, ...]:
        plan = self._plan
        try:
            values = list(plan.getter(row))
        except KeyError:
            values = list(plan.getter({**plan.defaults, **row}))
        for index, adapt in plan.adapters:
            values[index] = adapt(values[index])
        return tuple(values)

    def add(self, row: dict[str, Any]) -> None:
        """Adapt one row for the database and keep its parameters."""
        self.params.append(self._adapted(row))

    def extend(self, rows: Iterable[dict[str, Any]]) -> RowBatch:
        for row in rows:
            self.add(row)
        return self

    def _statement_params(self) -> list[tuple[Any, ...]]:
        """The rows as statement parameters: on PostgreSQL, JSON text wrapped as Jsonb."""
        columns = self._plan.json_columns
        if not columns:
            return self.params
        rows = []
        for row in self.params:
            values = list(row)
            for index in columns:
                if values[index] is not None:
                    values[index] = Jsonb(values[index], dumps=_as_is)
            rows.append(tuple(values))
        return rows

    def insert(self, *, suffix: str = "") -> None:
        """INSERT every row; ``suffix`` is appended (``ON CONFLICT``).

        SQLite: one ``executemany`` (one prepared statement, stepped per row).
        PostgreSQL: multi-row ``VALUES`` statements, as many rows each as the
        parameter limit allows: psycopg spends about 25 µs of this process's
        time on each statement it sends, and an event's two or three objects
        then cost one.
        """
        if not self.params:
            return
        params = self._statement_params()
        with driver_cursor(self.connection) as cursor:
            if self.connection.vendor != "postgresql":
                cursor.executemany(f"{self._plan.sql}{self._plan.one_row}{suffix}", params)
                return
            per_statement = _POSTGRES_MAX_PARAMS // self._plan.width
            for start in range(0, len(params), per_statement):
                chunk = params[start : start + per_statement]
                cursor.execute(
                    self._values_sql((), len(chunk), suffix),
                    [value for row in chunk for value in row],
                )

    def write(self) -> None:
        """Store every row: ``COPY ... FROM STDIN`` on PostgreSQL, ``insert()`` elsewhere.

        Fewer than ``COPY_MIN_ROWS`` rows go through ``insert()`` on PostgreSQL too.

        For plain appends only (no ``ON CONFLICT``): a row that breaks a
        constraint fails the whole COPY with ``IntegrityError``, as the
        INSERT would.
        """
        if not self.params:
            return
        if self.connection.vendor != "postgresql" or len(self.params) < COPY_MIN_ROWS:
            self.insert()
            return
        self._copy(self.params)

    def stream(self, rows: Iterable[dict[str, Any]]) -> None:
        """COPY ``rows`` (PostgreSQL), adapting and sending each as ``rows`` makes it.

        Nothing is kept: psycopg sends the data in chunks of 32 KiB while the
        rest is still being built, so the server stores and indexes the first
        rows while this process makes the next (on two cores, about 0.13 s
        less for 5,000 events at a million stored). As ``write``: one
        constraint broken fails the whole COPY with ``IntegrityError``; an
        exception raised by ``rows`` aborts it.
        """
        adapted = self._adapted
        self._copy(adapted(row) for row in rows)

    def _copy(self, values: Iterable[tuple[Any, ...]]) -> None:
        # Django's cursor wrapper hands copy() to the psycopg cursor as it is, so its
        # errors are translated here (a duplicate id is an IntegrityError).
        with (
            self.connection.cursor() as cursor,
            self.connection.wrap_database_errors,
            cursor.copy(self._plan.copy_sql) as copy,
        ):
            write_row = copy.write_row
            for row in values:
                write_row(row)

    def insert_one(self) -> int:
        """INSERT the batch's one row and return the id the database gave it (SQLite).

        ``cursor.lastrowid``, not ``RETURNING``: SQLite makes a result set for
        ``RETURNING``, and with the batch around it that was about 25 µs more
        for each ``record()``'s search document.
        """
        if len(self.params) != 1 or self.connection.vendor != "sqlite":
            raise ValueError("insert_one() inserts exactly one row, on SQLite.")
        with driver_cursor(self.connection) as cursor:
            cursor.execute(f"{self._plan.sql}{self._plan.one_row}", self.params[0])
            row_id: int = cursor.lastrowid
        return row_id

    def insert_returning(
        self, returning: Sequence[str], *, suffix: str = ""
    ) -> list[tuple[Any, ...]]:
        """INSERT every row and return the ``returning`` columns, in row order.

        Multi-row ``VALUES`` statements with ``RETURNING`` (SQLite 3.35+,
        PostgreSQL), as many rows per statement as the database's parameter
        limit allows. Values come back as the driver gives them.
        """
        if not self.params:
            return []
        plan = self._plan
        per_statement = max(max_query_params(self.using) // plan.width, 1)
        results: list[tuple[Any, ...]] = []
        params = self._statement_params()
        with driver_cursor(self.connection) as cursor:
            for start in range(0, len(params), per_statement):
                chunk = params[start : start + per_statement]
                cursor.execute(
                    self._values_sql(tuple(returning), len(chunk), suffix),
                    [value for row in chunk for value in row],
                )
                results.extend(cursor.fetchall())
        return results

    def _values_sql(self, returning: tuple[str, ...], rows: int, suffix: str) -> str:
        """The ``INSERT`` of ``rows`` rows (``RETURNING`` the ``returning`` columns, if any),
        built once per shape (at most 256 per table)."""
        plan = self._plan
        key = (returning, rows, suffix)
        sql = plan.statements.get(key)
        if sql is None:
            values = ", ".join([plan.one_row] * rows)
            sql = f"{plan.sql}{values}{suffix}"
            if returning:
                quote = self.connection.ops.quote_name
                meta = self.model._meta
                returned = ", ".join(quote(_column(meta.get_field(name))) for name in returning)
                sql += f" RETURNING {returned}"
            if len(plan.statements) >= 256:
                plan.statements.clear()
            plan.statements[key] = sql
        return sql


def max_query_params(using: str) -> int:
    """How many parameters one statement may carry on this database.

    SQLite's own limit (32,766 since 3.32; Django assumes the historical 999),
    PostgreSQL's 65,535.
    """
    connection = connections[using]
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        limit: int = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        return limit
    if connection.vendor == "postgresql":
        return _POSTGRES_MAX_PARAMS
    return connection.features.max_query_params or 999


def insert_rows(
    model: type[models.Model],
    rows: Iterable[dict[str, Any]],
    *,
    using: str,
    with_pk: bool = True,
    suffix: str = "",
) -> None:
    """INSERT ``rows`` into ``model``'s table with one ``executemany`` (see ``RowBatch``).

    Args:
        model: the model whose table receives the rows.
        rows: one dict per row, keyed by field attname.
        using: the database alias.
        with_pk: send the primary key column (False: the database numbers rows).
        suffix: SQL appended to the statement (an ``ON CONFLICT`` clause).
    """
    RowBatch(model, using=using, with_pk=with_pk).extend(rows).insert(suffix=suffix)


def insert_rows_returning(
    model: type[models.Model],
    rows: Iterable[dict[str, Any]],
    returning: Sequence[str],
    *,
    using: str,
    suffix: str = "",
) -> list[tuple[Any, ...]]:
    """INSERT ``rows`` (primary key left to the database) and return the ``returning`` columns.

    See ``RowBatch.insert_returning``.
    """
    batch = RowBatch(model, using=using, with_pk=False).extend(rows)
    return batch.insert_returning(returning, suffix=suffix)


def write_rows(
    model: type[models.Model],
    rows: Iterable[dict[str, Any]],
    *,
    using: str,
    with_pk: bool = True,
    count: int | None = None,
) -> None:
    """Append ``rows`` to ``model``'s table: COPY on PostgreSQL, ``executemany`` elsewhere.

    Given ``count`` (how many rows ``rows`` makes, e.g. a generator's), at
    least ``COPY_MIN_ROWS`` of them on PostgreSQL are streamed
    (``RowBatch.stream``) instead of made first; otherwise see ``RowBatch.write``.
    """
    batch = RowBatch(model, using=using, with_pk=with_pk)
    if count is not None and count >= COPY_MIN_ROWS and batch.connection.vendor == "postgresql":
        batch.stream(rows)
    else:
        batch.extend(rows).write()


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk write (reference counting goes on).

    A batch allocates tens of thousands of short-lived rows, each a reason for the
    collector to run, and its oldest generation walks every object of the
    process: in a process holding the events it is about to write (a loader, a
    benchmark), ``record_many()`` of 5,000 events on SQLite ran at 7,017
    events/s with it and 8,661 without. Nothing of a batch forms a cycle, so
    nothing is kept longer; the collector is switched back on (if it was on) when
    the block ends, and catches up at its next run.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def statement_pipeline(using: str) -> Iterator[bool]:
    """Send the block's statements without waiting for each result (PostgreSQL).

    psycopg 3's pipeline mode: the INSERTs of one ``record()`` (event, outbox
    row, objects, tags, search document, hourly counts) travel to the server
    together and their results come back together, one round trip instead of
    one per statement. A statement whose result is read (``RETURNING``) waits
    for what was sent before it. Errors surface at the latest when the block
    ends, as Django's exceptions (``IntegrityError`` for a duplicate id).
    ``COPY`` cannot run in a pipeline: use it for ``insert()`` paths only.
    Elsewhere (SQLite, a libpq without pipeline mode) the block runs as it is.
    Yields whether the statements are pipelined.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or not Pipeline.is_supported():
        yield False
        return
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield True


def pipeline_commit(using: str) -> bool:
    """Last in a ``statement_pipeline`` block: send ``COMMIT`` with the block's statements.

    Only when the surrounding ``transaction.atomic`` block is the outermost
    one and commits when it ends (no savepoint, autocommit on before it): the
    transaction then ends in the pipeline's round trip instead of one of its
    own after it. If a statement before it fails, the server skips the rest
    of the pipeline, ``COMMIT`` included, and the error surfaces when the
    pipeline block ends, so the ``atomic`` block rolls back as before; a
    deferred constraint that fails at ``COMMIT`` surfaces the same way.
    Django's commit at the end of the ``atomic`` block then finds the
    transaction ended (psycopg sends nothing for it) and runs the
    ``on_commit`` callbacks. Nothing may run in the block after it. Returns
    whether it was sent (on PostgreSQL only; never in a nested block, nor
    when autocommit was off before the block). Outside a pipeline it is a
    plain ``COMMIT``: correct, but no round trip is saved.
    """
    connection = connections[using]
    if (
        connection.vendor != "postgresql"
        or not connection.in_atomic_block
        or not connection.commit_on_exit
        or connection.savepoint_ids
        or connection.needs_rollback
    ):
        return False
    with driver_cursor(connection) as cursor:
        cursor.execute("COMMIT")
    return True
