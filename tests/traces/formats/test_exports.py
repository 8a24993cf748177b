"""CSV and JSON Lines exports: columns, spreadsheet safety, fixed queries per page, flat memory."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from decisioning.models import Decision
from traces import Actor, TraceBuilder, TraceEvent
from traces.formats.exports import (
    DECISION_COLUMNS,
    EVENT_COLUMNS,
    decision_export,
    event_export,
    keyset_pages,
    spreadsheet_safe,
)
from traces.models import EventRecord
from traces.selectors import event_filter
from traces.services import trace_record_many

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _csv_rows(chunks) -> list[list[str]]:
    text = "".join(chunks)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def _events(n: int, *, start: int = 0) -> list[TraceEvent]:
    return [
        TraceBuilder("order.created", f"Order {i} placed")
        .by_user(f"u-{i % 7}", "Ada")
        .affecting_order(f"ord-{i}", {"status": "new"})
        .with_tags("shop")
        .at(T0 + timedelta(seconds=i))
        .build()
        for i in range(start, start + n)
    ]


HOSTILE = ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")']


@pytest.mark.parametrize("text", HOSTILE)
def test_spreadsheet_safe_neutralises_formula_starts(text):
    """A cell a spreadsheet would run as a formula gets a leading quote."""
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["", "refund", "1.5", "'quoted", " =spaced", "a=b"])
def test_spreadsheet_safe_keeps_plain_text(text):
    """Anything else is unchanged."""
    assert spreadsheet_safe(text) == text


@pytest.mark.parametrize("text", HOSTILE)
def test_event_export_csv_cells_are_spreadsheet_safe(text):
    """Description, actor name, tags, data-bearing cells: no cell starts like a formula."""
    event = (
        TraceBuilder("note", text)
        .by_user("u-1", text)
        .because(reasoning=text)
        .with_tags(text.strip() or "t")
        .at(T0)
        .build()
    )
    trace_record_many(events=[event])
    header, row = _csv_rows(event_export(event_filter(), export_format="csv"))
    cells = dict(zip(header, row, strict=True))
    for name in ("description", "actor_name", "reasoning"):
        assert cells[name] == "'" + text
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_event_export_csv_columns_and_values():
    """One header row, then one row per event with the actor, objects, tags and reasoning."""
    proposal = (
        TraceBuilder("refund.proposed", 'Refund, "40 €"\nsecond line')
        .by_ai("refund-ai", "Refund assistant", model="gpt-4")
        .affecting_order("ord-7", {"status": "delivered"})
        .because(reasoning="Late", confidence=0.9, risk_level="high", requires_approval=True)
        .with_tags("refund", "eu")
        .at(T0)
        .build()
    )
    trace_record_many(events=[proposal])
    header, row = _csv_rows(event_export(event_filter(), export_format="csv"))
    assert header == [column.name for column in EVENT_COLUMNS]
    cells = dict(zip(header, row, strict=True))
    assert cells["id"] == proposal.id
    assert cells["effective_at"] == T0.isoformat()
    assert cells["description"] == 'Refund, "40 €"\nsecond line'
    assert (cells["actor_type"], cells["actor_id"]) == ("ai_agent", "refund-ai")
    assert cells["objects"] == "order:ord-7"
    assert cells["tags"] == "refund; eu"
    assert (cells["confidence"], cells["risk_level"]) == ("0.9", "high")
    assert (cells["requires_approval"], cells["approval_status"]) == ("true", "pending")


def test_event_export_jsonl_is_the_event_resource():
    """Each line is TraceEvent.to_dict() plus recorded_at and approval_status."""
    events = _events(3)
    trace_record_many(events=events)
    lines = "".join(event_export(event_filter(), export_format="jsonl")).splitlines()
    parsed = [json.loads(line) for line in lines]
    assert [TraceEvent.from_dict(item) for item in parsed] == list(reversed(events))
    assert all(item["recorded_at"] and item["approval_status"] is None for item in parsed)


def test_event_export_oldest_first():
    """Histories export oldest first."""
    trace_record_many(events=_events(3))
    lines = "".join(event_export(event_filter(), export_format="jsonl", newest_first=False))
    assert [json.loads(line)["data"]["description"] for line in lines.splitlines()] == [
        "Order 0 placed",
        "Order 1 placed",
        "Order 2 placed",
    ]


def test_decision_export_csv_and_jsonl():
    """Decisions: the review queue's columns, oldest first."""
    trace_record_many(
        events=[
            TraceBuilder("refund.proposed", "=cmd")
            .by_ai("refund-ai", "Refund assistant")
            .because(reasoning="Late", requires_approval=True)
            .at(T0 + timedelta(minutes=i))
            .build()
            for i in range(2)
        ]
    )
    header, *rows = _csv_rows(decision_export(Decision.objects.all(), export_format="csv"))
    assert header == [column.name for column in DECISION_COLUMNS]
    assert [dict(zip(header, row, strict=True))["status"] for row in rows] == ["pending"] * 2
    lines = "".join(decision_export(Decision.objects.all(), export_format="jsonl")).splitlines()
    first = json.loads(lines[0])
    assert first["decision_type"] == "refund.proposed"
    assert first["proposed_at"] == T0.isoformat()
    assert first["decided_by"] is None


