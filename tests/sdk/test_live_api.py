"""The SDK over HTTP against the real app on a real port (pytest-django's ``live_server``).

Each test runs the SDK in a child process whose environment has no Django:
no settings variable, and a meta-path hook that refuses to import it. The
child gets the server from ``DECISION_TRACE_URL``/``DECISION_TRACE_TOKEN``
only, runs the seed README's code unchanged, and prints what it read back
as JSON; the test then reads the same events in-process and compares.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from decisioning.models import Decision, DecisionOutcome
from tests.subprocess_report import run_for_report
from traces import DecisionTraceClient, TraceEvent
from traces.api.models import Scope
from traces.api.tokens import service_token_create
from traces.models import EventRecord

pytestmark = pytest.mark.django_db(transaction=True)

# Refuses Django in the child, then runs the test's script.
_PRELUDE = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class _NoDjango(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname == "django" or fullname.startswith("django."):
                raise ImportError("no Django in the SDK's process")

    sys.meta_path.insert(0, _NoDjango())

    def report(**values):
        print(json.dumps(values, default=str))
    """
)

_SEED_IMPORTS = textwrap.dedent(
    """
    from datetime import datetime
    from decision_trace import (
        Actor, ActorType, DecisionTraceClient, EventOutcome, ObjectType, TraceEvent,
    )
    from decision_trace.ecommerce import EcommerceClient
    """
)


@pytest.fixture
def sdk(live_server: Any, django_user_model: Any) -> Callable[[str], dict[str, Any]]:
    """``sdk(script)`` runs ``script`` in a Django-free child against the live server."""
    owner = django_user_model.objects.create_superuser("sdk-live", "sdk@example.com", "pw")
    token = service_token_create(
        owner=owner, name="sdk live test", scopes=[scope.value for scope in Scope]
    ).text
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DECISION_TRACE_URL": live_server.url,
        "DECISION_TRACE_TOKEN": token,
    }

    def run(script: str) -> dict[str, Any]:
        code = _PRELUDE + _SEED_IMPORTS + textwrap.dedent(script)
        return run_for_report(["-c", code], env=env, timeout=180)

    return run


def _plain(events: list[TraceEvent]) -> list[dict[str, Any]]:
    return [json.loads(event.to_json()) for event in events]


def test_live_quick_start(sdk):
    """The seed README's Quick Start, unchanged, over HTTP; the same events read in-process."""
    report = sdk(
        """
        import contextlib, io
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
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
            ).record()

            # Record an AI decision
            advice = client.ai_recommendation(
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
        report(
            printed=out.getvalue(),
            events=[e.to_dict() for e in events],
            advice=advice,
            decision_id=advice.decision_id,
        )
        """
    )
    assert report["printed"] == (
        "order.created: Order ord-12345 placed: 2 item(s), 149.99 USD\n"
        "  Reason: Customer completed checkout after 3 items in cart\n"
    )
    in_process = DecisionTraceClient().query(event_types=["order.created"], limit=10)
    assert report["events"] == _plain(in_process)
    pending = Decision.objects.get(outcome=DecisionOutcome.PENDING)
    assert report["decision_id"] == str(pending.pk)
    assert str(pending.target_id) == report["advice"]


def test_live_key_concepts(sdk):
    """Key Concepts: actors, a decision trace and tracked objects on one event."""
    report = sdk(
        """
        client = DecisionTraceClient()
        actors = [
            # Human users
            Actor.user("user-123", "John Doe", email="john@example.com", role="support"),
            # AI agents
            Actor.ai_agent("pricing-ai", "Dynamic Pricing", model="gpt-4", version="2.1"),
            # Automated systems
            Actor.compute("cron-job", "Inventory Sync", service_name="warehouse-api"),
        ]
        event_id = client.trace("order.refunded", "Refund").by(actors[0]) \\
        .because(
            "Refund approved due to product defect",
            context={"defect_type": "manufacturing", "customer_tier": "gold"},
            alternatives=[
                {"action": "replace", "reason": "offer replacement instead"},
                {"action": "partial_refund", "reason": "50% refund option"}
            ],
            rejection_reasons={
                "replace": "Customer requested full refund",
                "partial_refund": "Clear manufacturer defect"
            }
        ) \\
        .affecting_order("ord-123", {"status": "refunded", "refund_amount": 99.99}) \\
        .affecting_customer("cust-456") \\
        .affecting_inventory("SKU-789", quantity_before=100, quantity_after=101) \\
        .record()
        report(event=client.get_event(event_id).to_dict(),
               found=[e.id for e in client.search("manufacturer defect")])
        """
    )
    event = DecisionTraceClient().get_event(report["event"]["id"])
    assert report["event"] == json.loads(event.to_json())
    assert report["found"] == [event.id]


