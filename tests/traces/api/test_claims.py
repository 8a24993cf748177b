"""``POST``/``DELETE /api/v1/decisions/{id}/claim`` and the decision resource's ``claim``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from decisioning.models import Decision
from tests.traces.api.conftest import ApiClient, approval_payload
from traces.models import EventRecord

pytestmark = pytest.mark.django_db


def _pending(api: ApiClient) -> str:
    return api.post("/api/v1/events", approval_payload()).json()["decision_id"]


def _claim(api: ApiClient, decision_id: str, body: Any = None, **headers: str) -> Any:
    return api.post(f"/api/v1/decisions/{decision_id}/claim", body or {}, headers=headers)


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.fixture
def other(make_user, client, token_for) -> ApiClient:
    """A second reviewer with their own token."""
    return ApiClient(client, token_for(make_user("admin", username="bea")))


def test_decision_has_no_claim_until_claimed(api):
    """The resource's ``claim`` is null, then who, since when and until when."""
    decision_id = _pending(api)
    assert api.get(f"/api/v1/decisions/{decision_id}").json()["claim"] is None
    answer = _claim(api, decision_id)
    assert answer.status_code == 200, answer.content
    claim = answer.json()["claim"]
    assert claim["by"] == "root"
    since = datetime.fromisoformat(claim["since"])
    assert datetime.fromisoformat(claim["expires_at"]) - since == timedelta(minutes=15)
    assert api.get(f"/api/v1/decisions/{decision_id}").json()["claim"] == claim
    listed = api.get("/api/v1/decisions").json()["results"]
    assert [row["claim"] for row in listed] == [claim]


def test_claim_renews_and_is_in_the_audit_trail(api):
    """Claiming again renews one's own claim; each claim is a decision.claimed event."""
    decision_id = _pending(api)
    first = _claim(api, decision_id).json()["claim"]
    Decision.objects.filter(pk=decision_id).update(
        claimed_at=timezone.now() - timedelta(minutes=10)
    )
    renewed = _claim(api, decision_id).json()["claim"]
    assert renewed["since"] > first["since"] or renewed["since"] == first["since"]
    assert datetime.fromisoformat(renewed["expires_at"]) > timezone.now() + timedelta(minutes=14)
    assert EventRecord.objects.filter(event_type="decision.claimed").count() == 2


def test_someone_elses_claim_is_409_naming_them(api, other):
    """Another reviewer's unexpired claim: 409 with who and since when; force takes it over."""
    decision_id = _pending(api)
    claim = _claim(api, decision_id).json()["claim"]
    error = _error(_claim(other, decision_id), 409)
    assert error["code"] == "decision_claimed"
    assert "Being reviewed by root since" in error["message"]
    assert claim["since"] in error["message"]
    assert error["details"][0]["by"] == "root"
    assert error["details"][0]["since"] == claim["since"]
    taken = _claim(other, decision_id, {"force": True})
    assert taken.status_code == 200
    assert taken.json()["claim"]["by"] == "bea"


def test_expired_claim_does_not_block(api, other):
    """After DECISIONING_CLAIM_DURATION the claim is gone: null, and anyone may claim."""
    decision_id = _pending(api)
    _claim(api, decision_id)
    Decision.objects.filter(pk=decision_id).update(
        claimed_at=timezone.now() - timedelta(minutes=16)
    )
    assert api.get(f"/api/v1/decisions/{decision_id}").json()["claim"] is None
    assert _claim(other, decision_id).json()["claim"]["by"] == "bea"


def test_release_own_claim(api):
    """DELETE releases one's claim (a decision.released event); again: nothing changes."""
    decision_id = _pending(api)
    _claim(api, decision_id)
    released = api.delete(f"/api/v1/decisions/{decision_id}/claim")
    assert released.status_code == 200, released.content
    assert released.json()["claim"] is None
    assert Decision.objects.get(pk=decision_id).claimed_by is None
    again = api.delete(f"/api/v1/decisions/{decision_id}/claim")
    assert again.status_code == 200
    assert EventRecord.objects.filter(event_type="decision.released").count() == 1


def test_release_someone_elses_claim_is_409(api, other):
    """Nobody releases another reviewer's unexpired claim."""
    decision_id = _pending(api)
    _claim(api, decision_id)
    error = _error(other.delete(f"/api/v1/decisions/{decision_id}/claim"), 409)
    assert error["code"] == "decision_claimed"
    assert Decision.objects.get(pk=decision_id).claimed_by.username == "root"


def test_claim_of_a_final_decision_is_409(api):
    """An approved decision has nothing left to claim or release."""
    decision_id = _pending(api)
    api.post(f"/api/v1/decisions/{decision_id}/actions", {"action": "reject", "reason": "no"})
    assert _error(_claim(api, decision_id), 409)["code"] == "decision_conflict"
    assert _error(api.delete(f"/api/v1/decisions/{decision_id}/claim"), 409)["code"] == (
        "decision_conflict"
    )


def test_claim_idempotency_key_replays(api):
    """Same Idempotency-Key, same claim: the first answer, replayed, and one audit event."""
    decision_id = _pending(api)
    first = _claim(api, decision_id, **{"Idempotency-Key": "claim-1"})
    second = _claim(api, decision_id, **{"Idempotency-Key": "claim-1"})
    assert second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert EventRecord.objects.filter(event_type="decision.claimed").count() == 1


