"""Reads for trace events: filtered QuerySets, pages, chains, object histories, stats.

Selectors return rows (``EventRecord``) ready for display: actor joined,
tracked objects prefetched, so a page costs a fixed number of queries. The
client maps them to value objects; the UI and admin use the rows directly.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Unpack

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.db import connections, router
from django.db.models import Count, Max, Min, QuerySet, Subquery

from decision_trace.enums import ObjectType
from decision_trace.exceptions import BAD_OFFSET, NO_OBJECT_KEY, TraceValidationError
from decision_trace.transport import QueryFilters
from decision_trace.validation import (
    ID_LENGTH,
    MAX_OFFSET,
    aware,
    check_choice,
    check_event_id,
    check_text,
)
from decisioning.models import Decision
from decisioning.permissions import REVIEW_PERMISSIONS, VIEW_DECISION
from traces.eventreads import check_filters
from traces.mapping import EVENT_VALUES, OBJECT_VALUES
from traces.models import ActorRecord, EventRecord, EventTypeCount, TrackedObjectRecord
from traces.pagination import Cursor, Page, check_page_limit, is_count, keyset_page
from traces.querysets import AUDIT_EVENT_PREFIX, EventRecordQuerySet
from traces.rows import fetch_values, fetch_values_in

__all__ = [
    "ACTOR_STATS_LIMIT",
    "MAX_CHAIN_EVENTS",
    "MAX_OFFSET",
    "actor_event_stats",
    "actor_shown",
    "can_view_decisions",
    "display_values",
    "event_chain",
    "event_count",
    "event_decisions",
    "event_filter",
    "event_get",
    "event_page",
    "event_stats",
    "events_exist",
    "events_visible",
    "events_visible_to",
    "object_history",
    "root_event_ids",
    "tracked_object_values",
]

MAX_CHAIN_EVENTS = 5_000


def _has_perm(user: AbstractBaseUser | AnonymousUser, permission: str) -> bool:
    # The user model's permissions (PermissionsMixin); an anonymous user has none.
    return isinstance(user, PermissionsMixin) and user.has_perm(permission)


def can_view_decisions(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether ``user`` may learn how decisions went: ``view_decision`` or a review right.

    The one rule for every page, partial, download and API endpoint: without
    it a user sees no decision's outcome, reason or decider, no approval
    status, and none of the review trail's events (``events_visible_to``).
    """
    return user.is_active and (
        _has_perm(user, VIEW_DECISION) or any(_has_perm(user, p) for p in REVIEW_PERMISSIONS)
    )


def events_visible(queryset: EventRecordQuerySet, *, with_decisions: bool) -> EventRecordQuerySet:
    """``queryset`` as a reader sees it: without the review trail's events unless
    ``with_decisions`` (each of them tells a decision's outcome, reason and reviewer)."""
    return queryset if with_decisions else queryset.without_review_trail()


def events_visible_to(
    queryset: EventRecordQuerySet, user: AbstractBaseUser | AnonymousUser
) -> EventRecordQuerySet:
    """The events of ``queryset`` that ``user`` may see (``can_view_decisions``)."""
    return events_visible(queryset, with_decisions=can_view_decisions(user))


def actor_shown(actor: ActorRecord, *, with_decisions: bool) -> bool:
    """Whether a reader may see ``actor``'s page: always with ``with_decisions``, else
    only if one of its events is visible to them.

    An actor whose every event is in the review trail is known only as a
    reviewer, which is what a reader without access to decisions may not learn.
    One probe of the ``(actor, effective_at, id)`` index, and none for a reviewer.
    """
    if with_decisions:
        return True
    return events_visible(EventRecord.objects.filter(actor=actor), with_decisions=False).exists()


def _db(using: str | None) -> str:
    return using or router.db_for_read(EventRecord)


def event_filter(
    *, using: str | None = None, **filters: Unpack[QueryFilters]
) -> EventRecordQuerySet:
    """Events matching every filter given (``None`` = no filter; an empty list matches nothing).

    Times are the business time, half-open ``[start, end)``; naive datetimes are
    UTC. ``event_types`` take ``"order.*"`` prefixes; ``object_ids`` match an
    object's id or its external id. ``known_at``: only events recorded by then
    (system time). The filters are the SDK's ``QueryFilters``. Bad values raise
    ``TraceValidationError``; an unknown name, ``TypeError``.
    """
    checked = check_filters(**filters)
    queryset: EventRecordQuerySet = EventRecord.objects.using(_db(using)).all()
    if "known_at" in checked:
        queryset = queryset.recorded_before(checked["known_at"])
    if "start" in checked:
        queryset = queryset.filter(effective_at__gte=checked["start"])
    if "end" in checked:
        queryset = queryset.filter(effective_at__lt=checked["end"])
    if "event_types" in checked:
        queryset = queryset.of_event_types(checked["event_types"])
    if "actor_types" in checked:
        queryset = queryset.of_actor_types(checked["actor_types"])
    if "actor_ids" in checked:
        queryset = queryset.by_actors(checked["actor_ids"])
    if "object_ids" in checked or "object_types" in checked:
        queryset = queryset.touching(checked.get("object_ids"), checked.get("object_types"))
    if "outcomes" in checked:
        queryset = queryset.with_outcomes(checked["outcomes"])
    if "tags" in checked:
        queryset = queryset.tagged(checked["tags"])
    if "risk_levels" in checked:
        queryset = queryset.with_risk_levels(checked["risk_levels"])
    if "requires_approval" in checked:
        queryset = queryset.needing_approval(checked["requires_approval"])
    if "correlation_id" in checked:
        queryset = queryset.in_correlation(checked["correlation_id"])
    return queryset


