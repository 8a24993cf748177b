"""TraceBuilder: every method chains, validates at once, and never writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from traces import (
    Actor,
    ActorType,
    EventOutcome,
    ObjectType,
    RiskLevel,
    TraceBuilder,
    TraceValidationError,
    TrackedObject,
)


def _builder() -> TraceBuilder:
    return TraceBuilder("order.refunded", "Refund issued")


def test_builder_methods_chain_and_build():
    """Each method returns the builder; build() carries every value."""
    parent = str(uuid.uuid4())
    trigger = str(uuid.uuid4())
    when = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    builder = _builder()
    result = (
        builder.by_user("u-1", "Jane", email="j@example.com", role="support")
        .affecting_order("ord-1", {"status": "refunded"}, external_id="EXT-1", channel="web")
        .affecting_product("prod-1", external_id="SKU-1")
        .affecting_customer("cust-1")
        .affecting_payment("pay-1", {"captured": False})
        .affecting_shipment("shp-1")
        .affecting_inventory("SKU-9", quantity_before=10, quantity_after=11)
        .affecting_object(ObjectType.COUPON, "c-1", name="SPRING", state_before={"used": 0})
        .affecting(TrackedObject(id="r-1", type=ObjectType.RETURN))
        .because(
            "Defective",
            action="refund",
            context={"tier": "gold"},
            constraints=["<= 100"],
            alternatives=[{"action": "replace"}],
            rejection_reasons={"replace": "wants refund"},
        )
        .with_confidence(0.8)
        .with_risk("high")
        .requires_approval()
        .approved_by("lead")
        .triggered_by("ticket", trigger)
        .depends_on("dep-1")
        .depends_on("dep-2", "dep-1")
        .with_outcome("partial", {"refunded": 50})
        .with_duration(timedelta(seconds=2))
        .with_tags("refund", "vip")
        .with_tags("vip", "late")
        .with_data(amount=50)
        .with_data(currency="EUR")
        .with_source("shop", ip="203.0.113.9")
        .with_correlation("req-9")
        .child_of(parent)
        .at(when)
    )
    assert result is builder
    event = builder.build()
    assert event.id == builder.event_id
    assert event.actor == Actor.user("u-1", "Jane", email="j@example.com", role="support")
    assert [o.type for o in event.objects] == [
        ObjectType.ORDER,
        ObjectType.PRODUCT,
        ObjectType.CUSTOMER,
        ObjectType.PAYMENT,
        ObjectType.SHIPMENT,
        ObjectType.INVENTORY,
        ObjectType.COUPON,
        ObjectType.RETURN,
    ]
    order = event.objects[0]
    assert (order.state_after, order.external_id, order.metadata) == (
        {"status": "refunded"},
        "EXT-1",
        {"channel": "web"},
    )
    stock = event.objects[5]
    assert (stock.id, stock.state_before, stock.state_after) == (
        "SKU-9",
        {"quantity": 10},
        {"quantity": 11},
    )
    decision = event.decision
    assert decision.reasoning == "Defective"
    assert decision.action == "refund"
    assert decision.confidence == 0.8
    assert decision.risk_level is RiskLevel.HIGH
    assert decision.requires_approval is True
    assert decision.approved_by == "lead"
    assert (decision.trigger, decision.trigger_event_id) == ("ticket", trigger)
    assert decision.depends_on == ("dep-1", "dep-2")
    assert event.outcome is EventOutcome.PARTIAL
    assert event.outcome_details == {"refunded": 50}
    assert event.duration == 2.0
    assert event.tags == ("refund", "vip", "late")
    assert event.data == {"amount": 50, "currency": "EUR"}
    assert (event.source_system, event.source_ip) == ("shop", "203.0.113.9")
    assert event.correlation_id == "req-9"
    assert event.parent_event_id == parent
    assert event.timestamp == when


@pytest.mark.parametrize(
    ("method", "outcome"),
    [
        ("succeeded", EventOutcome.SUCCESS),
        ("partial", EventOutcome.PARTIAL),
        ("pending", EventOutcome.PENDING),
        ("cancelled", EventOutcome.CANCELLED),
        ("skipped", EventOutcome.SKIPPED),
    ],
)
def test_builder_outcome_shortcuts(method, outcome):
    event = getattr(_builder(), method)({"n": 1}).build()
    assert (event.outcome, event.outcome_details) == (outcome, {"n": 1})


def test_builder_failed_sets_error():
    """failed() takes the error text or an exception."""
    assert _builder().failed("timeout").build().error == "timeout"
    event = _builder().failed(ValueError("bad"), {"retry": True}).build()
    assert (event.outcome, event.error, event.outcome_details) == (
        EventOutcome.FAILURE,
        "ValueError: bad",
        {"retry": True},
    )


def test_builder_actor_shortcuts():
    """by_ai/by_compute/by_system/by_external/by set the actor; by_ai may set confidence."""
    event = _builder().by_ai("ai", "AI", model="m", version="1", confidence=0.7).build()
    assert event.actor.type is ActorType.AI_AGENT
    assert event.decision.confidence == 0.7
    assert _builder().by_compute("cron", "Sync", "wh", "j1").build().actor.job_id == "j1"
    assert _builder().by_system().build().actor.type is ActorType.SYSTEM
    assert _builder().by_external("psp", "PSP").build().actor.type is ActorType.EXTERNAL
    actor = Actor.user("u", "U")
    assert _builder().by(actor).build().actor == actor


def test_builder_duration_in_seconds():
    assert _builder().with_duration(1.25).build().duration == 1.25


def test_builder_because_extra_keywords():
    """because() also takes the other decision fields as keywords."""
    event = _builder().because("r", confidence=0.5, risk_level="low", requires_approval=True)
    decision = event.build().decision
    assert (decision.confidence, decision.risk_level, decision.requires_approval) == (
        0.5,
        RiskLevel.LOW,
        True,
    )


def test_builder_copy_is_independent():
    """copy() gives a builder with the same values, a new id, and separate lists."""
    first = _builder().with_tags("a").with_data(x=1)
    second = first.copy().with_tags("b").with_data(y=2)
    assert first.build().tags == ("a",)
    assert second.build().tags == ("a", "b")
    assert first.build().data == {"x": 1}
    assert first.event_id != second.event_id


def test_builder_copy_keeps_a_subclass():
    """copy() of a TraceBuilder subclass is of that subclass, with its own attributes."""

    class Tagged(TraceBuilder):
        def __init__(self, *args, **kwargs):
            self.label = "kept"
            super().__init__(*args, **kwargs)

    copy = Tagged("order.created").copy()
    assert type(copy) is Tagged
    assert copy.label == "kept"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: b.by("bob"), "by\\(\\) takes an Actor"),
        (lambda b: b.by_user("", "Jane"), "actor id must not be empty"),
        (lambda b: b.by_user("u", "x" * 256), "actor name must be at most 255"),
        (lambda b: b.by_ai("ai", "AI", confidence=2), "confidence must be a number"),
        (lambda b: b.affecting("ord-1"), "affecting\\(\\) takes a TrackedObject"),
        (lambda b: b.affecting_object("planet", "p-1"), "object type must be one of"),
        (lambda b: b.affecting_order("", None), "object id must not be empty"),
        (lambda b: b.affecting_order("o", "paid"), "state_after must be a dict"),
        (lambda b: b.affecting_inventory("SKU", quantity_before="10"), "quantity_before"),
        (lambda b: b.because(""), "reasoning must not be empty"),
        (lambda b: b.because(None), "reasoning must be a string"),
        (lambda b: b.because("r", alternatives="replace"), "alternatives must be a list"),
        (lambda b: b.because("r", context="x"), "context must be a dict"),
        (lambda b: b.because("r", colour="red"), "unknown keyword\\(s\\) colour"),
        (lambda b: b.because("r", confidence=9), "confidence"),
        (lambda b: b.with_confidence(1.01), "confidence"),
        (lambda b: b.with_confidence(None), "with_confidence"),
        (lambda b: b.with_risk("extreme"), "risk level must be one of"),
        (lambda b: b.requires_approval("yes"), "True or False"),
        (lambda b: b.approved_by(""), "approved_by must not be empty"),
        (lambda b: b.triggered_by(""), "trigger must not be empty"),
        (lambda b: b.triggered_by("t", "not-an-id"), "trigger_event_id"),
        (lambda b: b.depends_on(), "at least one"),
        (lambda b: b.with_outcome("great"), "outcome must be one of"),
        (lambda b: b.with_outcome("success", details=[1]), "outcome details must be a dict"),
        (lambda b: b.failed(""), "error must not be empty"),
        (lambda b: b.with_duration(-1), "duration"),
        (lambda b: b.with_duration("1s"), "duration"),
        (lambda b: b.with_tags(""), "tags must not be empty"),
        (lambda b: b.with_tags("t" * 101), "at most 100"),
        (lambda b: b.with_tags(5), "tags must be a string"),
        (lambda b: b.with_data(x=object()), "cannot be stored as JSON"),
        (lambda b: b.with_source(""), "source system must not be empty"),
        (lambda b: b.with_source("shop", ip="nope"), "ip must be"),
        (lambda b: b.with_correlation(""), "correlation_id must not be empty"),
        (lambda b: b.child_of("123"), "child_of\\(\\) must be an event id"),
        (lambda b: b.child_of(b.event_id), "its own parent"),
        (lambda b: b.at("2024-01-01"), "at\\(\\) must be a datetime"),
    ],
)
def test_builder_rejects_bad_input_at_once(call, message):
    """Each method raises TraceValidationError (a ValueError) that says what to pass."""
    builder = _builder()
    with pytest.raises(TraceValidationError, match=message) as info:
        call(builder)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("event_type", "description"),
    [("", ""), (None, ""), ("x" * 101, ""), ("a.*", ""), ("ok", 5)],
)
def test_builder_rejects_bad_type_or_description(event_type, description):
    with pytest.raises(TraceValidationError):
        TraceBuilder(event_type, description)


def test_builder_child_of_accepts_uuid_object():
    parent = uuid.uuid4()
    assert _builder().child_of(parent).build().parent_event_id == str(parent)


def test_builder_without_at_uses_now():
    """Without at(), the timestamp is the time of building, aware UTC."""
    before = datetime.now(UTC)
    event = _builder().build()
    assert before <= event.timestamp <= datetime.now(UTC)
