"""ActivityWatch files: aw-server exports in and out, checked against aw-core's schemas."""

from __future__ import annotations

import copy
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
from aw_core.schema import get_json_schema

from decision_trace.enums import ActorType
from decisioning.models import Decision
from traces import Actor, TraceBuilder, TraceEvent, TraceValidationError
from traces.formats.activitywatch import (
    BUCKET_TYPE,
    CLIENT,
    activitywatch_export,
    activitywatch_import,
    activitywatch_read,
)
from traces.formats.exceptions import FormatError
from traces.models import ActorRecord, EventRecord
from traces.selectors import event_filter
from traces.services import trace_delete, trace_record_many

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _watcher_file() -> dict[str, Any]:
    """What aw-server's /api/0/export returns for a window and an afk watcher."""
    return {
        "buckets": {
            "aw-watcher-window_laptop": {
                "id": "aw-watcher-window_laptop",
                "created": "2026-03-01T08:59:00.000000+00:00",
                "name": None,
                "type": "currentwindow",
                "client": "aw-watcher-window",
                "hostname": "laptop",
                "data": {},
                "events": [
                    {
                        "id": 2,
                        "timestamp": "2026-03-01T09:05:00.000000+00:00",
                        "duration": 12.5,
                        "data": {"app": "Firefox", "title": "Order ord-7 · Admin"},
                    },
                    {
                        "id": 1,
                        "timestamp": "2026-03-01T09:00:00Z",
                        "duration": 300.0,
                        "data": {"app": "Terminal", "title": "make test"},
                    },
                ],
            },
            "aw-watcher-afk_laptop": {
                "id": "aw-watcher-afk_laptop",
                "created": "2026-03-01T08:59:00+00:00",
                "type": "afkstatus",
                "client": "aw-watcher-afk",
                "hostname": "laptop",
                "data": {},
                "events": [
                    {
                        "id": 9,
                        "timestamp": "2026-03-01T09:00:00+01:00",
                        "duration": 600,
                        "data": {"status": "not-afk"},
                    }
                ],
            },
        }
    }


