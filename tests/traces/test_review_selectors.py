"""Review selectors and the queue's FilterSet, on the database itself (both engines)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.http import QueryDict
from django.utils import timezone

from decisioning.models import Decision
from tests.decisioning.factories import DecisionFactory
from tests.traces.factories import EventRecordFactory, proposal_record
from traces.filters import ReviewFilterSet
from traces.models import EventRecord
from traces.pagination import Cursor
from traces.review_selectors import (
    decisions_about_events,
    review_decision_types,
    review_item,
    review_page,
    review_tab_counts,
)

pytestmark = pytest.mark.django_db


def _about(target_id: str) -> Decision:
    return Decision.objects.create(
        target_content_type=ContentType.objects.get_for_model(EventRecord),
        target_id=target_id,
        decision_type="refund_approval",
    )


def test_decisions_about_events_joins_on_the_event_id():
    """Only decisions whose target is a matching event; stray ids neither match nor fail."""
    high = EventRecordFactory(risk_level="high")
    low = EventRecordFactory(risk_level="low")
    matching = [
        _about(str(high.pk)),
        _about(str(high.pk).upper()),
        _about(high.pk.hex),
    ]
    for stray in ("not-a-uuid", "", "'; DROP TABLE x; --", str(low.pk), str(uuid.uuid4())):
        _about(stray or "x")
    DecisionFactory()  # about an Order
    found = decisions_about_events(
        Decision.objects.all(), EventRecord.objects.with_risk_levels(["high"])
    )
    assert set(found) == set(matching)


def test_review_tab_counts_live_queue_only():
    """One count per tab; final and deleted decisions are not counted."""
    DecisionFactory.create_batch(2)
    DecisionFactory(outcome="escalated")
    DecisionFactory(outcome="approved")
    DecisionFactory(outcome="deferred").delete()
    assert review_tab_counts() == {"pending": 2, "deferred": 0, "escalated": 1}


def test_review_tab_counts_stop_at_the_cap_in_one_query(django_assert_num_queries):
    """Each tab counted up to ``cap`` (the pages show "1000+"), all three in one query."""
    DecisionFactory.create_batch(4)
    DecisionFactory.create_batch(2, outcome="deferred")
    with django_assert_num_queries(1):
        assert review_tab_counts(cap=3) == {"pending": 3, "deferred": 2, "escalated": 0}


def test_review_decision_types_distinct_and_sorted(django_assert_num_queries):
    """Distinct decision types, alphabetically, in one query."""
    DecisionFactory(decision_type="b_type")
    DecisionFactory(decision_type="a_type", outcome="escalated")
    DecisionFactory(decision_type="a_type")
    DecisionFactory(decision_type="final_type", outcome="rejected")
    with django_assert_num_queries(1):
        assert review_decision_types() == ["a_type", "b_type", "final_type"]
    assert review_decision_types(limit=1) == ["a_type"]


def test_review_page_loads_targets_and_tolerates_missing_ones(admin):
    """Events come with their actor, other targets as rows, gone targets as None."""
    event, about_event = proposal_record()
    about_order = DecisionFactory()
    about_nothing = _about(str(uuid.uuid4()))
    page = review_page(Decision.objects.filter(outcome="pending"), user=admin)
    items = {item.decision.pk: item for item in page.items}
    assert items[about_event.pk].event == event
    assert items[about_event.pk].event.actor.actor_id == "refund-ai"
    assert items[about_order.pk].target == about_order.target
    assert items[about_order.pk].event is None
    assert items[about_nothing.pk].event is None
    assert items[about_nothing.pk].target is None
    assert items[about_event.pk].actions == ("approve", "reject", "defer", "escalate")
    assert len({item.request_token for item in page.items}) == 3


def test_review_item_reasoning_prefers_the_event():
    """The row's "why" is the event's reasoning, else the decision's own reason."""
    _, decision = proposal_record(reasoning="Because of the photos")
    assert review_item(decision, user=None).reasoning == "Because of the photos"
    assert review_item(DecisionFactory(reason="Own reason"), user=None).reasoning == "Own reason"
    assert review_item(decision, user=None).actions == ()


def test_review_page_keyset_oldest_first():
    """Ascending (effective_at, id) pages; the cursor continues after the last row."""
    start = timezone.now() - timedelta(days=1)
    decisions = [DecisionFactory(effective_at=start + timedelta(minutes=i % 3)) for i in range(7)]
    expected = sorted(decisions, key=lambda d: (d.effective_at, d.pk))
    first = review_page(Decision.objects.all(), user=None, limit=4)
    second = review_page(Decision.objects.all(), user=None, limit=4, cursor=first.next_cursor)
    assert [i.decision for i in first.items + second.items] == expected
    assert second.next_cursor is None
    assert Cursor.decode(first.next_cursor).id == expected[3].pk


@pytest.mark.parametrize(
    ("query", "valid"),
    [
        ("", True),
        ("tab=escalated&risk=high&risk=low&actor_type=user&age=7d&decision_type=x", True),
        ("tab=approved", False),
        ("risk=huge", False),
        ("actor_type=robot", False),
        ("age=2h", False),
        ("decision_type=" + "x" * 101, False),
    ],
)
def test_review_filterset_without_request(query, valid):
    """The FilterSet works with request=None; bad values are form errors, never exceptions."""
    filterset = ReviewFilterSet(QueryDict(query), queryset=Decision.objects.all(), request=None)
    assert filterset.is_valid() is valid
    if valid:
        list(filterset.qs)


def test_review_filterset_defaults_to_pending():
    """Bound to nothing, the FilterSet is the pending tab."""
    pending = DecisionFactory()
    DecisionFactory(outcome="escalated")
    filterset = ReviewFilterSet(QueryDict(""), queryset=Decision.objects.all())
    assert filterset.is_valid()
    assert filterset.form.cleaned_data["tab"] == "pending"
    assert list(filterset.qs) == [pending]


@pytest.mark.parametrize(("n", "shown"), [(0, ">0<"), (999, ">999<"), (1_000, ">1000+<")])
def test_a_tab_count_at_the_cap_reads_as_a_lower_bound(n, shown):
    from traces.templatetags.traces_rows import review_tab_count

    assert shown in review_tab_count("pending", n)
