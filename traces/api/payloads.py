"""Request bodies: JSON parsing and event payloads to ``TraceEvent`` objects.

The rules and messages are those of the value objects (``decision_trace.validation``):
this module only adds what JSON over HTTP needs on top of them: field paths
for each problem, unknown keys refused (the value objects ignore them), an
explicit UTC offset on the timestamp, and text that cannot be stored (lone
surrogates; control characters in identifiers).
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest

from traces import Actor, DecisionTrace, TraceEvent, TraceValidationError, TrackedObject
from traces.api.errors import ApiError

__all__ = ["Problem", "event_from_payload", "parse_json", "surrogates_possible", "text_problems"]

Problem = dict[str, Any]

EVENT_KEYS = frozenset({"id", "timestamp", "duration", "data"})
# What GET returns on top of to_dict(); accepted and ignored, as from_dict does.
READ_ONLY_KEYS = frozenset({"recorded_at", "approval"})
DATA_KEYS = frozenset(
    {
        "event_type",
        "description",
        "actor",
        "decision",
        "objects",
        "outcome",
        "outcome_details",
        "error",
        "data",
        "tags",
        "parent_event_id",
        "correlation_id",
        "source_system",
        "source_ip",
    }
)
ACTOR_KEYS = frozenset(f.name for f in dataclasses.fields(Actor))
DECISION_KEYS = frozenset(f.name for f in dataclasses.fields(DecisionTrace))
OBJECT_KEYS = frozenset(f.name for f in dataclasses.fields(TrackedObject))
MISSING_KEY = "Missing field {key!r}."


def _required(cls: type) -> frozenset[str]:
    return frozenset(
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )


REQUIRED = {
    Actor: _required(Actor),
    DecisionTrace: _required(DecisionTrace),
    TrackedObject: _required(TrackedObject),
}
NAIVE_TIMESTAMP = (
    "timestamp must be ISO 8601 text with a UTC offset, "
    "e.g. 2026-12-07T09:30:00+00:00; got {got!r}."
)
BAD_TIMESTAMP = "timestamp must be ISO 8601 text with a UTC offset; got {got!r}."
CONTROL_IN_ID = "{field} must not contain control characters."
LONE_SURROGATE = "Text must be valid Unicode; a lone surrogate (\\ud800-\\udfff) is not."
UNKNOWN_KEY = "Unknown field {key!r}; allowed: {allowed}."
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# How a lone surrogate gets into parsed JSON: a \ud800-\udfff escape, or its
# bytes encoded as UTF-8 (json.loads decodes bytes with "surrogatepass").
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE_BYTES = re.compile(rb"\xed[\xa0-\xbf]")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_json(request: HttpRequest) -> Any:
    """The request body as JSON; 400 ``malformed_json`` when it is not."""
    try:
        return json.loads(request.body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {exc}.") from None


def surrogates_possible(body: bytes) -> bool:
    """Whether JSON text ``body`` can decode to a string holding a lone surrogate.

    False only for UTF-8 text (no NUL among the first bytes, as UTF-16 and
    UTF-32 have) with neither a surrogate escape nor surrogate bytes; then
    ``text_problems`` has nothing to find and is skipped. A false alarm (an
    escaped backslash followed by ``ud800``) only costs the walk.
    """
    return (
        b"\x00" in body[:4]
        or _SURROGATE_ESCAPE.search(body) is not None
        or _SURROGATE_BYTES.search(body) is not None
    )


def text_problems(
    value: Any, path: str = "", problems: list[Problem] | None = None
) -> list[Problem]:
    """Every string (or key) in ``value`` that holds a lone surrogate, with its path."""
    found = [] if problems is None else problems
    if isinstance(value, str):
        if _SURROGATE.search(value):
            found.append({"field": path, "message": LONE_SURROGATE})
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if _SURROGATE.search(key):
                found.append({"field": path, "message": LONE_SURROGATE})
            else:
                text_problems(item, child, found)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            text_problems(item, f"{path}[{position}]", found)
    return found


def _unknown(data: dict[str, Any], allowed: frozenset[str], path: str) -> list[Problem]:
    shown = ", ".join(sorted(allowed))
    return [
        {
            "field": f"{path}.{key}" if path else key,
            "message": UNKNOWN_KEY.format(key=key, allowed=shown),
        }
        for key in data
        if key not in allowed
    ]


def _field_of(message: str, base: str, keys: frozenset[str]) -> str:
    """The field path a value-object message is about: its subject's last word."""
    subject = re.split(r" must | cannot | takes ", message, maxsplit=1)[0].split()
    word = subject[-1] if subject else ""
    word = {"ip": "source_ip"}.get(word, word)
    if word in keys:
        return f"{base}.{word}" if base else word
    return base


