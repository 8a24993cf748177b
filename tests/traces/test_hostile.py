"""Hostile input never gives a 500: ids, times, cursors and paths refused; hostile rows shown.

Issue 20, points 1 to 3. Each class of input is parametrized: control
characters, lone surrogates, the edges of the datetime range with offsets,
offsets of 16 hours and more, malformed offsets, forged and garbled cursors.
"""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.urls import reverse

from decision_trace.exceptions import InvalidCursorError
from decision_trace.validation import (
    BAD_UNICODE,
    CONTROL_IN_ID,
    OFFSET_OUT_OF_RANGE,
    TIME_OUT_OF_RANGE,
    aware,
    check_identifier,
)
from decisioning.models import Decision
from tests.traces.factories import (
    ActorRecordFactory,
    EventRecordFactory,
    EventTagFactory,
    TrackedObjectRecordFactory,
)
from traces import (
    Actor,
    DecisionTrace,
    DecisionTraceClient,
    TraceBuilder,
    TraceEvent,
    TraceValidationError,
    TrackedObject,
)
from traces.models import ActorRecord, EventRecord, TrackedObjectRecord
from traces.pagination import Cursor

pytestmark = pytest.mark.django_db

CONTROL = ["\n", "\r", "\r\n", "\t", "\x00", "\x01", "\x1b", "\x1f", "\x7f", "\x85", "\x9f"]
SURROGATES = ["\ud800", "\udfff", "a\udc80b"]


def _offset(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


# Times at the edges of the datetime range (with offsets) and offsets no real zone has.
BAD_TIMES = [
    datetime(1, 1, 1, tzinfo=_offset(5)),
    datetime(1, 1, 1, 12, tzinfo=UTC),
    datetime(1, 1, 1),  # noqa: DTZ001 - a naive time is one of the hostile inputs
    datetime(9999, 12, 31, 20, tzinfo=_offset(-5)),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2024, 5, 1, tzinfo=_offset(16)),
    datetime(2024, 5, 1, tzinfo=_offset(-16)),
    datetime(2024, 5, 1, tzinfo=timezone(timedelta(hours=23, minutes=59))),
    datetime(2024, 5, 1, tzinfo=_offset(14.5)),
]
GOOD_TIMES = [
    datetime(1, 1, 2, tzinfo=UTC),
    datetime(9999, 12, 30, tzinfo=UTC),
    datetime(2024, 5, 1, tzinfo=_offset(14)),
    datetime(2024, 5, 1, tzinfo=_offset(-12)),
]
# As typed into a filter or a URL: the same classes, plus malformed offsets.
BAD_TIME_TEXT = [
    "0001-01-01T00:00:00+05:00",
    "0001-01-01T00:00",
    "9999-12-31T23:59:59-05:00",
    "9999-12-31T23:59:59",
    "2024-05-01T00:00:00+16:00",
    "2024-05-01T00:00:00-16:00",
    "2024-05-01T00:00:00+23:59",
    "2024-05-01T00:00:00+24:00",
    "2024-05-01T00:00:00+99:99",
    "2024-05-01T00:00:00+5",
    "2024-05-01T00:00:00Z+01:00",
    "2024-13-45T25:61",
    "10000-01-01T00:00",
    "-0001-01-01T00:00",
]


def _raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


ROW = uuid.UUID(int=1).hex
FORGED_CURSORS = [
    *(_raw_cursor(f"{t.isoformat()}|{ROW}") for t in BAD_TIMES if t.tzinfo is not None),
    _raw_cursor(f"2024-05-01T00:00:00|{ROW}"),  # naive
    _raw_cursor("2024-05-01T00:00:00+00:00|not-a-uuid"),
    _raw_cursor("2024-05-01T00:00:00+00:00"),
    _raw_cursor(f"garbage|{ROW}"),
    _raw_cursor("\x00\x01|\ufffd"),
    base64.urlsafe_b64encode(b"\xff\xfe\xfd\x00garbage").decode(),
    "!!!not-base64!!!",
    "a",
    "====",
    "A" * 500,
    "é",
    "%00",
    "\x00",
]


