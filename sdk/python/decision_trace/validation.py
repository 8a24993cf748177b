"""Checks and normalisers shared by the value objects, the builder, the services and queries.

Pure Python (no database, no settings), so the value objects validate at
construction time and the builder rejects bad input at the call that passed it.
Every failure is a ``TraceValidationError`` whose message says what to pass.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, TypeVar

from decision_trace.exceptions import (
    BAD_CHOICE,
    BAD_CONFIDENCE,
    BAD_DATETIME,
    BAD_DURATION,
    BAD_EVENT_ID,
    BAD_IP,
    EMPTY_TEXT,
    NOT_A_BOOL,
    NOT_A_LIST,
    NOT_A_MAPPING,
    NOT_JSON,
    NOT_TEXT,
    NUL_IN_TEXT,
    TOO_LONG,
    TraceValidationError,
)

__all__ = [
    "DECISION_ID_LENGTH",
    "EMAIL_LENGTH",
    "ID_LENGTH",
    "MAX_JSON_CHARS",
    "MAX_OFFSET",
    "MAX_TEXT_LENGTH",
    "NAME_LENGTH",
    "ROLE_LENGTH",
    "TAG_LENGTH",
    "TYPE_LENGTH",
    "VERSION_LENGTH",
    "TraceJSONEncoder",
    "aware",
    "check_bool",
    "check_choice",
    "check_confidence",
    "check_duration",
    "check_event_id",
    "check_event_type",
    "check_identifier",
    "check_ip",
    "check_json",
    "check_list",
    "check_mapping",
    "check_optional_text",
    "check_text",
    "check_text_list",
    "jsonable",
]

# Column sizes of the storage models (tests/traces/test_validation.py checks they agree).
ID_LENGTH = 255
NAME_LENGTH = 255
TYPE_LENGTH = 100
TAG_LENGTH = 100
DECISION_ID_LENGTH = 64
EMAIL_LENGTH = 254
ROLE_LENGTH = 100
VERSION_LENGTH = 100
# Text columns have no size in the database; these bounds keep one event sane.
MAX_TEXT_LENGTH = 100_000
MAX_JSON_CHARS = 1_000_000
# A year: longer is a unit mistake (milliseconds for seconds) and overflows time arithmetic.
MAX_DURATION_SECONDS = 366 * 24 * 3600.0
_MAX_JSON_DEPTH = 64
# query(offset=) exists for the seed's sake; deeper pages use the cursor.
MAX_OFFSET = 10_000

E = TypeVar("E", bound=StrEnum)

# Times: the real UTC offsets, and a day's margin inside Python's datetime range
# so that any time accepted can be converted and shown in any zone.
MAX_UTC_OFFSET = timedelta(hours=14)
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)
OFFSET_OUT_OF_RANGE = "{field} must have a UTC offset from -14:00 to +14:00; got {got}."
TIME_OUT_OF_RANGE = "{field} must be between 0001-01-02 and 9999-12-30 (UTC); got {got}."
# Ids end up in URLs and in single-line displays: no control characters there.
CONTROL_IN_ID = "{field} must not contain control characters (newline, tab, NUL, ...); got {got!r}."
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
BAD_UNICODE = "{field} must be valid Unicode text; it contains a lone surrogate ({got!r})."


def _type_name(value: object) -> str:
    return type(value).__name__


def check_text(
    field: str, value: object, *, max_length: int = MAX_TEXT_LENGTH, required: bool = False
) -> str:
    """A string within ``max_length`` characters without NUL; ``None`` is "" unless required."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise TraceValidationError(NOT_TEXT.format(field=field, got=_type_name(value)))
    if required and not value.strip():
        raise TraceValidationError(EMPTY_TEXT.format(field=field))
    if len(value) > max_length:
        raise TraceValidationError(
            TOO_LONG.format(field=field, max_length=max_length, length=len(value))
        )
    if "\x00" in value:
        raise TraceValidationError(NUL_IN_TEXT.format(field=field))
    _check_unicode(field, value)
    return value


def _check_unicode(field: str, value: str) -> None:
    if not value.isascii():
        bad = _SURROGATE.search(value)
        if bad is not None:
            raise TraceValidationError(BAD_UNICODE.format(field=field, got=bad.group()))


