"""Corrections as versions: an event's text or data is corrected by a new row, never in place.

Version 1 of an event is its row as recorded. :func:`event_correct` adds an
``EventCorrection`` (its own ``recorded_at``, who corrected it, why, and the
corrected fields' new values); the current version is the row with every
correction applied in order. "As known at T" applies only the corrections
recorded by T (:func:`corrections_apply`).

Reads apply corrections to ``EventRecord`` instances in memory (one query per
page); such an instance is for showing, never for saving (the append-only
triggers refuse that anyway).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import router, transaction
from django.db.models import Max
from django.utils import timezone

from decision_trace.exceptions import TraceValidationError
from decision_trace.validation import (
    NAME_LENGTH,
    check_event_id,
    check_list,
    check_mapping,
    check_text,
)
from traces.evidence.models import EventCorrection, SealKind
from traces.evidence.sealing import seal_request
from traces.models import EventRecord, EventSearchDocument
from traces.search import document_body, search_index_add, search_index_remove

__all__ = [
    "CORRECTABLE_FIELDS",
    "NOTHING_TO_CORRECT",
    "EventVersion",
    "corrections_apply",
    "corrections_apply_values",
    "event_correct",
    "event_versions",
    "event_versions_apply",
]

CORRECTABLE_FIELDS = ("description", "reasoning", "alternatives", "rejection_reasons", "data")
# Correcting one of these makes the event one recorded with a reason.
_DECISION_FIELDS = {"reasoning", "alternatives", "rejection_reasons"}
NOTHING_TO_CORRECT = (
    "A correction changes at least one of description, reasoning, alternatives, "
    "rejection_reasons or data; none was given."
)
UNKNOWN_EVENT = "No stored event has the id {event_id!r}."


def _aware(value: object, field_name: str) -> datetime:
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise TraceValidationError(
            f"{field_name} must be a timezone-aware datetime; got {value!r}."
        )
    return value


def event_correct(
    *,
    event_id: str | uuid.UUID,
    corrected_by: str,
    reason: str,
    description: str | None = None,
    reasoning: str | None = None,
    alternatives: list[Any] | None = None,
    rejection_reasons: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    using: str | None = None,
    now: datetime | None = None,
) -> EventCorrection:
    """Record a correction of an event's text or data; the original stays as version 1.

    Only the fields given change. The search index follows the current
    version in the same transaction, and the correction is sealed after
    commit.

    Raises:
        TraceValidationError: bad input, nothing to correct, or an unknown
            event; nothing was written.
    """
    pk = uuid.UUID(check_event_id("event_id", event_id))
    who = check_text("corrected_by", corrected_by, max_length=NAME_LENGTH, required=True)
    why = check_text("reason", reason, required=True)
    changes: dict[str, Any] = {}
    if description is not None:
        changes["description"] = check_text("description", description)
    if reasoning is not None:
        changes["reasoning"] = check_text("reasoning", reasoning)
    if alternatives is not None:
        changes["alternatives"] = check_list("alternatives", alternatives)
    if rejection_reasons is not None:
        changes["rejection_reasons"] = check_mapping("rejection_reasons", rejection_reasons)
    if data is not None:
        changes["data"] = check_mapping("data", data)
    if not changes:
        raise TraceValidationError(NOTHING_TO_CORRECT)
    when = timezone.now() if now is None else _aware(now, "now")
    db = using or router.db_for_write(EventRecord)
    with transaction.atomic(using=db):
        row = EventRecord.objects.using(db).select_for_update().filter(pk=pk).first()
        if row is None:
            raise TraceValidationError(UNKNOWN_EVENT.format(event_id=str(event_id)[:80]))
        latest = EventCorrection.objects.using(db).filter(event_id=pk).aggregate(v=Max("version"))
        correction = EventCorrection.objects.using(db).create(
            event_id=pk,
            version=(latest["v"] or 1) + 1,
            recorded_at=when,
            corrected_by=who,
            reason=why,
            changes=changes,
        )
        corrections_apply([row], using=db)
        search_index_remove([pk], using=db)
        EventSearchDocument.objects.using(db).filter(event_id=pk).delete()
        body = document_body(
            row.description, row.reasoning, row.alternatives, row.rejection_reasons
        )
        search_index_add([{"event_id": pk, "body": body}], using=db, count=1)
        seal_request(kind=SealKind.CORRECTION, keys=[correction.pk], using=db)
    return correction


def _apply(row: EventRecord, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        if name in CORRECTABLE_FIELDS:
            setattr(row, name, value)
    if _DECISION_FIELDS & set(changes):
        row.has_decision = True


def _merged(
    ids: list[uuid.UUID], known_at: datetime | None, db: str
) -> dict[uuid.UUID, tuple[int, datetime, dict[str, Any]]]:
    """Per corrected event: (latest version, its time, every correction's changes merged)."""
    corrections = EventCorrection.objects.using(db).filter(event_id__in=ids)
    if known_at is not None:
        corrections = corrections.filter(recorded_at__lte=known_at)
    merged: dict[uuid.UUID, tuple[int, datetime, dict[str, Any]]] = {}
    for event_id, version, recorded_at, changes in corrections.order_by(
        "event_id", "version"
    ).values_list("event_id", "version", "recorded_at", "changes"):
        _, _, so_far = merged.get(event_id, (1, recorded_at, {}))
        merged[event_id] = (version, recorded_at, {**so_far, **changes})
    return merged


def corrections_apply(
    rows: Sequence[EventRecord], *, known_at: datetime | None = None, using: str | None = None
) -> None:
    """Show each row as its current version (as known at ``known_at``): one query.

    Sets ``version`` (1 when uncorrected) and ``corrected_at`` (None when
    uncorrected) on every row.
    """
    for row in rows:
        row.version = 1  # type: ignore[attr-defined]
        row.corrected_at = None  # type: ignore[attr-defined]
    if not rows:
        return
    db = using or rows[0]._state.db or router.db_for_read(EventRecord)
    by_pk = {row.pk: row for row in rows}
    for pk, (version, recorded_at, changes) in _merged(list(by_pk), known_at, db).items():
        row = by_pk[pk]
        _apply(row, changes)
        row.version = version  # type: ignore[attr-defined]
        row.corrected_at = recorded_at  # type: ignore[attr-defined]


def corrections_apply_values(
    rows: Sequence[dict[str, Any]], *, known_at: datetime | None = None, using: str | None = None
) -> None:
    """The same for ``values()`` rows (keyed by ``"id"``): corrected fields replaced; one query."""
    if not rows:
        return
    db = using or router.db_for_read(EventRecord)
    by_pk = {row["id"]: row for row in rows}
    for pk, (_, _, changes) in _merged(list(by_pk), known_at, db).items():
        row = by_pk[pk]
        row.update({k: v for k, v in changes.items() if k in CORRECTABLE_FIELDS and k in row})
        if _DECISION_FIELDS & set(changes) and "has_decision" in row:
            row["has_decision"] = True


@dataclass(frozen=True)
class EventVersion:
    """One version of an event: what it said, and (from version 2) who corrected it and why."""

    version: int
    recorded_at: datetime
    corrected_by: str
    reason: str
    changed: tuple[str, ...]
    values: dict[str, Any] = field(default_factory=dict)


def event_versions(event: EventRecord, *, known_at: datetime | None = None) -> list[EventVersion]:
    """Every version of ``event`` (as known at ``known_at``), oldest first; one query.

    ``event`` must be the row as recorded (not one :func:`corrections_apply`
    has changed). Each version's ``values`` hold the correctable fields as
    they read in that version.
    """
    current = {name: getattr(event, name) for name in CORRECTABLE_FIELDS}
    versions = [
        EventVersion(
            version=1,
            recorded_at=event.recorded_at,
            corrected_by="",
            reason="",
            changed=(),
            values=dict(current),
        )
    ]
    corrections = EventCorrection.objects.using(event._state.db).filter(event_id=event.pk)
    if known_at is not None:
        corrections = corrections.filter(recorded_at__lte=known_at)
    for correction in corrections.order_by("version"):
        current.update({k: v for k, v in correction.changes.items() if k in CORRECTABLE_FIELDS})
        versions.append(
            EventVersion(
                version=correction.version,
                recorded_at=correction.recorded_at,
                corrected_by=correction.corrected_by,
                reason=correction.reason,
                changed=tuple(sorted(correction.changes)),
                values=dict(current),
            )
        )
    return versions


def event_versions_apply(
    event: EventRecord, *, known_at: datetime | None = None
) -> list[EventVersion]:
    """:func:`event_versions`, then show ``event`` as its last version (the same one query)."""
    versions = event_versions(event, known_at=known_at)
    latest = versions[-1]
    if latest.version > 1:
        changed = {name for version in versions for name in version.changed}
        _apply(event, {name: latest.values[name] for name in changed})
    event.version = latest.version  # type: ignore[attr-defined]
    event.corrected_at = latest.recorded_at if latest.version > 1 else None  # type: ignore[attr-defined]
    return versions
