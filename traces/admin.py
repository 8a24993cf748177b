"""Read-only admin for trace events and actors: traces are evidence, so nothing is editable."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.http import HttpRequest

from decision_trace.enums import ActorType, EventOutcome, RiskLevel
from decisioning.admin import CappedCountPaginator, DecisionAdmin, recent_list_filter
from decisioning.models import Decision
from decisioning.selectors import DECISION_SEARCH_LIMIT
from traces.models import (
    ActorRecord,
    EventCorrection,
    EventRecord,
    SignedCheckpoint,
    TrackedObjectRecord,
)
from traces.querysets import EventRecordQuerySet
from traces.search import search_events
from traces.selectors import can_view_decisions, events_visible_to
from traces.ui.common import known_event_types

__all__ = ["ActorRecordAdmin", "EventRecordAdmin", "SignedCheckpointAdmin"]


class _ReadOnlyMixin:
    """No add, change or delete; the change page only shows the row."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _ChoiceFilter(admin.SimpleListFilter):
    """One dimension with a closed set of values; an unknown value in the URL filters nothing."""

    field = ""
    options: list[tuple[str, str]] = []

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return self.options

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        if value in dict(self.options):
            return queryset.filter(**{self.field: value})
        return queryset


def _events(queryset: QuerySet[Any]) -> EventRecordQuerySet:
    """The admin's rows as the verbs' QuerySet (the model's manager makes nothing else)."""
    if not isinstance(queryset, EventRecordQuerySet):
        raise TypeError(f"Expected an EventRecordQuerySet, got {type(queryset).__name__}.")
    return queryset


def _options(enum: type) -> list[tuple[str, str]]:
    from decision_trace.enums import choices

    return choices(enum)


class ActorTypeFilter(_ChoiceFilter):
    title = "actor type"
    parameter_name = "actor_type"
    field = "actor_type"
    options = _options(ActorType)


class OutcomeFilter(_ChoiceFilter):
    title = "outcome"
    parameter_name = "outcome"
    field = "outcome"
    options = _options(EventOutcome)


class RiskFilter(_ChoiceFilter):
    title = "risk"
    parameter_name = "risk"
    field = "risk_level"
    options = _options(RiskLevel)


