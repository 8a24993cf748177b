"""The one place that maps between the value objects and the storage rows.

Value objects to rows is used by ``traces.services`` (which adds what needs the
database: actor keys, chain position); rows to value objects by the client's
reads. Reading needs the actor joined and the tracked objects prefetched
(``EventRecordQuerySet.for_display()``), so a list costs a fixed number of queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from traces.enums import ActorType, EventOutcome, ObjectType, RiskLevel
from traces.models import ActorRecord, EventRecord, TrackedObjectRecord
from traces.search import document_body
from traces.values import Actor, DecisionTrace, TraceEvent, TrackedObject

__all__ = [
    "actor_from_record",
    "actor_to_record",
    "event_from_record",
    "event_to_record",
    "events_from_records",
    "object_from_record",
    "object_to_record",
    "search_body",
]


def actor_to_record(actor: Actor) -> ActorRecord:
    return ActorRecord(
        actor_type=actor.type.value,
        actor_id=actor.id,
        name=actor.name,
        email=actor.email or "",
        role=actor.role or "",
        model=actor.model or "",
        version=actor.version or "",
        service_name=actor.service_name or "",
        job_id=actor.job_id or "",
        metadata=actor.metadata,
    )


def actor_from_record(row: ActorRecord) -> Actor:
    return Actor(
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


def event_to_record(
    event: TraceEvent,
    *,
    actor: ActorRecord | None,
    root_id: uuid.UUID,
    depth: int,
    approval_status: str,
) -> EventRecord:
    """The unsaved row for ``event``; the caller supplies what needs the database."""
    decision = event.decision or DecisionTrace(id="-")
    return EventRecord(
        id=uuid.UUID(event.id),
        effective_at=event.timestamp,
        duration=event.duration,
        event_type=event.event_type,
        description=event.description,
        actor=actor,
        actor_type=actor.actor_type if actor is not None else "",
        has_decision=event.decision is not None,
        decision_trace_id=event.decision.id if event.decision else "",
        action=decision.action or "",
        reasoning=decision.reasoning,
        context=decision.context,
        constraints=decision.constraints,
        alternatives=decision.alternatives,
        rejection_reasons=decision.rejection_reasons,
        confidence=decision.confidence,
        risk_level=decision.risk_level.value if decision.risk_level else "",
        requires_approval=decision.requires_approval,
        approval_status=approval_status,
        approved_by=decision.approved_by or "",
        trigger=decision.trigger or "",
        trigger_event_id=uuid.UUID(decision.trigger_event_id)
        if decision.trigger_event_id
        else None,
        depends_on=list(decision.depends_on),
        outcome=event.outcome.value,
        outcome_details=event.outcome_details,
        error=event.error or "",
        data=event.data,
        tags=list(event.tags),
        parent_id=uuid.UUID(event.parent_event_id) if event.parent_event_id else None,
        root_id=root_id,
        depth=depth,
        correlation_id=event.correlation_id or "",
        source_system=event.source_system or "",
        source_ip=event.source_ip,
    )


def search_body(event: TraceEvent) -> str:
    decision = event.decision
    if decision is None:
        return document_body(event.description, "", None, None)
    return document_body(
        event.description, decision.reasoning, decision.alternatives, decision.rejection_reasons
    )


def object_to_record(
    obj: TrackedObject, *, event_id: uuid.UUID, position: int
) -> TrackedObjectRecord:
    return TrackedObjectRecord(
        event_id=event_id,
        position=position,
        object_type=obj.type.value,
        object_id=obj.id,
        external_id=obj.external_id or "",
        name=obj.name or "",
        metadata=obj.metadata,
        state_before=obj.state_before,
        state_after=obj.state_after,
    )


def object_from_record(row: TrackedObjectRecord) -> TrackedObject:
    return TrackedObject(
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
    return DecisionTrace(
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
    return TraceEvent(
        id=str(row.pk),
        timestamp=row.effective_at,
        duration=row.duration,
        event_type=row.event_type,
        description=row.description,
        actor=actor_from_record(row.actor) if row.actor_id is not None else None,
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
