"""A full ecommerce scenario with ``EcommerceClient``, against the project's database or a server.

Run from the project root after ``python manage.py migrate``::

    python examples/ecommerce_demo.py

or against a running server, through the SDK (no Django needed)::

    DECISION_TRACE_URL=http://127.0.0.1:8000 DECISION_TRACE_TOKEN=dt_... \
        python examples/ecommerce_demo.py

First the seed README's quick start, as written there. Then
one customer's order from checkout to a partial refund, told as parent and
child events that share the order id as correlation id, with stock moving,
an AI restock recommendation and a dynamic price change that wait for a
person's approval, an anomaly and the automation it set off. Finally it reads
the story back: the order's history, the pending approvals, a search.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from _setup import setup

setup()

from decision_trace import ObjectType, RecordedId, TraceBuilder  # noqa: E402
from decision_trace.ecommerce import EcommerceClient, EcommerceEventType  # noqa: E402


def quick_start() -> None:
    """The seed README's Quick Start."""
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


def order_story() -> None:
    """One order from registration to a partial refund, and what the AI did around it."""
    client = EcommerceClient()
    run = uuid.uuid4().hex[:6]
    customer, order, sku = f"cust-{run}", f"ord-{run}", f"MUG-{run}"
    start = datetime.now(UTC) - timedelta(days=3)

    def at(minutes: float) -> datetime:
        return start + timedelta(minutes=minutes)

    jane = {"user_id": customer, "name": "Jane Customer", "role": "customer"}
    recorded: list[tuple[str, RecordedId]] = []

    def record(builder: TraceBuilder, label: str) -> RecordedId:
        event_id = builder.record()
        recorded.append((label, event_id))
        return event_id

    record(
        client.customer_created(customer, f"jane.{run}@example.com", "web", name="Jane")
        .by_user(**jane)
        .at(at(0)),
        "customer registered",
    )
    placed = record(
        client.order_created(
            order,
            customer,
            Decimal("54.98"),
            [{"sku": sku, "qty": 2, "price": "27.49", "name": "Travel Mug"}],
            channel="web",
        )
        .by_user(**jane)
        .because("Customer completed checkout", context={"coupon_applied": None})
        .at(at(10)),
        "order placed",
    )
    record(
        client.payment_failed(
            f"pay-{run}-1", order, "54.98", "insufficient_funds", "The card has insufficient funds."
        )
        .by_external("stripe", "Stripe", service_name="payments")
        .child_of(placed)
        .at(at(10.2)),
        "payment failed",
    )
    paid = record(
        client.payment_captured(f"pay-{run}-2", order, "54.98", "paypal", "paypal")
        .by_external("paypal", "PayPal", service_name="payments")
        .child_of(placed)
        .at(at(13)),
        "payment captured",
    )
    shipment = record(
        client.shipment_created(f"shp-{run}", order, "ups", items=[{"sku": sku, "qty": 2}])
        .by_system("fulfillment-engine")
        .child_of(paid)
        .at(at(40)),
        "shipment created",
    )
    record(
        client.inventory_adjusted(sku, 5, 3, f"Picked 2 for order {order}", "WH-1")
        .by_system("warehouse-wms")
        .child_of(shipment)
        .with_correlation(order)
        .at(at(120)),
        "stock picked",
    )
    record(
        client.shipment_shipped(f"shp-{run}", order, "1Z999AA10123456784", "ups")
        .by_external("ups", "UPS", service_name="shipping")
        .child_of(shipment)
        .at(at(300)),
        "shipped",
    )
    record(
        client.shipment_delivered(f"shp-{run}", order, delivery_time=at(1800), signature="Jane")
        .by_external("ups", "UPS", service_name="shipping")
        .child_of(shipment),
        "delivered",
    )
    returned = record(
        client.return_requested(f"ret-{run}", order, customer, [{"sku": sku, "qty": 1}], "Chipped")
        .by_user(**jane)
        .child_of(placed)
        .at(at(2400)),
        "return requested",
    )
    record(
        client.return_approved(f"ret-{run}", order, "27.49", "Photo shows a chipped rim")
        .by_user("staff-maria", "Maria Gomez", role="support")
        .child_of(returned)
        .at(at(2460)),
        "return approved",
    )
    record(
        client.order_refunded(
            order, "27.49", "Chipped mug returned", f"pay-{run}-2", order_total="54.98"
        )
        .by_system("order-service")
        .child_of(returned)
        .at(at(2500)),
        "partial refund",
    )
    record(
        client.customer_tier_changed(customer, "bronze", "silver", "Lifetime spend above 500.00")
        .by_compute("loyalty-tiers", "Loyalty Tiers", service_name="crm")
        .at(at(2600)),
        "tier upgrade",
    )
    alert = record(
        client.inventory_low_stock(sku, 3, 5, "restock")
        .by_compute("inventory-sync", "Inventory Sync", service_name="warehouse-api")
        .at(at(2700)),
        "low stock",
    )
    record(
        client.ai_recommendation(
            "inventory_restock",
            {"sku": sku, "quantity": 400},
            {"current_stock": 3, "avg_daily_sales": 1.5},
            0.71,
            "demand-forecast-v2",
            affected_objects=[{"type": "inventory", "id": sku}],
        )
        .because(
            "Stock covers two days; 400 covers the next quarter",
            alternatives=[{"action": "order_less", "quantity": 60}],
            rejection_reasons={"order_less": "Would reorder again within a month"},
        )
        .child_of(alert)
        .at(at(2701)),
        "AI restock recommendation",
    )
    record(
        client.dynamic_price_adjusted(
            sku,
            "27.49",
            "34.99",
            model="pricing-rl",
            confidence=0.66,
            factors={"demand_index": 1.4, "competitor_price": "32.99"},
            min_price="15.00",
            max_price="39.99",
        ).at(at(2800)),
        "dynamic price change",
    )
    record(
        client.price_updated(sku, "27.49", "26.99", "Match the manufacturer's list price")
        .by_user("staff-nina", "Nina Berg", role="merchandising")
        .at(at(2900)),
        "manual price change",
    )
    anomaly = record(
        client.anomaly_detected(
            "refund_rate_spike",
            "refund_rate",
            0.18,
            0.05,
            "anomaly-watch",
            confidence=0.9,
            window="last 24 hours",
        ).at(at(3000)),
        "anomaly",
    )
    record(
        client.automation_triggered(
            "refund-review",
            "anomaly: refund_rate_spike",
            "open_review_ticket",
            name="Refund Review",
            trigger_event_id=anomaly,
        )
        .child_of(anomaly)
        .at(at(3001)),
        "automation",
    )

    print(f"Recorded {len(recorded)} events for {order}:")
    for label, event_id in recorded:
        event = client.get_event(event_id)
        flags = []
        if event.decision and event.decision.risk_level:
            flags.append(f"risk {event.decision.risk_level}")
        if event.decision and event.decision.requires_approval:
            flags.append("needs approval")
        print(f"  {label:<26} {event.event_type:<30} {', '.join(flags)}")

    print(f"\nThe story of {order} (get_object_history):")
    for event in client.get_object_history(object_id=order, object_type=ObjectType.ORDER):
        state = next(o.state_after for o in event.objects if o.id == order)
        print(f"  {event.timestamp:%d %b %H:%M}  {event.event_type:<26} {state}")

    print(f"\nStock of {sku}:")
    for event in client.get_object_history(external_id=sku, object_type=ObjectType.INVENTORY):
        obj = next(o for o in event.objects if o.id == sku)
        print(f"  {event.event_type:<28} {obj.state_before} -> {obj.state_after}")

    print("\nWaiting for a person's approval:")
    # The server decides what waits for a person; record() returned its decision's id.
    for _, event_id in recorded:
        if event_id.decision_id is None:
            continue
        event = client.get_event(event_id)
        decision_type = event.decision.action or event.event_type
        print(
            f"  {decision_type:<20} {event.description} "
            f"(confidence {event.decision.confidence}, risk {event.decision.risk_level})"
        )

    print("\nSearch 'chipped':")
    for event in client.search("chipped", correlation_id=order):
        print(f"  {event.event_type}: {event.decision.reasoning if event.decision else ''}")

    recommendations = client.query(event_types=[EcommerceEventType.AI_RECOMMENDATION], limit=500)
    print(f"\nAI recommendations stored so far: {len(recommendations)}")


if __name__ == "__main__":
    print("== Quick start")
    quick_start()
    print("\n== One order, end to end")
    order_story()
