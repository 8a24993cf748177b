"""CSV and JSON Lines exports for people: events and decisions, streamed a page at a time.

Each export is a generator of text chunks over keyset pages of a QuerySet (500
rows a page on ``(effective_at, id)``), so memory stays flat however many rows
there are, and each page costs the same few queries. A view hands the generator
to ``StreamingHttpResponse``.

CSV is for spreadsheets: a text cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return is prefixed with ``'`` so that no spreadsheet runs
it as a formula (OWASP's CSV injection advice); the file starts with a UTF-8
byte order mark, which spreadsheet programs read as "this is UTF-8". JSON Lines
is for programs: one JSON object per line, values unchanged.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, get_args

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from decisioning.models import Decision
from traces.mapping import EVENT_VALUES, event_from_values
from traces.models import EventRecord
from traces.pagination import MAX_PAGE_SIZE, keyset_page
from traces.selectors import tracked_object_values
from traces.validation import TraceJSONEncoder

__all__ = [
    "CONTENT_TYPES",
    "DECISION_COLUMNS",
    "EVENT_COLUMNS",
    "FORMATS",
    "Column",
    "ExportFormat",
    "decision_export",
    "event_export",
    "keyset_pages",
    "spreadsheet_safe",
]

ExportFormat = Literal["csv", "jsonl"]
FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)
CONTENT_TYPES: dict[ExportFormat, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_BOM = "\ufeff"

R = TypeVar("R")
_DECISION_VALUES = (
    "id",
    "decision_type",
    "outcome",
    "reason",
    "decided_at",
    "effective_at",
    "target_id",
)


def spreadsheet_safe(text: str) -> str:
    """``text`` with a ``'`` in front when a spreadsheet would take it for a formula."""
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


@dataclass(frozen=True)
class Column(Generic[R]):
    """One CSV column: its header and how a row gives its value."""

    name: str
    value: Callable[[R], object]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, dict | list):
        return spreadsheet_safe(json.dumps(value, cls=TraceJSONEncoder, ensure_ascii=False))
    return spreadsheet_safe(str(value))


_Row = dict[str, Any]


def _objects(row: _Row) -> str:
    return "; ".join(f"{o['object_type']}:{o['object_id']}" for o in row["objects"])


def _field(name: str) -> Callable[[_Row], object]:
    return lambda row: row[name]


# Events are read as values() rows (``EVENT_VALUES`` plus a few columns) with their
# objects: plain dicts, which the garbage collector need not chase (model rows with
# prefetched objects reference each other, and pages of them would pile up
# between collections).
EVENT_COLUMNS: tuple[Column[_Row], ...] = (
    Column("id", _field("id")),
    Column("effective_at", _field("effective_at")),
    Column("recorded_at", _field("recorded_at")),
    Column("duration", _field("duration")),
    Column("event_type", _field("event_type")),
    Column("description", _field("description")),
    Column("actor_type", _field("actor_type")),
    Column("actor_id", _field("actor__actor_id")),
    Column("actor_name", _field("actor__name")),
    Column("outcome", _field("outcome")),
    Column("error", _field("error")),
    Column("reasoning", _field("reasoning")),
    Column("confidence", _field("confidence")),
    Column("risk_level", _field("risk_level")),
    Column("requires_approval", _field("requires_approval")),
    Column("approval_status", _field("approval_status")),
    Column("objects", _objects),
    Column("tags", lambda row: "; ".join(row["tags"] or ())),
    Column("parent_id", _field("parent_id")),
    Column("correlation_id", _field("correlation_id")),
    Column("source_system", _field("source_system")),
)
_EXTRA_EVENT_VALUES = ("recorded_at", "approval_status", "actor_type")

DECISION_COLUMNS: tuple[Column[_Row], ...] = (
    Column("id", _field("id")),
    Column("decision_type", _field("decision_type")),
    Column("status", _field("outcome")),
    Column("proposed_at", _field("effective_at")),
    Column("decided_by", _field("decided_by")),
    Column("decided_at", _field("decided_at")),
    Column("reason", _field("reason")),
    Column("target_event_id", _field("target_id")),
)


def keyset_pages(
    queryset: QuerySet[Any, R], *, newest_first: bool, page_size: int = MAX_PAGE_SIZE
) -> Iterator[list[R]]:
    """The rows of ``queryset`` in ``(effective_at, id)`` order, a keyset page at a time."""
    cursor = None
    while True:
        page = keyset_page(queryset, cursor=cursor, limit=page_size, newest_first=newest_first)
        yield page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _event_rows(queryset: QuerySet[EventRecord, Any], *, newest_first: bool) -> Iterator[_Row]:
    values = queryset.values(*EVENT_VALUES, *_EXTRA_EVENT_VALUES)
    for page in keyset_pages(values, newest_first=newest_first):
        objects = tracked_object_values([row["id"] for row in page], using=queryset.db)
        for row in page:
            row["objects"] = objects[row["id"]]
            yield row


def _decision_rows(queryset: QuerySet[Decision], *, newest_first: bool) -> Iterator[_Row]:
    username = f"decided_by__{get_user_model().USERNAME_FIELD}"
    values = queryset.values(*_DECISION_VALUES, username)
    for page in keyset_pages(values, newest_first=newest_first):
        for row in page:
            row["decided_by"] = row.pop(username)
            yield row


class _Line:
    """A file-like object whose ``write`` returns what it was given: csv.writer's line."""

    def write(self, text: str) -> str:
        return text


def _csv(rows: Iterable[_Row], columns: tuple[Column[_Row], ...]) -> Iterator[str]:
    writer = csv.writer(_Line())
    header: str = writer.writerow([column.name for column in columns])
    yield _BOM + header
    for row in rows:
        line: str = writer.writerow([_text(column.value(row)) for column in columns])
        yield line


def _jsonl(rows: Iterable[_Row], shape: Callable[[_Row], dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(shape(row), cls=TraceJSONEncoder) + "\n"


def _event_dict(row: _Row) -> dict[str, Any]:
    return {
        **event_from_values(row, row["objects"]).to_dict(),
        "recorded_at": row["recorded_at"].isoformat(),
        "approval_status": row["approval_status"] or None,
    }


def _decision_dict(row: _Row) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "decision_type": row["decision_type"],
        "status": row["outcome"],
        "reason": row["reason"],
        "decided_by": row["decided_by"],
        "decided_at": row["decided_at"].isoformat() if row["decided_at"] else None,
        "proposed_at": row["effective_at"].isoformat(),
        "target_event_id": row["target_id"],
    }


def event_export(
    queryset: QuerySet[EventRecord, Any],
    *,
    export_format: ExportFormat,
    newest_first: bool = True,
) -> Iterator[str]:
    """The events of ``queryset`` as CSV (``EVENT_COLUMNS``) or JSON Lines, chunk by chunk.

    A JSON line is ``TraceEvent.to_dict()`` plus ``recorded_at`` and ``approval_status``.
    """
    rows = _event_rows(queryset, newest_first=newest_first)
    if export_format == "csv":
        return _csv(rows, EVENT_COLUMNS)
    return _jsonl(rows, _event_dict)


def decision_export(
    queryset: QuerySet[Decision], *, export_format: ExportFormat, newest_first: bool = False
) -> Iterator[str]:
    """The decisions of ``queryset`` as CSV (``DECISION_COLUMNS``) or JSON Lines, oldest first."""
    rows = _decision_rows(queryset, newest_first=newest_first)
    if export_format == "csv":
        return _csv(rows, DECISION_COLUMNS)
    return _jsonl(rows, _decision_dict)
