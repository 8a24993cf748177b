"""EcommerceClient: each method's event type, objects, states, tags, risk, approval; bad input."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from decision_trace.values import TrackedObject
from decisioning.models import Decision, DecisionOutcome
from ecommerce import EcommerceClient, EcommerceEventType, EcommerceTraceBuilder
from ecommerce.exceptions import (
    NOT_AN_ANOMALY,
    PRICE_BOUNDS,
    PRICE_UNCHANGED,
    REFUND_ABOVE_TOTAL,
    RESERVED_ORDER_DATA,
    STOCK_ABOVE_THRESHOLD,
    STOCK_UNCHANGED,
    TIER_UNCHANGED,
)
from traces import Actor, ActorType, EventOutcome, TraceEvent, TraceValidationError
from traces.models import EventRecord

T0 = datetime(2024, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def client() -> EcommerceClient:
    return EcommerceClient()


def _objects(event: TraceEvent) -> list[tuple[str, str, dict | None, dict | None]]:
    return [(o.type.value, o.id, o.state_before, o.state_after) for o in event.objects]


def _risk(event: TraceEvent) -> str | None:
    return event.decision.risk_level.value if event.decision and event.decision.risk_level else None


def _approval(event: TraceEvent) -> bool:
    return bool(event.decision and event.decision.requires_approval)


# Orders ------------------------------------------------------------------


def test_order_created_prefills_everything(client):
    """Type, order/customer/product objects, exact money, data, tag and correlation."""
    event = client.order_created(
        "ord-1",
        "cust-1",
        Decimal("149.99"),
        [{"sku": "W-1", "qty": 2, "price": "74.99"}, {"sku": "W-2", "quantity": 1, "price": 0}],
        channel="web",
    ).build()
    assert event.event_type == EcommerceEventType.ORDER_CREATED == "order.created"
    assert event.description == "Order ord-1 placed: 3 item(s), 149.99 USD"
    assert _objects(event) == [
        (
            "order",
            "ord-1",
            None,
            {
                "status": "created",
                "total": "149.99",
                "currency": "USD",
                "lines": 2,
                "units": 3,
                "customer_id": "cust-1",
            },
        ),
        ("customer", "cust-1", None, None),
        ("product", "W-1", None, None),
        ("product", "W-2", None, None),
    ]
    assert event.objects[2].metadata == {"qty": 2}
    assert event.data["items"] == [
        {"sku": "W-1", "qty": 2, "price": "74.99"},
        {"sku": "W-2", "qty": 1, "price": "0.00"},
    ]
    assert (event.data["total"], event.data["subtotal"], event.data["channel"]) == (
        "149.99",
        "149.98",
        "web",
    )
    assert event.tags == ("order",)
    assert event.correlation_id == "ord-1"
    assert event.actor is None
    assert _risk(event) is None


def test_order_created_merges_lines_of_one_sku_and_takes_currency(client):
    """Two lines of a SKU make one product object; currency= in order_data wins for the order."""
    event = client.order_created(
        "ord-1",
        "cust-1",
        "30",
        [{"sku": "W-1", "qty": 1, "price": 10}, {"sku": "W-1", "qty": 2, "price": 10}],
        currency="EUR",
    ).build()
    assert [o.id for o in event.objects if o.type == "product"] == ["W-1"]
    assert event.objects[2].metadata == {"qty": 3}
    assert event.data["currency"] == "EUR"
    assert event.description.endswith("30.00 EUR")


def test_order_cancelled_with_refund(client):
    """Reason becomes the reasoning; the refund goes into state, data, description and tags."""
    event = client.order_cancelled("ord-1", "Found it cheaper", refund_amount="149.99").build()
    assert event.event_type == "order.cancelled"
    assert _objects(event) == [
        ("order", "ord-1", None, {"status": "cancelled", "refund_amount": "149.99"})
    ]
    assert event.decision.reasoning == "Found it cheaper"
    assert event.tags == ("order", "cancellation", "refund")
    assert "149.99 USD refunded" in event.description


def test_order_cancelled_without_refund(client):
    """No refund: no refund tag, no amount."""
    event = client.order_cancelled("ord-1", "Payment failed").build()
    assert _objects(event) == [("order", "ord-1", None, {"status": "cancelled"})]
    assert event.tags == ("order", "cancellation")


def test_order_refunded_full_with_payment(client):
    """A refund names the order and, when given, the payment."""
    event = client.order_refunded("ord-1", 20, "Defective", payment_id="pay-1").build()
    assert event.event_type == "order.refunded"
    assert _objects(event) == [
        ("order", "ord-1", None, {"status": "refunded", "refund_amount": "20.00"}),
        ("payment", "pay-1", None, {"status": "refunded", "refunded_amount": "20.00"}),
    ]
    assert event.decision.reasoning == "Defective"
    assert event.tags == ("order", "refund")


def test_order_refunded_below_total_is_partial(client):
    """With order_total, a smaller refund is order.partially_refunded."""
    event = client.order_refunded("ord-1", "20", "One item back", order_total="54.98").build()
    assert event.event_type == EcommerceEventType.ORDER_PARTIALLY_REFUNDED
    assert event.objects[0].state_after["status"] == "partially_refunded"
    assert "partial-refund" in event.tags
    assert event.data["order_total"] == "54.98"


def test_order_refunded_equal_to_total_is_full(client):
    """A refund of the whole total is a full refund."""
    event = client.order_refunded("ord-1", "54.98", "All back", order_total="54.98").build()
    assert event.event_type == "order.refunded"


# Payments ----------------------------------------------------------------


def test_payment_captured(client):
    """Payment and order objects with their new status; processor in the data."""
    event = client.payment_captured("pay-1", "ord-1", "54.98", "card", processor="stripe").build()
    assert event.event_type == "payment.captured"
    assert _objects(event) == [
        ("payment", "pay-1", None, {"status": "captured", "amount": "54.98", "method": "card"}),
        ("order", "ord-1", None, {"payment_status": "paid"}),
    ]
    assert event.data["processor"] == "stripe"
    assert event.outcome == EventOutcome.SUCCESS
    assert event.correlation_id == "ord-1"


def test_payment_failed_is_a_failure_with_low_risk(client):
    """Outcome failure, the code and message as error; an honest decline is low risk."""
    event = client.payment_failed(
        "pay-1", "ord-1", "54.98", "insufficient_funds", "Not enough money."
    ).build()
    assert event.event_type == "payment.failed"
    assert event.outcome == EventOutcome.FAILURE
    assert event.error == "insufficient_funds: Not enough money."
    assert event.outcome_details == {"error_code": "insufficient_funds"}
    assert _risk(event) == "low"
    assert event.tags == ("payment", "payment-failure")
    assert event.objects[1].state_after == {"payment_status": "failed"}


@pytest.mark.parametrize("code", ["stolen_card", "FRAUDULENT", "lost_card"])
def test_payment_failed_fraud_codes_are_high_risk(client, code):
    """Declines that point at fraud are high risk and tagged."""
    event = client.payment_failed("pay-1", "ord-1", 10, code, "Declined.").build()
    assert _risk(event) == "high"
    assert "suspected-fraud" in event.tags


# Inventory ---------------------------------------------------------------


def test_inventory_adjusted_states_and_delta(client):
    """Quantities before and after on the inventory object, the delta in the data."""
    event = client.inventory_adjusted("SKU-1", 10, 7, "Picked", location="WH-1").build()
    assert event.event_type == "inventory.adjusted"
    assert _objects(event) == [("inventory", "SKU-1", {"quantity": 10}, {"quantity": 7})]
    assert event.objects[0].metadata == {"location": "WH-1"}
    assert event.data == {"sku": "SKU-1", "delta": -3, "location": "WH-1"}
    assert event.tags == ("inventory", "stock-decrease")
    assert event.decision.reasoning == "Picked"
    assert _risk(event) == "low"


@pytest.mark.parametrize(
    ("before", "after", "risk", "tag"),
    [
        (5, 0, "high", "out-of-stock"),
        (10, 5, "medium", "stock-decrease"),
        (10, 6, "low", "stock-decrease"),
        (0, 40, "low", "stock-increase"),
    ],
)
def test_inventory_adjusted_risk(client, before, after, risk, tag):
    """Down to zero is high, half or more gone at once medium, anything else low."""
    event = client.inventory_adjusted("SKU-1", before, after, "Counted").build()
    assert _risk(event) == risk
    assert tag in event.tags


@pytest.mark.parametrize(
    ("current", "threshold", "risk"),
    [(0, 10, "high"), (5, 10, "medium"), (6, 10, "low"), (10, 10, "low")],
)
def test_inventory_low_stock_risk_follows_stock(client, current, threshold, risk):
    """Out of stock is high, at most half the threshold medium, else low."""
    event = client.inventory_low_stock("SKU-1", current, threshold, "restock").build()
    assert event.event_type == "inventory.low_stock_alert"
    assert _objects(event) == [
        ("inventory", "SKU-1", None, {"quantity": current, "threshold": threshold})
    ]
    assert _risk(event) == risk
    assert event.decision.action == "restock"
    assert ("out-of-stock" in event.tags) is (current == 0)


def test_inventory_restock_ordered(client):
    """Inventory (on order) and supplier objects; arrival and cost as exact text."""
    event = client.inventory_restock_ordered(
        "SKU-1", 100, "sup-1", expected_arrival=date(2024, 6, 9), cost="1234.50"
    ).build()
    assert event.event_type == "inventory.restock_ordered"
    assert _objects(event) == [
        ("inventory", "SKU-1", None, {"on_order": 100}),
        ("supplier", "sup-1", None, None),
    ]
    assert event.data["expected_arrival"] == "2024-06-09"
    assert event.data["cost"] == "1234.50"
    assert event.tags == ("inventory", "restock")


# Shipping ----------------------------------------------------------------


def test_shipment_created(client):
    """Shipment created with carrier and tracking; the order is processing."""
    event = client.shipment_created(
        "shp-1", "ord-1", "ups", tracking_number="1Z1", items=[{"sku": "W-1", "qty": 2}]
    ).build()
    assert event.event_type == "shipment.created"
    assert _objects(event) == [
        (
            "shipment",
            "shp-1",
            None,
            {"status": "created", "carrier": "ups", "tracking_number": "1Z1"},
        ),
        ("order", "ord-1", None, {"fulfillment_status": "processing"}),
    ]
    assert event.data["items"] == [{"sku": "W-1", "qty": 2}]
    assert event.correlation_id == "ord-1"


def test_shipment_shipped(client):
    """Shipped with tracking number and estimated delivery."""
    event = client.shipment_shipped(
        "shp-1", "ord-1", "1Z1", "ups", estimated_delivery=date(2024, 6, 3)
    ).build()
    assert event.event_type == "shipment.shipped"
    assert event.objects[0].state_after == {
        "status": "shipped",
        "carrier": "ups",
        "tracking_number": "1Z1",
        "estimated_delivery": "2024-06-03",
    }
    assert event.objects[1].state_after == {"fulfillment_status": "shipped"}


def test_shipment_delivered_takes_delivery_time(client):
    """delivery_time becomes the event's time; the signature is kept."""
    event = client.shipment_delivered("shp-1", "ord-1", delivery_time=T0, signature="Jane").build()
    assert event.event_type == "shipment.delivered"
    assert event.timestamp == T0
    assert event.objects[0].state_after == {"status": "delivered", "signed_by": "Jane"}
    assert event.tags == ("shipment", "delivered")


