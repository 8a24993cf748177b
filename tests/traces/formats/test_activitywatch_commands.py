"""manage.py export_activitywatch / import_activitywatch: files, filters, progress, errors."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from traces import Actor, TraceEvent
from traces.models import EventRecord
from traces.services import trace_delete, trace_record_many

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _events() -> list[TraceEvent]:
    return [
        TraceEvent(
            timestamp=T0 + timedelta(minutes=i),
            event_type="price.changed" if i % 2 else "order.created",
            actor=Actor.ai_agent("pricing-ai", "Pricing") if i % 2 else Actor.user("u-1", "Ada"),
        )
        for i in range(6)
    ]


def test_export_then_import_commands_round_trip(tmp_path):
    """The file written by the command imports back into the same events, with a progress bar."""
    events = _events()
    trace_record_many(events=events)
    first = tmp_path / "aw.json"
    call_command("export_activitywatch", str(first), "--hostname", "shop-1", stderr=io.StringIO())
    trace_delete(event_ids=[e.id for e in events])
    out, err = io.StringIO(), io.StringIO()
    call_command("import_activitywatch", str(first), stdout=out, stderr=err)
    assert "6 events added, 0 already stored" in out.getvalue()
    assert "Importing" in err.getvalue()
    assert "6/6" in err.getvalue()
    second = tmp_path / "again.json"
    call_command("export_activitywatch", str(second), "--hostname", "shop-1", stderr=io.StringIO())
    assert second.read_text() == first.read_text()
    out = io.StringIO()
    call_command("import_activitywatch", str(first), "--no-progress", stdout=out)
    assert "0 events added, 6 already stored" in out.getvalue()


def test_export_command_filters(tmp_path):
    """--actor-type, --event-type and --since choose the events written."""
    trace_record_many(events=_events())
    target = tmp_path / "agents.json"
    err = io.StringIO()
    call_command(
        "export_activitywatch",
        str(target),
        "--actor-type",
        "ai_agent",
        "--event-type",
        "price.*",
        "--since",
        (T0 + timedelta(minutes=2)).isoformat(),
        stderr=err,
    )
    document = json.loads(target.read_text())
    (bucket,) = document["buckets"].values()
    assert len(bucket["events"]) == 2
    assert "2 events in 1 buckets" in err.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "tomorrow"], "Not an ISO 8601 date-time"),
        (["--actor-type", "robot"], "actor_types must be one of"),
        (["--event-type", ""], "event_types must not be empty"),
    ],
)
def test_export_command_bad_filters_are_clear_errors(tmp_path, args, message):
    """A bad filter is a CommandError that says what to pass; no file is written."""
    target = tmp_path / "out.json"
    with pytest.raises(CommandError, match=message):
        call_command("export_activitywatch", str(target), *args)
    assert not target.exists()


def test_export_command_unwritable_target_is_a_clear_error(tmp_path):
    """A directory that does not exist: a CommandError, no half file left."""
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("export_activitywatch", str(tmp_path / "missing" / "aw.json"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "is not JSON"),
        (b"\xff\xfe\x00", "not UTF-8|is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "is not JSON"),
        (b'{"buckets": {"b": {"id": "b"}}}', "nothing written"),
        (b"", "is not JSON"),
    ],
    ids=["broken", "binary", "deeply nested", "bucket without type", "empty"],
)
def test_import_command_invalid_file_is_a_clear_error(tmp_path, content, message):
    """Not JSON, not text, hostile nesting, not an export: a CommandError, nothing written."""
    source = tmp_path / "aw.json"
    source.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command("import_activitywatch", str(source), "--no-progress")
    assert not EventRecord.objects.exists()


def test_import_command_missing_file_is_a_clear_error(tmp_path):
    """A path that does not exist: a CommandError naming it."""
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_activitywatch", str(tmp_path / "nope.json"))
