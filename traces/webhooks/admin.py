"""Webhook endpoints (secret shown once) and their delivery log, with a resend action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.forms.fields import InvalidJSONInput
from django.http import HttpRequest
from django.utils import timezone

from decisioning.admin import CappedCountPaginator
from traces.webhooks.models import WEBHOOK_EVENTS, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from traces.webhooks.sending import UnsafeUrlError, url_check
from traces.webhooks.tasks import webhook_deliveries_send


class _PatternsField(forms.JSONField):
    """JSON that fails as a form error, never a 500 (Django catches JSONDecodeError only)."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > 10_000:
            raise forms.ValidationError("At most 10,000 characters of JSON.")
        try:
            return super().to_python(value)
        except ValueError:
            raise forms.ValidationError(
                'A list of event type patterns, e.g. ["pricing.*"].'
            ) from None

    def bound_data(self, data: Any, initial: Any) -> Any:
        try:
            return super().bound_data(data, initial)
        except ValueError:
            return InvalidJSONInput(data)

    def prepare_value(self, value: Any) -> str:
        text: str = super().prepare_value(value)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class WebhookEndpointForm(forms.ModelForm[WebhookEndpoint]):
    event_types = _PatternsField(
        required=False,
        help_text='Event type patterns of the decided event, e.g. ["pricing.*"]; empty: all.',
    )
    url = forms.URLField(
        max_length=2000, assume_scheme="https", help_text="http or https; public addresses only."
    )
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in WEBHOOK_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text="The changes this endpoint is told about.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "events", "event_types", "active")

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            url_check(url, resolve=False)
        except UnsafeUrlError as exc:
            raise forms.ValidationError(str(exc)) from None
        return url

    def clean_event_types(self) -> list[str]:
        value = self.cleaned_data.get("event_types")
        if value in (None, "", []):
            return []
        if not isinstance(value, list) or not all(
            isinstance(item, str) and 0 < len(item) <= 200 and item.isprintable() for item in value
        ):
            raise forms.ValidationError('A list of event type patterns, e.g. ["pricing.*"].')
        return value


class WebhookDeliveryInline(admin.TabularInline[WebhookDelivery, WebhookEndpoint]):
    model = WebhookDelivery
    fields = ("created_at", "event", "status", "attempts", "last_status_code", "response_excerpt")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-created_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        # The latest 20 only: a busy endpoint's page stays small.
        queryset = super().get_queryset(request)
        latest = list(queryset.order_by("-created_at", "-id").values_list("pk", flat=True)[:20])
        return queryset.filter(pk__in=latest)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    form = WebhookEndpointForm
    list_display = ("name", "url", "active", "created_at")
    list_filter = ("active",)
    # No "Show counts": every admin list, small or not, counts no filter choice.
    show_facets = admin.ShowFacets.NEVER
    inlines = (WebhookDeliveryInline,)

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            # Shown once: the secret is never displayed again.
            self.message_user(
                request,
                f"Signing secret (shown only now, copy it): {obj.secret}",
                messages.WARNING,
            )


class WebhookEventListFilter(admin.SimpleListFilter):
    title = "event"
    parameter_name = "event"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in WEBHOOK_EVENTS]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]
    ) -> QuerySet[WebhookDelivery]:
        value = self.value()
        return queryset if value is None else queryset.filter(event=value)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = ("created_at", "endpoint", "event", "status", "attempts", "last_status_code")
    # The change's kinds are a fixed list: Django's filter for the column would ask for
    # its distinct values over every delivery.
    list_filter = ("status", WebhookEventListFilter, "endpoint")
    list_select_related = ("endpoint",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    readonly_fields = (
        "endpoint",
        "event",
        "body",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "response_excerpt",
        "created_at",
        "delivered_at",
    )
    actions = ("resend",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Resend the selected deliveries")
    def resend(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        now = timezone.now()
        with transaction.atomic():
            ids = list(queryset.values_list("pk", flat=True)[:1000])
            WebhookDelivery.objects.filter(pk__in=ids).update(
                status=DeliveryStatus.PENDING, next_attempt_at=now, created_at=now
            )
            webhook_deliveries_send.enqueue(delivery_ids=ids)
        self.message_user(request, f"{len(ids)} deliveries queued again.", messages.SUCCESS)
