"""Hostile input: every answer is a 4xx in the one error shape, nothing partially written."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.traces.api.conftest import event_payload
from traces.api.payloads import surrogates_possible
from traces.models import EventRecord

pytestmark = pytest.mark.django_db


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def _with(path: str, value: Any) -> dict[str, Any]:
    payload = event_payload()
    target = payload
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    target[last] = value
    return payload


HOSTILE_VALUES = [
    ("data.actor.id", "a\x00b"),
    ("data.actor.id", "evil\nactor"),
    ("data.actor.id", "ends\r\n"),
    ("data.actor.id", "\x07bell"),
    ("data.correlation_id", "c\x1fd"),
    ("data.description", "nul\x00here"),
    ("data.description", "\ud800 lone"),
    ("data.data", {"k\ud83d": 1}),
    ("data.data", {"k": "\udfff"}),
    ("data.data", {"k": "\x00"}),
    ("data.event_type", ""),
    ("data.event_type", "x" * 101),
    ("data.tags", ["ok", "\x00"]),
    ("data.tags", "not-a-list"),
    ("data.outcome", "exploded"),
    ("data.actor", {"id": "a", "type": "robot"}),
    ("data.actor", {"id": "a", "type": "user", "shoe_size": 44}),
    ("data.decision", {"confidence": 1.5}),
    ("data.decision", {"confidence": "high"}),
    ("data.decision", {"risk_level": "extreme"}),
    ("data.objects", [{"id": "o\n1", "type": "order"}]),
    ("data.objects", [{"id": "o", "type": "planet"}]),
    ("data.objects", "o-1"),
    ("data.parent_event_id", "not-a-uuid"),
    ("data.parent_event_id", str(uuid.uuid4())),
    ("data.source_ip", "999.1.1.1"),
    ("data.unknown_field", 1),
    ("unknown_top", 1),
    ("id", "1; DROP TABLE"),
    ("id", "\x00"),
    ("duration", -1),
    ("duration", "long"),
    ("timestamp", "2026-12-01T09:00:00"),
    ("timestamp", "0001-01-01T00:00:00+05:00"),
    ("timestamp", "9999-12-31T23:59:59-05:00"),
    ("timestamp", "yesterday"),
    ("timestamp", 1700000000),
    ("data", "text"),
]


@pytest.mark.parametrize(("path", "value"), HOSTILE_VALUES)
def test_hostile_event_fields_are_422_with_the_field(api, path, value):
    """Each hostile value is refused with 422 naming where, and nothing is written."""
    error = _error(
        api.post("/api/v1/events", {"events": [event_payload(), _with(path, value)]}), 422
    )
    assert error["code"] == "validation_error"
    assert all(detail["index"] in (1, None) for detail in error["details"])
    assert EventRecord.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"[1,", b"\xff\xfe", b"NaN", b'{"a": Infinity}', b"[" * 100_000 + b"]" * 100_000],
)
def test_malformed_json_is_400(api, raw):
    error = _error(api.post("/api/v1/events", raw=raw), 400)
    assert error["code"] == "malformed_json"


@pytest.mark.parametrize("body", [[], [event_payload()], 5, "event", None])
def test_wrong_body_types_are_422(api, body):
    _error(api.post("/api/v1/events", body), 422)


def test_huge_body_is_413_before_reading(api, settings):
    settings.TRACES_API_MAX_BODY_BYTES = 1000
    error = _error(api.post("/api/v1/events", raw=b" " * 1001), 413)
    assert error["code"] == "payload_too_large"


def test_body_between_django_and_api_limits_is_read(api, settings):
    """Django's form limit (2.5 MB) does not apply; the API's own limit does."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    payload = event_payload(description="x" * 500)
    assert api.post("/api/v1/events", payload).status_code == 201


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": "AAAA"},
        {"cursor": "\x00"},
        {"cursor": "eyJ0IjogIjAwMDEtMDEtMDFUMDA6MDA6MDArMDU6MDAiLCAiaWQiOiAiMSJ9"},
        {"since": "0001-01-01T00:00:00+05:00"},
        {"until": "9999-12-31T23:59:59-05:00"},
        {"actor": "a\x00b"},
        {"q": "x" * 201},
        {"limit": "1e9"},
        {"approval": "maybe"},
        {"period": "forever"},
    ],
)
def test_hostile_query_parameters_are_4xx(api, query):
    response = api.get("/api/v1/events", query)
    assert 400 <= response.status_code < 500, response.content
    _error(response, response.status_code)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/events/a%00b",
        "/api/v1/events/a%00b/chain",
        "/api/v1/objects/order/a%00b/history",
        "/api/v1/actors/ai_agent/a%00b",
        "/api/v1/decisions/a%00b",
        "/api/v1/nothing/here",
        "/api/v1/",
    ],
)
def test_hostile_paths_are_404_in_the_error_shape(api, path):
    assert _error(api.get(path), 404)["code"] == "not_found"


