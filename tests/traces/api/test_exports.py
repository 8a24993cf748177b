"""``?format=csv|jsonl`` on GET /events, /search and /objects/{type}/{id}/history."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from tests.traces.api.conftest import T0, approval_payload, event_payload


def _text(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def _rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_text(response).removeprefix("\ufeff"))))


@pytest.fixture
def stored(api):
    payloads = [
        event_payload(timestamp=T0 + timedelta(minutes=i), description=f"=HYPERLINK order {i}")
        for i in range(3)
    ]
    payloads.append(approval_payload(description="Big refund for the parcel"))
    for payload in payloads:
        assert api.post("/api/v1/events", payload).status_code == 201
    return payloads


def test_events_as_csv_with_the_filters(api, stored):
    """Every matching event (not one page), filtered, spreadsheet-safe."""
    response = api.get("/api/v1/events", {"format": "csv", "limit": 1, "actor_type": "ai_agent"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="events.csv"'
    rows = _rows(response)
    assert len(rows) == 4
    assert "'=HYPERLINK order 2" in {row["description"] for row in rows}


def test_events_as_jsonl_and_json_by_default(api, stored):
    """jsonl: one event per line; json (or no format): the usual page."""
    lines = _text(api.get("/api/v1/events", {"format": "jsonl"})).splitlines()
    assert [json.loads(line)["id"] for line in lines] == [
        p["id"] for p in sorted(stored, key=lambda p: (p["timestamp"], p["id"]), reverse=True)
    ]
    page = api.get("/api/v1/events", {"format": "json", "limit": 2}).json()
    assert len(page["results"]) == 2


def test_search_and_history_as_files(api, stored):
    """Search: every match; history: oldest first."""
    lines = _text(api.get("/api/v1/search", {"q": "parcel", "format": "jsonl"})).splitlines()
    assert [json.loads(line)["id"] for line in lines] == [stored[3]["id"]]
    payload = event_payload(timestamp=T0 + timedelta(minutes=9))
    payload["data"]["objects"] = [{"id": "ord-5", "type": "order"}]
    api.post("/api/v1/events", payload)
    rows = _rows(api.get("/api/v1/objects/order/ord-5/history", {"format": "csv"}))
    assert [row["id"] for row in rows] == [payload["id"]]


@pytest.mark.parametrize("value", ["xml", "CSV", "csv\x00", "j" * 300])
@pytest.mark.parametrize(
    "path", ["/api/v1/events", "/api/v1/search", "/api/v1/objects/order/o/history"]
)
def test_bad_format_is_400_in_the_error_shape(api, path, value):
    """An unknown format: 400 bad_parameter naming the field."""
    response = api.get(path, {"format": value, "q": "x"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_parameter"
    assert error["details"][0]["field"] == "format"


def test_files_hide_decisions_from_a_token_without_decisions_read(api_as, root, stored):
    """events:read alone: no approval status in the file, as in the JSON answer."""
    reader = api_as(root, ["events:read"])
    rows = _rows(reader.get("/api/v1/events", {"format": "csv"}))
    assert {row["approval_status"] for row in rows} == {""}
    full = _rows(
        api_as(root, ["events:read", "decisions:read"]).get("/api/v1/events", {"format": "csv"})
    )
    assert "pending" in {row["approval_status"] for row in full}


def test_decisions_as_csv(api, stored):
    """The review queue's pending decisions as a file; a bad format is a 400."""
    rows = _rows(api.get("/api/v1/decisions", {"format": "csv"}))
    assert [(row["status"], row["target_event_id"]) for row in rows] == [
        ("pending", stored[3]["id"])
    ]
    assert api.get("/api/v1/decisions", {"format": "pdf"}).status_code == 400
