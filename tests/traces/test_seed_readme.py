"""Every traces example of the seed README, run as written (imports adapted to ``traces``).

The ``EcommerceClient`` examples belong to the ecommerce app and are tested there.
"""

# The seed README's querying example passes naive datetimes, which the client
# takes as UTC; it is run as written.
# ruff: noqa: DTZ001

from __future__ import annotations

from datetime import datetime

import pytest

from decisioning.models import Decision
from traces import (
    Actor,
    ActorType,
    DecisionTraceClient,
    ObjectType,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> DecisionTraceClient:
    return DecisionTraceClient()


def test_readme_actors():
    """Key Concepts / Actors."""
    user = Actor.user("user-123", "John Doe", email="john@example.com", role="support")
    agent = Actor.ai_agent("pricing-ai", "Dynamic Pricing", model="gpt-4", version="2.1")
    job = Actor.compute("cron-job", "Inventory Sync", service_name="warehouse-api")
    assert (user.type, agent.type, job.type) == (
        ActorType.USER,
        ActorType.AI_AGENT,
        ActorType.COMPUTE,
    )


def test_readme_decision_trace_and_tracked_objects(client):
    """Key Concepts / Decision Traces and Tracked Objects, chained on one trace."""
    event_id = (
        client.trace("order.refunded", "Refund")
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
        .affecting_order("ord-123", {"status": "refunded", "refund_amount": 99.99})
        .affecting_customer("cust-456")
        .affecting_inventory("SKU-789", quantity_before=100, quantity_after=101)
        .record()
    )
    event = client.get_event(event_id)
    assert event.decision.rejection_reasons["replace"] == "Customer requested full refund"
    assert [o.id for o in event.objects] == ["ord-123", "cust-456", "SKU-789"]
    assert client.search("manufacturer defect")[0].id == event_id


def test_readme_fluent_api(client):
    """Core Features / Fluent API for Recording Events."""
    client.trace("order.cancelled", "Order cancelled by customer") \
        .by_user("cust-123", "John Doe") \
        .affecting_order("ord-456", {"status": "cancelled"}) \
        .because(
            "Customer found better price elsewhere",
            context={"competitor": "competitor.com", "price_difference": 15.00}
        ) \
        .with_tags("cancellation", "price-sensitive") \
        .record()  # fmt: skip
    event = client.query(tags=["price-sensitive"])[0]
    assert event.event_type == "order.cancelled"
    assert event.decision.context["price_difference"] == 15.0


def test_readme_span(client):
    """Core Features / Duration Tracking with Spans."""
    with client.span("report.generation", "Generating monthly report") as trace:
        trace.by_compute("report-service", "Report Generator")
        # ... do work ...
    event = client.query(event_types=["report.generation"])[0]
    assert event.duration >= 0
    assert event.actor.id == "report-service"


def test_readme_hierarchical_events(client):
    """Core Features / Hierarchical Events."""
    # Parent event
    workflow_id = client.trace("workflow.started", "Order fulfillment started") \
        .by_system("fulfillment-engine") \
        .record()  # fmt: skip

    # Child events
    client.trace("workflow.step", "Payment captured") \
        .child_of(workflow_id) \
        .record()  # fmt: skip
    chain = client.get_chain(workflow_id)
    assert [e.event_type for e in chain] == ["workflow.started", "workflow.step"]
    assert chain.depths == [0, 1]


def test_readme_querying(client):
    """Core Features / Powerful Querying, with naive datetimes taken as UTC."""
    in_january = client.trace("price.updated", "Price increase to protect margin") \
        .by_ai("pricing-ai", "Dynamic Pricing", model="gpt-4") \
        .affecting_order("order-12345") \
        .affecting_product("prod-1", external_id="SKU-123") \
        .because("Supplier price increase squeezed the margin") \
        .at(datetime(2024, 1, 15)) \
        .record()  # fmt: skip
    client.trace("order.created").at(datetime(2024, 2, 15)).record()
    event_id = in_january

    # Query by time range
    events = client.query(
        start=datetime(2024, 1, 1),
        end=datetime(2024, 1, 31),
    )
    assert [e.id for e in events] == [in_january]

    # Query by actor type
    ai_decisions = client.query(actor_types=[ActorType.AI_AGENT])
    assert [e.id for e in ai_decisions] == [in_january]

    # Query by affected objects
    order_events = client.query(object_types=[ObjectType.ORDER], object_ids=["order-12345"])
    assert [e.id for e in order_events] == [in_january]

    # Full-text search on decision reasoning
    results = client.search("price increase margin")
    assert [e.id for e in results] == [in_january]

    # Get event chain (parent/children)
    chain = client.get_chain(event_id)
    assert [e.id for e in chain] == [in_january]

    # Get object history
    history = client.get_object_history(external_id="SKU-123", object_type=ObjectType.PRODUCT)
    assert [e.id for e in history] == [in_january]


def test_readme_query_loop_prints(client, capsys):
    """Quick Start / Query events: the loop over results works on the value objects."""
    client.trace("order.created", "Order placed").because("Checkout completed").record()
    events = client.query(event_types=["order.created"], limit=10)
    for event in events:
        print(f"{event.event_type}: {event.description}")
        if event.decision:
            print(f"  Reason: {event.decision.reasoning}")
    assert capsys.readouterr().out == "order.created: Order placed\n  Reason: Checkout completed\n"


def test_readme_ai_recommendation_with_risk_and_approval(client):
    """Quick Start / an AI decision with risk; approval goes through decisioning.Decision."""
    event_id = (
        client.trace("ai.recommendation", "Restock WIDGET-001")
        .by_ai("demand-forecast", "Demand Forecast", model="demand-forecast-v2", confidence=0.92)
        .because("Stock below demand", context={"current_stock": 15, "avg_daily_sales": 8})
        .with_risk("medium")
        .requires_approval()
        .record()
    )
    assert str(Decision.objects.get().target.pk) == event_id
