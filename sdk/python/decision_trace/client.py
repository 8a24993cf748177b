"""``DecisionTraceClient``: the seed's client, over any ``Transport``.

``DecisionTraceClient(base_url=..., token=...)`` (or the variables
``DECISION_TRACE_URL`` and ``DECISION_TRACE_TOKEN``) records over HTTP;
inside the Django project, a client given no URL stores in-process through
the transport the project registered (``decision_trace.transport``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from contextlib import ContextDecorator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from decision_trace.approvals import DecisionResult, check_timeout
from decision_trace.builder import TraceBuilder
from decision_trace.delivery import BatchSender, DeliveryStats
from decision_trace.enums import ActorType, EventOutcome, ObjectType, RiskLevel
from decision_trace.exceptions import (
    NO_TRANSPORT,
    WRONG_ITEM,
    ConfigurationError,
    TracesError,
    TraceValidationError,
)
from decision_trace.propagation import TraceContext, extract_context, inject_context
from decision_trace.results import EventChain, EventList, RecordedId
from decision_trace.transport import (
    BackgroundTransport,
    ClaimTransport,
    QueryFilters,
    Transport,
    default_transport_factory,
)
from decision_trace.validation import MAX_TEXT_LENGTH
from decision_trace.values import Actor, TraceEvent

__all__ = [
    "ENV_TOKEN",
    "ENV_URL",
    "DecisionTraceClient",
    "EventChain",
    "EventList",
    "RecordedId",
    "TraceSpan",
]

ENV_URL = "DECISION_TRACE_URL"
ENV_TOKEN = "DECISION_TRACE_TOKEN"


@dataclass
class _SpanScope:
    event_id: str
    destination: str
    pending: list[TraceEvent] = field(default_factory=list)


_current_span: ContextVar[_SpanScope | None] = ContextVar("decision_trace_span", default=None)
_current_remote: ContextVar[TraceContext | None] = ContextVar("decision_trace_remote", default=None)


def _error_text(exc: BaseException) -> str:
    message = str(exc).replace("\x00", "")
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:MAX_TEXT_LENGTH]


class TraceSpan(ContextDecorator):
    """Times a block and records it as one event; usable as ``with`` and as a decorator.

    ``with`` gives the event's ``TraceBuilder`` (describe the event on it; do
    not call ``record()``). On leaving, the duration comes from a monotonic
    clock; an exception sets outcome FAILURE with its text and propagates.

    Inside an open span (in the same context: thread or task) a nested span
    and a plain ``trace(...).record()`` become its children, and
    ``child_of(span.event_id)`` names it. Those events are deferred: they are
    handed to the outermost span and stored with it, parent first, in one
    batch when it ends (one transaction in-process), so a nested run is
    stored whole or not at all; their ``record()`` returns the id at once.
    """

    def __init__(self, client: DecisionTraceClient, event_type: str, description: str) -> None:
        self._client = client
        self._event_type = event_type
        self._description = description
        # One frame per active entry, so the same span object can be re-entered.
        self._frames: list[tuple[TraceBuilder, Token[_SpanScope | None], _SpanScope, float]] = []
        client.trace(event_type, description)  # validates now, not at the first entry

    def __enter__(self) -> TraceBuilder:
        client = self._client
        builder = client.trace(self._event_type, self._description)
        # ActivityWatch style: the timestamp is when the span started.
        builder.at(datetime.now(UTC))
        outer = client._open_span()
        if outer is not None:
            builder.child_of(outer.event_id)
        else:
            client._continue_remote(builder)
        scope = _SpanScope(event_id=builder.event_id, destination=client.transport.destination)
        token = _current_span.set(scope)
        self._frames.append((builder, token, scope, time.monotonic()))
        return builder

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        builder, token, scope, started = self._frames.pop()
        try:
            builder.with_duration(time.monotonic() - started)
            if exc is not None:
                builder.failed(_error_text(exc))
            batch = [builder.build(), *scope.pending]
        finally:
            _current_span.reset(token)
        outer = self._client._open_span()
        if outer is not None:
            outer.pending.extend(batch)
        else:
            self._client._deliver(batch, wait=None)


class DecisionTraceClient:
    """Record and read trace events, over HTTP or in-process.

    Args:
        base_url: the server, e.g. ``"https://traces.example.com"``; default
            ``$DECISION_TRACE_URL``. Without either, the transport the host
            application registered (the Django project's in-process one).
        token: the API token, sent as ``Authorization: Bearer``; default
            ``$DECISION_TRACE_TOKEN``.
        transport: use this ``Transport`` instead (tests, custom stores).
        default_actor: the actor of events that name none.
        batch: ``True`` queues every ``record()`` for the background sender
            (buffered mode); ``False`` (the default) sends each one and
            returns once the server stored it.
        batch_size: events per request in buffered mode (at most 1,000).
        flush_interval: seconds the sender waits to fill a batch.
        max_queue_size: events the queue holds; when it is full ``record()``
            raises ``DeliveryQueueFullError`` (nothing is dropped silently).
        max_in_flight: batches sent at once in buffered mode (1 to 16). A
            batch holding a child of an event still on the wire waits for it.
        timeout: seconds for every HTTP call (connect, read, write, pool).
        verify: TLS certificate verification (on by default); a CA bundle path also works.
        max_retries: attempts after the first for connection errors, 5xx and 429.
        backoff, max_backoff: the first retry delay and its cap, in seconds
            (exponential, with full jitter; ``Retry-After`` is honoured).
        **options: passed to the registered in-process transport (``using=``).
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        transport: Transport | None = None,
        default_actor: Actor | None = None,
        batch: bool = False,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_queue_size: int = 10_000,
        max_in_flight: int = 2,
        timeout: float = 10.0,
        verify: bool | str = True,
        max_retries: int = 8,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        **options: Any,
    ) -> None:
        if transport is None:
            transport = _make_transport(
                base_url,
                token,
                options,
                timeout=timeout,
                verify=verify,
                max_retries=max_retries,
                backoff=backoff,
                max_backoff=max_backoff,
            )
        elif options:
            raise TypeError(f"Unknown keyword argument(s): {', '.join(sorted(options))}.")
        self.transport: Transport = transport
        self._batch = batch
        BatchSender.check_options(
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_queue_size=max_queue_size,
            max_in_flight=max_in_flight,
        )
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_queue_size = max_queue_size
        self._max_in_flight = max_in_flight
        self._checked_transport: Transport | None = None
        self._buffer_through: BackgroundTransport | None = None
        self._sender: BatchSender | None = None
        self._sender_lock = threading.Lock()
        self._default_actor: Actor | None = None
        if default_actor is not None:
            self.set_default_actor(default_actor)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.transport.destination}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

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
        return TraceBuilder(event_type, description, actor=self._default_actor, client=self)

    def span(self, event_type: str, description: str = "") -> TraceSpan:
        """Time a block as one event (``with client.span(...) as trace:``); see ``TraceSpan``."""
        return TraceSpan(self, event_type, description)

    def record_builder(self, builder: TraceBuilder, *, wait: bool | None = None) -> RecordedId:
        """Record what ``builder`` describes (``TraceBuilder.record()`` calls this)."""
        scope = self._open_span()
        if scope is not None:
            if builder.parent_event_id is None:
                builder.child_of(scope.event_id)
            scope.pending.append(builder.build())
            return RecordedId(builder.event_id)
        self._continue_remote(builder)
        return self._deliver([builder.build()], wait=wait)[0]

    def record_many(
        self, items: Iterable[TraceBuilder | TraceEvent], *, wait: bool | None = None
    ) -> list[RecordedId]:
        """Store many events in one batch, set-based; returns their ids in order.

        Items are builders (from ``trace()``) or ``TraceEvent`` objects; a
        child may name a parent in the same batch. In-process the batch is one
        transaction; over HTTP it goes in requests of at most 1,000 events,
        parents first as given.
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
        return self._deliver(events, wait=wait)

    # The approval gate --------------------------------------------------

    def submit_for_approval(self, builder: TraceBuilder) -> str:
        """Record ``builder`` as needing approval, at once; returns the pending decision's id.

        The non-blocking half of ``request_approval``: wait later with
        ``wait_for_decision(decision_id, timeout)``.

        Raises:
            TracesError: the store answered without a decision (it cannot hold events).
        """
        if not isinstance(builder, TraceBuilder):
            raise TraceValidationError(
                WRONG_ITEM.format(
                    field="builder", expected="a TraceBuilder", got=type(builder).__name__
                )
            )
        builder.requires_approval()
        recorded = self._deliver([builder.build()], wait=True)[0]
        if recorded.decision_id is None:
            raise TracesError(
                f"The store kept event {recorded} without a review decision; "
                "is it a Decision Trace server?"
            )
        return recorded.decision_id

    def wait_for_decision(self, decision_id: str, timeout: float = 300.0) -> DecisionResult:
        """Wait until the decision is approved or rejected, or ``timeout`` seconds passed.

        Returns its state either way (``approved``, ``rejected``, ``reason``,
        ``decided_by``); both flags are false when it is still open. Waits of
        more than 60 s are several long-polling requests.

        Raises:
            TraceValidationError: ``timeout`` is not a number >= 0 or the id is malformed.
            TracesError: no decision has that id.
        """
        seconds = check_timeout(timeout)
        deadline = time.monotonic() + seconds
        while True:
            left = max(0.0, deadline - time.monotonic())
            result = self.transport.get_decision(decision_id, wait=left)
            if result is None:
                raise TracesError(f"No review decision has the id {decision_id!r}.")
            if result.final or deadline - time.monotonic() <= 0:
                return result

    def request_approval(self, builder: TraceBuilder, timeout: float = 300.0) -> DecisionResult:
        """Record ``builder`` as needing a person's approval and wait for the answer.

        ``result.approved`` says whether to go ahead; after ``timeout``
        seconds the result is returned still open (neither approved nor
        rejected), with its ``decision_id`` for a later ``wait_for_decision``.
        """
        check_timeout(timeout)
        return self.wait_for_decision(self.submit_for_approval(builder), timeout)

    def _claims(self) -> ClaimTransport:
        if not isinstance(self.transport, ClaimTransport):
            raise ConfigurationError(
                "Claims are taken by a reviewer over the HTTP API; this client's store "
                f"({self.transport.destination}) has no reviewer. Use a server URL and a token."
            )
        return self.transport

    def claim_decision(self, decision_id: str, force: bool = False) -> DecisionResult:
        """Claim a review decision for the token's user, or renew that user's claim.

        A claim tells other reviewers "being reviewed by you" until it expires
        (15 minutes by default); the result's ``claim`` shows it.

        Raises:
            DecisionClaimedError: someone else holds an unexpired claim (``by``,
                ``since``); pass ``force=True`` to take it over.
            TraceValidationError: the id is malformed, ``force`` is not a bool, or
                the decision is final.
            ApiError: no decision has that id (404), or the token may not decide (403).
            ConfigurationError: the client is not talking to a server.
        """
        if not isinstance(force, bool):
            raise TraceValidationError(f"force must be True or False; got {force!r}.")
        return self._claims().claim_decision(decision_id, force=force)

    def release_decision(self, decision_id: str) -> DecisionResult:
        """Release the token's user's claim on a decision (no claim: nothing changes).

        Raises:
            DecisionClaimedError: someone else holds an unexpired claim.
            TraceValidationError: the id is malformed or the decision is final.
            ApiError: no decision has that id (404), or the token may not decide (403).
            ConfigurationError: the client is not talking to a server.
        """
        return self._claims().release_decision(decision_id)

    def _open_span(self) -> _SpanScope | None:
        scope = _current_span.get()
        if scope is None or scope.destination != self.transport.destination:
            return None
        return scope

    def _continue_remote(self, builder: TraceBuilder) -> None:
        remote = _current_remote.get()
        if remote is None:
            return
        if builder.parent_event_id is None and remote.parent_event_id is not None:
            builder.child_of(remote.parent_event_id)
        if builder.correlation_id is None and remote.correlation_id is not None:
            builder.with_correlation(remote.correlation_id)

    def _deliver(self, events: Sequence[TraceEvent], *, wait: bool | None) -> list[RecordedId]:
        if wait is False or (wait is None and self._batch):
            transport = self._background_transport()
            if transport is not None:
                self._background(transport).enqueue(list(events))
                return [RecordedId(event.id) for event in events]
        if not events:
            return []
        receipts = self.transport.send(events, idempotency_key=None)
        return [RecordedId.of(receipt) for receipt in receipts]

    def _background_transport(self) -> BackgroundTransport | None:
        """The transport if buffered mode can send through it (asked once per transport).

        ``isinstance`` against a protocol costs about 13 µs, too much for every ``record()``.
        """
        transport = self.transport
        if transport is not self._checked_transport:
            self._checked_transport = transport
            self._buffer_through = (
                transport
                if getattr(transport, "background_safe", False)
                and isinstance(transport, BackgroundTransport)
                else None
            )
        return self._buffer_through

    def _background(self, transport: BackgroundTransport) -> BatchSender:
        with self._sender_lock:  # two threads' first records start one sender
            if self._sender is None:
                self._sender = BatchSender(
                    transport,
                    batch_size=self._batch_size,
                    flush_interval=self._flush_interval,
                    max_queue_size=self._max_queue_size,
                    max_in_flight=self._max_in_flight,
                )
            return self._sender

    # Delivery ------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event was sent (or given up); ``True`` if none is left.

        Args:
            timeout: seconds to wait at most; ``None`` waits as long as it takes.
        """
        return True if self._sender is None else self._sender.flush(timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Flush, stop the background sender and close connections; ``True`` if nothing is left."""
        done = True
        if self._sender is not None:
            done = self._sender.close(timeout)
            if self._sender.alive:
                return done  # its last request still needs the connection
        self.transport.close()
        return done

    def delivery_stats(self) -> DeliveryStats:
        """Counters of buffered delivery: sent, retried, dropped, rejected, pending.

        Not ``stats()``, which is the store's totals (the seed's name).
        """
        return DeliveryStats() if self._sender is None else self._sender.stats()

    # Propagation ---------------------------------------------------------

    def inject(
        self,
        headers: MutableMapping[str, str],
        *,
        event_id: str | None = None,
        correlation_id: str | None = None,
    ) -> MutableMapping[str, str]:
        """Write ``traceparent`` (and ``tracestate``) for a call to another service.

        The parent is ``event_id``, else the innermost open span, else the
        context ``extract()`` opened; the correlation id likewise. Name an
        event that is stored before the other service records its children
        (a span is stored when it ends).
        """
        scope = self._open_span()
        remote = _current_remote.get()
        parent = event_id or (scope.event_id if scope is not None else None)
        if parent is None and remote is not None:
            parent = remote.parent_event_id
        correlation = correlation_id or (remote.correlation_id if remote is not None else None)
        inject_context(headers, TraceContext(correlation_id=correlation, parent_event_id=parent))
        return headers

    def extract(self, headers: Mapping[str, str]) -> TraceContext:
        """The context a caller sent; ``with client.extract(request.headers):`` continues it.

        Inside the block, events that name no parent become children of the
        caller's event and take its correlation id.
        """
        return extract_context(headers, _current_remote)

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
        filters = _filters(
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
        )
        return self.transport.query(filters, limit=limit, cursor=cursor, offset=offset)

    def search(self, text: str, limit: int = 50, **filters: Any) -> list[TraceEvent]:
        """Full-text search over description, reasoning, alternatives and rejection reasons.

        Best match first; when more than 10,000 events match (1,000 for a
        query with a "phrase"), ranked among that many most recent matches
        within the 200,000 events recorded last. Any text is safe; all its
        words must match. Keyword
        filters are those of ``query()`` (without paging), e.g.
        ``search("refund", actor_types=["ai_agent"])``.
        """
        return self.transport.search(text, limit=limit, filters=_filters(**filters))

    def get_event(self, event_id: str, known_at: datetime | None = None) -> TraceEvent | None:
        """The event with this id (its current version), or ``None``.

        ``known_at``: as known then: ``None`` if it was recorded later, and only
        the corrections recorded by then applied.
        """
        return self.transport.get_event(event_id, known_at=known_at)

    def get_chain(self, event_id: str) -> EventChain:
        """The whole tree the event belongs to: root first, each event before its children."""
        return self.transport.get_chain(event_id)

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
        return self.transport.object_history(
            external_id=external_id,
            object_type=object_type,
            object_id=object_id,
            limit=limit,
            cursor=cursor,
            known_at=known_at,
        )

    def get_actor_activity(self, actor_id: str, **filters: Any) -> EventList:
        """The events of one actor (any actor type), newest first; filters as in ``query()``."""
        return self.query(actor_ids=[actor_id], **filters)

    def stats(self) -> dict[str, Any]:
        """Totals: events, first/last time, by actor type, outcome, risk, event type."""
        return self.transport.stats()


def _filters(**given: Any) -> QueryFilters:
    known = QueryFilters.__annotations__
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise TypeError(
            f"Unknown filter(s) {', '.join(unknown)}; the filters are {', '.join(known)}."
        )
    filters: QueryFilters = {}
    for name, value in given.items():
        if value is None:
            continue
        if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
            value = list(value)
        # The transport checks each value (in-process: the same checks as the selectors).
        filters[name] = value  # type: ignore[literal-required]
    return filters


def _make_transport(
    base_url: str | None,
    token: str | None,
    options: Mapping[str, Any],
    **http_options: Any,
) -> Transport:
    url = base_url or os.environ.get(ENV_URL) or None
    if url is None:
        factory = default_transport_factory()
        if factory is None:
            raise ConfigurationError(NO_TRANSPORT)
        return factory(options)
    if options:
        raise TypeError(
            f"Unknown keyword argument(s) for an HTTP client: {', '.join(sorted(options))}."
        )
    from decision_trace.http import HttpTransport

    return HttpTransport(url, token or os.environ.get(ENV_TOKEN) or None, **http_options)
