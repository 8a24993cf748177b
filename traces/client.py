"""The in-process transport, and ``DecisionTraceClient`` storing through the project's ORM.

The client itself (fluent builder, spans, reads) is the SDK's
(``decision_trace.DecisionTraceClient``); here it gets the transport that
writes through ``traces.services`` and reads through ``traces.selectors`` in
this process, directly and transactionally. ``TracesConfig.ready()``
registers that transport as the SDK's default, so inside the project a
``decision_trace.DecisionTraceClient()`` given no URL stores in-process too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import router

import decision_trace
from decision_trace.approvals import DecisionResult
from decision_trace.exceptions import TraceValidationError
from decision_trace.results import EventChain, EventList
from decision_trace.transport import QueryFilters, Receipt
from decision_trace.validation import aware, check_event_id
from decision_trace.values import Actor, TraceEvent
from decisioning.models import Decision
from traces.approvals import decision_wait
from traces.eventreads import (
    CORRECTED,
    OBJECTS,
    check_filters,
    event_rows_by_ids,
    event_rows_chain,
    event_rows_get,
    event_rows_history,
    event_rows_page,
)
from traces.evidence.corrections import corrections_apply_values
from traces.mapping import event_from_values
from traces.models import EventRecord
from traces.search import search_match_limit, search_ranked_ids
from traces.selectors import event_filter, event_stats
from traces.services import trace_record_receipts

__all__ = [
    "DecisionTraceClient",
    "EventChain",
    "EventList",
    "InProcessTransport",
    "TraceSpan",
    "in_process_transport",
]

TraceSpan = decision_trace.TraceSpan


class InProcessTransport:
    """Stores and reads in this process's database (``using``: a ``DATABASES`` alias).

    ``send`` is one transaction (``trace_record_many``); there is no
    background sending (``background_safe`` is false), so ``record(wait=False)``
    stores at once. Reads cost a fixed number of queries per page.
    """

    background_safe = False

    def __init__(self, using: str | None = None) -> None:
        self.using = using

    def __repr__(self) -> str:
        return f"<InProcessTransport {self.destination}>"

    @property
    def destination(self) -> str:
        return f"inprocess:{self.using or 'default'}"

    def close(self) -> None:
        """Nothing to release: Django owns the connections."""

    def send(self, events: Sequence[TraceEvent], *, idempotency_key: str | None) -> list[Receipt]:
        # The event's own requires_approval or a review rule: either may have held it.
        receipts = trace_record_receipts(events=events, using=self.using)
        return [Receipt(id=pk, decision_id=decision) for pk, decision in receipts]

    def get_decision(self, decision_id: str, *, wait: float) -> DecisionResult | None:
        pk = check_event_id("decision id", decision_id)
        if decision_wait(pk, seconds=wait, using=self.using) is None:
            return None
        decision = (
            Decision.objects.using(self._db()).select_related("decided_by").filter(pk=pk).first()
        )
        if decision is None:
            return None
        return DecisionResult(
            decision_id=str(decision.pk),
            status=decision.outcome,
            reason=decision.reason,
            decided_by=decision.decided_by.get_username() if decision.decided_by else None,
            decided_at=decision.decided_at.isoformat() if decision.decided_at else None,
            rule=decision.rule or None,
            event_id=decision.target_id,
        )

    def query(
        self, filters: QueryFilters, *, limit: int, cursor: str | None, offset: int | None
    ) -> EventList:
        checked = check_filters(**filters)
        page = event_rows_page(checked, limit=limit, cursor=cursor, offset=offset, using=self.using)
        return EventList(
            self._events(page.items, known_at=checked.get("known_at")), page.next_cursor
        )

    def search(self, text: str, *, limit: int, filters: QueryFilters) -> list[TraceEvent]:
        queryset = event_filter(**filters, using=self.using) if filters else None
        # Ranked among the most recently recorded matches, as the web UI's best match.
        ids = search_ranked_ids(
            text, queryset, limit=limit, using=self.using, match_limit=search_match_limit(text)
        )
        if not ids:
            return []
        known_at = filters.get("known_at")
        rows = {row["id"]: row for row in event_rows_by_ids(ids, using=self.using)}
        return self._events([rows[pk] for pk in ids if pk in rows], known_at=known_at)

    def get_event(self, event_id: str, *, known_at: datetime | None = None) -> TraceEvent | None:
        row = event_rows_get(event_id, known_at=known_at, using=self.using)
        if row is None:
            return None
        return self._events([row], known_at=known_at)[0]

    def get_chain(self, event_id: str) -> EventChain:
        pairs = event_rows_chain(event_id, using=self.using)
        events = self._events([row for _, row in pairs])
        return EventChain(zip([depth for depth, _ in pairs], events, strict=True))

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
        page = event_rows_history(
            external_id=external_id,
            object_type=object_type,
            object_id=object_id,
            limit=limit,
            cursor=cursor,
            known_at=known_at,
            using=self.using,
        )
        return EventList(self._events(page.items, known_at=known_at), page.next_cursor)

    def stats(self) -> dict[str, Any]:
        return event_stats(using=self.using)

    def _db(self) -> str:
        return self.using or router.db_for_read(EventRecord)

    def _events(self, rows: list[dict[str, Any]], *, known_at: object = None) -> list[TraceEvent]:
        """Value objects for ``eventreads`` rows (objects included), each as its current
        version (as known at ``known_at``): one more query when a row has corrections."""
        corrected = [row for row in rows if row[CORRECTED]]
        if corrected:
            known = None if known_at is None else aware("known_at", known_at)
            corrections_apply_values(corrected, known_at=known, using=self._db())
        return [event_from_values(row, row[OBJECTS]) for row in rows]


def in_process_transport(options: Mapping[str, Any]) -> InProcessTransport:
    """The SDK's default transport inside the project (``options``: ``using=`` only)."""
    unknown = sorted(set(options) - {"using"})
    if unknown:
        raise TraceValidationError(
            f"An in-process client takes using= only; got {', '.join(unknown)}."
        )
    return InProcessTransport(options.get("using"))


class DecisionTraceClient(decision_trace.DecisionTraceClient):
    """Record and read trace events in the project's database, in this process.

    Args:
        using: a database alias from ``DATABASES``; the default database when omitted.
        default_actor: the actor of events that name none (``set_default_actor``).

    Everything else is ``decision_trace.DecisionTraceClient``. Reads return
    value objects (``TraceEvent`` with actor, decision and objects), built
    with a fixed number of SQL queries whatever their number.
    """

    def __init__(
        self, using: str | None = None, default_actor: Actor | None = None, **options: Any
    ) -> None:
        self.using = using
        # options: what a subclass's own base passes on (EcommerceClient's base_url=None).
        options["transport"] = InProcessTransport(using)
        super().__init__(default_actor=default_actor, **options)
