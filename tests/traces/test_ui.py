"""UI read helpers: chart buckets, state diffs, alternatives, chains, histories, event types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType

from decisioning.models import Decision
from tests.traces.factories import (
    ActorRecordFactory,
    EventRecordFactory,
    TrackedObjectRecordFactory,
)
from traces.models import EventRecord
from traces.ui.actors import actor_summary
from traces.ui.charts import PERIODS
from traces.ui.common import known_event_types
from traces.ui.dashboard import dashboard_summary
from traces.ui.decisions import decisions_page
from traces.ui.events import event_detail, state_changes
from traces.ui.history import object_history_page

NOW = datetime(2025, 3, 10, 14, 25, tzinfo=UTC)


def test_period_start_covers_whole_buckets_ending_now():
    """Rolling windows (issue 16 point 9): 24 hours or 7 x 24 hours ending with the current hour."""
    assert PERIODS["24h"].start(NOW) == datetime(2025, 3, 9, 15, tzinfo=UTC)
    assert PERIODS["7d"].start(NOW) == datetime(2025, 3, 3, 15, tzinfo=UTC)
    assert PERIODS["30d"].start(NOW) == datetime(2025, 2, 8, 15, tzinfo=UTC)


@pytest.mark.django_db
def test_dashboard_buckets_split_by_actor_type():
    """Counts land in their hour and actor type; events outside the period are left out."""
    EventRecordFactory(effective_at=NOW - timedelta(minutes=5), actor__actor_type="ai_agent")
    EventRecordFactory(effective_at=NOW - timedelta(minutes=20), actor__actor_type="ai_agent")
    EventRecordFactory(effective_at=NOW - timedelta(hours=3), actor__actor_type="compute")
    EventRecordFactory(effective_at=NOW - timedelta(hours=3), actor=None, outcome="failure")
    EventRecordFactory(effective_at=NOW - timedelta(days=2), actor__actor_type="user")
    summary = dashboard_summary(period=PERIODS["24h"], now=NOW)
    chart = summary.chart
    assert len(chart.bars) == 24
    assert chart.total == 4
    last, three_ago = chart.bars[-1], chart.bars[-4]
    assert last.total == 2
    assert [(s.series, s.count) for s in last.segments] == [("ai_agent", 2)]
    assert [(s.series, s.count) for s in three_ago.segments] == [("compute", 1), ("", 1)]
    assert {row.key: row.count for row in summary.by_actor_type}["ai_agent"] == 2
    assert {row.key: row.count for row in summary.by_outcome}["failure"] == 1
    assert chart.busiest.total == 2
    assert [tick.value for tick in chart.ticks] == [0, 1, 2]


@pytest.mark.django_db
def test_dashboard_daily_buckets():
    """Week and month periods count per UTC day."""
    EventRecordFactory(effective_at=NOW - timedelta(days=1, hours=1))
    EventRecordFactory(effective_at=NOW - timedelta(days=6))
    chart = dashboard_summary(period=PERIODS["7d"], now=NOW).chart
    assert [bar.total for bar in chart.bars] == [1, 0, 0, 0, 0, 1, 0]


@pytest.mark.django_db
def test_dashboard_chart_geometry_stays_in_the_plot():
    """Bars stack inside the plot area whatever the counts."""
    for minutes in range(0, 600, 7):
        EventRecordFactory(effective_at=NOW - timedelta(minutes=minutes))
    chart = dashboard_summary(period=PERIODS["24h"], now=NOW).chart
    for bar in chart.bars:
        assert chart.plot_left <= bar.x <= chart.plot_right
        for segment in bar.segments:
            assert 0 <= segment.y <= chart.plot_bottom
            assert segment.height >= 0


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, None, []),
        ({"a": 1}, {"a": 2}, [("a", "1", "2", "changed")]),
        ({"a": 1}, {"a": 1}, [("a", "1", "1", "same")]),
        (None, {"s": "new"}, [("s", "", "new", "added")]),
        ({"s": "x"}, None, [("s", "x", "", "removed")]),
        (3, 4, [("value", "3", "4", "changed")]),
        ({"n": {"b": 1}}, {"n": {"b": 2}}, [("n", '{"b": 1}', '{"b": 2}', "changed")]),
    ],
)
def test_state_changes(before, after, expected):
    """Each key is compared; nested values are shown as JSON, non-dicts as one 'value'."""
    changes = state_changes(before, after)
    assert [(c.key, c.before, c.after, c.kind) for c in changes] == expected


@pytest.mark.django_db
def test_event_detail_alternatives_accept_dicts_strings_and_orphan_reasons():
    """Dict or string alternatives pair with their rejection reasons; stray reasons show too."""
    event = EventRecordFactory(
        alternatives=[{"action": "replace", "reason": "offer one"}, "partial_refund"],
        rejection_reasons={"replace": "asked for money", "partial_refund": "defect", "x": "y"},
    )
    alternatives = event_detail(event).alternatives
    assert [(a.option, a.detail, a.rejection) for a in alternatives] == [
        ("replace", "offer one", "asked for money"),
        ("partial_refund", "", "defect"),
        ("x", "", "y"),
    ]


@pytest.mark.django_db
def test_event_detail_chain_bars_follow_time():
    """Each chain node's bar starts at its offset in the chain's time span."""
    start = NOW
    root = EventRecordFactory(effective_at=start, duration=1)
    child = EventRecordFactory(parent=root, effective_at=start + timedelta(seconds=2), duration=2)
    detail = event_detail(child)
    assert detail.parent == root
    assert detail.span_seconds == 4
    root_node, child_node = detail.chain
    assert (root_node.offset, root_node.width) == (0, 25)
    assert (child_node.offset, child_node.width) == (50, 50)
    assert child_node.is_current
    assert detail.children == []
    assert event_detail(root).children == [child]


@pytest.mark.django_db
def test_object_history_page_splits_own_state_from_other_objects():
    """The history entry carries this object's change; other objects touched are listed apart."""
    event = EventRecordFactory()
    TrackedObjectRecordFactory(event=event, object_type="customer", object_id="c-1")
    TrackedObjectRecordFactory(
        event=event,
        position=1,
        object_id="ord-1",
        name="Jane's order",
        state_before={"status": "paid"},
        state_after={"status": "shipped"},
    )
    history = object_history_page(object_type="order", object_id="ord-1")
    (entry,) = history.entries
    assert entry.obj.object_id == "ord-1"
    assert [o.object_id for o in entry.others] == ["c-1"]
    assert history.name == "Jane's order"
    assert entry.changes[0].kind == "changed"


