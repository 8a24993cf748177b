"""URL converters of the trace pages."""

from __future__ import annotations

__all__ = ["RecordIdConverter"]


class RecordIdConverter:
    """An actor or object id in a URL path: any text but NUL, slashes included.

    Wider than Django's ``path`` converter (which stops at a newline) so that a
    row stored before ids were refused control characters still has a page
    and a link; NUL is left out because neither database can hold it (a path
    with one is a 404, never a query).
    """

    regex = "[^\\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