def check_identifier(
    field: str, value: object, *, max_length: int = ID_LENGTH, required: bool = True
) -> str:
    """An id (actor, object, event type, tag, correlation...): text without control characters.

    Like ``check_text``, and refuses every character of Unicode category Cc
    (``\\x00``-``\\x1f``, ``\\x7f``-``\\x9f``: newline, carriage return, tab, NUL, ...).
    """
    text = check_text(field, value, max_length=max_length, required=required)
    if _CONTROL.search(text):
        raise TraceValidationError(CONTROL_IN_ID.format(field=field, got=text[:80]))
    return text


def check_optional_text(
    field: str, value: object, *, max_length: int = MAX_TEXT_LENGTH
) -> str | None:
    """Like ``check_text`` but "" and ``None`` both become ``None`` (absent)."""
    return check_text(field, value, max_length=max_length) or None


def check_choice(field: str, value: object, enum: type[E]) -> E:
    """A member of ``enum`` from itself or its string value."""
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    allowed = ", ".join(repr(member.value) for member in enum)
    raise TraceValidationError(BAD_CHOICE.format(field=field, allowed=allowed, got=value))


def check_bool(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TraceValidationError(NOT_A_BOOL.format(field=field, got=value))
    return value


def check_confidence(value: object) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | Decimal)
        or not math.isfinite(float(value))
        or not 0 <= float(value) <= 1
    ):
        raise TraceValidationError(BAD_CONFIDENCE.format(got=value))
    return float(value)


def check_duration(value: object) -> float:
    """Seconds as a float from a ``timedelta`` or a number; never negative."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TraceValidationError(BAD_DURATION.format(got=value))
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_DURATION_SECONDS:
        raise TraceValidationError(BAD_DURATION.format(got=value))
    return seconds


def aware(field: str, value: object) -> datetime:
    """An aware UTC datetime; a naive one is taken as UTC, never compared naively.

    Refused: an offset beyond ±14:00 (no real zone has one; PostgreSQL refuses
    16 hours and more) and a time outside ``EARLIEST``..``LATEST`` in UTC
    (the edges of the datetime range overflow when converted or shown).
    """
    if not isinstance(value, datetime):
        raise TraceValidationError(BAD_DATETIME.format(field=field, got=value))
    offset = None if value.tzinfo is None else value.tzinfo.utcoffset(value)
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise TraceValidationError(OFFSET_OUT_OF_RANGE.format(field=field, got=value.isoformat()))
    try:
        moment = value.replace(tzinfo=UTC) if offset is None else value.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not EARLIEST <= moment <= LATEST:
        raise TraceValidationError(TIME_OUT_OF_RANGE.format(field=field, got=value.isoformat()))
    return moment


def check_event_id(field: str, value: object) -> str:
    """The canonical text of an event id (a UUID, given as ``str`` or ``uuid.UUID``)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str) and len(value) <= 64:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    shown = value if not isinstance(value, str) else value[:80]
    raise TraceValidationError(BAD_EVENT_ID.format(field=field, got=shown))


def check_event_type(value: object) -> str:
    """A dotted event type such as ``order.created``: required, at most 100 characters, no ``*``."""
    event_type = check_identifier("event_type", value, max_length=TYPE_LENGTH)
    if "*" in event_type:
        raise TraceValidationError(
            f"event_type must not contain '*' (it is the query wildcard); got {event_type!r}."
        )
    return event_type


