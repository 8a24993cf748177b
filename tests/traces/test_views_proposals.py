"""Issue 16 points 2 and 3: a proposal is not a fact; decision time apart from proposal time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from decisioning.models import Decision
from decisioning.services import decision_transition
from tests.traces.factories import EventRecordFactory, TrackedObjectRecordFactory, proposal_record
from traces.models import EventRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def rejected(admin):
    proposed_at = timezone.now() - timedelta(hours=5)
    # Recorded with its object's state after (evidence is append-only: no edits afterwards).
    event, decision = proposal_record(at=proposed_at)
    decision_transition(
        decision=decision, action="reject", user=admin, reason="Below the floor price"
    )
    return EventRecord.objects.get(pk=event.pk)


def test_event_page_shows_a_rejected_proposal_as_a_proposal(client, admin, rejected):
    """Not "Success" and "changed": "Proposal rejected", "Proposed, rejected by alice: <reason>"."""
    client.force_login(admin)
    html = client.get(reverse("traces:event_detail", args=[rejected.pk])).content.decode()
    assert "Proposal rejected" in html
    assert "Proposed, rejected by alice: “Below the floor price”. Not applied." in html
    assert ">Proposed</th>" in html
    assert 'class="diff-kind">changed<' not in html
    assert "outcome-success" not in html


def test_lists_and_histories_show_proposals(client, admin, rejected, make_user):
    """The timeline row and the order's history say "Proposal rejected"; others just "Proposal"."""
    client.force_login(admin)
    assert "Proposal rejected" in client.get(reverse("traces:timeline")).content.decode()
    history = reverse("traces:object_history", args=["order", "ord-11890"])
    html = client.get(history).content.decode()
    assert "Proposal rejected" in html
    assert "Not applied." in html
    client.force_login(make_user("nobody"))
    html = client.get(reverse("traces:timeline")).content.decode()
    assert ">Proposal</span>" in html
    assert "Proposal rejected" not in html
    assert "approval-rejected" not in html


def test_timeline_filters_by_decision_state(client, admin, rejected):
    """The approval filter picks rejected proposals."""
    client.force_login(admin)
    html = client.get(reverse("traces:timeline"), {"approval": "rejected"}).content.decode()
    assert f'id="ev-{rejected.pk}"' in html
    html = client.get(reverse("traces:timeline"), {"approval": "approved"}).content.decode()
    assert f'id="ev-{rejected.pk}"' not in html


def test_approval_box_shows_decision_time_and_proposal_time_apart(client, admin, rejected):
    """Point 3: "decided <time> by alice · proposed <time>", not the proposal time alone."""
    client.force_login(admin)
    html = client.get(reverse("traces:event_detail", args=[rejected.pk])).content.decode()
    decision = Decision.objects.get(target_id=str(rejected.pk))
    decided = timezone.localtime(decision.decided_at).strftime("%b %-d, %H:%M")
    proposed = timezone.localtime(decision.effective_at).strftime("%b %-d, %H:%M")
    assert decided != proposed
    assert f">{decided}</time> by alice · proposed <time" in html
    assert f">{proposed}</time>" in html


def test_decisions_list_offers_recently_decided(client, admin):
    """Point 8: "Recently decided" orders by decision time and shows it; pending ones drop out."""
    now = timezone.now()
    _, first_decision = proposal_record(at=now - timedelta(hours=5), order_id="ord-1")
    _, second_decision = proposal_record(at=now - timedelta(hours=1), order_id="ord-2")
    proposal_record(at=now - timedelta(minutes=5), order_id="ord-3")
    # The older proposal is decided last.
    decision_transition(
        decision=second_decision, action="approve", user=admin, now=now - timedelta(minutes=30)
    )
    decision_transition(
        decision=first_decision, action="approve", user=admin, now=now - timedelta(minutes=1)
    )
    client.force_login(admin)
    url = reverse("traces:decision_list")
    html = client.get(url, {"order": "decided"}).content.decode()
    assert html.count('class="card decision"') == 2
    assert html.index(str(first_decision.pk)) < html.index(str(second_decision.pk))
    assert "decided-at" in html
    html = client.get(url).content.decode()
    assert html.count('class="card decision"') == 3
    assert html.index(str(second_decision.pk)) < html.index(str(first_decision.pk))
    assert client.get(url, {"order": "<script>"}).status_code == 400


@pytest.mark.parametrize("rows", [1, 20])
def test_recently_decided_pages_and_query_count(client, admin, rows, django_assert_max_num_queries):
    """Keyset pages over (decided_at, id), with a fixed number of queries."""
    now = timezone.now()
    for index in range(rows):
        _, decision = proposal_record(at=now - timedelta(hours=3), order_id=f"ord-{index}")
        decision_transition(
            decision=decision, action="approve", user=admin, now=now - timedelta(minutes=index)
        )
    client.force_login(admin)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("traces:decision_list"), {"order": "decided"})
    assert response.content.decode().count('class="card decision"') == rows


def test_rows_titles_and_queue_items_name_the_object_and_its_numbers(client, admin):
    """Point 4: "Order ord-4242 · refund 99.99 EUR", on the row, the event page and the queue."""
    event, _ = proposal_record(order_id="ord-4242")
    refund = EventRecordFactory(effective_at=timezone.now(), description="Refund issued")
    TrackedObjectRecordFactory(
        event=refund,
        object_id="ord-4243",
        state_after={"refund_amount": 99.99, "currency": "EUR"},
    )
    restock = EventRecordFactory(
        event_type="ai.recommendation",
        description="AI recommendation (inventory_restock) from demand-forecast-v2",
        effective_at=timezone.now(),
    )
    TrackedObjectRecordFactory(
        event=restock,
        object_type="product",
        object_id="prod-100",
        external_id="SKU-100",
        state_after={"quantity": 40},
    )
    client.force_login(admin)
    expected = "Order ord-4242"
    assert (
        "Order ord-4243 · refund 99.99 EUR"
        in client.get(reverse("traces:timeline")).content.decode()
    )
    assert (
        "Product SKU-100 · quantity 40" in client.get(reverse("traces:timeline")).content.decode()
    )
    page = client.get(reverse("traces:event_detail", args=[event.pk])).content.decode()
    assert expected in page
    assert expected in client.get(reverse("traces:review_queue")).content.decode()
