"""Service tokens in the admin: list, create (the token is shown once) and revoke."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from traces.api.models import Scope, ServiceToken
from traces.api.tokens import (
    TokenError,
    service_token_check,
    service_token_create,
    service_token_revoke,
)


class ServiceTokenForm(forms.ModelForm):  # type: ignore[type-arg]
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Bounded by the owner's permissions.",
    )

    class Meta:
        model = ServiceToken
        fields = ["name", "owner", "scopes", "expires_at", "rate_limit"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and not self.errors:
            try:
                service_token_check(
                    name=data.get("name", ""),
                    scopes=data.get("scopes", []),
                    expires_at=data.get("expires_at"),
                    rate_limit=data.get("rate_limit"),
                )
            except TokenError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return data


@admin.register(ServiceToken)
class ServiceTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ServiceTokenForm
    list_display = ["name", "prefix", "owner", "scopes", "expires_at", "revoked_at", "last_used_at"]
    list_select_related = ["owner"]
    list_filter = ["revoked_at"]
    # No "Show counts": every admin list, small or not, counts no filter choice.
    show_facets = admin.ShowFacets.NEVER
    search_fields = ["name", "prefix", "owner__username"]
    readonly_fields = ["prefix", "created_at", "revoked_at", "last_used_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return [*self.readonly_fields, "name", "owner", "scopes", "expires_at"]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ServiceToken, form: Any, change: bool) -> None:
        if change:
            ServiceToken.objects.filter(pk=obj.pk).update(rate_limit=obj.rate_limit)
            return
        # The form checked the arguments (service_token_check).
        created = service_token_create(
            owner=obj.owner,
            name=obj.name,
            scopes=form.cleaned_data["scopes"],
            expires_at=obj.expires_at,
            rate_limit=obj.rate_limit,
        )
        obj.pk = created.token.pk
        obj.prefix = created.token.prefix
        self.message_user(
            request,
            f"Token created; copy it now, it is not shown again: {created.text}",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ServiceToken]) -> None:
        count = sum(service_token_revoke(token=token) for token in queryset)
        self.message_user(request, f"{count} token(s) revoked.")
