"""Claims on queue items: "being reviewed by X since ...", a lock that expires, in the audit trail.

A claim is advisory: others see it and can still act after confirming
(``claim_blocks``). Claiming records a ``decision.claimed`` trace event by the
reviewer, a child of the decided event, so claims appear in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from decision_trace.enums import ObjectType
from decision_trace.exceptions import TracesError
from decision_trace.values import Actor, TraceEvent, TrackedObject
from decisioning.conf import get_claim_duration
from decisioning.exceptions import DecisionPermissionError
from decisioning.models import Decision
from decisioning.transitions import is_final
from traces.audit import AUDIT_TAG, DECISION_OBJECT_MODEL, decision_event_id
from traces.services import trace_record

__all__ = [
    "CLAIMED_BY_OTHER",
    "CLAIM_FINAL",
    "ClaimInfo",
    "DecisionClaimedError",
    "claim_active",
    "claim_blocks",
    "claim_info",
    "decision_claim",
    "decision_release",
]

CLAIM_FINAL = "This decision is final; there is nothing left to claim."
CLAIM_NOT_REVIEWER = "Only reviewers can claim decisions."
CLAIMED_BY_OTHER = "Being reviewed by {by} since {since} (until {expires_at})."


@dataclass(frozen=True)
class ClaimInfo:
    """An unexpired claim: who holds it, since when, and when it lapses."""

    by: str
    since: datetime
    expires_at: datetime


class DecisionClaimedError(TracesError):
    """Someone else holds an unexpired claim on the decision (``claim`` says who and since when)."""

    def __init__(self, claim: ClaimInfo) -> None:
        super().__init__(
            CLAIMED_BY_OTHER.format(
                by=claim.by,
                since=claim.since.isoformat(),
                expires_at=claim.expires_at.isoformat(),
            )
        )
        self.claim = claim


def claim_active(decision: Decision, *, now: datetime | None = None) -> bool:
    """Whether someone holds an unexpired claim on ``decision``."""
    if decision.claimed_by_id is None or decision.claimed_at is None:
        return False
    return decision.claimed_at > (now or timezone.now()) - get_claim_duration()


def claim_info(decision: Decision, *, now: datetime | None = None) -> ClaimInfo | None:
    """The unexpired claim on ``decision`` (``claimed_by`` loaded), or None."""
    if not claim_active(decision, now=now) or decision.claimed_at is None:
        return None
    holder = decision.claimed_by
    return ClaimInfo(
        by=holder.get_username() if holder is not None else "someone",
        since=decision.claimed_at,
        expires_at=decision.claimed_at + get_claim_duration(),
    )


def claim_blocks(
    decision: Decision, user: AbstractBaseUser, *, now: datetime | None = None
) -> bool:
    """Whether ``user`` must confirm before acting: someone else's claim is active."""
    return claim_active(decision, now=now) and decision.claimed_by_id != user.pk


def _locked(decision: Decision) -> Decision:
    current = (
        Decision.objects.select_for_update(of=("self",))
        .select_related("claimed_by")
        .filter(pk=decision.pk)
        .first()
    )
    if current is None or is_final(current.outcome):
        raise DecisionPermissionError(CLAIM_FINAL)
    return current


def _audit(
    decision: Decision, user: AbstractBaseUser, *, now: datetime, verb: str, what: str
) -> None:
    """A ``decision.<verb>`` trace event by ``user`` under the decided event."""
    username = user.get_username()
    parent = decision_event_id(decision)
    trace_record(
        event=TraceEvent(
            timestamp=now,
            event_type=f"decision.{verb}",
            description=f"{decision.decision_type} {what} by {username}",
            actor=Actor.user(username, username, user_id=user.pk),
            objects=(
                TrackedObject(
                    id=str(decision.pk),
                    type=ObjectType.CUSTOM,
                    name=decision.decision_type[:100],
                    metadata={"model": DECISION_OBJECT_MODEL},
                ),
            ),
            data={"decision_id": str(decision.pk)},
            tags=(AUDIT_TAG,),
            parent_event_id=str(parent) if parent is not None else None,
        )
    )


@transaction.atomic
def decision_claim(
    *,
    decision: Decision,
    user: AbstractBaseUser,
    can_review: bool,
    force: bool = True,
    now: datetime | None = None,
) -> Decision:
    """Claim ``decision`` for ``user`` (or renew their claim) and record it in the audit trail.

    Args:
        force: take over someone else's unexpired claim (the UI's claim
            button does); when False that claim raises ``DecisionClaimedError``.

    Raises:
        DecisionPermissionError: ``user`` is not a reviewer, or the decision is final.
        DecisionClaimedError: another user holds an unexpired claim and ``force`` is False.
    """
    if not can_review:
        raise DecisionPermissionError(CLAIM_NOT_REVIEWER)
    now = now or timezone.now()
    current = _locked(decision)
    if not force and claim_blocks(current, user, now=now):
        info = claim_info(current, now=now)
        assert info is not None  # an active claim has a holder and a time
        raise DecisionClaimedError(info)
    Decision.objects.filter(pk=current.pk).update(claimed_by=user, claimed_at=now)
    current.claimed_by, current.claimed_at = user, now  # type: ignore[assignment]
    _audit(current, user, now=now, verb="claimed", what="claimed for review")
    return current


@transaction.atomic
def decision_release(
    *, decision: Decision, user: AbstractBaseUser, now: datetime | None = None
) -> Decision:
    """Release ``user``'s claim on ``decision`` (recorded in the audit trail); no claim: no change.

    Raises:
        DecisionPermissionError: the decision is final.
        DecisionClaimedError: another user holds an unexpired claim.
    """
    now = now or timezone.now()
    current = _locked(decision)
    if claim_blocks(current, user, now=now):
        info = claim_info(current, now=now)
        assert info is not None
        raise DecisionClaimedError(info)
    if current.claimed_by_id != user.pk:
        return current
    Decision.objects.filter(pk=current.pk).update(claimed_by=None, claimed_at=None)
    current.claimed_by, current.claimed_at = None, None
    _audit(current, user, now=now, verb="released", what="released")
    return current