def test_live_fluent_api_span_and_hierarchy(sdk):
    """Core Features: the fluent API, a span, and a parent with a child, unchanged."""
    report = sdk(
        """
        client = DecisionTraceClient()
        client.trace("order.cancelled", "Order cancelled by customer") \\
            .by_user("cust-123", "John Doe") \\
            .affecting_order("ord-456", {"status": "cancelled"}) \\
            .because(
                "Customer found better price elsewhere",
                context={"competitor": "competitor.com", "price_difference": 15.00}
            ) \\
            .with_tags("cancellation", "price-sensitive") \\
            .record()

        with client.span("report.generation", "Generating monthly report") as trace:
            trace.by_compute("report-service", "Report Generator")
            # ... do work ...
        # Duration automatically calculated when context exits

        # Parent event
        workflow_id = client.trace("workflow.started", "Order fulfillment started") \\
            .by_system("fulfillment-engine") \\
            .record()

        # Child events
        client.trace("workflow.step", "Payment captured") \\
            .child_of(workflow_id) \\
            .record()

        chain = client.get_chain(workflow_id)
        report(
            cancelled=[e.to_dict() for e in client.query(tags=["price-sensitive"])],
            span=client.get_event(trace.event_id).to_dict(),
            chain=[[d, e.to_dict()] for d, e in chain.walk()],
            workflow_id=workflow_id,
        )
        """
    )
    client = DecisionTraceClient()
    assert report["cancelled"] == _plain(client.query(tags=["price-sensitive"]))
    span = client.get_event(report["span"]["id"])
    assert report["span"] == json.loads(span.to_json())
    assert span.actor.id == "report-service"
    assert report["chain"] == [
        [depth, json.loads(event.to_json())]
        for depth, event in client.get_chain(report["workflow_id"]).walk()
    ]


def test_live_powerful_querying(sdk):
    """Core Features / Powerful Querying, unchanged, after one January event to find."""
    report = sdk(
        """
        client = DecisionTraceClient()
        event_id = client.trace("price.updated", "Price increase to protect margin") \\
            .by_ai("pricing-ai", "Dynamic Pricing", model="gpt-4") \\
            .affecting_order("order-12345") \\
            .affecting_product("prod-1", external_id="SKU-123") \\
            .because("Supplier price increase squeezed the margin") \\
            .at(datetime(2024, 1, 15)) \\
            .record()
        client.trace("order.created").at(datetime(2024, 2, 15)).record()

        # Query by time range
        events = client.query(
            start=datetime(2024, 1, 1),
            end=datetime(2024, 1, 31),
        )

        # Query by actor type
        ai_decisions = client.query(actor_types=[ActorType.AI_AGENT])

        # Query by affected objects
        order_events = client.query(
            object_types=[ObjectType.ORDER],
            object_ids=["order-12345"]
        )

        # Full-text search on decision reasoning
        results = client.search("price increase margin")

        # Get event chain (parent/children)
        chain = client.get_chain(event_id)

        # Get object history
        history = client.get_object_history(external_id="SKU-123", object_type=ObjectType.PRODUCT)
        report(**{
            name: [e.id for e in found]
            for name, found in [
                ("events", events), ("ai", ai_decisions), ("orders", order_events),
                ("search", results), ("chain", chain), ("history", history),
            ]
        }, event_id=event_id, stats=client.stats())
        """
    )
    expected = [report["event_id"]]
    for name in ("events", "ai", "orders", "search", "chain", "history"):
        assert report[name] == expected, name
    in_process = DecisionTraceClient().stats()
    assert report["stats"]["total_events"] == in_process["total_events"] == 2
    assert report["stats"]["by_event_type"] == in_process["by_event_type"]


