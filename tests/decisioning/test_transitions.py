"""The state machine table: every outcome x action, permissions and required reasons."""

from __future__ import annotations

import pytest

from decisioning.choices import DecisionAction, DecisionOutcome
from decisioning.exceptions import ACTION_UNKNOWN, InvalidActionError
from decisioning.permissions import (
    APPROVE_DECISION,
    DECIDE_ESCALATED_DECISION,
    ESCALATE_DECISION,
)
from decisioning.transitions import (
    allowed_actions,
    is_final,
    parse_action,
    past_tense,
    reason_required,
    required_permission,
    transition_target,
)

OUT, ACT = DecisionOutcome, DecisionAction

# The issue's state machine, written out: (from, action) -> to.
ALLOWED = {
    (OUT.PENDING, ACT.APPROVE): OUT.APPROVED,
    (OUT.PENDING, ACT.REJECT): OUT.REJECTED,
    (OUT.PENDING, ACT.DEFER): OUT.DEFERRED,
    (OUT.PENDING, ACT.ESCALATE): OUT.ESCALATED,
    (OUT.DEFERRED, ACT.REOPEN): OUT.PENDING,
    (OUT.DEFERRED, ACT.APPROVE): OUT.APPROVED,
    (OUT.DEFERRED, ACT.REJECT): OUT.REJECTED,
    (OUT.DEFERRED, ACT.ESCALATE): OUT.ESCALATED,
    (OUT.ESCALATED, ACT.APPROVE): OUT.APPROVED,
    (OUT.ESCALATED, ACT.REJECT): OUT.REJECTED,
}
MATRIX = [(outcome, action) for outcome in OUT for action in ACT]


@pytest.mark.parametrize(("from_outcome", "action"), MATRIX)
def test_transition_target_matches_the_issue(from_outcome, action):
    """Each of the 25 (outcome, action) pairs is allowed exactly as the issue says."""
    assert transition_target(from_outcome=from_outcome, action=action) == ALLOWED.get(
        (from_outcome, action)
    )


@pytest.mark.parametrize("outcome", list(OUT))
def test_allowed_actions_lists_the_allowed_pairs(outcome):
    """allowed_actions(outcome) is the same set as the table's allowed pairs."""
    assert set(allowed_actions(outcome)) == {a for (o, a) in ALLOWED if o == outcome}


@pytest.mark.parametrize("outcome", list(OUT))
def test_only_approved_and_rejected_are_final(outcome):
    """Final outcomes allow nothing; every other outcome allows something."""
    assert is_final(outcome) == (outcome in {OUT.APPROVED, OUT.REJECTED})
    assert bool(allowed_actions(outcome)) != is_final(outcome)


def test_unknown_outcome_allows_nothing():
    """An outcome outside the choices allows no action."""
    assert allowed_actions("archived") == ()


@pytest.mark.parametrize("action", list(ACT))
def test_reason_required_for_reject_and_escalate_only(action):
    """Reject and escalate need a reason; approve, defer and reopen do not."""
    assert reason_required(action) == (action in {ACT.REJECT, ACT.ESCALATE})


@pytest.mark.parametrize(
    ("from_outcome", "action", "permission"),
    [
        (OUT.PENDING, ACT.APPROVE, APPROVE_DECISION),
        (OUT.PENDING, ACT.REJECT, APPROVE_DECISION),
        (OUT.PENDING, ACT.DEFER, APPROVE_DECISION),
        (OUT.PENDING, ACT.ESCALATE, ESCALATE_DECISION),
        (OUT.DEFERRED, ACT.REOPEN, APPROVE_DECISION),
        (OUT.DEFERRED, ACT.APPROVE, APPROVE_DECISION),
        (OUT.DEFERRED, ACT.REJECT, APPROVE_DECISION),
        (OUT.DEFERRED, ACT.ESCALATE, ESCALATE_DECISION),
        (OUT.ESCALATED, ACT.APPROVE, DECIDE_ESCALATED_DECISION),
        (OUT.ESCALATED, ACT.REJECT, DECIDE_ESCALATED_DECISION),
    ],
)
def test_required_permission_per_allowed_transition(from_outcome, action, permission):
    """Escalated items need decide_escalated; escalating needs escalate; the rest approve."""
    assert required_permission(from_outcome=from_outcome, action=action) == permission


@pytest.mark.parametrize("action", [*list(ACT), "approve", "reopen"])
def test_parse_action_accepts_members_and_values(action):
    """A DecisionAction or its value parses to the member."""
    assert parse_action(action) == DecisionAction(action)


@pytest.mark.parametrize(
    "action",
    ["", "APPROVE", "approved", "delete", None, 1, ["approve"], "x" * 10_000, "<script>"],
)
def test_parse_action_refuses_anything_else(action):
    """Wrong, missing, huge and hostile actions raise InvalidActionError (a ValueError)."""
    with pytest.raises(InvalidActionError) as info:
        parse_action(action)
    assert str(info.value) == ACTION_UNKNOWN.format(action=action)
    assert isinstance(info.value, ValueError)


def test_past_tense_for_messages():
    """Each action has a past tense for messages."""
    assert [past_tense(a) for a in ACT] == [
        "approved",
        "rejected",
        "deferred",
        "escalated",
        "reopened",
    ]
