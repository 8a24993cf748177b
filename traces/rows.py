"""``values()`` rows without Django's per-value converter chain, for the client's reads.

A page of 50 events read through ``QuerySet.values()`` spent about twice the
SQL's own time in ``SQLCompiler.apply_converters``: every value of every
column goes through a generic loop of converter functions, and each JSON
column (eight per event, most of them ``{}`` or ``[]``) through
``json.loads``; and compiling the forty-column ``SELECT`` with its join cost
as much again, on every call. ``fetch_values`` compiles only the QuerySet's
filters, order and slice (a subquery of primary keys), puts the wide
``SELECT`` compiled once per connection around it, and converts each column
with one function chosen once for its field and database:

- JSON: ``{}`` and ``[]`` become new empty containers without the parser;
  anything else is ``json.loads`` (a field with its own decoder keeps Django's
  converters);
- on SQLite: UUID text to ``uuid.UUID``, datetime text to an aware datetime
  in the connection's zone, 0/1 to ``bool`` (what Django's converters do);
- every other column: Django's own converters for it, when it has any.

The rows are the same dicts ``values()`` gives (same keys, same values).
"""

from __future__ import annotations

import json
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, tzinfo
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, models

from traces.cursors import driver_cursor

__all__ = ["fetch_values", "fetch_values_in", "fetch_values_where"]

_Convert = Callable[[Any], Any]
# fetch_values_in's statements kept per SELECT (see there).
_STATEMENTS_LIMIT = 256


def _json(value: Any) -> Any:
    if value == "{}":
        return {}
    if value == "[]":
        return []
    return json.loads(value) if isinstance(value, str | bytes) else value


def _sqlite_datetime(zone: tzinfo) -> _Convert:
    def convert(value: Any) -> Any:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)

    return convert


def _sqlite_uuid(value: Any) -> Any:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def _django(expression: Any, connection: Any) -> _Convert | None:
    """Django's own converters for one selected column, composed (None: there are none)."""
    converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(
        connection
    )
    if not converters:
        return None

    def convert(value: Any) -> Any:
        for converter in converters:
            value = converter(value, expression, connection)
        return value

    return convert


def _converter(expression: Any, connection: Any) -> _Convert | None:
    field = getattr(expression, "output_field", None)
    while isinstance(field, models.ForeignKey):
        field = field.target_field
    if isinstance(field, models.JSONField) and field.decoder is None:
        return _json
    if connection.vendor == "sqlite":
        if isinstance(field, models.DateTimeField):
            return _sqlite_datetime(connection.timezone)
        if isinstance(field, models.UUIDField):
            return _sqlite_uuid
        if isinstance(field, models.BooleanField):
            return bool
    return _django(expression, connection)


@dataclass(frozen=True)
class _Select:
    """``SELECT <the values() columns> FROM <table and joins>`` of one model and names, compiled."""

    sql: str
    table: str
    converters: tuple[tuple[int, _Convert], ...]
    # fetch_values_in's statements by shape (see there).
    statements: dict[tuple[Any, ...], tuple[str, Any]] = dataclass_field(default_factory=dict)


# Per connection object (one per thread and alias), dropped with the connection.
_SELECTS: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], _Select]] = (
    weakref.WeakKeyDictionary()
)


def _select(model: type[models.Model], names: tuple[str, ...], db: str) -> _Select:
    connection = connections[db]
    selects = _SELECTS.setdefault(connection, {})
    key = (model, names, connection.timezone)
    select = selects.get(key)
    if select is None:
        base = model._default_manager.using(db).values(*names).order_by()
        compiler = base.query.get_compiler(using=db)
        sql, params = compiler.as_sql()
        if params:
            raise ValueError(f"values({', '.join(names)}) of {model.__name__} needs parameters.")
        converters = tuple(
            (index, convert)
            for index, (expression, _, _) in enumerate(compiler.select[: len(names)])
            if (convert := _converter(expression, connection)) is not None
        )
        table = connection.ops.quote_name(model._meta.db_table)
        select = _Select(sql=sql, table=table, converters=converters)
        selects[key] = select
    return select


def _order(model: type[models.Model], order: Sequence[Any], table: str, quote: Any) -> str | None:
    """``ORDER BY`` over the model's own columns for field names like ``-effective_at``."""
    terms = []
    for item in order:
        if not isinstance(item, str) or "__" in item or item.lstrip("-") == "?":
            return None
        name = item.lstrip("-")
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        column = getattr(field, "column", None)
        if column is None:
            return None
        terms.append(f"{table}.{quote(column)}{' DESC' if item.startswith('-') else ''}")
    return ", ".join(terms)


