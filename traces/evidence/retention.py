"""Retention: the one sanctioned way to delete recorded rows.

:func:`retention_delete` opens the retention window
(``decisioning.appendonly.retention_window``), inside which the append-only
triggers let DELETE through, and deletes events with their descendants,
tracked objects, tags, corrections, search entries, hourly counts, and the
Decisions about them with their transitions. Each deleted row that the log
had sealed gets a ``PrunedEntry`` (its leaf stays: the tree and the
checkpoints do not change), so ``verify_traces`` tells retention from
tampering; outbox rows naming them go too. The retention command (issue 18)
calls this; ``traces.services.trace_delete`` is a shorthand for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import router
from django.db.models import QuerySet
from django.utils import timezone

from decision_trace.validation import check_event_id, check_text
from decisioning.appendonly import retention_window
from decisioning.models import Decision, DecisionTransition
from traces.counts import EventKey, event_counts_remove, event_key_fields
from traces.evidence.models import EventCorrection, LogEntry, LogHead, PrunedEntry, SealKind
from traces.models import EventRecord
from traces.search import search_index_remove

__all__ = ["retention_delete"]


def _counted(events: QuerySet[EventRecord]) -> dict[uuid.UUID, EventKey]:
    """Each event's id with what its counts are keyed on."""
    return {row[0]: row[1:] for row in events.values_list("pk", *event_key_fields)}


def _mark_pruned(kind: SealKind, keys: list[str], *, reason: str, using: str) -> None:
    now = timezone.now()
    indexes = LogEntry.objects.using(using).filter(kind=kind.value, key__in=keys)
    PrunedEntry.objects.using(using).bulk_create(
        [
            PrunedEntry(index=index, pruned_at=now, reason=reason)
            for index in indexes.values_list("index", flat=True)
        ],
        batch_size=500,
    )


def retention_delete(
    *, event_ids: Iterable[str | uuid.UUID], reason: str, using: str | None = None
) -> int:
    """Delete events with everything recorded about them; returns how many events went.

    Args:
        event_ids: the events; their descendants go with them.
        reason: why (the retention rule), kept with each pruned log entry.
        using: database alias; the default database when omitted.

    Raises:
        TraceValidationError: an id is not an event id, or the reason is
            empty; nothing was deleted.
    """
    ids = {uuid.UUID(check_event_id("event_ids", i)) for i in event_ids}
    why = check_text("reason", reason, required=True)
    db = using or router.db_for_write(EventRecord)
    with retention_window(db):
        # Sealers hold this lock while they append: a row is either logged before
        # it is deleted here (and marked pruned) or found gone by the sealer.
        LogHead.objects.using(db).select_for_update().get_or_create(pk=1)
        frontier = _counted(EventRecord.objects.using(db).filter(pk__in=ids))
        counted: dict[uuid.UUID, EventKey] = {}
        while frontier:
            counted.update(frontier)
            frontier = _counted(EventRecord.objects.using(db).filter(parent_id__in=list(frontier)))
        doomed = list(counted)
        if not doomed:
            return 0
        event_counts_remove(counted.values(), using=db)
        search_index_remove(doomed, using=db)
        content_type = ContentType.objects.db_manager(db).get_for_model(EventRecord)
        decisions = Decision.all_objects.using(db).filter(
            target_content_type=content_type, target_id__in=[str(pk) for pk in doomed]
        )
        transitions = DecisionTransition.objects.using(db).filter(decision__in=decisions)
        corrections = EventCorrection.objects.using(db).filter(event_id__in=doomed)
        _mark_pruned(
            SealKind.TRANSITION,
            [str(pk) for pk in transitions.values_list("pk", flat=True)],
            reason=why,
            using=db,
        )
        _mark_pruned(
            SealKind.CORRECTION,
            [str(pk) for pk in corrections.values_list("pk", flat=True)],
            reason=why,
            using=db,
        )
        _mark_pruned(SealKind.EVENT, [str(pk) for pk in doomed], reason=why, using=db)
        # A Decision's review history protects it: it goes first, with the Decision.
        transitions.delete()
        decisions.delete()
        corrections.delete()
        # Children first: a parent is protected while it has children.
        depths = EventRecord.objects.using(db).filter(pk__in=doomed).values_list("depth", flat=True)
        for depth in sorted(set(depths), reverse=True):
            EventRecord.objects.using(db).filter(pk__in=doomed, depth=depth).delete()
        return len(doomed)
