"""Review rules applied on every write path, inside the write transaction."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connections

from decision_trace import Actor, DecisionTrace, RiskLevel, TraceEvent, TrackedObject
from decision_trace.enums import ObjectType
from decisioning.models import Decision
from tests.traces.api.conftest import ApiClient, event_payload  # noqa: F401
from traces import DecisionTraceClient
from traces.models import EventRecord
from traces.rules.engine import rule_for, rules_load, rules_statement
from traces.rules.models import ReviewRule, RuleAction
from traces.services import trace_record, trace_record_many

pytestmark = pytest.mark.django_db

LARGE_DROPS = {
    "event_type": "pricing.*",
    "values": [{"change": "product.price", "op": "pct_lt", "value": -10}],
}


def _price_event(before: str, after: str, **changes) -> TraceEvent:
    values = {
        "event_type": "pricing.change_proposed",
        "actor": Actor.ai_agent("pricing-ai", "Pricing", model="gpt-4"),
        "objects": (
            TrackedObject(
                id="SKU-1",
                type=ObjectType.PRODUCT,
                state_before={"price": before},
                state_after={"price": after},
            ),
        ),
    }
    values.update(changes)
    return TraceEvent(**values)


@pytest.fixture
def large_drops(db) -> ReviewRule:
    ReviewRule.objects.all().delete()
    return ReviewRule.objects.create(name="Large price drops", order=1, condition=LARGE_DROPS)


def test_default_rules_keep_the_ecommerce_setting():
    """The data migration made the ECOMMERCE_APPROVAL_RISK_LEVEL rules (medium)."""
    rules = {rule.name: rule.condition for rule in ReviewRule.objects.all()}
    assert rules == {
        "AI recommendations at medium risk or above": {
            "event_type": "ai.recommendation_generated",
            "risk_at_least": "medium",
        },
        "Dynamic price changes at medium risk or above": {
            "event_type": "pricing.dynamic_adjusted",
            "risk_at_least": "medium",
        },
    }


def test_default_rule_holds_a_risky_price_change_from_any_client():
    """A plain client (not EcommerceClient) is held by the default rule too."""
    event = TraceEvent(
        event_type="pricing.dynamic_adjusted",
        decision=DecisionTrace(reasoning="x", risk_level=RiskLevel.HIGH),
    )
    trace_record(event=event)
    decision = Decision.objects.get()
    assert decision.rule == "Dynamic price changes at medium risk or above"
    assert EventRecord.objects.get().requires_approval is True


def test_in_process_record(large_drops):
    """client.trace(...).record(): the rule fires, its name is on the Decision and receipt."""
    client = DecisionTraceClient()
    recorded = (
        client.trace("pricing.change_proposed", "drop")
        .affecting_object(
            "product", "SKU-1", state_before={"price": "100"}, state_after={"price": "80"}
        )
        .record()
    )
    decision = Decision.objects.get()
    assert recorded.decision_id == str(decision.pk)
    assert (decision.rule, decision.outcome, decision.decision_type) == (
        "Large price drops",
        "pending",
        "pricing.change_proposed",
    )
    assert decision.due_at is not None
    row = EventRecord.objects.get()
    assert (row.requires_approval, row.approval_status) == (True, "pending")


def test_bulk_record_many(large_drops):
    """record_many: only the matching events get Decisions, each under the rule."""
    events = [_price_event("100", "85"), _price_event("100", "95"), _price_event("10", "1")]
    trace_record_many(events=events)
    held = set(Decision.objects.values_list("target_id", "rule"))
    assert held == {(events[0].id, "Large price drops"), (events[2].id, "Large price drops")}


def test_http_post(api, large_drops):
    """POST /api/v1/events: the decision id comes back; the resources show the rule."""
    payload = event_payload(event_type="pricing.change_proposed")
    payload["data"]["objects"] = [
        TrackedObject(
            id="SKU-1",
            type=ObjectType.PRODUCT,
            state_before={"price": "100"},
            state_after={"price": "50"},
        ).to_dict()
    ]
    answer = api.post("/api/v1/events", payload)
    assert answer.status_code == 201, answer.content
    decision_id = answer.json()["decision_id"]
    assert decision_id
    assert api.get(f"/api/v1/decisions/{decision_id}").json()["rule"] == "Large price drops"
    event = api.get(f"/api/v1/events/{payload['id']}").json()
    assert event["approval"]["rule"] == "Large price drops"


def test_first_rule_in_order_wins_and_disabled_rules_are_skipped(large_drops):
    ReviewRule.objects.create(name="Off", order=0, enabled=False, condition={})
    ReviewRule.objects.create(name="Everything pricing", order=5, condition={"event_type": "p*"})
    trace_record_many(events=[_price_event("100", "50"), _price_event("100", "100")])
    assert sorted(Decision.objects.values_list("rule", flat=True)) == [
        "Everything pricing",
        "Large price drops",
    ]


def test_rule_settings_go_to_the_decision(large_drops):
    group = Group.objects.create(name="Pricing leads")
    large_drops.decision_type = "price_drop"
    large_drops.deciding_group = group
    large_drops.due_in_minutes = 30
    large_drops.save()
    event = _price_event("100", "50")
    trace_record(event=event)
    decision = Decision.objects.get()
    assert (decision.decision_type, decision.deciding_group) == ("price_drop", group)
    assert (decision.due_at - decision.recorded_at).total_seconds() == pytest.approx(1800, abs=5)


def test_sampling_is_stable_and_partial(db):
    ReviewRule.objects.all().delete()
    rule = ReviewRule.objects.create(
        name="Spot checks", condition={}, action=RuleAction.SAMPLE, sample_percent=30
    )
    events = [TraceEvent(event_type="x") for _ in range(400)]
    loaded = rules_load(using="default")
    picked = [e for e in events if rule_for(loaded, e) is not None]
    assert 60 < len(picked) < 180
    assert picked == [e for e in events if rule_for(loaded, e) is not None]
    trace_record_many(events=events)
    assert Decision.objects.filter(rule=rule.name).count() == len(picked)


@pytest.mark.parametrize(
    "stored",
    [
        {"values": [{"field": "nowhere", "op": "gt", "value": 1}]},
        {"risk_at_least": "apocalyptic"},
        ["not", "an", "object"],
        "DROP TABLE",
    ],
)
def test_a_broken_stored_rule_never_breaks_ingest(db, stored):
    """A rule saved around the admin's validation cannot fire and cannot break ingest."""
    ReviewRule.objects.all().delete()
    ReviewRule.objects.create(name="Broken", condition=stored)
    trace_record_many(events=[_price_event("100", "1")])
    assert EventRecord.objects.count() == 1
    assert Decision.objects.count() == 0


