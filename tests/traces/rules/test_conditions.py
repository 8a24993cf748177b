"""traces.rules.conditions: each condition kind, and bad definitions refused."""

from __future__ import annotations

import pytest

from decision_trace import Actor, DecisionTrace, EventOutcome, RiskLevel, TraceEvent, TrackedObject
from decision_trace.enums import ObjectType
from traces.rules.conditions import RuleConditionError, condition_compile


def _event(**changes):
    values = {
        "event_type": "pricing.dynamic_adjusted",
        "actor": Actor.ai_agent("pricing-ai", "Pricing", model="gpt-4"),
        "decision": DecisionTrace(
            reasoning="r",
            context={"refund": {"amount": "750.00"}},
            confidence=0.6,
            risk_level=RiskLevel.HIGH,
        ),
        "objects": (
            TrackedObject(
                id="SKU-1",
                type=ObjectType.PRODUCT,
                state_before={"price": "100.00"},
                state_after={"price": "85.00"},
            ),
        ),
        "tags": ("pricing", "weekend"),
        "outcome": EventOutcome.SUCCESS,
        "data": {"refund_amount": 600, "nested": {"n": "7"}},
    }
    values.update(changes)
    return TraceEvent(**values)


@pytest.mark.parametrize(
    ("condition", "matches"),
    [
        ({}, True),
        ({"event_type": "pricing.*"}, True),
        ({"event_type": ["order.*", "refund.*"]}, False),
        ({"actor_type": "ai_agent"}, True),
        ({"actor_type": ["user", "system"]}, False),
        ({"actor_id": "pricing-ai"}, True),
        ({"actor_id": ["other"]}, False),
        ({"model": "gpt-4"}, True),
        ({"model": "claude"}, False),
        ({"confidence_below": 0.8}, True),
        ({"confidence_below": 0.5}, False),
        ({"risk_at_least": "medium"}, True),
        ({"risk_at_least": "critical"}, False),
        ({"tags": ["pricing"]}, True),
        ({"tags": ["pricing", "holiday"]}, False),
        ({"outcome": "success"}, True),
        ({"outcome": ["failure"]}, False),
        ({"values": [{"field": "data.refund_amount", "op": "gt", "value": 500}]}, True),
        ({"values": [{"field": "data.refund_amount", "op": "lte", "value": 500}]}, False),
        ({"values": [{"field": "context.refund.amount", "op": "gte", "value": "750"}]}, True),
        ({"values": [{"field": "data.nested.n", "op": "eq", "value": 7}]}, True),
        ({"values": [{"field": "object.product.before.price", "op": "eq", "value": 100}]}, True),
        ({"values": [{"field": "object.product.after.price", "op": "lt", "value": 90}]}, True),
        ({"values": [{"change": "product.price", "op": "abs_pct_gt", "value": 10}]}, True),
        ({"values": [{"change": "product.price", "op": "pct_lt", "value": -10}]}, True),
        ({"values": [{"change": "product.price", "op": "pct_gt", "value": 0}]}, False),
        ({"values": [{"change": "product.price", "op": "abs_pct_gt", "value": 20}]}, False),
        ({"event_type": "pricing.*", "risk_at_least": "high", "model": "gpt-4"}, True),
        ({"event_type": "pricing.*", "risk_at_least": "critical"}, False),
    ],
)
def test_condition_kinds(condition, matches):
    """Each kind matches the sample event or not, as written."""
    assert condition_compile(condition)(_event()) is matches


@pytest.mark.parametrize(
    "condition",
    [
        {"values": [{"field": "data.missing", "op": "gt", "value": 1}]},
        {"values": [{"field": "data.refund_amount.deeper", "op": "gt", "value": 1}]},
        {"values": [{"change": "order.total", "op": "abs_pct_gt", "value": 1}]},
        {"values": [{"field": "data.nested", "op": "gt", "value": 1}]},
        {"confidence_below": 0.9, "risk_at_least": "low"},
        {"model": "gpt-4"},
    ],
)
def test_missing_fields_do_not_fire(condition):
    """An event without what the rule looks at does not match, and nothing raises."""
    bare = TraceEvent(event_type="x", data={"nested": {"n": "not a number"}})
    assert condition_compile(condition)(bare) is False


def test_zero_before_does_not_fire():
    """A change from 0 has no percentage: the rule does not fire."""
    event = _event(
        objects=(
            TrackedObject(
                id="p", type=ObjectType.PRODUCT, state_before={"price": 0}, state_after={"price": 5}
            ),
        )
    )
    condition = {"values": [{"change": "product.price", "op": "abs_pct_gt", "value": 1}]}
    assert condition_compile(condition)(event) is False


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ([], "JSON object"),
        ("risk > 3", "JSON object"),
        (None, "JSON object"),
        ({"__import__": "os"}, "Unknown condition"),
        ({"event_type": ""}, "event_type"),
        ({"event_type": 5}, "event_type"),
        ({"event_type": "a\x00b"}, "event_type"),
        ({"event_type": "\ud800"}, "event_type"),
        ({"event_type": "x" * 201}, "event_type"),
        ({"event_type": ["a"] * 51}, "event_type"),
        ({"actor_type": "robot"}, "actor_type"),
        ({"risk_at_least": "extreme"}, "risk_at_least"),
        ({"risk_at_least": ["low", "high"]}, "one risk level"),
        ({"confidence_below": 2}, "confidence_below"),
        ({"confidence_below": "0.5"}, "confidence_below"),
        ({"confidence_below": float("nan")}, "confidence_below"),
        ({"outcome": "maybe"}, "outcome"),
        ({"values": []}, "values"),
        ({"values": "data.x > 1"}, "values"),
        ({"values": [5]}, "Each item"),
        ({"values": [{"field": "data.x", "op": "gt"}]}, "finite number"),
        ({"values": [{"field": "data.x", "op": "gt", "value": float("inf")}]}, "finite number"),
        ({"values": [{"field": "data.x", "op": "gt", "value": True}]}, "finite number"),
        ({"values": [{"field": "data.x", "op": "~", "value": 1}]}, "'op'"),
        ({"values": [{"field": "data.x", "op": "abs_pct_gt", "value": 1}]}, "'op'"),
        ({"values": [{"change": "product.price", "op": "gt", "value": 1}]}, "'op'"),
        ({"values": [{"field": "secrets.x", "op": "gt", "value": 1}]}, "must start with"),
        ({"values": [{"field": "data.__class__..x", "op": "gt", "value": 1}]}, "dotted path"),
        ({"values": [{"field": "data.x", "change": "p.x", "op": "gt", "value": 1}]}, "exactly one"),
        ({"values": [{"change": "price", "op": "pct_gt", "value": 1}]}, "<object type>.<key>"),
        ({"values": [{"field": "data.x", "op": "gt", "value": 1, "eval": "1"}]}, "Unknown key"),
    ],
)
def test_bad_conditions_are_refused(condition, message):
    """Wrong, missing, huge and hostile definitions: a clear RuleConditionError."""
    with pytest.raises(RuleConditionError, match=message):
        condition_compile(condition)
