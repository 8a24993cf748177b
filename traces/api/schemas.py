"""Response schemas (pydantic, for the OpenAPI document and response checks).

Thin on purpose: requests are validated by ``decision_trace.validation`` and the
services (``traces.api.payloads``), so every path refuses the same input with
the same message; these only describe what the API answers.
"""

from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import Field

__all__ = [
    "ActorOut",
    "ApprovalOut",
    "ChainOut",
    "ClaimOut",
    "DecisionActionIn",
    "DecisionClaimIn",
    "DecisionOut",
    "DecisionPageOut",
    "ErrorOut",
    "EventOut",
    "EventPageOut",
    "EventWriteBatchOut",
    "EventWriteOut",
    "SearchOut",
]

Status = Literal["pending", "approved", "rejected", "deferred", "escalated"]


class ErrorBody(Schema):
    code: str
    message: str
    details: list[dict[str, Any]]


class ErrorOut(Schema):
    error: ErrorBody


class ApprovalOut(Schema):
    decision_id: str | None
    status: Status
    decided_by: str | None
    decided_at: str | None
    reason: str | None
    rule: str | None


class EventOut(Schema):
    id: str
    timestamp: str
    duration: float
    data: dict[str, Any]
    recorded_at: str | None
    approval: ApprovalOut | None


class EventPageOut(Schema):
    results: list[EventOut]
    next_cursor: str | None
    next: str | None


class ChainStep(Schema):
    depth: int
    event: EventOut


class ChainOut(Schema):
    results: list[ChainStep]


class SearchOut(Schema):
    results: list[EventOut]


class ActorOut(Schema):
    actor: dict[str, Any]
    summary: dict[str, Any]


class EventWriteOut(Schema):
    id: str
    duplicate: bool
    decision_id: str | None


class EventWriteBatchOut(Schema):
    events: list[EventWriteOut]


class TransitionOut(Schema):
    action: str
    from_: str = Field(alias="from")
    to: str
    by: str | None
    at: str | None
    reason: str


class ClaimOut(Schema):
    by: str
    since: str
    expires_at: str


class DecisionOut(Schema):
    id: str
    decision_type: str
    status: Status
    reason: str
    decided_by: str | None
    decided_at: str | None
    proposed_at: str | None
    target_event_id: str | None
    rule: str | None
    due_at: str | None
    claim: ClaimOut | None
    transitions: list[TransitionOut]


class DecisionPageOut(Schema):
    results: list[DecisionOut]
    next_cursor: str | None
    next: str | None


class DecisionClaimIn(Schema):
    """Documents the body of a claim; ``force`` takes over someone else's unexpired claim."""

    force: bool = False


class DecisionActionIn(Schema):
    """Documents the body; ``decision_transition`` validates it (same messages as the UI)."""

    action: str
    reason: str = ""
    expected_outcome: str | None = None
    override_claim: bool = False
