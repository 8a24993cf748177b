"""DecisionTraceClient over HTTP: reads, the query's parameters, spans per context, big batches."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest

from decision_trace import (
    Actor,
    ActorType,
    ApiError,
    DecisionTraceClient,
    EventOutcome,
    ObjectType,
    RiskLevel,
    TraceEvent,
    TraceValidationError,
)
from decision_trace.ecommerce import EcommerceClient, EcommerceEventType


@pytest.fixture
def client(server) -> DecisionTraceClient:
    return DecisionTraceClient(server.url, server.token, backoff=0.01)


def _last_query(server) -> list[tuple[str, str]]:
    _, path, _ = server.requests[-1]
    return parse_qsl(urlsplit(path).query)


def test_event_round_trip(client):
    """What is recorded reads back equal, through to_dict/from_dict and JSON."""
    event_id = (
        client.trace("order.refunded", "Refund")
        .by(Actor.user("u-1", "Jane", role="support"))
        .because("Defect", context={"amount": "9.99"}, alternatives=[{"action": "replace"}])
        .affecting_order("ord-1", {"status": "refunded"})
        .with_tags("refund")
        .at(datetime(2024, 6, 1, 12, tzinfo=timezone(timedelta(hours=2))))
        .record()
    )
    event = client.get_event(event_id)
    assert isinstance(event, TraceEvent)
    assert event.actor == Actor.user("u-1", "Jane", role="support")
    assert event.timestamp == datetime(2024, 6, 1, 10, tzinfo=UTC)
    assert event.objects[0].state_after == {"status": "refunded"}
    assert client.get_event(str(uuid.uuid4())) is None


def test_query_sends_the_contracts_parameters(server, client):
    client.query(
        start=datetime(2024, 1, 1),  # noqa: DTZ001 - a naive start is read as UTC
        end=datetime(2024, 1, 31, tzinfo=UTC),
        event_types=["order.*", EcommerceEventType.ORDER_CREATED],
        actor_types=[ActorType.AI_AGENT],
        actor_ids=["a-1", "a-2"],
        object_types=[ObjectType.ORDER],
        object_ids=["ord-1"],
        outcomes=[EventOutcome.FAILURE],
        tags=["x"],
        risk_levels=[RiskLevel.HIGH],
        requires_approval=True,
        correlation_id="c-1",
        limit=10,
    )
    assert _last_query(server) == [
        ("since", "2024-01-01T00:00:00+00:00"),
        ("until", "2024-01-31T00:00:00+00:00"),
        ("event_type", "order.*"),
        ("event_type", "order.created"),
        ("actor_type", "ai_agent"),
        ("actor", "a-1"),
        ("actor", "a-2"),
        ("object_type", "order"),
        ("object_id", "ord-1"),
        ("outcome", "failure"),
        ("tag", "x"),
        ("risk", "high"),
        ("approval", "required"),
        ("correlation_id", "c-1"),
        ("limit", "10"),
    ]


def test_query_reads_newest_first(client):
    first = client.trace("a.b").at(datetime(2024, 1, 1, tzinfo=UTC)).record()
    second = client.trace("a.b").at(datetime(2024, 1, 2, tzinfo=UTC)).record()
    page = client.query(event_types=["a.b"])
    assert [e.id for e in page] == [second, first]
    assert page.next_cursor is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.query(tags=5), "tags must be a list"),
        (lambda c: c.query(requires_approval=False), "requires_approval=False"),
        (lambda c: c.query(offset=-1), "offset"),
        (lambda c: c.query(offset=10_001), "offset"),
        (lambda c: c.query(offset=5, cursor="abc"), "offset"),
        (lambda c: c.get_event("not-a-uuid"), "event id"),
        (lambda c: c.get_chain("x" * 1000), "event id"),
        (lambda c: c.get_object_history(external_id="S", cursor="c"), "pass object_type"),
        (lambda c: c.get_object_history(object_type="order"), "external_id or object_id"),
        (lambda c: c.get_object_history("SKU-1", object_type="planet"), "object_type"),
    ],
)
def test_bad_reads_are_refused_before_sending(server, client, call, message):
    with pytest.raises(TraceValidationError, match=message):
        call(client)
    assert not server.requests


def test_unknown_filter_is_a_type_error(client):
    with pytest.raises(TypeError, match="colour"):
        client.search("x", colour="blue")


def test_object_history_path_is_quoted(server, client):
    client.get_object_history("SKU/1 ?#", object_type=ObjectType.PRODUCT)
    assert server.requests[-1][1].startswith("/api/v1/objects/product/SKU%2F1%20%3F%23/history")


def test_object_history_without_type_reads_events_oldest_first(server, client):
    """Without object_type the history comes from /events?object_id=, oldest first."""
    older = (
        client.trace("a.b")
        .affecting_product("p-1", external_id="SKU-1")
        .at(datetime(2024, 1, 1, tzinfo=UTC))
    )
    newer = (
        client.trace("a.b")
        .affecting_object("inventory", "SKU-1")
        .at(datetime(2024, 1, 2, tzinfo=UTC))
    )
    ids = client.record_many([newer, older])
    history = client.get_object_history(external_id="SKU-1")
    assert [e.id for e in history] == [ids[1], ids[0]]
    assert ("object_id", "SKU-1") in _last_query(server)
    with pytest.raises(TraceValidationError, match="pass object_type"):
        client.get_object_history(external_id="SKU-1", limit=1)


def test_stats_times_are_datetimes(client):
    client.trace("a.b").at(datetime(2024, 1, 1, tzinfo=UTC)).record()
    stats = client.stats()
    assert stats["total_events"] == 1
    assert stats["first_event_at"] == datetime(2024, 1, 1, tzinfo=UTC)


def test_record_many_splits_into_requests_of_1000(server, client):
    """A big batch goes in requests of at most 1,000 events, parents first; ids in order."""
    parent = client.trace("import.started")
    items = [parent] + [
        client.trace("import.row", str(n)).child_of(parent.event_id) for n in range(2100)
    ]
    ids = client.record_many(items)
    assert ids == [item.event_id for item in items]
    assert [count for _, count, _ in server.posts] == [1000, 1000, 101]
    assert len({key for key, _, _ in server.posts}) == 3


def test_spans_are_per_thread(server, client):
    """A span's scope is per context: another thread's record is not deferred into it."""
    other: list[str] = []
    with client.span("outer") as span:
        worker = threading.Thread(target=lambda: other.append(client.trace("other").record()))
        worker.start()
        worker.join()
        assert server.stored[other[0]] == 1  # stored at once, not with the span
    assert server.events[other[0]]["data"]["parent_event_id"] is None
    assert server.events[span.event_id]["data"]["event_type"] == "outer"


def test_span_of_another_server_is_not_joined(server, client):
    """Two clients of different servers keep their own spans."""
    elsewhere = DecisionTraceClient("http://127.0.0.1:9", "t", max_retries=0)
    recorded: list[str] = []

    @elsewhere.span("elsewhere.run")
    def run() -> None:
        recorded.append(client.trace("here").record())
        assert server.stored[recorded[0]] == 1  # not deferred into the other server's span

    with pytest.raises(ApiError, match="Connection refused"):
        run()  # the span itself cannot reach its (absent) server


def test_ecommerce_client_over_http(server):
    """EcommerceClient methods build the same events over HTTP; the approval rule applies."""
    client = EcommerceClient(server.url, server.token)
    order = client.order_created(
        order_id="ord-1",
        customer_id="c-1",
        total="10.00",
        items=[{"sku": "S", "qty": 1, "price": 10}],
    ).record()
    advice = client.ai_recommendation(
        recommendation_type="restock",
        recommendation={"sku": "S"},
        context={},
        confidence=0.8,
        model="m-1",
    ).record()
    assert server.events[order]["data"]["correlation_id"] == "ord-1"
    assert server.events[advice]["data"]["decision"]["requires_approval"] is True
    assert advice.decision_id == server.decisions[advice]
    relaxed = EcommerceClient(server.url, server.token, approval_risk_level=None)
    quiet = relaxed.ai_recommendation(
        recommendation_type="restock", recommendation={}, context={}, confidence=0.5, model="m"
    ).record()
    assert quiet.decision_id is None


def test_ecommerce_client_refuses_a_bad_approval_level():
    with pytest.raises(TraceValidationError, match="approval_risk_level"):
        EcommerceClient("http://127.0.0.1:9", approval_risk_level="extreme")


def test_client_as_context_manager_closes(server):
    with DecisionTraceClient(server.url, server.token, batch=True) as client:
        event_id = client.trace("a.b").record()
    assert server.stored[event_id] == 1


def test_known_at_is_sent_on_every_read(server, client):
    """ "As known at" goes to the server as ?known_at= (ISO 8601, UTC) on each read."""
    known = datetime(2024, 3, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    sent = ("known_at", "2024-03-01T10:00:00+00:00")
    client.query(known_at=known, limit=5)
    assert sent in _last_query(server)
    client.get_event(str(uuid.uuid4()), known_at=known)
    assert _last_query(server) == [sent]
    client.get_object_history("ord-1", object_type=ObjectType.ORDER, known_at=known)
    assert sent in _last_query(server)
    client.get_object_history(object_id="ord-1", known_at=known)
    assert sent in _last_query(server)