@pytest.mark.parametrize("method", ["post", "delete"])
@pytest.mark.parametrize(
    ("scopes", "status"),
    [(["decisions:read"], 403), (["events:write", "events:read"], 403)],
)
def test_claim_needs_the_decide_scope(api, client, root, token_for, method, scopes, status):
    """Claims are review work: the decisions:decide scope (and a review permission)."""
    decision_id = _pending(api)
    limited = ApiClient(client, token_for(root, scopes))
    call = getattr(limited, method)
    path = f"/api/v1/decisions/{decision_id}/claim"
    response = call(path, {}) if method == "post" else call(path)
    assert _error(response, status)["code"] == "missing_scope"


@pytest.mark.parametrize("method", ["post", "delete"])
def test_claim_without_token_is_401(api, client, method):
    decision_id = _pending(api)
    anonymous = ApiClient(client, None)
    path = f"/api/v1/decisions/{decision_id}/claim"
    response = anonymous.post(path, {}) if method == "post" else anonymous.delete(path)
    _error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_claim_by_user_without_review_permission_is_403(api, client, make_user, token_for):
    decision_id = _pending(api)
    nobody = ApiClient(client, token_for(make_user("nobody", username="nob")))
    _error(_claim(nobody, decision_id), 403)
    assert Decision.objects.get(pk=decision_id).claimed_by is None


@pytest.mark.parametrize(
    "decision_id",
    [
        str(uuid.uuid4()),
        "not-a-uuid",
        "1",
        "%00",
        "a%00b",
        "x" * 5000,
        "%F0%9F%92%A9",
        "00000000-0000-0000-0000-00000000000g",
    ],
)
@pytest.mark.parametrize("method", ["post", "delete"])
def test_unknown_or_forged_ids_are_404(api, decision_id, method):
    path = f"/api/v1/decisions/{decision_id}/claim"
    response = api.post(path, {}) if method == "post" else api.delete(path)
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"{", 400),
        (b"\xff\xfe", 400),
        (b'{"force": NaN}', 400),
        (b"[]", 422),
        (b'"force"', 422),
        (b"1", 422),
        (b"null", 422),
        (b'{"force": "yes"}', 422),
        (b'{"force": 1}', 422),
        (b'{"force": null}', 422),
        (b'{"force": "\\u0000"}', 422),
        (b'{"force": true, "by": "root"}', 422),
        (b'{"\\ud800": true}', 422),
        (b'{"force": "\\udfff"}', 422),
        (b'{"\\u0000": true}', 422),
    ],
)
def test_bad_claim_bodies_are_4xx_and_change_nothing(api, raw, status):
    decision_id = _pending(api)
    response = api.post(f"/api/v1/decisions/{decision_id}/claim", raw=raw)
    _error(response, status)
    assert Decision.objects.get(pk=decision_id).claimed_by is None


def test_empty_body_claims(api):
    """No body at all is a claim without force."""
    decision_id = _pending(api)
    response = api.post(f"/api/v1/decisions/{decision_id}/claim", raw=b"")
    assert response.status_code == 200
    assert response.json()["claim"]["by"] == "root"


def test_huge_claim_body_is_413(api, settings):
    settings.TRACES_API_MAX_BODY_BYTES = 1000
    decision_id = _pending(api)
    raw = b'{"force": true, "pad": "' + b"x" * 2000 + b'"}'
    error = _error(api.post(f"/api/v1/decisions/{decision_id}/claim", raw=raw), 413)
    assert error["code"] == "payload_too_large"
    assert Decision.objects.get(pk=decision_id).claimed_by is None


def test_acting_on_someone_elses_claim_is_409_unless_overridden(api, other):
    """As in the UI, another reviewer's claim is overridden knowingly; nothing changes before."""
    decision_id = _pending(api)
    _claim(api, decision_id)
    url = f"/api/v1/decisions/{decision_id}/actions"
    refused = other.post(url, {"action": "approve", "reason": "fine"})
    error = _error(refused, 409)
    assert error["code"] == "decision_claimed"
    assert error["details"][0]["by"] == "root"
    assert Decision.objects.get(pk=decision_id).outcome == "pending"
    done = other.post(url, {"action": "approve", "reason": "fine", "override_claim": True})
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "approved"


def test_the_claim_holder_acts_without_override(api):
    decision_id = _pending(api)
    _claim(api, decision_id)
    answer = api.post(
        f"/api/v1/decisions/{decision_id}/actions", {"action": "reject", "reason": "no"}
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "rejected"


@pytest.mark.parametrize("value", ["yes", 1, None, [], {"x": 1}, "\x00"])
def test_override_claim_must_be_a_boolean(api, other, value):
    decision_id = _pending(api)
    _claim(api, decision_id)
    answer = other.post(
        f"/api/v1/decisions/{decision_id}/actions",
        {"action": "approve", "reason": "fine", "override_claim": value},
    )
    error = _error(answer, 422)
    assert "override_claim" in {detail["field"] for detail in error["details"]}
    assert Decision.objects.get(pk=decision_id).outcome == "pending"
