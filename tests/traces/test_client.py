"""DecisionTraceClient: recording, spans, query filters, paging, reads in constant queries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from traces import (
    Actor,
    ActorType,
    DecisionTraceClient,
    EventOutcome,
    ObjectType,
    TraceEvent,
    TraceValidationError,
)
from traces.evidence.corrections import event_correct
from traces.models import EventRecord

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture
def client() -> DecisionTraceClient:
    return DecisionTraceClient()


def _seed(client: DecisionTraceClient) -> dict[str, str]:
    """A small store: one event per actor type, with distinct objects, outcomes, tags, risks."""
    ids = {}
    ids["user"] = (
        client.trace("order.created", "Order placed")
        .by_user("cust-1", "Jane")
        .affecting_order("ord-1")
        .affecting_product("prod-1", external_id="SKU-1")
        .with_tags("checkout")
        .with_correlation("req-1")
        .at(T0)
        .record()
    )
    ids["ai"] = (
        client.trace("price.updated", "Price raised")
        .by_ai("pricing-ai", "Pricing", confidence=0.9)
        .affecting_product("prod-1", external_id="SKU-1")
        .because("Demand is high")
        .with_risk("high")
        .requires_approval()
        .at(T0 + timedelta(hours=1))
        .record()
    )
    ids["compute"] = (
        client.trace("inventory.adjusted", "Stock synced")
        .by_compute("cron", "Sync", "warehouse")
        .affecting_inventory("SKU-2", 5, 4)
        .failed("timeout")
        .with_tags("nightly", "checkout")
        .at(T0 + timedelta(hours=2))
        .record()
    )
    ids["system"] = (
        client.trace("order.cancelled", "Order auto-cancelled")
        .by_system("fulfillment")
        .affecting_order("ord-2")
        .with_risk("low")
        .with_correlation("req-1")
        .at(T0 + timedelta(hours=3))
        .record()
    )
    return ids


def test_client_record_and_get_event_round_trip(client):
    """What is recorded comes back equal, with actor, decision and objects filled."""
    builder = (
        client.trace("refund.approved", "Refund")
        .by_ai("ai", "AI", model="m", version="1", confidence=0.5, team="x")
        .because(
            "Defect",
            action="refund",
            context={"amount": 10},
            alternatives=[{"action": "replace"}],
            rejection_reasons={"replace": "no stock"},
        )
        .affecting_order("ord-1", {"status": "refunded"}, external_id="E-1", channel="web")
        .affecting_inventory("SKU-1", 1, 2)
        .with_tags("refund")
        .with_data(total=12.5)
        .with_source("shop", "2001:db8::1")
        .with_correlation("c-1")
        .with_duration(0.25)
        .at(T0)
    )
    expected = builder.build()
    event_id = builder.record()
    assert event_id == expected.id
    assert client.get_event(event_id) == expected
    assert TraceEvent.from_dict(client.get_event(event_id).to_dict()) == expected


def test_client_get_event_unknown_and_malformed(client):
    assert client.get_event(str(uuid.uuid4())) is None
    with pytest.raises(TraceValidationError, match="event id"):
        client.get_event("nope")


def test_client_default_actor(client):
    """set_default_actor() applies to later traces unless a builder names another actor."""
    client.set_default_actor(Actor.system("scheduler"))
    first = client.trace("a").record()
    second = client.trace("b").by_user("u", "U").record()
    assert client.get_event(first).actor.id == "scheduler"
    assert client.get_event(second).actor.id == "u"
    with pytest.raises(TraceValidationError, match="an Actor or None"):
        client.set_default_actor("scheduler")


def test_span_success_records_duration_and_start_time(client):
    """A span stores one event with a measured duration, stamped when it started."""
    before = datetime.now(UTC)
    with client.span("report.generation", "Monthly report") as trace:
        trace.by_compute("report-service", "Report Generator")
    event = client.query()[0]
    assert event.event_type == "report.generation"
    assert event.outcome is EventOutcome.SUCCESS
    assert event.duration >= 0
    assert event.timestamp >= before
    assert event.actor.id == "report-service"


def test_span_failure_records_error_and_reraises(client):
    """An exception inside the span: outcome FAILURE with its text, and it propagates."""

    def fail() -> None:
        with client.span("sync.run") as trace:
            trace.by_system()
            raise KeyError("sku-9")

    with pytest.raises(KeyError):
        fail()
    event = client.query()[0]
    assert event.outcome is EventOutcome.FAILURE
    assert event.error == "KeyError: 'sku-9'"


def test_span_nesting_builds_a_chain(client):
    """Spans opened inside spans become children, stored together, parent first."""
    with client.span("workflow.run") as outer:
        with client.span("workflow.step", "one"), client.span("workflow.substep"):
            pass
        with client.span("workflow.step", "two"):
            pass
        assert EventRecord.objects.count() == 0  # stored when the outermost span ends
    chain = client.get_chain(outer.event_id)
    assert [(d, e.event_type, e.description) for d, e in chain.walk()] == [
        (0, "workflow.run", ""),
        (1, "workflow.step", "one"),
        (2, "workflow.substep", ""),
        (1, "workflow.step", "two"),
    ]


def test_span_nesting_resets_context_after_failure(client):
    """After a failed nested span, a new top-level span is a root again."""
    with pytest.raises(RuntimeError), client.span("outer"), client.span("inner"):
        raise RuntimeError("boom")
    with client.span("later") as later:
        pass
    assert client.get_event(later.event_id).parent_event_id is None
    outcomes = {e.event_type: e.outcome for e in client.query()}
    assert outcomes == {
        "outer": EventOutcome.FAILURE,
        "inner": EventOutcome.FAILURE,
        "later": EventOutcome.SUCCESS,
    }


def test_span_as_decorator(client):
    """A span also decorates a function: each call is one event."""

    @client.span("job.run")
    def work() -> int:
        return 3

    assert work() + work() == 6
    assert len(client.query(event_types=["job.run"])) == 2


def test_span_rejects_bad_event_type(client):
    with pytest.raises(TraceValidationError):
        client.span("")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["system", "compute", "ai", "user"]),
        ({"start": T0 + timedelta(hours=1)}, ["system", "compute", "ai"]),
        ({"end": T0 + timedelta(hours=1)}, ["user"]),
        (
            {
                "start": datetime(2024, 6, 1, 1, tzinfo=UTC),
                "end": datetime(2024, 6, 1, 3, tzinfo=UTC),
            },
            ["compute", "ai"],
        ),
        ({"event_types": ["order.*"]}, ["system", "user"]),
        ({"event_types": ["order.created", "price.updated"]}, ["ai", "user"]),
        ({"event_types": "price.updated"}, ["ai"]),
        ({"actor_types": [ActorType.AI_AGENT]}, ["ai"]),
        ({"actor_types": ["compute", "system"]}, ["system", "compute"]),
        ({"actor_ids": ["cust-1", "cron"]}, ["compute", "user"]),
        ({"object_types": [ObjectType.INVENTORY]}, ["compute"]),
        ({"object_ids": ["SKU-1"]}, ["ai", "user"]),
        ({"object_ids": ["prod-1"], "object_types": ["product"]}, ["ai", "user"]),
        ({"object_ids": ["ord-1"], "object_types": ["product"]}, []),
        ({"outcomes": [EventOutcome.FAILURE]}, ["compute"]),
        ({"tags": ["checkout"]}, ["compute", "user"]),
        ({"tags": ["nightly", "missing"]}, ["compute"]),
        ({"risk_levels": ["high", "critical"]}, ["ai"]),
        ({"requires_approval": True}, ["ai"]),
        ({"requires_approval": False}, ["system", "compute", "user"]),
        ({"correlation_id": "req-1"}, ["system", "user"]),
        ({"actor_types": []}, []),
        ({"tags": ["checkout"], "actor_types": ["user"], "event_types": ["order.*"]}, ["user"]),
        ({"correlation_id": "req-1", "risk_levels": ["low"]}, ["system"]),
    ],
)
def test_client_query_filters(client, filters, expected):
    """Each filter alone and combined; newest first; naive datetimes are UTC."""
    ids = _seed(client)
    names = {v: k for k, v in ids.items()}
    assert [names[e.id] for e in client.query(**filters)] == expected


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"actor_types": ["robot"]}, "actor_types must be one of"),
        ({"outcomes": ["great"]}, "outcomes must be one of"),
        ({"risk_levels": ["extreme"]}, "risk_levels must be one of"),
        ({"object_types": ["planet"]}, "object_types must be one of"),
        ({"start": "2024-01-01"}, "start must be a datetime"),
        ({"end": 5}, "end must be a datetime"),
        ({"requires_approval": "yes"}, "True or False"),
        ({"tags": [""]}, "tags must not be empty"),
        ({"tags": 5}, "tags must be a list"),
        ({"event_types": ["x" * 101]}, "at most 100"),
        ({"correlation_id": ""}, "correlation_id must not be empty"),
        ({"limit": 0}, "limit must be"),
        ({"limit": 10_000}, "limit must be"),
        ({"cursor": "forged"}, "cursor is not valid"),
        ({"offset": -1}, "offset must be"),
        ({"offset": 10**9}, "offset must be"),
        ({"offset": 5, "cursor": "abc"}, "offset must be"),
    ],
)
def test_client_query_rejects_bad_filters(client, filters, message):
    with pytest.raises(TraceValidationError, match=message):
        client.query(**filters)


def test_client_query_cursor_pages_without_gaps_or_repeats(client):
    """Walking next_cursor visits every event once, newest first, ties included."""
    tie = T0 + timedelta(days=1)
    builders = [
        client.trace("bulk.item", str(n)).at(tie if n % 3 == 0 else T0 + timedelta(minutes=n))
        for n in range(23)
    ]
    client.record_many(builders)
    seen, cursor = [], None
    while True:
        page = client.query(limit=5, cursor=cursor)
        seen.extend(e.id for e in page)
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = [str(r.pk) for r in EventRecord.objects.order_by("-effective_at", "-id")]
    assert seen == expected
    assert len(set(seen)) == 23


def test_client_query_offset_is_bounded_and_consistent(client):
    client.record_many([client.trace("x", str(n)).at(T0 + timedelta(minutes=n)) for n in range(7)])
    everything = [e.id for e in client.query()]
    assert [e.id for e in client.query(offset=2, limit=3)] == everything[2:5]
    page = client.query(offset=2, limit=3)
    assert [e.id for e in client.query(cursor=page.next_cursor, limit=2)] == everything[5:7]


def test_client_reads_use_constant_queries(client, django_assert_num_queries):
    """query/search/history/chain cost the same number of queries for 1 and for 20 events."""

    def grow(n: int) -> str:
        root = client.trace("chain.root", "root zebra").affecting_order("ord-x").record()
        client.record_many(
            [
                client.trace("chain.step", "step zebra")
                .child_of(root)
                .by_user(f"u-{i}", "U")
                .affecting_order("ord-x")
                .affecting_product(f"p-{i}")
                .because("reason zebra")
                for i in range(n - 1)
            ]
        )
        return root

    # Each read is one statement: the events with their objects and whether any has a
    # correction; search also ranks first (on PostgreSQL after reading where its window of
    # newest documents starts, so the planner knows the range).
    ranking = 2 if connection.vendor == "postgresql" else 1
    for size in (1, 20):
        root = grow(size)
        with django_assert_num_queries(1):
            assert len(client.query(limit=50, event_types=["chain.*"])) >= size
        with django_assert_num_queries(1 + ranking):
            client.search("zebra")
        with django_assert_num_queries(1):
            client.get_object_history(object_id="ord-x")
        with django_assert_num_queries(1):
            assert len(client.get_chain(root)) == size
        with django_assert_num_queries(1):
            client.get_event(root)
    # A page holding a corrected event reads its corrections too: one more query.
    event_correct(event_id=root, corrected_by="ops", reason="typo", description="root corrected")
    with django_assert_num_queries(2):
        events = client.query(limit=50, event_types=["chain.*"])
    assert {e.description for e in events if e.id == root} == {"root corrected"}
    with django_assert_num_queries(2):
        assert client.get_chain(root)[0].description == "root corrected"
    with django_assert_num_queries(2):
        assert client.get_event(root).description == "root corrected"


def test_client_object_history_oldest_first_with_states(client):
    """History lists every event touching the object, oldest first, with states."""
    for n, status in enumerate(["new", "paid", "shipped"]):
        client.trace("order.changed").affecting_order(
            "ord-7", {"status": status}, external_id="EXT-7"
        ).at(T0 + timedelta(hours=n)).record()
    client.trace("order.changed").affecting_order("ord-8").record()
    history = client.get_object_history(external_id="EXT-7", object_type=ObjectType.ORDER)
    assert [e.objects[0].state_after["status"] for e in history] == ["new", "paid", "shipped"]
    assert len(client.get_object_history(object_id="ord-7")) == 3
    assert client.get_object_history(object_id="ord-7", object_type="product") == []
    with pytest.raises(TraceValidationError, match="needs external_id or object_id"):
        client.get_object_history(object_type="order")


def test_client_inventory_history_states(client):
    client.trace("inventory.adjusted").affecting_inventory("SKU-123", 100, 101).record()
    obj = client.get_object_history(external_id="SKU-123")[0].objects[0]
    assert (obj.state_before, obj.state_after) == ({"quantity": 100}, {"quantity": 101})


def test_client_actor_activity_and_stats(client):
    ids = _seed(client)
    assert [e.id for e in client.get_actor_activity("pricing-ai")] == [ids["ai"]]
    assert client.get_actor_activity("cust-1", event_types=["price.*"]) == []
    stats = client.stats()
    assert stats["total_events"] == 4
    assert stats["by_actor_type"] == {"ai_agent": 1, "compute": 1, "system": 1, "user": 1}
    assert stats["by_outcome"] == {"success": 3, "failure": 1}
    assert stats["by_risk_level"] == {"high": 1, "low": 1}
    assert stats["pending_approvals"] == 1
    assert stats["first_event_at"] == T0


def test_client_record_many_builders_and_events(client):
    parent = client.trace("batch.root")
    events = [parent, client.trace("batch.child").child_of(parent.event_id).build()]
    ids = client.record_many(events)
    assert ids[0] == parent.event_id
    assert client.get_event(ids[1]).parent_event_id == ids[0]


@pytest.mark.parametrize("items", [None, "abc", [1], [{"event_type": "x"}]])
def test_client_record_many_rejects_bad_items(client, items):
    with pytest.raises(TraceValidationError, match="record_many"):
        client.record_many(items)


def test_client_search_with_filters(client):
    client.trace("a", "refund zebra").by_user("u", "U").record()
    ai = client.trace("b", "refund zebra").by_ai("ai", "AI").record()
    assert [e.id for e in client.search("zebra", actor_types=["ai_agent"])] == [ai]


@pytest.mark.parametrize(
    ("name", "text", "oldest_text", "newer_text"),
    [
        ("SEARCH_MATCH_LIMIT", "zebra", "zebra zebra zebra zebra", "zebra {n}"),
        (
            "PHRASE_MATCH_LIMIT",
            '"striped zebra"',
            "striped zebra striped zebra striped zebra",
            "striped zebra {n}",
        ),
    ],
)
def test_client_search_ranks_the_most_recent_matches_when_there_are_more(
    client, monkeypatch, name, text, oldest_text, newer_text
):
    """Past the search's bound (a phrase has a lower one), only the most recently
    recorded matches are ranked."""
    import traces.search

    monkeypatch.setattr(traces.search, name, 2)
    oldest = client.trace("a", oldest_text).record()
    newer = [client.trace("a", newer_text.format(n=n)).record() for n in range(2)]
    found = [e.id for e in client.search(text)]
    assert sorted(found) == sorted(newer)
    assert oldest not in found


@pytest.mark.parametrize(
    ("name", "text"), [("SEARCH_MATCH_LIMIT", "zebra"), ("PHRASE_MATCH_LIMIT", '"zebra crossing"')]
)
def test_api_search_ranks_the_most_recent_matches_when_there_are_more(
    client, monkeypatch, name, text
):
    """The API's /search has the same bounds (the in-process client and the API agree)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    import traces.search

    monkeypatch.setattr(traces.search, name, 2)
    oldest = client.trace("a", "zebra crossing, zebra crossing, zebra crossing").record()
    newer = [client.trace("a", f"zebra crossing {n}").record() for n in range(2)]
    web = Client()
    web.force_login(get_user_model().objects.create_superuser("s", "s@example.com", "pw"))
    found = [e["id"] for e in web.get("/api/v1/search", {"q": text}).json()["results"]]
    assert sorted(found) == sorted(newer)
    assert oldest not in found


