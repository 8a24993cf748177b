"""The client's event reads in hand-written SQL: one statement a page, built once per shape.

``DecisionTraceClient.query`` and its siblings read through
``EventRecordQuerySet`` until issue 18: building the filters (``Q`` objects,
lookups, subqueries) and compiling them cost more than the SQL itself for a
small page, and the tracked objects and the corrections were two more
queries. Here the client's own typed filters (checked by ``check_filters``,
which ``selectors.event_filter`` shares, so both accept and refuse the same
values) become ``WHERE`` clauses directly: the clauses of a shape (which
filters, how many values each, cursor or not) are built once and cached, only
the parameters are made per call. The one statement also carries, per event:

- ``_objects``: its tracked objects, aggregated as JSON in a correlated
  subquery (``json_group_array`` on SQLite, ``json_agg`` on PostgreSQL) and
  turned into ``mapping.OBJECT_VALUES`` rows in their order;
- ``_corrected``: whether it has corrections (an ``EXISTS`` on their index),
  so that ``corrections_apply_values`` runs, one more query, only for pages
  that hold a corrected event.

The clauses mirror ``querysets.EventRecordQuerySet`` verb for verb (a test
compares both on every filter).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Unpack

from django.db import connections, models, router

from decision_trace.enums import ActorType, EventOutcome, ObjectType, RiskLevel
from decision_trace.exceptions import BAD_OFFSET, NO_OBJECT_KEY, NOT_A_LIST, TraceValidationError
from decision_trace.transport import QueryFilters
from decision_trace.validation import (
    ID_LENGTH,
    MAX_OFFSET,
    TAG_LENGTH,
    TYPE_LENGTH,
    aware,
    check_bool,
    check_choice,
    check_event_id,
    check_text,
)
from traces.evidence.models import EventCorrection
from traces.mapping import EVENT_VALUES, OBJECT_VALUES
from traces.models import ActorRecord, EventRecord, EventTag, TrackedObjectRecord
from traces.pagination import Cursor, Page, check_page_limit, is_count
from traces.rows import fetch_values_where

__all__ = [
    "CORRECTED",
    "MAX_CHAIN_EVENTS",
    "OBJECTS",
    "check_filters",
    "event_rows_by_ids",
    "event_rows_chain",
    "event_rows_get",
    "event_rows_history",
    "event_rows_page",
    "filter_where",
]

MAX_CHAIN_EVENTS = 5_000
# The two keys every row of these reads has besides mapping.EVENT_VALUES.
OBJECTS = "_objects"
CORRECTED = "_corrected"

_EVENTS = EventRecord._meta.db_table
_OBJECTS = TrackedObjectRecord._meta.db_table
_TAGS = EventTag._meta.db_table
_ACTORS = ActorRecord._meta.db_table
_CORRECTIONS = EventCorrection._meta.db_table


def _items(field: str, values: object) -> list[Any]:
    if isinstance(values, str):
        return [values]
    if isinstance(values, bytes | dict) or not isinstance(values, Iterable):
        raise TraceValidationError(NOT_A_LIST.format(field=field, got=type(values).__name__))
    return list(values)


def _texts(field: str, values: object, max_length: int) -> list[str]:
    return [
        check_text(field, value, max_length=max_length, required=True)
        for value in _items(field, values)
    ]


def _choices(field: str, values: object, choices: type[Any]) -> list[str]:
    return [str(check_choice(field, value, choices)) for value in _items(field, values)]


def check_filters(**filters: Unpack[QueryFilters]) -> dict[str, Any]:
    """The filters given (not ``None``), checked: aware datetimes, lists of plain strings.

    The names and types are the SDK's ``QueryFilters`` (the filters of ``query()``).

    Raises:
        TypeError: a name that is not one of the filters.
        TraceValidationError: a value of the wrong type, length or choice.
    """
    unknown = sorted(set(filters) - set(QueryFilters.__annotations__))
    if unknown:
        raise TypeError(f"Unknown filter(s) {', '.join(unknown)}.")
    start, end = filters.get("start"), filters.get("end")
    event_types, actor_types = filters.get("event_types"), filters.get("actor_types")
    actor_ids, object_types = filters.get("actor_ids"), filters.get("object_types")
    object_ids, outcomes = filters.get("object_ids"), filters.get("outcomes")
    tags, risk_levels = filters.get("tags"), filters.get("risk_levels")
    requires_approval = filters.get("requires_approval")
    correlation_id, known_at = filters.get("correlation_id"), filters.get("known_at")
    checked: dict[str, Any] = {}
    if start is not None:
        checked["start"] = aware("start", start)
    if end is not None:
        checked["end"] = aware("end", end)
    if event_types is not None:
        checked["event_types"] = _texts("event_types", event_types, TYPE_LENGTH)
    if actor_types is not None:
        checked["actor_types"] = _choices("actor_types", actor_types, ActorType)
    if actor_ids is not None:
        checked["actor_ids"] = _texts("actor_ids", actor_ids, ID_LENGTH)
    if object_ids is not None:
        checked["object_ids"] = _texts("object_ids", object_ids, ID_LENGTH)
    if object_types is not None:
        checked["object_types"] = _choices("object_types", object_types, ObjectType)
    if outcomes is not None:
        checked["outcomes"] = _choices("outcomes", outcomes, EventOutcome)
    if tags is not None:
        checked["tags"] = _texts("tags", tags, TAG_LENGTH)
    if risk_levels is not None:
        checked["risk_levels"] = _choices("risk_levels", risk_levels, RiskLevel)
    if requires_approval is not None:
        checked["requires_approval"] = check_bool("requires_approval", requires_approval)
    if correlation_id is not None:
        checked["correlation_id"] = check_text(
            "correlation_id", correlation_id, max_length=ID_LENGTH, required=True
        )
    if known_at is not None:
        checked["known_at"] = aware("known_at", known_at)
    return checked


def _db(using: str | None) -> str:
    return using or router.db_for_read(EventRecord)


def _marks(count: int) -> str:
    return ", ".join(["%s"] * count)


def _column(name: str) -> str:
    """``"traces_eventrecord"."<column>"`` of a field of ``EventRecord``."""
    field = EventRecord._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise ValueError(f"{name} is not a column of EventRecord.")
    return f'"{_EVENTS}"."{field.column}"'


# A shape: the filters' names with how many values each (patterns: their kinds), and
# whether a cursor follows; hashable, so its clauses are built once (lru_cache).
_Shape = tuple[tuple[str, Any], ...]


@lru_cache(maxsize=512)
def _clauses(vendor: str, shape: _Shape) -> str:
    """The ``WHERE`` condition (without the keyword) of one shape, on one database vendor."""
    like = "LIKE %s ESCAPE '\\'" if vendor == "sqlite" else "LIKE %s"
    cast = "" if vendor == "sqlite" else "::text"
    parts: list[str] = []
    for name, size in shape:
        if name == "start":
            parts.append(f"{_column('effective_at')} >= %s")
        elif name == "end":
            parts.append(f"{_column('effective_at')} < %s")
        elif name == "event_types":
            # size: per pattern, "=" (exact) or "like" (prefix); no entry matches all.
            terms = [
                f"{_column('event_type')} = %s"
                if kind == "="
                else f"{_column('event_type')}{cast} {like}"
                for kind in size
            ]
            parts.append(f"({' OR '.join(terms)})")
        elif name in ("actor_types", "outcomes", "risk_levels"):
            column = {
                "actor_types": "actor_type",
                "outcomes": "outcome",
                "risk_levels": "risk_level",
            }
            parts.append(f"{_column(column[name])} IN ({_marks(size)})")
        elif name == "actor_ids":
            parts.append(
                f"{_column('actor')} IN (SELECT a.id FROM {_ACTORS} a "
                f"WHERE a.actor_id IN ({_marks(size)}))"
            )
        elif name == "objects":
            ids, types = size
            inner = []
            if ids is not None:
                # external_id > '' lets the database use the partial external-id index.
                inner.append(
                    f"(o.object_id IN ({_marks(ids)}) OR "
                    f"(o.external_id IN ({_marks(ids)}) AND o.external_id > ''))"
                )
            if types is not None:
                inner.append(f"o.object_type IN ({_marks(types)})")
            parts.append(
                f"{_column('id')} IN (SELECT o.event_id FROM {_OBJECTS} o "
                f"WHERE {' AND '.join(inner)})"
            )
        elif name == "tags":
            parts.append(
                f"{_column('id')} IN (SELECT t.event_id FROM {_TAGS} t "
                f"WHERE t.tag IN ({_marks(size)}))"
            )
        elif name == "requires_approval":
            parts.append(f"{_column('requires_approval')} = %s")
        elif name == "correlation_id":
            parts.append(f"{_column('correlation_id')} = %s AND {_column('correlation_id')} > ''")
        elif name == "known_at":
            parts.append(f"{_column('recorded_at')} <= %s")
        elif name == "id":
            parts.append(f"{_column('id')} IN ({_marks(size)})")
        elif name == "after":
            # size: "<" (newest first) or ">"; the plain bound lets SQLite seek the index.
            op = size
            parts.append(
                f"({_column('effective_at')} {op} %s OR ({_column('effective_at')} = %s "
                f"AND {_column('id')} {op} %s)) AND {_column('effective_at')} {op}= %s"
            )
    return " AND ".join(parts) or "1 = 1"


def filter_where(
    checked: dict[str, Any], *, using: str | None = None
) -> tuple[str, list[Any]] | None:
    """``(condition, params)`` of checked filters over ``traces_eventrecord``; ``None``: no
    event can match (an empty list of values)."""
    connection = connections[_db(using)]
    adapt = connection.ops.adapt_datetimefield_value
    shape: list[tuple[str, Any]] = []
    params: list[Any] = []
    for name in ("start", "end"):
        if name in checked:
            shape.append((name, 1))
            params.append(adapt(checked[name]))
    if "event_types" in checked:
        patterns = checked["event_types"]
        if "*" not in patterns:
            if not patterns:
                return None
            shape.append(
                ("event_types", tuple("like" if p.endswith("*") else "=" for p in patterns))
            )
            escape = connection.ops.prep_for_like_query
            params.extend(f"{escape(p[:-1])}%" if p.endswith("*") else p for p in patterns)
    for name in ("actor_types", "actor_ids"):
        if name in checked:
            if not checked[name]:
                return None
            shape.append((name, len(checked[name])))
            params.extend(checked[name])
    if "object_ids" in checked or "object_types" in checked:
        ids, types = checked.get("object_ids"), checked.get("object_types")
        if ids == [] or types == []:
            return None
        shape.append(
            ("objects", (None if ids is None else len(ids), None if types is None else len(types)))
        )
        if ids is not None:
            params.extend([*ids, *ids])
        params.extend(types or ())
    for name in ("outcomes", "tags", "risk_levels"):
        if name in checked:
            if not checked[name]:
                return None
            shape.append((name, len(checked[name])))
            params.extend(checked[name])
    for name in ("requires_approval", "correlation_id"):
        if name in checked:
            shape.append((name, 1))
            params.append(checked[name])
    if "known_at" in checked:
        shape.append(("known_at", 1))
        params.append(adapt(checked["known_at"]))
    return _clauses(connection.vendor, tuple(shape)), params


def _and(where: tuple[str, list[Any]], clause: str, params: Sequence[Any]) -> tuple[str, list[Any]]:
    return f"{where[0]} AND {clause}", [*where[1], *params]


def _after(position: Cursor, newest_first: bool, db: str) -> tuple[str, list[Any]]:
    connection = connections[db]
    when = connection.ops.adapt_datetimefield_value(position.effective_at)
    pk = EventRecord._meta.pk.get_db_prep_value(position.id, connection)
    op = "<" if newest_first else ">"
    return _clauses(connection.vendor, (("after", op),)), [when, when, pk, when]


def _objects_sql(vendor: str) -> str:
    """Per event, its tracked objects as one JSON array of arrays (position first)."""
    fields = "o.position, o.object_type, o.object_id, o.external_id, o.name"
    event_id = _column("id")
    if vendor == "sqlite":
        return (
            f"(SELECT json_group_array(json_array({fields}, json(o.metadata), "
            f"json(o.state_before), json(o.state_after))) FROM {_OBJECTS} o "
            f"WHERE o.event_id = {event_id})"
        )
    return (
        f"(SELECT json_agg(json_build_array({fields}, o.metadata, o.state_before, "
        f"o.state_after)) FROM {_OBJECTS} o WHERE o.event_id = {event_id})"
    )


def _fetch(
    where: tuple[str, list[Any]] | None,
    *,
    order_by: Sequence[str],
    db: str,
    limit: int | None = None,
    offset: int | None = None,
) -> list[dict[str, Any]]:
    """The rows (``EVENT_VALUES`` with ``_objects`` and ``_corrected``) matching ``where``."""
    if where is None:
        return []
    vendor = connections[db].vendor
    corrected = f"EXISTS (SELECT 1 FROM {_CORRECTIONS} c WHERE c.event_id = {_column('id')})"
    rows = fetch_values_where(
        EventRecord,
        EVENT_VALUES,
        where=where,
        order_by=order_by,
        using=db,
        limit=limit,
        offset=offset,
        extra=((OBJECTS, _objects_sql(vendor)), (CORRECTED, corrected)),
    )
    loads = json.loads
    for row in rows:
        raw = row[OBJECTS]
        if isinstance(raw, str | bytes):
            raw = loads(raw)
        objects = []
        pk = row["id"]
        for item in sorted(raw or (), key=_first):
            objects.append(dict(zip(OBJECT_VALUES, (pk, *item[1:]), strict=True)))
        row[OBJECTS] = objects
        row[CORRECTED] = bool(row[CORRECTED])
    return rows


def _first(item: Sequence[Any]) -> Any:
    return item[0]


_NEWEST = ("-effective_at", "-id")
_OLDEST = ("effective_at", "id")


def event_rows_page(
    checked: dict[str, Any],
    *,
    limit: int,
    cursor: str | None = None,
    offset: int | None = None,
    newest_first: bool = True,
    using: str | None = None,
) -> Page[dict[str, Any]]:
    """One page of the events matching ``checked`` (``check_filters``), as ``event_page`` reads it:
    keyset by ``cursor``, or a bounded ``offset``; the page carries the next cursor."""
    db = _db(using)
    check_page_limit(limit)
    where = filter_where(checked, using=db)
    order = _NEWEST if newest_first else _OLDEST
    if offset is None or offset == 0:
        position = Cursor.decode(cursor) if cursor is not None else None
        if position is not None and where is not None:
            where = _and(where, *_after(position, newest_first, db))
        rows = _fetch(where, order_by=order, db=db, limit=limit + 1)
    else:
        if not is_count(offset) or not 0 <= offset <= MAX_OFFSET or cursor is not None:
            raise TraceValidationError(BAD_OFFSET.format(max_offset=MAX_OFFSET))
        rows = _fetch(where, order_by=order, db=db, limit=limit + 1, offset=offset)
    next_cursor = Cursor.of(rows[limit - 1]).encode() if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)


def event_rows_history(
    *,
    external_id: str | None = None,
    object_type: ObjectType | str | None = None,
    object_id: str | None = None,
    limit: int = 500,
    cursor: str | None = None,
    known_at: datetime | None = None,
    using: str | None = None,
) -> Page[dict[str, Any]]:
    """``selectors.object_history(values=True)``: every event that touched an object, oldest
    first."""
    ids = [
        check_text(name, value, max_length=ID_LENGTH, required=True)
        for name, value in (("object_id", object_id), ("external_id", external_id))
        if value is not None
    ]
    if not ids:
        raise TraceValidationError(NO_OBJECT_KEY)
    checked: dict[str, Any] = {"object_ids": ids}
    if object_type is not None:
        checked["object_types"] = [str(check_choice("object_type", object_type, ObjectType))]
    if known_at is not None:
        checked["known_at"] = aware("known_at", known_at)
    return event_rows_page(checked, limit=limit, cursor=cursor, newest_first=False, using=using)


def event_rows_get(
    event_id: str | uuid.UUID, *, known_at: datetime | None = None, using: str | None = None
) -> dict[str, Any] | None:
    """One event's row, or ``None`` (also when recorded after ``known_at``)."""
    pk = check_event_id("event id", event_id)
    rows = event_rows_by_ids([pk], known_at=known_at, using=using)
    return rows[0] if rows else None