def test_event_without_the_field_is_stored_without_decision(large_drops):
    trace_record(event=TraceEvent(event_type="pricing.change_proposed"))
    assert (EventRecord.objects.count(), Decision.objects.count()) == (1, 0)


def test_rollback_keeps_nothing(large_drops):
    """A failing batch (a duplicate id) leaves neither events nor rule Decisions."""
    event = _price_event("100", "50")
    trace_record(event=event)
    with pytest.raises(Exception, match="already stored"):
        trace_record_many(events=[_price_event("100", "50"), event])
    assert Decision.objects.count() == 1


def test_ten_rules_cost_one_query_per_batch(django_assert_max_num_queries, db):
    """The rules are read once per batch: 1 and 200 events cost the same statements."""
    ReviewRule.objects.all().delete()
    for i in range(10):
        ReviewRule.objects.create(
            name=f"rule {i}",
            order=i,
            condition={"event_type": f"never.{i}", "risk_at_least": "high"},
        )
    for size in (1, 200):
        events = [TraceEvent(id=str(uuid.uuid4()), event_type="order.created")] * 1
        events = [TraceEvent(event_type="order.created") for _ in range(size)]
        with django_assert_max_num_queries(9):
            trace_record_many(events=events)


@pytest.mark.django_db
def test_rules_compile_once_and_edits_apply_at_once(django_assert_num_queries):
    """One query per load; an unchanged rule is not compiled again; any edit is seen next load."""
    ReviewRule.objects.all().delete()
    rule = ReviewRule.objects.create(name="big", condition={"event_type": "pricing.*"})
    with django_assert_num_queries(1):
        first = rules_load(using="default")
    again = rules_load(using="default")
    assert again.rules[0].matches is first.rules[0].matches
    # The same rows give the same RuleSet, not converted and compiled again.
    assert again is first
    event = _price_event("100", "50")
    assert rule_for(again, event) is not None
    # A bulk update (no save(), no signal) is still seen: the row itself is the cache key.
    ReviewRule.objects.filter(pk=rule.pk).update(condition={"event_type": "refund.*"})
    assert rule_for(rules_load(using="default"), event) is None
    ReviewRule.objects.filter(pk=rule.pk).update(condition={"event_type": 5})
    assert len(rules_load(using="default")) == 0
    ReviewRule.objects.filter(pk=rule.pk).update(enabled=False, condition={})
    assert not rules_load(using="default")


@pytest.mark.django_db(transaction=True)
def test_rules_statement_is_built_once_per_connection_and_each_thread_has_its_own():
    """The SQL is built once per connection object; another thread's connection gets its
    own (its compiler converts with that connection), and both read the same rules."""
    ReviewRule.objects.all().delete()
    ReviewRule.objects.create(name="big", condition={"event_type": "pricing.*"})
    first = rules_statement(using="default")
    assert rules_statement(using="default") is first
    seen: dict[str, Any] = {}

    def other_thread() -> None:
        try:
            seen["statement"] = rules_statement(using="default")
            seen["rules"] = rules_load(using="default")
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen["statement"] is not first
    assert seen["statement"].compiler.connection is not connections["default"]
    event = _price_event("100", "50")
    assert [rule.name for rule in seen["rules"]] == ["big"]
    assert rule_for(seen["rules"], event) is not None
    loaded = rules_load(using="default")
    assert rules_statement(using="default").compiler.connection is connections["default"]
    assert rule_for(loaded, event) is not None


def test_rule_sets_are_kept_by_their_rows_and_the_cache_stays_bounded(db, monkeypatch):
    """Each distinct set of rows has its RuleSet; a full cache is emptied, not grown."""
    from traces.rules import engine

    monkeypatch.setattr(engine, "_RULESETS", {})
    monkeypatch.setattr(engine, "_RULESETS_LIMIT", 3)
    ReviewRule.objects.all().delete()
    rule = ReviewRule.objects.create(name="big", condition={"event_type": "pricing.*"})
    seen = []
    for n in range(5):
        ReviewRule.objects.filter(pk=rule.pk).update(due_in_minutes=n + 1)
        loaded = rules_load(using="default")
        assert loaded.rules[0].due_in is not None
        assert loaded.rules[0].due_in.total_seconds() == (n + 1) * 60
        seen.append(loaded)
        assert len(engine._RULESETS) <= 3
    assert len({id(ruleset) for ruleset in seen}) == 5
