"""The seed README's ecommerce parts, run as written (imports adapted to this project)."""

from __future__ import annotations

import pytest

from decisioning.models import Decision, DecisionOutcome

pytestmark = pytest.mark.django_db


def test_readme_quick_start(capsys):
    """Quick Start: record an order and an AI decision, then query and print the order."""
    from ecommerce import EcommerceClient  # was: from decision_trace.ecommerce import ...
    from traces import DecisionTraceClient  # noqa: F401 - was: from decision_trace import ...

    # Initialize client
    client = EcommerceClient()

    # Record an order creation
    client.order_created(
        order_id="ord-12345",
        customer_id="cust-67890",
        total=149.99,
        items=[{"sku": "WIDGET-001", "qty": 2, "price": 74.99}],
    ).by_user(
        "cust-67890", "Jane Customer", role="customer"
    ).because(
        "Customer completed checkout after 3 items in cart",
        context={"session_duration": "5m 32s", "coupon_applied": None}
    ).record()  # fmt: skip

    # Record an AI decision
    client.ai_recommendation(
        recommendation_type="inventory_restock",
        recommendation={"sku": "WIDGET-001", "quantity": 100},
        context={"current_stock": 15, "avg_daily_sales": 8},
        confidence=0.92,
        model="demand-forecast-v2",
    ).with_risk("medium").record()

    # Query events
    events = client.query(event_types=["order.created"], limit=10)
    for event in events:
        print(f"{event.event_type}: {event.description}")
        if event.decision:
            print(f"  Reason: {event.decision.reasoning}")

    assert capsys.readouterr().out == (
        "order.created: Order ord-12345 placed: 2 item(s), 149.99 USD\n"
        "  Reason: Customer completed checkout after 3 items in cart\n"
    )
    # The medium-risk recommendation waits for a person (the default approval level).
    pending = Decision.objects.get(outcome=DecisionOutcome.PENDING)
    assert pending.decision_type == "inventory_restock"
    order = events[0]
    assert order.data["total"] == "149.99"
    assert order.actor.role == "customer"


# The methods the seed README's "Ecommerce Event Types" section names.
_SEED_METHODS = (
    "order_created",
    "order_cancelled",
    "order_refunded",
    "payment_captured",
    "payment_failed",
    "inventory_adjusted",
    "inventory_low_stock",
    "inventory_restock_ordered",
    "shipment_created",
    "shipment_shipped",
    "shipment_delivered",
    "return_requested",
    "return_approved",
    "customer_created",
    "customer_tier_changed",
    "ai_recommendation",
    "anomaly_detected",
    "automation_triggered",
    "price_updated",
    "dynamic_price_adjusted",
)


@pytest.mark.parametrize("name", _SEED_METHODS)
def test_readme_methods_exist(name):
    """Every method of the seed README's "Ecommerce Event Types" returns a builder."""
    from ecommerce import EcommerceClient

    assert callable(getattr(EcommerceClient, name))