def _validator(name: str) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(
        get_json_schema(name), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def _check_schemas(document: dict[str, Any]) -> int:
    """Each bucket against aw-core's bucket.json, each event against its event.json."""
    bucket_schema, event_schema = _validator("bucket"), _validator("event")
    checked = 0
    for key, bucket in document["buckets"].items():
        assert bucket["id"] == key
        # bucket.json refers to an Event definition it does not carry: events are
        # checked against event.json instead.
        bucket_schema.validate({k: v for k, v in bucket.items() if k != "events"})
        for event in bucket["events"]:
            event_schema.validate(event)
            checked += 1
    return checked


def _export(**filters: Any) -> str:
    out = io.StringIO()
    activitywatch_export(events=event_filter(**filters), out=out, hostname="shop-1")
    return out.getvalue()


def _story() -> list[TraceEvent]:
    """A chain with an AI agent, a person and a system, one asking for approval."""
    root = (
        TraceBuilder("refund.requested", "Customer asks for a refund")
        .by_user("cust-1", "Ada", email="ada@example.com")
        .affecting_order("ord-7", {"status": "delivered"})
        .at(T0)
        .with_tags("refund")
        .build()
    )
    proposal = (
        TraceBuilder("refund.proposed", "Refund €40 proposed")
        .by_ai("refund-ai", "Refund assistant", model="gpt-4", version="2026-01")
        .because(
            reasoning="Delivered late; policy R-3",
            alternatives=["refuse", "voucher"],
            rejection_reasons={"refuse": "late delivery"},
            confidence=0.9,
            risk_level="medium",
            requires_approval=True,
        )
        .child_of(root.id)
        .at(T0 + timedelta(minutes=1))
        .build()
    )
    note = TraceEvent(
        timestamp=T0 + timedelta(minutes=2),
        event_type="audit.note",
        description='=HYPERLINK("x") stays text',
        actor=Actor.system("scheduler"),
        source_system="back-office",
        data={"n": 1, "nested": {"ok": True}},
    )
    bare = TraceEvent(timestamp=T0 + timedelta(minutes=3), event_type="heartbeat")
    return [root, proposal, note, bare]


def test_activitywatch_import_watcher_buckets_become_events_by_watcher_actors():
    """Window and afk events become events of a compute actor per watcher and host."""
    result = activitywatch_import(document=_watcher_file())
    assert (result.read, result.added, result.skipped) == (3, 3, 0)
    rows = {row.description: row for row in EventRecord.objects.select_related("actor")}
    window = rows["Firefox · Order ord-7 · Admin"]
    assert window.event_type == "activitywatch.currentwindow"
    assert window.actor.actor_type == ActorType.COMPUTE
    assert window.actor.actor_id == "aw-watcher-window@laptop"
    assert window.actor.metadata == {"hostname": "laptop"}
    assert window.data == {"app": "Firefox", "title": "Order ord-7 · Admin"}
    assert window.duration == 12.5
    assert window.correlation_id == "aw-watcher-window_laptop"
    assert window.source_system == "activitywatch"
    afk = rows["not-afk"]
    assert afk.actor.actor_id == "aw-watcher-afk@laptop"
    assert afk.effective_at == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert ActorRecord.objects.count() == 2


def test_activitywatch_import_twice_adds_nothing():
    """The same file twice: stable ids, the second import adds nothing."""
    first = activitywatch_import(document=_watcher_file())
    ids = set(EventRecord.objects.values_list("pk", flat=True))
    second = activitywatch_import(document=_watcher_file())
    assert (second.added, second.skipped) == (0, first.added)
    assert set(EventRecord.objects.values_list("pk", flat=True)) == ids


def test_activitywatch_import_events_without_ids_get_ids_from_time_and_data():
    """Hand-written events without ids are identified by bucket, time and data."""
    document = _watcher_file()
    for bucket in document["buckets"].values():
        for event in bucket["events"]:
            del event["id"]
    assert activitywatch_import(document=document).added == 3
    assert activitywatch_import(document=copy.deepcopy(document)).added == 0


def test_activitywatch_import_reports_progress_per_chunk():
    """The progress callback hears (stored so far, to store) after each chunk of 1,000."""
    events = [
        {"id": i, "timestamp": (T0 + timedelta(seconds=i)).isoformat(), "duration": 1, "data": {}}
        for i in range(1_500)
    ]
    document = {
        "buckets": {
            "b": {
                "id": "b",
                "type": "x",
                "client": "aw-watcher-x",
                "hostname": "h",
                "events": events,
            }
        }
    }
    calls: list[tuple[int, int]] = []
    activitywatch_import(
        document=document, progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(1_000, 1_500), (1_500, 1_500)]


def test_activitywatch_export_matches_aw_core_schemas_and_shape():
    """One bucket per source system and actor type, every part valid for aw-core."""
    trace_record_many(events=_story())
    document = json.loads(_export())
    assert _check_schemas(document) == 4
    assert sorted(document["buckets"]) == [
        "decision-trace_back-office_system",
        "decision-trace_unknown_ai_agent",
        "decision-trace_unknown_no-actor",
        "decision-trace_unknown_user",
    ]
    bucket = document["buckets"]["decision-trace_unknown_ai_agent"]
    assert (bucket["type"], bucket["client"], bucket["hostname"]) == (BUCKET_TYPE, CLIENT, "shop-1")
    assert bucket["created"] == (T0 + timedelta(minutes=1)).isoformat()
    assert bucket["data"] == {"source_system": "", "actor_type": "ai_agent"}
    (event,) = bucket["events"]
    assert event["data"]["decision"]["reasoning"] == "Delivered late; policy R-3"


def test_activitywatch_export_import_export_gives_the_same_file():
    """Export, delete, import, export: byte for byte the same file; the approval is back."""
    events = _story()
    trace_record_many(events=events)
    first = _export()
    trace_delete(event_ids=[events[0].id, events[2].id, events[3].id])
    assert not EventRecord.objects.exists()
    result = activitywatch_import(document=json.loads(first))
    assert result.added == 4
    assert _export() == first
    assert Decision.objects.filter(target_id=events[1].id).count() == 1
    # And once more into the filled database: nothing added, the file unchanged.
    assert activitywatch_import(document=json.loads(first)).added == 0
    assert _export() == first


def test_activitywatch_export_of_imported_watcher_events_round_trips():
    """Watcher events, once imported, export to our buckets and import again as themselves."""
    activitywatch_import(document=_watcher_file())
    exported = _export()
    ids = set(EventRecord.objects.values_list("pk", flat=True))
    assert _check_schemas(json.loads(exported)) == 3
    assert activitywatch_import(document=json.loads(exported)).added == 0
    assert set(EventRecord.objects.values_list("pk", flat=True)) == ids


def test_activitywatch_export_applies_filters():
    """The filters choose the events; an empty choice is an empty export."""
    trace_record_many(events=_story())
    document = json.loads(_export(actor_types=["ai_agent", "user"]))
    assert sorted(document["buckets"]) == [
        "decision-trace_unknown_ai_agent",
        "decision-trace_unknown_user",
    ]
    assert json.loads(_export(start=T0 + timedelta(days=1))) == {"buckets": {}}


def test_activitywatch_export_reads_a_fixed_number_of_queries_per_page(
    django_assert_num_queries,
):
    """Per bucket: one page query plus its objects' prefetch; one grouping query overall."""
    trace_record_many(
        events=[
            TraceEvent(timestamp=T0 + timedelta(seconds=i), event_type="tick", actor=Actor.system())
            for i in range(1_001)
        ]
    )
    # 1 grouping + 3 pages (500, 500, 1) x (events + tracked objects).
    with django_assert_num_queries(7):
        text = _export()
    assert len(json.loads(text)["buckets"]["decision-trace_unknown_system"]["events"]) == 1_001


def _bucket_with(event: Any, **bucket: Any) -> dict[str, Any]:
    base = {"id": "b", "type": "currentwindow", "client": "aw-watcher-window", "hostname": "h"}
    base.update(bucket)
    base["events"] = [
        {"id": 1, "timestamp": "2026-03-01T09:00:00+00:00", "duration": 1, "data": {}},
        event,
    ]
    return {"buckets": {base["id"]: base}}


GOOD = {"id": 2, "timestamp": "2026-03-01T09:00:01+00:00", "duration": 1, "data": {}}
OURS = {"client": CLIENT, "type": BUCKET_TYPE}

INVALID = {
    "not an object": [],
    "no buckets": {"events": []},
    "buckets is text": {"buckets": "aw"},
    "bucket is a list": {"buckets": {"b": []}},
    "bucket id differs from key": {
        "buckets": {"b": {"id": "c", "type": "t", "client": "c", "hostname": "h"}}
    },
    "bucket without type": {"buckets": {"b": {"id": "b", "client": "c", "hostname": "h"}}},
    "empty hostname": _bucket_with(GOOD, hostname=" "),
    "bad created": _bucket_with(GOOD, created="yesterday"),
    "events not a list": {
        "buckets": {"b": {"id": "b", "type": "t", "client": "c", "hostname": "h", "events": {}}}
    },
    "event not an object": _bucket_with("event"),
    "missing timestamp": _bucket_with({"duration": 1, "data": {}}),
    "numeric timestamp": _bucket_with({"timestamp": 1700000000, "data": {}}),
    "naive timestamp": _bucket_with({"timestamp": "2026-03-01T09:00:00", "data": {}}),
    "garbage timestamp": _bucket_with({"timestamp": "2026-13-45T99:00:00Z", "data": {}}),
    "year 1 east of UTC": _bucket_with({"timestamp": "0001-01-01T00:00:00+14:00", "data": {}}),
    "year 9999 west of UTC": _bucket_with({"timestamp": "9999-12-31T23:59:59-14:00", "data": {}}),
    "negative duration": _bucket_with({**GOOD, "duration": -1}),
    "text duration": _bucket_with({**GOOD, "duration": "1"}),
    "boolean duration": _bucket_with({**GOOD, "duration": True}),
    "data not an object": _bucket_with({**GOOD, "data": [1]}),
    "NUL in data": _bucket_with({**GOOD, "data": {"title": "a\x00b"}}),
    "control NUL in a key": _bucket_with({**GOOD, "data": {"a\x00": 1}}),
    "lone surrogate": _bucket_with({**GOOD, "data": {"title": "\ud800"}}),
    "event type with a star": _bucket_with(GOOD, type="window*"),
    "event type too long": _bucket_with(GOOD, type="w" * 200),
    "our bucket, id not a uuid": _bucket_with({**GOOD, "data": {"event_type": "x"}}, **OURS),
    "our bucket, no event type": _bucket_with(
        {**GOOD, "id": str(uuid.uuid4()), "data": {}}, **OURS
    ),
    "our bucket, bad actor type": _bucket_with(
        {
            **GOOD,
            "id": str(uuid.uuid4()),
            "data": {"event_type": "x", "actor": {"id": "a", "type": "robot"}},
        },
        **OURS,
    ),
    "same id, different events": {
        "buckets": {
            "b": {
                "id": "b",
                "type": BUCKET_TYPE,
                "client": CLIENT,
                "hostname": "h",
                "events": [
                    {
                        **GOOD,
                        "id": "0190a000-0000-7000-8000-000000000001",
                        "data": {"event_type": a},
                    }
                    for a in ("x", "y")
                ],
            }
        }
    },
}


@pytest.mark.parametrize("document", INVALID.values(), ids=INVALID.keys())
def test_activitywatch_import_invalid_file_is_refused_and_writes_nothing(document):
    """Wrong, missing, hostile, out-of-range input: a FormatError naming where; nothing stored."""
    with pytest.raises(FormatError) as error:
        activitywatch_import(document=document)
    assert str(error.value)
    assert not EventRecord.objects.exists()
    assert not ActorRecord.objects.exists()


def test_activitywatch_read_says_where_the_error_is():
    """The message names the bucket and the event's index."""
    with pytest.raises(FormatError, match=r"buckets\['b'\]\.events\[1\]\.duration"):
        activitywatch_read(_bucket_with({**GOOD, "duration": -1}))


def test_activitywatch_import_a_failed_write_leaves_nothing():
    """A child whose parent is neither in the file nor stored: refused after the first
    chunks were written, and the transaction takes them back."""
    events = [
        {"id": i, "timestamp": (T0 + timedelta(seconds=i)).isoformat(), "duration": 1, "data": {}}
        for i in range(2_100)
    ]
    orphan = TraceEvent(
        timestamp=T0, event_type="orphan", parent_event_id=str(uuid.uuid4())
    ).to_dict()
    document = {
        "buckets": {
            "w": {
                "id": "w",
                "type": "x",
                "client": "aw-watcher-x",
                "hostname": "h",
                "events": events,
            },
            "z": {
                "id": "z",
                "type": BUCKET_TYPE,
                "client": CLIENT,
                "hostname": "h",
                "events": [orphan],
            },
        }
    }
    with pytest.raises(TraceValidationError, match="parent"):
        activitywatch_import(document=document)
    assert not EventRecord.objects.exists()


def test_activitywatch_read_accepts_aw_cores_list_of_buckets():
    """aw-core's export.json says buckets is a list; such a file reads the same."""
    document = _watcher_file()
    as_list = {"buckets": list(document["buckets"].values())}
    assert activitywatch_read(as_list) == activitywatch_read(document)