@pytest.mark.parametrize("export_format", ["csv", "jsonl"])
def test_event_export_queries_per_page_are_fixed(django_assert_num_queries, export_format):
    """Two queries per page of 500 (events with actor, their objects), whatever the size."""
    trace_record_many(events=_events(1_001))
    with django_assert_num_queries(6):
        chunks = list(event_export(event_filter(), export_format=export_format))
    # One chunk per page (and the CSV header first).
    assert len(chunks) == 3 + (export_format == "csv")
    assert "".join(chunks).count("\n") == 1_001 + (export_format == "csv")


def test_decision_export_queries_per_page_are_fixed(django_assert_num_queries):
    """One query per page of decisions (the deciding user joined)."""
    trace_record_many(
        events=[
            TraceBuilder("refund.proposed", "x")
            .by_system()
            .because("Needs a look", requires_approval=True)
            .at(T0 + timedelta(seconds=i))
            .build()
            for i in range(501)
        ]
    )
    with django_assert_num_queries(2):
        text = "".join(decision_export(Decision.objects.all(), export_format="csv"))
    assert text.count("\n") == 502


def _peak_bytes(export_format: str) -> tuple[int, int]:
    """(rows streamed, peak traced bytes) of one whole export, its chunks thrown away."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        rows = sum(
            chunk.count("\n") for chunk in event_export(event_filter(), export_format=export_format)
        )
        return rows, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_event_export_memory_does_not_grow_with_rows():
    """Ten times the rows, the same peak memory: a page at a time, never the whole list."""
    trace_record_many(events=_events(1_000))
    small = {name: _peak_bytes(name) for name in ("csv", "jsonl")}
    trace_record_many(events=_events(9_000, start=1_000))
    large = {name: _peak_bytes(name) for name in ("csv", "jsonl")}
    for name, header in (("csv", 1), ("jsonl", 0)):
        (small_rows, small_peak), (large_rows, large_peak) = small[name], large[name]
        assert (small_rows, large_rows) == (1_000 + header, 10_000 + header)
        # A page of 500 rows with their objects is the bound; 10x rows may not add 25 %.
        assert large_peak < small_peak * 1.25, (name, small_peak, large_peak)
        assert large_peak < 8_000_000, (name, large_peak)


def test_keyset_pages_reads_every_row_once_across_equal_times():
    """Rows sharing one effective time still come once each, in (time, id) order."""
    same = [TraceEvent(timestamp=T0, event_type="tick", actor=Actor.system()) for _ in range(7)]
    trace_record_many(events=same)
    pages = list(keyset_pages(EventRecord.objects.all(), newest_first=False, page_size=3))
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [str(row.pk) for page in pages for row in page] == sorted(event.id for event in same)
