"""ActivityWatch files in and out: aw-server's export shape.

An aw-server export is ``{"buckets": {bucket_id: {"id", "type", "client",
"hostname", "created", "data", "events": [{"id", "timestamp", "duration",
"data"}, ...]}}}``. aw-core's published ``export.json`` describes ``buckets``
as a list; aw-server writes an object keyed by bucket id, so both are read and
the object is written.

Export: one bucket per (source system, actor type) of the events chosen, each
event being ``TraceEvent.to_dict()`` (itself an ActivityWatch event), newest
first; the bucket's ``created`` is its oldest event's time, so the same events
always give the same file.

Import: buckets written by this export become the events they were; any other
bucket (a watcher's: ``currentwindow``, ``afkstatus``, ``web.tab.current``...)
becomes events of type ``activitywatch.<bucket type>`` by a compute actor per
watcher and host (``aw-watcher-window@laptop``), with the watcher's data as the
event's data and the bucket id as correlation id. Event ids are stable
(the exported id, or a UUID derived from the bucket id and the watcher event's
id or time and data), so importing a file twice adds nothing. The whole file
is checked before anything is written, and written in one transaction.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from graphlib import TopologicalSorter
from typing import Any, TextIO

from django.db import router, transaction
from django.db.models import Count, Min

from decision_trace.exceptions import TraceValidationError
from decision_trace.validation import ID_LENGTH, NAME_LENGTH, TraceJSONEncoder
from decision_trace.values import Actor, TraceEvent
from traces.formats.exceptions import FormatError
from traces.mapping import event_from_record
from traces.models import EventRecord
from traces.pagination import keyset_page
from traces.querysets import EventRecordQuerySet
from traces.services import trace_record_many

__all__ = [
    "BUCKET_TYPE",
    "CLIENT",
    "IMPORTED_EVENT_TYPE_PREFIX",
    "IMPORTED_SOURCE_SYSTEM",
    "ImportResult",
    "activitywatch_export",
    "activitywatch_import",
    "activitywatch_read",
]

CLIENT = "decision-trace"
BUCKET_TYPE = "trace.event"
IMPORTED_SOURCE_SYSTEM = "activitywatch"
IMPORTED_EVENT_TYPE_PREFIX = "activitywatch."
# Event ids of watcher events: uuid5 of "<bucket id>\x1f<event key>" in this namespace.
_NAMESPACE = uuid.UUID("4f0d7c35-5a86-4c35-9a55-9e0f6b0c8a11")
_EXPORT_PAGE = 500
_IMPORT_CHUNK = 1_000
# The watcher data keys that make a readable description, in order.
_DESCRIBING_KEYS = ("app", "title", "status", "url")


@dataclass(frozen=True)
class ImportResult:
    """What an import did: events read from the file, added, and already stored."""

    read: int
    added: int
    skipped: int


# Reading -----------------------------------------------------------------------------


def _mapping(value: object, location: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FormatError(f"expected an object, got {_kind(value)}", location=location)
    return value


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def _text(bucket: Mapping[str, Any], key: str, location: str, *, max_length: int) -> str:
    value = bucket.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FormatError(f"{key!r} must be non-empty text, got {_kind(value)}", location=location)
    if len(value) > max_length:
        raise FormatError(f"{key!r} is longer than {max_length} characters", location=location)
    return value


def _timestamp(value: object, location: str) -> datetime:
    if not isinstance(value, str):
        raise FormatError(f"'timestamp' must be ISO 8601 text, got {_kind(value)}", location)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise FormatError(
            f"'timestamp' is not an ISO 8601 date-time: {value[:40]!r}", location=location
        ) from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise FormatError(
            f"'timestamp' needs a UTC offset (such as +00:00 or Z): {value[:40]!r}",
            location=location,
        )
    try:
        # The year 1 at +01:00 is before the year 1 in UTC: not a time anyone can store.
        when.astimezone(UTC)
    except (OverflowError, ValueError):
        raise FormatError(f"'timestamp' is out of range: {value[:40]!r}", location) from None
    return when


def _duration(value: object, location: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormatError(f"'duration' must be a number, got {_kind(value)}", location=location)
    if not math.isfinite(value) or value < 0:
        raise FormatError(f"'duration' must be seconds >= 0, got {value!r}", location=location)
    return float(value)


def _check_unicode(value: object, location: str) -> None:
    """Refuse a lone surrogate (``"\\ud800"`` parses as JSON but is not text)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise FormatError(
            "contains a lone surrogate (a \\ud800-\\udfff escape), which is not text",
            location=location,
        ) from None


