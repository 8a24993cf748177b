"""The timeline's ``EventFilterSet`` for the API: repeatable values and ``correlation_id``.

``actor``, ``event_type``, ``object_id`` and ``tag`` may repeat (OR within
one filter, AND across filters), as ``actor_type``, ``outcome`` and ``risk``
already do. Every other rule and message is the timeline's.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import django_filters
from django import forms

from decision_trace.validation import ID_LENGTH, TAG_LENGTH, TYPE_LENGTH
from traces.filters import EventFilterForm, EventFilterSet
from traces.querysets import EventRecordQuerySet
from traces.search import search_events, search_match_limit

__all__ = ["MAX_VALUES", "REPEATABLE", "ApiEventFilterSet"]

MAX_VALUES = 20
REPEATABLE = ("actor_type", "actor", "event_type", "object_id", "outcome", "risk", "tag")
TOO_MANY_VALUES = f"Give at most {MAX_VALUES} values."
OUT_OF_RANGE = "The time is outside the range that can be stored."
BAD_TEXT = "Each value must be 1 to {max_length} characters without control characters."


class _TextListField(forms.Field):
    widget = forms.MultipleHiddenInput

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        self.max_length = max_length
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        values: list[object] = [value] if isinstance(value, str) else list(value)
        return [item.strip() for item in values if isinstance(item, str) and item.strip()]

    def validate(self, value: list[str]) -> None:
        if len(value) > MAX_VALUES:
            raise forms.ValidationError(TOO_MANY_VALUES)
        for item in value:
            if len(item) > self.max_length or any(ord(c) < 32 or ord(c) == 127 for c in item):
                raise forms.ValidationError(BAD_TEXT.format(max_length=self.max_length))


class _TextListFilter(django_filters.Filter):
    field_class = _TextListField


class ApiEventFilterForm(EventFilterForm):
    """The timeline's checks, with ``tag`` as a list instead of comma-separated text."""

    def clean(self) -> dict[str, Any]:
        tags = self.cleaned_data.get("tag") or []
        self.cleaned_data["tag"] = ",".join(tags)
        data = super().clean()
        data["tag"] = tags
        for name in ("since", "until", "known_at"):
            value = data.get(name)
            if value is None:
                continue
            # In UTC before any database sees it: PostgreSQL refuses offsets of 16 h
            # and more, and the edges of the datetime range overflow with an offset.
            try:
                data[name] = value.astimezone(UTC)
            except OverflowError:
                self.add_error(name, OUT_OF_RANGE)
        return data


class ApiEventFilterSet(EventFilterSet):
    """``EventFilterSet`` with repeatable text filters and ``correlation_id``.

    The four text filters replace the timeline's single-value ones by lists
    (hence the ``assignment`` ignores: the base class types them as ``CharFilter``).
    """

    actor = _TextListFilter(method="filter_actor_list", max_length=ID_LENGTH)  # type: ignore[assignment]
    event_type = _TextListFilter(method="filter_event_type_list", max_length=TYPE_LENGTH)  # type: ignore[assignment]
    object_id = _TextListFilter(method="filter_object_id_list", max_length=ID_LENGTH)  # type: ignore[assignment]
    tag = _TextListFilter(method="filter_tag_list", max_length=TAG_LENGTH)  # type: ignore[assignment]
    correlation_id = django_filters.CharFilter(
        method="filter_correlation_id", max_length=ID_LENGTH, label="Correlation id"
    )

    class Meta(EventFilterSet.Meta):
        form = ApiEventFilterForm
        fields = [*EventFilterSet.Meta.fields, "correlation_id"]

    def filter_q(self, queryset: EventRecordQuerySet, name: str, value: str) -> EventRecordQuerySet:
        # The API counts nothing: the most recent matches (search_match_limit), in one query.
        return search_events(value, queryset, match_limit=search_match_limit(value))

    def filter_actor_list(
        self, queryset: EventRecordQuerySet, name: str, value: list[str]
    ) -> EventRecordQuerySet:
        return queryset.by_actors(value) if value else queryset

    def filter_event_type_list(
        self, queryset: EventRecordQuerySet, name: str, value: list[str]
    ) -> EventRecordQuerySet:
        return queryset.of_event_types(value) if value else queryset

    def filter_object_id_list(
        self, queryset: EventRecordQuerySet, name: str, value: list[str]
    ) -> EventRecordQuerySet:
        if not value:
            return queryset
        object_type = self.form.cleaned_data.get("object_type")
        return queryset.touching(value, [object_type] if object_type else None)

    def filter_tag_list(
        self, queryset: EventRecordQuerySet, name: str, value: list[str]
    ) -> EventRecordQuerySet:
        return queryset.tagged(value) if value else queryset

    def filter_correlation_id(
        self, queryset: EventRecordQuerySet, name: str, value: str
    ) -> EventRecordQuerySet:
        return queryset.in_correlation(value.strip()) if value.strip() else queryset