# 1. Ids: refused at every write path, with a clear error and nothing written


@pytest.mark.parametrize("char", CONTROL)
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_check_identifier_refuses_control_characters(char, where):
    """Newline, CR, tab, NUL, ESC, \\x1f, DEL and C1 controls are refused wherever they are."""
    value = {"start": char + "id", "middle": "i" + char + "d", "end": "id" + char}[where]
    with pytest.raises(TraceValidationError) as info:
        check_identifier("actor id", value)
    expected = CONTROL_IN_ID.format(field="actor id", got=value)
    assert str(info.value) == expected or "NUL" in str(info.value)


@pytest.mark.parametrize("value", SURROGATES)
def test_check_identifier_refuses_lone_surrogates(value):
    """A lone surrogate cannot be stored by either database: refused with its own message."""
    with pytest.raises(TraceValidationError) as info:
        check_identifier("object id", value)
    assert str(info.value) == BAD_UNICODE.format(
        field="object id", got=next(c for c in value if "\ud800" <= c <= "\udfff")
    )


@pytest.mark.parametrize("value", ["ord-1", "SKU/123", "a b", "ünïcødé-☃", "🚀", "x" * 255])
def test_check_identifier_accepts_ordinary_ids(value):
    """Slashes, spaces and any printable Unicode stay accepted."""
    assert check_identifier("object id", value) == value


def _writers(bad: str) -> dict[str, Callable[[], object]]:
    """Every way an id reaches the store, each given ``bad`` in one id field."""
    client = DecisionTraceClient()
    when = datetime(2024, 5, 1, tzinfo=UTC)

    def event(**changes: object) -> TraceEvent:
        values: dict[str, object] = {
            "id": str(uuid.uuid4()),
            "timestamp": when,
            "event_type": "order.created",
            "actor": Actor.user("u-1", "Ann"),
        }
        values.update(changes)
        return TraceEvent(**values)

    return {
        "by_user": lambda: client.trace("order.created").by_user(bad, "Ann").record(),
        "by_ai": lambda: client.trace("order.created").by_ai(bad, "Bot").record(),
        "by_compute job_id": lambda: (
            client.trace("x.y").by_compute("job", "Job", job_id=bad).record()
        ),
        "affecting_order": lambda: (
            client.trace("order.created").by_user("u-1", "Ann").affecting_order(bad).record()
        ),
        "external_id": lambda: (
            client.trace("order.created")
            .by_user("u-1", "Ann")
            .affecting_object("product", "p-1", external_id=bad)
            .record()
        ),
        "event_type": lambda: client.trace(bad).by_user("u-1", "Ann").record(),
        "with_tags": lambda: client.trace("order.created").with_tags("ok", bad).record(),
        "with_correlation": lambda: client.trace("order.created").with_correlation(bad).record(),
        "depends_on": lambda: client.trace("order.created").depends_on(bad).record(),
        "decision id": lambda: client.record_many([event(decision=DecisionTrace(id=bad))]),
        "record_many actor": lambda: client.record_many(
            [event(), event(actor=Actor(id=bad, type="user"))]
        ),
        "record_many object": lambda: client.record_many(
            [event(), event(objects=[TrackedObject(id=bad, type="order")])]
        ),
        "from_dict": lambda: client.record_many(
            [
                event(),
                TraceEvent.from_dict(
                    {**event().to_dict(), "data": {**event().to_dict()["data"], "tags": [bad]}}
                ),
            ]
        ),
    }


WRITERS = list(_writers("x"))


