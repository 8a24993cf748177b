"""Shared checks: column sizes agree with the models, the JSON encoder, IPs, datetimes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from decision_trace import validation
from decision_trace.exceptions import TraceValidationError
from decision_trace.validation import TraceJSONEncoder, aware, check_ip, jsonable
from traces.models import ActorRecord, EventRecord, EventTag, TrackedObjectRecord


@pytest.mark.parametrize(
    ("model", "field", "limit"),
    [
        (EventRecord, "event_type", validation.TYPE_LENGTH),
        (EventRecord, "action", validation.NAME_LENGTH),
        (EventRecord, "decision_trace_id", validation.DECISION_ID_LENGTH),
        (EventRecord, "correlation_id", validation.ID_LENGTH),
        (EventRecord, "source_system", validation.NAME_LENGTH),
        (EventRecord, "approved_by", validation.NAME_LENGTH),
        (EventRecord, "trigger", validation.NAME_LENGTH),
        (ActorRecord, "actor_id", validation.ID_LENGTH),
        (ActorRecord, "name", validation.NAME_LENGTH),
        (ActorRecord, "email", validation.EMAIL_LENGTH),
        (ActorRecord, "role", validation.ROLE_LENGTH),
        (ActorRecord, "version", validation.VERSION_LENGTH),
        (ActorRecord, "job_id", validation.ID_LENGTH),
        (TrackedObjectRecord, "object_id", validation.ID_LENGTH),
        (TrackedObjectRecord, "external_id", validation.ID_LENGTH),
        (TrackedObjectRecord, "name", validation.NAME_LENGTH),
        (EventTag, "tag", validation.TAG_LENGTH),
    ],
)
def test_limits_match_column_sizes(model, field, limit):
    """The value objects refuse exactly what the columns cannot hold."""
    assert model._meta.get_field(field).max_length == limit


def test_jsonable_converts_project_types():
    """Decimal, datetimes, UUID, timedelta, sets and tuples become plain JSON."""
    value = {
        "d": Decimal("1.10"),
        "t": datetime(2024, 1, 1, 12),  # noqa: DTZ001 - naive is taken as UTC
        "day": date(2024, 1, 2),
        "u": uuid.UUID(int=5),
        "td": timedelta(minutes=1),
        "s": {1},
        "tu": (1, 2),
        3: "int key",
    }
    assert jsonable(value) == {
        "d": "1.10",
        "t": "2024-01-01T12:00:00+00:00",
        "day": "2024-01-02",
        "u": "00000000-0000-0000-0000-000000000005",
        "td": 60.0,
        "s": [1],
        "tu": [1, 2],
        "3": "int key",
    }


def test_trace_json_encoder():
    """The project encoder handles Decimal/datetime/UUID in json.dumps."""
    text = json.dumps({"d": Decimal("2.5"), "u": uuid.UUID(int=1)}, cls=TraceJSONEncoder)
    assert json.loads(text) == {"d": "2.5", "u": "00000000-0000-0000-0000-000000000001"}
    with pytest.raises(TypeError):
        json.dumps({"x": object()}, cls=TraceJSONEncoder)


def test_json_size_limit():
    """JSON beyond MAX_JSON_CHARS is refused with a clear message."""
    with pytest.raises(TraceValidationError, match="characters as JSON"):
        validation.check_json("data", {"x": "y" * validation.MAX_JSON_CHARS})


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8::1", "2001:db8::1"),
        ("", None),
        (None, None),
    ],
)
def test_check_ip_valid(given, stored):
    assert check_ip(given) == stored


@pytest.mark.parametrize("given", ["localhost", "1.2.3", "300.1.1.1", 12, "x" * 100])
def test_check_ip_invalid(given):
    with pytest.raises(TraceValidationError, match="ip must be"):
        check_ip(given)


def test_aware_naive_is_utc_and_aware_is_converted():
    naive = datetime(2024, 1, 1)  # noqa: DTZ001 - the naive case under test
    assert aware("t", naive) == datetime(2024, 1, 1, tzinfo=UTC)
    assert aware("t", datetime(2024, 1, 1, tzinfo=UTC)).tzinfo is UTC
