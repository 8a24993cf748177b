"""Value objects: no database, normalised on construction, ActivityWatch round trip."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from traces import (
    Actor,
    ActorType,
    DecisionTrace,
    EventOutcome,
    ObjectType,
    RiskLevel,
    TraceEvent,
    TraceValidationError,
    TrackedObject,
)


def _full_event() -> TraceEvent:
    return TraceEvent(
        timestamp=datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=2))),
        duration=1.5,
        event_type="refund.approved",
        description="Refund approved",
        actor=Actor.ai_agent("refund-ai", "Refund AI", model="gpt-4", version="2.1", team="ops"),
        decision=DecisionTrace(
            action="refund",
            reasoning="Manufacturing defect",
            context={"defect_type": "manufacturing", "amount": Decimal("99.99")},
            constraints=["max 100"],
            alternatives=[{"action": "replace", "reason": "offer replacement"}],
            rejection_reasons={"replace": "Customer wants money back"},
            confidence=0.9,
            risk_level="medium",
            requires_approval=True,
            approved_by="lead",
            trigger="ticket",
            trigger_event_id=str(uuid.uuid4()),
            depends_on=("a", "b"),
        ),
        objects=(
            TrackedObject(
                id="ord-1",
                type="order",
                external_id="EXT-1",
                name="Order 1",
                state_before={"status": "paid"},
                state_after={"status": "refunded"},
            ),
        ),
        outcome="partial",
        outcome_details={"note": "half"},
        error=None,
        data={"when": datetime(2024, 1, 1, tzinfo=UTC), "id": uuid.UUID(int=1)},
        tags=("refund", "refund", "vip"),
        parent_event_id=str(uuid.uuid4()),
        correlation_id="req-1",
        source_system="shop",
        source_ip="203.0.113.7",
    )


def test_trace_event_to_dict_is_activitywatch_shape():
    """to_dict() has exactly id, timestamp, duration and data."""
    event = _full_event()
    data = event.to_dict()
    assert set(data) == {"id", "timestamp", "duration", "data"}
    assert data["data"]["event_type"] == "refund.approved"
    assert data["duration"] == 1.5


def test_trace_event_round_trip_dict_and_json():
    """from_dict(to_dict(e)) == e, and through JSON text too."""
    event = _full_event()
    assert TraceEvent.from_dict(event.to_dict()) == event
    assert TraceEvent.from_json(event.to_json()) == event
    assert TraceEvent.from_dict(json.loads(event.to_json())) == event


def test_trace_event_minimal_round_trip():
    """A bare event survives the round trip too."""
    event = TraceEvent(event_type="x.y")
    assert TraceEvent.from_dict(event.to_dict()) == event


def test_trace_event_normalises_inputs():
    """Enums from strings, UTC timestamps, tags deduplicated, JSON-plain data."""
    event = _full_event()
    assert event.outcome is EventOutcome.PARTIAL
    assert event.decision.risk_level is RiskLevel.MEDIUM
    assert event.objects[0].type is ObjectType.ORDER
    assert event.timestamp == datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    assert event.timestamp.tzinfo is UTC
    assert event.tags == ("refund", "vip")
    assert event.decision.context["amount"] == "99.99"
    assert event.data == {
        "when": "2024-01-01T00:00:00+00:00",
        "id": "00000000-0000-0000-0000-000000000001",
    }


def test_trace_event_naive_timestamp_is_utc():
    """A naive timestamp is taken as UTC."""
    naive = datetime(2024, 1, 1, 8)  # noqa: DTZ001 - the naive case under test
    event = TraceEvent(event_type="x", timestamp=naive)
    assert event.timestamp == datetime(2024, 1, 1, 8, tzinfo=UTC)


def test_actor_factories():
    """user/ai_agent/compute/system/external set type and their fields."""
    user = Actor.user("u-1", "Jane", email="j@example.com", role="support", team="a")
    assert (user.type, user.email, user.role, user.metadata) == (
        ActorType.USER,
        "j@example.com",
        "support",
        {"team": "a"},
    )
    agent = Actor.ai_agent("ai", "AI", model="m", version="1")
    assert (agent.type, agent.model, agent.version) == (ActorType.AI_AGENT, "m", "1")
    job = Actor.compute("cron", "Sync", service_name="wh", job_id="42")
    assert (job.type, job.service_name, job.job_id) == (ActorType.COMPUTE, "wh", "42")
    assert Actor.system().id == "system"
    assert Actor.external("psp", "Payments").type is ActorType.EXTERNAL


def test_value_objects_round_trip_each():
    """Actor, DecisionTrace and TrackedObject each round-trip through dicts."""
    event = _full_event()
    assert Actor.from_dict(event.actor.to_dict()) == event.actor
    assert DecisionTrace.from_dict(event.decision.to_dict()) == event.decision
    assert TrackedObject.from_dict(event.objects[0].to_dict()) == event.objects[0]


def test_value_objects_are_frozen():
    """Value objects cannot be changed after construction."""
    event = TraceEvent(event_type="x")
    with pytest.raises(AttributeError):
        event.description = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"event_type": ""}, "event_type must not be empty"),
        ({"event_type": None}, "event_type must be a string"),
        ({"event_type": "x" * 101}, "at most 100"),
        ({"event_type": "order.*"}, "wildcard"),
        ({"event_type": "x", "duration": -1}, "duration"),
        ({"event_type": "x", "duration": float("nan")}, "duration"),
        ({"event_type": "x", "duration": "5"}, "duration"),
        ({"event_type": "x", "outcome": "great"}, "outcome must be one of"),
        ({"event_type": "x", "id": "not-a-uuid"}, "event id must be an event id"),
        ({"event_type": "x", "timestamp": "2024-01-01"}, "timestamp must be a datetime"),
        ({"event_type": "x", "source_ip": "999.1.1.1"}, "ip must be"),
        ({"event_type": "x", "data": {"x": object()}}, "cannot be stored as JSON"),
        ({"event_type": "x", "data": {"x": float("inf")}}, "cannot be stored as JSON"),
        ({"event_type": "x", "data": ["not", "a", "dict"]}, "data must be a dict"),
        ({"event_type": "x", "description": "a\x00b"}, "NUL"),
        ({"event_type": "x", "description": "x" * 100_001}, "at most 100000"),
        ({"event_type": "x", "tags": "single"}, "tags must be a list"),
        ({"event_type": "x", "tags": [""]}, "tags must not be empty"),
        ({"event_type": "x", "actor": "bob"}, "actor takes an Actor"),
        ({"event_type": "x", "objects": ["ord-1"]}, "objects takes TrackedObject"),
    ],
)
def test_trace_event_rejects_bad_input(kwargs, message):
    """Every bad field raises TraceValidationError naming what to pass."""
    with pytest.raises(TraceValidationError, match=message):
        TraceEvent(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": 1.5}, "confidence must be a number from 0 to 1"),
        ({"confidence": -0.1}, "confidence"),
        ({"confidence": True}, "confidence"),
        ({"confidence": "high"}, "confidence"),
        ({"risk_level": "extreme"}, "risk level must be one of"),
        ({"requires_approval": "yes"}, "requires_approval must be True or False"),
        ({"alternatives": "replace"}, "alternatives must be a list"),
        ({"context": [1]}, "context must be a dict"),
        ({"trigger_event_id": "nope"}, "trigger_event_id"),
        ({"action": "a" * 256}, "at most 255"),
    ],
)
def test_decision_trace_rejects_bad_input(kwargs, message):
    with pytest.raises(TraceValidationError, match=message):
        DecisionTrace(**kwargs)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: Actor(id="", type="user"), "actor id must not be empty"),
        (lambda: Actor(id="x" * 256, type="user"), "at most 255"),
        (lambda: Actor(id="a", type="robot"), "actor type must be one of"),
        (lambda: TrackedObject(id="o", type="planet"), "object type must be one of"),
        (
            lambda: TrackedObject(id="o", type="order", state_after=[1]),
            "state_after must be a dict",
        ),
        (lambda: TraceEvent.from_dict({"id": str(uuid.uuid4()), "timestamp": "soon"}), "ISO 8601"),
        (lambda: TraceEvent.from_dict([]), "event must be a dict"),
        (lambda: TraceEvent.from_json("{nope"), "not JSON"),
    ],
)
def test_value_objects_reject_bad_input(factory, message):
    with pytest.raises(TraceValidationError, match=message):
        factory()


def test_self_referencing_data_is_refused():
    """Data that contains itself is refused, not a RecursionError."""
    data: dict = {}
    data["self"] = data
    with pytest.raises(TraceValidationError, match="nested too deeply"):
        TraceEvent(event_type="x", data=data)


def test_usable_without_database():
    """Value objects never touch the database (no django_db mark here)."""
    event = TraceEvent(event_type="x", actor=Actor.user("u", "U"))
    assert event.to_json()


def test_event_ids_are_time_ordered_uuid7():
    """New event ids are UUID version 7 (RFC 9562) and sort by creation time."""
    import time

    first = uuid.UUID(TraceEvent(event_type="x").id)
    time.sleep(0.002)
    second = uuid.UUID(TraceEvent(event_type="x").id)
    assert (first.version, first.variant) == (7, uuid.RFC_4122)
    assert first < second