def event_page(
    queryset: QuerySet[EventRecord, Any],
    *,
    limit: int = 100,
    cursor: str | None = None,
    offset: int | None = None,
    newest_first: bool = True,
    values: bool = False,
) -> Page[Any]:
    """One page of ``queryset`` by keyset cursor (or a bounded offset).

    Pass ``queryset.for_display()`` for model rows, or ``values=True`` for the
    client's ``values()`` rows (``mapping.EVENT_VALUES``, read by
    ``traces.rows.fetch_values``). ``offset`` exists for the seed's sake; it
    is refused above ``MAX_OFFSET`` and cannot be combined with a cursor. Either
    way the page carries the cursor of the next one.
    """
    fetch = _fetch(values or bool(queryset.query.values_select))
    if offset is None or offset == 0:
        return keyset_page(
            queryset, cursor=cursor, limit=limit, newest_first=newest_first, fetch=fetch
        )
    if not is_count(offset) or not 0 <= offset <= MAX_OFFSET or cursor is not None:
        raise TraceValidationError(BAD_OFFSET.format(max_offset=MAX_OFFSET))
    check_page_limit(limit)
    order = ("-effective_at", "-id") if newest_first else ("effective_at", "id")
    rows = fetch(queryset.order_by(*order)[offset : offset + limit + 1])
    next_cursor = Cursor.of(rows[limit - 1]).encode() if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)


def display_values(queryset: EventRecordQuerySet) -> QuerySet[EventRecord, dict[str, Any]]:
    """``queryset`` as ``values()`` rows with the actor's columns (``mapping.EVENT_VALUES``)."""
    rows: QuerySet[EventRecord, dict[str, Any]] = queryset.values(*EVENT_VALUES)
    return rows


def _shape(queryset: EventRecordQuerySet, values: bool) -> QuerySet[EventRecord, Any]:
    """The QuerySet a display read starts from; ``_fetch(values)`` reads its rows."""
    return queryset if values else queryset.for_display()


def _event_values(queryset: QuerySet[EventRecord, Any]) -> list[dict[str, Any]]:
    names = queryset.query.values_select or EVENT_VALUES
    return fetch_values(queryset, names)


def _fetch(values: bool) -> Callable[[QuerySet[EventRecord, Any]], list[Any]]:
    """How a display read gets its rows: model rows, or ``EVENT_VALUES`` rows."""
    return _event_values if values else list


