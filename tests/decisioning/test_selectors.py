"""decision_targets in bulk; decision_history and decision_allowed_actions for the review UI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType

from decisioning.models import Decision, DecisionOutcome
from decisioning.review import decision_transition
from decisioning.selectors import decision_allowed_actions, decision_history, decision_targets
from tests.decisioning.factories import DecisionFactory
from tests.testapp.models import Deletable, Identified, Order

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)


def test_decision_targets_one_query_per_model(django_assert_num_queries):
    """Targets of many decisions load with one query per target model."""
    orders = [Order.objects.create(number=str(i)) for i in range(5)]
    idents = [Identified.objects.create(name=str(i)) for i in range(3)]
    decisions = [Decision.objects.create(target=t, decision_type="t") for t in orders + idents]
    ContentType.objects.get_for_model(Order)
    ContentType.objects.get_for_model(Identified)
    with django_assert_num_queries(2):
        targets = decision_targets(decisions=decisions)
    assert [targets[d.pk] for d in decisions] == orders + idents


def test_decision_targets_bad_or_missing_targets_are_none():
    """Unparseable ids, deleted rows and vanished models give None; soft-deleted rows load."""
    order_type = ContentType.objects.get_for_model(Order)
    stale = ContentType.objects.create(app_label="gone", model="vanished")
    soft = Deletable.objects.create(name="soft")
    soft.delete()
    decisions = [
        Decision.objects.create(target_content_type=order_type, target_id="abc", decision_type="t"),
        Decision.objects.create(
            target_content_type=order_type, target_id="10" * 20, decision_type="t"
        ),
        Decision.objects.create(
            target_content_type=order_type, target_id="424242", decision_type="t"
        ),
        Decision.objects.create(target_content_type=stale, target_id="1", decision_type="t"),
        Decision.objects.create(target=soft, decision_type="t"),
    ]
    targets = decision_targets(decisions=decisions)
    assert [targets[d.pk] for d in decisions] == [None, None, None, None, soft]


def test_decision_targets_empty():
    """No decisions, no queries, no targets."""
    assert decision_targets(decisions=[]) == {}


# decision_history and decision_allowed_actions


def _history(decision, user, steps):
    for minute, action in enumerate(steps):
        decision = decision_transition(
            decision=decision,
            action=action,
            user=user,
            reason=f"step {minute}",
            now=NOW + timedelta(minutes=minute),
        ).decision
    return decision


def test_decision_history_oldest_first_with_users(senior):
    """Steps come oldest first, each with its user loaded."""
    decision = _history(DecisionFactory(), senior, ["defer", "reopen", "escalate", "approve"])
    DecisionFactory()  # another decision's history is not included
    rows = list(decision_history(decision=decision))
    assert [r.action for r in rows] == ["defer", "reopen", "escalate", "approve"]
    assert [r.at for r in rows] == [NOW + timedelta(minutes=m) for m in range(4)]
    assert all(r.by == senior for r in rows)


def test_decision_history_orders_by_time_then_id(senior):
    """Backdated steps sort by their time; equal times by insertion."""
    decision = DecisionFactory()
    decision = decision_transition(
        decision=decision, action="defer", user=senior, now=NOW + timedelta(hours=1)
    ).decision
    decision = decision_transition(
        decision=decision, action="reopen", user=senior, now=NOW
    ).decision
    decision_transition(decision=decision, action="approve", user=senior, now=NOW)
    assert [r.action for r in decision_history(decision=decision)] == [
        "reopen",
        "approve",
        "defer",
    ]


def test_decision_history_empty_for_unreviewed_decision():
    """A decision never reviewed has no history."""
    assert list(decision_history(decision=DecisionFactory())) == []


@pytest.mark.parametrize("steps", [1, 20])
def test_decision_history_is_one_query(senior, django_assert_num_queries, steps):
    """The history costs one query whether it has 1 step or 20."""
    decision = DecisionFactory()
    cycle = ["defer", "reopen"]
    decision = _history(decision, senior, [cycle[i % 2] for i in range(steps)])
    with django_assert_num_queries(1):
        rows = list(decision_history(decision=decision))
        usernames = [row.by.username for row in rows]
    assert len(rows) == steps
    assert set(usernames) == {"sam"}


EXPECTED_ACTIONS = {
    ("admin", "pending"): ("approve", "reject", "defer", "escalate"),
    ("admin", "deferred"): ("approve", "reject", "escalate", "reopen"),
    ("admin", "escalated"): (),
    ("senior", "pending"): ("approve", "reject", "defer", "escalate"),
    ("senior", "deferred"): ("approve", "reject", "escalate", "reopen"),
    ("senior", "escalated"): ("approve", "reject"),
}


@pytest.mark.parametrize("role", ["anonymous", "reviewer", "admin", "senior"])
@pytest.mark.parametrize("outcome", list(DecisionOutcome))
def test_decision_allowed_actions_per_role_and_outcome(make_user, role, outcome):
    """The buttons to show: the state machine's actions that the user's role may take."""
    decision = DecisionFactory.build(outcome=outcome)
    expected = EXPECTED_ACTIONS.get((role, outcome), ())
    assert decision_allowed_actions(decision=decision, user=make_user(role)) == expected


def test_decision_allowed_actions_none_for_inactive_deleted_or_missing_user(make_user):
    """An inactive user, no user, or a deleted decision gets no buttons."""
    senior = make_user("senior")
    deleted = DecisionFactory()
    deleted.delete()
    assert decision_allowed_actions(decision=deleted, user=senior) == ()
    assert decision_allowed_actions(decision=DecisionFactory.build(), user=None) == ()
    senior.is_active = False
    assert decision_allowed_actions(decision=DecisionFactory.build(), user=senior) == ()


def test_decision_allowed_actions_cached_permissions_cost_no_query(
    make_user, django_assert_num_queries
):
    """Once the user's permissions are cached, a page of rows costs no more queries."""
    senior = make_user("senior")
    decisions = [DecisionFactory.build(outcome=o) for o in DecisionOutcome]
    decision_allowed_actions(decision=DecisionFactory.build(), user=senior)
    with django_assert_num_queries(0):
        for decision in decisions:
            decision_allowed_actions(decision=decision, user=senior)