# Returns -----------------------------------------------------------------


def test_return_requested(client):
    """Return, order and customer objects; the reason is the reasoning."""
    event = client.return_requested(
        "ret-1", "ord-1", "cust-1", [{"sku": "W-1", "qty": 1}], "Too small"
    ).build()
    assert event.event_type == "return.requested"
    assert _objects(event) == [
        ("return", "ret-1", None, {"status": "requested", "units": 1}),
        ("order", "ord-1", None, {"return_status": "requested"}),
        ("customer", "cust-1", None, None),
    ]
    assert event.decision.reasoning == "Too small"
    assert event.tags == ("return",)


def test_return_approved(client):
    """The return goes from requested to approved with its refund."""
    event = client.return_approved("ret-1", "ord-1", "27.49", "Photo shows damage").build()
    assert event.event_type == "return.approved"
    assert event.objects[0].state_before == {"status": "requested"}
    assert event.objects[0].state_after == {"status": "approved", "refund_amount": "27.49"}
    assert event.decision.reasoning == "Photo shows damage"


# Customers ---------------------------------------------------------------


def test_customer_created(client):
    """The profile and source are the customer's initial state."""
    event = client.customer_created("cust-1", "jane@example.com", "web", name="Jane").build()
    assert event.event_type == "customer.created"
    assert _objects(event) == [
        (
            "customer",
            "cust-1",
            None,
            {"status": "active", "email": "jane@example.com", "source": "web", "name": "Jane"},
        )
    ]
    assert event.tags == ("customer", "new-customer")


