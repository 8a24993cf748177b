"""``GET /api/v1/decisions``: overdue first, the overdue filter, one order with the queue page."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from decisioning.models import Decision
from tests.traces.api.conftest import approval_payload, later
from traces.review_selectors import QueueCursor, review_queue_page

pytestmark = pytest.mark.django_db


def _queue(api: Any, count: int, overdue: dict[int, int]) -> list[str]:
    """``count`` pending decisions, oldest first; ``overdue`` maps an index to minutes past due."""
    payloads = [approval_payload() for _ in range(count)]
    for minutes, payload in enumerate(payloads):
        payload["timestamp"] = later(minutes)
    answer = api.post("/api/v1/events", {"events": payloads}).json()
    ids = [event["decision_id"] for event in answer["events"]]
    now = timezone.now()
    for index, minutes in overdue.items():
        Decision.objects.filter(pk=ids[index]).update(due_at=now - timedelta(minutes=minutes))
    return ids


def _all_pages(api: Any, **query: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/decisions", params)
        assert page.status_code == 200, page.content
        body = page.json()
        seen += [row["id"] for row in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 7, 50])
def test_overdue_first_then_oldest_across_pages(api, limit):
    """Most overdue first (earliest due), then the others oldest first, whatever the page size."""
    ids = _queue(api, 7, overdue={5: 30, 2: 10, 6: 60})
    expected = [ids[6], ids[5], ids[2], ids[0], ids[1], ids[3], ids[4]]
    assert _all_pages(api, limit=limit) == expected


@pytest.mark.parametrize("word", ["true", "1"])
def test_overdue_filter(api, word):
    """``overdue=true`` (or 1): only those past due, earliest due first."""
    ids = _queue(api, 4, overdue={3: 5, 1: 50})
    assert _all_pages(api, overdue=word, limit=1) == [ids[1], ids[3]]


@pytest.mark.parametrize("word", ["false", "0"])
def test_overdue_false_is_everything(api, word):
    ids = _queue(api, 3, overdue={2: 5})
    assert _all_pages(api, overdue=word) == [ids[2], ids[0], ids[1]]


@pytest.mark.parametrize("value", ["yes", "2", "\x00", "true\x00", "TRUE ", "x" * 5000])
def test_bad_overdue_is_400(api, value):
    response = api.get("/api/v1/decisions", {"overdue": value})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_parameter"


def test_falling_due_while_paging_is_neither_skipped_nor_repeated(api):
    """The first page's time splits the queue for every later page, however late they come."""
    ids = _queue(api, 4, overdue={3: 5})
    start = timezone.now()
    Decision.objects.filter(pk=ids[2]).update(due_at=start + timedelta(minutes=1))
    pending = Decision.objects.filter(outcome="pending")
    first = review_queue_page(pending, now=start, limit=2)
    assert [str(d.pk) for d in first.items] == [ids[3], ids[0]]
    # An hour later ids[2] is overdue, but this listing keeps its first split.
    rest = review_queue_page(
        pending, now=start + timedelta(hours=1), cursor=first.next_cursor, limit=2
    )
    assert [str(d.pk) for d in rest.items] == [ids[1], ids[2]]
    assert rest.next_cursor is None
    fresh = review_queue_page(pending, now=start + timedelta(hours=1), limit=2)
    assert [str(d.pk) for d in fresh.items] == [ids[3], ids[2]]


def _token(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "AAAA",
        "\x00",
        "x" * 5000,
        _token("2026-12-07T09:00:00+00:00|elsewhere|-"),
        _token("2026-12-07T09:00:00|rest|-"),
        _token("9999-12-31T23:59:59+00:00|rest|-"),
        _token("2026-12-07T09:00:00+00:00|overdue|-"),
        _token("2026-12-07T09:00:00+00:00|rest|not-a-cursor"),
        _token("2026-12-07T09:00:00+00:00|rest|-|extra"),
        _token("2026-12-07T09:00:00+14:30|rest|-"),
        "%F0%9F%92%A9",
    ],
)
def test_forged_queue_cursor_is_400(api, cursor):
    _queue(api, 2, overdue={1: 5})
    response = api.get("/api/v1/decisions", {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "bad_cursor"


def test_queue_cursor_round_trip():
    """A cursor decodes to what was encoded."""
    now = timezone.now()
    cursor = QueueCursor(now, "rest", None)
    assert QueueCursor.decode(cursor.encode()) == cursor


def test_queue_page_matches_the_queue_page_parts(api, make_user):
    """The API's order is the queue page's: its overdue block, then its list."""
    from traces.review_selectors import review_not_overdue, review_overdue, review_page

    ids = _queue(api, 5, overdue={4: 1, 1: 9})
    now = timezone.now()
    reviewer = make_user("admin")
    pending = Decision.objects.filter(outcome="pending")
    block, count = review_overdue(pending, user=reviewer, now=now)
    listed = review_page(review_not_overdue(pending, now=now), user=reviewer)
    ui_order = [str(item.decision.pk) for item in [*block, *listed.items]]
    api_order = [str(d.pk) for d in review_queue_page(pending, now=now, limit=50).items]
    assert count == 2
    assert ui_order == api_order == [ids[1], ids[4], ids[0], ids[2], ids[3]]
