"""``/api/v1/decisions``: the queue, one decision, and review actions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from decisioning.models import Decision, DecisionTransition
from tests.traces.api.conftest import ApiClient, approval_payload, later
from traces.models import EventRecord

pytestmark = pytest.mark.django_db


def _pending(api: Any, count: int = 1) -> list[str]:
    payloads = [approval_payload() for _ in range(count)]
    for minutes, payload in enumerate(payloads):
        payload["timestamp"] = later(minutes)
    answer = api.post("/api/v1/events", {"events": payloads}).json()
    return [event["decision_id"] for event in answer["events"]]


def _act(api: Any, decision_id: str, **body: Any) -> Any:
    return api.post(f"/api/v1/decisions/{decision_id}/actions", body)


def test_queue_oldest_first_with_cursor(api):
    """The pending tab by default, oldest waiting first, keyset-paged."""
    ids = _pending(api, 3)
    page = api.get("/api/v1/decisions", {"limit": 2}).json()
    assert [d["id"] for d in page["results"]] == ids[:2]
    rest = api.get("/api/v1/decisions", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [d["id"] for d in rest["results"]] == ids[2:]


def test_queue_tab_and_bad_filter(api):
    """Other tabs hold other statuses; a bad tab is 400 naming it."""
    (decision_id,) = _pending(api)
    _act(api, decision_id, action="defer")
    assert api.get("/api/v1/decisions").json()["results"] == []
    deferred = api.get("/api/v1/decisions", {"tab": "deferred"}).json()["results"]
    assert [d["id"] for d in deferred] == [decision_id]
    response = api.get("/api/v1/decisions", {"tab": "nonsense"})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "tab"


def test_detail_has_the_resource_shape(api):
    """A decision: its fields and its transitions, oldest first."""
    (decision_id,) = _pending(api)
    decision = api.get(f"/api/v1/decisions/{decision_id}").json()
    event = EventRecord.objects.get()
    assert decision == {
        "id": decision_id,
        "decision_type": "order.created",
        "status": "pending",
        "reason": "",
        "decided_by": None,
        "decided_at": None,
        "proposed_at": event.effective_at.isoformat(),
        "target_event_id": str(event.pk),
        "rule": None,
        "due_at": Decision.objects.get().due_at.isoformat(),
        "claim": None,
        "transitions": [],
    }
    for bad in (str(uuid.uuid4()), "nope"):
        assert api.get(f"/api/v1/decisions/{bad}").status_code == 404


def test_approve_then_conflict(api, root):
    """Approve: 200 with the decision and its transition; again: 409 from the state machine."""
    (decision_id,) = _pending(api)
    response = _act(api, decision_id, action="approve", reason="ok")
    assert response.status_code == 200, response.content
    decision = response.json()
    assert (decision["status"], decision["decided_by"], decision["reason"]) == (
        "approved",
        root.get_username(),
        "ok",
    )
    assert [(t["action"], t["from"], t["to"]) for t in decision["transitions"]] == [
        ("approve", "pending", "approved")
    ]
    again = _act(api, decision_id, action="reject", reason="no")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "decision_conflict"
    assert DecisionTransition.objects.count() == 1


def test_expected_outcome_mismatch_is_409(api):
    """expected_outcome other than the decision's status: 409, nothing changes."""
    (decision_id,) = _pending(api)
    response = _act(api, decision_id, action="approve", expected_outcome="deferred")
    assert response.status_code == 409
    assert Decision.objects.get().outcome == "pending"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"action": "obliterate"}, 400, "bad_request"),
        ({"action": "reject", "reason": ""}, 400, "bad_request"),
        ({"action": "approve", "reason": 5}, 400, "bad_request"),
        ({"action": "approve", "reason": "x" * 2001}, 400, "bad_request"),
        ({"action": "approve", "colour": "red"}, 422, "validation_error"),
        ({"action": "approve", "expected_outcome": "maybe"}, 422, "validation_error"),
        (["approve"], 422, "validation_error"),
    ],
)
def test_bad_action_bodies(api, body, status, code):
    """Bad actions and reasons: the UI's 400 and message; malformed bodies: 422."""
    (decision_id,) = _pending(api)
    response = (
        _act(api, decision_id, **body)
        if isinstance(body, dict)
        else api.post(f"/api/v1/decisions/{decision_id}/actions", body)
    )
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert Decision.objects.get().outcome == "pending"


def test_action_on_unknown_decision_is_404(api):
    assert _act(api, str(uuid.uuid4()), action="approve").status_code == 404


def test_reviewer_without_decide_permission_is_403(api, client, make_user, token_for):
    """A token of a user who may only view decisions cannot act: 403."""
    (decision_id,) = _pending(api)
    reviewer = make_user("reviewer")
    as_reviewer = ApiClient(client, token_for(reviewer))
    response = _act(as_reviewer, decision_id, action="approve")
    assert response.status_code == 403
    assert Decision.objects.get().outcome == "pending"


def test_escalated_needs_a_senior(api, client, admin, senior, token_for):
    """The UI's permission matrix: an admin may not decide an escalated decision; a senior may."""
    (decision_id,) = _pending(api)
    assert _act(api, decision_id, action="escalate", reason="big").status_code == 200
    as_admin = ApiClient(client, token_for(admin))
    assert _act(as_admin, decision_id, action="approve").status_code == 403
    as_senior = ApiClient(client, token_for(senior))
    assert _act(as_senior, decision_id, action="approve").status_code == 200


def test_action_writes_the_audit_event(api):
    """The same audit event as the UI is recorded."""
    (decision_id,) = _pending(api)
    before = EventRecord.objects.count()
    _act(api, decision_id, action="approve")
    assert EventRecord.objects.count() == before + 1