@pytest.mark.parametrize(
    ("old", "new", "tag"),
    [
        ("silver", "gold", "tier-upgrade"),
        ("Platinum", "bronze", "tier-downgrade"),
        ("vip", "staff", "tier-change"),
    ],
)
def test_customer_tier_changed(client, old, new, tag):
    """Tier before and after; the direction is a tag when both tiers are known."""
    event = client.customer_tier_changed("cust-1", old, new, "Spend threshold").build()
    assert event.event_type == "customer.tier_changed"
    assert _objects(event) == [("customer", "cust-1", {"tier": old}, {"tier": new})]
    assert event.tags == ("customer", tag)
    assert event.decision.reasoning == "Spend threshold"


# AI and automation -------------------------------------------------------


def test_ai_recommendation_prefills_actor_decision_and_risk(client):
    """The model acts; confidence, context, action; risk from confidence; objects as given."""
    event = client.ai_recommendation(
        "inventory_restock",
        {"sku": "W-1", "quantity": 100},
        {"current_stock": 15},
        0.92,
        "demand-forecast-v2",
        affected_objects=[
            {"type": "inventory", "id": "W-1"},
            TrackedObject(id="sup-1", type="supplier"),
        ],
    ).build()
    assert event.event_type == "ai.recommendation_generated"
    assert event.actor == Actor.ai_agent(
        "demand-forecast-v2", "demand-forecast-v2", model="demand-forecast-v2"
    )
    assert event.decision.action == "inventory_restock"
    assert event.decision.context == {"current_stock": 15}
    assert event.decision.confidence == 0.92
    assert event.decision.reasoning == (
        "demand-forecast-v2 recommends inventory_restock with 92% confidence"
    )
    assert _risk(event) == "low"
    assert not _approval(event)
    assert [(o.type.value, o.id) for o in event.objects] == [
        ("inventory", "W-1"),
        ("supplier", "sup-1"),
    ]
    assert event.data["recommendation"] == {"sku": "W-1", "quantity": 100}
    assert event.tags == ("ai", "ai-recommendation", "inventory_restock")