def _buckets(document: object) -> Iterator[tuple[str, Mapping[str, Any]]]:
    top = _mapping(document, "the file")
    if "buckets" not in top:
        raise FormatError("an ActivityWatch export has a 'buckets' key", location="the file")
    buckets = top["buckets"]
    if isinstance(buckets, Mapping):
        for key, bucket in buckets.items():
            location = f"buckets[{key!r}]"
            bucket = _mapping(bucket, location)
            if bucket.get("id", key) != key:
                raise FormatError(
                    f"the bucket's 'id' {bucket.get('id')!r} differs from its key", location
                )
            yield location, bucket
    elif isinstance(buckets, list):
        for index, bucket in enumerate(buckets):
            location = f"buckets[{index}]"
            yield location, _mapping(bucket, location)
    else:
        raise FormatError(f"'buckets' must be an object, got {_kind(buckets)}", "the file")


def _watcher_actor(client: str, hostname: str) -> Actor:
    return Actor.compute(
        f"{client}@{hostname}"[:ID_LENGTH],
        f"{client} on {hostname}"[:NAME_LENGTH],
        service_name=client[:NAME_LENGTH],
        hostname=hostname,
    )


def _describe(data: Mapping[str, Any]) -> str:
    return " · ".join(
        str(data[key]) for key in _DESCRIBING_KEYS if isinstance(data.get(key), str) and data[key]
    )


