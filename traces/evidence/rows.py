"""The content of recorded rows as the log hashes it: one canonical dict per row.

An event's content is its row (every column but the ``approval_status``
mirror) with its tracked objects (in position order) and its tags (sorted);
a correction's and a decision transition's are their rows (a transition
without ``by_id``, which Django sets to NULL when the user is deleted;
``by_username`` keeps the name). Both the sealer and ``verify_traces`` read
rows through :func:`row_contents`, so the two hash the same form.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from decision_trace.evidence import content_hash
from decisioning.models import DecisionTransition
from traces.evidence.models import EventCorrection, SealKind
from traces.models import EventRecord, EventTag, TrackedObjectRecord

__all__ = ["RowContent", "row_contents", "row_keys_present"]

# Columns that change after recording and are therefore not content.
_EVENT_MUTABLE = {"approval_status"}
_TRANSITION_MUTABLE = {"by"}


class RowContent:
    """One row's recorded time and content hash."""

    __slots__ = ("content_hash", "recorded_at")

    def __init__(self, recorded_at: datetime, digest: str) -> None:
        self.recorded_at = recorded_at
        self.content_hash = digest


def _columns(model: Any, mutable: set[str]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.name not in mutable]


def _event_contents(keys: list[str], using: str) -> dict[str, RowContent]:
    pks = [uuid.UUID(key) for key in keys]
    objects: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in (
        TrackedObjectRecord.objects.using(using)
        .filter(event_id__in=pks)
        .order_by("event_id", "position", "id")
        .values(*_columns(TrackedObjectRecord, set()))
    ):
        objects.setdefault(row["event_id"], []).append(row)
    tags: dict[uuid.UUID, list[str]] = {}
    for event_id, tag in (
        EventTag.objects.using(using).filter(event_id__in=pks).values_list("event_id", "tag")
    ):
        tags.setdefault(event_id, []).append(tag)
    result = {}
    for row in (
        EventRecord.objects.using(using)
        .filter(pk__in=pks)
        .order_by()
        .values(*_columns(EventRecord, _EVENT_MUTABLE))
    ):
        pk = row["id"]
        content = {
            "event": row,
            "objects": objects.get(pk, []),
            "tags": sorted(tags.get(pk, [])),
        }
        result[str(pk)] = RowContent(row["recorded_at"], content_hash(content))
    return result


def _correction_contents(keys: list[str], using: str) -> dict[str, RowContent]:
    rows = (
        EventCorrection.objects.using(using)
        .filter(pk__in=[int(key) for key in keys])
        .order_by()
        .values(*_columns(EventCorrection, set()))
    )
    return {str(row["id"]): RowContent(row["recorded_at"], content_hash(row)) for row in rows}


def _transition_contents(keys: list[str], using: str) -> dict[str, RowContent]:
    rows = (
        DecisionTransition.objects.using(using)
        .filter(pk__in=[int(key) for key in keys])
        .order_by()
        .values(*_columns(DecisionTransition, _TRANSITION_MUTABLE))
    )
    return {str(row["id"]): RowContent(row["at"], content_hash(row)) for row in rows}


_LOADERS = {
    SealKind.EVENT: _event_contents,
    SealKind.CORRECTION: _correction_contents,
    SealKind.TRANSITION: _transition_contents,
}


def row_contents(kind: str, keys: Iterable[str], *, using: str) -> dict[str, RowContent]:
    """The rows of ``kind`` with these keys that still exist, by key (three queries at most)."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    return _LOADERS[SealKind(kind)](wanted, using)


_MODELS: dict[SealKind, Any] = {
    SealKind.EVENT: EventRecord,
    SealKind.CORRECTION: EventCorrection,
    SealKind.TRANSITION: DecisionTransition,
}


def row_keys_present(kind: str, keys: Iterable[str], *, using: str) -> set[str]:
    """Which of these rows of ``kind`` still exist (one query)."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return set()
    which = SealKind(kind)
    pks: list[uuid.UUID | int] = [
        uuid.UUID(k) if which is SealKind.EVENT else int(k) for k in wanted
    ]
    found = _MODELS[which].objects.using(using).filter(pk__in=pks).values_list("pk", flat=True)
    return {str(pk) for pk in found}
