"""Object history and actor pages: page vs partial, order, paging, bad input, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.traces.factories import (
    ActorRecordFactory,
    EventRecordFactory,
    TrackedObjectRecordFactory,
)
from traces.ui.common import PAGE_SIZE

pytestmark = pytest.mark.django_db

HISTORY = reverse("traces:object_history", args=["order", "ord-7"])


def _order_story(count: int = 3):
    start = timezone.now() - timedelta(hours=1)
    events = []
    for i in range(count):
        event = EventRecordFactory(
            description=f"step {i}", effective_at=start + timedelta(minutes=i)
        )
        TrackedObjectRecordFactory(
            event=event,
            object_id="ord-7",
            state_before={"status": f"s{i}"},
            state_after={"status": f"s{i + 1}"},
        )
        events.append(event)
    return events


def test_object_history_full_page_oldest_first(admin_client):
    """Every event that touched the order, oldest first, with its state change."""
    _order_story()
    response = admin_client.get(HISTORY)
    html = response.content.decode()
    assert "<html" in html
    assert html.index("step 0") < html.index("step 1") < html.index("step 2")
    assert html.count('class="diff-changed"') == 3


def test_object_history_htmx_partial(admin_client):
    """Paging swaps #history only."""
    _order_story()
    response = admin_client.get(HISTORY, headers={"HX-Request": "true", "HX-Target": "history"})
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="history"')


def test_object_history_pages_forward_with_push_url(admin_client):
    """More than a page links to later events with the cursor, swapped via htmx with push-url."""
    _order_story(PAGE_SIZE + 2)
    first = admin_client.get(HISTORY)
    cursor = first.context["history"].page.next_cursor
    assert 'hx-push-url="true"' in first.content.decode()
    second = admin_client.get(HISTORY, {"cursor": cursor})
    assert len(second.context["history"].entries) == 2


def test_object_history_found_by_external_id(admin_client):
    """An inventory row recorded with a SKU as external id is found by the SKU."""
    event = EventRecordFactory(description="restocked")
    TrackedObjectRecordFactory(
        event=event, object_type="inventory", object_id="inv-1", external_id="WIDGET-001"
    )
    html = admin_client.get(
        reverse("traces:object_history", args=["inventory", "WIDGET-001"])
    ).content.decode()
    assert "restocked" in html


def test_object_history_empty_object(admin_client):
    """An object no event touched says so."""
    response = admin_client.get(HISTORY)
    assert response.status_code == 200
    assert "No events touched this order" in response.content.decode()


def test_object_history_unknown_type_is_404(admin_client):
    """Object types are a closed set."""
    url = reverse("traces:object_history", args=["spaceship", "x"])
    assert admin_client.get(url).status_code == 404


@pytest.mark.parametrize("cursor", ["forged", "x" * 5_000])
def test_object_history_forged_cursor_is_400(admin_client, cursor):
    """A forged cursor is a 400 with a way back."""
    response = admin_client.get(HISTORY, {"cursor": cursor})
    assert response.status_code == 400
    assert "Start from the first event" in response.content.decode()


@pytest.mark.parametrize("rows", [1, 20])
def test_object_history_query_count_is_constant(admin_client, django_assert_max_num_queries, rows):
    """1 or 20 events with other objects each: the same queries (one of them the corrections)."""
    for event in _order_story(rows):
        TrackedObjectRecordFactory(event=event, position=1, object_type="product")
    with django_assert_max_num_queries(6):
        response = admin_client.get(HISTORY)
    assert len(response.context["history"].entries) == rows


ACTOR = reverse("traces:actor_detail", args=["ai_agent", "pricing-ai"])


def _pricing_actor():
    actor = ActorRecordFactory(actor_type="ai_agent", actor_id="pricing-ai", name="Pricing")
    now = timezone.now()
    EventRecordFactory.create_batch(
        3, actor=actor, event_type="price.adjusted", effective_at=now - timedelta(minutes=5)
    )
    EventRecordFactory(
        actor=actor, event_type="price.reverted", outcome="failure", effective_at=now
    )
    EventRecordFactory(actor=actor, event_type="price.old", effective_at=now - timedelta(days=3))
    return actor


def test_actor_page_counts_by_event_type_and_outcome(admin_client):
    """The pricing AI's page counts its last 24 hours by event type and outcome."""
    _pricing_actor()
    response = admin_client.get(ACTOR)
    summary = response.context["summary"]
    assert [(row.key, row.count) for row in summary.by_event_type] == [
        ("price.adjusted", 3),
        ("price.reverted", 1),
    ]
    assert {row.key: row.count for row in summary.by_outcome} == {"success": 3, "failure": 1}
    html = response.content.decode()
    assert "<html" in html
    assert "Pricing" in html


def test_actor_page_htmx_partial_for_a_longer_period(admin_client):
    """Changing the period swaps #actor-activity and includes older events."""
    _pricing_actor()
    response = admin_client.get(
        ACTOR, {"period": "7d"}, headers={"HX-Request": "true", "HX-Target": "actor-activity"}
    )
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="actor-activity"')
    assert response.context["summary"].total == 5


def test_actor_page_unknown_actor_is_404(admin_client):
    """An unknown actor is a 404."""
    url = reverse("traces:actor_detail", args=["user", "nobody"])
    assert admin_client.get(url).status_code == 404


def test_actor_page_bad_period_is_400(admin_client):
    """An unknown period shows an error."""
    _pricing_actor()
    assert admin_client.get(ACTOR, {"period": "forever"}).status_code == 400


@pytest.mark.parametrize("rows", [1, 20])
def test_actor_page_query_count_is_constant(admin_client, django_assert_max_num_queries, rows):
    """1 or 20 events: the same queries."""
    actor = ActorRecordFactory(actor_type="ai_agent", actor_id="pricing-ai")
    for _ in range(rows):
        TrackedObjectRecordFactory(event=EventRecordFactory(actor=actor))
    with django_assert_max_num_queries(8):
        admin_client.get(ACTOR)