def test_live_every_ecommerce_method(sdk):
    """Each EcommerceClient method of the seed README records over HTTP and reads back equal."""
    report = sdk(
        """
        from decimal import Decimal
        client = EcommerceClient()
        builders = [
            client.order_created("o-1", "c-1", "20.00", [{"sku": "S-1", "qty": 2, "price": 10}]),
            client.order_cancelled("o-1", "Customer asked"),
            client.order_refunded("o-1", "5.00", "Damaged", order_total="20.00"),
            client.payment_captured("p-1", "o-1", "20.00", "card"),
            client.payment_failed("p-2", "o-1", "20.00", "card_declined", "Declined"),
            client.inventory_adjusted("S-1", 10, 8, "Broken on arrival"),
            client.inventory_low_stock("S-1", 2, 10),
            client.inventory_restock_ordered("S-1", 50, "sup-1"),
            client.shipment_created("sh-1", "o-1", "UPS"),
            client.shipment_shipped("sh-1", "o-1", "1Z999", "UPS"),
            client.shipment_delivered("sh-1", "o-1"),
            client.return_requested("r-1", "o-1", "c-1", [{"sku": "S-1", "qty": 1}], "Too small"),
            client.return_approved("r-1", "o-1", "10.00", "Within 30 days"),
            client.customer_created("c-1", "jane@example.com"),
            client.customer_tier_changed("c-1", "silver", "gold", "Spent enough"),
            client.ai_recommendation("restock", {"sku": "S-1"}, {}, 0.95, "m-1"),
            client.anomaly_detected("spike", "failures", 30, 3, "watch"),
            client.automation_triggered("auto-1", "Restock rule", "stock below 5"),
            client.price_updated("S-1", "10.00", "10.50", "Supplier cost"),
            client.dynamic_price_adjusted(
                "S-1", "10.50", "9.99", model="pr-1", confidence=0.9, factors={"demand": 0.8}
            ),
        ]
        ids = client.record_many(builders)
        report(events=[client.get_event(i).to_dict() for i in ids])
        """
    )
    client = DecisionTraceClient()
    assert len(report["events"]) == 20
    for event in report["events"]:
        assert event == json.loads(client.get_event(event["id"]).to_json())


def test_live_buffered_mode_delivers_everything(sdk):
    """batch=True: 500 events queued, flushed at exit, stored once each."""
    report = sdk(
        """
        client = DecisionTraceClient(batch=True, batch_size=200)
        ids = [client.trace("load.event", str(i)).record() for i in range(500)]
        report(ids=ids, pending=client.delivery_stats().pending)
        """
    )
    assert report["pending"] > 0  # the process exited with events queued
    assert EventRecord.objects.filter(event_type="load.event").count() == 500
    assert set(map(str, EventRecord.objects.values_list("pk", flat=True))) == set(report["ids"])


def test_live_span_children_and_propagation(sdk):
    """A plain record() and child_of(open span) inside a span; a chain crosses two clients."""
    report = sdk(
        """
        checkout = DecisionTraceClient()
        payment = DecisionTraceClient()
        with checkout.span("checkout.run") as span:
            step = checkout.trace("checkout.step").record()
            sub = checkout.trace("checkout.sub").child_of(span.event_id).record()
        started = checkout.trace("checkout.paid").with_correlation("ord-9").record()
        headers = {}
        checkout.inject(headers, event_id=started, correlation_id="ord-9")
        with payment.extract(headers):
            captured = payment.trace("payment.captured").record()
        report(span=span.event_id, step=step, sub=sub, started=started, captured=captured)
        """
    )
    client = DecisionTraceClient()
    assert client.get_event(report["step"]).parent_event_id == report["span"]
    assert client.get_event(report["sub"]).parent_event_id == report["span"]
    captured = client.get_event(report["captured"])
    assert (captured.parent_event_id, captured.correlation_id) == (report["started"], "ord-9")


def test_live_bad_input_is_the_same_error(sdk):
    """A parent that does not exist: the same TraceValidationError text as in-process."""
    report = sdk(
        """
        from decision_trace import TraceValidationError
        client = DecisionTraceClient()
        try:
            client.trace("a.b").child_of("0190b8e4-0000-7000-8000-000000000000").record()
        except TraceValidationError as exc:
            report(error=str(exc))
        """
    )
    with pytest.raises(ValueError, match="no stored event has that id") as raised:
        DecisionTraceClient().trace("a.b").child_of("0190b8e4-0000-7000-8000-000000000000").record()
    assert report["error"] == str(raised.value)


def test_live_examples_run_over_http(sdk):
    """examples/*.py run unchanged against the server (Django refused in their process)."""
    report = sdk(
        """
        import contextlib, io, runpy
        sys.path.insert(0, "examples")
        outputs = {}
        for name in ("basic_usage", "ecommerce_demo"):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                runpy.run_path(f"examples/{name}.py", run_name="__main__")
            outputs[name] = out.getvalue()
        report(**outputs)
        """
    )
    basic, demo = report["basic_usage"], report["ecommerce_demo"]
    for heading in ("== Actors", "== Recording", "== Search: 'manufacturer defect'", "== Chain"):
        assert heading in basic
    assert "    workflow.step: Payment captured" in basic
    assert "{'quantity': 100} -> {'quantity': 101}" in basic
    assert "order.created: Order ord-12345 placed: 2 item(s), 149.99 USD\n" in demo
    assert "Recorded 18 events for ord-" in demo
    assert "{'quantity': 5} -> {'quantity': 3}" in demo
    waiting = demo.split("Waiting for a person's approval:")[1]
    assert "adjust_price" in waiting
    assert "inventory_restock" in waiting
    assert Decision.objects.filter(outcome=DecisionOutcome.PENDING).count() >= 3