def test_ai_recommendation_uses_stated_reasoning(client):
    """A recommendation that carries its reasoning keeps it."""
    event = client.ai_recommendation(
        "fraud_hold", {"reasoning": "Three risk signals"}, {}, 0.95, "fraud-gbm"
    ).build()
    assert event.decision.reasoning == "Three risk signals"


@pytest.mark.parametrize(
    ("confidence", "risk", "approval"),
    [(0.95, "low", False), (0.8, "medium", True), (0.6, "high", True), (0.3, "critical", True)],
)
def test_ai_recommendation_approval_follows_risk(client, confidence, risk, approval):
    """With the default level (medium), medium risk and above need approval."""
    event = client.ai_recommendation("x", {}, {}, confidence, "m").build()
    assert (_risk(event), _approval(event)) == (risk, approval)


def test_ai_recommendation_with_risk_decides_approval_at_build(client):
    """.with_risk() after the method sets the risk the rule sees (the seed's quick start)."""
    lowered = client.ai_recommendation("x", {}, {}, 0.6, "m").with_risk("low").build()
    raised = client.ai_recommendation("x", {}, {}, 0.99, "m").with_risk("medium").build()
    assert not _approval(lowered)
    assert _approval(raised)


def test_anomaly_detected(client):
    """Detector acts; deviation, facts and risk from observed against expected."""
    event = client.anomaly_detected(
        "payment_failure_spike",
        "payment_failure_rate",
        0.6,
        Decimal("0.05"),
        "anomaly-watch",
        confidence=0.97,
        window="14:00-14:12",
        context={"processor": "stripe", "metric": "ignored: computed wins"},
        affected_objects=[{"type": "custom", "id": "stripe"}],
    ).build()
    assert event.event_type == "ai.anomaly_detected"
    assert event.actor.type == ActorType.AI_AGENT
    assert event.actor.id == "anomaly-watch"
    assert _risk(event) == "critical"
    assert event.decision.confidence == 0.97
    assert event.decision.context == {
        "processor": "stripe",
        "metric": "payment_failure_rate",
        "observed": "0.6",
        "expected": "0.05",
        "deviation_percent": "1100.0",
        "window": "14:00-14:12",
    }
    assert event.description == (
        "Anomaly (payment_failure_spike): payment_failure_rate was 0.6, expected 0.05 (+1100.0 %)"
    )
    assert event.tags == ("ai", "anomaly", "payment_failure_spike")
    assert [o.id for o in event.objects] == ["stripe"]


