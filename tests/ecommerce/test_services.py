"""The loaded demo store holds together: stock adds up, chains and orders are whole, reviews real.

One store is loaded for the module, inside a transaction that is rolled back
at the end; each test runs in a savepoint inside it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from decisioning.models import Decision, DecisionOutcome, DecisionTransition
from ecommerce.demo import DEMO_SOURCE, DEMO_STAFF
from ecommerce.exceptions import DemoStoreExistsError
from ecommerce.selectors import demo_event_count
from ecommerce.services import DemoSummary, demo_staff_ensure, demo_store_reset, demo_store_seed
from traces import ActorType, DecisionTraceClient
from traces.models import ActorRecord, EventRecord, EventSearchDocument, TrackedObjectRecord

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)
DAYS = 21


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> DemoSummary:
    with django_db_blocker.unblock(), transaction.atomic():
        yield demo_store_seed(seed=7, days=DAYS, scale=0.2, now=NOW)
        transaction.set_rollback(True)


def test_summary_matches_the_database(demo):
    """The summary counts what was stored."""
    stored = EventRecord.objects.filter(source_system=DEMO_SOURCE)
    assert demo.events == stored.count() == demo_event_count()
    assert 1_500 < demo.events < 5_000
    assert demo.orders == stored.filter(event_type="order.created").count()
    assert demo.removed == 0
    assert sum(demo.counts.values()) == demo.events
    assert sum(demo.decisions.values()) == stored.filter(requires_approval=True).count()


def test_inventory_adds_up_per_sku(demo):
    """Every stock movement starts where the previous one of its SKU ended; none goes below 0."""
    moves = (
        TrackedObjectRecord.objects.filter(
            object_type="inventory", state_before__isnull=False, state_after__isnull=False
        )
        .order_by("event__effective_at", "event_id")
        .values_list("object_id", "state_before", "state_after", "event__event_type")
    )
    last: dict[str, int] = {}
    first_types = set()
    for sku, before, after, event_type in moves:
        if sku in last:
            assert before["quantity"] == last[sku], sku
        else:
            first_types.add(event_type)
        assert after["quantity"] >= 0
        last[sku] = after["quantity"]
    assert len(last) >= 12
    # Each SKU starts at the opening count, or from nothing for a product launched later.
    assert first_types <= {"inventory.counted", "inventory.received"}
    assert {t for *_, t in moves} >= {
        "inventory.counted",
        "inventory.adjusted",
        "inventory.received",
    }


def test_low_stock_alerts_report_the_stock_of_their_moment(demo):
    """An alert's quantity is the SKU's stock after its latest movement before the alert."""
    history: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    rows = (
        TrackedObjectRecord.objects.filter(object_type="inventory", state_after__isnull=False)
        .order_by("event__effective_at", "event_id")
        .values_list("object_id", "state_before", "state_after", "event__effective_at")
    )
    alerts = 0
    for sku, before, after, at in rows:
        if before is None and "threshold" in after:
            alerts += 1
            assert history[sku][-1][1] == after["quantity"] <= after["threshold"]
        elif before is not None:
            history[sku].append((at, after["quantity"]))
    assert alerts > 0


def test_shipments_and_payments_belong_to_their_order(demo):
    """Each shipment and payment event shares its order's correlation id and tree."""
    orders = dict(
        EventRecord.objects.filter(event_type="order.created").values_list("correlation_id", "id")
    )
    events = EventRecord.objects.filter(event_type__regex=r"^(shipment|payment)\.").values_list(
        "event_type", "correlation_id", "root_id"
    )
    assert len(events) > 100
    for event_type, correlation_id, root_id in events:
        assert orders[correlation_id] == root_id, (event_type, correlation_id)


def test_order_trees_hold_only_their_order(demo):
    """Every demo event under an order.created carries that order's id as correlation id."""
    demo_events = EventRecord.objects.filter(source_system=DEMO_SOURCE)
    roots = dict(demo_events.filter(event_type="order.created").values_list("id", "correlation_id"))
    for root_id, correlation_id in demo_events.filter(root_id__in=list(roots)).values_list(
        "root_id", "correlation_id"
    ):
        assert correlation_id == roots[root_id]


def test_children_start_after_their_parents(demo):
    """Every child's parent exists, started earlier, and sits one level up in the same tree."""
    rows = {
        pk: (parent, at, root, depth)
        for pk, parent, at, root, depth in EventRecord.objects.values_list(
            "id", "parent_id", "effective_at", "root_id", "depth"
        )
    }
    children = 0
    for parent, at, root, depth in rows.values():
        if parent is None:
            assert depth == 0
            continue
        children += 1
        parent_at, parent_root, parent_depth = rows[parent][1:]
        assert parent_at < at
        assert (parent_root, parent_depth + 1) == (root, depth)
    assert children > len(rows) / 2


def test_events_stay_in_the_period(demo):
    times = EventRecord.objects.filter(source_system=DEMO_SOURCE).values_list(
        "effective_at", flat=True
    )
    assert min(times) >= NOW - timedelta(days=DAYS)
    assert max(times) < NOW


def test_pending_decisions_point_at_stored_events(demo):
    """Each event needing approval has one Decision; pending ones resolve to their event."""
    content_type = ContentType.objects.get_for_model(EventRecord)
    decisions = Decision.objects.filter(target_content_type=content_type)
    gated = EventRecord.objects.filter(requires_approval=True)
    assert decisions.count() == gated.count()
    pending = decisions.filter(outcome=DecisionOutcome.PENDING)
    assert pending.count() == demo.decisions["pending"] > 0
    for decision in pending:
        event = decision.target
        assert isinstance(event, EventRecord)
        assert event.requires_approval
        assert event.approval_status == DecisionOutcome.PENDING
        assert decision.decision_type in {"inventory_restock", "fraud_hold", "adjust_price"}
        assert decision.effective_at == event.effective_at


