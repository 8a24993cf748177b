"""Admin: read-only changelists, every filter, hostile search, change pages — never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from config.middleware import NUL_IN_REQUEST, SEARCH_TOO_LONG
from tests.traces.test_search import HOSTILE
from traces import DecisionTraceClient
from traces.models import ActorRecord, EventRecord

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:traces_eventrecord_changelist"


@pytest.fixture
def events() -> dict[str, str]:
    client = DecisionTraceClient()
    return {
        "ai": client.trace("price.updated", "Price raised for margin")
        .by_ai("ai", "Pricing AI")
        .because("Competitor moved")
        .with_risk("high")
        .requires_approval()
        .affecting_product("prod-1", {"price": 10})
        .record(),
        "user": client.trace("order.created", "Order placed").by_user("u", "Jane").record(),
        "job": client.trace("inventory.adjusted", "Sync")
        .by_compute("cron", "Job")
        .failed("x")
        .record(),
    }


def _ids(response) -> set[str]:
    return {str(row.pk) for row in response.context["cl"].result_list}


def test_changelist_lists_events(admin_client, events, django_assert_max_num_queries):
    response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert _ids(response) == set(events.values())
    assert b"Pricing AI" in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor_type": "ai_agent"}, {"ai"}),
        ({"actor_type": "user"}, {"user"}),
        ({"outcome": "failure"}, {"job"}),
        ({"risk": "high"}, {"ai"}),
        ({"approval": "required"}, {"ai"}),
        ({"approval": "pending"}, {"ai"}),
        ({"approval": "none"}, {"user", "job"}),
        ({"family": "order"}, {"user"}),
        ({"family": "price"}, {"ai"}),
        ({"q": "margin"}, {"ai"}),
        ({"q": "competitor"}, {"ai"}),
        ({"actor_type": "robot"}, {"ai", "user", "job"}),
        ({"family": "*"}, {"ai", "user", "job"}),
    ],
)
def test_changelist_filters(admin_client, events, query, expected):
    """Each filter narrows the list; an unknown value leaves it whole, never a 500."""
    response = admin_client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    assert _ids(response) == {events[name] for name in expected}


@pytest.mark.parametrize("text", HOSTILE)
def test_changelist_search_hostile_input(admin_client, events, text):
    """Searched, or (NUL, over 200 characters or 10 words) refused with the reason: never 500."""
    response = admin_client.get(reverse(CHANGELIST), {"q": text})
    if "\x00" in text or len(text) > 200 or len(text.split()) > 10:
        assert response.status_code == 400
        assert response.content.decode() in (
            NUL_IN_REQUEST,
            SEARCH_TOO_LONG.format(max_length=200, max_words=10),
        )
    else:
        assert response.status_code == 200


def test_changelist_date_hierarchy(admin_client, events):
    event = EventRecord.objects.get(pk=events["ai"])
    when = event.effective_at
    response = admin_client.get(
        reverse(CHANGELIST),
        {"effective_at__year": when.year, "effective_at__month": when.month},
    )
    assert response.status_code == 200
    assert events["ai"] in _ids(response)


def test_change_page_is_read_only_with_objects_inline(admin_client, events):
    url = reverse("admin:traces_eventrecord_change", args=[events["ai"]])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert b"prod-1" in response.content
    assert b'name="_save"' not in response.content
    assert admin_client.post(url, {"event_type": "hacked"}).status_code == 403
    assert EventRecord.objects.get(pk=events["ai"]).event_type == "price.updated"


def test_no_add_or_delete(admin_client, events):
    assert admin_client.get(reverse("admin:traces_eventrecord_add")).status_code == 403
    delete = reverse("admin:traces_eventrecord_delete", args=[events["ai"]])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert EventRecord.objects.count() == 3


def test_actor_admin_read_only(admin_client, events):
    response = admin_client.get(reverse("admin:traces_actorrecord_changelist"), {"q": "Jane"})
    assert response.status_code == 200
    actor = ActorRecord.objects.get(actor_id="u")
    change = admin_client.get(reverse("admin:traces_actorrecord_change", args=[actor.pk]))
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert admin_client.get(reverse("admin:traces_actorrecord_add")).status_code == 403
    filtered = admin_client.get(
        reverse("admin:traces_actorrecord_changelist"), {"actor_type": "compute"}
    )
    assert [a.actor_id for a in filtered.context["cl"].result_list] == ["cron"]


def test_changelist_unknown_event_id_is_not_500(admin_client):
    url = reverse("admin:traces_eventrecord_change", args=["not-a-uuid"])
    assert admin_client.get(url).status_code in (302, 404)
