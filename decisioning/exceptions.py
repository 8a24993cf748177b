"""Errors raised by ``decisioning``; every one is a ``DecisioningError``.

The spec's four classes keep their attributes and messages. The others each
name one failure and what to do about it; their messages are the module
constants below, which the tests reuse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import FieldError

__all__ = [
    "ClaimLostError",
    "DecisioningError",
    "DuplicateOperationError",
    "IdempotencyError",
    "InvalidIdempotencyKeyError",
    "InvalidTargetError",
    "InvalidTimeError",
    "OperationInFlightError",
    "RecordedAtReadOnlyError",
    "ResultNotStorableError",
]

KEY_MISSING = "Cannot generate idempotency key - provide key_func or positional arg"
KEY_NOT_STRING = "The idempotency key must be a str; key_func returned {type_name}."
KEY_EMPTY = "The idempotency key must not be empty or blank."
KEY_TOO_LONG = "The idempotency key is {length} characters long; the limit is {limit}."
KEY_HAS_NUL = "The idempotency key must not contain NUL characters."
CLAIM_LOST = (
    "Operation with key '{key}' was taken over by another caller after its stale "
    "timeout; this attempt's database writes were rolled back. Raise stale_after "
    "above the operation's longest run time."
)
CLAIM_CONTENDED = "Operation with key '{key}' was claimed and removed concurrently; retry."
RESULT_NOT_STORABLE = (
    "The result of type {type_name} cannot be stored for replay: return JSON data, "
    "Decimal, datetime, date, time, timedelta, UUID, a dataclass, a saved model "
    "instance, or a list, tuple or str-keyed dict of these."
)
RESULT_UNSAVED_INSTANCE = (
    "The result is an unsaved {label} instance (no primary key); save it before returning it."
)
RESULT_DICT_KEY = "Result dict keys must be str to replay unchanged; got a {type_name} key."
RESULT_TOO_DEEP = "The result is nested more than {limit} levels deep."
NOT_A_DATETIME = "{name} must be a datetime; got {type_name}."
NAIVE_DATETIME = "{name} must be timezone-aware (use django.utils.timezone.now())."
RANGE_END_NOT_AFTER_START = "end must be later than start (the range is [start, end))."
RECORDED_AT_READ_ONLY = (
    "recorded_at is the system's time of recording and cannot be updated; "
    "change effective_at to move an event in business time."
)
PK_EMPTY = "A primary key value is required."
TARGET_NOT_A_MODEL = "get_target_ref() needs a model instance; got {type_name}."
TARGET_UNSAVED = "get_target_ref() needs a saved instance; this {label} has no primary key."
BAD_TIMEDELTA = "{name} must be a positive datetime.timedelta; got {value!r}."
BAD_OPTIONAL_TIMEDELTA = "{name} must be a positive datetime.timedelta or None; got {value!r}."


class DecisioningError(Exception):
    """Base exception for decisioning errors."""


class IdempotencyError(DecisioningError):
    """Base exception for idempotency errors."""


class OperationInFlightError(IdempotencyError):
    """Raised when an operation with the same key is already in progress."""

    def __init__(self, key: str, started_at: datetime | None) -> None:
        self.key = key
        self.started_at = started_at
        super().__init__(
            f"Operation with key '{key}' is already in flight (started at {started_at})"
        )


class DuplicateOperationError(IdempotencyError):
    """Raised when an operation with the same key was already completed."""

    def __init__(self, key: str, completed_at: datetime | None, result: Any) -> None:
        self.key = key
        self.completed_at = completed_at
        self.result = result
        super().__init__(f"Operation with key '{key}' already completed at {completed_at}")


class InvalidIdempotencyKeyError(IdempotencyError, ValueError):
    """The key is missing, not a str, blank, too long or contains NUL; nothing was written."""


class ClaimLostError(IdempotencyError):
    """A stale-timeout takeover happened while this attempt ran; its writes were rolled back."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(CLAIM_LOST.format(key=key))


class ResultNotStorableError(IdempotencyError, TypeError):
    """The function's result cannot be stored for replay; its writes were rolled back."""


class InvalidTimeError(DecisioningError, ValueError):
    """A temporal query got something other than an aware datetime, or an empty range."""


class RecordedAtReadOnlyError(DecisioningError, FieldError):
    """``QuerySet.update()`` was asked to change ``recorded_at``."""


class InvalidTargetError(DecisioningError, ValueError):
    """``get_target_ref()`` got something that is not a saved model instance."""
