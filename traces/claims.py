"""Claims on queue items: "being reviewed by X since ...", a lock that expires, in the audit trail.

A claim is advisory: others see it and can still act after confirming
(``claim_blocks``). Claiming records a ``decision.claimed`` trace event by the
reviewer, a child of the decided event, so claims appear in the audit trail.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from decision_trace.enums import ObjectType
from decision_trace.values import Actor, TraceEvent, TrackedObject
from decisioning.conf import get_claim_duration
from decisioning.exceptions import DecisionPermissionError
from decisioning.models import Decision
from decisioning.transitions import is_final
from traces.audit import AUDIT_TAG, DECISION_OBJECT_MODEL, decision_event_id
from traces.services import trace_record

__all__ = ["CLAIM_FINAL", "claim_active", "claim_blocks", "decision_claim"]

CLAIM_FINAL = "This decision is final; there is nothing left to claim."
CLAIM_NOT_REVIEWER = "Only reviewers can claim decisions."


def claim_active(decision: Decision, *, now: datetime | None = None) -> bool:
    """Whether someone holds an unexpired claim on ``decision``."""
    if decision.claimed_by_id is None or decision.claimed_at is None:
        return False
    return decision.claimed_at > (now or timezone.now()) - get_claim_duration()


def claim_blocks(
    decision: Decision, user: AbstractBaseUser, *, now: datetime | None = None
) -> bool:
    """Whether ``user`` must confirm before acting: someone else's claim is active."""
    return claim_active(decision, now=now) and decision.claimed_by_id != user.pk


@transaction.atomic
def decision_claim(
    *, decision: Decision, user: AbstractBaseUser, can_review: bool, now: datetime | None = None
) -> Decision:
    """Claim ``decision`` for ``user`` (taking over any claim) and record it in the audit trail.

    Raises:
        DecisionPermissionError: ``user`` is not a reviewer, or the decision is final.
    """
    if not can_review:
        raise DecisionPermissionError(CLAIM_NOT_REVIEWER)
    now = now or timezone.now()
    current = Decision.objects.select_for_update().filter(pk=decision.pk).first()
    if current is None or is_final(current.outcome):
        raise DecisionPermissionError(CLAIM_FINAL)
    Decision.objects.filter(pk=current.pk).update(claimed_by=user, claimed_at=now)
    current.claimed_by, current.claimed_at = user, now  # type: ignore[assignment]
    username = user.get_username()
    parent = decision_event_id(current)
    trace_record(
        event=TraceEvent(
            timestamp=now,
            event_type="decision.claimed",
            description=f"{current.decision_type} claimed for review by {username}",
            actor=Actor.user(username, username, user_id=user.pk),
            objects=(
                TrackedObject(
                    id=str(current.pk),
                    type=ObjectType.CUSTOM,
                    name=current.decision_type[:100],
                    metadata={"model": DECISION_OBJECT_MODEL},
                ),
            ),
            data={"decision_id": str(current.pk)},
            tags=(AUDIT_TAG,),
            parent_event_id=str(parent) if parent is not None else None,
        )
    )
    return current