@pytest.mark.parametrize(
    ("observed", "expected", "risk"),
    [
        (110, 100, "low"),
        (70, 100, "medium"),
        (160, 100, "high"),
        (200, 100, "critical"),
        (3, 0, "critical"),
    ],
)
def test_anomaly_detected_risk_by_deviation(client, observed, expected, risk):
    """Under 25 % low, under 50 % medium, under 100 % high, else critical."""
    event = client.anomaly_detected("kind", "m", observed, expected, "d").build()
    assert _risk(event) == risk


def test_automation_triggered(client):
    """The automation acts as a compute job; trigger, rule, parameters and the triggering event."""
    trigger = client.trace("cart.abandoned").event_id
    event = client.automation_triggered(
        "cart-recovery",
        "cart idle for 60 minutes",
        "send_recovery_email",
        name="Cart Recovery",
        rule="idle >= 60",
        parameters={"template": "recovery"},
        trigger_event_id=trigger,
        affected_objects=[{"type": "cart", "id": "cart-1"}],
    ).build()
    assert event.event_type == "automation.triggered"
    assert event.actor == Actor.compute("cart-recovery", "Cart Recovery")
    assert event.decision.trigger == "cart idle for 60 minutes"
    assert event.decision.trigger_event_id == trigger
    assert event.decision.action == "send_recovery_email"
    assert event.decision.context == {"template": "recovery"}
    assert "rule: idle >= 60" in event.decision.reasoning
    assert event.data["rule"] == "idle >= 60"
    assert event.tags == ("automation",)


# Pricing -----------------------------------------------------------------


def test_price_updated(client):
    """Product with price before and after; change in percent; risk by its size."""
    event = client.price_updated("SKU-1", "20.00", "21.00", "Supplier cost up").build()
    assert event.event_type == "pricing.price_updated"
    assert _objects(event) == [("product", "SKU-1", {"price": "20.00"}, {"price": "21.00"})]
    assert event.objects[0].external_id is None
    assert event.decision.context["change_percent"] == "5.0"
    assert event.data["direction"] == "increase"
    assert event.data["change"] == "1.00"
    assert _risk(event) == "medium"
    assert not _approval(event)
    assert event.tags == ("pricing", "price-increase")


def test_price_updated_with_product_id_keeps_sku_as_external_id(client):
    """A product id other than the SKU is the object id; the SKU its external id."""
    event = client.price_updated("SKU-1", 20, 10, "Clearance", product_id="prod-1").build()
    assert (event.objects[0].id, event.objects[0].external_id) == ("prod-1", "SKU-1")
    assert _risk(event) == "critical"
    assert "price-decrease" in event.tags


@pytest.mark.parametrize(
    ("new", "risk", "approval"),
    [("20.90", "low", False), ("22.00", "medium", True), ("25.00", "high", True)],
)
def test_dynamic_price_adjusted_approval(client, new, risk, approval):
    """A dynamic change at or above the approval level waits for a person."""
    event = client.dynamic_price_adjusted(
        "SKU-1", "20.00", new, model="pricing-rl", confidence=0.8, factors={"demand": 1.2}
    ).build()
    assert event.event_type == "pricing.dynamic_adjusted"
    assert event.actor.id == "pricing-rl"
    assert (_risk(event), _approval(event)) == (risk, approval)
    assert _objects(event) == [("product", "SKU-1", {"price": "20.00"}, {"price": new})]
    assert event.decision.context["factors"] == {"demand": 1.2}
    assert event.decision.action == "adjust_price"
    assert "given demand" in event.decision.reasoning


def test_dynamic_price_adjusted_outside_guardrails_is_critical(client):
    """A price below min_price is critical and tagged, whatever the size of the change."""
    event = client.dynamic_price_adjusted(
        "SKU-1",
        "20.00",
        "19.50",
        model="pricing-rl",
        confidence=0.9,
        factors={},
        reasoning="Match competitor",
        min_price="19.99",
        max_price="30",
    ).build()
    assert _risk(event) == "critical"
    assert _approval(event)
    assert "guardrail-breach" in event.tags
    assert event.decision.context["min_price"] == "19.99"
    assert event.decision.reasoning == "Match competitor"


# The approval rule -------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "risk", "approval"),
    [
        ("high", "medium", False),
        ("high", "high", True),
        ("low", "low", True),
        ("critical", "high", False),
        (None, "critical", False),
    ],
)
def test_approval_level_setting(client, settings, level, risk, approval):
    """ECOMMERCE_APPROVAL_RISK_LEVEL moves the line; None switches the rule off."""
    settings.ECOMMERCE_APPROVAL_RISK_LEVEL = level
    event = client.ai_recommendation("x", {}, {}, 0.99, "m").with_risk(risk).build()
    assert _approval(event) is approval


