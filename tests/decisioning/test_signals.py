"""decision_transitioned (inside the transaction) and decision_changed (after commit)."""

from __future__ import annotations

import pytest
from django.db import transaction

from decisioning.choices import DecisionAction, DecisionOutcome
from decisioning.exceptions import DecisionAlreadyDecidedError
from decisioning.models import Decision, DecisionTransition, IdempotencyKey
from decisioning.review import decision_transition
from decisioning.signals import decision_changed, decision_transitioned
from tests.decisioning.factories import DecisionFactory, OrderFactory
from tests.testapp.models import Order

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


@pytest.fixture
def received():
    """Connect test-only receivers to both signals; yields what each one saw."""
    calls: dict[str, list[dict]] = {"transitioned": [], "changed": []}

    def on_transitioned(sender, **kwargs):
        # Inside the transaction: the row and the history are already written.
        kwargs["seen_outcome"] = Decision.objects.get(pk=kwargs["decision"].pk).outcome
        kwargs["seen_history"] = DecisionTransition.objects.filter(
            pk=kwargs["transition"].pk
        ).exists()
        calls["transitioned"].append({"sender": sender, **kwargs})

    def on_changed(sender, **kwargs):
        calls["changed"].append({"sender": sender, **kwargs})

    decision_transitioned.connect(on_transitioned, dispatch_uid="test-transitioned")
    decision_changed.connect(on_changed, dispatch_uid="test-changed")
    yield calls
    decision_transitioned.disconnect(dispatch_uid="test-transitioned")
    decision_changed.disconnect(dispatch_uid="test-changed")


def test_transitioned_is_sent_inside_the_transaction(admin, received):
    """The in-transaction signal sees the written row and history, with sender, decision, user."""
    with transaction.atomic():
        result = decision_transition(decision=DecisionFactory(), action="approve", user=admin)
        assert len(received["transitioned"]) == 1
        assert received["changed"] == []
    call = received["transitioned"][0]
    assert call["sender"] is Decision
    assert call["decision"] == result.decision
    assert call["decision"].outcome == DecisionOutcome.APPROVED
    assert call["transition"] == result.transition
    assert call["user"] == admin
    assert call["seen_outcome"] == DecisionOutcome.APPROVED
    assert call["seen_history"]


def test_transitioned_receiver_can_write_in_the_same_transaction(admin):
    """A receiver's own writes commit with the transition (what traces will do)."""

    def write_audit(sender, decision, transition, user, **kwargs):
        OrderFactory(number=f"audit-{transition.action}")

    decision_transitioned.connect(write_audit, dispatch_uid="test-audit")
    try:
        decision_transition(decision=DecisionFactory(), action="defer", user=admin)
    finally:
        decision_transitioned.disconnect(dispatch_uid="test-audit")
    assert Order.objects.filter(number="audit-defer").exists()


def test_transitioned_receiver_error_rolls_everything_back(admin, received):
    """A receiver that raises undoes the outcome, the history, the token and its own writes."""

    def fail(sender, **kwargs):
        OrderFactory(number="half-written")
        raise Boom("audit store down")

    decision = DecisionFactory()
    decision_transitioned.connect(fail, dispatch_uid="test-fail")
    try:
        with pytest.raises(Boom):
            decision_transition(
                decision=decision, action="reject", user=admin, reason="x", request_token="f1"
            )
    finally:
        decision_transitioned.disconnect(dispatch_uid="test-fail")
    row = Decision.objects.get(pk=decision.pk)
    assert (row.outcome, row.decided_by, row.decided_at) == (DecisionOutcome.PENDING, None, None)
    assert not DecisionTransition.objects.exists()
    assert not IdempotencyKey.objects.exists()
    assert not Order.objects.filter(number="half-written").exists()
    assert received["changed"] == []
    retried = decision_transition(
        decision=decision, action="reject", user=admin, reason="x", request_token="f1"
    )
    assert not retried.replayed


def test_changed_fires_once_per_committed_change(
    admin, senior, received, django_capture_on_commit_callbacks
):
    """decision_changed runs on commit, once per change, with the new state."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = decision_transition(
            decision=DecisionFactory(), action="escalate", user=admin, reason="big"
        )
        second = decision_transition(decision=first.decision, action="approve", user=senior)
    # The audit trail (traces) adds its own callbacks: asking for the evidence sealer.
    own = [c for c in callbacks if getattr(c, "__module__", "") != "traces.evidence.sealing"]
    assert len(own) == 2
    assert [c["transition"] for c in received["changed"]] == [first.transition, second.transition]
    assert [c["decision"].outcome for c in received["changed"]] == [
        DecisionOutcome.ESCALATED,
        DecisionOutcome.APPROVED,
    ]
    assert all(c["sender"] is Decision for c in received["changed"])
    assert [c["user"] for c in received["changed"]] == [admin, senior]


def test_changed_not_sent_on_rollback(admin, received, django_capture_on_commit_callbacks):
    """An outer transaction that rolls back takes the notification with it."""
    decision = DecisionFactory()

    def approve_then_fail():
        with transaction.atomic():
            decision_transition(decision=decision, action="approve", user=admin)
            raise Boom

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom):
        approve_then_fail()
    assert callbacks == []
    assert received["changed"] == []
    assert len(received["transitioned"]) == 1, "sent inside, then rolled back with the rest"
    assert Decision.objects.get(pk=decision.pk).outcome == DecisionOutcome.PENDING


def test_no_signal_for_refused_or_replayed_actions(
    admin, received, django_capture_on_commit_callbacks
):
    """A refused action and a replayed resubmission send nothing."""
    decision = DecisionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        decision_transition(decision=decision, action="approve", user=admin, request_token="t")
        decision_transition(decision=decision, action="approve", user=admin, request_token="t")
        with pytest.raises(DecisionAlreadyDecidedError):
            decision_transition(
                decision=decision, action=DecisionAction.REJECT, user=admin, reason="r"
            )
    assert len(received["transitioned"]) == 1
    assert len(received["changed"]) == 1


def test_changed_receiver_error_is_logged_not_raised(
    admin, received, django_capture_on_commit_callbacks, caplog
):
    """A failing notification receiver does not undo the change or reach the caller."""

    def fail(sender, **kwargs):
        raise Boom("mail server down")

    decision_changed.connect(fail, dispatch_uid="test-changed-fail")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = decision_transition(decision=DecisionFactory(), action="approve", user=admin)
    finally:
        decision_changed.disconnect(dispatch_uid="test-changed-fail")
    assert Decision.objects.get(pk=result.decision.pk).outcome == DecisionOutcome.APPROVED
    assert len(received["changed"]) == 1
    assert "mail server down" in caplog.text
