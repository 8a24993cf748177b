"""The one place that maps between the value objects and the storage rows.

Value objects to rows is used by ``traces.services`` (which adds what needs the
database: actor keys, chain position); rows to value objects by the client's
reads. Reading needs the actor joined and the tracked objects prefetched
(``EventRecordQuerySet.for_display()``), so a list costs a fixed number of queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from decision_trace.enums import ActorType, EventOutcome, ObjectType, RiskLevel
from decision_trace.values import Actor, DecisionTrace, TraceEvent, TrackedObject, assemble
from traces.models import ActorRecord, EventRecord, TrackedObjectRecord
from traces.search import document_body

__all__ = [
    "EVENT_VALUES",
    "OBJECT_VALUES",
    "actor_from_record",
    "actor_row",
    "event_from_record",
    "event_from_values",
    "event_row",
    "events_from_records",
    "object_from_record",
    "object_row",
    "search_body",
]


def actor_row(actor: Actor) -> dict[str, Any]:
    """The ``ActorRecord`` column values for ``actor`` (without the seen-at times)."""
    return {
        "actor_type": actor.type.value,
        "actor_id": actor.id,
        "name": actor.name,
        "email": actor.email or "",
        "role": actor.role or "",
        "model": actor.model or "",
        "version": actor.version or "",
        "service_name": actor.service_name or "",
        "job_id": actor.job_id or "",
        "metadata": actor.metadata,
    }


def actor_from_record(row: ActorRecord) -> Actor:
    return assemble(
        Actor,
        id=row.actor_id,
        type=ActorType(row.actor_type),
        name=row.name,
        metadata=row.metadata or {},
        model=row.model or None,
        version=row.version or None,
        email=row.email or None,
        role=row.role or None,
        service_name=row.service_name or None,
        job_id=row.job_id or None,
    )


# The decision columns of an event recorded without a reason: the model's defaults,
# spelled out so that every row has every column (no per-row default lookup).
_WITHOUT_DECISION: Mapping[str, Any] = MappingProxyType(
    {
        "has_decision": False,
        "decision_trace_id": "",
        "action": "",
        "reasoning": "",
        "context": {},
        "constraints": [],
        "alternatives": [],
        "rejection_reasons": {},
        "confidence": None,
        "risk_level": "",
        "requires_approval": False,
        "approved_by": "",
        "trigger": "",
        "trigger_event_id": None,
        "depends_on": [],
    }
)


def event_row(
    event: TraceEvent,
    *,
    event_id: uuid.UUID | None = None,
    actor_pk: int | None,
    root_id: uuid.UUID,
    depth: int,
    approval_status: str,
    recorded_at: datetime,
) -> dict[str, Any]:
    """The ``EventRecord`` column values for ``event`` (keyed by attname), for ``insert_rows``.

    The caller supplies what needs the database: the actor's key, the chain position;
    ``event_id`` is ``event.id`` as a UUID when the caller has parsed it already.
    """
    decision = event.decision
    why = (
        _WITHOUT_DECISION
        if decision is None
        else {
            "has_decision": True,
            "decision_trace_id": decision.id,
            "action": decision.action or "",
            "reasoning": decision.reasoning,
            "context": decision.context,
            "constraints": decision.constraints,
            "alternatives": decision.alternatives,
            "rejection_reasons": decision.rejection_reasons,
            "confidence": decision.confidence,
            "risk_level": decision.risk_level.value if decision.risk_level else "",
            "requires_approval": decision.requires_approval,
            "approved_by": decision.approved_by or "",
            "trigger": decision.trigger or "",
            "trigger_event_id": (
                uuid.UUID(decision.trigger_event_id) if decision.trigger_event_id else None
            ),
            "depends_on": list(decision.depends_on),
        }
    )
    return {
        "id": event_id or uuid.UUID(event.id),
        "effective_at": event.timestamp,
        "recorded_at": recorded_at,
        "duration": event.duration,
        "event_type": event.event_type,
        "description": event.description,
        "actor_id": actor_pk,
        "actor_type": event.actor.type.value if event.actor is not None else "",
        "outcome": event.outcome.value,
        "outcome_details": event.outcome_details,
        "error": event.error or "",
        "data": event.data,
        "tags": list(event.tags),
        "parent_id": uuid.UUID(event.parent_event_id) if event.parent_event_id else None,
        "root_id": root_id,
        "depth": depth,
        "correlation_id": event.correlation_id or "",
        "source_system": event.source_system or "",
        "source_ip": event.source_ip,
        "approval_status": approval_status,
        **why,
    }


def search_body(event: TraceEvent) -> str:
    decision = event.decision
    if decision is None:
        return document_body(event.description, "", None, None)
    return document_body(
        event.description, decision.reasoning, decision.alternatives, decision.rejection_reasons
    )


def object_row(obj: TrackedObject, *, event_id: uuid.UUID, position: int) -> dict[str, Any]:
    """The ``TrackedObjectRecord`` column values for ``obj``, for ``insert_rows``."""
    return {
        "event_id": event_id,
        "position": position,
        "object_type": obj.type.value,
        "object_id": obj.id,
        "external_id": obj.external_id or "",
        "name": obj.name or "",
        "metadata": obj.metadata,
        "state_before": obj.state_before,
        "state_after": obj.state_after,
    }


def object_from_record(row: TrackedObjectRecord) -> TrackedObject:
    return assemble(
        TrackedObject,
        id=row.object_id,
        type=ObjectType(row.object_type),
        external_id=row.external_id or None,
        name=row.name or None,
        metadata=row.metadata or {},
        state_before=row.state_before,
        state_after=row.state_after,
    )


def _decision_from_record(row: EventRecord) -> DecisionTrace | None:
    if not row.has_decision:
        return None
    return assemble(
        DecisionTrace,
        id=row.decision_trace_id or uuid.uuid4().hex,
        action=row.action or None,
        reasoning=row.reasoning,
        context=row.context or {},
        constraints=row.constraints or [],
        alternatives=row.alternatives or [],
        rejection_reasons=row.rejection_reasons or {},
        confidence=row.confidence,
        risk_level=RiskLevel(row.risk_level) if row.risk_level else None,
        requires_approval=row.requires_approval,
        approved_by=row.approved_by or None,
        trigger=row.trigger or None,
        trigger_event_id=str(row.trigger_event_id) if row.trigger_event_id else None,
        depends_on=tuple(row.depends_on or ()),
    )


def event_from_record(row: EventRecord) -> TraceEvent:
    """The value object of a row read with ``for_display()`` (actor joined, objects prefetched)."""
    return assemble(
        TraceEvent,
        id=str(row.pk),
        timestamp=row.effective_at,
        duration=row.duration,
        event_type=row.event_type,
        description=row.description,
        actor=actor_from_record(row.actor) if row.actor is not None else None,
        decision=_decision_from_record(row),
        objects=tuple(object_from_record(obj) for obj in row.tracked_objects.all()),
        outcome=EventOutcome(row.outcome),
        outcome_details=row.outcome_details or {},
        error=row.error or None,
        data=row.data or {},
        tags=tuple(row.tags or ()),
        parent_event_id=str(row.parent_id) if row.parent_id else None,
        correlation_id=row.correlation_id or None,
        source_system=row.source_system or None,
        source_ip=row.source_ip,
    )


def events_from_records(rows: Iterable[EventRecord]) -> list[TraceEvent]:
    return [event_from_record(row) for row in rows]


# The columns the client reads: ``values()`` rows skip model instances, which
# cost more than the query itself on a page of events.
EVENT_VALUES = (
    "id",
    "effective_at",
    "duration",
    "event_type",
    "description",
    "actor_id",
    "actor__actor_type",
    "actor__actor_id",
    "actor__name",
    "actor__email",
    "actor__role",
    "actor__model",
    "actor__version",
    "actor__service_name",
    "actor__job_id",
    "actor__metadata",
    "has_decision",
    "decision_trace_id",
    "action",
    "reasoning",
    "context",
    "constraints",
    "alternatives",
    "rejection_reasons",
    "confidence",
    "risk_level",
    "requires_approval",
    "approved_by",
    "trigger",
    "trigger_event_id",
    "depends_on",
    "outcome",
    "outcome_details",
    "error",
    "data",
    "tags",
    "parent_id",
    "depth",
    "correlation_id",
    "source_system",
    "source_ip",
)
OBJECT_VALUES = (
    "event_id",
    "object_type",
    "object_id",
    "external_id",
    "name",
    "metadata",
    "state_before",
    "state_after",
)


def _object_from_values(row: dict[str, Any]) -> TrackedObject:
    return assemble(
        TrackedObject,
        id=row["object_id"],
        type=ObjectType(row["object_type"]),
        external_id=row["external_id"] or None,
        name=row["name"] or None,
        metadata=row["metadata"] or {},
        state_before=row["state_before"],
        state_after=row["state_after"],
    )


def event_from_values(row: dict[str, Any], objects: Iterable[dict[str, Any]]) -> TraceEvent:
    """The value object of an ``EVENT_VALUES`` row and its ``OBJECT_VALUES`` rows (in order)."""
    actor = None
    if row["actor_id"] is not None:
        actor = assemble(
            Actor,
            id=row["actor__actor_id"],
            type=ActorType(row["actor__actor_type"]),
            name=row["actor__name"],
            metadata=row["actor__metadata"] or {},
            model=row["actor__model"] or None,
            version=row["actor__version"] or None,
            email=row["actor__email"] or None,
            role=row["actor__role"] or None,
            service_name=row["actor__service_name"] or None,
            job_id=row["actor__job_id"] or None,
        )
    decision = None
    if row["has_decision"]:
        decision = assemble(
            DecisionTrace,
            id=row["decision_trace_id"] or uuid.uuid4().hex,
            action=row["action"] or None,
            reasoning=row["reasoning"],
            context=row["context"] or {},
            constraints=row["constraints"] or [],
            alternatives=row["alternatives"] or [],
            rejection_reasons=row["rejection_reasons"] or {},
            confidence=row["confidence"],
            risk_level=RiskLevel(row["risk_level"]) if row["risk_level"] else None,
            requires_approval=row["requires_approval"],
            approved_by=row["approved_by"] or None,
            trigger=row["trigger"] or None,
            trigger_event_id=str(row["trigger_event_id"]) if row["trigger_event_id"] else None,
            depends_on=tuple(row["depends_on"] or ()),
        )
    return assemble(
        TraceEvent,
        id=str(row["id"]),
        timestamp=row["effective_at"],
        duration=row["duration"],
        event_type=row["event_type"],
        description=row["description"],
        actor=actor,
        decision=decision,
        objects=tuple(_object_from_values(obj) for obj in objects),
        outcome=EventOutcome(row["outcome"]),
        outcome_details=row["outcome_details"] or {},
        error=row["error"] or None,
        data=row["data"] or {},
        tags=tuple(row["tags"] or ()),
        parent_event_id=str(row["parent_id"]) if row["parent_id"] else None,
        correlation_id=row["correlation_id"] or None,
        source_system=row["source_system"] or None,
        source_ip=row["source_ip"],
    )
