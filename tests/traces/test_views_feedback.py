"""Feedback from the event page and a timeline row: htmx and plain posts, refusals, the filter."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.traces.factories import ActorRecordFactory, EventRecordFactory
from traces.models import EventRecord

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def ai_event():
    agent = ActorRecordFactory(actor_type="ai_agent", actor_id="forecast-ai", version="2")
    return EventRecordFactory(actor=agent, event_type="ai.recommendation")


def _url(event) -> str:
    return reverse("traces:event_feedback", args=[event.pk])


def test_event_page_offers_feedback_to_reviewers(client, admin, ai_event):
    """The event page has the feedback box with the three labels and a no-JS form."""
    client.force_login(admin)
    html = client.get(reverse("traces:event_detail", args=[ai_event.pk])).content.decode()
    assert f'id="feedback-{ai_event.pk}"' in html
    assert f'action="{_url(ai_event)}"' in html
    for label in ("correct", "incorrect", "unsure"):
        assert f'value="{label}"' in html


def test_feedback_plain_post_redirects_back_with_a_message(client, admin, ai_event):
    """Without JavaScript the form posts, records the child event and redirects (PRG)."""
    client.force_login(admin)
    page = reverse("traces:event_detail", args=[ai_event.pk])
    response = client.post(
        _url(ai_event),
        {"label": "incorrect", "note": "Wrong SKU", "corrected_value": "SKU-7", "next": page},
    )
    assert response.status_code == 302
    assert response["Location"] == page
    child = EventRecord.objects.get(parent=ai_event)
    assert child.event_type == "feedback.incorrect"
    html = client.get(page).content.decode()
    assert "Marked incorrect." in html
    assert "Wrong SKU" in html
    assert "SKU-7" in html


@pytest.mark.parametrize("place", ["page", "row"])
def test_feedback_htmx_post_answers_the_box(client, admin, ai_event, place):
    """htmx gets the updated box (page or row) with the label, not a page."""
    client.force_login(admin)
    response = client.post(_url(ai_event), {"label": "correct", "place": place}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert f'id="feedback-{ai_event.pk}"' in html
    assert "feedback-correct" in html
    assert ("feedback-row" in html) == (place == "row")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"label": "maybe"},
        {"label": "correct", "note": "a\x00b"},
        {"label": "correct", "note": "x" * 5000},
        {"label": "correct", "place": "<script>"},
        "label=correct&note=x%00y",
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_feedback_bad_input_is_a_400_in_place(client, admin, ai_event, data, htmx):
    """Missing, unknown, NUL, huge or hostile input: 400 with the form, nothing written."""
    client.force_login(admin)
    headers = HTMX if htmx else {}
    if isinstance(data, str):
        # Raw bytes the test client would not encode.
        response = client.post(
            _url(ai_event), data, content_type="application/x-www-form-urlencoded", headers=headers
        )
    else:
        response = client.post(_url(ai_event), data, headers=headers)
    assert response.status_code == 400
    html = response.content.decode()
    assert ("<html" in html) != htmx
    assert "errorlist" in html
    assert not EventRecord.objects.filter(parent=ai_event).exists()


@pytest.mark.parametrize(
    "data",
    [
        "label=correct&corrected_value=%ED%A0%80&note=%FF%FE",
        "label=correct&label=incorrect&note=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ],
)
def test_feedback_odd_but_harmless_input_is_stored_escaped(client, admin, ai_event, data):
    """Invalid UTF-8 arrives as replacement characters; markup is stored and shown escaped."""
    client.force_login(admin)
    response = client.post(
        _url(ai_event), data, content_type="application/x-www-form-urlencoded", headers=HTMX
    )
    assert response.status_code == 200
    assert "<script>alert" not in response.content.decode()
    assert EventRecord.objects.filter(parent=ai_event).count() == 1


def test_feedback_refusals(client, make_user, ai_event):
    """Anonymous users go to the login; users without review rights get 403; unknown ids 404."""
    response = client.post(_url(ai_event), {"label": "correct"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    response = client.post(_url(ai_event), {"label": "correct"}, headers=HTMX)
    assert response.status_code == 200
    assert "/accounts/login/" in response["HX-Redirect"]
    client.force_login(make_user("nobody"))
    assert client.post(_url(ai_event), {"label": "correct"}).status_code == 403
    client.force_login(make_user("admin", username="alice"))
    missing = reverse("traces:event_feedback", args=[uuid.uuid4()])
    assert client.post(missing, {"label": "correct"}).status_code == 404
    assert client.get(_url(ai_event))["Location"].endswith(f"#feedback-{ai_event.pk}")
    assert client.put(_url(ai_event)).status_code == 405
    assert not EventRecord.objects.filter(parent=ai_event).exists()


def test_timeline_filters_by_feedback_label(client, admin, ai_event):
    """Marked incorrect: the timeline's feedback filter, and a row shows its label."""
    client.force_login(admin)
    other = EventRecordFactory(actor=ai_event.actor, description="Not labelled")
    client.post(_url(ai_event), {"label": "incorrect", "note": "Overstock"})
    response = client.get(
        reverse("traces:timeline"), {"feedback": "incorrect", "actor_type": "ai_agent"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="ev-{ai_event.pk}"' in html
    assert f'id="ev-{other.pk}"' not in html
    assert "Overstock" in html
    response = client.get(reverse("traces:timeline"), {"feedback": "<script>"})
    assert response.status_code == 400


@pytest.mark.parametrize("rows", [1, 20])
def test_timeline_with_feedback_query_count_is_constant(
    client, admin, django_assert_max_num_queries, rows
):
    """Labels on every row cost one query for the page, whatever its size."""
    agent = ActorRecordFactory(actor_type="ai_agent")
    for event in EventRecordFactory.create_batch(rows, actor=agent):
        client.force_login(admin)
        client.post(_url(event), {"label": "correct"})
    client.force_login(admin)
    with django_assert_max_num_queries(11):
        response = client.get(reverse("traces:timeline"), {"feedback": "correct"})
    assert response.content.decode().count("feedback-correct") == rows


def test_actor_page_shows_share_marked_correct_per_version(client, admin):
    """An AI agent's page charts and tabulates the share of its decisions marked correct."""
    agent = ActorRecordFactory(
        actor_type="ai_agent", actor_id="forecast-ai", model="m", version="2"
    )
    client.force_login(admin)
    for label in ("correct", "correct", "incorrect"):
        event = EventRecordFactory(actor=agent, effective_at=timezone.now())
        client.post(_url(event), {"label": label})
    url = reverse("traces:actor_detail", args=["ai_agent", "forecast-ai"])
    html = client.get(url, {"period": "7d"}).content.decode()
    assert "Marked correct by reviewers" in html
    assert "polyline" in html
    assert "<td>67%</td>" in html
    assert "feedback=incorrect" in html
    user_page = reverse("traces:actor_detail", args=["user", admin.username])
    assert "Marked correct by reviewers" not in client.get(user_page).content.decode()


def test_timeline_row_opens_its_form_on_demand(client, admin, ai_event, make_user):
    """A row carries a link; htmx fetches the row's form (open), plain GET goes to the page."""
    client.force_login(admin)
    row = client.get(reverse("traces:timeline")).content.decode()
    assert f'hx-get="{_url(ai_event)}?place=row"' in row
    assert 'name="label"' not in row
    response = client.get(
        _url(ai_event),
        {"place": "row"},
        headers={**HTMX, "HX-Current-URL": "http://testserver/traces/?q=x"},
    )
    html = response.content.decode()
    assert "<html" not in html
    assert 'name="label"' in html
    assert 'value="/traces/?q=x"' in html
    assert '<details class="feedback-give" open>' in html
    client.force_login(make_user("nobody"))
    assert client.get(_url(ai_event), headers=HTMX).status_code == 403