def fetch_values(
    queryset: models.QuerySet[Any, Any], names: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """``queryset.values(*names)`` as a list (``names``: field names and lookups).

    Same rows, same dicts, same order as ``list(queryset.values(*names))``;
    without ``names``, ``queryset`` is a ``values()`` QuerySet of plain names
    (no annotations) and its names are used. The filters,
    order and slice of ``queryset`` are compiled into a subquery of primary
    keys only; the wide ``SELECT`` of the columns is compiled once per
    connection and reused, and its values are converted column by column
    (see the module's docstring). ``None`` stays ``None``.
    """
    query = queryset.query
    if query.annotation_select or query.extra_select:
        raise ValueError("fetch_values reads QuerySets without annotations only.")
    fields = tuple(names) if names is not None else tuple(query.values_select)
    if not fields:
        raise ValueError("fetch_values needs field names (or a values() QuerySet).")
    db = queryset.db
    connection = connections[db]
    model = queryset.model
    select = _select(model, fields, db)
    quote = connection.ops.quote_name
    ordering = query.order_by or (model._meta.ordering if query.default_ordering else ())
    order = _order(model, ordering, select.table, quote)
    if order is None:
        raise ValueError("fetch_values orders by the model's own fields only.")
    try:
        inner, params = queryset.values_list("pk").query.get_compiler(using=db).as_sql()
    except EmptyResultSet:
        return []
    pk = f"{select.table}.{quote(model._meta.pk.column)}"
    if connection.vendor == "postgresql":
        # A join with a materialized CTE, not IN: PostgreSQL cannot flatten IN (... LIMIT n)
        # into a semi-join and, with few rows expected, re-ran the subquery for every row of
        # the table (minutes on a test database); a plain derived table could still be the
        # inner side of a nested loop and be re-run the same way (it was, on a freshly
        # loaded test database without statistics). MATERIALIZED runs it exactly once.
        sql = (
            f"WITH page (page_pk) AS MATERIALIZED ({inner}) "
            f"{select.sql} INNER JOIN page ON page.page_pk = {pk}"
        )
    else:
        sql = f"{select.sql} WHERE {pk} IN ({inner})"
    sql += f" ORDER BY {order}" if order else ""
    return _convert(connection, sql, params, select, fields)


def _convert(
    connection: Any, sql: str, params: Sequence[Any], select: _Select, fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Run ``sql`` and make each row a dict of ``fields``, converted column by column."""
    with driver_cursor(connection) as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    converters = select.converters
    rows = []
    for row in fetched:
        values = list(row)
        for index, convert in converters:
            value = values[index]
            if value is not None:
                values[index] = convert(value)
        rows.append(dict(zip(fields, values, strict=True)))
    return rows


def fetch_values_in(
    model: type[models.Model],
    names: Sequence[str],
    *,
    field: str,
    keys: Sequence[Any] | tuple[str, Sequence[Any]],
    order_by: Sequence[str],
    using: str,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """``model.objects.filter(<field>__in=keys).order_by(*order_by).values(*names)[:limit]``.

    The same rows as that QuerySet, with no QuerySet compiled at all: the
    cached ``SELECT`` (see ``fetch_values``), one ``IN`` list of ``keys``
    adapted by the field (or ``keys`` as ``(sql, params)``: a subquery), and
    the order over the model's own fields.
    """
    if not keys:
        return []
    connection = connections[using]
    select = _select(model, tuple(names), using)
    subquery = isinstance(keys, tuple) and len(keys) == 2 and isinstance(keys[0], str)
    # The statement is built once per shape: a write looks its actors up on every call.
    shape = (field, tuple(order_by), keys[0] if subquery else len(keys), limit)
    built = select.statements.get(shape)
    if built is None:
        built = _in_statement(model, select, field, order_by, keys, limit, connection, subquery)
        # Bounded: every number of keys is a shape of its own.
        if len(select.statements) >= _STATEMENTS_LIMIT:
            select.statements.clear()
        select.statements[shape] = built
    sql, target = built
    if subquery:
        params = list(keys[1])
    else:
        params = [target.get_db_prep_value(key, connection) for key in keys]
    return _convert(connection, sql, params, select, tuple(names))


def _in_statement(
    model: type[models.Model],
    select: _Select,
    field: str,
    order_by: Sequence[str],
    keys: Sequence[Any] | tuple[str, Sequence[Any]],
    limit: int | None,
    connection: Any,
    subquery: bool,
) -> tuple[str, models.Field[Any, Any]]:
    """``fetch_values_in``'s statement for one shape, and the field that adapts its keys."""
    quote = connection.ops.quote_name
    target = model._meta.get_field(field)
    column = target.column if isinstance(target, models.Field) else None
    order = _order(model, order_by, select.table, quote)
    if not isinstance(target, models.Field) or column is None or not order:
        raise ValueError(f"{field} and {', '.join(order_by)} must be columns of {model.__name__}.")
    inner = keys[0] if subquery else ", ".join(["%s"] * len(keys))
    sql = f"{select.sql} WHERE {select.table}.{quote(column)} IN ({inner}) ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, target


def fetch_values_where(
    model: type[models.Model],
    names: Sequence[str],
    *,
    where: tuple[str, Sequence[Any]],
    order_by: Sequence[str],
    using: str,
    limit: int | None = None,
    offset: int | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> list[dict[str, Any]]:
    """The ``values(*names)`` rows of ``model`` matching a hand-written condition.

    ``where`` is ``(sql, params)`` over the model's table by its own name;
    ``extra`` adds ``(key, sql expression)`` columns to each row, unconverted.
    The ``SELECT`` is the cached one of ``fetch_values``.
    """
    connection = connections[using]
    select = _select(model, tuple(names), using)
    order = _order(model, order_by, select.table, connection.ops.quote_name)
    if not order:
        raise ValueError(f"{', '.join(order_by)} must be columns of {model.__name__}.")
    sql = select.sql
    if extra:
        head, found, tail = sql.partition(" FROM ")
        if not found:
            raise ValueError("The cached SELECT has no FROM.")
        sql = f"{head}, {', '.join(expression for _, expression in extra)} FROM {tail}"
    sql += f" WHERE {where[0]} ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if offset is not None:
        sql += f" OFFSET {int(offset)}"
    return _convert(connection, sql, where[1], select, (*names, *(key for key, _ in extra)))
