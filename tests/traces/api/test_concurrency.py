"""Races over a real server (PostgreSQL): one write per Idempotency-Key, one winner per decision."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from django.db import connection

from decisioning.models import Decision, DecisionTransition, IdempotencyKey
from decisioning.review import review_groups_ensure
from tests.traces.api.conftest import ALL_SCOPES, approval_payload, event_payload
from traces.api.tokens import service_token_create
from traces.models import EventRecord

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): SQLite serialises every writer",
    ),
]


def _race(count: int, send: Any) -> list[httpx.Response]:
    barrier = threading.Barrier(count)

    def one(index: int) -> httpx.Response:
        barrier.wait()
        return send(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@pytest.fixture
def owner(transactional_db, django_user_model) -> Any:
    review_groups_ensure()
    return django_user_model.objects.create_superuser("racer", "r@example.com", "pw-race-1")


def _token(user: Any) -> str:
    return service_token_create(owner=user, name="race", scopes=ALL_SCOPES).text


def test_sixteen_identical_posts_with_one_key_write_once(live_server, owner):
    """16 at once: one 201 write; the rest replay it (201 + header) or are told it runs (409)."""
    token = _token(owner)
    payload = event_payload()
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "race-1"}
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        responses = _race(16, lambda i: http.post("/api/v1/events", json=payload, headers=headers))
    replays = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    writes = [r for r in responses if r.status_code == 201 and r not in replays]
    in_use = [r for r in responses if r.status_code == 409]
    assert len(writes) == 1
    assert len(replays) + len(in_use) == 15
    assert all(r.json()["error"]["code"] == "idempotency_key_in_use" for r in in_use)
    assert all(r.json() == writes[0].json() for r in replays)
    assert EventRecord.objects.count() == 1
    assert IdempotencyKey.objects.get().status == "completed"


def test_two_tokens_racing_to_approve_one_wins(live_server, owner, django_user_model):
    """Two reviewers approve at once: one 200, one 409; one transition."""
    other = django_user_model.objects.create_superuser("racer2", "r2@example.com", "pw-race-2")
    tokens = [_token(owner), _token(other)]
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        created = http.post(
            "/api/v1/events",
            json=approval_payload(),
            headers={"Authorization": f"Bearer {tokens[0]}"},
        )
        decision_id = created.json()["decision_id"]
        responses = _race(
            2,
            lambda i: http.post(
                f"/api/v1/decisions/{decision_id}/actions",
                json={"action": "approve", "expected_outcome": "pending"},
                headers={"Authorization": f"Bearer {tokens[i]}"},
            ),
        )
    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["error"]["code"] == "decision_conflict"
    assert Decision.objects.get().outcome == "approved"
    assert DecisionTransition.objects.count() == 1
