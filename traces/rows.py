"""``values()`` rows without Django's per-value converter chain, for the client's reads.

A page of 50 events read through ``QuerySet.values()`` spent about twice the
SQL's own time in ``SQLCompiler.apply_converters``: every value of every
column goes through a generic loop of converter functions, and each JSON
column (eight per event, most of them ``{}`` or ``[]``) through
``json.loads``. ``fetch_values`` runs the same compiled SQL and converts each
column with one function chosen once for its field and database:

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
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, models

__all__ = ["fetch_values"]

_Convert = Callable[[Any], Any]


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


def fetch_values(queryset: models.QuerySet[Any, dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of a ``values(*names)`` QuerySet (plain field names and lookups, no annotations).

    Same SQL, same dicts as ``list(queryset)``, converted column by column
    (see the module's docstring). ``None`` stays ``None``.
    """
    query = queryset.query
    if query.annotation_select or query.extra_select or not query.values_select:
        raise ValueError("fetch_values reads values(*field names) QuerySets only.")
    connection = connections[queryset.db]
    compiler = query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return []
    names = list(query.values_select)
    converters = [
        (index, convert)
        for index, (expression, _, _) in enumerate(compiler.select[: len(names)])
        if (convert := _converter(expression, connection)) is not None
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    rows = []
    for row in fetched:
        values = list(row[: len(names)])
        for index, convert in converters:
            value = values[index]
            if value is not None:
                values[index] = convert(value)
        rows.append(dict(zip(names, values, strict=True)))
    return rows
