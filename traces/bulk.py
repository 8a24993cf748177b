"""Set-based inserts for the trace write path.

Why not ``bulk_create``: measured on the benchmark, it spends about 200 µs per
row building model instances and compiling SQL (every value goes through
``get_db_prep_save`` inside a statement capped at 999 parameters on SQLite),
five times the cost of the database work itself. Here each field's database
adapter is resolved once per batch and the rows go to the driver in one
``executemany`` per table, with values adapted exactly as Django would
(``connection.ops`` adapters for JSON, datetimes, IPs; UUIDs as the backend
stores them).

Rows are dicts keyed by field ``attname``; missing fields take the model
default. Primary keys that are auto fields are left to the database unless a
row gives one. Nothing here validates: the services did that first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from django.db import connections, models
from django.db.models.fields import NOT_PROVIDED

__all__ = ["insert_rows", "insert_rows_returning"]

_Adapter = Callable[[Any], Any]
# SQLite's historical bound on parameters per statement (newer builds allow more).
_MAX_PARAMS = 999


def _identity(value: Any) -> Any:
    return value


_dumps = json.JSONEncoder().encode


def _sqlite_json(value: Any) -> str | None:
    if value is None:
        return None
    if not value and type(value) in (dict, list):
        return "{}" if type(value) is dict else "[]"
    return _dumps(value)


def _adapter(field: models.Field, connection: Any) -> _Adapter:
    if isinstance(field, models.ForeignKey):
        return _adapter(field.target_field, connection)
    ops = connection.ops
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        if connection.vendor == "sqlite" and encoder is None:
            # What ops.adapt_json_value does on SQLite, minus a call per value.
            return _sqlite_json
        return lambda value: None if value is None else ops.adapt_json_value(value, encoder)
    if isinstance(field, models.UUIDField):
        if connection.features.has_native_uuid_field:
            return _identity
        return lambda value: None if value is None else value.hex
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.GenericIPAddressField):
        return ops.adapt_ipaddressfield_value
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


def _rows_to_params(
    fields: list[models.Field], rows: Sequence[dict[str, Any]], connection: Any
) -> list[list[Any]]:
    """Each row's values in field order, defaults filled in, adapted for the database.

    Values are taken with one C-level ``itemgetter`` per row; only the columns
    whose adapter is not the identity (JSON, datetimes, UUIDs, IPs) are touched
    again in Python.
    """
    names = [field.attname for field in fields]
    defaults = {
        field.attname: None if field.default is NOT_PROVIDED else field.get_default()
        for field in fields
    }
    adapters = [
        (index, adapt)
        for index, adapt in enumerate(_adapter(field, connection) for field in fields)
        if adapt is not _identity
    ]
    # itemgetter of one name returns the value itself, not a 1-tuple.
    getter = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    params = []
    for row in rows:
        try:
            values = list(getter(row))
        except KeyError:
            values = list(getter({**defaults, **row}))
        for index, adapt in adapters:
            values[index] = adapt(values[index])
        params.append(values)
    return params


def insert_rows(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    using: str,
    with_pk: bool = True,
    suffix: str = "",
) -> None:
    """INSERT ``rows`` into ``model``'s table with one ``executemany``.

    Args:
        model: the model whose table receives the rows.
        rows: one dict per row, keyed by field attname.
        using: the database alias.
        with_pk: send the primary key column (False: the database numbers rows).
        suffix: SQL appended to the statement (an ``ON CONFLICT`` clause).
    """
    if not rows:
        return
    connection = connections[using]
    fields = [field for field in model._meta.concrete_fields if with_pk or not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(model._meta.db_table)
    params = _rows_to_params(fields, rows, connection)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}){suffix}", params
        )


def insert_rows_returning(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    returning: Sequence[str],
    *,
    using: str,
    suffix: str = "",
) -> list[tuple[Any, ...]]:
    """INSERT ``rows`` (primary key left to the database) and return the ``returning`` columns.

    Multi-row ``VALUES`` statements with ``RETURNING`` (SQLite 3.35+,
    PostgreSQL), as many rows per statement as SQLite's 999 parameters allow.
    Returned values come back as the driver gives them, in row order.
    """
    if not rows:
        return []
    connection = connections[using]
    quote = connection.ops.quote_name
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(quote(field.column) for field in fields)
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table = quote(model._meta.db_table)
    returned = ", ".join(quote(model._meta.get_field(name).column) for name in returning)
    per_statement = max(_MAX_PARAMS // len(fields), 1)
    results: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params = [
                value for values in _rows_to_params(fields, chunk, connection) for value in values
            ]
            values = ", ".join([one_row] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values}{suffix} RETURNING {returned}",
                params,
            )
            results.extend(cursor.fetchall())
    return results
