"""Read-only admin for idempotency keys and Decision records (browsing only).

Decisions change through services (the review actions come with the review
workflow), so neither admin adds, edits or deletes rows.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from decisioning.encoders import DecisioningJSONEncoder
from decisioning.models import Decision, IdempotencyKey
from decisioning.selectors import decision_targets

__all__ = ["DecisionAdmin", "DeletedListFilter", "ExpiryListFilter", "IdempotencyKeyAdmin"]


def pretty_json(value: Any) -> SafeString:
    """A JSON value as indented text in ``<pre>``, HTML-escaped."""
    text = json.dumps(
        value, indent=2, sort_keys=True, ensure_ascii=False, cls=DecisioningJSONEncoder
    )
    return format_html('<pre class="decisioning-json">{}</pre>', text)


class ReadOnlyAdmin(admin.ModelAdmin):
    """View permission only: no add, change or delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ExpiryListFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Not expired"), ("expired", "Expired"), ("never", "Never expires")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "live":
            return queryset.filter(expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now)
        if self.value() == "never":
            return queryset.filter(expires_at__isnull=True)
        return queryset


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ["key", "status", "attempts", "started_at", "completed_at", "expires_at"]
    list_filter = ["status", ExpiryListFilter, "started_at"]
    search_fields = ["key"]
    ordering = ["-started_at"]
    date_hierarchy = "started_at"
    fields = [
        "key",
        "status",
        "attempts",
        "started_at",
        "completed_at",
        "expires_at",
        "result_type",
        "result_id",
        "result_pretty",
        "error_message",
    ]
    readonly_fields = fields

    @admin.display(description="result data")
    def result_pretty(self, obj: IdempotencyKey) -> SafeString:
        return pretty_json(obj.result_data)


class DeletedListFilter(admin.SimpleListFilter):
    """Live rows by default; superusers may also list deleted or all rows."""

    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("deleted", "Deleted"), ("all", "All")]

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Live",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "all":
            return queryset
        return queryset.filter(deleted_at__isnull=True)


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = [
        "decision_type",
        "outcome",
        "decided_by",
        "effective_at",
        "target_link",
        "recorded_at",
        "is_deleted",
    ]
    list_filter = ["outcome", "decision_type", "target_content_type", "effective_at"]
    list_select_related = ["decided_by", "target_content_type"]
    search_fields = ["decision_type", "reason", "target_id"]
    date_hierarchy = "effective_at"
    ordering = ["-effective_at", "-id"]
    fields = [
        "decision_type",
        "outcome",
        "reason",
        "target_content_type",
        "target_id",
        "target_link",
        "decided_by",
        "effective_at",
        "recorded_at",
        "context_pretty",
        "evidence_pretty",
        "idempotency_key",
        "created_at",
        "updated_at",
        "deleted_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Superusers see every row, narrowed by DeletedListFilter (live by
        # default); everyone else sees live rows only.
        if request.user.is_superuser:
            return Decision.all_objects.all()
        return Decision.objects.all()

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        if request.user.is_superuser:
            return [DeletedListFilter, *self.list_filter]
        return list(self.list_filter)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type:
        return DecisionChangeList

    @admin.display(description="target")
    def target_link(self, obj: Decision) -> str:
        targets = getattr(obj, "_admin_targets", None)
        if targets is None:
            targets = decision_targets(decisions=[obj])
        target = targets.get(obj.pk)
        if target is None:
            return f"{obj.target_content_type} {obj.target_id} (not found)"
        if self.admin_site.is_registered(type(target)):
            opts = target._meta
            try:
                url = reverse(
                    f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                    args=[quote(target.pk)],
                )
            except NoReverseMatch:
                return str(target)
            return format_html('<a href="{}">{}</a>', url, target)
        return str(target)

    @admin.display(description="deleted", boolean=True)
    def is_deleted(self, obj: Decision) -> bool:
        return obj.is_deleted

    @admin.display(description="context")
    def context_pretty(self, obj: Decision) -> SafeString:
        return pretty_json(obj.context)

    @admin.display(description="evidence")
    def evidence_pretty(self, obj: Decision) -> SafeString:
        return pretty_json(obj.evidence)


class DecisionChangeList(ChangeList):
    """Loads the page's targets with one query per target model."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        targets = decision_targets(decisions=self.result_list)
        for decision in self.result_list:
            decision._admin_targets = targets
