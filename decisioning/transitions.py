"""The review state machine: which action may follow which outcome, and who may take it.

This is the one place that knows the rules; ``decision_transition`` (the
service), the admin actions and any view or API ask it.

=============  ====================================  ==========================
from           action -> to                          permission
=============  ====================================  ==========================
pending        approve -> approved                   approve_decision
               reject -> rejected (reason required)  approve_decision
               defer -> deferred                     approve_decision
               escalate -> escalated (reason req.)   escalate_decision
deferred       reopen -> pending                     approve_decision
               approve / reject / escalate           as from pending
escalated      approve -> approved                   decide_escalated_decision
               reject -> rejected (reason required)  decide_escalated_decision
approved       (final)
rejected       (final)
=============  ====================================  ==========================
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from decisioning.choices import DecisionAction, DecisionOutcome
from decisioning.exceptions import InvalidActionError
from decisioning.permissions import (
    APPROVE_DECISION,
    DECIDE_ESCALATED_DECISION,
    ESCALATE_DECISION,
)

__all__ = [
    "ACTION_TARGETS",
    "ALLOWED_ACTIONS",
    "FINAL_OUTCOMES",
    "REASON_REQUIRED",
    "allowed_actions",
    "is_final",
    "parse_action",
    "past_tense",
    "reason_required",
    "required_permission",
    "transition_target",
]

# Where each action takes a decision.
ACTION_TARGETS: Mapping[DecisionAction, DecisionOutcome] = MappingProxyType(
    {
        DecisionAction.APPROVE: DecisionOutcome.APPROVED,
        DecisionAction.REJECT: DecisionOutcome.REJECTED,
        DecisionAction.DEFER: DecisionOutcome.DEFERRED,
        DecisionAction.ESCALATE: DecisionOutcome.ESCALATED,
        DecisionAction.REOPEN: DecisionOutcome.PENDING,
    }
)

# The actions allowed from each outcome, in the order a UI shows them.
ALLOWED_ACTIONS: Mapping[DecisionOutcome, tuple[DecisionAction, ...]] = MappingProxyType(
    {
        DecisionOutcome.PENDING: (
            DecisionAction.APPROVE,
            DecisionAction.REJECT,
            DecisionAction.DEFER,
            DecisionAction.ESCALATE,
        ),
        DecisionOutcome.DEFERRED: (
            DecisionAction.APPROVE,
            DecisionAction.REJECT,
            DecisionAction.ESCALATE,
            DecisionAction.REOPEN,
        ),
        DecisionOutcome.ESCALATED: (DecisionAction.APPROVE, DecisionAction.REJECT),
        DecisionOutcome.APPROVED: (),
        DecisionOutcome.REJECTED: (),
    }
)

FINAL_OUTCOMES = frozenset({DecisionOutcome.APPROVED, DecisionOutcome.REJECTED})
REASON_REQUIRED = frozenset({DecisionAction.REJECT, DecisionAction.ESCALATE})

_PAST_TENSE = {
    DecisionAction.APPROVE: "approved",
    DecisionAction.REJECT: "rejected",
    DecisionAction.DEFER: "deferred",
    DecisionAction.ESCALATE: "escalated",
    DecisionAction.REOPEN: "reopened",
}


def parse_action(action: object) -> DecisionAction:
    """``action`` as a ``DecisionAction``, or ``InvalidActionError``."""
    if isinstance(action, str):
        try:
            return DecisionAction(action)
        except ValueError:
            pass
    raise InvalidActionError(action)


def allowed_actions(outcome: str) -> tuple[DecisionAction, ...]:
    """The actions the state machine allows from ``outcome`` (none for final ones)."""
    if outcome not in DecisionOutcome.values:
        return ()
    return ALLOWED_ACTIONS.get(DecisionOutcome(outcome), ())


def transition_target(*, from_outcome: str, action: DecisionAction) -> DecisionOutcome | None:
    """Where ``action`` takes a decision that is ``from_outcome``; None if not allowed."""
    if action in allowed_actions(from_outcome):
        return ACTION_TARGETS[action]
    return None


def is_final(outcome: str) -> bool:
    """Approved and rejected decisions never change again."""
    return outcome in FINAL_OUTCOMES


def reason_required(action: DecisionAction) -> bool:
    """Reject and escalate need a non-blank reason."""
    return action in REASON_REQUIRED


def required_permission(*, from_outcome: str, action: DecisionAction) -> str:
    """The permission (``app_label.codename``) ``action`` needs from ``from_outcome``."""
    if from_outcome == DecisionOutcome.ESCALATED:
        return DECIDE_ESCALATED_DECISION
    if action == DecisionAction.ESCALATE:
        return ESCALATE_DECISION
    return APPROVE_DECISION


def past_tense(action: DecisionAction) -> str:
    """The action for messages: approved, rejected, deferred, escalated, reopened."""
    return _PAST_TENSE[action]
