"""The client's hand-written reads (traces.eventreads) return what the QuerySet verbs return."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from decision_trace.exceptions import InvalidCursorError, TraceValidationError
from traces import DecisionTraceClient, ObjectType
from traces.eventreads import (
    CORRECTED,
    OBJECTS,
    check_filters,
    event_rows_chain,
    event_rows_history,
    event_rows_page,
)
from traces.evidence.corrections import event_correct
from traces.models import EventRecord
from traces.selectors import (
    event_chain,
    event_filter,
    event_page,
    object_history,
    tracked_object_values,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture
def store() -> dict[str, str]:
    """Events of every actor type, objects with external ids, tags, risks, a chain, odd types."""
    client = DecisionTraceClient()
    ids = {}
    ids["user"] = (
        client.trace("order.created", "Order placed")
        .by_user("cust-1", "Jane")
        .affecting_object(ObjectType.ORDER, "ord-1", state_after={"status": "new"})
        .affecting_product("prod-1", external_id="SKU-1")
        .with_tags("checkout")
        .with_correlation("req-1")
        .at(T0)
        .record()
    )
    ids["ai"] = (
        client.trace("price.updated", "Price raised")
        .by_ai("pricing-ai", "Pricing", confidence=0.9)
        .affecting_product("prod-1", external_id="SKU-1")
        .because("Demand is high", alternatives=[{"action": "hold", "score": 0.25}])
        .with_risk("high")
        .requires_approval()
        .at(T0 + timedelta(hours=1))
        .record()
    )
    ids["child"] = (
        client.trace("order.paid", "Paid")
        .by_system("payments")
        .child_of(ids["user"])
        .affecting_object(
            ObjectType.ORDER,
            "ord-1",
            state_before={"status": "new"},
            state_after={"status": "paid", "total": 12.5, "big": 2**70},
        )
        .at(T0 + timedelta(hours=2))
        .record()
    )
    ids["compute"] = (
        client.trace("inventory.adjusted", "Stock synced")
        .by_compute("cron", "Sync", "warehouse")
        .affecting_inventory("SKU-2", 5, 4)
        .failed("timeout")
        .with_tags("nightly", "checkout")
        .at(T0 + timedelta(hours=3))
        .record()
    )
    # Types with LIKE's wildcards in them: a prefix pattern matches them literally.
    ids["underscore"] = client.trace("a_b.c", "Odd").at(T0 + timedelta(hours=4)).record()
    ids["letter"] = client.trace("axb.c", "Odd").at(T0 + timedelta(hours=4)).record()
    ids["percent"] = client.trace("a%b.c", "Odd").at(T0 + timedelta(hours=5)).record()
    # Two events at the same moment: the id breaks the tie.
    for n in range(2):
        ids[f"tie{n}"] = (
            client.trace("order.updated", f"Tie {n}")
            .by_user("cust-2", "Joe")
            .affecting_order("ord-2")
            .at(T0 + timedelta(hours=6))
            .record()
        )
    return ids


FILTERS: list[dict[str, Any]] = [
    {},
    {"start": T0 + timedelta(hours=1)},
    {"end": T0 + timedelta(hours=3)},
    {"start": T0 + timedelta(hours=1), "end": T0 + timedelta(hours=3)},
    {"start": datetime(2024, 6, 1, 1)},  # noqa: DTZ001 (naive: UTC)
    {"event_types": ["order.created"]},
    {"event_types": ["order.*"]},
    {"event_types": ["order.*", "price.updated"]},
    {"event_types": ["*"]},
    {"event_types": ["order*", "*"]},
    {"event_types": []},
    {"event_types": ["a_b*"]},
    {"event_types": ["a%*"]},
    {"event_types": "order.paid"},
    {"actor_types": ["ai_agent", "compute"]},
    {"actor_types": []},
    {"actor_ids": ["cust-1", "payments"]},
    {"actor_ids": ["nobody"]},
    {"object_ids": ["ord-1"]},
    {"object_ids": ["SKU-1"]},
    {"object_ids": ["SKU-1", "ord-2"]},
    {"object_types": ["product"]},
    {"object_ids": ["prod-1"], "object_types": ["order"]},
    {"object_ids": []},
    {"outcomes": ["failure"]},
    {"tags": ["checkout"]},
    {"tags": ["checkout", "nightly"]},
    {"tags": []},
    {"risk_levels": ["high", "low"]},
    {"requires_approval": True},
    {"requires_approval": False},
    {"correlation_id": "req-1"},
    {"correlation_id": "req-2"},
    {"known_at": datetime.now(UTC) + timedelta(days=1)},
    {"known_at": datetime(2000, 1, 1, tzinfo=UTC)},
    {"actor_types": ["user"], "object_ids": ["ord-2"], "event_types": ["order.*"]},
]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in (OBJECTS, CORRECTED)}


@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize("newest_first", [True, False])
def test_a_page_is_the_querysets_page(store, filters, newest_first):
    expected = event_page(
        event_filter(**filters), limit=500, newest_first=newest_first, values=True
    ).items
    got = event_rows_page(check_filters(**filters), limit=500, newest_first=newest_first).items
    assert [_plain(row) for row in got] == expected
    objects = tracked_object_values([row["id"] for row in expected])
    assert [row[OBJECTS] for row in got] == [objects[row["id"]] for row in expected]
    assert not any(row[CORRECTED] for row in got)


@pytest.mark.parametrize("filters", [{}, {"event_types": ["order.*"]}, {"tags": ["checkout"]}])
@pytest.mark.parametrize("newest_first", [True, False])
def test_cursor_pages_walk_the_same_rows(store, filters, newest_first):
    def walk(read: Any) -> list[Any]:
        seen, cursor = [], None
        while True:
            page = read(cursor)
            seen.append(([row["id"] for row in page.items], page.next_cursor))
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor

    expected = walk(
        lambda cursor: event_page(
            event_filter(**filters), limit=1, cursor=cursor, newest_first=newest_first, values=True
        )
    )
    got = walk(
        lambda cursor: event_rows_page(
            check_filters(**filters), limit=1, cursor=cursor, newest_first=newest_first
        )
    )
    assert got == expected
    assert len(got) > 1


@pytest.mark.parametrize("offset", [0, 1, 3, 100])
def test_an_offset_page_is_the_querysets(store, offset):
    expected = event_page(event_filter(), limit=2, offset=offset, values=True)
    got = event_rows_page(check_filters(), limit=2, offset=offset)
    assert ([row["id"] for row in got.items], got.next_cursor) == (
        [row["id"] for row in expected.items],
        expected.next_cursor,
    )


@pytest.mark.parametrize(
    "key", [{"object_id": "ord-1"}, {"external_id": "SKU-1"}, {"object_id": "nothing"}]
)
def test_history_and_chain_are_the_selectors(store, key):
    expected = object_history(**key, values=True).items
    assert [_plain(row) for row in event_rows_history(**key).items] == expected
    chain = event_chain(store["child"], values=True)
    assert [(depth, _plain(row)) for depth, row in event_rows_chain(store["child"])] == chain
    assert chain[0][1]["id"].hex == store["user"].replace("-", "")


def test_a_corrected_event_is_flagged(store):
    event_correct(event_id=store["ai"], corrected_by="ops", reason="typo", description="Fixed")
    rows = event_rows_page(check_filters(), limit=50).items
    assert {str(row["id"]) for row in rows if row[CORRECTED]} == {store["ai"]}


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"cursor": "forged"}, InvalidCursorError),
        ({"cursor": "A" * 500}, InvalidCursorError),
        ({"cursor": "\x00\ud800"}, InvalidCursorError),
        ({"offset": -1}, TraceValidationError),
        ({"offset": 10**9}, TraceValidationError),
        ({"offset": True}, TraceValidationError),
        ({"offset": 2, "cursor": "x"}, TraceValidationError),
        ({"limit": 0}, TraceValidationError),
        ({"limit": 501}, TraceValidationError),
    ],
)
def test_bad_paging_is_refused(store, arguments, error):
    with pytest.raises(error):
        event_rows_page(check_filters(), **{"limit": 10, **arguments})


@pytest.mark.parametrize(
    "filters",
    [
        {"event_types": 5},
        {"event_types": [""]},
        {"event_types": ["x" * 500]},
        {"actor_types": ["robot"]},
        {"actor_ids": [None]},
        {"object_types": ["planet"]},
        {"object_ids": b"ord-1"},
        {"outcomes": {"failure": 1}},
        {"tags": ["a\x00b"]},
        {"risk_levels": ["extreme"]},
        {"requires_approval": "yes"},
        {"correlation_id": ""},
        {"start": "2024-01-01"},
        {"end": datetime.max.replace(tzinfo=UTC)},
        {"known_at": 12},
    ],
)
def test_bad_filters_are_refused_as_the_queryset_refuses_them(filters):
    with pytest.raises(TraceValidationError):
        check_filters(**filters)
    with pytest.raises(TraceValidationError):
        event_filter(**filters)


def test_the_rows_are_the_events_stored(store):
    assert EventRecord.objects.count() == len(event_rows_page(check_filters(), limit=500).items)
