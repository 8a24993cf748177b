"""Selectors: model rows for the UI, chains in tree order, bounded offsets, stats."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from traces import DecisionTraceClient, TraceValidationError
from traces.models import EventRecord
from traces.selectors import (
    MAX_OFFSET,
    event_chain,
    event_count,
    event_decisions,
    event_filter,
    event_get,
    event_page,
    event_stats,
    events_exist,
    object_history,
    root_event_ids,
)
from traces.services import trace_delete

pytestmark = pytest.mark.django_db
T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def client() -> DecisionTraceClient:
    return DecisionTraceClient()


def test_event_chain_from_any_member_in_tree_order(client):
    """From the root or a leaf: root, then each event followed by its children, with depth."""
    root = client.trace("w", "root").at(T0).record()
    a = client.trace("w", "a").child_of(root).at(T0 + timedelta(minutes=1)).record()
    b = client.trace("w", "b").child_of(root).at(T0 + timedelta(minutes=2)).record()
    a1 = client.trace("w", "a1").child_of(a).at(T0 + timedelta(minutes=3)).record()
    client.trace("w", "elsewhere").record()
    for member in (root, a1, b):
        pairs = event_chain(member)
        assert [(d, row.description) for d, row in pairs] == [
            (0, "root"),
            (1, "a"),
            (2, "a1"),
            (1, "b"),
        ]
    assert [str(row.pk) for _, row in event_chain(a1)] == [root, a, a1, b]
    assert event_chain(str(uuid.uuid4())) == []


def test_event_chain_model_rows_constant_queries(client, django_assert_max_num_queries):
    root = client.trace("w").record()
    client.record_many([client.trace("w").child_of(root).affecting_order("o") for _ in range(15)])
    with django_assert_max_num_queries(2):
        rows = event_chain(root)
        assert all(row.tracked_objects.all() for _, row in rows[1:])
        assert all(row.actor is None for _, row in rows)


def test_event_page_for_display_constant_queries(client, django_assert_max_num_queries):
    """A page of model rows (the UI's) costs the same for 1 and 20 rows."""
    for size in (1, 20):
        client.record_many(
            [client.trace("p").by_user(f"u{n}", "U").affecting_order(f"o{n}") for n in range(size)]
        )
        with django_assert_max_num_queries(2):
            page = event_page(event_filter().for_display(), limit=size)
            assert [row.actor.name for row in page.items] == ["U"] * size
            assert all(len(row.tracked_objects.all()) == 1 for row in page.items)
        trace_delete(event_ids=list(EventRecord.objects.values_list("pk", flat=True)))


def test_event_page_offset_bounds():
    with pytest.raises(TraceValidationError, match="offset"):
        event_page(event_filter(), offset=MAX_OFFSET + 1)
    with pytest.raises(TraceValidationError, match="offset"):
        event_page(event_filter(), offset=True)
    assert event_page(event_filter(), offset=MAX_OFFSET).items == []


def test_event_get_model_row(client):
    event_id = client.trace("x").by_user("u", "U").record()
    assert event_get(event_id).actor.actor_id == "u"
    assert event_get(uuid.uuid4()) is None


def test_object_history_model_rows(client):
    client.trace("o").affecting_order("ord-1").at(T0 + timedelta(hours=1)).record()
    client.trace("o").affecting_order("ord-1").at(T0).record()
    page = object_history(object_id="ord-1")
    assert [row.effective_at for row in page.items] == [T0, T0 + timedelta(hours=1)]


def test_event_stats_on_a_filtered_queryset(client):
    client.trace("a").by_user("u", "U").record()
    client.trace("b").by_ai("ai", "AI").record()
    stats = event_stats(event_filter(actor_types=["user"]))
    assert stats["total_events"] == 1
    assert stats["by_event_type"] == {"a": 1}


@pytest.mark.parametrize("with_decisions", [True, False])
def test_event_stats_of_every_event_read_from_the_counts_match_the_events(client, with_decisions):
    """Without a queryset the counts by type answer; they equal grouping the events themselves."""
    for n in range(25):
        builder = client.trace(f"kind.{n % 7}", "x").at(T0 + timedelta(minutes=n))
        if n % 3:
            builder.by_ai(f"ai-{n % 2}", "AI").because("why").with_risk(
                ["low", "high", "critical"][n % 3]
            )
        if n % 5 == 0:
            builder.failed("boom")
        if n % 4 == 0:
            builder.requires_approval()
        client_id = builder.record()
        if n % 9 == 0:
            trace_delete(event_ids=[client_id])
    client.trace("decision.approved", "trail").by_user("alice", "Alice").record()
    from_counts = event_stats(with_decisions=with_decisions)
    grouped = event_stats(EventRecord.objects.all(), with_decisions=with_decisions)
    assert from_counts == grouped
    assert from_counts["total_events"] == (23 if with_decisions else 22)
    assert len(from_counts["by_event_type"]) == (8 if with_decisions else 7)


def test_event_stats_empty():
    stats = event_stats()
    assert stats["total_events"] == 0
    assert stats["first_event_at"] is None


def test_event_count_and_events_exist_by_source(client):
    """Counts all events, or those of one source system; exists() sees any event."""
    assert events_exist() is False
    assert event_count() == 0
    root = client.trace("w").with_source("shop").record()
    client.trace("w").with_source("shop").child_of(root).record()
    client.trace("w").with_source("elsewhere").record()
    assert events_exist() is True
    assert event_count() == 3
    assert event_count(source_system="shop") == 2
    assert event_count(source_system="nowhere") == 0


def test_root_event_ids_only_roots_of_the_source_oldest_first(client):
    """Children and other sources' roots are left out; roots come oldest first."""
    late = client.trace("w").with_source("shop").at(T0 + timedelta(hours=1)).record()
    early = client.trace("w").with_source("shop").at(T0).record()
    client.trace("w").with_source("shop").child_of(early).record()
    client.trace("w").with_source("elsewhere").at(T0).record()
    assert [str(pk) for pk in root_event_ids(source_system="shop")] == [early, late]


def test_event_decisions_by_event_id(client, django_assert_max_num_queries):
    """Each event that asked for approval maps to its Decision; others are absent."""
    asks = [client.trace("refund").requires_approval().record() for _ in range(3)]
    plain = client.trace("w").record()
    with django_assert_max_num_queries(2):
        decisions = event_decisions(event_ids=[*asks, uuid.UUID(plain)])
    assert sorted(decisions) == sorted(asks)
    assert {decision.target_id for decision in decisions.values()} == set(asks)
    assert event_decisions(event_ids=[]) == {}


@pytest.mark.parametrize("bad", ["", "not-a-uuid", "x" * 100, None, 12, "\x00"])
def test_event_decisions_refuses_malformed_ids(bad):
    """A malformed id raises TraceValidationError before any query."""
    with pytest.raises(TraceValidationError):
        event_decisions(event_ids=[bad])


@pytest.mark.parametrize("name", ["actor_type", "limit", "using_", "start\x00"])
def test_event_filter_refuses_an_unknown_filter_name(name):
    """The names are the SDK's QueryFilters: any other is a TypeError naming it."""
    with pytest.raises(TypeError, match="Unknown filter"):
        event_filter(**{name: ["x"]})