@pytest.mark.parametrize("bad", ["evil\nactor", "ord\n1", "actor\r\n", "a\tb", "a\x1fb", "a\x7f"])
@pytest.mark.parametrize("writer", WRITERS)
def test_every_write_path_refuses_control_characters_in_ids(writer, bad):
    """Builder, value objects, record_many and from_dict refuse the id; nothing is written."""
    with pytest.raises(TraceValidationError, match="control characters"):
        _writers(bad)[writer]()
    assert EventRecord.objects.count() == 0
    assert ActorRecord.objects.count() == 0
    assert TrackedObjectRecord.objects.count() == 0


@pytest.mark.parametrize("bad", SURROGATES)
@pytest.mark.parametrize("writer", ["by_user", "affecting_order", "with_tags", "record_many actor"])
def test_write_paths_refuse_lone_surrogates_in_ids(writer, bad):
    """A lone surrogate in an id is a clear error, not an encoding crash in the driver."""
    with pytest.raises(TraceValidationError, match="lone surrogate"):
        _writers(bad)[writer]()
    assert EventRecord.objects.count() == 0


@pytest.mark.parametrize("bad", SURROGATES)
def test_free_text_with_lone_surrogates_is_refused(bad):
    """Descriptions, reasons and JSON data: the same refusal, nothing written."""
    client = DecisionTraceClient()
    for builder in (
        lambda: client.trace("order.created", bad),
        lambda: client.trace("order.created").because(bad),
        lambda: client.trace("order.created").with_data(note=bad),
        lambda: client.trace("order.created").with_data(**{bad: 1}),
    ):
        with pytest.raises(TraceValidationError, match="lone surrogate"):
            builder().record()
    assert EventRecord.objects.count() == 0


def test_free_text_keeps_newlines_and_tabs():
    """Only ids are single-line: a description or reason may have several lines."""
    event_id = (
        DecisionTraceClient()
        .trace("order.created", "line one\nline two\ttabbed")
        .by_user("u-1", "Ann")
        .because("first\r\nsecond")
        .record()
    )
    assert EventRecord.objects.get(pk=event_id).description == "line one\nline two\ttabbed"


@pytest.mark.parametrize("value", [1e300, 1e20, 366 * 86400 + 1, math.inf, math.nan, -1])
def test_absurd_durations_are_refused(value):
    """Over a year (or not a number) is a unit mistake that would overflow time arithmetic."""
    with pytest.raises(TraceValidationError, match="duration"):
        TraceBuilder("order.created").with_duration(value)


# 2. Times: range and offset of every time accepted


@pytest.mark.parametrize("value", BAD_TIMES, ids=str)
def test_aware_refuses_edge_times_and_offsets(value):
    """The edges of the range (with any offset) and offsets beyond ±14:00 are refused."""
    with pytest.raises(TraceValidationError) as info:
        aware("since", value)
    assert str(info.value) in (
        TIME_OUT_OF_RANGE.format(field="since", got=value.isoformat()),
        OFFSET_OUT_OF_RANGE.format(field="since", got=value.isoformat()),
    )


@pytest.mark.parametrize("value", GOOD_TIMES, ids=str)
def test_aware_accepts_the_range_and_real_offsets(value):
    """A day inside each edge, +14:00 and -12:00 are fine, returned in UTC."""
    assert aware("since", value).utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", BAD_TIMES, ids=str)
def test_at_refuses_edge_times_and_nothing_is_written(value):
    """``.at()`` (and the value objects) take the same rule."""
    with pytest.raises(TraceValidationError):
        DecisionTraceClient().trace("order.created").at(value).record()
    assert EventRecord.objects.count() == 0


@pytest.mark.parametrize("value", GOOD_TIMES, ids=str)
def test_events_at_the_edges_of_the_range_are_stored_and_shown(admin_client, value):
    """An event a day inside either edge is stored and its pages render."""
    event_id = DecisionTraceClient().trace("order.created").by_user("u-1", "Ann").at(value)
    event_id = event_id.affecting_order("ord-1").record()
    for url in (
        reverse("traces:event_detail", args=[event_id]),
        reverse("traces:timeline"),
        reverse("traces:object_history", args=["order", "ord-1"]),
        reverse("traces:actor_detail", args=["user", "u-1"]),
        reverse("home") + "?period=30d",
    ):
        assert admin_client.get(url).status_code == 200, url


