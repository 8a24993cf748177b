"""The error of a file or payload in one of the open formats."""

from __future__ import annotations

from decision_trace.exceptions import TraceValidationError

__all__ = ["NOT_JSON_TEXT", "FormatError"]

NOT_JSON_TEXT = "The file is not JSON text: {reason}."


class FormatError(TraceValidationError):
    """A file or payload cannot be read; ``location`` says where (``buckets.x.events[3]``).

    Nothing was written when it is raised.
    """

    def __init__(self, message: str, location: str = "") -> None:
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)
