"""Errors raised by ``traces``; every one is a ``TracesError``."""

from __future__ import annotations

__all__ = ["InvalidCursorError", "TraceValidationError", "TracesError"]

INVALID_CURSOR = "The page cursor is not valid; start again from the first page."


class TracesError(Exception):
    """Base exception for trace errors."""


class TraceValidationError(TracesError, ValueError):
    """Input to a trace (builder method, record, query) is not acceptable; nothing was written."""


class InvalidCursorError(TraceValidationError):
    """A keyset cursor could not be decoded (forged, truncated or from another list)."""

    def __init__(self, message: str = INVALID_CURSOR) -> None:
        super().__init__(message)