def test_approval_bad_setting_raises_at_build(client, settings):
    """A bad setting is reported when the rule is needed (and by the system check)."""
    settings.ECOMMERCE_APPROVAL_RISK_LEVEL = "urgent"
    builder = client.ai_recommendation("x", {}, {}, 0.99, "m")
    with pytest.raises(ImproperlyConfigured, match="ECOMMERCE_APPROVAL_RISK_LEVEL"):
        builder.build()


def test_approval_rule_applies_to_trace_and_copy(client):
    """client.trace() of a gated type and copy() of a builder follow the rule too."""
    builder = client.trace(EcommerceEventType.PRICE_DYNAMIC_ADJUSTED, "by hand").because(
        "Manual", risk_level="high"
    )
    assert isinstance(builder, EcommerceTraceBuilder)
    assert _approval(builder.build())
    copy = builder.copy()
    assert isinstance(copy, EcommerceTraceBuilder)
    assert copy.event_id != builder.event_id
    assert _approval(copy.build())


def test_approval_rule_ignores_other_types(client):
    """Risky events of other types need approval only when the caller asks."""
    event = client.inventory_low_stock("SKU-1", 0, 5).build()
    assert _risk(event) == "high"
    assert not _approval(event)
    asked = client.inventory_low_stock("SKU-1", 0, 5).requires_approval().build()
    assert _approval(asked)


def test_caller_may_ask_for_approval_below_the_level(client):
    """Below the level, .requires_approval() still stands."""
    event = client.ai_recommendation("x", {}, {}, 0.99, "m").requires_approval().build()
    assert _approval(event)


# Storing -----------------------------------------------------------------


def _every_method(client: EcommerceClient) -> list[EcommerceTraceBuilder]:
    return [
        client.order_created("ord-1", "cust-1", "20", [{"sku": "W-1", "qty": 1, "price": 20}]),
        client.order_cancelled("ord-1", "Changed mind", "20"),
        client.order_refunded("ord-1", "20", "Defect", "pay-1"),
        client.payment_captured("pay-1", "ord-1", "20", "card", "stripe"),
        client.payment_failed("pay-0", "ord-1", "20", "card_declined", "Declined"),
        client.inventory_adjusted("W-1", 5, 4, "Picked"),
        client.inventory_low_stock("W-1", 4, 5),
        client.inventory_restock_ordered("W-1", 50, "sup-1", date(2024, 6, 9), "400"),
        client.shipment_created("shp-1", "ord-1", "ups"),
        client.shipment_shipped("shp-1", "ord-1", "1Z1", "ups"),
        client.shipment_delivered("shp-1", "ord-1"),
        client.return_requested("ret-1", "ord-1", "cust-1", [{"sku": "W-1", "qty": 1}], "Broken"),
        client.return_approved("ret-1", "ord-1", "20", "Confirmed"),
        client.customer_created("cust-1", "jane@example.com"),
        client.customer_tier_changed("cust-1", "bronze", "silver", "Spend"),
        client.ai_recommendation("restock", {"qty": 5}, {}, 0.75, "forecast"),
        client.anomaly_detected("spike", "orders", 30, 10, "watch"),
        client.automation_triggered("job", "schedule", "run"),
        client.price_updated("W-1", "20", "21", "Cost"),
        client.dynamic_price_adjusted("W-1", "21", "30", model="p", confidence=0.9, factors={}),
    ]


@pytest.mark.django_db
def test_every_method_records_and_reads_back(client):
    """Each builder stores (with an actor added) and reads back equal; gated ones are pending."""
    builders = [
        b.by_system("shop").at(T0) if b.build().actor is None else b.at(T0)
        for b in _every_method(client)
    ]
    ids = client.record_many(builders)
    for builder, event_id in zip(builders, ids, strict=True):
        assert client.get_event(event_id) == builder.build()
    pending = Decision.objects.filter(outcome=DecisionOutcome.PENDING)
    assert sorted(d.decision_type for d in pending) == ["adjust_price", "restock"]
    assert EventRecord.objects.filter(requires_approval=True).count() == 2


@pytest.mark.django_db
def test_seed_query_finds_order_events_by_correlation(client):
    """An order's events share its id as correlation id."""
    client.order_created("ord-9", "c", 5, [{"sku": "A", "qty": 1, "price": 5}]).at(T0).record()
    client.payment_captured("pay-9", "ord-9", 5, "card").at(T0).record()
    client.shipment_created("shp-9", "ord-9", "dhl").at(T0).record()
    assert len(client.query(correlation_id="ord-9")) == 3


