"""Issue 16 points 7 and 10 at the view: the loaded rows come back; addresses carry no empties."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.traces.factories import EventRecordFactory
from traces.pagination import Cursor
from traces.ui.common import PAGE_SIZE

pytestmark = pytest.mark.django_db

TIMELINE = reverse("traces:timeline")


@pytest.fixture
def events():
    now = timezone.now()
    return [
        EventRecordFactory(description=f"row {index}", effective_at=now - timedelta(minutes=index))
        for index in range(PAGE_SIZE * 2 + 5)
    ]


def test_scrolling_replaces_the_address_with_every_loaded_row(admin_client, events):
    """An appended page answers with HX-Replace-Url naming the last row loaded (through=...)."""
    first = admin_client.get(TIMELINE, {"actor_type": "user"})
    cursor = first.context["page"].next_cursor
    response = admin_client.get(
        TIMELINE,
        {"actor_type": "user", "cursor": cursor},
        headers={
            "HX-Request": "true",
            "HX-Target": "timeline-more",
            "HX-Current-URL": "http://testserver/traces/?actor_type=user",
        },
    )
    last = response.context["page"].items[-1]
    replaced = response["HX-Replace-Url"]
    assert replaced.startswith("/traces/?")
    assert "actor_type=user" in replaced
    assert f"through={Cursor.of(last).encode()}" in replaced
    assert "cursor=" not in replaced


def test_through_restores_every_row_down_to_the_place(admin_client, events):
    """Back from an event: the page lists all rows down to `through`, then goes on from there."""
    through = Cursor.of(events[PAGE_SIZE + 3]).encode()
    response = admin_client.get(TIMELINE, {"through": through})
    page = response.context["page"]
    assert [event.pk for event in page.items] == [event.pk for event in events[: PAGE_SIZE + 4]]
    assert page.next_cursor == through
    html = response.content.decode()
    assert html.count('class="event-row"') == PAGE_SIZE + 4
    last = Cursor.of(events[-1]).encode()
    assert admin_client.get(TIMELINE, {"through": last}).context["page"].next_cursor is None


@pytest.mark.parametrize("through", ["nope", "x" * 5000, "%00", "MjAyNnwx", "\x00"])
def test_forged_through_is_a_400(admin_client, events, through):
    """A forged place is refused like a forged cursor: 400 with a way back, never a 500."""
    response = admin_client.get(TIMELINE, {"through": through})
    assert response.status_code == 400


@pytest.mark.parametrize("url", [TIMELINE, reverse("traces:decision_list")])
def test_plain_get_with_empty_parameters_redirects_to_the_clean_address(admin_client, url):
    """Point 10: a no-JS form's empty fields leave the address; the values stay."""
    response = admin_client.get(url + "?q=&actor=&outcome=rejected&outcome=&since=")
    assert response.status_code == 302
    assert response["Location"] == url + "?outcome=rejected"
    assert admin_client.get(url + "?q=&actor=")["Location"] == url