def event_rows_by_ids(
    ids: Sequence[uuid.UUID | str],
    *,
    known_at: datetime | None = None,
    using: str | None = None,
) -> list[dict[str, Any]]:
    """The rows of these events (those that exist), in no particular order."""
    if not ids:
        return []
    db = _db(using)
    connection = connections[db]
    prep = EventRecord._meta.pk.get_db_prep_value
    checked = {} if known_at is None else {"known_at": aware("known_at", known_at)}
    base = filter_where(checked, using=db) or ("1 = 1", [])
    clause = _clauses(connection.vendor, (("id", len(ids)),))
    where = _and(base, clause, [prep(pk, connection) for pk in ids])
    return _fetch(where, order_by=_OLDEST, db=db)


def event_rows_chain(
    event_id: str | uuid.UUID, *, using: str | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """``selectors.event_chain(values=True)``: (depth, row) from the root, depth first."""
    pk = check_event_id("event id", event_id)
    db = _db(using)
    connection = connections[db]
    root = _column("root_id")
    where = (
        f"{root} = (SELECT r.root_id FROM {_EVENTS} r WHERE r.id = %s)",
        [EventRecord._meta.pk.get_db_prep_value(pk, connection)],
    )
    rows = _fetch(where, order_by=("depth", "effective_at", "id"), db=db, limit=MAX_CHAIN_EVENTS)
    children: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        children.setdefault(row["parent_id"], []).append(row)
    ordered: list[tuple[int, dict[str, Any]]] = []
    stack = [row for row in reversed(rows) if row["depth"] == 0]
    while stack:
        row = stack.pop()
        ordered.append((row["depth"], row))
        stack.extend(reversed(children.get(row["id"], [])))
    return ordered
