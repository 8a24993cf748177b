"""Download views: the pages' filters, format=csv|jsonl, permissions, bad input, the buttons."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from traces import TraceBuilder
from traces.services import trace_record_many

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TIMELINE = reverse("traces:timeline_export")
REVIEW = reverse("traces:review_queue_export")


def _history(object_type: str = "order", object_id: str = "ord-7") -> str:
    return reverse("traces:object_history_export", args=[object_type, object_id])


@pytest.fixture
def story():
    events = [
        TraceBuilder("refund.requested", "Customer asks for a refund")
        .by_user("cust-1", "Ada")
        .affecting_order("ord-7", {"status": "delivered"})
        .at(T0)
        .build(),
        TraceBuilder("refund.proposed", "Refund proposed for the late parcel")
        .by_ai("refund-ai", "Refund assistant")
        .affecting_order("ord-7", {"status": "refund_pending"})
        .because("Late delivery", requires_approval=True, risk_level="high")
        .at(T0 + timedelta(minutes=1))
        .build(),
        TraceBuilder("price.changed", "=2+3 price")
        .by_ai("pricing-ai", "Pricing")
        .affecting_product("sku-1", {"price": 12})
        .at(T0 + timedelta(minutes=2))
        .build(),
    ]
    trace_record_many(events=events)
    return events


def _body(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def _csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_body(response).removeprefix("\ufeff"))))


def test_timeline_export_csv_with_the_timelines_filters(admin_client, story):
    """The timeline's filters apply; the file is an attachment with a CSV type."""
    response = admin_client.get(TIMELINE, {"actor_type": "ai_agent", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="timeline-')
    rows = _csv(response)
    assert [row["event_type"] for row in rows] == ["price.changed", "refund.proposed"]
    assert rows[0]["description"] == "'=2+3 price"


def test_timeline_export_search_jsonl(admin_client, story):
    """q= is the search: the matching events as JSON Lines, named search-*.jsonl."""
    response = admin_client.get(TIMELINE, {"q": "parcel", "format": "jsonl"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jsonl; charset=utf-8"
    assert 'filename="search-' in response["Content-Disposition"]
    lines = [json.loads(line) for line in _body(response).splitlines()]
    assert [line["id"] for line in lines] == [story[1].id]


def test_timeline_export_ignores_the_cursor(admin_client, story):
    """A download is the whole filtered list, whatever page the reader was on."""
    response = admin_client.get(TIMELINE, {"format": "csv", "cursor": "forged"})
    assert len(_csv(response)) == 3


@pytest.mark.parametrize("value", ["", "xlsx", "CSV", "csv\x00", "j" * 500])
def test_export_bad_format_is_400(admin_client, story, value):
    """A missing, unknown or hostile format: 400 with the reason, no file."""
    for url in (TIMELINE, REVIEW, _history()):
        response = admin_client.get(url, {"format": value})
        assert response.status_code == 400
        assert not response.streaming
        assert "format must be one of csv, jsonl" in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"actor_type": "robot"},
        {"period": "forever"},
        {"until": "9999-99-99"},
        {"q": "x" * 10_000},
    ],
)
def test_timeline_export_bad_filters_are_400(admin_client, story, params):
    """Invalid filters: 400 naming the field, no file."""
    response = admin_client.get(TIMELINE, {**params, "format": "csv"})
    assert response.status_code == 400
    assert "The filters are not valid" in response.content.decode()
    assert next(iter(params)) in response.content.decode()


def test_object_history_export_oldest_first(admin_client, story):
    """An object's events, oldest first; another object's are not there."""
    rows = _csv(admin_client.get(_history(), {"format": "csv"}))
    assert [row["event_type"] for row in rows] == ["refund.requested", "refund.proposed"]
    assert all("order:ord-7" in row["objects"] for row in rows)


@pytest.mark.parametrize(
    ("object_type", "object_id", "status"),
    [("planet", "ord-7", 404), ("order", "x" * 300, 400), ("order", "a\x00b", 404)],
)
def test_object_history_export_bad_object_is_refused(admin_client, object_type, object_id, status):
    """An unknown type or a NUL in the id is a 404 as on the page; an id too long is a 400."""
    # Built by hand: reverse() refuses a NUL, as the URL pattern does.
    url = _history(object_type, "placeholder").replace("placeholder", object_id)
    response = admin_client.get(url, {"format": "csv"})
    assert response.status_code == status


def test_review_queue_export_with_tab_and_filters(admin_client, story):
    """The pending tab's decisions; another tab is empty."""
    rows = _csv(admin_client.get(REVIEW, {"format": "csv"}))
    assert [(row["decision_type"], row["status"]) for row in rows] == [
        ("refund.proposed", "pending")
    ]
    assert rows[0]["target_event_id"] == story[1].id
    assert _csv(admin_client.get(REVIEW, {"format": "csv", "tab": "deferred"})) == []
    response = admin_client.get(REVIEW, {"format": "csv", "tab": "nonsense"})
    assert response.status_code == 400


def test_review_queue_export_needs_permission_to_view_decisions(client, make_user, story):
    """Signed in without a review group: 403; a reviewer may download."""
    client.force_login(make_user("nobody"))
    assert client.get(REVIEW, {"format": "csv"}).status_code == 403
    client.force_login(make_user("reviewer"))
    assert client.get(REVIEW, {"format": "csv"}).status_code == 200


@pytest.mark.parametrize("url", [TIMELINE, REVIEW, _history()])
def test_exports_need_a_login(client, url):
    """Anonymous: redirected to the login page."""
    response = client.get(url, {"format": "csv"})
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_exports_refuse_post(admin_client):
    """GET only."""
    assert admin_client.post(TIMELINE, {"format": "csv"}).status_code == 405


def test_timeline_page_and_partial_carry_download_links_with_the_filters(admin_client, story):
    """The buttons keep the current filters (not the cursor) and add the format."""
    for headers in ({}, {"HX-Request": "true"}):
        html = admin_client.get(
            reverse("traces:timeline"), {"actor_type": "ai_agent", "cursor": "x"}, headers=headers
        ).content.decode()
        assert f'href="{TIMELINE}?actor_type=ai_agent&amp;format=csv"' in html
        assert f'href="{TIMELINE}?actor_type=ai_agent&amp;format=jsonl"' in html


def test_review_queue_and_object_history_pages_carry_download_links(admin_client, story):
    """The review queue (its tab) and an object's history offer both files."""
    html = admin_client.get(reverse("traces:review_queue"), {"tab": "pending"}).content.decode()
    assert f'href="{REVIEW}?tab=pending&amp;format=csv"' in html
    page = reverse("traces:object_history", args=["order", "ord-7"])
    html = admin_client.get(page).content.decode()
    assert f'href="{_history()}?format=jsonl"' in html


def test_exports_without_permission_to_view_decisions_hide_them(client, make_user, story):
    """No approval status or approver in the files; the approval filter is refused (403)."""
    trace_record_many(
        events=[
            TraceBuilder("refund.approved", "Refund approved")
            .by_user("admin-1", "Alice")
            .affecting_order("ord-7")
            .because("Checked", approved_by="alice")
            .at(T0 + timedelta(minutes=5))
            .build()
        ]
    )
    client.force_login(make_user("nobody"))
    for url in (TIMELINE, _history()):
        rows = _csv(client.get(url, {"format": "csv"}))
        assert rows
        assert {row["approval_status"] for row in rows} == {""}
        lines = [
            json.loads(line)
            for line in _body(client.get(url, {"format": "jsonl"})).split("\n")
            if line
        ]
        assert {line["approval_status"] for line in lines} == {None}
        assert all((line["data"]["decision"] or {}).get("approved_by") is None for line in lines)
    assert client.get(TIMELINE, {"format": "csv", "approval": "pending"}).status_code == 403
    client.force_login(make_user("reviewer"))
    rows = _csv(client.get(TIMELINE, {"format": "csv", "approval": "pending"}))
    assert [row["approval_status"] for row in rows] == ["pending"]
    lines = _body(client.get(_history(), {"format": "jsonl"}))
    assert '"approved_by": "alice"' in lines