def check_ip(value: object) -> str | None:
    """A valid IP address in Django's stored form, or ``None``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 45:
        raise TraceValidationError(BAD_IP.format(got=value))
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError as exc:
        raise TraceValidationError(BAD_IP.format(got=value)) from exc
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # Stored as Django's GenericIPAddressField stores it: the IPv4 part dotted.
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def check_mapping(field: str, value: object) -> dict[str, Any]:
    """A dict of JSON-storable values (``None`` is an empty dict)."""
    if value is None or (type(value) is dict and not value):
        return {}
    if not isinstance(value, Mapping):
        raise TraceValidationError(NOT_A_MAPPING.format(field=field, got=_type_name(value)))
    plain: dict[str, Any] = check_json(field, value)
    return plain


def check_list(field: str, value: object) -> list[Any]:
    """A list of JSON-storable values (``None`` is an empty list)."""
    if value is None or (type(value) is list and not value):
        return []
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise TraceValidationError(NOT_A_LIST.format(field=field, got=_type_name(value)))
    plain: list[Any] = check_json(field, list(value))
    return plain


def check_text_list(field: str, values: object, *, max_length: int) -> tuple[str, ...]:
    """Non-empty ids (``check_identifier``), duplicates dropped, first occurrence kept."""
    if values is None:
        return ()
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise TraceValidationError(NOT_A_LIST.format(field=field, got=_type_name(values)))
    seen: dict[str, None] = {}
    for value in values:
        seen[check_identifier(field, value, max_length=max_length)] = None
    return tuple(seen)


def jsonable(value: Any, field: str = "data", _depth: int = 0) -> Any:
    """The plain-JSON form of ``value``: what is stored and what comes back.

    ``Decimal`` becomes its exact text, datetimes ISO 8601 (naive as UTC),
    ``UUID`` text, ``timedelta`` seconds, enums their value, tuples and sets
    lists. Anything else is refused with a message naming the type.
    """
    if _depth > _MAX_JSON_DEPTH:
        raise TraceValidationError(
            NOT_JSON.format(field=field, reason="it is nested too deeply (or contains itself)")
        )
    kind = type(value)
    # The types JSON itself decodes to first, by exact type (subclasses such as
    # StrEnum go through the checks below).
    if kind is str:
        if "\x00" in value:
            raise TraceValidationError(NUL_IN_TEXT.format(field=field))
        _check_unicode(field, value)
        return value
    if kind is dict and all(type(key) is str for key in value):
        return {
            jsonable(key, field, _depth + 1): jsonable(item, field, _depth + 1)
            for key, item in value.items()
        }
    if kind is list:
        return [jsonable(item, field, _depth + 1) for item in value]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        if "\x00" in value:
            raise TraceValidationError(NUL_IN_TEXT.format(field=field))
        _check_unicode(field, value)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TraceValidationError(
                NOT_JSON.format(field=field, reason=f"{value!r} is not a JSON number")
            )
        return value
    if isinstance(value, Enum):
        return jsonable(value.value, field, _depth + 1)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TraceValidationError(
                NOT_JSON.format(field=field, reason=f"Decimal {value} is not a JSON number")
            )
        return str(value)
    if isinstance(value, datetime):
        return aware(field, value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise TraceValidationError(
                    NOT_JSON.format(
                        field=field, reason=f"a key of type {_type_name(key)} is not text"
                    )
                )
            text_key = key if isinstance(key, str) else json.dumps(key)
            result[jsonable(text_key, field, _depth + 1)] = jsonable(item, field, _depth + 1)
        return result
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item, field, _depth + 1) for item in value]
    raise TraceValidationError(
        NOT_JSON.format(
            field=field,
            reason=f"a value of type {_type_name(value)} is not JSON; pass str(value) or a dict",
        )
    )


def check_json(field: str, value: Any) -> Any:
    """``jsonable(value)``, refused when its JSON text would exceed ``MAX_JSON_CHARS``."""
    plain = jsonable(value, field)
    if isinstance(plain, dict | list) and plain:
        size = len(json.dumps(plain, ensure_ascii=False, separators=(",", ":")))
        if size > MAX_JSON_CHARS:
            raise TraceValidationError(
                NOT_JSON.format(
                    field=field,
                    reason=f"it is {size} characters as JSON; at most {MAX_JSON_CHARS} fit",
                )
            )
    return plain


class TraceJSONEncoder(json.JSONEncoder):
    """The project's JSON encoder: ``Decimal``, datetimes, ``UUID``, enums, sets as ``jsonable``."""

    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal | datetime | date | time | timedelta | uuid.UUID | Enum):
            return jsonable(o)
        if isinstance(o, set | frozenset):
            return jsonable(o)
        return super().default(o)