# Bad input ---------------------------------------------------------------

_ITEM = [{"sku": "W-1", "qty": 1, "price": "1.00"}]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.order_created("", "c", 1, _ITEM), "order_id must not be empty"),
        (lambda c: c.order_created(1, "c", 1, _ITEM), "order_id must be a string"),
        (lambda c: c.order_created("o" * 256, "c", 1, _ITEM), "at most 255"),
        (lambda c: c.order_created("o\x00", "c", 1, _ITEM), "NUL"),
        (lambda c: c.order_created("o", None, 1, _ITEM), "customer_id must be a string"),
        (lambda c: c.order_created("o", "c", 0.1 + 0.2, _ITEM), "more than 2 decimal places"),
        (lambda c: c.order_created("o", "c", float("nan"), _ITEM), "amount of money"),
        (lambda c: c.order_created("o", "c", -1, _ITEM), "0 or more"),
        (lambda c: c.order_created("o", "c", 1, []), "at least one item"),
        (lambda c: c.order_created("o", "c", 1, [{"sku": "W"}]), r"items\[0\]"),
        (
            lambda c: c.order_created("o", "c", 1, _ITEM, subtotal="1"),
            re.escape(RESERVED_ORDER_DATA.format(names="subtotal")),
        ),
        (lambda c: c.order_created("o", "c", 1, _ITEM, currency="usd"), "ISO 4217"),
        (lambda c: c.order_created("o", "c", 1, _ITEM, note=object()), "not JSON"),
        (lambda c: c.order_cancelled("o", ""), "reason must not be empty"),
        (lambda c: c.order_cancelled("o", "r", refund_amount="abc"), "amount of money"),
        (lambda c: c.order_refunded("o", 0, "r"), "more than 0"),
        (
            lambda c: c.order_refunded("o", 10, "r", order_total=5),
            re.escape(REFUND_ABOVE_TOTAL.format(refund="10.00", total="5.00")),
        ),
        (lambda c: c.order_refunded("o", 1, "r", payment_id=""), "payment_id must not be empty"),
        (lambda c: c.payment_captured("p", "o", 0, "card"), "more than 0"),
        (lambda c: c.payment_captured("p", "o", 1, ""), "payment_method must not be empty"),
        (lambda c: c.payment_captured("p", "o", 1, "card", processor=5), "processor must be"),
        (lambda c: c.payment_failed("p", "o", 1, "", "m"), "error_code must not be empty"),
        (lambda c: c.payment_failed("p", "o", 1, "c", None), "error_message must be"),
        (
            lambda c: c.inventory_adjusted("S", 1, 1, "r"),
            re.escape(STOCK_UNCHANGED.format(quantity=1)),
        ),
        (lambda c: c.inventory_adjusted("S", -1, 1, "r"), "quantity_before must be from 0"),
        (lambda c: c.inventory_adjusted("S", 1.5, 1, "r"), "whole number"),
        (lambda c: c.inventory_adjusted("S", True, 1, "r"), "whole number"),
        (lambda c: c.inventory_adjusted("S", 1, 10**10, "r"), "quantity_after must be from 0"),
        (
            lambda c: c.inventory_low_stock("S", 6, 5),
            re.escape(STOCK_ABOVE_THRESHOLD.format(current=6, threshold=5)),
        ),
        (lambda c: c.inventory_low_stock("S", 1, 5, ""), "recommended_action must not be empty"),
        (lambda c: c.inventory_restock_ordered("S", 0, "sup"), "quantity_ordered must be from 1"),
        (lambda c: c.inventory_restock_ordered("S", 1, "sup", "soon"), "date or a datetime"),
        (lambda c: c.inventory_restock_ordered("S", 1, "sup", cost="1.001"), "decimal places"),
        (lambda c: c.shipment_created("s", "o", "ups", items="W-1"), r"items\[0\]"),
        (lambda c: c.shipment_created("s", "o", "ups", tracking_number=""), "tracking_number"),
        (lambda c: c.shipment_shipped("s", "o", "t", "ups", "2024-01-01"), "date or a datetime"),
        (lambda c: c.shipment_delivered("s", "o", date(2024, 1, 1)), "must be a datetime"),
        (lambda c: c.return_requested("r", "o", "c", [{"sku": "W", "qty": 0}], "x"), "from 1"),
        (lambda c: c.return_approved("r", "o", "1", " "), "approval_reason must not be empty"),
        (lambda c: c.customer_created("c", "not-an-email"), "e-mail address"),
        (lambda c: c.customer_created("c", "a@example.com", ""), "source must not be empty"),
        (
            lambda c: c.customer_tier_changed("c", "gold", "gold", "r"),
            re.escape(TIER_UNCHANGED.format(tier="gold")),
        ),
        (lambda c: c.ai_recommendation("", {}, {}, 0.5, "m"), "recommendation_type"),
        (lambda c: c.ai_recommendation("x" * 101, {}, {}, 0.5, "m"), "at most 100"),
        (lambda c: c.ai_recommendation("t", [], {}, 0.5, "m"), "recommendation must be a dict"),
        (lambda c: c.ai_recommendation("t", {}, "ctx", 0.5, "m"), "context must be a dict"),
        (lambda c: c.ai_recommendation("t", {}, {}, 1.5, "m"), "confidence must be"),
        (lambda c: c.ai_recommendation("t", {}, {}, None, "m"), "confidence is required"),
        (lambda c: c.ai_recommendation("t", {}, {}, 0.5, ""), "model must not be empty"),
        (
            lambda c: c.ai_recommendation("t", {}, {}, 0.5, "m", affected_objects=[{"id": "x"}]),
            r"affected_objects\[0\]",
        ),
        (
            lambda c: c.ai_recommendation("t", {}, {}, 0.5, "m", affected_objects={"id": "x"}),
            r"affected_objects\[0\]",
        ),
        (
            lambda c: c.ai_recommendation(
                "t", {}, {}, 0.5, "m", affected_objects=[{"type": "nope", "id": "x"}]
            ),
            "object type must be one of",
        ),
        (
            lambda c: c.ai_recommendation(
                "t", {}, {}, 0.5, "m", affected_objects=[{"type": "order", "id": "x", "bad": 1}]
            ),
            r"affected_objects\[0\]",
        ),
        (
            lambda c: c.anomaly_detected("k", "m", 5, 5, "d"),
            re.escape(NOT_AN_ANOMALY.format(value=5)),
        ),
        (lambda c: c.anomaly_detected("k", "m", float("inf"), 5, "d"), "finite number"),
        (lambda c: c.anomaly_detected("k", "m", "5", 4, "d"), "finite number"),
        (lambda c: c.anomaly_detected("k", "m", 5, 4, "d", confidence=2), "confidence"),
        (lambda c: c.automation_triggered("", "t", "a"), "automation_id must not be empty"),
        (lambda c: c.automation_triggered("j", "t", "a", trigger_event_id="x"), "event id"),
        (lambda c: c.automation_triggered("j", "t", "a", rule=""), "rule must not be empty"),
        (
            lambda c: c.price_updated("S", 10, 10, "r"),
            re.escape(PRICE_UNCHANGED.format(price="10.00")),
        ),
        (lambda c: c.price_updated("S", 10, -1, "r"), "new_price must be 0 or more"),
        (lambda c: c.price_updated("S", 10, 11, "r", product_id=""), "product_id"),
        (
            lambda c: c.dynamic_price_adjusted(
                "S", 10, 11, model="m", confidence=0.5, factors={}, min_price=5, max_price=4
            ),
            re.escape(PRICE_BOUNDS.format(minimum="5.00", maximum="4.00")),
        ),
        (
            lambda c: c.dynamic_price_adjusted("S", 10, 11, model="m", confidence=0.5, factors=[]),
            "factors must be a dict",
        ),
        (
            lambda c: c.dynamic_price_adjusted(
                "S", 10, 11, model="m", confidence=0.5, factors={}, reasoning=""
            ),
            "reasoning must not be empty",
        ),
    ],
)
def test_bad_input_is_refused_at_once(client, call, message):
    """Wrong, missing, huge and hostile arguments raise TraceValidationError saying what to pass."""
    with pytest.raises(TraceValidationError, match=message):
        call(client)


@pytest.mark.parametrize("currency", ["usd", "US", "EURO", "", None, 840])
def test_client_currency_must_be_iso(currency):
    """The client's currency is a three-letter code."""
    with pytest.raises(TraceValidationError, match="ISO 4217"):
        EcommerceClient(currency=currency)


@pytest.mark.django_db
def test_bad_input_writes_nothing(client):
    """A refused call stores nothing."""
    with pytest.raises(TraceValidationError):
        client.order_created("o", "c", "1.001", _ITEM).record()
    assert not EventRecord.objects.exists()