@pytest.mark.parametrize(
    ("query", "count"),
    [({"since": "2026-12-01T08:00:00+14:00"}, 1), ({"until": "2026-12-01T09:00:00-12:00"}, 1)],
)
def test_extreme_but_valid_offsets_work_on_both_databases(api, query, count):
    """The widest real offsets (+14:00, -12:00) are converted to UTC first: 200 on both."""
    api.post("/api/v1/events", event_payload())
    response = api.get("/api/v1/events", query)
    assert response.status_code == 200
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize(
    "query",
    [{"since": "2026-12-01T08:00:00+23:00"}, {"until": "2026-12-01T09:00:00-23:59"}],
)
def test_offsets_beyond_fourteen_hours_are_400(api, query):
    """No place on earth is more than 14 hours from UTC: such a time is refused, never a 500."""
    assert _error(api.get("/api/v1/events", query), 400)["code"] == "bad_parameter"


def test_post_to_no_endpoint_is_404_not_a_csrf_page(api):
    assert _error(api.post("/api/v1/nothing", {}), 404)["code"] == "not_found"


def test_wrong_method_is_405_in_the_error_shape(api):
    response = api.client.put(
        "/api/v1/events", b"{}", headers={"Authorization": f"Bearer {api.token}"}
    )
    assert _error(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_tokens_never_appear_in_error_bodies(api):
    response = api.get("/api/v1/events", headers={"Authorization": f"Bearer {api.token}x"})
    assert api.token not in response.content.decode()
    assert json.loads(response.content)["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/actors/user/%ED%A0%80",
        "/api/v1/objects/order/%ED%A0%80/history",
        "/api/v1/events?q=%00",
        "/api/v1/search?q=%00",
        "/api/v1/search?q=a%00b",
        "/api/v1/events?correlation_id=%00",
        "/api/v1/events?object_id=%00",
        "/api/v1/events?object_type=order&object_id=a%00",
        "/api/v1/events?tag=%00",
        "/api/v1/events?event_type=a%00",
        "/api/v1/decisions?decision_type=%00",
        "/api/v1/decisions?tab=%00",
        "/api/v1/search?q=x&limit=0",
        "/api/v1/search?q=" + "x" * 5000,
        "/api/v1/events?since=%00",
        "/api/v1/events?cursor=" + "A" * 5000,
        "/api/v1/objects/order/" + "x" * 300 + "/history",
        "/api/v1/actors/user/" + "x" * 300,
    ],
)
def test_hostile_urls_answer_json_below_500(api, path):
    """Invalid UTF-8, NUL and huge values in paths and parameters: a JSON answer, never 5xx."""
    api.post("/api/v1/events", event_payload())
    response = api.get(path)
    assert response.status_code < 500
    assert response["Content-Type"] == "application/json"


def _surrogate_bodies() -> list[tuple[str, bytes]]:
    text = json.dumps(event_payload(description="placeholder"), ensure_ascii=False)
    lone = text.replace("placeholder", "\ud800 lone")
    return [
        ("escaped", text.replace("placeholder", "\\ud800 lone").encode()),
        ("escaped upper case", text.replace("placeholder", "\\uDFFF").encode()),
        ("escaped in a key", text.replace('"description"', '"d\\udc00"').encode()),
        ("UTF-8 bytes", lone.encode("utf-8", "surrogatepass")),
        ("UTF-16", lone.encode("utf-16", "surrogatepass")),
        ("UTF-32", lone.encode("utf-32", "surrogatepass")),
    ]


@pytest.mark.parametrize(("kind", "raw"), _surrogate_bodies(), ids=lambda v: str(v)[:20])
def test_a_lone_surrogate_in_any_encoding_is_refused(api, kind, raw):
    """However the body spells it, a lone surrogate is a 4xx and nothing is written."""
    response = api.post("/api/v1/events", raw=raw)
    assert 400 <= response.status_code < 500, (kind, response.content)
    assert EventRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "possible"),
    [
        (b'{"a": "plain"}', False),
        (b'{"a": "\\u00e9 \\ud7ff \\ue000"}', False),
        ("{'a': 'é 中 한'}".encode(), False),
        (b'{"a": "\\ud800"}', True),
        (b'{"a": "\\uDBFF"}', True),
        (b'{"a": "\\\\ud800"}', True),  # a false alarm: only costs the walk
        ('"\ud800"'.encode("utf-8", "surrogatepass"), True),
        ('{"a": 1}'.encode("utf-16"), True),
    ],
)
def test_surrogates_possible_says_when_to_walk_the_strings(raw, possible):
    """The walk is skipped only when no lone surrogate can come out of the body."""
    assert surrogates_possible(raw) is possible
