"""``/api/v1/events`` and the other read endpoints, through the real URL stack."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from decisioning.models import Decision
from tests.traces.api.conftest import T0, approval_payload, event_payload, later
from traces import TraceEvent
from traces.models import EventRecord

pytestmark = pytest.mark.django_db


def _post(api: Any, body: Any, status: int) -> Any:
    response = api.post("/api/v1/events", body)
    assert response.status_code == status, response.content
    return response.json()


def test_post_one_event_creates_it_and_get_returns_to_dict_plus_two_keys(api):
    """One event: 201 with its id; GET returns exactly to_dict() plus recorded_at and approval."""
    payload = event_payload()
    answer = _post(api, payload, 201)
    assert answer == {"id": payload["id"], "duplicate": False, "decision_id": None}
    resource = api.get(f"/api/v1/events/{payload['id']}").json()
    assert set(resource) == {"id", "timestamp", "duration", "data", "recorded_at", "approval"}
    assert {k: resource[k] for k in ("id", "timestamp", "duration", "data")} == payload
    assert resource["approval"] is None
    assert TraceEvent.from_dict(resource).to_dict() == payload


def test_post_batch_in_order_with_decision_ids(api):
    """A batch answers each event in order; an event needing approval names its decision."""
    plain, needing = event_payload(), approval_payload()
    answer = _post(api, {"events": [plain, needing]}, 201)
    decision = Decision.objects.get()
    assert answer == {
        "events": [
            {"id": plain["id"], "duplicate": False, "decision_id": None},
            {"id": needing["id"], "duplicate": False, "decision_id": str(decision.pk)},
        ]
    }
    approval = api.get(f"/api/v1/events/{needing['id']}").json()["approval"]
    assert approval == {
        "decision_id": str(decision.pk),
        "status": "pending",
        "decided_by": None,
        "decided_at": None,
        "reason": None,
        "rule": None,
    }


def test_identical_resend_is_a_duplicate_200(api):
    """Re-sending identical content is safe: 200, duplicate true, nothing written twice."""
    payload = approval_payload()
    del payload["data"]["decision"]["id"]
    first = _post(api, payload, 201)
    again = _post(api, payload, 200)
    assert again == {**first, "duplicate": True}
    assert EventRecord.objects.count() == 1
    assert Decision.objects.count() == 1


def test_resend_with_other_content_is_409_naming_the_id(api):
    """The same id with other content: 409 event_conflict naming the id, nothing written."""
    payload = event_payload()
    _post(api, payload, 201)
    changed = {**payload, "data": {**payload["data"], "description": "Other"}}
    answer = _post(api, {"events": [event_payload(), changed]}, 409)
    assert answer["error"]["code"] == "event_conflict"
    assert answer["error"]["details"][0]["index"] == 1
    assert payload["id"] in answer["error"]["details"][0]["message"]
    assert EventRecord.objects.count() == 1


def test_batch_with_a_duplicate_and_a_new_event_is_201(api):
    """Anything created makes it 201; the identical one is marked duplicate."""
    payload = event_payload()
    _post(api, payload, 201)
    fresh = event_payload()
    answer = _post(api, {"events": [payload, fresh]}, 201)
    assert [e["duplicate"] for e in answer["events"]] == [True, False]


def test_bad_batch_lists_every_problem_and_writes_nothing(api):
    """All or nothing: one 422 lists the index and field of every problem."""
    bad_actor = event_payload(actor={"id": "", "type": "robot"})
    bad_outcome = event_payload(outcome="exploded")
    answer = _post(api, {"events": [event_payload(), bad_actor, bad_outcome]}, 422)
    error = answer["error"]
    assert error["code"] == "validation_error"
    fields = {(d["index"], d["field"]) for d in error["details"]}
    assert (1, "data.actor.id") in fields or (1, "data.actor.type") in fields
    assert (2, "data.outcome") in fields
    assert EventRecord.objects.count() == 0


def test_validation_messages_are_the_value_objects(api):
    """The API refuses with the same message as the fluent client."""
    with pytest.raises(ValueError, match="outcome must be one of") as info:
        TraceEvent.from_dict(event_payload(outcome="exploded"))
    answer = _post(api, event_payload(outcome="exploded"), 422)
    assert answer["error"]["details"][0]["message"] == str(info.value)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": []}, "events"),
        ({"events": "x"}, "events"),
        ({"events": [], "extra": 1}, "extra"),
    ],
)
def test_batch_shape_errors_are_422(api, body, field):
    """An empty or malformed batch, or keys beside events, is 422 naming the field."""
    answer = _post(api, body, 422)
    assert answer["error"]["details"][0]["field"] == field


def test_batch_over_the_limit_is_422(api, settings):
    """More events than TRACES_API_MAX_BATCH: 422."""
    settings.TRACES_API_MAX_BATCH = 2
    answer = _post(api, {"events": [event_payload() for _ in range(3)]}, 422)
    assert "1 to 2 events" in answer["error"]["message"]


def _seed(api: Any) -> list[dict[str, Any]]:
    payloads = [
        event_payload(timestamp=T0, event_type="order.created"),
        event_payload(event_type="order.paid", tags=["vip"]),
        event_payload(event_type="refund.issued", actor={"id": "bob", "type": "user"}),
    ]
    for minutes, payload in enumerate(payloads):
        payload["timestamp"] = later(minutes)
    _post(api, {"events": payloads}, 201)
    return payloads


def test_list_newest_first_with_cursor_and_next_link(api):
    """Keyset pages: next_cursor and an absolute next link that keeps the filters."""
    payloads = _seed(api)
    first = api.get("/api/v1/events", {"limit": 2, "actor_type": ["ai_agent", "user"]}).json()
    assert [e["id"] for e in first["results"]] == [payloads[2]["id"], payloads[1]["id"]]
    assert first["next"].startswith("http://testserver/api/v1/events?")
    assert "actor_type=ai_agent" in first["next"]
    assert "actor_type=user" in first["next"]
    second = api.get(first["next"].removeprefix("http://testserver")).json()
    assert [e["id"] for e in second["results"]] == [payloads[0]["id"]]
    assert second["next_cursor"] is None
    assert second["next"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": ["bob"]}, [2]),
        ({"actor": ["bob", "pricing-ai"]}, [2, 1, 0]),
        ({"event_type": ["order.*"]}, [1, 0]),
        ({"event_type": ["order.paid", "refund.issued"]}, [2, 1]),
        ({"tag": ["vip"]}, [1]),
        ({"tag": ["vip", "checkout"]}, [2, 1, 0]),
        ({"actor_type": "user", "event_type": "order.*"}, []),
        ({"correlation_id": "flow-1"}, [2, 1, 0]),
        ({"correlation_id": "other"}, []),
        ({"since": later(1), "until": later(2)}, [1]),
        ({"outcome": ["success", "failure"]}, [2, 1, 0]),
    ],
)
def test_list_filters_or_within_and_across(api, query, expected):
    """Repeated values OR within one filter; different filters AND."""
    payloads = _seed(api)
    results = api.get("/api/v1/events", query).json()["results"]
    assert [e["id"] for e in results] == [payloads[i]["id"] for i in expected]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"actor_type": "robot"}, "actor_type"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-12-01T09:00:00"}, "since"),
        ({"object_type": "order"}, "object_id"),
        ({"tag": [f"t{i}" for i in range(11)]}, "tag"),
        ({"cursor": "forged"}, "cursor"),
        ({"actor": "a\nb"}, "actor"),
    ],
)
def test_list_bad_parameters_are_400_naming_the_field(api, query, field):
    """A bad parameter is 400 bad_parameter/bad_cursor with the field in the details."""
    response = api.get("/api/v1/events", query)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] in {"bad_parameter", "bad_cursor"}
    assert field in {detail.get("field") for detail in error["details"]}


def test_detail_unknown_or_malformed_id_is_404(api):
    """An unknown or malformed id: 404 not_found."""
    for event_id in (str(uuid.uuid4()), "not-a-uuid"):
        response = api.get(f"/api/v1/events/{event_id}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_chain_root_first_with_depths(api):
    """The chain: root first, each event before its children, with depths."""
    root = event_payload()
    child = event_payload(parent_event_id=root["id"])
    grandchild = event_payload(parent_event_id=child["id"])
    _post(api, {"events": [grandchild, child, root]}, 201)
    chain = api.get(f"/api/v1/events/{child['id']}/chain").json()["results"]
    assert [(step["depth"], step["event"]["id"]) for step in chain] == [
        (0, root["id"]),
        (1, child["id"]),
        (2, grandchild["id"]),
    ]
    assert api.get(f"/api/v1/events/{uuid.uuid4()}/chain").status_code == 404


def test_object_history_oldest_first_by_id_or_external_id(api):
    """History by object id or external id, oldest first, paged."""
    objects = [{"id": "ord-1", "type": "order", "external_id": "EXT-1"}]
    payloads = [event_payload(objects=objects) for _ in range(3)]
    for minutes, payload in enumerate(payloads):
        payload["timestamp"] = later(minutes)
    _post(api, {"events": payloads}, 201)
    for key in ("ord-1", "EXT-1"):
        page = api.get(f"/api/v1/objects/order/{key}/history", {"limit": 2}).json()
        assert [e["id"] for e in page["results"]] == [payloads[0]["id"], payloads[1]["id"]]
        assert page["next_cursor"]
    assert api.get("/api/v1/objects/planet/ord-1/history").status_code == 404


def test_actor_detail_and_unknown_actor(api):
    """The actor's to_dict() and a summary; an unknown actor is 404."""
    _seed(api)
    answer = api.get("/api/v1/actors/ai_agent/pricing-ai").json()
    assert answer["actor"]["id"] == "pricing-ai"
    assert answer["actor"]["model"] == "m1"
    assert answer["summary"]["total_events"] == 2
    assert api.get("/api/v1/actors/ai_agent/nobody").status_code == 404
    assert api.get("/api/v1/actors/robot/pricing-ai").status_code == 404


