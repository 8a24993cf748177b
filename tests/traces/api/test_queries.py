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


# Queries: 1 token lookup; then the endpoint's own.
# Events: the page, its corrections, its objects, its approval decisions. Decisions: the page and
# the transitions prefetch (none when the page is empty); the queue reads its overdue part and
# then the rest (each with its prefetch when it has rows).
GETS = [
    ("/api/v1/events?limit=50", 5),
    ("/api/v1/events?actor_type=ai_agent&tag=a&tag=b&outcome=success", 5),
    ("/api/v1/events/{event}", 5),
    ("/api/v1/events/{event}/chain", 7),
    ("/api/v1/objects/order/EXT-1/history", 5),
    ("/api/v1/actors/ai_agent/pricing-ai", 8),
    ("/api/v1/search?q=placed", 6),
    ("/api/v1/stats", 7),
    ("/api/v1/decisions?tab=deferred", 4),
    ("/api/v1/decisions?tab=pending", 4),
    ("/api/v1/decisions/{decision}", 3),
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
    assert len(captured) == 5, [q["sql"][:120] for q in captured]
