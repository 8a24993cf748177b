"""Feedback on any event: a reviewer marks it correct, incorrect or unsure.

A label is a child event of the labelled one, recorded through
``traces.services.trace_record`` by the reviewer (an ``Actor.user``), so it
is part of the audit trail like every review action: event type
``feedback.correct`` / ``feedback.incorrect`` / ``feedback.unsure``, the note
as its reasoning, the corrected value and the labelled event's agent, model
and version (as known when labelled) in its data. Nothing is updated in
place; a later label on the same event supersedes the earlier one for the
filters and the chart ("the latest label counts"), and both stay in the
trail.

Reads go through the ``(event_type, effective_at, id)`` index and the
``parent`` foreign key's index: the labels are few next to the events.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from decision_trace.enums import ActorType
from decision_trace.exceptions import TracesError
from decision_trace.validation import NAME_LENGTH
from decision_trace.values import Actor, DecisionTrace, TraceEvent
from traces.models import ActorRecord, EventRecord
from traces.services import trace_record

__all__ = [
    "FEEDBACK_EVENT_PREFIX",
    "FEEDBACK_EVENT_TYPES",
    "FEEDBACK_NOTE_MAX",
    "FEEDBACK_TAG",
    "FeedbackError",
    "FeedbackLabel",
    "FeedbackRow",
    "FeedbackShare",
    "event_feedback_record",
    "feedback_latest",
    "feedback_shares",
    "latest_feedback_events",
    "marked",
]

FEEDBACK_EVENT_PREFIX = "feedback."
FEEDBACK_TAG = "feedback"
FEEDBACK_NOTE_MAX = 2_000
FEEDBACK_ON_FEEDBACK = "Feedback is given on events, not on other feedback."
FEEDBACK_TEXT_INVALID = "The {field} cannot contain NUL characters or lone surrogates."
FEEDBACK_TEXT_TOO_LONG = "The {field} is at most {limit:,} characters."
FEEDBACK_LABEL_INVALID = "Choose correct, incorrect or unsure."
FEEDBACK_ANONYMOUS = "Sign in to give feedback."


class FeedbackLabel(models.TextChoices):
    CORRECT = "correct", "Correct"
    INCORRECT = "incorrect", "Incorrect"
    UNSURE = "unsure", "Unsure"


FEEDBACK_EVENT_TYPES = tuple(f"{FEEDBACK_EVENT_PREFIX}{label}" for label in FeedbackLabel.values)


class FeedbackError(TracesError, ValueError):
    """The feedback cannot be recorded as given (the message says why); nothing was written."""


def _clean_text(field: str, value: str) -> str:
    value = value.strip()
    if len(value) > FEEDBACK_NOTE_MAX:
        raise FeedbackError(FEEDBACK_TEXT_TOO_LONG.format(field=field, limit=FEEDBACK_NOTE_MAX))
    if "\x00" in value or any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        raise FeedbackError(FEEDBACK_TEXT_INVALID.format(field=field))
    return value


@transaction.atomic
def event_feedback_record(
    *,
    event: EventRecord,
    user: AbstractBaseUser | AnonymousUser,
    label: str,
    note: str = "",
    corrected_value: str = "",
    now: datetime | None = None,
) -> EventRecord:
    """Record ``user``'s label on ``event`` as its child event; returns the new event.

    Raises:
        FeedbackError: an unknown label, a note or corrected value that is too
            long or holds NUL / lone surrogates, feedback on a feedback event,
            or an anonymous user. Nothing is written then.
    """
    if not user.is_authenticated:
        raise FeedbackError(FEEDBACK_ANONYMOUS)
    if label not in FeedbackLabel.values:
        raise FeedbackError(FEEDBACK_LABEL_INVALID)
    if event.event_type.startswith(FEEDBACK_EVENT_PREFIX):
        raise FeedbackError(FEEDBACK_ON_FEEDBACK)
    note = _clean_text("note", note)
    corrected_value = _clean_text("corrected value", corrected_value)
    username = user.get_username()
    agent = (
        ActorRecord.objects.filter(pk=event.actor_id)
        .values("actor_type", "actor_id", "model", "version")
        .first()
        if event.actor_id
        else None
    ) or {"actor_type": "", "actor_id": "", "model": "", "version": ""}
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    label_text = FeedbackLabel(label).label.lower()
    record = TraceEvent(
        id=uuid.uuid4().hex,
        timestamp=now or timezone.now(),
        event_type=f"{FEEDBACK_EVENT_PREFIX}{label}",
        description=f"{event.event_type} marked {label_text} by {username}"[:NAME_LENGTH],
        actor=Actor.user(
            username,
            (full_name or username)[:NAME_LENGTH],
            email=getattr(user, "email", "") or None,
            user_id=user.pk,
        ),
        decision=DecisionTrace(
            action=f"mark {label_text}",
            reasoning=note,
            context={"event_id": str(event.pk), "event_type": event.event_type},
        ),
        data={
            "label": label,
            "note": note,
            "corrected_value": corrected_value,
            "event_id": str(event.pk),
            "agent_type": agent["actor_type"],
            "agent": agent["actor_id"],
            "model": agent["model"],
            "version": agent["version"],
        },
        tags=(FEEDBACK_TAG,),
        parent_event_id=str(event.pk),
    )
    return EventRecord.objects.get(pk=trace_record(event=record))


def latest_feedback_events() -> QuerySet[EventRecord]:
    """Feedback events no later label on the same event supersedes."""
    newer = EventRecord.objects.filter(
        parent_id=OuterRef("parent_id"), event_type__in=FEEDBACK_EVENT_TYPES
    ).filter(
        Q(effective_at__gt=OuterRef("effective_at"))
        | Q(effective_at=OuterRef("effective_at"), id__gt=OuterRef("id"))
    )
    return EventRecord.objects.filter(event_type__in=FEEDBACK_EVENT_TYPES).filter(~Exists(newer))


def marked(queryset: QuerySet[EventRecord], labels: Iterable[str]) -> QuerySet[EventRecord]:
    """``queryset`` narrowed to the events whose latest label is one of ``labels``."""
    types = [f"{FEEDBACK_EVENT_PREFIX}{label}" for label in labels]
    labelled = latest_feedback_events().filter(event_type__in=types).values("parent_id")
    return queryset.filter(pk__in=labelled)


@dataclass(frozen=True)
class FeedbackRow:
    """The latest label of one event, for a row or the event page."""

    label: str
    label_display: str
    by: str
    at: datetime
    note: str
    corrected_value: str
    event_id: uuid.UUID


def feedback_latest(event_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, FeedbackRow]:
    """The latest label of each of ``event_ids`` that has one (one query)."""
    ids = list(event_ids)
    if not ids:
        return {}
    rows = (
        EventRecord.objects.filter(parent_id__in=ids, event_type__in=FEEDBACK_EVENT_TYPES)
        .select_related("actor")
        .order_by("effective_at", "id")
    )
    latest: dict[uuid.UUID, FeedbackRow] = {}
    for row in rows:
        label = row.event_type.removeprefix(FEEDBACK_EVENT_PREFIX)
        data = row.data if isinstance(row.data, dict) else {}
        assert row.parent_id is not None
        latest[row.parent_id] = FeedbackRow(
            label=label,
            label_display=FeedbackLabel(label).label,
            by=row.actor.actor_id if row.actor else "",
            at=row.effective_at,
            note=str(data.get("note", "")),
            corrected_value=str(data.get("corrected_value", "")),
            event_id=row.pk,
        )
    return latest


@dataclass(frozen=True)
class FeedbackShare:
    """One (model, version) of an agent in one bucket: how its labelled decisions were marked."""

    model: str
    version: str
    bucket: datetime
    correct: int
    incorrect: int
    unsure: int

    @property
    def total(self) -> int:
        return self.correct + self.incorrect + self.unsure

    @property
    def share_correct(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def percent(self) -> int:
        return round(self.share_correct * 100)


def feedback_shares(actor: ActorRecord, *, since: datetime, step: timedelta) -> list[FeedbackShare]:
    """For ``actor`` (an AI agent), per model version and time bucket, its latest labels.

    Buckets are ``step`` long from ``since`` and count the labelled events by
    when they happened (the decision's time, not the label's). One query.
    """
    if actor.actor_type != ActorType.AI_AGENT:
        return []
    rows = (
        latest_feedback_events()
        .filter(parent__actor=actor, parent__effective_at__gte=since)
        .annotate(
            model_name=KeyTextTransform("model", "data"),
            model_version=KeyTextTransform("version", "data"),
        )
        .values_list("model_name", "model_version", "event_type", "parent__effective_at")
    )
    counts: dict[tuple[str, str, datetime], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(FeedbackLabel.values, 0)
    )
    for model_name, version, event_type, happened in rows:
        bucket = since + step * int((happened - since) / step)
        label = event_type.removeprefix(FEEDBACK_EVENT_PREFIX)
        counts[(model_name or "", version or "", bucket)][label] += 1
    return [
        FeedbackShare(
            model=model_name,
            version=version,
            bucket=bucket,
            correct=labels[FeedbackLabel.CORRECT],
            incorrect=labels[FeedbackLabel.INCORRECT],
            unsure=labels[FeedbackLabel.UNSURE],
        )
        for (model_name, version, bucket), labels in sorted(counts.items())
    ]