def _timestamp(value: Any) -> tuple[datetime | None, list[Problem]]:
    if not isinstance(value, str):
        return None, [{"field": "timestamp", "message": BAD_TIMESTAMP.format(got=value)}]
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None, [{"field": "timestamp", "message": BAD_TIMESTAMP.format(got=value[:80])}]
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None, [{"field": "timestamp", "message": NAIVE_TIMESTAMP.format(got=value[:80])}]
    try:
        return parsed.astimezone(UTC), []
    except OverflowError:
        return None, [{"field": "timestamp", "message": BAD_TIMESTAMP.format(got=value[:80])}]


Part = tuple[type[Actor] | type[DecisionTrace] | type[TrackedObject], Any, str, frozenset[str]]


def _parts(body: dict[str, Any]) -> list[Part]:
    """(class, data, path, keys) of the actor, the decision and each object present."""
    parts: list[Part] = []
    if body.get("actor") is not None:
        parts.append((Actor, body["actor"], "data.actor", ACTOR_KEYS))
    if body.get("decision") is not None:
        parts.append((DecisionTrace, body["decision"], "data.decision", DECISION_KEYS))
    objects = body.get("objects")
    if isinstance(objects, list):
        parts.extend(
            (TrackedObject, obj, f"data.objects[{position}]", OBJECT_KEYS)
            for position, obj in enumerate(objects)
        )
    return parts


def _shape(cls: Any, data: Any, base: str, keys: frozenset[str]) -> list[Problem]:
    if not isinstance(data, dict):
        return [{"field": base, "message": f"{base} must be an object; got {type(data).__name__}."}]
    return _unknown(data, keys, base) + [
        {"field": f"{base}.{key}", "message": MISSING_KEY.format(key=key)}
        for key in sorted(REQUIRED[cls] - set(data))
    ]


def _values(cls: Any, data: Any, base: str, keys: frozenset[str]) -> list[Problem]:
    try:
        cls.from_dict(data)
    except TraceValidationError as exc:
        return [{"field": _field_of(str(exc), base, keys), "message": str(exc)}]
    return []


def _control_problems(event: TraceEvent) -> list[Problem]:
    ids: list[tuple[str, str | None]] = [
        ("data.correlation_id", event.correlation_id),
        ("data.event_type", event.event_type),
    ]
    if event.actor is not None:
        ids.append(("data.actor.id", event.actor.id))
    for position, obj in enumerate(event.objects):
        ids.append((f"data.objects[{position}].id", obj.id))
        ids.append((f"data.objects[{position}].external_id", obj.external_id))
    ids.extend(("data.tags", tag) for tag in event.tags)
    return [
        {"field": field, "message": CONTROL_IN_ID.format(field=field)}
        for field, value in ids
        if value and _CONTROL.search(value)
    ]


def event_from_payload(
    payload: Any, *, surrogates: bool = True
) -> tuple[TraceEvent | None, list[Problem]]:
    """A ``TraceEvent`` from one ``to_dict()``-shaped payload, or every problem found.

    ``surrogates=False`` when the body cannot hold a lone surrogate
    (``surrogates_possible``): its strings are then not walked for one.
    """
    if not isinstance(payload, dict):
        return None, [
            {"field": "", "message": f"An event must be an object; got {type(payload).__name__}."}
        ]
    problems = _unknown(payload, EVENT_KEYS | READ_ONLY_KEYS, "")
    if surrogates:
        problems += text_problems(payload)
    if problems:
        return None, problems
    timestamp, problems = _timestamp(payload.get("timestamp"))
    body = payload.get("data")
    if not isinstance(body, dict):
        problems.append(
            {"field": "data", "message": f"data must be an object; got {type(body).__name__}."}
        )
        return None, problems
    problems += _unknown(body, DATA_KEYS, "data")
    objects = body.get("objects")
    if objects is not None and not isinstance(objects, list):
        problems.append({"field": "data.objects", "message": "data.objects must be a list."})
    parts = _parts(body)
    for part in parts:
        problems += _shape(*part)
    if problems:
        return None, problems
    try:
        event = TraceEvent.from_dict({**payload, "timestamp": timestamp})
    except TraceValidationError as exc:
        # Only now build each part on its own, to say which one (and which field).
        problems = [problem for part in parts for problem in _values(*part)]
        if problems:
            return None, problems
        message = str(exc)
        field = _field_of(message, "data", DATA_KEYS)
        subject = message.split(" must ", 1)[0]
        top = {"event id": "id", "duration": "duration", "timestamp": "timestamp"}.get(subject)
        return None, [{"field": top or field, "message": message}]
    problems = _control_problems(event)
    return (None, problems) if problems else (event, [])
