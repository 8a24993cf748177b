"""Keyset pagination: no gaps, no repeats, fixed queries, forged cursors refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from decision_trace.exceptions import InvalidCursorError, TraceValidationError
from tests.traces.factories import EventRecordFactory
from traces.models import EventRecord
from traces.pagination import MAX_PAGE_SIZE, Cursor, check_page_limit, is_count, keyset_page

pytestmark = pytest.mark.django_db


def _walk(newest_first: bool, limit: int) -> list:
    seen, cursor = [], None
    while True:
        page = keyset_page(
            EventRecord.objects.all(), cursor=cursor, limit=limit, newest_first=newest_first
        )
        seen.extend(row.pk for row in page.items)
        if not page.has_next:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("newest_first", [True, False])
@pytest.mark.parametrize("limit", [1, 3, 7, 50])
def test_keyset_page_walk_has_no_gaps_or_repeats(newest_first, limit):
    """Walking every page yields each row once, in (effective_at, id) order, ties included."""
    tie = timezone.now() - timedelta(hours=1)
    rows = [EventRecordFactory(effective_at=tie) for _ in range(5)]
    rows += [EventRecordFactory() for _ in range(12)]
    expected = sorted(rows, key=lambda r: (r.effective_at, r.pk.hex), reverse=newest_first)
    assert _walk(newest_first, limit) == [r.pk for r in expected]


def test_keyset_page_last_page_has_no_cursor():
    """A page that holds the rest has next_cursor None."""
    EventRecordFactory.create_batch(3)
    page = keyset_page(EventRecord.objects.all(), limit=3)
    assert len(page.items) == 3
    assert page.next_cursor is None


def test_keyset_page_query_count_is_fixed(django_assert_num_queries):
    """A page is one query whatever its size."""
    EventRecordFactory.create_batch(30)
    for limit in (1, 25):
        with django_assert_num_queries(1):
            keyset_page(EventRecord.objects.all(), limit=limit)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-base64!!",
        "Zm9v",  # "foo"
        Cursor.encode.__name__,
        "x" * 10_000,
        "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg",  # <script>alert(1)</script>
        "MjAyNC0wMS0wMVQwMDowMDowMHwxMjM",  # naive time, bad uuid
    ],
)
def test_keyset_page_forged_cursor_rejected(token):
    """A cursor that does not decode raises InvalidCursorError, a ValueError."""
    with pytest.raises(InvalidCursorError):
        keyset_page(EventRecord.objects.all(), cursor=token)


def test_cursor_naive_datetime_rejected():
    """A cursor carrying a naive time is refused, not compared naively."""
    import base64
    import uuid

    raw = f"2024-01-01T00:00:00|{uuid.uuid4().hex}".encode()
    token = base64.urlsafe_b64encode(raw).decode()
    with pytest.raises(InvalidCursorError):
        Cursor.decode(token)


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE_SIZE + 1, 10**9, "10", None, True, 2.5])
def test_keyset_page_limit_out_of_range(limit):
    """Limits outside 1..MAX_PAGE_SIZE or not whole numbers are refused."""
    with pytest.raises(TraceValidationError, match="limit must be"):
        keyset_page(EventRecord.objects.all(), limit=limit)


def test_cursor_roundtrip():
    """encode/decode gives back the same position."""
    row = EventRecordFactory()
    assert Cursor.decode(Cursor.of(row).encode()) == Cursor.of(row)


@pytest.mark.parametrize("limit", [1, 50, MAX_PAGE_SIZE])
def test_check_page_limit_returns_whole_numbers_in_range(limit):
    """A limit from 1 to MAX_PAGE_SIZE comes back unchanged."""
    assert check_page_limit(limit) == limit


@pytest.mark.parametrize("limit", [0, MAX_PAGE_SIZE + 1, "10", None, True, False, 2.0, [], b"1"])
def test_check_page_limit_refuses_anything_else(limit):
    """Out of range, text, bools, floats and other types raise TraceValidationError."""
    with pytest.raises(TraceValidationError, match="limit must be a whole number"):
        check_page_limit(limit)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, True), (-3, True), (10**30, True), (True, False), (1.0, False), ("1", False)],
)
def test_is_count_accepts_ints_but_not_bools(value, expected):
    """bool is an int to Python but never a count."""
    assert is_count(value) is expected


def test_cursor_of_values_row_matches_model_row():
    """A values() row and the model row give the same position."""
    row = EventRecordFactory()
    values_row = EventRecord.objects.values("effective_at", "id").get(pk=row.pk)
    assert Cursor.of(values_row) == Cursor.of(row)


@pytest.mark.parametrize("newest_first", [True, False])
def test_keyset_page_seeks_the_index_to_the_cursor(newest_first):
    """A page after a cursor bounds effective_at itself, so SQLite seeks instead of scanning
    from the first row (deep pages of an export stay as cheap as the first)."""
    rows = [EventRecordFactory() for _ in range(3)]
    cursor = Cursor.of(rows[1])
    order = ("-effective_at", "-id") if newest_first else ("effective_at", "id")
    page = keyset_page(EventRecord.objects.all(), cursor=cursor, limit=2, newest_first=newest_first)
    expected = EventRecord.objects.order_by(*order)
    after = [row.pk for row in expected]
    assert [row.pk for row in page.items] == after[after.index(rows[1].pk) + 1 :][:2]
    # The bound is in the query the page runs, on both databases.
    page_sql = _page_sql(newest_first, cursor)
    assert ("<=" if newest_first else ">=") in page_sql
    if connection.vendor == "sqlite":
        with connection.cursor() as db:
            db.execute(f"EXPLAIN QUERY PLAN {page_sql}")
            plan = " ".join(str(step[-1]) for step in db.fetchall())
        assert "SEARCH traces_eventrecord USING INDEX event_time_idx" in plan


def _page_sql(newest_first: bool, cursor: Cursor) -> str:
    with CaptureQueriesContext(connection) as captured:
        keyset_page(EventRecord.objects.all(), cursor=cursor, limit=2, newest_first=newest_first)
    return captured.captured_queries[-1]["sql"]
