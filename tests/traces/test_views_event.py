"""The event page: the why, alternatives, objects as a diff, the chain, approvals; 404s."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from decisioning.models import Decision
from tests.traces.factories import (
    ActorRecordFactory,
    EventRecordFactory,
    TrackedObjectRecordFactory,
)
from traces.models import EventRecord

pytestmark = pytest.mark.django_db


def _url(event) -> str:
    return reverse("traces:event_detail", args=[event.pk])


def test_event_detail_shows_the_decision(admin_client):
    """Reasoning, context, constraints, alternatives with reasons, confidence and risk are shown."""
    event = EventRecordFactory(
        actor=ActorRecordFactory(actor_type="ai_agent", actor_id="pricing-ai", model="gpt-4"),
        has_decision=True,
        reasoning="Competitor dropped the price",
        context={"competitor_min": 71.5},
        constraints=["margin >= 12%"],
        alternatives=[{"action": "keep_price", "reason": "Leave it"}, "match_lowest"],
        rejection_reasons={"keep_price": "Would lose the buy box", "match_lowest": "Too cheap"},
        confidence=0.9,
        risk_level="medium",
        source_system="pricing-service",
    )
    html = admin_client.get(_url(event)).content.decode()
    for text in (
        "Competitor dropped the price",
        "competitor_min",
        "71.5",
        "margin &gt;= 12%",
        "keep_price",
        "Would lose the buy box",
        "match_lowest",
        "Too cheap",
        "90% confident",
        "Risk medium",
        "gpt-4",
        "pricing-service",
    ):
        assert text in html, text
    assert '<th scope="row">competitor_min</th><td>71.5</td>' in html


def test_event_detail_object_state_diff(admin_client):
    """Tracked objects show before → after per field, marked changed/added/removed in words."""
    event = EventRecordFactory()
    TrackedObjectRecordFactory(
        event=event,
        object_id="ord-1",
        state_before={"status": "paid", "note": "x"},
        state_after={"status": "shipped", "carrier": "DHL"},
    )
    html = admin_client.get(_url(event)).content.decode()
    assert 'class="diff-changed"' in html
    assert '<span class="diff-kind">added</span>' in html
    assert '<span class="diff-kind">removed</span>' in html
    assert reverse("traces:object_history", args=["order", "ord-1"]) in html


def test_event_detail_chain_tree_and_correlated(admin_client):
    """The chain lists root, children and grandchildren in tree order; correlated events follow."""
    root = EventRecordFactory(description="root", correlation_id="flow-1", duration=2)
    child = EventRecordFactory(
        description="child",
        parent=root,
        correlation_id="flow-1",
        effective_at=root.effective_at + timedelta(seconds=1),
    )
    EventRecordFactory(
        description="grandchild",
        parent=child,
        effective_at=root.effective_at + timedelta(seconds=2),
    )
    EventRecordFactory(
        description="sibling",
        parent=root,
        effective_at=root.effective_at + timedelta(seconds=3),
    )
    EventRecordFactory(description="elsewhere", correlation_id="flow-1")
    response = admin_client.get(_url(child))
    nodes = [node.event.description for node in response.context["detail"].chain]
    assert nodes == ["root", "child", "grandchild", "sibling"]
    html = response.content.decode()
    assert "(this event)" in html
    assert "elsewhere" in html


def test_event_detail_approval_and_decisions(admin_client, admin_user):
    """Approval status, approver and the Decision records about the event are shown."""
    event = EventRecordFactory(
        requires_approval=True, approval_status="approved", approved_by="admin"
    )
    Decision.objects.create(
        target_content_type=ContentType.objects.get_for_model(EventRecord),
        target_id=str(event.pk),
        decision_type="refund_approval",
        outcome="approved",
        decided_by=admin_user,
        reason="Defect confirmed by photo",
    )
    html = admin_client.get(_url(event)).content.decode()
    assert "Approved" in html
    assert "Defect confirmed by photo" in html
    assert f"{reverse('traces:decision_list')}?target={event.pk}" in html


def test_event_detail_unknown_event_is_404(admin_client):
    """An unknown id is a 404, not a 500."""
    response = admin_client.get(reverse("traces:event_detail", args=[uuid.uuid4()]))
    assert response.status_code == 404


def test_event_detail_malformed_id_is_404(admin_client):
    """A non-UUID id does not match the route."""
    assert admin_client.get("/traces/events/not-a-uuid/").status_code == 404


@pytest.mark.parametrize("size", [1, 20])
def test_event_detail_query_count_is_constant(admin_client, django_assert_max_num_queries, size):
    """A chain of 1 or 20 events, objects and correlated events: the same queries (+1: versions)."""
    root = EventRecordFactory(correlation_id="flow")
    for _ in range(size - 1):
        EventRecordFactory(parent=root, correlation_id="flow")
        EventRecordFactory(correlation_id="flow")
    TrackedObjectRecordFactory.create_batch(size, event=root)
    with django_assert_max_num_queries(9):
        response = admin_client.get(_url(root))
    assert len(response.context["detail"].chain) == size
