"""Pinned query counts: every GET costs the same for 1 row as for 20."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from decisioning.models import Decision
from tests.traces.api.conftest import approval_payload, later

pytestmark = pytest.mark.django_db

OBJECTS = [{"id": "ord-1", "type": "order", "external_id": "EXT-1"}]


def _seed(api: Any, count: int) -> dict[str, str]:
    root = approval_payload(objects=OBJECTS, tags=["a", "b"])
    payloads = [root]
    for minutes in range(1, count):
        payload = approval_payload(objects=OBJECTS, parent_event_id=root["id"])
        payload["timestamp"] = later(minutes)
        payloads.append(payload)
    answer = api.post("/api/v1/events", {"events": payloads}).json()
    decision_id = answer["events"][0]["decision_id"]
    # Claimed, so the claim's holder is part of what each page reads.
    for event in answer["events"]:
        api.post(f"/api/v1/decisions/{event['decision_id']}/claim", {})
    api.post(f"/api/v1/decisions/{decision_id}/actions", {"action": "defer"})
    return {"event": root["id"], "decision": decision_id}


# Queries: the endpoint's own (the token and its owner come from the process's token cache,
# filled by the warm-up request).
# Events: the page, its corrections, its objects, its approval decisions. Decisions: the page and
# the transitions prefetch (none when the page is empty); the queue reads its overdue part and
# then the rest (each with its prefetch when it has rows).
GETS = [
    ("/api/v1/events?limit=50", 4),
    ("/api/v1/events?actor_type=ai_agent&tag=a&tag=b&outcome=success", 4),
    ("/api/v1/events/{event}", 4),
    ("/api/v1/events/{event}/chain", 6),
    ("/api/v1/objects/order/EXT-1/history", 4),
    ("/api/v1/actors/ai_agent/pricing-ai", 2),
    ("/api/v1/actors/ai_agent/pricing-ai?period=30d", 2),
    ("/api/v1/search?q=placed", 5),
    ("/api/v1/stats", 4),
    ("/api/v1/decisions?tab=deferred", 3),
    ("/api/v1/decisions?tab=pending", 3),
    ("/api/v1/decisions/{decision}", 2),
]


@pytest.mark.parametrize(("path", "queries"), GETS)
@pytest.mark.parametrize("rows", [1, 20])
def test_get_query_count_is_pinned(api, path, queries, rows):
    """The same number of queries whatever the number of rows."""
    ids = _seed(api, rows)
    api.get("/api/v1/stats")  # last_used_at is written once a minute; not in the count
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path.format(**ids))
    assert response.status_code == 200, response.content
    expected = queries - 1 if rows == 1 and path.endswith("tab=pending") else queries
    if path.startswith("/api/v1/search") and connection.vendor == "postgresql":
        expected += 1  # where the ranking's window of newest documents starts
    assert len(captured) == expected, [q["sql"][:120] for q in captured]


@pytest.mark.parametrize("rows", [3, 20])
def test_queue_with_overdue_and_others_is_pinned(api, rows):
    """Overdue rows and others on one page: two parts, each with its prefetch, whatever the rows."""
    _seed(api, rows)
    pending = list(Decision.objects.filter(outcome="pending").order_by("effective_at"))
    Decision.objects.filter(pk__in=[d.pk for d in pending[: len(pending) // 2]]).update(
        due_at=timezone.now() - timedelta(minutes=5)
    )
    api.get("/api/v1/stats")
    with CaptureQueriesContext(connection) as captured:
        response = api.get("/api/v1/decisions")
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == len(pending)
    assert len(captured) == 4, [q["sql"][:120] for q in captured]


@pytest.mark.parametrize("count", [1, 20])
def test_new_events_are_written_without_looking_them_up_first(api, count):
    """New events: no probe for stored ids and no decision lookup; the write answers both."""
    payloads = [approval_payload() for _ in range(count)]
    api.get("/api/v1/stats")  # last_used_at is written once a minute; not in the count
    with CaptureQueriesContext(connection) as captured:
        response = api.post("/api/v1/events", {"events": payloads})
    assert response.status_code == 201, response.content
    sql = [query["sql"] for query in captured]
    assert not [s for s in sql if s.startswith('SELECT "traces_eventrecord"')], sql
    assert not [s for s in sql if s.startswith('SELECT "decisioning_decision"')], sql
    decisions = [event["decision_id"] for event in response.json()["events"]]
    assert all(decisions)
    assert len(set(decisions)) == count


def test_a_resent_batch_looks_up_what_is_stored_and_its_decisions(api):
    """A batch with a stored event: the write is refused, then the stored ones are looked up."""
    stored = approval_payload()
    first = api.post("/api/v1/events", stored).json()
    with CaptureQueriesContext(connection) as captured:
        response = api.post("/api/v1/events", {"events": [stored, approval_payload()]})
    assert response.status_code == 201, response.content
    answers = response.json()["events"]
    assert answers[0] == {**first, "duplicate": True}
    assert answers[1]["duplicate"] is False
    assert answers[1]["decision_id"]
    sql = [query["sql"] for query in captured]
    assert [s for s in sql if s.startswith('SELECT "decisioning_decision"')], sql


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/events"), ("post", "/api/v1/events"), ("get", "/api/v1/nowhere")],
)
def test_bearer_requests_get_no_cookies(api, method, path):
    """A bearer-token request starts no session and sets no CSRF or other cookie."""
    body = approval_payload() if method == "post" else None
    response = getattr(api, method)(path, body) if body else getattr(api, method)(path)
    assert response.status_code in (200, 201, 404), response.content
    assert not response.cookies
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.get("Vary", "")
