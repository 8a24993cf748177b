"""Storage for trace events.

These models are what the database, the UI, the admin and the filters use. The
seed's public names (``Actor``, ``TraceEvent``, ...) are the plain-Python value
objects; the names here end in ``Record`` so they never shadow them.

Denormalised on purpose, each for an index the UI filters on:
``EventRecord.actor_type`` (copied from the actor), ``root_id`` / ``depth``
(the chain, set from the parent at insert), ``approval_status`` (mirrors the
approval ``decisioning.Decision``'s outcome; the review workflow changes both
in one transaction)
and ``tags`` (the event's tags for display; ``EventTag`` rows are what
filters use).

``EventSearchDocument`` holds each event's searchable text; the database's own
full-text engine indexes it (see ``traces.search`` and migration 0002).

``HourlyEventCount`` holds the number of events per UTC hour, actor type and
outcome, kept exactly in step with the events by the write services (see
``traces.counts``), so the dashboard reads a few hundred rows, not the events.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models
from django.db.models import Q

from decision_trace.enums import ActorType, EventOutcome, ObjectType, RiskLevel, choices
from decisioning.mixins import TimeSemanticsMixin
from decisioning.models import DecisionOutcome
from traces.evidence.models import (  # registered with the traces app from here
    EventCorrection,
    LogEntry,
    LogHead,
    LogNode,
    PrunedEntry,
    SealRequest,
    SignedCheckpoint,
)
from traces.querysets import EventRecordManager

__all__ = [
    "ActorRecord",
    "EventCorrection",
    "EventRecord",
    "EventSearchDocument",
    "EventTag",
    "EventTypeCount",
    "HourlyEventCount",
    "LogEntry",
    "LogHead",
    "LogNode",
    "PrunedEntry",
    "SealRequest",
    "SignedCheckpoint",
    "TrackedObjectRecord",
]


class ActorRecord(models.Model):
    """Who acted: one row per (actor type, actor id), upserted on every record."""

    actor_type = models.CharField(
        max_length=20, choices=choices(ActorType), help_text="User, AI agent, compute job, ..."
    )
    actor_id = models.CharField(max_length=255, help_text="The actor's id in its own system.")
    name = models.CharField(max_length=255, blank=True, default="", help_text="Display name.")
    email = models.CharField(max_length=254, blank=True, default="", help_text="Users: e-mail.")
    role = models.CharField(max_length=100, blank=True, default="", help_text="Users: role.")
    model = models.CharField(max_length=255, blank=True, default="", help_text="AI: model.")
    version = models.CharField(max_length=100, blank=True, default="", help_text="AI: version.")
    service_name = models.CharField(
        max_length=255, blank=True, default="", help_text="Compute: the service that ran."
    )
    job_id = models.CharField(max_length=255, blank=True, default="", help_text="Compute: job.")
    metadata = models.JSONField(default=dict, blank=True, help_text="Anything else known.")
    first_seen_at = models.DateTimeField(auto_now_add=True, help_text="First recorded event.")
    last_seen_at = models.DateTimeField(auto_now=True, help_text="Last upsert.")

    class Meta:
        verbose_name = "actor"
        constraints = [
            models.UniqueConstraint(fields=["actor_type", "actor_id"], name="actor_type_id_unique")
        ]
        indexes = [models.Index(fields=["actor_id"], name="actor_id_idx")]

    def __str__(self) -> str:
        return f"{self.name or self.actor_id} ({self.get_actor_type_display()})"


class EventRecord(TimeSemanticsMixin):
    """One trace event: what happened, who did it, why, and what it touched.

    ``effective_at`` is the event's timestamp (backdatable); ``recorded_at`` is
    when it was stored and never changes.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    duration = models.FloatField(default=0.0, help_text="How long it took, in seconds.")
    event_type = models.CharField(max_length=100, help_text="Dotted type, e.g. order.created.")
    description = models.TextField(blank=True, default="", help_text="What happened.")

    actor = models.ForeignKey(
        ActorRecord,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        # event_actor_idx (actor, effective_at, id) serves every actor lookup.
        db_index=False,
        help_text="Who acted.",
    )
    actor_type = models.CharField(
        max_length=20,
        choices=choices(ActorType),
        blank=True,
        default="",
        help_text="Copy of the actor's type, for filtering.",
    )

    # The decision trace ("why"); has_decision is False for events recorded without one.
    has_decision = models.BooleanField(default=False, help_text="Recorded with a reason.")
    decision_trace_id = models.CharField(
        max_length=64, blank=True, default="", help_text="Id of the decision trace."
    )
    action = models.CharField(max_length=255, blank=True, default="", help_text="What was done.")
    reasoning = models.TextField(blank=True, default="", help_text="Why.")
    context = models.JSONField(default=dict, blank=True, help_text="What was known.")
    constraints = models.JSONField(default=list, blank=True, help_text="Limits respected.")
    alternatives = models.JSONField(default=list, blank=True, help_text="Options considered.")
    rejection_reasons = models.JSONField(
        default=dict, blank=True, help_text="Why each alternative was rejected."
    )
    confidence = models.FloatField(null=True, blank=True, help_text="0 to 1.")
    risk_level = models.CharField(
        max_length=10, choices=choices(RiskLevel), blank=True, default="", help_text="Risk."
    )
    requires_approval = models.BooleanField(default=False, help_text="Needs a person's decision.")
    approval_status = models.CharField(
        max_length=20,
        choices=DecisionOutcome.choices,
        blank=True,
        default="",
        help_text="Mirror of the approval Decision's outcome; empty when none is needed.",
    )
    approved_by = models.CharField(
        max_length=255, blank=True, default="", help_text="Who approved it."
    )
    trigger = models.CharField(max_length=255, blank=True, default="", help_text="What set it off.")
    trigger_event_id = models.UUIDField(null=True, blank=True, help_text="The triggering event.")
    depends_on = models.JSONField(default=list, blank=True, help_text="Events it depended on.")

    outcome = models.CharField(
        max_length=20,
        choices=choices(EventOutcome),
        default=EventOutcome.SUCCESS.value,
        help_text="How it ended.",
    )
    outcome_details = models.JSONField(default=dict, blank=True, help_text="Outcome details.")
    error = models.TextField(blank=True, default="", help_text="Error text of a failure.")
    data = models.JSONField(default=dict, blank=True, help_text="Free-form event data.")
    tags = models.JSONField(default=list, blank=True, help_text="Tags, for display.")

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text="The event this one is part of.",
    )
    root_id = models.UUIDField(help_text="The chain's root event (itself for a root).")
    depth = models.PositiveSmallIntegerField(default=0, help_text="Distance from the root.")
    correlation_id = models.CharField(
        max_length=255, blank=True, default="", help_text="Groups events of one flow."
    )
    source_system = models.CharField(
        max_length=255, blank=True, default="", help_text="System that reported it."
    )
    source_ip = models.GenericIPAddressField(null=True, blank=True, help_text="Reporting IP.")

    objects: ClassVar[EventRecordManager[EventRecord]] = EventRecordManager()

    class Meta:
        verbose_name = "trace event"
        ordering = ["-effective_at", "-id"]
        indexes = [
            models.Index(fields=["effective_at", "id"], name="event_time_idx"),
            models.Index(fields=["actor_type", "effective_at", "id"], name="event_actortype_idx"),
            models.Index(fields=["actor", "effective_at", "id"], name="event_actor_idx"),
            models.Index(fields=["event_type", "effective_at", "id"], name="event_type_idx"),
            models.Index(fields=["outcome", "effective_at", "id"], name="event_outcome_idx"),
            models.Index(fields=["risk_level", "effective_at", "id"], name="event_risk_idx"),
            models.Index(
                fields=["approval_status", "effective_at", "id"],
                name="event_approval_idx",
                condition=Q(requires_approval=True),
            ),
            # Only events that belong to a flow: most do not, and their empty
            # correlation id would be an index entry per event for nothing.
            models.Index(
                fields=["correlation_id", "effective_at"],
                name="event_correlation_idx",
                condition=Q(correlation_id__gt=""),
            ),
            models.Index(fields=["root_id", "depth"], name="event_root_idx"),
            # No index on recorded_at: no page, filter or API reads by it, and each
            # index costs every insert (see benchmarks/README.md).
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=0, confidence__lte=1),
                name="event_confidence_0_1",
            ),
            models.CheckConstraint(condition=Q(duration__gte=0), name="event_duration_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} at {self.effective_at:%Y-%m-%d %H:%M:%S}"


class TrackedObjectRecord(models.Model):
    """A business object an event touched, with its state before and after."""

    event = models.ForeignKey(
        EventRecord,
        on_delete=models.CASCADE,
        related_name="tracked_objects",
        help_text="The event.",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within the event.")
    object_type = models.CharField(
        max_length=20, choices=choices(ObjectType), help_text="Order, product, ..."
    )
    object_id = models.CharField(max_length=255, help_text="The object's id, e.g. ord-123.")
    external_id = models.CharField(
        max_length=255, blank=True, default="", help_text="Id in another system, e.g. a SKU."
    )
    name = models.CharField(max_length=255, blank=True, default="", help_text="Display name.")
    metadata = models.JSONField(default=dict, blank=True, help_text="Anything else known.")
    state_before = models.JSONField(null=True, blank=True, help_text="State before the event.")
    state_after = models.JSONField(null=True, blank=True, help_text="State after the event.")

    class Meta:
        verbose_name = "tracked object"
        ordering = ["event", "position"]
        indexes = [
            models.Index(fields=["object_id", "object_type"], name="object_id_idx"),
            # Most objects have no external id; only those that do are looked up by one.
            models.Index(
                fields=["external_id", "object_type"],
                name="object_external_idx",
                condition=Q(external_id__gt=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id}"


class EventTag(models.Model):
    """One tag of one event; the filterable form of ``EventRecord.tags``."""

    event = models.ForeignKey(
        EventRecord, on_delete=models.CASCADE, related_name="tag_rows", help_text="The event."
    )
    tag = models.CharField(max_length=100, help_text="The tag.")

    class Meta:
        verbose_name = "tag"
        constraints = [
            models.UniqueConstraint(fields=["tag", "event"], name="event_tag_unique"),
        ]

    def __str__(self) -> str:
        return self.tag


class EventSearchDocument(models.Model):
    """The searchable text of one event: description, reasoning, alternatives, rejections.

    On SQLite an FTS5 table (``traces_event_fts``, external content, rowid =
    this row's id) indexes ``body``; on PostgreSQL a generated ``tsvector``
    column with a GIN index does. Services write this row and the index in the
    event's transaction and keep both in sync on update and delete.
    """

    event = models.OneToOneField(
        EventRecord,
        on_delete=models.CASCADE,
        related_name="search_document",
        help_text="The event.",
    )
    body = models.TextField(blank=True, default="", help_text="The text that is searched.")

    class Meta:
        verbose_name = "search document"

    def __str__(self) -> str:
        return f"search text of {self.event_id}"


class CountedEvents(models.Model):
    """What both event counts are keyed on besides their own dimensions."""

    actor_type = models.CharField(
        max_length=20,
        choices=choices(ActorType),
        blank=True,
        help_text="The events' actor type; empty for events without an actor.",
    )
    outcome = models.CharField(
        max_length=20, choices=choices(EventOutcome), help_text="The events' outcome."
    )

    class Meta:
        abstract = True


class HourlyEventCount(CountedEvents):
    """How many stored events fall in one UTC hour with one actor type and one outcome.

    Written only by ``traces.counts`` inside the services' transactions (record
    adds, delete subtracts; a count that reaches zero is deleted), so the rows
    always sum to the events table. ``rebuild_event_counts`` recomputes them
    after events were written by other means (``bulk_create``, raw SQL).
    """

    hour = models.DateTimeField(help_text="Start of the UTC hour.")
    event_count = models.PositiveBigIntegerField(help_text="Events in this hour, type, outcome.")

    class Meta:
        verbose_name = "hourly event count"
        constraints = [
            # Also the index the dashboard reads a time range through.
            models.UniqueConstraint(
                fields=["hour", "actor_type", "outcome"], name="hourly_count_unique"
            ),
        ]

    def __str__(self) -> str:
        who = self.actor_type or "no actor"
        return f"{self.hour:%Y-%m-%d %H}:00 {who} {self.outcome}: {self.event_count}"


class EventTypeCount(CountedEvents):
    """How many stored events have one event type, actor type, outcome and risk level.

    All time, no hours: what ``stats()`` and ``GET /api/v1/stats`` read instead
    of grouping every event (seconds at ten million). Kept exact by
    ``traces.counts`` in the same transactions and statements as
    ``HourlyEventCount``; ``rebuild_event_counts`` recomputes both.
    """

    event_type = models.CharField(max_length=100, help_text="The events' type.")
    risk_level = models.CharField(
        max_length=10, choices=choices(RiskLevel), blank=True, help_text="The events' risk level."
    )
    event_count = models.PositiveBigIntegerField(help_text="Events with these four values.")

    class Meta:
        verbose_name = "event type count"
        constraints = [
            models.UniqueConstraint(
                fields=["event_type", "actor_type", "outcome", "risk_level"],
                name="event_type_count_unique",
            ),
        ]

    def __str__(self) -> str:
        who = self.actor_type or "no actor"
        risk = self.risk_level or "no risk"
        return f"{self.event_type} {who} {self.outcome} {risk}: {self.event_count}"