def test_span_plain_record_inside_is_its_child(client):
    """A plain trace().record() inside an open span becomes the span's child."""
    with client.span("workflow.run") as span:
        step_id = client.trace("workflow.step", "Payment captured").record()
        assert step_id not in {None, ""}
        assert EventRecord.objects.count() == 0  # deferred until the span ends
    assert client.get_event(step_id).parent_event_id == span.event_id
    assert [e.event_type for e in client.get_chain(span.event_id)] == [
        "workflow.run",
        "workflow.step",
    ]


def test_span_child_of_open_span_event_id(client):
    """child_of(open_span.event_id) works while the span is open (stored with it)."""
    with client.span("report.generation") as span:
        parent = span.event_id
        child = client.trace("report.section", "Totals").child_of(parent).record()
        grandchild = client.trace("report.row", "Row 1").child_of(child).record()
    assert client.get_event(child).parent_event_id == parent
    assert client.get_event(grandchild).parent_event_id == child


def test_span_record_inside_nested_span_goes_to_innermost(client):
    """The innermost open span is the parent; a record after it closes goes to the outer one."""
    with client.span("outer") as outer:
        with client.span("inner") as inner:
            in_inner = client.trace("step.a").record()
        in_outer = client.trace("step.b").record()
    assert client.get_event(in_inner).parent_event_id == inner.event_id
    assert client.get_event(in_outer).parent_event_id == outer.event_id


