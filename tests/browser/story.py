"""A small, realistic store history for the browser tests, built with the record factories.

One order's chain (checkout, payment, fraud screening, stock reservation,
shipping), a pricing AI's decisions with alternatives (more than a page of
them), failing compute jobs, a refund waiting for approval and the Decision
records about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from decisioning.models import Decision
from tests.traces.factories import (
    ActorRecordFactory,
    EventRecordFactory,
    EventTagFactory,
    TrackedObjectRecordFactory,
)
from traces.models import EventRecord

ORDER_ID = "ord-12345"
PRICING_DECISIONS = 40


@dataclass(frozen=True)
class Story:
    order_chain: list[EventRecord]
    pricing: list[EventRecord]
    refund: EventRecord


def _event(**fields) -> EventRecord:
    tags = fields.get("tags", [])
    event = EventRecordFactory(**fields)
    for tag in tags:
        EventTagFactory(event=event, tag=tag)
    return event


def build_story(now: datetime | None = None) -> Story:
    now = now or timezone.now()
    customer = ActorRecordFactory(
        actor_type="user", actor_id="cust-67890", name="Jane Customer", role="customer"
    )
    support = ActorRecordFactory(
        actor_type="user", actor_id="agent-7", name="Sam Support", role="support"
    )
    pricing = ActorRecordFactory(
        actor_type="ai_agent",
        actor_id="pricing-ai",
        name="Dynamic Pricing",
        model="gpt-4",
        version="2.1",
    )
    fraud = ActorRecordFactory(
        actor_type="ai_agent", actor_id="fraud-ai", name="Fraud Screening", model="risk-v3"
    )
    sync = ActorRecordFactory(
        actor_type="compute",
        actor_id="inventory-sync",
        name="Inventory Sync",
        service_name="warehouse-api",
    )
    orders = ActorRecordFactory(actor_type="system", actor_id="order-service", name="Order service")
    stripe = ActorRecordFactory(actor_type="external", actor_id="stripe", name="Stripe")

    start = now - timedelta(hours=3)
    flow = f"checkout-{ORDER_ID}"
    created = _event(
        event_type="order.created",
        description=f"Order {ORDER_ID} placed: 2 x WIDGET-001",
        actor=customer,
        effective_at=start,
        duration=0.4,
        has_decision=True,
        reasoning="Customer completed checkout after 3 items in cart",
        context={"session_duration": "5m 32s", "coupon_applied": None, "items": 2},
        correlation_id=flow,
        source_system="storefront",
        tags=["checkout"],
    )
    TrackedObjectRecordFactory(
        event=created,
        object_id=ORDER_ID,
        name="Jane's order",
        state_after={"status": "created", "total": 149.99},
    )
    TrackedObjectRecordFactory(
        event=created, position=1, object_type="customer", object_id="cust-67890"
    )
    paid = _event(
        event_type="payment.authorized",
        description="Card payment of €149.99 authorised",
        actor=stripe,
        parent=created,
        effective_at=start + timedelta(seconds=1),
        duration=1.2,
        correlation_id=flow,
        data={"psp_reference": "pi_3Nx", "amount": 149.99, "currency": "EUR"},
    )
    TrackedObjectRecordFactory(
        event=paid,
        object_id=ORDER_ID,
        state_before={"status": "created", "total": 149.99},
        state_after={"status": "paid", "total": 149.99},
    )
    screened = _event(
        event_type="fraud.screened",
        description=f"Fraud screening passed for {ORDER_ID}",
        actor=fraud,
        parent=created,
        effective_at=start + timedelta(seconds=2),
        duration=0.8,
        has_decision=True,
        reasoning="Low fraud risk: returning customer, billing and shipping addresses match",
        context={"previous_orders": 7, "chargebacks": 0, "ip_country": "DE"},
        alternatives=[
            {"action": "manual_review", "reason": "Send the order to a person"},
            {"action": "decline", "reason": "Refuse the order"},
        ],
        rejection_reasons={
            "manual_review": "Score 0.03 is far below the 0.4 review threshold",
            "decline": "No fraud signal at all",
        },
        confidence=0.94,
        risk_level="low",
        correlation_id=flow,
    )
    TrackedObjectRecordFactory(event=screened, object_id=ORDER_ID)
    reserved = _event(
        event_type="inventory.reserved",
        description="2 x WIDGET-001 reserved in Berlin warehouse",
        actor=sync,
        parent=paid,
        effective_at=start + timedelta(seconds=3),
        duration=2.5,
        correlation_id=flow,
    )
    TrackedObjectRecordFactory(event=reserved, object_id=ORDER_ID)
    TrackedObjectRecordFactory(
        event=reserved,
        position=1,
        object_type="inventory",
        object_id="WIDGET-001",
        state_before={"quantity": 15},
        state_after={"quantity": 13},
    )
    shipped = _event(
        event_type="order.shipped",
        description=f"Order {ORDER_ID} handed to DHL",
        actor=orders,
        parent=created,
        effective_at=start + timedelta(seconds=7),
        duration=0.3,
        correlation_id=flow,
    )
    TrackedObjectRecordFactory(
        event=shipped,
        object_id=ORDER_ID,
        state_before={"status": "paid"},
        state_after={"status": "shipped", "carrier": "DHL", "tracking": "JD0140"},
    )

    pricing_events = []
    for index in range(PRICING_DECISIONS):
        old, new = 74.99 + index % 5, 74.99 + index % 5 + (2 if index % 3 else -3)
        event = _event(
            event_type="price.adjusted",
            description=f"Price of SKU-{100 + index} changed from €{old:.2f} to €{new:.2f}",
            actor=pricing,
            effective_at=now - timedelta(minutes=12 * index + 5),
            duration=0.2,
            has_decision=True,
            reasoning=(
                "Competitor prices moved and stock is healthy\n"
                "Three competitors changed their price within the last hour."
            ),
            context={"competitor_min": new - 1, "stock_days": 40 - index % 9},
            alternatives=[
                {"action": "keep_price", "reason": "Leave the price as it is"},
                {"action": "match_lowest", "reason": "Match the lowest competitor"},
            ],
            rejection_reasons={
                "keep_price": "Would lose the buy box",
                "match_lowest": "Margin would fall below 12%",
            },
            constraints=["margin >= 12%", "max change 5% per day"],
            confidence=0.7 + (index % 3) / 10,
            risk_level="high" if index % 7 == 0 else "medium",
            tags=["pricing"],
        )
        TrackedObjectRecordFactory(
            event=event,
            object_type="product",
            object_id=f"SKU-{100 + index}",
            state_before={"price": old},
            state_after={"price": new},
        )
        pricing_events.append(event)

    for hours in (2, 30):
        failed = _event(
            event_type="inventory.sync_failed",
            description="Nightly stock sync with the Berlin warehouse failed",
            actor=sync,
            effective_at=now - timedelta(hours=hours),
            duration=31.0,
            outcome="failure",
            error="TimeoutError: warehouse-api did not answer within 30 s",
        )
        TrackedObjectRecordFactory(event=failed, object_type="warehouse", object_id="berlin-1")

    refund = _event(
        event_type="refund.requested",
        description="Refund of €99.99 for a damaged widget",
        actor=support,
        effective_at=now - timedelta(minutes=50),
        has_decision=True,
        reasoning="Refund approved due to product defect",
        context={"defect_type": "manufacturing", "customer_tier": "gold"},
        alternatives=[
            {"action": "replace", "reason": "offer replacement instead"},
            {"action": "partial_refund", "reason": "50% refund option"},
        ],
        rejection_reasons={
            "replace": "Customer requested full refund",
            "partial_refund": "Clear manufacturer defect",
        },
        confidence=0.88,
        risk_level="medium",
        requires_approval=True,
        approval_status="pending",
    )
    TrackedObjectRecordFactory(event=refund, object_type="order", object_id="ord-11890")
    admin = User.objects.filter(is_superuser=True).first()
    event_type = ContentType.objects.get_for_model(EventRecord)
    Decision.objects.create(
        target_content_type=event_type,
        target_id=str(refund.pk),
        decision_type="refund_approval",
        effective_at=now - timedelta(minutes=49),
        reason="Waiting for a person: refunds over €50 need approval.",
    )
    Decision.objects.create(
        target_content_type=event_type,
        target_id=str(pricing_events[0].pk),
        decision_type="price_change_approval",
        outcome="approved",
        decided_by=admin,
        effective_at=now - timedelta(minutes=4),
        reason="Within the weekly pricing budget.",
    )
    return Story(
        order_chain=[created, paid, screened, reserved, shipped],
        pricing=pricing_events,
        refund=refund,
    )