def test_decided_decisions_have_history_by_named_admins(demo):
    """Approved and rejected decisions went through decision_transition by the demo staff."""
    decided = Decision.objects.exclude(outcome=DecisionOutcome.PENDING)
    outcomes = set(decided.values_list("outcome", flat=True))
    assert {DecisionOutcome.APPROVED, DecisionOutcome.REJECTED} <= outcomes
    staff = {s.username for s in DEMO_STAFF}
    for decision in decided.select_related("decided_by"):
        assert decision.decided_by.username in staff
        assert decision.decided_at > decision.effective_at
        assert decision.decided_at < NOW
        history = list(decision.transitions.order_by("at"))
        assert history
        assert history[-1].to_outcome == decision.outcome
        assert history[0].from_outcome == DecisionOutcome.PENDING
        if decision.outcome == DecisionOutcome.REJECTED:
            assert decision.reason


def test_approved_restocks_are_ordered_after_the_decision(demo):
    """An approved restock recommendation is followed by its purchase order, after approval."""
    content_type = ContentType.objects.get_for_model(EventRecord)
    approved = Decision.objects.filter(
        target_content_type=content_type,
        decision_type="inventory_restock",
        outcome=DecisionOutcome.APPROVED,
    )
    assert approved.exists()
    for decision in approved:
        orders = EventRecord.objects.filter(
            parent_id=decision.target_id, event_type="inventory.restock_ordered"
        )
        for order in orders:
            assert order.effective_at > decision.decided_at
            assert order.approved_by == decision.decided_by.username


def test_every_actor_type_appears(demo):
    """Customers and staff, AI agents, compute jobs, the system and external services."""
    types = set(EventRecord.objects.values_list("actor_type", flat=True).distinct())
    assert types == {t.value for t in ActorType}
    assert ActorRecord.objects.filter(actor_type=ActorType.AI_AGENT).count() >= 4


def test_story_has_failures_anomalies_and_reasons(demo):
    """Failures, anomalies, cancellations and refunds with reasons, returns with inspection."""
    events = EventRecord.objects.filter(source_system=DEMO_SOURCE)
    assert events.filter(outcome="failure").exists()
    for event_type in (
        "payment.failed",
        "order.cancelled",
        "return.inspected",
        "customer.tier_changed",
        "inventory.low_stock_alert",
        "inventory.restock_ordered",
        "ai.recommendation_generated",
        "pricing.dynamic_adjusted",
        "shipment.delivered",
    ):
        assert events.filter(event_type=event_type).exists(), event_type
    for cancelled in events.filter(event_type="order.cancelled"):
        assert cancelled.reasoning
    recommendations = events.filter(event_type="ai.recommendation_generated")
    for recommendation in recommendations:
        assert recommendation.confidence is not None
        assert recommendation.alternatives
        assert recommendation.rejection_reasons


def test_store_reads_back_through_the_client(demo):
    """The seed client's reads work on the demo: an order's history from start to finish."""
    client = DecisionTraceClient()
    order = client.query(event_types=["order.completed"], limit=1)[0]
    history = client.get_object_history(object_id=order.correlation_id, object_type="order")
    types = [event.event_type for event in history]
    assert types[0] == "order.created"
    assert "payment.captured" in types
    assert types.index("shipment.shipped") < types.index("shipment.delivered")
    assert client.search("restock", limit=5)


def test_seeding_again_is_refused(demo):
    """A second load would duplicate the store: refused, nothing added."""
    with pytest.raises(DemoStoreExistsError, match="--reset"):
        demo_store_seed(seed=7, days=DAYS, scale=0.2, now=NOW)
    assert demo_event_count() == demo.events


def test_reset_removes_only_the_demo(demo):
    """--reset's service removes demo events, their objects, search entries and decisions."""
    client = DecisionTraceClient()
    # The demo's events and their children (such as the review workflow's audit events).
    demo_and_children = EventRecord.objects.count()
    mine = client.trace("note.added", "Not part of the demo").by_system("ops").record()
    removed = demo_store_reset()
    assert removed == demo_and_children >= demo.events
    assert demo_event_count() == 0
    assert list(EventRecord.objects.values_list("id", flat=True)) == [
        EventRecord.objects.get(pk=mine).pk
    ]
    assert TrackedObjectRecord.objects.count() == 0
    assert EventSearchDocument.objects.count() == 1
    assert not Decision.all_objects.exists()
    assert not DecisionTransition.objects.exists()
    assert client.search("restock") == []
    assert demo_store_reset() == 0


def test_reset_then_seed_again(demo):
    """With reset=True the store is replaced in one call (here by a smaller one)."""
    before = EventRecord.objects.count()
    summary = demo_store_seed(seed=1, days=2, scale=0.05, now=NOW, reset=True)
    assert summary.removed == before >= demo.events
    assert 0 < summary.events < demo.events
    assert demo_event_count() == summary.events


def test_staff_are_reviewers_who_cannot_log_in(demo):
    """The named staff exist in their groups, without a usable password; ensuring is idempotent."""
    users = demo_staff_ensure()
    assert set(users) == {s.username for s in DEMO_STAFF}
    for staff in DEMO_STAFF:
        user = get_user_model().objects.get(username=staff.username)
        assert not user.has_usable_password()
        assert list(user.groups.values_list("name", flat=True)) == [staff.group]
