"""Webhooks end to end: outbox in the transaction, the real worker, a real local receiver."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from decision_trace import DecisionTrace, RiskLevel, TraceEvent
from decision_trace.webhooks import SIGNATURE_HEADER, WebhookSignatureError, verify_signature
from decisioning.models import Decision
from decisioning.review import decision_transition
from tests.traces.webhooks.receiver import Receiver
from traces.services import trace_record
from traces.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from traces.webhooks.sending import RETRY_FOR, UnsafeUrlError, delivery_attempt, sign, url_check

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _database_worker(settings):
    """The production backend: tasks wait in the database for the real worker (not Immediate)."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


@pytest.fixture
def allow_private(settings):
    settings.TRACES_WEBHOOKS_ALLOW_PRIVATE = True


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def _held(event_type: str = "refund.requested") -> TraceEvent:
    return TraceEvent(
        event_type=event_type,
        decision=DecisionTrace(reasoning="big", requires_approval=True, risk_level=RiskLevel.LOW),
    )


def _work() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def _endpoint(url: str, **changes) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(name="hook", url=url, **changes)


def test_one_signed_delivery_per_change(allow_private, receiver, make_user):
    """Pending, then approved: one POST each, signed, verified by the SDK helper; no repeats."""
    endpoint = _endpoint(receiver.url)
    event = _held()
    trace_record(event=event)
    assert receiver.received == []  # nothing before the worker runs
    _work()
    decision = Decision.objects.get()
    decision_transition(decision=decision, action="approve", user=make_user("admin"), reason="ok")
    _work()
    _work()
    assert len(receiver.received) == 2
    bodies = []
    for headers, body in receiver.received:
        verify_signature(body, headers[SIGNATURE_HEADER], endpoint.secret)
        bodies.append(json.loads(body))
    assert [b["type"] for b in bodies] == ["decision.pending", "decision.approved"]
    assert bodies[1]["data"]["decision_id"] == str(decision.pk)
    assert bodies[1]["data"]["decided_by"] is not None
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_receiver_down_then_up(allow_private):
    """Refused connection: pending with a retry time; once the receiver is up: delivered."""
    receiver = Receiver()
    _endpoint(receiver.url)
    trace_record(event=_held())
    _work()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "ConnectError" in delivery.response_excerpt
    assert delivery.next_attempt_at > timezone.now()
    # The retry task waits for next_attempt_at; bring both forward instead of sleeping.
    past = timezone.now() - timedelta(seconds=1)
    WebhookDelivery.objects.update(next_attempt_at=past)
    assert DBTaskResult.objects.filter(status="READY").update(run_after=past) == 1
    receiver.start()
    try:
        _work()
    finally:
        receiver.stop()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert len(receiver.received) == 1


def test_rollback_sends_nothing(allow_private, receiver):
    """A change rolled back leaves no delivery and no task: nothing is ever sent."""
    _endpoint(receiver.url)

    def record_then_fail() -> None:
        with transaction.atomic():
            trace_record(event=_held())
            raise RuntimeError("the caller failed after recording")

    with pytest.raises(RuntimeError):
        record_then_fail()
    _work()
    assert WebhookDelivery.objects.count() == 0
    assert DBTaskResult.objects.count() == 0
    assert receiver.received == []


def test_private_address_refused_without_the_setting(receiver):
    """Loopback is refused at send time: the receiver gets nothing; the log says why."""
    _endpoint(receiver.url)
    trace_record(event=_held())
    _work()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert "private, loopback or link-local" in delivery.response_excerpt
    assert receiver.received == []


def test_filters_by_change_and_event_type(allow_private, receiver):
    _endpoint(receiver.url, events=["decision.approved"])
    _endpoint(receiver.url, event_types=["pricing.*"])
    trace_record(event=_held("refund.requested"))
    assert WebhookDelivery.objects.count() == 0
    trace_record(event=_held("pricing.change"))
    assert WebhookDelivery.objects.count() == 1


def test_redirects_are_not_followed_and_bodies_truncated(allow_private):
    server = Receiver(status=302, body=b"x" * 5000).start()
    try:
        _endpoint(server.url)
        trace_record(event=_held())
        _work()
    finally:
        server.stop()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert len(delivery.response_excerpt) == 1000
    assert len(server.received) == 1


def test_gives_up_after_about_a_day(allow_private):
    """An attempt more than 24 h after the change marks the delivery failed."""
    _endpoint("http://127.0.0.1:9/closed")
    trace_record(event=_held())
    delivery = WebhookDelivery.objects.select_related("endpoint").get()
    result = delivery_attempt(delivery, now=delivery.created_at + RETRY_FOR)
    assert result.retry_at is None
    assert delivery.status == DeliveryStatus.FAILED


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://10.0.0.5/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:8000/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://localhost/",
        "http://db.internal/",
        "https://user:pw@example.com/",
        "http:///nohost",
    ],
)
def test_unsafe_urls_refused(url):
    with pytest.raises(UnsafeUrlError):
        url_check(url, resolve=False)


def test_public_address_allowed():
    url_check("https://93.184.215.14/hook", resolve=False)


def test_signature_helper_refuses_old_tampered_and_malformed():
    body = b'{"type":"decision.approved"}'
    header = sign(secret="s3cret", body=body.decode(), timestamp=1_700_000_000)
    verify_signature(body, header, "s3cret", now=1_700_000_100)
    with pytest.raises(WebhookSignatureError, match="old"):
        verify_signature(body, header, "s3cret", now=1_700_000_000 + 301)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(body + b" ", header, "s3cret", now=1_700_000_100)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(body, header, "other", now=1_700_000_100)
    for bad in (None, "", "v1=abc", "t=abc,v1=00", "t=1", "x" * 2000):
        with pytest.raises(WebhookSignatureError):
            verify_signature(body, bad, "s3cret", now=1_700_000_100)
