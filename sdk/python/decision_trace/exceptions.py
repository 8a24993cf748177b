"""Errors raised by ``traces``; every one is a ``TracesError``.

Messages are module constants (format strings) so tests can match them; each
says what to pass instead.
"""

from __future__ import annotations

__all__ = [
    "BAD_CHOICE",
    "BAD_CONFIDENCE",
    "BAD_DATETIME",
    "BAD_DURATION",
    "BAD_EVENT_ID",
    "BAD_IP",
    "BAD_OFFSET",
    "CHAIN_TOO_DEEP",
    "DUPLICATE_EVENT",
    "EMPTY_TEXT",
    "INVALID_CURSOR",
    "NOT_A_BOOL",
    "NOT_A_LIST",
    "NOT_A_MAPPING",
    "NOT_JSON",
    "NOT_TEXT",
    "NO_OBJECT_KEY",
    "NO_TRANSPORT",
    "NUL_IN_TEXT",
    "PARENT_NOT_FOUND",
    "QUEUE_FULL",
    "TOO_LONG",
    "UNKNOWN_DECISION_FIELD",
    "UNKNOWN_EVENT_TYPE_PATTERN",
    "WRONG_ITEM",
    "ApiError",
    "ConfigurationError",
    "DecisionClaimedError",
    "DeliveryQueueFullError",
    "InvalidCursorError",
    "TraceValidationError",
    "TracesError",
]

INVALID_CURSOR = "The page cursor is not valid; start again from the first page."
NOT_TEXT = "{field} must be a string; got {got}."
EMPTY_TEXT = "{field} must not be empty."
NUL_IN_TEXT = "{field} must not contain NUL (\\x00) characters."
TOO_LONG = "{field} must be at most {max_length} characters; got {length}."
BAD_CHOICE = "{field} must be one of {allowed}; got {got!r}."
NOT_A_BOOL = "{field} must be True or False; got {got!r}."
NOT_A_MAPPING = "{field} must be a dict; got {got}."
NOT_A_LIST = "{field} must be a list or tuple; got {got}."
BAD_CONFIDENCE = "confidence must be a number from 0 to 1 (e.g. 0.85); got {got!r}."
BAD_DURATION = (
    "duration must be a timedelta or a number of seconds from 0 to a year (31,622,400); "
    "got {got!r}."
)
BAD_DATETIME = "{field} must be a datetime (a naive one is taken as UTC); got {got!r}."
NOT_JSON = "{field} cannot be stored as JSON: {reason}."
BAD_IP = "ip must be an IPv4 or IPv6 address such as '203.0.113.7'; got {got!r}."
BAD_EVENT_ID = "{field} must be an event id (a UUID, as returned by record()); got {got!r}."
PARENT_NOT_FOUND = (
    "child_of({got}): no stored event has that id; record the parent first "
    "(or pass it in the same record_many() batch)."
)
DUPLICATE_EVENT = "An event with id {got} is already stored; events are recorded once."
CHAIN_TOO_DEEP = "A chain may be at most {max_depth} events deep; {got} is too deep."
UNKNOWN_DECISION_FIELD = "because() got unknown keyword(s) {names}; allowed: {allowed}."
NO_OBJECT_KEY = "get_object_history() needs external_id or object_id."
BAD_OFFSET = (
    "offset must be a whole number from 0 to {max_offset}; page further with the cursor instead."
)
UNKNOWN_EVENT_TYPE_PATTERN = "{field} items must be event types or prefixes like 'order.*'."
WRONG_ITEM = "{field} takes {expected}; got {got}."
NO_TRANSPORT = (
    "DecisionTraceClient has no server to talk to: pass base_url= and token=, or set "
    "DECISION_TRACE_URL and DECISION_TRACE_TOKEN."
)
QUEUE_FULL = (
    "The delivery queue is full ({size} events waiting); the event was not queued. "
    "Raise max_queue_size=, call flush(), or record with wait=True."
)


class TracesError(Exception):
    """Base exception for trace errors."""


class TraceValidationError(TracesError, ValueError):
    """Input to a trace (builder method, record, query) is not acceptable; nothing was written."""


class ConfigurationError(TracesError):
    """The client cannot be set up as asked (no server URL, a bad option)."""


class DeliveryQueueFullError(TracesError):
    """Buffered mode: the queue is full, so this event was refused (not silently dropped)."""


class ApiError(TracesError):
    """The server refused a request for a reason other than bad input (401, 403, 404, 409, 5xx).

    ``status`` is the HTTP status (0 when the server could not be reached),
    ``code`` the error code of its answer (``"not_found"``, ``"unauthorized"``).
    """

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class DecisionClaimedError(ApiError):
    """Someone else is reviewing the decision: ``by``, ``since`` and ``expires_at`` of the claim.

    Claim with ``force=True`` to take it over.
    """

    def __init__(
        self, message: str, *, by: str | None, since: str | None, expires_at: str | None
    ) -> None:
        super().__init__(message, status=409, code="decision_claimed")
        self.by = by
        self.since = since
        self.expires_at = expires_at


class InvalidCursorError(TraceValidationError):
    """A keyset cursor could not be decoded (forged, truncated or from another list)."""

    def __init__(self, message: str = INVALID_CURSOR) -> None:
        super().__init__(message)
