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

from decision_trace.validation import TraceJSONEncoder
from decisioning.models import Decision
from traces.mapping import EVENT_VALUES, event_from_values
from traces.models import EventRecord, TrackedObjectRecord
from traces.pagination import MAX_PAGE_SIZE, keyset_page
from traces.selectors import tracked_object_values

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
    return "; ".join(row["objects"])


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
# CSV reads only its columns: decoding the JSON columns it does not show would
# cost more than the rest of the row.
_CSV_EVENT_VALUES = (
    "id",
    "effective_at",
    "recorded_at",
    "duration",
    "event_type",
    "description",
    "actor_type",
    "actor__actor_id",
    "actor__name",
    "outcome",
    "error",
    "reasoning",
    "confidence",
    "risk_level",
    "requires_approval",
    "approval_status",
    "tags",
    "parent_id",
    "correlation_id",
    "source_system",
)

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


def _object_labels(event_ids: list[Any], db: str) -> dict[Any, list[str]]:
    labels: dict[Any, list[str]] = {pk: [] for pk in event_ids}
    rows = (
        TrackedObjectRecord.objects.using(db)
        .filter(event_id__in=event_ids)
        .order_by("event_id", "position")
        .values_list("event_id", "object_type", "object_id")
    )
    for event_id, object_type, object_id in rows:
        labels[event_id].append(f"{object_type}:{object_id}")
    return labels


def _event_pages(
    queryset: QuerySet[EventRecord, Any],
    *,
    newest_first: bool,
    export_format: ExportFormat,
    with_decisions: bool,
) -> Iterator[list[_Row]]:
    """Pages of event rows with their objects: "type:id" labels for CSV, whole rows for JSON.

    Without ``with_decisions`` the approval status and approver are blank: they
    tell how a decision went (the pages' rule, ``can_view_decisions``).
    """
    if export_format == "csv":
        values = queryset.values(*_CSV_EVENT_VALUES)
    else:
        values = queryset.values(*EVENT_VALUES, *_EXTRA_EVENT_VALUES)
    for page in keyset_pages(values, newest_first=newest_first):
        ids = [row["id"] for row in page]
        if export_format == "csv":
            objects: dict[Any, list[Any]] = _object_labels(ids, queryset.db)
        else:
            objects = dict(tracked_object_values(ids, using=queryset.db))
        for row in page:
            row["objects"] = objects[row["id"]]
            if not with_decisions:
                row["approval_status"] = row["approved_by"] = ""
        yield page


def _decision_pages(queryset: QuerySet[Decision], *, newest_first: bool) -> Iterator[list[_Row]]:
    username = f"decided_by__{get_user_model().USERNAME_FIELD}"
    values = queryset.values(*_DECISION_VALUES, username)
    for page in keyset_pages(values, newest_first=newest_first):
        for row in page:
            row["decided_by"] = row.pop(username)
        yield page


class _Line:
    """A file-like object whose ``write`` returns what it was given: csv.writer's line."""

    def write(self, text: str) -> str:
        return text


def _csv(pages: Iterable[list[_Row]], columns: tuple[Column[_Row], ...]) -> Iterator[str]:
    """The header, then one chunk of lines per page."""
    writer = csv.writer(_Line())
    header: str = writer.writerow([column.name for column in columns])
    yield _BOM + header
    for page in pages:
        lines: list[str] = [
            writer.writerow([_text(column.value(row)) for column in columns]) for row in page
        ]
        yield "".join(lines)


def _jsonl(pages: Iterable[list[_Row]], shape: Callable[[_Row], dict[str, Any]]) -> Iterator[str]:
    """One chunk of lines per page."""
    for page in pages:
        yield "".join(json.dumps(shape(row), cls=TraceJSONEncoder) + "\n" for row in page)


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
    with_decisions: bool = True,
) -> Iterator[str]:
    """The events of ``queryset`` as CSV (``EVENT_COLUMNS``) or JSON Lines, chunk by chunk.

    A JSON line is ``TraceEvent.to_dict()`` plus ``recorded_at`` and ``approval_status``.
    Without ``with_decisions`` the approval status and the decision's approver are blank.
    """
    pages = _event_pages(
        queryset,
        newest_first=newest_first,
        export_format=export_format,
        with_decisions=with_decisions,
    )
    if export_format == "csv":
        return _csv(pages, EVENT_COLUMNS)
    return _jsonl(pages, _event_dict)


def decision_export(
    queryset: QuerySet[Decision], *, export_format: ExportFormat, newest_first: bool = False
) -> Iterator[str]:
    """The decisions of ``queryset`` as CSV (``DECISION_COLUMNS``) or JSON Lines, oldest first."""
    pages = _decision_pages(queryset, newest_first=newest_first)
    if export_format == "csv":
        return _csv(pages, DECISION_COLUMNS)
    return _jsonl(pages, _decision_dict)