@pytest.mark.django_db
def test_actor_summary_counts_only_the_period():
    """Counts cover the period; the latest events are listed regardless."""
    actor = ActorRecordFactory()
    EventRecordFactory(actor=actor, effective_at=NOW - timedelta(hours=1))
    EventRecordFactory(actor=actor, effective_at=NOW - timedelta(days=5))
    summary = actor_summary(actor, period=PERIODS["24h"], now=NOW)
    assert summary.total == 1
    assert len(summary.recent) == 2


@pytest.mark.django_db
def test_known_event_types_distinct_and_sorted():
    """Distinct types, alphabetically, capped by the limit."""
    for event_type in ["refund.issued", "order.created", "order.created", "cart.updated"]:
        EventRecordFactory(event_type=event_type)
    assert known_event_types() == ["cart.updated", "order.created", "refund.issued"]
    assert known_event_types(limit=2) == ["cart.updated", "order.created"]


@pytest.mark.django_db
def test_known_event_types_empty_table():
    """No events, no types."""
    assert known_event_types() == []


@pytest.mark.django_db
def test_decisions_page_prefetches_the_target_event(django_assert_num_queries):
    """The Decision's generic target (a text id) resolves to the EventRecord, prefetched."""
    event = EventRecordFactory(description="about me")
    Decision.objects.create(
        target_content_type=ContentType.objects.get_for_model(EventRecord),
        target_id=str(event.pk),
        decision_type="refund_approval",
    )
    page = decisions_page(Decision.objects.all(), cursor=None, newest_first=True)
    with django_assert_num_queries(0):
        assert page.items[0].target.description == "about me"
        assert page.items[0].target.actor.actor_type == "user"


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["7d", "30d"])
def test_dashboard_daily_buckets_at_their_edges(key):
    """The database buckets a day's hourly counts from the hour the window starts at: an event
    at a bucket's first second counts in it, one a second earlier in the bucket before."""
    period = PERIODS[key]
    since = period.start(NOW)
    expected = [0] * period.buckets
    for day in range(1, period.buckets):
        edge = since + timedelta(days=day)
        EventRecordFactory(effective_at=edge)
        EventRecordFactory(effective_at=edge - timedelta(seconds=1))
        expected[day] += 1
        expected[day - 1] += 1
    chart = dashboard_summary(period=period, now=NOW).chart
    assert [bar.total for bar in chart.bars] == expected
    assert [bar.start for bar in chart.bars] == [
        since + timedelta(days=day) for day in range(period.buckets)
    ]
