"""The approval gate: ``GET /api/v1/decisions/{id}?wait=N`` and the SDK's waiting calls."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import OperationalError, connection

from decision_trace import DecisionTraceClient as SdkClient
from decision_trace.exceptions import TracesError, TraceValidationError
from decisioning.models import Decision
from decisioning.review import decision_transition
from tests.traces.api.conftest import approval_payload
from traces import DecisionTraceClient
from traces.api.models import Scope
from traces.api.tokens import service_token_create


def _decide_later(
    decision_id: str, user: Any, action: str, delay: float
) -> tuple[threading.Thread, list[float]]:
    """Decide in another thread (another connection) after ``delay``.

    Returns the thread and a list that gets the time the decision committed
    (join the thread first: the waiter may see the decision before the thread
    writes the time down).
    """
    decided: list[float] = []

    def run() -> None:
        time.sleep(delay)
        try:
            decision_transition(
                decision=Decision.objects.get(pk=decision_id), action=action, user=user, reason="r"
            )
            decided.append(time.monotonic())
        finally:
            if connection.vendor != "sqlite":
                connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, decided


@pytest.fixture
def live(live_server: Any, django_user_model: Any) -> tuple[str, str, Any]:
    owner = django_user_model.objects.create_superuser("gate", "gate@example.com", "pw")
    token = service_token_create(
        owner=owner, name="gate", scopes=[scope.value for scope in Scope]
    ).text
    return live_server.url, token, owner


@pytest.mark.django_db(transaction=True)
def test_wait_answers_within_a_second_of_the_decision(live):
    """A waiting GET returns the approval within 1 s of it being taken elsewhere."""
    url, token, owner = live
    client = SdkClient(url, token)
    decision_id = client.submit_for_approval(client.trace("refund.requested", "big refund"))
    decider, decided = _decide_later(decision_id, owner, "approve", delay=1.5)
    started = time.monotonic()
    result = client.wait_for_decision(decision_id, timeout=20)
    answered = time.monotonic()
    decider.join(timeout=20)
    assert result.approved
    assert not result.rejected
    assert result.decided_by == "gate"
    assert decided
    assert answered - decided[0] < 1.0
    assert answered - started < 10


@pytest.mark.django_db(transaction=True)
def test_request_approval_over_http_rejected(live):
    url, token, owner = live
    client = SdkClient(url, token)
    builder = client.trace("pricing.change_proposed", "cut price")
    decider = _decide_when_pending(owner, "reject")
    result = client.request_approval(builder, timeout=20)
    decider.join(timeout=20)
    assert (result.rejected, result.approved, result.reason) == (True, False, "r")


def _decide_when_pending(user: Any, action: str) -> threading.Thread:
    """Decide the first pending decision in another thread, once there is one.

    Join the thread before the test ends: what the decision's commit runs
    afterwards in that thread (sealing) must not overlap the test's teardown,
    which on SQLite's in-memory database found the tables locked.
    """

    def run() -> None:
        deadline = time.monotonic() + 15
        try:
            while time.monotonic() < deadline:
                try:
                    decision = Decision.objects.filter(outcome="pending").first()
                    if decision is not None:
                        decision_transition(decision=decision, action=action, user=user, reason="r")
                        return
                except OperationalError:
                    pass  # SQLite's in-memory test database: the waiter's read holds the table
                time.sleep(0.1)
        finally:
            if connection.vendor != "sqlite":
                connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_wait_times_out_with_the_current_state(live):
    url, token, _ = live
    client = SdkClient(url, token)
    decision_id = client.submit_for_approval(client.trace("refund.requested", "x"))
    started = time.monotonic()
    result = client.wait_for_decision(decision_id, timeout=1)
    assert 0.9 < time.monotonic() - started < 5
    assert (result.status, result.approved, result.rejected) == ("pending", False, False)
    assert result.decision_id == decision_id


def _request_approval_retrying(client: DecisionTraceClient) -> Any:
    """``request_approval``, again while SQLite's in-memory test database says "locked".

    Its shared cache refuses a write while the deciding thread's connection
    reads the same table (a file database in WAL mode waits instead); the
    refused record rolled back whole, so trying again is safe.
    """
    for _ in range(50):
        try:
            return client.request_approval(client.trace("pricing.change_proposed", "x"), timeout=20)
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05)
    raise AssertionError("the test database stayed locked")


@pytest.mark.django_db(transaction=True)
def test_in_process_request_approval(make_user):
    """The same calls in-process: the decision taken in another thread is seen."""
    admin = make_user("admin")
    client = DecisionTraceClient()
    decider = _decide_when_pending(admin, "approve")
    result = _request_approval_retrying(client)
    decider.join(timeout=20)
    assert result.approved
    assert result.decided_by == admin.get_username()
    with pytest.raises(TracesError, match="No review decision"):
        client.wait_for_decision("00000000-0000-0000-0000-000000000001", timeout=0)


@pytest.mark.parametrize("timeout", [-1, float("nan"), "10", None, True])
def test_bad_timeouts_are_refused(db, timeout):
    client = DecisionTraceClient()
    with pytest.raises(TraceValidationError, match="timeout"):
        client.wait_for_decision("00000000-0000-0000-0000-000000000001", timeout=timeout)


@pytest.mark.django_db
@pytest.mark.parametrize("wait", ["61", "-1", "1.5", "abc", "1e3", "\x00", "٣", "9" * 50, ""])
def test_bad_wait_parameters_are_400(api, wait):
    """Wrong, huge and hostile wait values: 400 bad_parameter, never a 500 or a long hold."""
    decision_id = api.post("/api/v1/events", approval_payload()).json()["decision_id"]
    response = api.get(f"/api/v1/decisions/{decision_id}", {"wait": wait})
    if wait == "":
        assert response.status_code == 400 or response.status_code == 200
    else:
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "bad_parameter"


@pytest.mark.django_db
def test_wait_on_a_final_decision_returns_at_once(api, django_assert_max_num_queries):
    decision_id = api.post("/api/v1/events", approval_payload()).json()["decision_id"]
    api.post(f"/api/v1/decisions/{decision_id}/actions", {"action": "reject", "reason": "no"})
    started = time.monotonic()
    with django_assert_max_num_queries(6):
        response = api.get(f"/api/v1/decisions/{decision_id}", {"wait": "60"})
    assert time.monotonic() - started < 1
    assert response.json()["status"] == "rejected"


@pytest.mark.django_db
def test_wait_on_an_unknown_decision_is_404(api):
    response = api.get("/api/v1/decisions/00000000-0000-0000-0000-000000000001", {"wait": "5"})
    assert response.status_code == 404
