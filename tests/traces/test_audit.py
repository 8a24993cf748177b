"""The review audit trail: every review action is a trace event, in the action's transaction."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from decisioning.exceptions import InvalidTransitionError
from decisioning.models import Decision, DecisionOutcome
from decisioning.review import decision_transition
from decisioning.signals import decision_transitioned
from tests.decisioning.factories import DecisionFactory
from tests.traces.factories import EventRecordFactory, proposal_record
from traces.audit import DECISION_OBJECT_MODEL, decision_event_id
from traces.client import DecisionTraceClient
from traces.models import EventRecord

pytestmark = pytest.mark.django_db

AUDIT_TYPES = ("decision.approved", "decision.rejected", "decision.deferred", "decision.escalated")


def _audit_events():
    return EventRecord.objects.filter(event_type__startswith="decision.").select_related("actor")


def test_audit_event_by_the_reviewer_as_child_with_reason_and_states(make_user):
    """Approving records decision.approved by the user, under the event, with reason and states."""
    alice = make_user("admin", username="alice", first_name="Alice", last_name="Archer")
    event, decision = proposal_record()
    at = timezone.now() - timedelta(minutes=3)
    result = decision_transition(
        decision=decision, action="approve", user=alice, reason="Photos are clear", now=at
    )

    audit = _audit_events().get()
    assert audit.event_type == "decision.approved"
    assert audit.description == "refund_approval approved by alice"
    assert audit.parent_id == event.pk
    assert audit.root_id == event.root_id
    assert audit.depth == event.depth + 1
    assert audit.effective_at == at
    assert audit.actor.actor_type == "user"
    assert audit.actor.actor_id == "alice"
    assert audit.actor.name == "Alice Archer"
    assert audit.actor.role == "admin"
    assert audit.actor.metadata == {"user_id": alice.pk}
    assert audit.reasoning == "Photos are clear"
    assert audit.action == "approve"
    assert audit.context["from_outcome"] == "pending"
    assert audit.context["to_outcome"] == "approved"
    assert audit.data == {"decision_id": str(decision.pk), "transition_id": result.transition.pk}
    assert audit.tags == ["review"]
    assert audit.requires_approval is False

    decision_object, order = audit.tracked_objects.order_by("position")
    assert decision_object.object_type == "custom"
    assert decision_object.object_id == str(decision.pk)
    assert decision_object.name == "refund_approval"
    assert decision_object.metadata == {"model": DECISION_OBJECT_MODEL}
    assert decision_object.state_before == {"outcome": "pending"}
    assert decision_object.state_after == {"outcome": "approved"}
    assert (order.object_type, order.object_id) == ("order", "ord-11890")
    assert order.state_before is None
    assert order.state_after is None

    event.refresh_from_db()
    assert event.approval_status == "approved"
    assert event.approved_by == ""  # as recorded; the reviewer is in the audit event


@pytest.mark.parametrize(
    ("steps", "event_types", "status"),
    [
        (["reject"], ["decision.rejected"], "rejected"),
        (["defer"], ["decision.deferred"], "deferred"),
        (["escalate"], ["decision.escalated"], "escalated"),
        (["defer", "reopen"], ["decision.deferred", "decision.reopened"], "pending"),
        (["defer", "approve"], ["decision.deferred", "decision.approved"], "approved"),
        (["escalate", "reject"], ["decision.escalated", "decision.rejected"], "rejected"),
    ],
)
def test_audit_one_event_per_action(make_user, steps, event_types, status):
    """Each action is one event of its type, in order; the event's approval mirror follows."""
    users = {
        "alice": make_user("admin", username="alice"),
        "sam": make_user("senior", username="sam"),
    }
    event, decision = proposal_record()
    start = timezone.now() - timedelta(hours=1)
    for index, action in enumerate(steps):
        user = users["sam"] if decision.outcome == "escalated" else users["alice"]
        decision = decision_transition(
            decision=decision,
            action=action,
            user=user,
            reason=f"step {index}",
            now=start + timedelta(minutes=index),
        ).decision
    audits = list(_audit_events().order_by("effective_at"))
    assert [a.event_type for a in audits] == event_types
    assert [a.reasoning for a in audits] == [f"step {i}" for i in range(len(steps))]
    assert all(a.parent_id == event.pk for a in audits)
    states = [
        (obj.state_before["outcome"], obj.state_after["outcome"])
        for obj in (a.tracked_objects.get(object_type="custom") for a in audits)
    ]
    assert states == [(t.from_outcome, t.to_outcome) for t in decision.transitions.all()]
    event.refresh_from_db()
    # approved_by is what the event was recorded with: a review never rewrites it.
    assert (event.approval_status, event.approved_by) == (status, "")