def _watcher_event_id(bucket_id: str, event: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    raw_id = event.get("id")
    if isinstance(raw_id, int | str) and not isinstance(raw_id, bool) and raw_id != "":
        key = f"id:{raw_id}"
    else:
        # No id (a file written by hand): the time and the data identify the event.
        body = json.dumps(data, sort_keys=True, ensure_ascii=False)
        key = f"at:{event.get('timestamp')}|{event.get('duration')}|{body}"
    return str(uuid.uuid5(_NAMESPACE, f"{bucket_id}\x1f{key}"))


def _bucket_events(location: str, bucket: Mapping[str, Any]) -> Iterator[TraceEvent]:
    bucket_id = _text(bucket, "id", location, max_length=ID_LENGTH)
    bucket_type = _text(bucket, "type", location, max_length=ID_LENGTH)
    client = _text(bucket, "client", location, max_length=ID_LENGTH)
    hostname = _text(bucket, "hostname", location, max_length=ID_LENGTH)
    if "created" in bucket and bucket["created"] is not None:
        _timestamp(bucket["created"], f"{location}.created")
    if not isinstance(bucket.get("data", {}), Mapping):
        raise FormatError(f"'data' must be an object, got {_kind(bucket['data'])}", location)
    events = bucket.get("events", [])
    if not isinstance(events, list):
        raise FormatError(f"'events' must be a list, got {_kind(events)}", location=location)
    ours = client == CLIENT and bucket_type == BUCKET_TYPE
    actor = None if ours else _watcher_actor(client, hostname)
    for index, raw in enumerate(events):
        where = f"{location}.events[{index}]"
        event = _mapping(raw, where)
        _check_unicode(event, where)
        when = _timestamp(event.get("timestamp"), f"{where}.timestamp")
        duration = _duration(event.get("duration"), f"{where}.duration")
        data = _mapping(event.get("data", {}), f"{where}.data")
        try:
            if ours:
                yield TraceEvent.from_dict(event)
            else:
                yield TraceEvent(
                    id=_watcher_event_id(bucket_id, event, data),
                    timestamp=when,
                    duration=duration,
                    event_type=f"{IMPORTED_EVENT_TYPE_PREFIX}{bucket_type}",
                    description=_describe(data),
                    actor=actor,
                    data=dict(data),
                    tags=(IMPORTED_SOURCE_SYSTEM,),
                    correlation_id=bucket_id,
                    source_system=IMPORTED_SOURCE_SYSTEM,
                )
        except TraceValidationError as exc:
            raise FormatError(str(exc), location=where) from exc


def activitywatch_read(document: object) -> list[TraceEvent]:
    """The events of a parsed aw-server export, checked whole before any is returned.

    Identical events given twice (the same id and content) are read once.

    Raises:
        FormatError: the document is not an ActivityWatch export, or an event in
            it is not acceptable; the message says where.
    """
    events: dict[str, TraceEvent] = {}
    for location, bucket in _buckets(document):
        for event in _bucket_events(location, bucket):
            seen = events.get(event.id)
            if seen is not None and seen != event:
                raise FormatError(f"two different events have the id {event.id}", location=location)
            events[event.id] = event
    return list(events.values())


# Importing ---------------------------------------------------------------------------


def _parents_first(events: Sequence[TraceEvent]) -> list[TraceEvent]:
    """Events ordered so that a parent in the file comes before its children (cycles are
    left to ``trace_record_many`` to refuse)."""
    by_id = {event.id: event for event in events}
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for event in events:
        parent = event.parent_event_id
        sorter.add(event.id, *([parent] if parent in by_id else []))
    try:
        return [by_id[event_id] for event_id in sorter.static_order()]
    except ValueError:
        return list(events)


def _stored_ids(ids: Sequence[str], db: str) -> set[str]:
    stored: set[str] = set()
    for start in range(0, len(ids), _IMPORT_CHUNK):
        chunk = [uuid.UUID(i) for i in ids[start : start + _IMPORT_CHUNK]]
        stored.update(
            str(pk)
            for pk in EventRecord.objects.using(db)
            .filter(pk__in=chunk)
            .values_list("pk", flat=True)
        )
    return stored


def activitywatch_import(
    *,
    document: object,
    progress: Callable[[int, int], object] | None = None,
    using: str | None = None,
) -> ImportResult:
    """Store the events of a parsed aw-server export that are not stored yet.

    Everything is read and checked first (``activitywatch_read``), then the new
    events go to ``trace_record_many`` in chunks of 1,000 inside one
    transaction, so an error leaves nothing behind. Events already stored (by
    id) are skipped: importing the same file twice adds nothing.

    Args:
        document: the parsed JSON of the file.
        progress: called after each chunk with (events stored so far, events to store).
        using: database alias; the default database when omitted.

    Raises:
        FormatError: the file is not acceptable; nothing was written.
        TraceValidationError: an event cannot be stored (a parent that exists
            neither in the file nor in the database); nothing was written.
    """
    events = activitywatch_read(document)
    db = using or router.db_for_write(EventRecord)
    stored = _stored_ids([event.id for event in events], db)
    new = _parents_first([event for event in events if event.id not in stored])
    with transaction.atomic(using=db):
        for start in range(0, len(new), _IMPORT_CHUNK):
            chunk = new[start : start + _IMPORT_CHUNK]
            trace_record_many(events=chunk, using=db)
            if progress is not None:
                progress(start + len(chunk), len(new))
    return ImportResult(read=len(events), added=len(new), skipped=len(events) - len(new))


# Exporting ---------------------------------------------------------------------------


def _bucket_id(source_system: str, actor_type: str) -> str:
    return f"{CLIENT}_{source_system or 'unknown'}_{actor_type or 'no-actor'}"


def _dumps(value: object) -> str:
    return json.dumps(value, cls=TraceJSONEncoder)


def _events_newest_first(queryset: EventRecordQuerySet) -> Iterator[TraceEvent]:
    cursor = None
    while True:
        page = keyset_page(queryset.for_display(), cursor=cursor, limit=_EXPORT_PAGE)
        yield from (event_from_record(row) for row in page.items)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def activitywatch_export(
    *, events: EventRecordQuerySet, out: TextIO, hostname: str
) -> dict[str, int]:
    """Write ``events`` to ``out`` as an aw-server export; returns events per bucket id.

    One bucket per (source system, actor type); events are read a page at a
    time, so memory stays flat whatever their number. The same events and
    hostname always give the same text.
    """
    groups = (
        events.order_by()
        .values("source_system", "actor_type")
        .annotate(first=Min("effective_at"), total=Count("id"))
        .order_by("source_system", "actor_type")
    )
    written: dict[str, int] = {}
    out.write('{"buckets": {')
    for number, group in enumerate(groups):
        bucket_id = _bucket_id(group["source_system"], group["actor_type"])
        header = {
            "id": bucket_id,
            "type": BUCKET_TYPE,
            "client": CLIENT,
            "hostname": hostname,
            "created": group["first"].isoformat(),
            "data": {
                "source_system": group["source_system"],
                "actor_type": group["actor_type"] or None,
            },
        }
        out.write(f"{',' if number else ''}\n{_dumps(bucket_id)}: {_dumps(header)[:-1]}")
        out.write(', "events": [')
        members = events.filter(
            source_system=group["source_system"], actor_type=group["actor_type"]
        )
        count = 0
        for count, event in enumerate(_events_newest_first(members), start=1):
            out.write(f"{',' if count > 1 else ''}\n{_dumps(event.to_dict())}")
        out.write("\n]}")
        written[bucket_id] = count
    out.write("\n}}\n")
    return written
