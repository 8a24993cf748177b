"""Admin for idempotency keys and Decision records: browsing, plus the review actions.

Neither admin adds, edits or deletes rows. Decisions change only through the
review actions, which call ``decision_transition`` once per selected
decision: approve, defer and reopen at once; reject and escalate after an
intermediate page that asks for the required reason. An action is offered
only to users holding a permission it may need; per-decision refusals are
reported as messages and do not stop the others.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cached_property
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from decisioning.encoders import DecisioningJSONEncoder
from decisioning.exceptions import (
    DecisionDeletedError,
    DecisionPermissionError,
    InvalidTransitionError,
)
from decisioning.forms import DecisionReasonForm
from decisioning.models import Decision, DecisionAction, DecisionTransition, IdempotencyKey
from decisioning.permissions import (
    APPROVE_DECISION,
    DECIDE_ESCALATED_DECISION,
    ESCALATE_DECISION,
    VIEW_DECISION,
)
from decisioning.review import decision_request_token_new, decision_transition
from decisioning.selectors import (
    DECISION_SEARCH_LIMIT,
    decision_search_ids,
    decision_targets,
    distinct_indexed_values,
)
from decisioning.transitions import past_tense

__all__ = [
    "ADMIN_COUNT_LIMIT",
    "CappedCountPaginator",
    "DecisionAdmin",
    "DecisionTransitionInline",
    "DecisionTypeListFilter",
    "DeletedListFilter",
    "ExpiryListFilter",
    "IdempotencyKeyAdmin",
    "TargetTypeListFilter",
    "recent_list_filter",
]

REVIEW_REASON_TEMPLATE = "admin/decisioning/decision/review_reason.html"
INVALID_SELECTION = "The selection holds ids that are not decision ids; nothing was changed."


def pretty_json(value: Any) -> SafeString:
    """A JSON value as indented text in ``<pre>``, HTML-escaped."""
    text = json.dumps(
        value, indent=2, sort_keys=True, ensure_ascii=False, cls=DecisioningJSONEncoder
    )
    return format_html('<pre class="decisioning-json">{}</pre>', text)


_M = TypeVar("_M", bound=Model)

# An admin list counts its rows up to this many, never the whole table: a full
# COUNT(*) over a million rows costs more than the page itself.
ADMIN_COUNT_LIMIT = 10_000
# A list filter offers at most this many values (types in use).
FILTER_CHOICES = 200
# A search finds at most this many decisions of each kind (type, target id, reason).
SEARCH_RESULT_LIMIT = 1_000


class CappedCountPaginator(Paginator):  # type: ignore[type-arg]
    """Counts at most ``ADMIN_COUNT_LIMIT + 1`` rows: the list says "10001", pages that far.

    Later rows stay reachable through the filters and the "When" filter.
    """

    @cached_property
    def count(self) -> int:
        objects = self.object_list
        if isinstance(objects, QuerySet):
            return objects.order_by()[: ADMIN_COUNT_LIMIT + 1].count()
        return len(objects)


RECENT_WINDOWS = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "older": ("Older than 30 days", timedelta(days=30)),
}


def recent_list_filter(field: str, title: str = "when") -> type[admin.SimpleListFilter]:
    """A "When" filter on ``field``: rolling windows read as one range of its index.

    It stands in for ``date_hierarchy``, whose navigation asks the database for
    the distinct years, months or days of every row (a function over the whole
    table: seconds at a million rows).
    """

    class RecentListFilter(admin.SimpleListFilter):
        parameter_name = f"{field}_within"

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            return [(key, label) for key, (label, _) in RECENT_WINDOWS.items()]

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            value = self.value()
            if value not in RECENT_WINDOWS:
                return queryset
            edge = timezone.now() - RECENT_WINDOWS[value][1]
            if value == "older":
                return queryset.filter(**{f"{field}__lt": edge})
            return queryset.filter(**{f"{field}__gte": edge})

    RecentListFilter.title = title
    return RecentListFilter


class TargetTypeListFilter(admin.SimpleListFilter):
    """The target's content type, offering only the types some decision is about."""

    title = "target type"
    parameter_name = "target_content_type__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # One probe of the (target type, target id) index per type in use, not a DISTINCT
        # over every decision.
        used = distinct_indexed_values(Decision, "target_content_type_id", limit=FILTER_CHOICES)
        return [
            (str(content_type.pk), str(content_type))
            for content_type in ContentType.objects.filter(pk__in=used).order_by("model")
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        # Content type ids are small: anything else (text, 40 digits) matches nothing.
        if not value.isdigit() or len(value) > 9:
            return queryset.none()
        return queryset.filter(target_content_type_id=int(value))


class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    """View permission only: no add, change or delete; no filter counts ("Show counts"
    would count every row of the table once per filter choice)."""

    show_facets = admin.ShowFacets.NEVER

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

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "live":
            return queryset.filter(expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now)
        if self.value() == "never":
            return queryset.filter(expires_at__isnull=True)
        return queryset


class DecisionTypeListFilter(admin.SimpleListFilter):
    """The decision type, offering the types in use (read by skipping through the type index)."""

    title = "decision type"
    parameter_name = "decision_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        used = distinct_indexed_values(Decision, "decision_type", limit=FILTER_CHOICES)
        return [(value, value) for value in used]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset if value is None else queryset.filter(decision_type=value)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin[IdempotencyKey]):
    list_display = ["key", "status", "attempts", "started_at", "completed_at", "expires_at"]
    list_filter = ["status", ExpiryListFilter, recent_list_filter("started_at", "started")]
    search_fields = ["key"]
    ordering = ["-started_at"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    fields = (
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
    )
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

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "all":
            return queryset
        return queryset.filter(deleted_at__isnull=True)


class DecisionTransitionInline(admin.TabularInline[DecisionTransition, Decision]):
    """The decision's review history, oldest first, read-only."""

    model = DecisionTransition
    fields = ("at", "action", "from_outcome", "to_outcome", "by_username", "reason")
    readonly_fields = fields
    ordering = ["at", "id"]
    extra = 0
    can_delete = False
    verbose_name = "review step"
    verbose_name_plural = "review history"

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Whoever may view the decision may view its history.
        return request.user.has_perm(VIEW_DECISION)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin[Decision]):
    list_display = [
        "decision_type",
        "outcome",
        "decided_by",
        "decided_at",
        "effective_at",
        "target_link",
        "recorded_at",
        "is_deleted",
    ]
    list_filter = [
        "outcome",
        DecisionTypeListFilter,
        TargetTypeListFilter,
        recent_list_filter("effective_at", "proposed"),
        recent_list_filter("decided_at", "decided"),
    ]
    list_select_related = ["decided_by", "target_content_type"]
    search_fields = ["decision_type", "reason", "target_id"]
    search_help_text = (
        "The start of a decision type, a target id, or words of the reason (among the "
        f"{DECISION_SEARCH_LIMIT:,} most recent decisions)."
    )
    ordering = ["-effective_at", "-id"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    # Each row links its target (read in one query per target type); 50 rows, like the
    # events' list, keep the page's rendering well under its budget.
    list_per_page = 50
    fields = (
        "decision_type",
        "outcome",
        "reason",
        "target_content_type",
        "target_id",
        "target_link",
        "decided_by",
        "decided_at",
        "effective_at",
        "recorded_at",
        "context_pretty",
        "evidence_pretty",
        "idempotency_key",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    readonly_fields = fields
    inlines = [DecisionTransitionInline]
    actions = [
        "approve_selected",
        "reject_selected",
        "defer_selected",
        "reopen_selected",
        "escalate_selected",
    ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Decision], search_term: str
    ) -> tuple[QuerySet[Decision], bool]:
        # Not Django's LIKE of every word in every field (a scan of the whole table per
        # word): index ranges and a bounded reason search (decision_search_ids).
        if not search_term.strip():
            return queryset, False
        return queryset.filter(pk__in=self.search_ids(search_term, queryset)), False

    def search_ids(self, search_term: str, queryset: QuerySet[Decision]) -> list[object]:
        """The ids the search finds among ``queryset`` (bounded: ``SEARCH_RESULT_LIMIT`` each)."""
        return decision_search_ids(search_term, queryset, limit=SEARCH_RESULT_LIMIT)

    # Review actions. Each is offered to users holding any permission it may
    # need (has_<name>_permission below); decision_transition then checks
    # the exact one per decision, under its row lock.

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(APPROVE_DECISION)

    def has_escalate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ESCALATE_DECISION)

    def has_decide_escalated_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(DECIDE_ESCALATED_DECISION)

    @admin.action(
        description="Approve selected decisions", permissions=["approve", "decide_escalated"]
    )
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Decision]) -> None:
        self._review(request, queryset, DecisionAction.APPROVE)

    @admin.action(
        description="Reject selected decisions (asks for a reason)",
        permissions=["approve", "decide_escalated"],
    )
    def reject_selected(
        self, request: HttpRequest, queryset: QuerySet[Decision]
    ) -> TemplateResponse | None:
        return self._review_with_reason(request, queryset, DecisionAction.REJECT)

    @admin.action(description="Defer selected decisions", permissions=["approve"])
    def defer_selected(self, request: HttpRequest, queryset: QuerySet[Decision]) -> None:
        self._review(request, queryset, DecisionAction.DEFER)

    @admin.action(description="Reopen selected deferred decisions", permissions=["approve"])
    def reopen_selected(self, request: HttpRequest, queryset: QuerySet[Decision]) -> None:
        self._review(request, queryset, DecisionAction.REOPEN)

    @admin.action(
        description="Escalate selected decisions (asks for a reason)", permissions=["escalate"]
    )
    def escalate_selected(
        self, request: HttpRequest, queryset: QuerySet[Decision]
    ) -> TemplateResponse | None:
        return self._review_with_reason(request, queryset, DecisionAction.ESCALATE)

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Decision]
    ) -> HttpResponse | None:
        # A forged selection with ids that are not UUIDs would make Django's
        # pk__in filter raise (a 500); refuse it as a message instead.
        try:
            for pk in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                Decision._meta.pk.to_python(pk)
        except ValidationError:
            self.message_user(request, INVALID_SELECTION, messages.ERROR)
            return None
        return super().response_action(request, queryset)

    def _review_with_reason(
        self, request: HttpRequest, queryset: QuerySet[Decision], action: DecisionAction
    ) -> TemplateResponse | None:
        # First POST (from the changelist): show the reason page. Second POST
        # (the page's "apply"): act, or show the page again with its errors.
        if "apply" in request.POST:
            form = DecisionReasonForm(request.POST)
            if form.is_valid():
                self._review(
                    request,
                    queryset,
                    action,
                    reason=form.cleaned_data["reason"],
                    request_token=form.cleaned_data["request_token"],
                )
                return None
        else:
            form = DecisionReasonForm(initial={"request_token": decision_request_token_new()})
        context = {
            **self.admin_site.each_context(request),
            "title": f"{action.label} decisions",
            "opts": self.model._meta,
            "review_action": action,
            "action_name": f"{action.value}_selected",
            "decisions": list(queryset),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, REVIEW_REASON_TEMPLATE, context)

    def _review(
        self,
        request: HttpRequest,
        queryset: QuerySet[Decision],
        action: DecisionAction,
        *,
        reason: str = "",
        request_token: str | None = None,
    ) -> None:
        done = replayed = 0
        for decision in queryset:
            label = f"{decision.decision_type} {decision.pk}"
            try:
                result = decision_transition(
                    decision=decision,
                    action=action,
                    user=request.user,
                    reason=reason,
                    request_token=request_token,
                )
            except (InvalidTransitionError, DecisionDeletedError) as exc:
                self.message_user(request, f"{label}: {exc}", messages.WARNING)
            except DecisionPermissionError as exc:
                self.message_user(request, f"{label}: {exc}", messages.ERROR)
            else:
                if result.replayed:
                    replayed += 1
                else:
                    done += 1
        if done:
            self.message_user(
                request,
                f"{past_tense(action).capitalize()} {done} decision{'s' if done != 1 else ''}.",
                messages.SUCCESS,
            )
        if replayed:
            self.message_user(
                request,
                f"{replayed} decision{'s were' if replayed != 1 else ' was'} already "
                f"{past_tense(action)} by this form; the resubmission changed nothing.",
                messages.INFO,
            )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Decision]:
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