def test_actor_summary_counts_its_latest_events_and_says_when_capped(api, monkeypatch):
    """The summary covers the actor's latest ACTOR_STATS_LIMIT events (in the period, if given)."""
    from django.utils import timezone

    from traces import selectors

    payloads = _seed(api)
    recent = event_payload(event_type="price.checked")
    recent["timestamp"] = (timezone.now() - timedelta(minutes=5)).isoformat()
    _post(api, recent, 201)
    whole = api.get("/api/v1/actors/ai_agent/pricing-ai").json()["summary"]
    assert whole["total_events"] == 3
    assert whole["by_event_type"] == {"order.created": 1, "order.paid": 1, "price.checked": 1}
    assert whole["first_event_at"] == payloads[0]["timestamp"]
    assert (whole["capped"], whole["period"], whole["since"]) == (False, None, None)
    hour = api.get("/api/v1/actors/ai_agent/pricing-ai", {"period": "1h"}).json()["summary"]
    assert hour["total_events"] == 1
    assert hour["by_event_type"] == {"price.checked": 1}
    assert hour["period"] == "1h"
    assert hour["since"] is not None
    monkeypatch.setattr(selectors, "ACTOR_STATS_LIMIT", 2)
    capped = api.get("/api/v1/actors/ai_agent/pricing-ai").json()["summary"]
    assert capped["capped"] is True
    assert capped["total_events"] == 2
    assert capped["first_event_at"] == payloads[1]["timestamp"]


@pytest.mark.parametrize("period", ["1y", "24H", "7d\x00", "x" * 10_000, "30d;DROP", " 7d"])
def test_actor_summary_refuses_an_unknown_period(api, period):
    _seed(api)
    answer = api.get("/api/v1/actors/ai_agent/pricing-ai", {"period": period})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_parameter"
    assert "period must be one of 1h, 24h, 7d, 30d" in answer.json()["error"]["message"]


def test_search_best_match_first_within_filters(api):
    """Search answers matches only, within the /events filters."""
    payloads = _seed(api)
    results = api.get("/api/v1/search", {"q": "placed", "actor_type": "user"}).json()["results"]
    assert [e["id"] for e in results] == [payloads[2]["id"]]
    assert api.get("/api/v1/search", {"q": ""}).json() == {"results": []}


def test_stats_is_the_client_dict(api):
    """/stats is DecisionTraceClient().stats() as JSON."""
    from traces import DecisionTraceClient

    _seed(api)
    stats = api.get("/api/v1/stats").json()
    expected = DecisionTraceClient().stats()
    assert stats["total_events"] == expected["total_events"] == 3
    assert stats["by_event_type"] == expected["by_event_type"]
