"""``DecisionTraceClient``: the seed's client, storing through the project's ORM."""

from __future__ import annotations

import time
from collections.abc import Iterable
from contextlib import ContextDecorator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from django.db import router

from traces.builder import TraceBuilder
from traces.enums import ActorType, EventOutcome, ObjectType, RiskLevel
from traces.evidence.corrections import corrections_apply_values
from traces.exceptions import WRONG_ITEM, TraceValidationError
from traces.mapping import event_from_values
from traces.models import EventRecord
from traces.search import search_ranked_ids
from traces.selectors import (
    display_values,
    event_chain,
    event_filter,
    event_get,
    event_page,
    event_stats,
    object_history,
    tracked_object_values,
)
from traces.services import trace_record_many
from traces.validation import MAX_TEXT_LENGTH, aware
from traces.values import Actor, TraceEvent

__all__ = ["DecisionTraceClient", "EventChain", "EventList", "TraceSpan"]


class EventList(list[TraceEvent]):
    """A page of events (a plain list) that also knows the cursor of the next page.

    Pass ``next_cursor`` back as ``cursor=`` for the next page; it is ``None``
    on the last one.
    """

    def __init__(self, events: Iterable[TraceEvent] = (), next_cursor: str | None = None) -> None:
        super().__init__(events)
        self.next_cursor = next_cursor


class EventChain(list[TraceEvent]):
    """A chain (a plain list): the root first, then each event followed by its children.

    ``depths[i]`` is the depth of ``self[i]`` (0 for the root); ``walk()``
    yields ``(depth, event)`` pairs.
    """

    def __init__(self, pairs: Iterable[tuple[int, TraceEvent]] = ()) -> None:
        pairs = list(pairs)
        super().__init__(event for _, event in pairs)
        self.depths = [depth for depth, _ in pairs]

    def walk(self) -> Iterable[tuple[int, TraceEvent]]:
        return zip(self.depths, self, strict=True)


@dataclass
class _SpanScope:
    event_id: str
    pending: list[TraceEvent] = field(default_factory=list)


_current_span: ContextVar[_SpanScope | None] = ContextVar("traces_current_span", default=None)


def _error_text(exc: BaseException) -> str:
    message = str(exc).replace("\x00", "")
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:MAX_TEXT_LENGTH]


class TraceSpan(ContextDecorator):
    """Times a block and records it as one event; usable as ``with`` and as a decorator.

    ``with`` gives the event's ``TraceBuilder`` (describe the event on it; do
    not call ``record()``). On leaving, the duration comes from a monotonic
    clock; an exception sets outcome FAILURE with its text and propagates.

    A span opened inside another span (in the same context: thread or task)
    becomes its child. Children are handed to the outermost span and stored
    with it, parent first, in one transaction when it ends, so a nested run
    is stored whole or not at all.
    """

    def __init__(self, client: DecisionTraceClient, event_type: str, description: str) -> None:
        self._client = client
        self._event_type = event_type
        self._description = description
        # One frame per active entry, so the same span object can be re-entered.
        self._frames: list[tuple[TraceBuilder, Token, _SpanScope, _SpanScope | None, float]] = []
        client.trace(event_type, description)  # validates now, not at the first entry

    def __enter__(self) -> TraceBuilder:
        builder = self._client.trace(self._event_type, self._description)
        # ActivityWatch style: the timestamp is when the span started.
        builder.at(datetime.now(UTC))
        outer = _current_span.get()
        if outer is not None:
            builder.child_of(outer.event_id)
        scope = _SpanScope(event_id=builder.event_id)
        token = _current_span.set(scope)
        self._frames.append((builder, token, scope, outer, time.monotonic()))
        return builder

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        builder, token, scope, outer, started = self._frames.pop()
        try:
            builder.with_duration(time.monotonic() - started)
            if exc is not None:
                builder.failed(_error_text(exc))
            batch = [builder.build(), *scope.pending]
            if outer is not None:
                outer.pending.extend(batch)
            else:
                trace_record_many(events=batch, using=self._client.using)
        finally:
            _current_span.reset(token)
        return False


