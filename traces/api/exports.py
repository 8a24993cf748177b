"""``?format=csv|jsonl`` on the API's lists: the whole filtered list as a file.

``GET /api/v1/events``, ``/search``, ``/objects/{type}/{id}/history`` and
``/decisions`` answer with JSON pages by default (``format`` absent or
``json``); with ``format=csv`` or ``format=jsonl`` they stream every matching
event (or decision) instead (``limit`` and ``cursor`` do not apply), the same
files as the pages' downloads (``traces.formats.exports``). Any other value is
a 400.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse

from traces.api.errors import ApiError
from traces.formats.exports import CONTENT_TYPES, FORMATS, ExportFormat

__all__ = ["FILE_RESPONSES", "FORMAT_PARAMETER", "export_format_of", "file_response"]

FORMAT_PARAMETER: dict[str, Any] = {
    "name": "format",
    "in": "query",
    "required": False,
    "description": "json (pages, the default), or csv / jsonl: every matching event as a file.",
    "schema": {"type": "string", "enum": ["json", *FORMATS]},
}
FILE_RESPONSES: dict[int, Any] = {
    200: {
        "content": {
            content_type.split(";")[0]: {"schema": {"type": "string"}}
            for content_type in CONTENT_TYPES.values()
        }
    }
}


def export_format_of(request: HttpRequest) -> ExportFormat | None:
    """The file format asked for, ``None`` for JSON pages; 400 for anything else."""
    raw = request.GET.get("format")
    if raw is None or raw in ("", "json"):
        return None
    for name in FORMATS:
        if raw == name:
            return name
    raise ApiError(
        400,
        "bad_parameter",
        f"format must be json, {', '.join(FORMATS)}; got {raw[:40]!r}.",
        [{"field": "format", "message": "json, csv or jsonl."}],
    )


def file_response(
    chunks: Iterator[str], export_format: ExportFormat, name: str
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[export_format])
    response["Content-Disposition"] = f'attachment; filename="{name}.{export_format}"'
    return response
