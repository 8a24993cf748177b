"""The audit trail of the review workflow: every review action becomes a trace event.

``decision_audit_record`` is connected to ``decisioning.signals.decision_transitioned``
in ``TracesConfig.ready`` (``decisioning`` never imports ``traces``). That
signal is sent inside ``decision_transition``'s transaction, so the audit
event and the originating event's approval fields commit with the action or
roll back with it; a replayed resubmission sends no signal and records nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType

from decision_trace.enums import ObjectType
from decision_trace.validation import NAME_LENGTH
from decision_trace.values import Actor, DecisionTrace, TraceEvent, TrackedObject
from decisioning.models import Decision, DecisionAction, DecisionTransition
from decisioning.permissions import APPROVE_DECISION, DECIDE_ESCALATED_DECISION
from decisioning.transitions import past_tense
from traces.evidence.models import SealKind
from traces.evidence.sealing import seal_request
from traces.models import EventRecord, TrackedObjectRecord
from traces.querysets import AUDIT_EVENT_PREFIX
from traces.services import trace_record

__all__ = [
    "AUDIT_EVENT_PREFIX",
    "AUDIT_TAG",
    "DECISION_OBJECT_MODEL",
    "decision_audit_record",
    "decision_event_id",
    "on_decision_transitioned",
]

AUDIT_TAG = "review"
# metadata["model"] of the tracked object that stands for the decision.
DECISION_OBJECT_MODEL = "decisioning.decision"


def decision_event_id(decision: Decision) -> uuid.UUID | None:
    """The id of the ``EventRecord`` the decision is about, or None if its target is not one.

    No query (the content type comes from Django's cache); a target id that is
    not a UUID gives None.
    """
    event_type = ContentType.objects.get_for_model(EventRecord)
    if decision.target_content_type_id != event_type.pk:
        return None
    try:
        return uuid.UUID(str(decision.target_id))
    except ValueError:
        return None


def decision_audit_record(
    *, decision: Decision, transition: DecisionTransition, user: AbstractBaseUser
) -> str:
    """Record the review action ``transition`` as a trace event; returns its id.

    The event (type ``decision.approved``, ``decision.rejected``,
    ``decision.deferred``, ``decision.escalated`` or ``decision.reopened``)
    is by ``user`` (an ``Actor.user`` whose id is the username), has the
    reason as its reasoning and tracks the decision (``ObjectType.CUSTOM``,
    id = the decision's id) with the outcome before and after as its state;
    the originating event's objects are tracked too, so their histories show
    the review. When the decision is about a stored ``EventRecord``, the
    audit event is that event's child and, if the event required approval,
    its ``approval_status`` mirror follows the decision. The transition is
    sealed into the evidence log after commit.

    Call it inside the transition's transaction; ``decision_transitioned``
    does.

    Raises:
        TraceValidationError: the event could not be stored (nothing was).
    """
    action = DecisionAction(transition.action)
    username = transition.by_username
    parent = _originating_event(decision)
    objects = [
        TrackedObject(
            id=str(decision.pk),
            type=ObjectType.CUSTOM,
            name=decision.decision_type[:NAME_LENGTH],
            metadata={"model": DECISION_OBJECT_MODEL},
            state_before={"outcome": transition.from_outcome},
            state_after={"outcome": transition.to_outcome},
        )
    ]
    if parent is not None:
        _approval_follow(parent, transition=transition)
        objects.extend(
            TrackedObject(
                id=obj.object_id,
                type=ObjectType(obj.object_type),
                external_id=obj.external_id or None,
                name=obj.name or None,
            )
            for obj in TrackedObjectRecord.objects.filter(event_id=parent.pk).order_by("position")
        )
    event = TraceEvent(
        timestamp=transition.at,
        event_type=f"{AUDIT_EVENT_PREFIX}{past_tense(action)}",
        description=f"{decision.decision_type} {past_tense(action)} by {username}",
        actor=Actor.user(
            username,
            _display_name(user, username),
            email=getattr(user, "email", "") or None,
            role=_role(user),
            user_id=user.pk,
        ),
        decision=DecisionTrace(
            action=action.value,
            reasoning=transition.reason,
            context={
                "decision_id": str(decision.pk),
                "decision_type": decision.decision_type,
                "from_outcome": transition.from_outcome,
                "to_outcome": transition.to_outcome,
            },
        ),
        objects=tuple(objects),
        data={"decision_id": str(decision.pk), "transition_id": transition.pk},
        tags=(AUDIT_TAG,),
        parent_event_id=str(parent.pk) if parent is not None else None,
    )
    event_id = trace_record(event=event)
    seal_request(
        kind=SealKind.TRANSITION, keys=[transition.pk], using=transition._state.db or "default"
    )
    return event_id


def _originating_event(decision: Decision) -> EventRecord | None:
    event_id = decision_event_id(decision)
    if event_id is None:
        return None
    return EventRecord.objects.only("pk", "requires_approval").filter(pk=event_id).first()


def _approval_follow(event: EventRecord, *, transition: DecisionTransition) -> None:
    # approval_status is the one column of a recorded event an UPDATE may set (a
    # mirror of the Decision, for the timeline's approval filter); who decided is in
    # the transition and the audit event, never written back onto the event.
    if event.requires_approval:
        EventRecord.objects.filter(pk=event.pk).update(approval_status=transition.to_outcome)


def _display_name(user: AbstractBaseUser, username: str) -> str:
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return (full_name or username)[:NAME_LENGTH]


def _role(user: Any) -> str:
    # From the permission cache the service has already filled: no query.
    if getattr(user, "is_superuser", False):
        return "superuser"
    if user.has_perm(DECIDE_ESCALATED_DECISION):
        return "senior admin"
    if user.has_perm(APPROVE_DECISION):
        return "admin"
    return "reviewer"


def on_decision_transitioned(
    sender: type[Decision],
    *,
    decision: Decision,
    transition: DecisionTransition,
    user: AbstractBaseUser,
    **kwargs: Any,
) -> None:
    """``decision_transitioned`` receiver: ``decision_audit_record`` in the same transaction."""
    decision_audit_record(decision=decision, transition=transition, user=user)
