"""The API's evidence: GET /events/{id}/proof, and known_at on every read."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

import decision_trace
from decision_trace.evidence import Checkpoint, ProofError, event_proof_verify
from tests.traces.api.conftest import event_payload
from traces.api.models import Scope
from traces.api.tokens import service_token_create
from traces.evidence.corrections import event_correct
from traces.evidence.keys import public_key_bytes
from traces.evidence.models import SignedCheckpoint
from traces.evidence.sealing import seal_pending
from traces.evidence.verification import checkpoint_of
from traces.models import EventRecord

pytestmark = pytest.mark.django_db


def _record(api: Any, **changes: Any) -> str:
    payload = event_payload(**changes)
    assert api.post("/api/v1/events", payload).status_code == 201
    return str(payload["id"])


def test_proof_verifies_offline_with_the_sdk(api):
    event_id = _record(api)
    assert api.get(f"/api/v1/events/{event_id}/proof").status_code == 404  # not sealed yet
    seal_pending()
    kept = checkpoint_of(SignedCheckpoint.objects.get())
    _record(api, description="later")
    seal_pending()
    latest = api.get(f"/api/v1/events/{event_id}/proof")
    assert latest.status_code == 200
    assert event_proof_verify(latest.json(), public_key_bytes()).size == 2
    at_kept = api.get(f"/api/v1/events/{event_id}/proof", {"size": kept.size}).json()
    assert event_proof_verify(at_kept, public_key_bytes(), kept=kept) == kept
    with pytest.raises(ProofError, match="ask for the proof at size 1"):
        event_proof_verify(latest.json(), public_key_bytes(), kept=kept)


@pytest.mark.parametrize("size", ["0", "-1", "x", "1" * 40, "1.5", "\x00"])
def test_proof_with_a_bad_size_is_400(api, size):
    event_id = _record(api)
    seal_pending()
    response = api.get(f"/api/v1/events/{event_id}/proof", {"size": size})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_parameter"


@pytest.mark.parametrize("event_id", [str(uuid.uuid4()), "nope", "%00"])
def test_proof_of_an_unknown_event_is_404(api, event_id):
    assert api.get(f"/api/v1/events/{event_id}/proof").json()["error"]["code"] == "not_found"


def test_proof_needs_the_events_read_scope(api, api_as, root):
    event_id = _record(api)
    seal_pending()
    others = [scope.value for scope in Scope if scope is not Scope.EVENTS_READ]
    assert api_as(root, others).get(f"/api/v1/events/{event_id}/proof").status_code == 403
    api.token = None
    assert api.get(f"/api/v1/events/{event_id}/proof").status_code == 401


@pytest.fixture
def story(api) -> dict[str, Any]:
    """An event corrected an hour after it was recorded, then a second event."""
    first = _record(api, description="Refund of 99.00", objects=[])
    row = EventRecord.objects.get(pk=first)
    event_correct(
        event_id=first,
        corrected_by="ops",
        reason="Wrong amount",
        description="Refund of 19.00",
        now=row.recorded_at + timedelta(hours=1),
    )
    second = _record(api, description="Shipped")
    return {"first": first, "second": second, "known": row.recorded_at.isoformat()}


def test_reads_are_current_versions_and_as_known_at(api, story):
    now = api.get("/api/v1/events").json()["results"]
    assert {e["data"]["description"] for e in now} == {"Shipped", "Refund of 19.00"}
    known = {"known_at": story["known"]}
    then = api.get("/api/v1/events", known).json()["results"]
    assert [e["data"]["description"] for e in then] == ["Refund of 99.00"]
    one = api.get(f"/api/v1/events/{story['first']}", known).json()
    assert one["data"]["description"] == "Refund of 99.00"
    assert api.get(f"/api/v1/events/{story['second']}", known).status_code == 404
    found = api.get("/api/v1/search", {"q": "refund", **known}).json()["results"]
    assert [e["data"]["description"] for e in found] == ["Refund of 99.00"]


@pytest.mark.parametrize(
    "value",
    ["2026-12-01T09:00:00", "yesterday", "\x00", "9999-12-31T23:59:59-14:00", "2026-13-01T00:00Z"],
    ids=["naive", "word", "nul", "overflow", "month-13"],
)
def test_bad_known_at_is_400_on_every_read(api, story, value):
    for path in (
        "/api/v1/events",
        f"/api/v1/events/{story['first']}",
        "/api/v1/objects/order/ord-1/history",
        "/api/v1/search?q=refund",
    ):
        response = api.get(path, {"known_at": value})
        assert response.status_code == 400, (path, response.content)
        assert response.json()["error"]["code"] == "bad_parameter"


@pytest.mark.django_db(transaction=True)
def test_sdk_over_http_reads_as_known_at_and_verifies_a_proof(live_server, django_user_model):
    """A real server on a real port: the SDK's known_at, and a proof checked offline."""
    owner = django_user_model.objects.create_superuser("ev-live", "ev@example.com", "pw")
    token = service_token_create(
        owner=owner, name="evidence", scopes=[scope.value for scope in Scope]
    ).text
    client = decision_trace.DecisionTraceClient(live_server.url, token)
    event_id = client.trace("refund.issued", "Refund of 99.00").record()
    known = EventRecord.objects.get(pk=event_id).recorded_at
    event_correct(
        event_id=event_id, corrected_by="ops", reason="Typo", description="Refund of 19.00"
    )
    assert client.get_event(event_id).description == "Refund of 19.00"
    assert client.get_event(event_id, known_at=known).description == "Refund of 99.00"
    assert client.get_event(event_id, known_at=known - timedelta(seconds=1)) is None
    seal_pending()
    answer = httpx.get(
        f"{live_server.url}/api/v1/events/{event_id}/proof",
        headers={"Authorization": f"Bearer {token}"},
    )
    kept = Checkpoint.from_dict(answer.json()["checkpoint"])
    assert event_proof_verify(answer.json(), public_key_bytes(), kept=kept).size == 2
    client.close()