def test_span_record_keeps_an_explicit_parent(client):
    """An event that names another parent keeps it, and is still stored with the span."""
    root = client.trace("workflow.started").record()
    with client.span("workflow.run"):
        step = client.trace("workflow.step").child_of(root).record()
    assert client.get_event(step).parent_event_id == root


def test_span_failure_still_stores_children(client):
    """A failing span stores its children with the failed span event."""
    children: list[str] = []

    @client.span("job.run")
    def job() -> None:
        children.append(client.trace("job.step").record())
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        job()
    span = client.query(event_types=["job.run"])[0]
    child = children[0]
    assert span.outcome is EventOutcome.FAILURE
    assert client.get_event(child).parent_event_id == span.id


def test_record_reports_the_pending_decision(client):
    """record() returns the id (a str) and, for an event held for approval, its decision id."""
    from decisioning.models import Decision

    held = client.trace("refund.issued").because("Big refund").requires_approval().record()
    plain = client.trace("order.created").record()
    assert held.decision_id == str(Decision.objects.get().pk)
    assert plain.decision_id is None
    assert isinstance(held, str)
    assert held == client.get_event(held).id


def test_record_many_reports_pending_decisions(client):
    from decisioning.models import Decision

    ids = client.record_many(
        [client.trace("a.b"), client.trace("c.d").because("x").requires_approval()]
    )
    assert [i.decision_id for i in ids] == [None, str(Decision.objects.get().pk)]


def test_sdk_client_without_url_is_in_process(monkeypatch):
    """Inside the project, decision_trace.DecisionTraceClient() with no URL stores here."""
    import decision_trace

    monkeypatch.delenv("DECISION_TRACE_URL", raising=False)
    sdk_client = decision_trace.DecisionTraceClient()
    event_id = sdk_client.trace("order.created", "Placed").record()
    assert EventRecord.objects.filter(pk=event_id).exists()
    assert sdk_client.transport.destination == "inprocess:default"
    with pytest.raises(TraceValidationError, match="using= only"):
        decision_trace.DecisionTraceClient(colour="blue")


def test_in_process_client_ignores_the_url_variables(monkeypatch):
    """traces.DecisionTraceClient() is always in-process, whatever the environment says."""
    monkeypatch.setenv("DECISION_TRACE_URL", "http://127.0.0.1:9")
    event_id = DecisionTraceClient().trace("order.created").record(wait=False)
    assert EventRecord.objects.filter(pk=event_id).exists()  # wait=False stores at once here
