"""Errors raised by ``decisioning``; every one is a ``DecisioningError``.

The spec's four classes keep their attributes and messages. The others each
name one failure and what to do about it; their messages are the module
constants below, which the tests reuse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import FieldError, PermissionDenied

__all__ = [
    "ClaimLostError",
    "DecisionAlreadyDecidedError",
    "DecisionDeletedError",
    "DecisionPermissionError",
    "DecisioningError",
    "DuplicateOperationError",
    "IdempotencyError",
    "IdempotencyParametersMismatchError",
    "InvalidActionError",
    "InvalidIdempotencyKeyError",
    "InvalidReasonError",
    "InvalidRequestTokenError",
    "InvalidTargetError",
    "InvalidTimeError",
    "InvalidTransitionError",
    "OperationInFlightError",
    "ReasonRequiredError",
    "ReasonTooLongError",
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
PARAMETERS_MISMATCH = (
    "Operation with key '{key}' was first called with other arguments; an idempotency "
    "key may be reused only for the same call. Use a new key for a different call."
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

# The review workflow (decisioning.transitions, decision_transition).
ACTION_UNKNOWN = (
    "Unknown review action {action!r}; use one of: approve, reject, defer, escalate, reopen."
)
TRANSITION_NOT_ALLOWED = (
    "Cannot {action} a decision that is {from_outcome}; from {from_outcome} you can {allowed}."
)
ALREADY_DECIDED = "Already {what} by {who} at {when}."
ALREADY_DECIDED_BY_SYSTEM = "the system"
REASON_REQUIRED = "A reason is required to {action} a decision."
REASON_TOO_LONG = "The reason is {length} characters long; the limit is {limit}."
REASON_NOT_STRING = "The reason must be a str; got {type_name}."
REASON_HAS_NUL = "The reason must not contain NUL characters."
REQUEST_TOKEN_INVALID = (
    "The request token must be a non-blank str of at most {limit} characters without NUL; "
    "got {type_name} of length {length}."
)
PERMISSION_ANONYMOUS = "Sign in to review decisions."
PERMISSION_INACTIVE = "This account is inactive and cannot review decisions."
PERMISSION_NONE = "You have no permission to review decisions."
PERMISSION_MISSING = "You have no permission to {action} a decision that is {from_outcome}."
DECISION_DELETED = "Decision {decision_id} is deleted; restore it before reviewing it."
DECISION_MISSING = "Decision {decision_id} does not exist; it cannot be reviewed."


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


class IdempotencyParametersMismatchError(IdempotencyError):
    """The key was first used for a call with other arguments; nothing was run or replayed."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(PARAMETERS_MISMATCH.format(key=key))


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


class InvalidActionError(DecisioningError, ValueError):
    """The review action is not one of ``DecisionAction``; nothing was written."""

    def __init__(self, action: object) -> None:
        self.action = action
        super().__init__(ACTION_UNKNOWN.format(action=action))


class InvalidTransitionError(DecisioningError):
    """The state machine does not allow this action from the decision's outcome.

    ``from_outcome`` is where the decision stands, ``to_outcome`` where the
    action would have taken it. Nothing was written. Views answer 409.
    """

    def __init__(
        self,
        message: str,
        *,
        decision_id: object,
        action: str,
        from_outcome: str,
        to_outcome: str,
    ) -> None:
        self.decision_id = decision_id
        self.action = action
        self.from_outcome = from_outcome
        self.to_outcome = to_outcome
        super().__init__(message)


class DecisionAlreadyDecidedError(InvalidTransitionError):
    """Someone else changed the decision first, or it is final (approved or rejected).

    Raised to the loser of a race, and to anyone acting on a stale copy or a
    final decision. ``decided_by`` (a username, or None for the system) and
    ``decided_at`` say who changed it last and when; the message reads
    "Already approved by alice at 2026-11-23 10:15 UTC.". Nothing was written.
    """

    def __init__(
        self,
        message: str,
        *,
        decision_id: object,
        action: str,
        from_outcome: str,
        to_outcome: str,
        decided_by: str | None,
        decided_at: datetime | None,
    ) -> None:
        self.decided_by = decided_by
        self.decided_at = decided_at
        super().__init__(
            message,
            decision_id=decision_id,
            action=action,
            from_outcome=from_outcome,
            to_outcome=to_outcome,
        )


class InvalidReasonError(DecisioningError, ValueError):
    """The reason is not a str or contains NUL; nothing was written."""


class ReasonRequiredError(InvalidReasonError):
    """Reject and escalate need a non-blank reason; nothing was written."""


class ReasonTooLongError(InvalidReasonError):
    """The reason is longer than ``REASON_MAX_LENGTH``; nothing was written."""


class InvalidRequestTokenError(DecisioningError, ValueError):
    """The resubmission token is not a non-blank str that fits; nothing was written."""


class DecisionPermissionError(DecisioningError, PermissionDenied):
    """The user may not take this action (anonymous, inactive or lacking the permission).

    A ``PermissionDenied``, so an unhandled one is a 403. ``permission`` is
    the ``app_label.codename`` that was missing, if one was. Nothing was written.
    """

    def __init__(self, message: str, *, permission: str | None = None) -> None:
        self.permission = permission
        super().__init__(message)


class DecisionDeletedError(DecisioningError):
    """The decision is soft-deleted (or gone, or never saved) and cannot be reviewed."""
