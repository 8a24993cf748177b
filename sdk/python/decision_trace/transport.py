"""The one small protocol every transport implements, and the in-process registry.

A ``DecisionTraceClient`` does everything through a ``Transport``: the HTTP
transport (``decision_trace.http``) talks to a Decision Trace server; the
in-process transport lives in the Django project (``traces.client``) and
registers itself with ``register_default_transport`` when the app loads, so a
``DecisionTraceClient()`` made inside that project stores directly in its
database. The SDK never imports the project.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, runtime_checkable

from decision_trace.values import TraceEvent

if TYPE_CHECKING:
    from decision_trace.approvals import DecisionResult
    from decision_trace.results import EventChain, EventList

__all__ = [
    "BackgroundTransport",
    "ClaimTransport",
    "QueryFilters",
    "Receipt",
    "Transport",
    "default_transport_factory",
    "register_default_transport",
]


class QueryFilters(TypedDict, total=False):
    """The filters of ``DecisionTraceClient.query()`` (every one optional)."""

    start: datetime | None
    end: datetime | None
    event_types: Sequence[str] | None
    actor_types: Sequence[str] | None
    actor_ids: Sequence[str] | None
    object_types: Sequence[str] | None
    object_ids: Sequence[str] | None
    outcomes: Sequence[str] | None
    tags: Sequence[str] | None
    risk_levels: Sequence[str] | None
    requires_approval: bool | None
    correlation_id: str | None
    known_at: datetime | None


@dataclass(frozen=True)
class Receipt:
    """What the store answered for one event.

    ``decision_id`` names the pending review decision when the event was held
    for a person's approval (the server decides: the event's own
    ``requires_approval`` or a review rule), else ``None``. ``duplicate`` is
    true when an identical event with that id was already stored.
    """

    id: str
    duplicate: bool = False
    decision_id: str | None = None


class Transport(Protocol):
    """Where events go and where reads come from.

    ``background_safe`` says whether a background thread may send (buffered
    mode); the in-process transport says no and records at once.
    """

    background_safe: bool

    @property
    def destination(self) -> str:
        """Names the store (``inprocess:default``, ``https://dt.example.com``).

        Spans and clients that share a destination share a span's batch.
        """
        ...

    def send(self, events: Sequence[TraceEvent], *, idempotency_key: str | None) -> list[Receipt]:
        """Store the events (parents before or after children, in one batch), all or none."""
        ...

    def query(
        self, filters: QueryFilters, *, limit: int, cursor: str | None, offset: int | None
    ) -> EventList:
        """A page of matching events, newest first."""
        ...

    def search(self, text: str, *, limit: int, filters: QueryFilters) -> list[TraceEvent]:
        """Full-text matches, best first."""
        ...

    def get_event(self, event_id: str, *, known_at: datetime | None = None) -> TraceEvent | None:
        """The event (as known at ``known_at``), or ``None``."""
        ...

    def get_chain(self, event_id: str) -> EventChain: ...

    def object_history(
        self,
        *,
        external_id: str | None,
        object_type: str | None,
        object_id: str | None,
        limit: int,
        cursor: str | None,
        known_at: datetime | None = None,
    ) -> EventList:
        """Events that touched one object, oldest first (as known at ``known_at``)."""
        ...

    def stats(self) -> dict[str, Any]: ...

    def get_decision(self, decision_id: str, *, wait: float) -> DecisionResult | None:
        """The review decision, once approved or rejected or after ``wait`` seconds (at most 60).

        ``None`` when no decision has that id.
        """
        ...

    def close(self) -> None: ...


@runtime_checkable
class BackgroundTransport(Transport, Protocol):
    """A transport buffered delivery can send through from its threads (HTTP).

    ``prepare`` encodes events now and returns the function that sends them
    (given an Idempotency-Key, or ``None`` for a new one), so the next batch
    is encoded while the previous one is on the wire. ``retried`` counts the
    requests repeated so far.
    """

    @property
    def retried(self) -> int: ...

    def prepare(self, events: Sequence[TraceEvent]) -> Callable[[str | None], list[Receipt]]: ...


@runtime_checkable
class ClaimTransport(Protocol):
    """A transport that can claim decisions for its caller (the HTTP one: a token's user)."""

    def claim_decision(self, decision_id: str, *, force: bool) -> DecisionResult:
        """Claim or renew; ``force`` takes over someone else's unexpired claim."""
        ...

    def release_decision(self, decision_id: str) -> DecisionResult:
        """Release the caller's claim."""
        ...


_default_factory: Callable[[Mapping[str, Any]], Transport] | None = None


def register_default_transport(factory: Callable[[Mapping[str, Any]], Transport] | None) -> None:
    """Make ``factory(options)`` the transport of clients given no URL (``None`` removes it).

    The Django project registers its in-process transport this way; the
    options are the client's keyword arguments the SDK does not know
    (``using=``).
    """
    global _default_factory
    _default_factory = factory


def default_transport_factory() -> Callable[[Mapping[str, Any]], Transport] | None:
    return _default_factory
