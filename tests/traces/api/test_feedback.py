"""``POST /api/v1/events/{id}/feedback``: the web UI's feedback service over the API."""

from __future__ import annotations

import uuid

import pytest

from tests.traces.api.conftest import ApiClient, grant
from tests.traces.factories import ActorRecordFactory, EventRecordFactory
from traces.models import EventRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def ai_event():
    agent = ActorRecordFactory(actor_type="ai_agent", actor_id="forecast-ai", version="3")
    return EventRecordFactory(actor=agent)


def _url(event_id: object) -> str:
    return f"/api/v1/events/{event_id}/feedback"


def test_feedback_is_recorded_as_a_child_event(api, root, ai_event, django_assert_max_num_queries):
    """201 with the label; the child event is the token owner's, like the UI's."""
    with django_assert_max_num_queries(30):
        response = api.post(
            _url(ai_event.pk),
            {"label": "incorrect", "note": "Stale stock", "corrected_value": "12"},
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["label"] == "incorrect"
    assert body["by"] == root.username
    child = EventRecord.objects.get(pk=body["id"])
    assert child.parent_id == ai_event.pk
    assert child.event_type == "feedback.incorrect"
    assert child.actor.actor_id == root.username
    assert child.data["version"] == "3"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"label": "maybe"}, 422, "validation_error"),
        ({}, 422, "validation_error"),
        ({"label": "correct", "extra": 1}, 422, "validation_error"),
        ({"label": 1}, 422, "validation_error"),
        ({"label": "correct", "note": "a\u0000b"}, 422, "validation_error"),
        ({"label": "correct", "note": "x" * 5000}, 422, "validation_error"),
        (["correct"], 422, "validation_error"),
    ],
)
def test_bad_feedback_is_refused_and_writes_nothing(api, ai_event, body, status, code):
    """Unknown or missing labels, extra fields, wrong types, NUL, huge notes: 422, none stored."""
    response = api.post(_url(ai_event.pk), body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not EventRecord.objects.filter(parent=ai_event).exists()


@pytest.mark.parametrize(
    "raw", [b"{", b'{"label": "correct", "note": "\\ud800"}', b"\xff\xfe", b"NaN"]
)
def test_malformed_or_hostile_bodies_never_500(api, ai_event, raw):
    """Malformed JSON is 400; a lone surrogate is 4xx; nothing is stored."""
    response = api.post(_url(ai_event.pk), raw=raw)
    assert 400 <= response.status_code < 500
    assert not EventRecord.objects.filter(parent=ai_event).exists()


@pytest.mark.parametrize("event_id", [uuid.uuid4(), "not-a-uuid"])
def test_unknown_event_is_404(api, event_id):
    """An unknown or malformed id is 404 not_found."""
    response = api.post(_url(event_id), {"label": "correct"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_scope_and_permission(client, make_user, token_for, ai_event):
    """events:write is needed, and the owner must be a reviewer (may view decisions)."""
    root = make_user("superuser")
    read_only = ApiClient(client, token_for(root, ["events:read"]))
    assert read_only.post(_url(ai_event.pk), {"label": "correct"}).status_code == 403
    writer = make_user("nobody")
    grant(writer, "traces.add_eventrecord")
    no_review = ApiClient(client, token_for(writer, ["events:write"]))
    response = no_review.post(_url(ai_event.pk), {"label": "correct"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    reviewer = make_user("admin", username="alice")
    grant(reviewer, "traces.add_eventrecord")
    ok = ApiClient(client, token_for(reviewer, ["events:write"]))
    assert ok.post(_url(ai_event.pk), {"label": "unsure"}).status_code == 201
    assert ApiClient(client, None).post(_url(ai_event.pk), {"label": "x"}).status_code == 401
    assert EventRecord.objects.filter(parent=ai_event).count() == 1


def test_idempotency_key_replays(api, ai_event):
    """The same Idempotency-Key and body replays the answer and records once."""
    headers = {"Idempotency-Key": "feedback-1"}
    first = api.post(_url(ai_event.pk), {"label": "correct"}, headers=headers)
    again = api.post(_url(ai_event.pk), {"label": "correct"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert EventRecord.objects.filter(parent=ai_event).count() == 1