class DecisionTraceClient:
    """Record and read trace events in the project's database.

    Args:
        using: a database alias from ``DATABASES``; the default database when omitted.
        default_actor: the actor of events that name none (``set_default_actor``).

    Reads return value objects (``TraceEvent`` with actor, decision and
    objects), built with a fixed number of SQL queries whatever their number.
    """

    def __init__(self, using: str | None = None, default_actor: Actor | None = None) -> None:
        self.using = using
        self._default_actor: Actor | None = None
        if default_actor is not None:
            self.set_default_actor(default_actor)

    # Recording -----------------------------------------------------------

    def set_default_actor(self, actor: Actor | None) -> None:
        """The actor of every later ``trace()``/``span()`` until a builder names another."""
        if actor is not None and not isinstance(actor, Actor):
            raise TraceValidationError(
                WRONG_ITEM.format(
                    field="set_default_actor()",
                    expected="an Actor or None",
                    got=type(actor).__name__,
                )
            )
        self._default_actor = actor

    def trace(self, event_type: str, description: str = "") -> TraceBuilder:
        """Start describing an event; finish with ``.record()``."""
        return TraceBuilder(event_type, description, actor=self._default_actor, using=self.using)

    def span(self, event_type: str, description: str = "") -> TraceSpan:
        """Time a block as one event (``with client.span(...) as trace:``); see ``TraceSpan``."""
        return TraceSpan(self, event_type, description)

    def record_many(self, items: Iterable[TraceBuilder | TraceEvent]) -> list[str]:
        """Store many events in one transaction, set-based; returns their ids in order.

        Items are builders (from ``trace()``) or ``TraceEvent`` objects; a
        child may name a parent in the same batch.
        """
        if isinstance(items, TraceBuilder | TraceEvent | str | bytes) or not isinstance(
            items, Iterable
        ):
            raise TraceValidationError(
                WRONG_ITEM.format(
                    field="record_many()",
                    expected="a list of TraceBuilder or TraceEvent",
                    got=type(items).__name__,
                )
            )
        events = []
        for item in items:
            if isinstance(item, TraceBuilder):
                events.append(item.build())
            elif isinstance(item, TraceEvent):
                events.append(item)
            else:
                raise TraceValidationError(
                    WRONG_ITEM.format(
                        field="record_many()",
                        expected="TraceBuilder or TraceEvent items",
                        got=type(item).__name__,
                    )
                )
        return trace_record_many(events=events, using=self.using)

    # Reading -------------------------------------------------------------

    def query(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        event_types: Iterable[str] | None = None,
        actor_types: Iterable[ActorType | str] | None = None,
        actor_ids: Iterable[str] | None = None,
        object_types: Iterable[ObjectType | str] | None = None,
        object_ids: Iterable[str] | None = None,
        outcomes: Iterable[EventOutcome | str] | None = None,
        tags: Iterable[str] | None = None,
        risk_levels: Iterable[RiskLevel | str] | None = None,
        requires_approval: bool | None = None,
        correlation_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        offset: int | None = None,
        known_at: datetime | None = None,
    ) -> EventList:
        """Events matching every filter given, newest first, one page at a time.

        ``start``/``end``: business time, half-open ``[start, end)``, naive = UTC.
        ``known_at``: what had been recorded by then (system time): later
        events absent, later corrections not applied; with ``start``/``end``
        that is "valid in [start, end) as known at T".
        ``event_types``: exact types or prefixes like ``"order.*"``.
        ``object_ids``: an object's id or its external id (a SKU).
        ``tags``: events with any of these tags. ``limit``: 1 to 500.
        ``cursor``: the previous result's ``next_cursor``. ``offset``: up to
        10,000, for the seed's sake; prefer the cursor.

        Returns:
            An ``EventList`` (a list of ``TraceEvent``) with ``next_cursor``.
        """
        queryset = event_filter(
            start=start,
            end=end,
            event_types=event_types,
            actor_types=actor_types,
            actor_ids=actor_ids,
            object_types=object_types,
            object_ids=object_ids,
            outcomes=outcomes,
            tags=tags,
            risk_levels=risk_levels,
            requires_approval=requires_approval,
            correlation_id=correlation_id,
            known_at=known_at,
            using=self.using,
        )
        page = event_page(display_values(queryset), limit=limit, cursor=cursor, offset=offset)
        return EventList(self._events(page.items, known_at=known_at), page.next_cursor)

    def search(self, text: str, limit: int = 50, **filters: Any) -> list[TraceEvent]:
        """Full-text search over description, reasoning, alternatives and rejection reasons.

        Best match first. Any text is safe; all its words must match. Keyword
        filters are those of ``query()`` (without paging), e.g.
        ``search("refund", actor_types=["ai_agent"])``.
        """
        queryset = event_filter(**filters, using=self.using) if filters else None
        ids = search_ranked_ids(text, queryset, limit=limit, using=self.using)
        if not ids:
            return []
        matches = EventRecord.objects.using(self._db()).filter(pk__in=ids)
        rows = {row["id"]: row for row in display_values(matches)}
        return self._events(
            [rows[pk] for pk in ids if pk in rows], known_at=filters.get("known_at")
        )

    def get_event(self, event_id: str, known_at: datetime | None = None) -> TraceEvent | None:
        """The event with this id (its current version), or ``None``.

        ``known_at``: as known then: ``None`` if it was recorded later, and only
        the corrections recorded by then applied.
        """
        row = event_get(event_id, using=self.using, values=True, known_at=known_at)
        return self._events([row], known_at=known_at)[0] if row is not None else None

    def get_chain(self, event_id: str) -> EventChain:
        """The whole tree the event belongs to: root first, each event before its children."""
        pairs = event_chain(event_id, using=self.using, values=True)
        events = self._events([row for _, row in pairs])
        return EventChain(zip([depth for depth, _ in pairs], events, strict=True))

    def get_object_history(
        self,
        external_id: str | None = None,
        object_type: ObjectType | str | None = None,
        object_id: str | None = None,
        limit: int = 500,
        cursor: str | None = None,
        known_at: datetime | None = None,
    ) -> EventList:
        """Every event that touched the object, oldest first; each event's ``objects``
        carry the state before and after. ``known_at``: as known then."""
        page = object_history(
            external_id=external_id,
            object_type=object_type,
            object_id=object_id,
            limit=limit,
            cursor=cursor,
            using=self.using,
            values=True,
            known_at=known_at,
        )
        return EventList(self._events(page.items, known_at=known_at), page.next_cursor)

    def get_actor_activity(self, actor_id: str, **filters: Any) -> EventList:
        """The events of one actor (any actor type), newest first; filters as in ``query()``."""
        return self.query(actor_ids=[actor_id], **filters)

    def stats(self) -> dict[str, Any]:
        """Totals: events, first/last time, by actor type, outcome, risk, event type."""
        return event_stats(using=self.using)

    def _db(self) -> str:
        return self.using or router.db_for_read(EventRecord)

    def _events(self, rows: list[dict[str, Any]], *, known_at: object = None) -> list[TraceEvent]:
        """Value objects for ``values()`` rows, each as its current version (as known at
        ``known_at``): two more queries, for all their objects and corrections."""
        known = None if known_at is None else aware("known_at", known_at)
        corrections_apply_values(rows, known_at=known, using=self._db())
        objects = tracked_object_values([row["id"] for row in rows], using=self.using)
        return [event_from_values(row, objects[row["id"]]) for row in rows]
