"""FilterSets for the web UI: the timeline's event filters, the decisions list, the review queue.

Each filter maps to one ``EventRecordQuerySet`` verb backed by an index. The
FilterSets work with ``request=None``; the view checks ``is_valid()`` and
shows the form's errors instead of a list when the input is bad.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.http import urlencode

from decision_trace.enums import ActorType, EventOutcome, ObjectType, RiskLevel, choices
from decision_trace.exceptions import TraceValidationError
from decision_trace.validation import aware
from decisioning.models import Decision, DecisionOutcome
from traces.feedback import FeedbackLabel, marked
from traces.models import ActorRecord, EventRecord, EventTag
from traces.querysets import EventRecordQuerySet
from traces.review_selectors import QUEUE_OUTCOMES, decisions_about_events
from traces.search import (
    search_events,
    search_match_count,
    search_match_limit,
    search_probe_pays,
)
from traces.ui.charts import PERIODS
from traces.ui.common import EVENT_TYPE_LIMIT, known_event_types
from traces.ui.fields import RenderedOnceBoundField

__all__ = [
    "DECISION_ORDER_DECIDED",
    "SORT_BEST",
    "DecisionFilterSet",
    "EventFilterSet",
    "FilterChip",
    "KnownAtForm",
    "PeriodForm",
    "ReviewFilterSet",
    "active_filter_chips",
]

UNTIL_BEFORE_SINCE = "“To” must be later than “From”."
OBJECT_TYPE_NEEDS_ID = "Enter the object id too: objects are looked up by id and type."
TAGS_TOO_MANY = "Give at most 10 tags."
MAX_QUERY_LENGTH = 200
MAX_TAGS = 10
TAG_PROBE_AFTER = 5_000

TIME_PRESETS = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
CUSTOM = "custom"
PERIOD_CHOICES = [(key, label) for key, (label, _) in TIME_PRESETS.items()] + [
    (CUSTOM, "Custom range")
]

SORT_NEWEST = "newest"
SORT_BEST = "best"
SORT_CHOICES = [(SORT_NEWEST, "Newest first"), (SORT_BEST, "Best match")]

FEEDBACK_ANY = "any"
FEEDBACK_CHOICES = [(FEEDBACK_ANY, "Labelled (any)"), *FeedbackLabel.choices]

APPROVAL_ANY = "required"
APPROVAL_CHOICES = [(APPROVAL_ANY, "Needs approval (any status)"), *DecisionOutcome.choices]


def _datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _known_at_input() -> forms.DateTimeInput:
    # To the second: "as known at" often means just before a given recording.
    return forms.DateTimeInput(
        attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
    )


KNOWN_AT_HELP = "Show only what had been recorded by then: later events and corrections hidden."
KNOWN_AT_OUT_OF_RANGE = "Enter a time between the years 1 and 9999 in UTC."


def _in_utc_range(value: datetime) -> bool:
    """Whether an aware datetime still exists in UTC (9999-12-31 23:00-01:00 does not)."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        return False
    return True


def _checkboxes(
    method: str, label: str, options: list[tuple[str, str]]
) -> django_filters.MultipleChoiceFilter:
    """A several-at-once filter shown as checkboxes, applied by the FilterSet's `method`."""
    return django_filters.MultipleChoiceFilter(
        method=method,
        label=label,
        choices=options,
        widget=forms.CheckboxSelectMultiple,
    )


def _split_tags(value: str) -> list[str]:
    return [tag.strip() for tag in value.split(",") if tag.strip()]


class _Form(forms.Form):
    """Labels without Django's trailing colon (the layout sets labels apart already); each
    field group rendered once per state (``RenderedOnceBoundField``)."""

    bound_field_class = RenderedOnceBoundField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class EventFilterForm(_Form):
    """Cross-field checks: a time range that ends after it starts, an object type with an id."""

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for name in ("since", "until"):
            if data.get(name):
                try:
                    aware(str(self.fields[name].label), data[name])
                except TraceValidationError as exc:
                    self.add_error(name, str(exc))
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", UNTIL_BEFORE_SINCE)
        if data.get("object_type") and not data.get("object_id"):
            self.add_error("object_id", OBJECT_TYPE_NEEDS_ID)
        if len(_split_tags(data.get("tag") or "")) > MAX_TAGS:
            self.add_error("tag", TAGS_TOO_MANY)
        known_at = data.get("known_at")
        if known_at is not None and not _in_utc_range(known_at):
            self.add_error("known_at", KNOWN_AT_OUT_OF_RANGE)
        if (since or until) and data.get("period") in TIME_PRESETS:
            # Explicit dates win over a preset: the range is what the person typed.
            data["period"] = CUSTOM
        return data


