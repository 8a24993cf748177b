"""The ``Idempotency-Key`` header on every POST."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from decisioning.models import IdempotencyKey, IdempotencyStatus
from tests.traces.api.conftest import ApiClient, approval_payload, event_payload
from traces.models import EventRecord

pytestmark = pytest.mark.django_db


def _post(api, body, key, path="/api/v1/events"):
    return api.post(path, body, headers={"Idempotency-Key": key})


def test_same_key_same_request_replays_status_and_body(api):
    """The replay has the first status and body and Idempotent-Replayed: true."""
    payload = event_payload()
    first = _post(api, payload, "k-1")
    again = _post(api, payload, "k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert EventRecord.objects.count() == 1
    key = IdempotencyKey.objects.get()
    assert key.status == IdempotencyStatus.COMPLETED
    assert key.result_data == {"status": 201, "body": first.json()}
    assert key.expires_at is not None


def test_same_key_other_request_is_422_mismatch(api):
    _post(api, event_payload(), "k-1")
    response = _post(api, event_payload(), "k-1")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_mismatch"
    assert EventRecord.objects.count() == 1


def test_same_key_other_path_or_owner_is_not_a_replay(api, client, make_user, token_for):
    """Keys are per caller: another owner's same key is its own request."""
    payload = event_payload()
    _post(api, payload, "shared")
    other = ApiClient(client, token_for(make_user("superuser", username="other-root")))
    response = _post(other, payload, "shared")
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    mismatch = _post(api, {"action": "approve"}, "shared", "/api/v1/decisions/x/actions")
    assert mismatch.status_code == 422


def test_key_in_flight_is_409(api):
    """A key another request still holds: 409 idempotency_key_in_use."""
    payload = event_payload()
    _post(api, payload, "busy")
    IdempotencyKey.objects.update(status=IdempotencyStatus.IN_FLIGHT, started_at=timezone.now())
    response = _post(api, payload, "busy")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_use"


def test_refused_request_stores_nothing_so_a_corrected_retry_runs(api):
    """A 4xx stores nothing under the key: the corrected body with the same key runs."""
    bad = event_payload(outcome="exploded")
    assert _post(api, bad, "fix-me").status_code == 422
    assert not IdempotencyKey.objects.exists()
    good = event_payload()
    assert _post(api, good, "fix-me").status_code == 201


def test_decision_action_replays(api):
    (decision_id,) = [api.post("/api/v1/events", approval_payload()).json()["decision_id"]]
    path = f"/api/v1/decisions/{decision_id}/actions"
    first = _post(api, {"action": "approve"}, "act-1", path)
    again = _post(api, {"action": "approve"}, "act-1", path)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "a\tb"])
def test_bad_keys_are_400(api, key):
    response = _post(api, event_payload(), key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_idempotency_key"


def test_keys_expire_and_the_cleanup_command_removes_them(api, settings):
    settings.TRACES_API_IDEMPOTENCY_TTL = timedelta(seconds=1)
    _post(api, event_payload(), "short")
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    call_command("cleanup_idempotency_keys", verbosity=0)
    assert not IdempotencyKey.objects.exists()
