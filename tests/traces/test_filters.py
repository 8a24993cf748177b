"""EventFilterSet, DecisionFilterSet and PeriodForm without a request: values, errors, chips."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.http import QueryDict
from django.utils import timezone

from decisioning.models import Decision
from tests.traces.factories import EventRecordFactory, EventTagFactory, TrackedObjectRecordFactory
from traces.filters import (
    OBJECT_TYPE_NEEDS_ID,
    TAGS_TOO_MANY,
    UNTIL_BEFORE_SINCE,
    DecisionFilterSet,
    EventFilterSet,
    PeriodForm,
    active_filter_chips,
)
from traces.models import EventRecord

pytestmark = pytest.mark.django_db


def _filter(query: str) -> EventFilterSet:
    return EventFilterSet(QueryDict(query), queryset=EventRecord.objects.all(), request=None)


def test_event_filterset_works_without_request():
    """request=None is enough: the FilterSet needs nothing from the request."""
    kept = EventRecordFactory(actor__actor_type="compute")
    EventRecordFactory(actor__actor_type="user")
    filterset = _filter("actor_type=compute")
    assert filterset.is_valid()
    assert list(filterset.qs) == [kept]


def test_event_filterset_unbound_lists_everything():
    """No data at all: no filtering, and no errors."""
    EventRecordFactory.create_batch(2)
    filterset = EventFilterSet(None, queryset=EventRecord.objects.all())
    assert not filterset.is_bound
    assert filterset.qs.count() == 2


def test_event_filterset_explicit_fields():
    """Meta.fields lists every filter explicitly, each with a lookup_expr."""
    assert EventFilterSet._meta.fields == list(EventFilterSet.base_filters)
    assert all(f.lookup_expr for f in EventFilterSet.base_filters.values())


def test_event_type_prefix_and_exact():
    """'order.*' is a prefix; 'order.created' is exact."""
    created = EventRecordFactory(event_type="order.created")
    shipped = EventRecordFactory(event_type="order.shipped")
    EventRecordFactory(event_type="price.adjusted")
    assert set(_filter("event_type=order.*").qs) == {created, shipped}
    assert list(_filter("event_type=order.created").qs) == [created]


def test_event_type_prefix_with_one_or_no_stored_type_is_exact():
    """A prefix matching one stored type becomes that exact type; matching none, nothing."""
    created = EventRecordFactory(event_type="order.created")
    EventRecordFactory(event_type="orders.legacy")
    filterset = _filter("event_type=order.*")
    assert list(filterset.qs) == [created]
    assert " LIKE " not in str(filterset.qs.query).upper()
    assert list(_filter("event_type=zzz.*").qs) == []


def test_event_type_prefix_falls_back_past_the_type_cap(monkeypatch):
    """With more distinct types than the cap, the prefix match still finds every event."""
    monkeypatch.setattr("traces.filters.EVENT_TYPE_LIMIT", 1)
    created = EventRecordFactory(event_type="order.created")
    shipped = EventRecordFactory(event_type="order.shipped")
    assert set(_filter("event_type=order.*").qs) == {created, shipped}


def test_object_filter_by_type_and_id_or_external_id():
    """Object id matches the id or the external id, within the chosen type."""
    by_id = TrackedObjectRecordFactory(object_type="product", object_id="SKU-1").event
    by_external = TrackedObjectRecordFactory(
        object_type="product", object_id="p-9", external_id="SKU-1"
    ).event
    TrackedObjectRecordFactory(object_type="order", object_id="SKU-1")
    assert set(_filter("object_type=product&object_id=SKU-1").qs) == {by_id, by_external}
    assert _filter("object_id=SKU-1").qs.count() == 3


def test_tags_match_any():
    """Comma-separated tags match events carrying any of them."""
    vip = EventTagFactory(tag="vip").event
    promo = EventTagFactory(tag="promo").event
    EventTagFactory(tag="other")
    assert set(_filter("tag=vip,+promo").qs) == {vip, promo}


def test_period_preset_and_explicit_dates_win():
    """A preset bounds by now; explicit dates turn the period into a custom range."""
    now = timezone.now()
    recent = EventRecordFactory(effective_at=now - timedelta(minutes=10))
    old = EventRecordFactory(effective_at=now - timedelta(days=2))
    assert list(_filter("period=1h").qs) == [recent]
    since = (now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    filterset = _filter(f"period=1h&since={since}")
    assert filterset.is_valid()
    assert filterset.form.cleaned_data["period"] == "custom"
    assert set(filterset.qs) == {recent, old}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("since=2024-05-02T10:00&until=2024-05-01T10:00", "until", UNTIL_BEFORE_SINCE),
        ("since=2024-05-02T10:00&until=2024-05-02T10:00", "until", UNTIL_BEFORE_SINCE),
        ("object_type=order", "object_id", OBJECT_TYPE_NEEDS_ID),
        ("tag=" + ",".join("abcdefghijk"), "tag", TAGS_TOO_MANY),
    ],
)
def test_event_filterset_cross_field_errors(query, field, message):
    """Cross-field mistakes are errors on the field to fix, with a message saying how."""
    filterset = _filter(query)
    assert not filterset.is_valid()
    assert filterset.form.errors[field] == [message]


def test_chips_one_per_value_each_removing_only_itself():
    """Each chip's query string drops its own value and keeps the rest (and never the cursor)."""
    filterset = _filter("actor_type=ai_agent&actor_type=compute&outcome=failure&q=&cursor=abc")
    chips = active_filter_chips(filterset)
    assert [(chip.label, chip.value) for chip in chips] == [
        ("Actor type", "AI agent"),
        ("Actor type", "Compute"),
        ("Outcome", "Failure"),
    ]
    assert chips[0].remove_query == "actor_type=compute&outcome=failure"
    assert chips[2].remove_query == "actor_type=ai_agent&actor_type=compute"


def test_chips_none_for_invalid_or_unbound():
    """Invalid input has errors to show instead of chips."""
    assert active_filter_chips(_filter("actor_type=robot")) == []
    assert active_filter_chips(EventFilterSet(None, queryset=EventRecord.objects.all())) == []


@pytest.mark.parametrize(("value", "expected"), [("", "24h"), ("7d", "7d"), ("30d", "30d")])
def test_period_form_defaults_to_24_hours(value, expected):
    """The dashboard period is 24 hours unless another offered one is chosen."""
    form = PeriodForm(QueryDict(f"period={value}"))
    assert form.is_valid()
    assert form.cleaned_data["period"] == expected


def test_decision_filterset_by_target_and_outcome():
    """The target is matched as text against Decision.target_id, with the outcome."""
    event, other = EventRecordFactory(), EventRecordFactory()
    content_type = ContentType.objects.get_for_model(EventRecord)
    wanted = Decision.objects.create(
        target_content_type=content_type, target_id=str(event.pk), decision_type="refund"
    )
    Decision.objects.create(
        target_content_type=content_type,
        target_id=str(event.pk),
        decision_type="refund",
        outcome="approved",
    )
    Decision.objects.create(
        target_content_type=content_type, target_id=str(other.pk), decision_type="refund"
    )
    filterset = DecisionFilterSet(
        QueryDict(f"target={event.pk}&outcome=pending"),
        queryset=Decision.objects.all(),
        request=None,
    )
    assert filterset.is_valid()
    assert list(filterset.qs) == [wanted]