@pytest.mark.parametrize("text", BAD_TIME_TEXT)
@pytest.mark.parametrize("name", ["since", "until"])
def test_timeline_time_filters_answer_400(admin_client, name, text):
    """A time filter at the edges, with a 16 h+ or malformed offset: the form again, 400."""
    EventRecordFactory()
    response = admin_client.get(reverse("traces:timeline"), {name: text})
    assert response.status_code == 400
    assert b'class="errorlist' in response.content or b"field-error" in response.content


@pytest.mark.parametrize("text", ["2024-05-01T00:00\x00", "2024-05-01T00:00\n", "\x00", "\x7f"])
def test_timeline_time_filters_with_control_characters_never_fail(admin_client, text):
    """Trailing NUL or newline: read as the time or refused, never a 500."""
    EventRecordFactory()
    for name in ("since", "until"):
        assert admin_client.get(reverse("traces:timeline"), {name: text}).status_code in (200, 400)


@pytest.mark.parametrize("cursor", FORGED_CURSORS)
@pytest.mark.parametrize(
    "url",
    [
        "/traces/",
        "/traces/?actor=u-1",
        "/traces/objects/order/ord-1/",
        "/traces/decisions/",
        "/traces/review/",
    ],
)
def test_forged_cursors_answer_400(admin_client, url, cursor):
    """Forged, garbled, base64-garbage and edge-of-range cursors: 400 on every paged list."""
    EventRecordFactory()
    joiner = "&" if "?" in url else "?"
    response = admin_client.get(f"{url}{joiner}cursor={quote(cursor)}")
    assert response.status_code == 400, response.content[:300]


@pytest.mark.parametrize("value", BAD_TIMES, ids=str)
def test_cursor_decode_refuses_edge_times(value):
    """A cursor is a time the UI accepts: the same range and offsets."""
    token = _raw_cursor(f"{value.isoformat()}|{ROW}")
    with pytest.raises(InvalidCursorError):
        Cursor.decode(token)


# 3. NUL and control characters in URL paths


@pytest.mark.parametrize(
    "path",
    [
        "/traces/actors/ai_agent/a%00b/",
        "/traces/objects/order/a%00b/",
        "/traces/actors/ai%00agent/x/",
        "/traces/objects/or%00der/x/",
        "/traces/actors/ai_agent/%00/",
        "/traces/objects/order/%00/",
        "/traces/events/%00/",
        "/traces/decisions/%00/",
        "/traces/actors/ai_agent/a%0Ab/",
        "/traces/actors/ai_agent/%ED%A0%80/",
        "/traces/objects/order%0A/x/",
    ],
)
def test_hostile_paths_answer_404(admin_client, path):
    """NUL, control characters and broken UTF-8 in a path: 404, never a 500."""
    assert admin_client.get(path).status_code == 404


@pytest.mark.parametrize(
    "path", ["/traces/objects/order/a%0D%0A/", "/traces/objects/order/%FF%FE/"]
)
def test_hostile_object_ids_in_paths_show_an_empty_history(admin_client, path):
    """An object nobody recorded has an empty history (200), whatever its id holds."""
    response = admin_client.get(path)
    assert response.status_code == 200
    assert response.context["history"].page.items == []


# 1 (continued). Rows already stored with hostile content: every page still renders


def _hostile_ids() -> list[str]:
    ids = ["evil\nactor", "actor\r\n", "a\tb", "a\x1fb", "a\x7f", "a\x85", "/lead/slash", ".."]
    if connection.vendor == "sqlite":
        ids.append("nul\x00inside")  # PostgreSQL cannot store NUL in text
    return ids


