"""Who may see decisions over the API: the same rule as the pages (issue 20, point 4).

A caller sees a decision's outcome, reason and decider only with the
``decisions:read`` scope AND a token owner who may view decisions. Every
endpoint that shows events or decisions is a row of the table; each row is
tried by callers who lack one or the other, and by one who has both.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.traces.api.conftest import ApiClient, approval_payload
from traces import ObjectType, TrackedObject

pytestmark = pytest.mark.django_db

REASON = "Refund exceeds the agent's limit-4711"
SEARCH_WORD = "Big"

# (name, path template, what a caller without access gets)
ENDPOINTS = [
    ("event list", "/api/v1/events", "hidden"),
    ("event", "/api/v1/events/{event_id}", "hidden"),
    ("chain", "/api/v1/events/{event_id}/chain", "hidden"),
    ("search", "/api/v1/search?q=" + SEARCH_WORD, "hidden"),
    ("approval filter", "/api/v1/events?approval=rejected", 403),
    ("approval filter in search", "/api/v1/search?q=Big&approval=rejected", 403),
    ("decision list", "/api/v1/decisions", 403),
    ("object history", "/api/v1/objects/order/{object_id}/history", "hidden"),
    ("decision", "/api/v1/decisions/{decision_id}", 403),
]


@pytest.fixture
def rejected(api: ApiClient, root: Any) -> dict[str, str]:
    """An event that asked for approval and was rejected by the superuser, with a reason."""
    payload = approval_payload()
    payload["data"]["objects"] = [TrackedObject(type=ObjectType.ORDER, id="ord-77").to_dict()]
    answer = api.post("/api/v1/events", payload).json()
    acted = api.post(
        f"/api/v1/decisions/{answer['decision_id']}/actions",
        {"action": "reject", "reason": REASON},
    )
    assert acted.status_code == 200, acted.content
    return {"event_id": answer["id"], "decision_id": answer["decision_id"], "object_id": "ord-77"}


def _callers(make_user: Any, api_as: Any) -> dict[str, ApiClient]:
    nobody = make_user("nobody", username="nobody")
    reviewer = make_user("reviewer", username="rita")
    return {
        "owner may not view decisions": api_as(nobody),
        "token lacks decisions:read": api_as(reviewer, ["events:read"]),
    }


@pytest.mark.parametrize(("name", "template", "expected"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_decisions_hidden_without_scope_or_permission(
    rejected, make_user, api_as, root, name, template, expected
):
    """No outcome, reason or decider reaches a caller who may not read decisions."""
    path = template.format(**rejected)
    for caller, client in _callers(make_user, api_as).items():
        response = client.get(path)
        if expected == 403:
            assert response.status_code == 403, (caller, response.content)
            assert response.json()["error"]["code"] in {"permission_denied", "missing_scope"}
            continue
        assert response.status_code == 200, (caller, response.content)
        text = response.content.decode()
        assert REASON not in text, caller
        assert root.get_username() not in text, caller
        assert '"rejected"' not in text, caller
        approvals = [item["approval"] for item in _events(response.json()) if "approval" in item]
        assert approvals, caller
        assert all(approval is None for approval in approvals), caller


@pytest.mark.parametrize(("name", "template", "expected"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_decisions_shown_with_scope_and_permission(
    rejected, make_user, api_as, name, template, expected
):
    """A reviewer's token with decisions:read sees the outcome everywhere."""
    client = api_as(make_user("reviewer", username="rita"), ["events:read", "decisions:read"])
    response = client.get(template.format(**rejected))
    assert response.status_code == 200, response.content
    if name != "decision list":  # the queue lists pending decisions only
        assert "rejected" in json.dumps(response.json())


def _events(body: dict[str, Any]) -> list[dict[str, Any]]:
    if "results" in body:
        return [item.get("event", item) for item in body["results"]]
    return [body]