def test_audit_for_a_decision_about_another_model_has_no_parent(admin):
    """A decision about an Order (not a trace event) is audited as a root event."""
    decision = DecisionFactory()
    decision_transition(decision=decision, action="reject", user=admin, reason="Duplicate")
    audit = _audit_events().get()
    assert audit.parent_id is None
    assert audit.depth == 0
    assert [obj.object_type for obj in audit.tracked_objects.all()] == ["custom"]


def test_audit_for_an_event_that_needed_no_approval_leaves_its_fields(admin):
    """A decision made directly about an ordinary event: audited as its child, fields untouched."""
    event = EventRecordFactory(requires_approval=False)
    decision = Decision.objects.create(
        target=event, decision_type="price_review", outcome=DecisionOutcome.PENDING
    )
    decision_transition(decision=decision, action="approve", user=admin)
    assert _audit_events().get().parent_id == event.pk
    event.refresh_from_db()
    assert (event.approval_status, event.approved_by) == ("", "")


@pytest.mark.parametrize("target_id", ["not-a-uuid", str(uuid.uuid4())])
def test_audit_for_a_missing_event_is_a_root(admin, target_id):
    """An event target that is malformed or gone gives an audit event without a parent."""
    decision = Decision.objects.create(
        target_content_type=ContentType.objects.get_for_model(EventRecord),
        target_id=target_id,
        decision_type="refund_approval",
    )
    decision_transition(decision=decision, action="defer", user=admin)
    assert _audit_events().get().parent_id is None


def test_decision_event_id_reads_only_event_targets():
    """Only a decision about an EventRecord with a UUID target id has an event id."""
    event_type = ContentType.objects.get_for_model(EventRecord)
    event_id = uuid.uuid4()
    assert decision_event_id(Decision(target_content_type=event_type, target_id=str(event_id))) == (
        event_id
    )
    assert decision_event_id(Decision(target_content_type=event_type, target_id="x")) is None
    assert decision_event_id(DecisionFactory.build(target__pk=5)) is None


def test_audit_replay_records_nothing(admin):
    """A resubmitted form (same token) changes nothing and records no second event."""
    _, decision = proposal_record()
    first = decision_transition(decision=decision, action="approve", user=admin, request_token="t1")
    again = decision_transition(decision=decision, action="approve", user=admin, request_token="t1")
    assert again.replayed
    assert again.transition.pk == first.transition.pk
    assert _audit_events().count() == 1


def test_audit_rolls_back_with_the_transition(admin):
    """A failing later receiver rolls back the audit event, the approval fields and the change."""
    event, decision = proposal_record()

    def fail(**kwargs):
        raise RuntimeError("notification store is down")

    decision_transitioned.connect(fail, sender=Decision, dispatch_uid="test-fail")
    try:
        with pytest.raises(RuntimeError):
            decision_transition(decision=decision, action="approve", user=admin)
    finally:
        decision_transitioned.disconnect(dispatch_uid="test-fail", sender=Decision)
    assert not _audit_events().exists()
    event.refresh_from_db()
    assert (event.approval_status, event.approved_by) == ("pending", "")
    decision.refresh_from_db()
    assert decision.outcome == "pending"
    assert not decision.transitions.exists()


def test_audit_nothing_for_a_refused_transition(admin):
    """A transition the state machine refuses records nothing."""
    _, decision = proposal_record()
    with pytest.raises(InvalidTransitionError):
        decision_transition(decision=decision, action="reopen", user=admin)
    assert not _audit_events().exists()


def test_audit_event_joins_the_chain_and_the_objects_history(admin):
    """The audit event is in the originating event's chain and in the order's history."""
    event, decision = proposal_record(order_id="ord-777")
    decision_transition(decision=decision, action="escalate", user=admin, reason="Over limit")
    client = DecisionTraceClient()
    chain = client.get_chain(str(event.pk))
    assert [e.event_type for e in chain] == ["refund.requested", "decision.escalated"]
    history = client.get_object_history(object_id="ord-777")
    assert [e.event_type for e in history] == ["refund.requested", "decision.escalated"]


def test_audit_from_the_admin_action(client, make_user):
    """The admin's bulk action goes through the same service, so it is audited too."""
    user = make_user("admin", username="alice")
    client.force_login(user)
    event, decision = proposal_record()
    response = client.post(
        reverse("admin:decisioning_decision_changelist"),
        {"action": "approve_selected", "_selected_action": [str(decision.pk)]},
    )
    assert response.status_code == 302
    audit = _audit_events().get()
    assert (audit.event_type, audit.parent_id, audit.actor.actor_id) == (
        "decision.approved",
        event.pk,
        "alice",
    )
