"""Corrections as versions, and every read "as known at" a time (client, timeline, pages)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone

from traces import DecisionTraceClient, TraceValidationError
from traces.evidence.corrections import (
    NOTHING_TO_CORRECT,
    event_correct,
    event_versions,
)
from traces.evidence.models import EventCorrection
from traces.evidence.sealing import seal_pending
from traces.models import EventRecord
from traces.search import search_ranked_ids
from traces.services import trace_update_text

pytestmark = pytest.mark.django_db

LATER = timedelta(hours=1)


@pytest.fixture
def trace_client() -> DecisionTraceClient:
    return DecisionTraceClient()


@pytest.fixture
def story(trace_client):
    """An order event, corrected an hour after it was recorded, then another event."""
    first = (
        trace_client.trace("refund.issued", "Refund of 99.00")
        .by_user("sam", "Sam")
        .affecting_order("ord-7")
        .with_data(amount="99.00")
        .record()
    )
    row = EventRecord.objects.get(pk=first)
    # Known then: the first event (recorded at that instant), not what came after.
    before_correction = row.recorded_at
    event_correct(
        event_id=first,
        corrected_by="ops",
        reason="Wrong amount",
        description="Refund of 19.00",
        data={"amount": "19.00"},
        now=row.recorded_at + LATER,
    )
    second = trace_client.trace("order.shipped", "Shipped").affecting_order("ord-7").record()
    return {"first": first, "second": second, "before_correction": before_correction, "row": row}


def test_correction_is_a_version_and_the_original_stays(story, trace_client):
    row = EventRecord.objects.get(pk=story["first"])
    assert (row.description, row.data) == ("Refund of 99.00", {"amount": "99.00"})
    event = trace_client.get_event(story["first"])
    assert (event.description, event.data) == ("Refund of 19.00", {"amount": "19.00"})
    versions = event_versions(row)
    assert [(v.version, v.corrected_by, v.reason, v.changed) for v in versions] == [
        (1, "", "", ()),
        (2, "ops", "Wrong amount", ("data", "description")),
    ]
    assert versions[0].values["description"] == "Refund of 99.00"
    assert versions[1].recorded_at == row.recorded_at + LATER


def test_trace_update_text_numbers_versions_and_search_follows(story):
    assert search_ranked_ids("damaged") == []
    third = trace_update_text(
        event_id=story["first"],
        corrected_by="ops",
        reason="Reasoning added",
        reasoning="Damaged on arrival",
    )
    assert third == 3
    assert search_ranked_ids("damaged") == [uuid.UUID(story["first"])]
    event = DecisionTraceClient().get_event(story["first"])
    assert event.decision is not None
    assert event.decision.reasoning == "Damaged on arrival"
    assert event.description == "Refund of 19.00"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"corrected_by": ""}, "corrected_by"),
        ({"corrected_by": None}, "corrected_by"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x\x00y"}, "reason"),
        ({"description": 5}, "description"),
        ({"description": "a" * 100_001}, "description"),
        ({"data": ["not", "a", "mapping"]}, "data"),
        ({"alternatives": "text"}, "alternatives"),
        ({"rejection_reasons": {"a": object()}}, "rejection_reasons"),
        ({"description": None}, "none was given"),
        ({"event_id": "nope"}, "event id"),
        ({"event_id": str(uuid.uuid4())}, "No stored event"),
        ({"now": timezone.now().replace(tzinfo=None)}, "timezone-aware"),
    ],
    ids=[
        "no-corrector",
        "none-corrector",
        "blank-reason",
        "nul",
        "not-text",
        "huge",
        "data-list",
        "alternatives-text",
        "unstorable",
        "nothing",
        "bad-id",
        "unknown",
        "naive-now",
    ],
)
def test_bad_correction_refused_and_nothing_written(story, arguments, message):
    values = {
        "event_id": story["first"],
        "corrected_by": "ops",
        "reason": "Typo",
        "description": "Fixed",
        **arguments,
    }
    with pytest.raises(TraceValidationError, match=message):
        event_correct(**values)
    assert EventCorrection.objects.count() == 1
    assert NOTHING_TO_CORRECT.startswith("A correction")


def test_client_reads_as_known_at(story, trace_client):
    """Later events absent, later corrections not applied; None for an event not yet known."""
    before = story["before_correction"]
    [known] = trace_client.query(known_at=before)
    assert (str(known.id), known.description) == (story["first"], "Refund of 99.00")
    assert trace_client.get_event(story["first"], known_at=before).description == (
        "Refund of 99.00"
    )
    assert trace_client.get_event(story["second"], known_at=before) is None
    now = [e.description for e in trace_client.query()]
    assert now == ["Shipped", "Refund of 19.00"]
    history = trace_client.get_object_history(object_id="ord-7", known_at=before)
    assert [e.description for e in history] == ["Refund of 99.00"]
    assert [e.description for e in trace_client.search("refund", known_at=before)] == [
        "Refund of 99.00"
    ]
    # Valid in a business-time window, as known at a time.
    start = story["row"].effective_at - timedelta(minutes=1)
    assert len(trace_client.query(start=start, known_at=before)) == 1


@pytest.mark.parametrize("known_at", ["yesterday", 5, object()])
def test_client_known_at_must_be_a_datetime(trace_client, known_at):
    with pytest.raises(TraceValidationError, match="known_at"):
        trace_client.query(known_at=known_at)


def test_event_page_shows_current_version_marked_corrected(story, admin_client):
    html = admin_client.get(reverse("traces:event_detail", args=[story["first"]])).content.decode()
    assert "<h1>Refund of 19.00</h1>" in html
    assert "<strong>Corrected</strong>: this is version 2" in html
    assert 'id="versions-title"' in html
    assert "corrected by ops" in html
    assert "Wrong amount" in html
    assert "Refund of 99.00" in html  # version 1, in the versions card


def test_event_page_as_known_at(story, admin_client):
    url = reverse("traces:event_detail", args=[story["first"]])
    known = story["before_correction"].isoformat()
    response = admin_client.get(url, {"known_at": known})
    html = response.content.decode()
    assert "<h1>Refund of 99.00</h1>" in html
    assert "Corrected" not in html
    assert 'id="known-at"' in html
    second = reverse("traces:event_detail", args=[story["second"]])
    assert admin_client.get(second, {"known_at": known}).status_code == 404


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2026-13-01T00:00", "\x00", "a" * 5000, "2026-01-01T00:00:00+25:00"],
    ids=["word", "month-13", "nul", "huge", "offset"],
)
def test_bad_known_at_is_a_400(story, admin_client, value):
    for url in (
        reverse("traces:event_detail", args=[story["first"]]),
        reverse("traces:object_history", args=["order", "ord-7"]),
        reverse("traces:timeline"),
    ):
        assert admin_client.get(url, {"known_at": value}).status_code == 400, url


@pytest.mark.parametrize(
    "value", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00"]
)
def test_extreme_known_at_is_answered(story, admin_client, value):
    """The edges of the calendar, with offsets: an answer (empty or full), never a 500."""
    for url in (
        reverse("traces:event_detail", args=[story["first"]]),
        reverse("traces:object_history", args=["order", "ord-7"]),
        reverse("traces:timeline"),
    ):
        assert admin_client.get(url, {"known_at": value}).status_code in (200, 400, 404), url


def test_timeline_as_known_at_is_in_the_url(story, admin_client):
    url = reverse("traces:timeline")
    known = story["before_correction"].isoformat()
    response = admin_client.get(url, {"known_at": known})
    html = response.content.decode()
    assert 'name="known_at"' in html
    assert "Refund of 99.00" in html
    assert "Shipped" not in html
    # Rows link to the event page as known then.
    assert f"?known_at={quote(known, safe='')}" in html
    partial = admin_client.get(url, {"known_at": known}, headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode()
    assert "Refund of 99.00" in partial.content.decode()
    now = admin_client.get(url).content.decode()
    assert "Refund of 19.00" in now
    assert "Shipped" in now


def test_object_history_as_known_at(story, admin_client):
    url = reverse("traces:object_history", args=["order", "ord-7"])
    html = admin_client.get(url, {"known_at": story["before_correction"].isoformat()})
    text = html.content.decode()
    assert "Refund of 99.00" in text
    assert "Shipped" not in text
    assert "As known at" in text


def test_admin_shows_corrections_and_checkpoints_read_only(story, admin_client):
    seal_pending()
    change = reverse("admin:traces_eventrecord_change", args=[story["first"]])
    html = admin_client.get(change).content.decode()
    assert "Wrong amount" in html
    checkpoints = admin_client.get(reverse("admin:traces_signedcheckpoint_changelist"))
    assert checkpoints.status_code == 200
    assert "checkpoint" in checkpoints.content.decode()
    add = admin_client.get(reverse("admin:traces_signedcheckpoint_add"))
    assert add.status_code == 403