@pytest.fixture
def hostile_rows(admin_user):
    """Rows written around the services, as they may exist from before the checks."""
    events = []
    durations = [1e300, 0.0]
    if connection.vendor == "postgresql":
        durations.append(math.nan)  # SQLite stores NaN as NULL, which the column refuses
    for index, hostile in enumerate(_hostile_ids()):
        actor = ActorRecordFactory(actor_type="ai_agent", actor_id=hostile, name=hostile)
        event = EventRecordFactory(
            actor=actor,
            event_type=f"order.{hostile}",
            description=hostile,
            correlation_id=hostile,
            tags=[hostile],
            requires_approval=True,
            approval_status="pending",
            duration=durations[index % len(durations)],
        )
        EventTagFactory(event=event, tag=hostile)
        TrackedObjectRecordFactory(event=event, object_type="order", object_id=hostile)
        TrackedObjectRecordFactory(event=event, object_type="", object_id=hostile, position=1)
        TrackedObjectRecordFactory(
            event=event, object_type="bad type/x", object_id="ord-1", position=2
        )
        Decision.objects.create(
            target=event, decision_type=f"refund{hostile}", reason=hostile, outcome="pending"
        )
        events.append(event)
    odd_actor = ActorRecordFactory(actor_type="", actor_id="no-type")
    events.append(EventRecordFactory(actor=odd_actor, actor_type=""))
    for when in (datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)):
        parent = EventRecordFactory(effective_at=when, duration=1e300)
        events.append(EventRecordFactory(effective_at=when, parent=parent))
    return events


def test_hostile_rows_never_break_a_page(admin_client, hostile_rows):
    """Dashboard, timeline, search, event, actor, object, decision and admin pages all render."""
    urls = [
        reverse("home"),
        reverse("home") + "?period=30d",
        reverse("traces:timeline"),
        reverse("traces:timeline") + "?q=evil",
        reverse("traces:timeline") + "?approval=pending",
        reverse("traces:decision_list"),
        reverse("traces:review_queue"),
        reverse("admin:traces_eventrecord_changelist"),
        reverse("admin:traces_actorrecord_changelist"),
        reverse("admin:decisioning_decision_changelist"),
    ]
    for event in hostile_rows:
        urls.append(reverse("traces:event_detail", args=[event.pk]))
        urls.append(reverse("admin:traces_eventrecord_change", args=[event.pk]))
        actor = event.actor
        if actor.actor_type and "\x00" not in actor.actor_id:
            urls.append(reverse("traces:actor_detail", args=[actor.actor_type, actor.actor_id]))
    for obj in TrackedObjectRecord.objects.filter(object_type="order"):
        if "\x00" not in obj.object_id:
            urls.append(reverse("traces:object_history", args=["order", obj.object_id]))
    for decision in Decision.objects.all():
        urls.append(reverse("traces:decision_detail", args=[decision.pk]))
    for url in urls:
        for headers in ({}, {"HX-Request": "true"}):
            response = admin_client.get(url, headers=headers)
            assert response.status_code == 200, (url, headers, response.status_code)


def test_hostile_ids_stored_earlier_still_link_to_their_pages(admin_client, hostile_rows):
    """An id with a newline gets a working, escaped link (%0A), not a missing page."""
    html = admin_client.get(reverse("traces:timeline")).content.decode()
    assert "/traces/actors/ai_agent/evil%0Aactor/" in html
    page = admin_client.get("/traces/actors/ai_agent/evil%0Aactor/")
    assert page.status_code == 200
    assert page.context["actor"].actor_id == "evil\nactor"


def test_hostile_rows_content_type_link_in_admin(admin_client, hostile_rows):
    """The admin's "view on site" shortcut with a hostile target id answers without a 500."""
    content_type = ContentType.objects.get_for_model(EventRecord)
    response = admin_client.get(f"/admin/r/{content_type.pk}/{hostile_rows[0].pk}/")
    assert response.status_code in (302, 404)
