"""The object history page's read: every event that touched one object, oldest first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from traces.evidence.corrections import corrections_apply
from traces.models import EventRecord, TrackedObjectRecord
from traces.pagination import Page, keyset_page
from traces.selectors import events_visible
from traces.ui.common import PAGE_SIZE
from traces.ui.events import FieldChange, approval_decisions_attach, as_state, state_changes

__all__ = ["HistoryEntry", "ObjectHistory", "object_history_page"]


@dataclass(frozen=True)
class HistoryEntry:
    """An event in an object's history, with that object's state change and what else it touched."""

    event: EventRecord
    obj: TrackedObjectRecord | None
    changes: list[FieldChange]
    others: list[TrackedObjectRecord]


@dataclass(frozen=True)
class ObjectHistory:
    object_type: str
    object_id: str
    name: str
    page: Page[EventRecord]
    entries: list[HistoryEntry] = field(default_factory=list)


def object_history_page(
    *,
    object_type: str,
    object_id: str,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
    known_at: datetime | None = None,
    with_decisions: bool = True,
) -> ObjectHistory:
    """Every event that touched one object (by id or external id), oldest first, one page.

    Each event as its current version; with ``known_at``, only the events and
    corrections recorded by then. ``with_decisions=False``: without the review
    trail's events (``events_visible``).

    Raises:
        InvalidCursorError: ``cursor`` was not produced by this list.
    """
    queryset = events_visible(
        EventRecord.objects.touching([object_id], [object_type]), with_decisions=with_decisions
    )
    if known_at is not None:
        queryset = queryset.recorded_before(known_at)
    page = keyset_page(queryset.for_display(), cursor=cursor, limit=limit, newest_first=False)
    corrections_apply(page.items, known_at=known_at)
    approval_decisions_attach(page.items)
    entries, name = [], ""
    # The object's state as the events so far left it: an event that records only the
    # state after takes its before-values from here, so the history reads as changes.
    known: dict[str, object] = {}
    for event in page.items:
        mine = None
        others = []
        for obj in event.tracked_objects.all():
            matches = obj.object_type == object_type and object_id in (
                obj.object_id,
                obj.external_id,
            )
            if matches and mine is None:
                mine = obj
            else:
                others.append(obj)
        if mine is not None and mine.name and not name:
            name = mine.name
        changes = []
        if mine is not None:
            changes = state_changes(mine.state_before, mine.state_after, known=known)
            known = {**known, **as_state(mine.state_before), **as_state(mine.state_after)}
        entries.append(HistoryEntry(event, mine, changes, others))
    return ObjectHistory(object_type, object_id, name, page, entries)
