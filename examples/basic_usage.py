"""Core concepts of Decision Trace, as in the seed README, in-process or against a server.

Run from the project root after ``python manage.py migrate``::

    python examples/basic_usage.py

or against a running server, through the SDK (no Django needed)::

    DECISION_TRACE_URL=http://127.0.0.1:8000 DECISION_TRACE_TOKEN=dt_... \
        python examples/basic_usage.py

It records an actor of each kind doing something (with the reasoning, the
objects touched and their state before and after), a span, a parent with a
child, and then reads it all back: a query, full-text search, the chain and
an object's history.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from _setup import setup

setup()

from decision_trace import Actor, ActorType, DecisionTraceClient, ObjectType  # noqa: E402


def main() -> None:
    client = DecisionTraceClient()
    run = uuid.uuid4().hex[:6]
    order_id, sku = f"ord-{run}", f"SKU-{run}"

    print("== Actors")
    for actor in (
        Actor.user("user-123", "John Doe", email="john@example.com", role="support"),
        Actor.ai_agent("pricing-ai", "Dynamic Pricing", model="gpt-4", version="2.1"),
        Actor.compute("cron-job", "Inventory Sync", service_name="warehouse-api"),
    ):
        print(f"  {actor.type.value:<8} {actor.id:<10} {actor.name}")

    print("== Recording")
    refund_id = (
        client.trace("order.refunded", f"Refund issued for {order_id}")
        .by_user("user-123", "John Doe", email="john@example.com", role="support")
        .affecting_order(order_id, {"status": "refunded", "refund_amount": "99.99"})
        .affecting_customer("cust-456")
        .affecting_inventory(sku, quantity_before=100, quantity_after=101)
        .because(
            "Refund approved due to product defect",
            context={"defect_type": "manufacturing", "customer_tier": "gold"},
            alternatives=[
                {"action": "replace", "reason": "offer replacement instead"},
                {"action": "partial_refund", "reason": "50% refund option"},
            ],
            rejection_reasons={
                "replace": "Customer requested full refund",
                "partial_refund": "Clear manufacturer defect",
            },
        )
        .with_tags("refund", "defect")
        .record()
    )
    print(f"  order.refunded      {refund_id}")

    price_id = (
        client.trace("price.updated", f"Price of {sku} raised 5 %")
        .by_ai("pricing-ai", "Dynamic Pricing", model="gpt-4", version="2.1", confidence=0.87)
        .affecting_product(
            f"prod-{run}", {"price": "21.00"}, external_id=sku, previous_price="19.99"
        )
        .because(
            "Price increase keeps the margin after the supplier's cost went up",
            context={"supplier_cost_change": "+8 %"},
        )
        .with_risk("high")
        .requires_approval()
        .record()
    )
    print(f"  price.updated       {price_id} (waiting for approval)")

    with client.span("report.generation", "Generating monthly report") as trace:
        trace.by_compute("report-service", "Report Generator")
        time.sleep(0.05)
    print("  report.generation   (a span; its duration was measured)")

    workflow_id = (
        client.trace("workflow.started", f"Order fulfillment started for {order_id}")
        .by_system("fulfillment-engine")
        .with_correlation(order_id)
        .record()
    )
    step_id = (
        client.trace("workflow.step", "Payment captured")
        .by_system("fulfillment-engine")
        .child_of(workflow_id)
        .with_correlation(order_id)
        .record()
    )
    print(f"  workflow.started    {workflow_id}")
    print(f"    workflow.step     {step_id}")

    print("== Query: AI decisions in the last hour")
    since = datetime.now(UTC) - timedelta(hours=1)
    for event in client.query(start=since, actor_types=[ActorType.AI_AGENT], limit=5):
        print(f"  {event.event_type}: {event.description}")
        if event.decision is not None:
            decision = event.decision
            print(f"    Reason: {decision.reasoning} (risk {decision.risk_level})")

    print("== Search: 'manufacturer defect'")
    for event in client.search("manufacturer defect", limit=3):
        print(f"  {event.event_type}: {event.description}")

    print("== Chain of the fulfillment workflow")
    chain = client.get_chain(step_id)
    for depth, event in chain.walk():
        print(f"  {'  ' * depth}{event.event_type}: {event.description}")

    print(f"== History of {sku}")
    for event in client.get_object_history(external_id=sku):
        for obj in event.objects:
            if sku in (obj.id, obj.external_id):
                change = f"{obj.state_before} -> {obj.state_after}"
                print(f"  {event.event_type}: {obj.type.value} {change}")

    print(f"== Events touching the order {order_id}")
    for event in client.query(object_types=[ObjectType.ORDER], object_ids=[order_id]):
        print(f"  {event.timestamp:%H:%M:%S} {event.event_type}")

    print(f"== Events correlated with {order_id}")
    for event in client.query(correlation_id=order_id):
        print(f"  {event.timestamp:%H:%M:%S} {event.event_type}: {event.description}")


if __name__ == "__main__":
    main()