def tracked_object_values(
    event_ids: Iterable[uuid.UUID], *, using: str | None = None
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The tracked objects of these events as ``values()`` rows, per event, in order; one query."""
    ids = list(event_ids)
    by_event: dict[uuid.UUID, list[dict[str, Any]]] = {pk: [] for pk in ids}
    if ids:
        rows = fetch_values_in(
            TrackedObjectRecord,
            OBJECT_VALUES,
            field="event",
            keys=ids,
            order_by=("event", "position"),
            using=_db(using),
        )
        for row in rows:
            by_event[row["event_id"]].append(row)
    return by_event


def _known(queryset: EventRecordQuerySet, known_at: datetime | None) -> EventRecordQuerySet:
    """Only the events recorded by ``known_at`` (all when None); naive means UTC."""
    if known_at is None:
        return queryset
    return queryset.recorded_before(aware("known_at", known_at))


def event_get(
    event_id: str | uuid.UUID,
    *,
    using: str | None = None,
    values: bool = False,
    known_at: datetime | None = None,
) -> EventRecord | dict[str, Any] | None:
    """One event ready for display (a model row, or a values row), or ``None``.

    ``None`` too when it was recorded after ``known_at``. A malformed id raises
    ``TraceValidationError``.
    """
    pk = check_event_id("event id", event_id)
    queryset = _known(EventRecord.objects.using(_db(using)).filter(pk=pk), known_at)
    if values:
        return next(iter(fetch_values(queryset[:1], EVENT_VALUES)), None)
    return queryset.for_display().first()


def _root_of(pk: str | uuid.UUID, db: str) -> tuple[str, list[Any]]:
    """SQL of the root id of the event ``pk``, and its parameters."""
    connection = connections[db]
    quote = connection.ops.quote_name
    meta = EventRecord._meta
    root = quote(meta.get_field("root_id").column)
    sql = f"SELECT {root} FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s"
    return sql, [meta.pk.get_db_prep_value(pk, connection)]


def event_chain(
    event_id: str | uuid.UUID, *, using: str | None = None, values: bool = False
) -> list[tuple[int, Any]]:
    """The whole tree around an event: (depth, row) from its root, depth first, siblings by time.

    Rows are model rows ready for display, or ``values()`` rows with ``values=True``.

    One indexed query on ``root_id`` (plus the objects prefetch), at most
    ``MAX_CHAIN_EVENTS`` rows; an unknown id gives an empty list.
    """
    pk = check_event_id("event id", event_id)
    db = _db(using)
    root = EventRecord.objects.using(db).filter(pk=pk).values("root_id")[:1]
    order = ("depth", "effective_at", "id")
    rows: list[Any]
    if values:
        # One statement, not compiled by the ORM: the tree of the event's root.
        rows = fetch_values_in(
            EventRecord,
            EVENT_VALUES,
            field="root_id",
            keys=_root_of(pk, db),
            order_by=order,
            using=db,
            limit=MAX_CHAIN_EVENTS,
        )
    else:
        queryset = EventRecord.objects.using(db).filter(root_id=Subquery(root))
        rows = list(queryset.for_display().order_by(*order)[:MAX_CHAIN_EVENTS])

    def key(row: Any) -> tuple[Any, Any, int]:
        if values:
            return row["id"], row["parent_id"], row["depth"]
        return row.pk, row.parent_id, row.depth

    children: dict[Any, list[Any]] = {}
    for row in rows:
        children.setdefault(key(row)[1], []).append(row)
    ordered: list[tuple[int, Any]] = []
    stack = [row for row in reversed(rows) if key(row)[2] == 0]
    while stack:
        row = stack.pop()
        pk, _, depth = key(row)
        ordered.append((depth, row))
        stack.extend(reversed(children.get(pk, [])))
    return ordered


def object_history(
    *,
    external_id: str | None = None,
    object_type: ObjectType | str | None = None,
    object_id: str | None = None,
    limit: int = 500,
    cursor: str | None = None,
    using: str | None = None,
    values: bool = False,
    known_at: datetime | None = None,
) -> Page[Any]:
    """Every event that touched an object, oldest first, with the objects' states.

    ``object_id`` and ``external_id`` each match either id of a tracked object;
    ``known_at``: only the events recorded by then.
    """
    ids = [
        check_text(name, value, max_length=ID_LENGTH, required=True)
        for name, value in (("object_id", object_id), ("external_id", external_id))
        if value is not None
    ]
    if not ids:
        raise TraceValidationError(NO_OBJECT_KEY)
    types = None if object_type is None else [check_choice("object_type", object_type, ObjectType)]
    queryset = _known(EventRecord.objects.using(_db(using)).touching(ids, types), known_at)
    return event_page(
        _shape(queryset, values), limit=limit, cursor=cursor, newest_first=False, values=values
    )


def event_stats(
    queryset: EventRecordQuerySet | None = None,
    *,
    using: str | None = None,
    with_decisions: bool = True,
) -> dict[str, Any]:
    """Counts by actor type, outcome, risk level and event type (top 20), and the time span.

    Without ``queryset`` (every event): the counts come from ``EventTypeCount``
    (kept exact by the write services), the span from two probes of the time
    index; a few milliseconds at ten million events. With one, the events are
    grouped. ``with_decisions=False`` (a reader who may not view decisions):
    the counts leave the review trail's events out and ``pending_approvals`` is None.
    """
    if queryset is None:
        return _table_stats(_db(using), with_decisions=with_decisions)
    base = events_visible(queryset, with_decisions=with_decisions).order_by()
    summary = base.aggregate(total=Count("id"), first=Min("effective_at"), last=Max("effective_at"))

    def counts(field: str) -> dict[str, int]:
        return {
            value: n
            for value, n in base.values_list(field).annotate(n=Count("id")).order_by("-n", field)
            if value
        }

    top_types = (
        base.values_list("event_type").annotate(n=Count("id")).order_by("-n", "event_type")[:20]
    )
    return {
        "total_events": summary["total"],
        "first_event_at": summary["first"],
        "last_event_at": summary["last"],
        "by_actor_type": counts("actor_type"),
        "by_outcome": counts("outcome"),
        "by_risk_level": counts("risk_level"),
        "by_event_type": dict(top_types),
        "pending_approvals": base.with_approval_status(["pending"]).count()
        if with_decisions
        else None,
    }


def _counted(rows: Iterable[tuple[str, str, str, str, int]]) -> dict[str, Any]:
    """``event_stats``' counts from ``(event_type, actor_type, outcome, risk_level, n)`` rows."""
    totals: dict[str, Counter[str]] = {name: Counter() for name in _COUNTED}
    for *values, n in rows:
        for name, value in zip(_COUNTED, values, strict=True):
            totals[name][value] += n

    def ranked(name: str, limit: int | None = None) -> dict[str, int]:
        rows = sorted(
            ((value, n) for value, n in totals[name].items() if value),
            key=lambda row: (-row[1], row[0]),
        )
        return dict(rows[:limit])

    return {
        "total_events": sum(totals["outcome"].values()),
        "by_actor_type": ranked("actor_type"),
        "by_outcome": ranked("outcome"),
        "by_risk_level": ranked("risk_level"),
        "by_event_type": ranked("event_type", 20),
    }


_COUNTED = ("event_type", "actor_type", "outcome", "risk_level")


def _table_stats(db: str, *, with_decisions: bool) -> dict[str, Any]:
    """``event_stats`` of every event, from the counts by type and the time index."""
    counts = EventTypeCount.objects.using(db).filter(event_count__gt=0)
    if not with_decisions:
        counts = counts.exclude(event_type__startswith=AUDIT_EVENT_PREFIX)
    events = events_visible(EventRecord.objects.using(db).all(), with_decisions=with_decisions)
    span = events.values_list("effective_at", flat=True)
    return {
        **_counted(counts.values_list(*_COUNTED, "event_count")),
        "first_event_at": span.order_by("effective_at", "id").first(),
        "last_event_at": span.order_by("-effective_at", "-id").first(),
        "pending_approvals": events.with_approval_status(["pending"]).count()
        if with_decisions
        else None,
    }


ACTOR_STATS_LIMIT = 5_000
"""``actor_event_stats`` counts at most this many of the actor's latest events."""


def actor_event_stats(
    actor: ActorRecord, *, since: datetime | None = None, with_decisions: bool = True
) -> dict[str, Any]:
    """``event_stats`` of the actor's latest ``ACTOR_STATS_LIMIT`` events (since ``since``).

    One read through the ``(actor, effective_at, id)`` index, however many events
    the actor has (the whole history of an actor with two million events took
    about eight seconds); ``capped`` says there are older events not counted, and
    ``first_event_at`` is then the oldest event counted. ``with_decisions=False``:
    as ``event_stats``.
    """
    events = events_visible(
        EventRecord.objects.using(actor._state.db).filter(actor=actor),
        with_decisions=with_decisions,
    )
    if since is not None:
        events = events.filter(effective_at__gte=since)
    rows = list(
        events.order_by("-effective_at", "-id").values_list(
            *_COUNTED, "effective_at", "requires_approval", "approval_status"
        )[: ACTOR_STATS_LIMIT + 1]
    )
    capped = len(rows) > ACTOR_STATS_LIMIT
    rows = rows[:ACTOR_STATS_LIMIT]
    return {
        **_counted((*row[:4], 1) for row in rows),
        "first_event_at": rows[-1][4] if rows else None,
        "last_event_at": rows[0][4] if rows else None,
        "pending_approvals": sum(1 for row in rows if row[5] and row[6] == "pending")
        if with_decisions
        else None,
        "capped": capped,
        "since": since,
    }


def event_count(*, source_system: str | None = None, using: str | None = None) -> int:
    """How many events are stored (only those reported by ``source_system`` when given)."""
    events = EventRecord.objects.using(_db(using))
    if source_system is not None:
        events = events.filter(source_system=source_system)
    return events.count()


def events_exist(*, using: str | None = None) -> bool:
    """Whether the database holds any trace event at all."""
    return EventRecord.objects.using(_db(using)).exists()


def root_event_ids(*, source_system: str, using: str | None = None) -> list[uuid.UUID]:
    """The ids of the chains' root events that ``source_system`` reported, oldest first."""
    return list(
        EventRecord.objects.using(_db(using))
        .filter(source_system=source_system, depth=0)
        .order_by("effective_at", "id")
        .values_list("pk", flat=True)
    )


def event_decisions(
    *, event_ids: Iterable[str | uuid.UUID], using: str | None = None
) -> dict[str, Decision]:
    """The Decision about each of these events that has one, by event id (as text).

    One query for the content type (cached after the first) and one for the decisions.
    """
    db = _db(using)
    content_type = ContentType.objects.db_manager(db).get_for_model(EventRecord)
    ids = sorted({check_event_id("event id", event_id) for event_id in event_ids})
    return {
        decision.target_id: decision
        for decision in Decision.objects.using(db).filter(
            target_content_type=content_type, target_id__in=ids
        )
    }