class EventFilterSet(django_filters.FilterSet):
    """The timeline's filters; every value combines with AND, values within one filter with OR."""

    q = django_filters.CharFilter(
        method="filter_q",
        label="Search",
        max_length=MAX_QUERY_LENGTH,
        help_text='All words match; "a phrase", either OR other, prefix*.',
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "refund, fraud, …"}),
    )
    actor_type = _checkboxes("filter_actor_type", "Actor type", choices(ActorType))
    actor = django_filters.CharFilter(
        method="filter_actor",
        label="Actor id",
        max_length=255,
        help_text="Exact id, e.g. pricing-ai.",
    )
    event_type = django_filters.CharFilter(
        method="filter_event_type",
        label="Event type",
        max_length=100,
        help_text="Exact, or a prefix ending in * (order.*).",
        widget=forms.TextInput(attrs={"list": "known-event-types", "autocomplete": "off"}),
    )
    object_type = django_filters.ChoiceFilter(
        method="filter_object_type",
        label="Object type",
        choices=choices(ObjectType),
        empty_label="Any type",
    )
    object_id = django_filters.CharFilter(
        method="filter_object_id",
        label="Object id",
        max_length=255,
        help_text="Id or external id, e.g. ord-123 or a SKU.",
    )
    outcome = _checkboxes("filter_outcome", "Outcome", choices(EventOutcome))
    risk = _checkboxes("filter_risk", "Risk", choices(RiskLevel))
    approval = django_filters.ChoiceFilter(
        method="filter_approval",
        label="Approval",
        choices=APPROVAL_CHOICES,
        empty_label="Any",
    )
    sort = django_filters.ChoiceFilter(
        method="filter_sort",
        label="Order",
        choices=SORT_CHOICES,
        empty_label=None,
        help_text="Best match applies to a search: its 30 best rows.",
    )
    feedback = django_filters.ChoiceFilter(
        method="filter_feedback",
        label="Feedback",
        choices=FEEDBACK_CHOICES,
        empty_label="Any",
        help_text="The latest label a reviewer gave.",
    )
    tag = django_filters.CharFilter(
        method="filter_tag",
        label="Tags",
        max_length=MAX_QUERY_LENGTH,
        help_text="Comma-separated; any of them.",
    )
    period = django_filters.ChoiceFilter(
        method="filter_period",
        label="Range",
        choices=PERIOD_CHOICES,
        empty_label="Any time",
    )
    since = django_filters.IsoDateTimeFilter(
        field_name="effective_at", lookup_expr="gte", label="From", widget=_datetime_input()
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="effective_at", lookup_expr="lt", label="To", widget=_datetime_input()
    )

    # System time: a residual filter on the (effective_at, id) scan, no index of its
    # own (an index on recorded_at would cost every insert; docs/evidence.md).
    known_at = django_filters.IsoDateTimeFilter(
        field_name="recorded_at",
        lookup_expr="lte",
        label="As known at",
        widget=_known_at_input(),
        help_text=KNOWN_AT_HELP,
    )

    class Meta:
        model = EventRecord
        form = EventFilterForm
        fields = [
            "q",
            "actor_type",
            "actor",
            "event_type",
            "object_type",
            "object_id",
            "outcome",
            "risk",
            "approval",
            "feedback",
            "sort",
            "tag",
            "period",
            "since",
            "until",
            "known_at",
        ]

    # Set by filter_q: how many events hold the words (up to search_match_limit + 1),
    # and whether the list covers only the search_match_limit most recent of them.
    match_count: int | None = None
    match_limited = False

    def __init__(
        self,
        *args: Any,
        with_review_trail: bool = True,
        event_types: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """``with_review_trail=False``: the match count leaves the ``decision.*`` events out.

        (The queryset given must leave them out too: ``events_visible``.)
        ``event_types``: every stored event type, if the caller read them already
        (``known_event_types()``); the search then need not read them again.
        """
        super().__init__(*args, **kwargs)
        self.with_review_trail = with_review_trail
        self.event_types = event_types

    def filter_q(self, queryset: EventRecordQuerySet, name: str, value: str) -> EventRecordQuerySet:
        limit = search_match_limit(value)
        self.match_count = search_match_count(
            value,
            cap=limit + 1,
            with_review_trail=self.with_review_trail,
            event_types=self.event_types,
        )
        if not self.match_count:
            return queryset.none()
        if not self._filters_besides_search() and search_probe_pays(
            self.match_count, limit=limit, using=queryset.db
        ):
            # Words in many events and nothing else to narrow: the newest-first
            # page asks the index about each event it reads, and stops once full
            # (about 60 events for a word in half of them).
            return search_events(value, queryset, probe=True)
        if self.match_count <= limit:
            # The limit cuts nothing here; it keeps PostgreSQL from turning the list
            # into a semi-join that walks every event for a word in none of them.
            return search_events(value, queryset, match_limit=limit)
        # Another filter could keep few of the matches: probing could then read
        # every event it selects. Its rows among the most recent matches instead,
        # and the page says so.
        self.match_limited = True
        return search_events(value, queryset, match_limit=limit)

    def _filters_besides_search(self) -> bool:
        return any(
            value not in (None, "", [])
            for name, value in self.form.cleaned_data.items()
            if name not in ("q", "sort")
        )

    def filter_actor_type(
        self, queryset: EventRecordQuerySet, name: str, value: list[str]
    ) -> EventRecordQuerySet:
        return queryset.of_actor_types(value) if value else queryset

    def filter_actor(
        self, queryset: EventRecordQuerySet, name: str, value: str
    ) -> EventRecordQuerySet:
        if not value.strip():
            return queryset
        # The actors' keys first: one key is an equality, which lets the database read
        # the (actor, effective_at, id) index in page order instead of sorting every
        # event of a busy actor (a far-back cursor made that 2-3 s at a million events).
        keys = list(
            ActorRecord.objects.filter(actor_id=value.strip()).values_list("pk", flat=True)[:10]
        )
        if len(keys) == 1:
            return queryset.filter(actor_id=keys[0])
        return queryset.filter(actor__in=keys)

    def filter_event_type(
        self, queryset: EventRecordQuerySet, name: str, value: str
    ) -> EventRecordQuerySet:
        pattern = value.strip()
        if not pattern:
            return queryset
        if pattern.endswith("*") and pattern != "*":
            # A prefix is a LIKE, which neither database serves from the event-type
            # index: one that matches nothing would scan the whole table. The stored
            # types, read by skipping through that index, settle the cheap cases: no
            # match is an empty list, one match is an exact (index-ordered) type.
            # Several matching types keep the prefix scan, which stops as soon as a
            # page is full; an IN list would sort every matching row instead.
            known = known_event_types(limit=EVENT_TYPE_LIMIT + 1)
            matches = [t for t in known if t.startswith(pattern[:-1])]
            if len(known) <= EVENT_TYPE_LIMIT and len(matches) <= 1:
                return queryset.of_event_types(matches)
        return queryset.of_event_types([pattern])

    def filter_object_type(
        self, queryset: EventRecordQuerySet, name: str, value: str
    ) -> EventRecordQuerySet:
        # Applied together with the id in filter_object_id (the index is on id, then type).
        return queryset

    def filter_object_id(
        self, queryset: EventRecordQuerySet, name: str, value: str
    ) -> EventRecordQuerySet:
        if not value.strip():
            return queryset
        object_type = self.form.cleaned_data.get("object_type")
        return queryset.touching([value.strip()], [object_type] if object_type else None)

    def filter_outcome(
        self, queryset: EventRecordQuerySet, name: str, value: list[str]
    ) -> EventRecordQuerySet:
        return queryset.with_outcomes(value) if value else queryset

    def filter_risk(
        self, queryset: EventRecordQuerySet, name: str, value: list[str]
    ) -> EventRecordQuerySet:
        return queryset.with_risk_levels(value) if value else queryset

    def filter_approval(
        self, queryset: EventRecordQuerySet, name: str, value: str
    ) -> EventRecordQuerySet:
        if value == APPROVAL_ANY:
            return queryset.needing_approval()
        return queryset.with_approval_status([value])

    def filter_sort(
        self, queryset: QuerySet[EventRecord], name: str, value: str
    ) -> QuerySet[EventRecord]:
        # The view orders the page (best match has no keyset pages).
        return queryset

    def filter_feedback(
        self, queryset: QuerySet[EventRecord], name: str, value: str
    ) -> QuerySet[EventRecord]:
        labels = FeedbackLabel.values if value == FEEDBACK_ANY else [value]
        return marked(queryset, labels)

    def filter_tag(
        self, queryset: EventRecordQuerySet, name: str, value: str
    ) -> EventRecordQuerySet:
        tags = _split_tags(value)
        if not tags:
            return queryset
        # Rare tags: collect their events. Common ones (more rows than TAG_PROBE_AFTER,
        # counted through the tag index up to that bound): probe each event the page reads.
        rows = EventTag.objects.filter(tag__in=tags)[: TAG_PROBE_AFTER + 1].count()
        return queryset.tagged(tags, probe=rows > TAG_PROBE_AFTER)

    def filter_period(
        self, queryset: EventRecordQuerySet, name: str, value: str
    ) -> EventRecordQuerySet:
        if value not in TIME_PRESETS:
            return queryset
        return queryset.filter(effective_at__gte=timezone.now() - TIME_PRESETS[value][1])


@dataclass(frozen=True)
class FilterChip:
    """An active filter value, with the query string that removes it."""

    label: str
    value: str
    remove_query: str


def active_filter_chips(filterset: EventFilterSet) -> list[FilterChip]:
    """One chip per active value of a valid, bound FilterSet (multi-valued filters: one each)."""
    if not filterset.is_bound or not filterset.is_valid():
        return []
    data = filterset.data
    if not isinstance(data, QueryDict):  # bound to a plain dict (tests, request=None)
        data = QueryDict(urlencode(data or {}, doseq=True))
    chips = []
    for name in filterset.form.fields:
        if name == "sort":
            continue
        bound = filterset.form[name]
        option_labels = {str(key): str(label) for key, label in getattr(bound.field, "choices", [])}
        for raw in data.getlist(name):
            if not raw.strip():
                continue
            remaining = [
                (key, value)
                for key in data
                if key not in ("cursor", "through")
                for value in data.getlist(key)
                if value.strip() and (key, value) != (name, raw)
            ]
            shown = option_labels.get(raw, raw)
            if name in ("since", "until", "known_at"):
                shown = shown.replace("T", " ")
            chips.append(FilterChip(str(bound.label), shown, urlencode(remaining)))
    return chips


class KnownAtForm(_Form):
    """``?known_at=``: the event page and an object's history as known at a time."""

    known_at = forms.DateTimeField(
        required=False, label="As known at", widget=_known_at_input(), help_text=KNOWN_AT_HELP
    )

    def clean_known_at(self) -> datetime | None:
        value: datetime | None = self.cleaned_data["known_at"]
        if value is not None and not _in_utc_range(value):
            raise forms.ValidationError(KNOWN_AT_OUT_OF_RANGE)
        return value


class PeriodForm(_Form):
    """The look-back window of the dashboard and the actor page."""

    period = forms.ChoiceField(
        label="Period",
        choices=[(key, period.label) for key, period in PERIODS.items()],
        required=False,
    )

    def clean_period(self) -> str:
        return self.cleaned_data["period"] or "24h"


DECISION_ORDER_PROPOSED = "proposed"
DECISION_ORDER_DECIDED = "decided"
DECISION_ORDERS = [
    (DECISION_ORDER_PROPOSED, "Recently proposed"),
    (DECISION_ORDER_DECIDED, "Recently decided"),
]


class DecisionFilterSet(django_filters.FilterSet):
    """Filters of the decisions list: the target event, the outcome and the decision type."""

    target = django_filters.UUIDFilter(method="filter_target", label="Target event id")
    outcome = django_filters.MultipleChoiceFilter(
        field_name="outcome",
        lookup_expr="exact",
        label="Outcome",
        choices=DecisionOutcome.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    decision_type = django_filters.CharFilter(
        field_name="decision_type", lookup_expr="exact", label="Decision type", max_length=100
    )
    # Applied by the view (the page's order and cursor), not as a filter.
    order = django_filters.ChoiceFilter(
        method="filter_order",
        label="Order",
        choices=DECISION_ORDERS,
        empty_label=None,
    )

    class Meta:
        model = Decision
        form = _Form
        fields = ["target", "outcome", "decision_type", "order"]

    def filter_order(
        self, queryset: QuerySet[Decision], name: str, value: str
    ) -> QuerySet[Decision]:
        return queryset

    def filter_target(
        self, queryset: QuerySet[Decision], name: str, value: Any
    ) -> QuerySet[Decision]:
        # Decision.target_id is text holding str(uuid) of the event.
        return queryset.filter(target_id=str(value)) if value else queryset


REVIEW_TAB_CHOICES = [(outcome.value, outcome.label) for outcome in QUEUE_OUTCOMES]
REVIEW_AGES = {
    "1h": ("Older than an hour", timedelta(hours=1)),
    "24h": ("Older than 24 hours", timedelta(hours=24)),
    "7d": ("Older than 7 days", timedelta(days=7)),
}


class ReviewFilterForm(_Form):
    """The tab defaults to pending, so a bound empty form is the pending queue."""

    def clean_tab(self) -> str:
        return self.cleaned_data["tab"] or DecisionOutcome.PENDING.value


class ReviewFilterSet(django_filters.FilterSet):
    """The review queue's tab and filters; bind it even to empty data (the tab defaults to pending).

    Risk and actor type are the originating event's: a decision that is not
    about a recorded event matches neither.
    """

    tab = django_filters.ChoiceFilter(
        method="filter_tab",
        label="Tab",
        choices=REVIEW_TAB_CHOICES,
        widget=forms.HiddenInput,
    )
    decision_type = django_filters.CharFilter(
        field_name="decision_type",
        lookup_expr="exact",
        label="Decision type",
        max_length=100,
        help_text="Exact, e.g. refund_approval.",
        widget=forms.TextInput(attrs={"list": "review-decision-types", "autocomplete": "off"}),
    )
    risk = _checkboxes("filter_risk", "Risk", choices(RiskLevel))
    actor_type = _checkboxes("filter_actor_type", "Proposed by", choices(ActorType))
    age = django_filters.ChoiceFilter(
        method="filter_age",
        label="Waiting",
        choices=[(key, label) for key, (label, _) in REVIEW_AGES.items()],
        empty_label="Any time",
    )
    overdue = django_filters.ChoiceFilter(
        method="filter_overdue",
        label="Due",
        choices=[("1", "Overdue only")],
        empty_label="Any due time",
    )

    class Meta:
        model = Decision
        form = ReviewFilterForm
        fields = ["tab", "decision_type", "risk", "actor_type", "age", "overdue"]

    def filter_overdue(
        self, queryset: QuerySet[Decision], name: str, value: str
    ) -> QuerySet[Decision]:
        if value != "1":
            return queryset
        return queryset.filter(due_at__lt=timezone.now())

    def filter_tab(self, queryset: QuerySet[Decision], name: str, value: str) -> QuerySet[Decision]:
        return queryset.filter(outcome=value)

    def filter_risk(
        self, queryset: QuerySet[Decision], name: str, value: list[str]
    ) -> QuerySet[Decision]:
        if not value:
            return queryset
        return decisions_about_events(queryset, EventRecord.objects.with_risk_levels(value))

    def filter_actor_type(
        self, queryset: QuerySet[Decision], name: str, value: list[str]
    ) -> QuerySet[Decision]:
        if not value:
            return queryset
        return decisions_about_events(queryset, EventRecord.objects.of_actor_types(value))

    def filter_age(self, queryset: QuerySet[Decision], name: str, value: str) -> QuerySet[Decision]:
        if value not in REVIEW_AGES:
            return queryset
        return queryset.filter(effective_at__lte=timezone.now() - REVIEW_AGES[value][1])
