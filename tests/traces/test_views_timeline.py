"""The timeline: page vs partials, every filter, bad input, paging and fixed query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.traces.factories import (
    ActorRecordFactory,
    EventRecordFactory,
    EventTagFactory,
    TrackedObjectRecordFactory,
)
from traces.pagination import Cursor
from traces.ui.common import PAGE_SIZE

pytestmark = pytest.mark.django_db

URL = reverse("traces:timeline")


def _rows(response) -> int:
    return response.content.decode().count('class="event-row"')


def test_timeline_full_page(admin_client):
    """A plain GET returns the whole page with the filters and the list."""
    EventRecordFactory(description="Order placed")
    response = admin_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert 'id="timeline"' in html
    assert "Order placed" in html


def test_timeline_htmx_partial(admin_client):
    """An htmx request gets only the #timeline fragment (filters, chips and rows)."""
    EventRecordFactory(description="Order placed")
    response = admin_client.get(URL, headers={"HX-Request": "true", "HX-Target": "timeline"})
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="timeline"')
    assert "Order placed" in html


def test_timeline_history_restore_gets_full_page(admin_client):
    """htmx restoring history after a cache miss needs the whole page."""
    response = admin_client.get(
        URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.content.decode()


def test_timeline_more_partial_appends_rows_out_of_band(admin_client):
    """The infinite-scroll request returns the next rows for #timeline-rows and a new sentinel."""
    events = EventRecordFactory.create_batch(PAGE_SIZE + 3)
    cursor = Cursor.of(sorted(events, key=lambda e: (e.effective_at, e.pk))[-PAGE_SIZE]).encode()
    response = admin_client.get(
        f"{URL}?cursor={cursor}", headers={"HX-Request": "true", "HX-Target": "timeline-more"}
    )
    html = response.content.decode()
    assert "<html" not in html
    assert 'hx-swap-oob="beforeend:#timeline-rows"' in html
    assert '<div id="timeline-more"' in html
    assert _rows(response) == 3
    assert "That is the oldest event" in html


def test_timeline_pages_with_older_link_and_cursor(admin_client):
    """Without JavaScript the "Older events" link carries the cursor and the filters."""
    EventRecordFactory.create_batch(PAGE_SIZE + 5, actor__actor_type="compute")
    first = admin_client.get(URL, {"actor_type": "compute"})
    assert _rows(first) == PAGE_SIZE
    page = first.context["page"]
    assert page.has_next
    html = first.content.decode()
    assert f"?actor_type=compute&amp;cursor={page.next_cursor}" in html
    second = admin_client.get(URL, {"actor_type": "compute", "cursor": page.next_cursor})
    assert _rows(second) == 5
    assert "Back to the newest events" in second.content.decode()


def test_timeline_filter_by_actor_type_lists_only_those(admin_client):
    """Filtering by AI agent shows AI events only, and a chip that removes the filter."""
    EventRecordFactory(actor__actor_type="ai_agent", description="AI priced it")
    EventRecordFactory(actor__actor_type="user", description="Jane bought it")
    response = admin_client.get(URL, {"actor_type": "ai_agent"})
    html = response.content.decode()
    assert "AI priced it" in html
    assert "Jane bought it" not in html
    assert 'class="chip"' in html
    assert f'href="{URL}?"' in html


def test_timeline_several_actor_types(admin_client):
    """Actor types combine with OR."""
    EventRecordFactory(actor__actor_type="ai_agent", description="AI priced it")
    EventRecordFactory(actor__actor_type="compute", description="Job ran")
    EventRecordFactory(actor__actor_type="user", description="Jane bought it")
    response = admin_client.get(URL, {"actor_type": ["ai_agent", "compute"]})
    html = response.content.decode()
    assert "AI priced it" in html
    assert "Job ran" in html
    assert "Jane bought it" not in html


def _filtered_world():
    now = timezone.now()
    pricing = ActorRecordFactory(actor_type="ai_agent", actor_id="pricing-ai")
    match = EventRecordFactory(
        description="MATCH",
        actor=pricing,
        event_type="order.refunded",
        outcome="failure",
        risk_level="high",
        reasoning="Refund because the widget broke",
        requires_approval=True,
        approval_status="pending",
        effective_at=now - timedelta(minutes=30),
        tags=["vip"],
    )
    TrackedObjectRecordFactory(event=match, object_type="order", object_id="ord-9")
    EventTagFactory(event=match, tag="vip")
    other = EventRecordFactory(
        description="OTHER",
        event_type="price.adjusted",
        effective_at=now - timedelta(days=3),
    )
    TrackedObjectRecordFactory(event=other, object_type="product", object_id="ord-9")
    return match


@pytest.mark.parametrize(
    "params",
    [
        {"q": "widget"},
        {"q": "WIDGET broke"},
        {"actor": "pricing-ai"},
        {"event_type": "order.*"},
        {"event_type": "order.refunded"},
        {"object_type": "order", "object_id": "ord-9"},
        {"outcome": "failure"},
        {"risk": ["high", "critical"]},
        {"approval": "pending"},
        {"approval": "required"},
        {"tag": "vip, other"},
        {"period": "1h"},
        {"period": "24h"},
        {"since": (timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")},
        {"until": (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"), "x": "inv"},
    ],
    ids=lambda p: ",".join(p),
)
def test_timeline_each_filter_narrows_the_list(admin_client, params):
    """Each filter keeps the matching event and drops the other one (or the reverse for "until")."""
    _filtered_world()
    inverted = params.pop("x", None)
    response = admin_client.get(URL, params)
    assert response.status_code == 200
    html = response.content.decode()
    expected, dropped = ("OTHER", "MATCH") if inverted else ("MATCH", "OTHER")
    assert expected in html
    assert dropped not in html


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2024-13-45T25:61"}, "until"),
        ({"actor_type": "robot"}, "actor_type"),
        ({"since": "2024-05-02T10:00", "until": "2024-05-01T10:00"}, "until"),
        ({"q": "x" * 10_000}, "q"),
        ({"object_type": "order"}, "object_id"),
        ({"object_type": "spaceship", "object_id": "x"}, "object_type"),
        ({"outcome": "exploded"}, "outcome"),
        ({"risk": "<script>"}, "risk"),
        ({"approval": "maybe"}, "approval"),
        ({"period": "1y"}, "period"),
        ({"tag": ",".join(f"t{i}" for i in range(11))}, "tag"),
        ({"event_type": "e" * 101}, "event_type"),
    ],
    ids=lambda v: v if isinstance(v, str) else next(iter(v)),
)
def test_timeline_bad_input_shows_form_errors(admin_client, params, field):
    """Bad filter input re-renders the form with the field's error and no list (400, never 500)."""
    EventRecordFactory(description="Should not be listed")
    response = admin_client.get(URL, params)
    assert response.status_code == 400
    assert field in response.context["filterset"].form.errors
    html = response.content.decode()
    assert "Some filters need fixing" in html
    assert "Should not be listed" not in html


def test_timeline_bad_input_htmx_partial_is_400_with_errors(admin_client):
    """The htmx partial for bad input is a 400 (the page's htmx config swaps it in)."""
    response = admin_client.get(
        URL, {"since": "nope"}, headers={"HX-Request": "true", "HX-Target": "timeline"}
    )
    assert response.status_code == 400
    assert "<html" not in response.content.decode()
    assert "Some filters need fixing" in response.content.decode()


@pytest.mark.parametrize(
    "cursor", ["forged", "x" * 10_000, "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg", "!!"]
)
def test_timeline_forged_cursor_is_400(admin_client, cursor):
    """A cursor that does not decode is a 400 with a way back to the first page."""
    EventRecordFactory()
    response = admin_client.get(URL, {"cursor": cursor})
    assert response.status_code == 400
    assert "The page cursor is not valid" in response.content.decode()


def test_timeline_empty_state_offers_to_clear_filters(admin_client):
    """No match says so and links to the unfiltered timeline."""
    EventRecordFactory(outcome="success")
    response = admin_client.get(URL, {"outcome": "failure"})
    html = response.content.decode()
    assert "No events match these filters" in html
    assert "Clear all filters" in html


def test_timeline_offers_known_event_types(admin_client):
    """The event-type field suggests the stored types in a datalist."""
    EventRecordFactory(event_type="order.created")
    EventRecordFactory(event_type="refund.issued")
    html = admin_client.get(URL).content.decode()
    assert '<option value="order.created">' in html
    assert '<option value="refund.issued">' in html
    assert 'list="known-event-types"' in html


def test_timeline_row_shows_everything_a_reviewer_scans(admin_client):
    """A row has exact time, type, actor kind in words, outcome, risk, confidence, why, objects."""
    event = EventRecordFactory(
        actor=ActorRecordFactory(actor_type="ai_agent", actor_id="pricing-ai", name="Pricing"),
        event_type="price.adjusted",
        risk_level="high",
        confidence=0.87,
        outcome="partial",
        reasoning="First line of why\nsecond line",
    )
    TrackedObjectRecordFactory(event=event, object_type="product", object_id="SKU-1")
    html = admin_client.get(URL).content.decode()
    assert f'datetime="{event.effective_at.isoformat()}"' in html
    assert "price.adjusted" in html
    assert '<span class="actor-kind">AI agent</span>' in html
    assert "Partial" in html
    assert "Risk high" in html
    assert "87% confident" in html
    assert "First line of why" in html
    assert "second line" not in html
    assert reverse("traces:object_history", args=["product", "SKU-1"]) in html


@pytest.mark.parametrize("rows", [1, 20])
def test_timeline_query_count_is_constant(admin_client, django_assert_max_num_queries, rows):
    """1 row or 20, each with objects, tags and an actor: the same queries (+1: corrections)."""
    for _ in range(rows):
        event = EventRecordFactory(tags=["a", "b"])
        TrackedObjectRecordFactory.create_batch(2, event=event)
    with django_assert_max_num_queries(7):
        response = admin_client.get(URL, {"actor_type": "user"})
    assert response.content.decode().count('class="event-row"') == rows