class ApprovalFilter(admin.SimpleListFilter):
    title = "approval"
    parameter_name = "approval"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [
            ("required", "Requires approval"),
            ("pending", "Pending approval"),
            ("none", "No approval needed"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        events = _events(queryset)
        value = self.value()
        if value == "required":
            return events.needing_approval()
        if value == "pending":
            return events.with_approval_status(["pending"])
        if value == "none":
            return events.needing_approval(False)
        return queryset


class EventFamilyFilter(admin.SimpleListFilter):
    """The event type's family: the part before the first dot (``order`` for ``order.created``)."""

    title = "event type"
    parameter_name = "family"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        # Distinct types skip through the type index (one probe per type, not a
        # DISTINCT over every event); bounded so a huge variety stays cheap.
        types = known_event_types(limit=500, with_decisions=can_view_decisions(request.user))
        families = sorted({event_type.split(".", 1)[0] for event_type in types})
        return [(family, family) for family in families]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        if value and "*" not in value and len(value) <= 100:
            return _events(queryset).of_event_types([value, f"{value}.*"])
        return queryset


class TrackedObjectInline(admin.TabularInline[TrackedObjectRecord, EventRecord]):
    model = TrackedObjectRecord
    fields = (
        "position",
        "object_type",
        "object_id",
        "external_id",
        "name",
        "state_before",
        "state_after",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventCorrectionInline(admin.TabularInline[EventCorrection, EventRecord]):
    """The event's later versions (corrections), oldest first."""

    model = EventCorrection
    fields = ("version", "recorded_at", "corrected_by", "reason", "changes")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# How a decision went, on the event: for users who may view decisions only.
_APPROVAL_FIELDS = frozenset({"approval_status", "approved_by"})


@admin.register(EventRecord)
class EventRecordAdmin(_ReadOnlyMixin, admin.ModelAdmin[EventRecord]):
    """Browse trace events: who did what, why, to which objects. Read-only."""

    list_display = (
        "effective_at",
        "event_type",
        "actor",
        "actor_type",
        "outcome",
        "risk_level",
        "approval_status",
    )
    list_filter = (
        recent_list_filter("effective_at"),
        ActorTypeFilter,
        OutcomeFilter,
        RiskFilter,
        ApprovalFilter,
        EventFamilyFilter,
    )
    list_select_related = ("actor",)
    search_fields = ("description",)
    search_help_text = "Full-text search over description, reasoning, alternatives, rejections."
    ordering = ("-effective_at", "-id")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    list_per_page = 50
    inlines = (TrackedObjectInline, EventCorrectionInline)
    fieldsets = (
        (None, {"fields": ("id", "event_type", "description", "effective_at", "recorded_at")}),
        ("Who", {"fields": ("actor", "actor_type")}),
        (
            "Why",
            {
                "fields": (
                    "action",
                    "reasoning",
                    "context",
                    "constraints",
                    "alternatives",
                    "rejection_reasons",
                    "confidence",
                    "risk_level",
                    "requires_approval",
                    "approval_status",
                    "approved_by",
                    "trigger",
                    "trigger_event_id",
                    "depends_on",
                )
            },
        ),
        (
            "Outcome",
            {"fields": ("outcome", "outcome_details", "error", "duration", "data", "tags")},
        ),
        (
            "Chain and source",
            {
                "fields": (
                    "parent",
                    "root_id",
                    "depth",
                    "correlation_id",
                    "source_system",
                    "source_ip",
                )
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in EventRecord._meta.concrete_fields]

    # A staff user who may not view decisions (``can_view_decisions``) gets the
    # pages' rule: no review-trail event (its change page is "not found"), no
    # approval status or approver, no approval filter.
    def get_queryset(self, request: HttpRequest) -> QuerySet[EventRecord]:
        return events_visible_to(_events(super().get_queryset(request)), request.user)

    def get_list_display(self, request: HttpRequest) -> Any:
        shown = super().get_list_display(request)
        if can_view_decisions(request.user):
            return shown
        return tuple(name for name in shown if name not in _APPROVAL_FIELDS)

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = super().get_list_filter(request)
        if can_view_decisions(request.user):
            return filters
        return tuple(item for item in filters if item is not ApprovalFilter)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if can_view_decisions(request.user):
            return fieldsets
        return [
            (
                name,
                {**options, "fields": [f for f in options["fields"] if f not in _APPROVAL_FIELDS]},
            )
            for name, options in fieldsets
        ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[EventRecord], search_term: str
    ) -> tuple[QuerySet[EventRecord], bool]:
        # The database's full-text engine, not LIKE scans; any text is safe.
        if not search_term.strip():
            return queryset, False
        return search_events(search_term, _events(queryset)), False


@admin.register(SignedCheckpoint)
class SignedCheckpointAdmin(_ReadOnlyMixin, admin.ModelAdmin[SignedCheckpoint]):
    """The evidence log's signed checkpoints (export them with ``export_checkpoints``)."""

    list_display = ("size", "signed_at", "key_id", "root_hex")
    ordering = ("-size",)
    fields = ("size", "signed_at", "key_id", "root_hex", "signature_hex")
    readonly_fields = fields

    @admin.display(description="root")
    def root_hex(self, obj: SignedCheckpoint) -> str:
        return bytes(obj.root).hex()

    @admin.display(description="signature")
    def signature_hex(self, obj: SignedCheckpoint) -> str:
        return bytes(obj.signature).hex()


@admin.register(ActorRecord)
class ActorRecordAdmin(_ReadOnlyMixin, admin.ModelAdmin[ActorRecord]):
    """Who has acted: people, AI agents, jobs, systems, services. Read-only."""

    list_display = (
        "actor_id",
        "name",
        "actor_type",
        "role",
        "model",
        "service_name",
        "last_seen_at",
    )
    list_filter = (ActorTypeFilter,)
    search_fields = ("actor_id", "name", "email")
    ordering = ("actor_type", "actor_id")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in ActorRecord._meta.concrete_fields]


# Searching an object's id: how many of the events that touched it are looked at.
DECISION_SEARCH_EVENT_LIMIT = 1_000


class TracedDecisionAdmin(DecisionAdmin):
    """``DecisionAdmin`` plus search by what the target event touched (an order id, a SKU)."""

    search_help_text = (
        "The start of a decision type, a target id, words of the reason (among the "
        f"{DECISION_SEARCH_LIMIT:,} most recent decisions), or the id or external id of an "
        "object the target event touched (an order id, a SKU)."
    )

    def search_ids(self, search_term: str, queryset: QuerySet[Decision]) -> list[object]:
        found = super().search_ids(search_term, queryset)
        term = search_term.strip()
        # The object's few events through the object indexes, then the decisions about
        # them through the (target type, target id) index: no scan of the decisions.
        event_ids = EventRecord.objects.touching([term]).values_list("pk", flat=True)
        targets = [str(pk) for pk in event_ids[:DECISION_SEARCH_EVENT_LIMIT]]
        if not targets:
            return found
        about = queryset.filter(
            target_content_type=ContentType.objects.get_for_model(EventRecord),
            target_id__in=targets,
        ).values_list("pk", flat=True)
        return list(dict.fromkeys([*found, *about[:DECISION_SEARCH_EVENT_LIMIT]]))


admin.site.unregister(Decision)
admin.site.register(Decision, TracedDecisionAdmin)
