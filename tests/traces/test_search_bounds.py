"""The search's bounded plans give the unbounded answers (issue 16 point 6, issue 20 point 9).

At a million events each plan here saved tens to thousands of milliseconds
(benchmarks/README.md, "Issue 16, third pass"); on a few rows, with the bounds
lowered, they must count and rank exactly as the plain queries do, on both
databases: a prefix counted among the newest documents first, the review
trail left out by its stored types (or by ``LIKE`` past the type walk's
limit), best match over the most recent matches of the filtered events.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.traces.factories import EventRecordFactory
from tests.traces.test_search import HOSTILE
from traces import search, views
from traces.models import EventRecord
from traces.search import search_match_count, search_ranked_ids

pytestmark = pytest.mark.django_db

TIMELINE = reverse("traces:timeline")


def _kettles(old: int, new_others: int = 0) -> None:
    """``old`` events with "kettle N", then ``new_others`` newer ones without it."""
    now = timezone.now()
    for index in range(old):
        EventRecordFactory(description=f"kettle {index}", effective_at=now - timedelta(hours=9))
    for index in range(new_others):
        EventRecordFactory(description=f"teapot {index}", effective_at=now)


@pytest.mark.parametrize("sample", [1, 2, 1_000])
@pytest.mark.parametrize("walk", [2, 1_000])
@pytest.mark.parametrize(
    ("old", "new_others", "cap", "expected"),
    [
        (5, 0, 3, 3),  # more than the cap among the newest: the walk stops there
        (5, 0, 10, 5),  # fewer than the cap: counted from the index
        (5, 4, 3, 3),  # the matches are older than the walk reads
        (0, 4, 3, 0),  # a prefix in none
    ],
)
def test_prefix_count_is_the_same_whatever_the_walk_reads(
    monkeypatch, sample, walk, old, new_others, cap, expected
):
    monkeypatch.setattr(search, "PREFIX_WALK_DOCUMENTS", walk)
    monkeypatch.setattr(search, "PREFIX_SAMPLE_DOCUMENTS", sample)
    _kettles(old, new_others)
    assert search_match_count("kett*", cap=cap) == expected
    assert search_match_count("kett* OR zebra", cap=cap) == expected
    assert search_match_count("kettle", cap=cap) == expected


@pytest.fixture
def trail():
    """Two matching events of the store, two of the review trail (``decision.*``)."""
    EventRecordFactory(event_type="order.created", description="kettle one")
    EventRecordFactory(event_type="note.added", description="kettle two")
    EventRecordFactory(event_type="decision.approved", description="kettle approved")
    EventRecordFactory(event_type="decision.rejected", description="kettle rejected")
    EventRecordFactory(event_type="decisions.other", description="kettle three")


@pytest.mark.parametrize("walk_limit", [0, 200], ids=["types unknown: LIKE", "types read"])
@pytest.mark.parametrize("text", ["kettle", "kett*", '"kettle approved" OR kettle'])
def test_review_trail_left_out_of_counts_and_ranks(trail, monkeypatch, walk_limit, text):
    """Told apart by its stored types, or (too many types) by LIKE: the same events."""
    monkeypatch.setattr(search, "EVENT_TYPE_WALK_LIMIT", walk_limit)
    assert search_match_count(text, cap=100) == 5
    assert search_match_count(text, cap=100, with_review_trail=False) == 3
    assert search_match_count(text, cap=2, with_review_trail=False) == 2
    ranked = search_ranked_ids(text, limit=10, match_limit=100, with_review_trail=False)
    shown = EventRecord.objects.filter(pk__in=ranked).values_list("event_type", flat=True)
    assert sorted(shown) == ["decisions.other", "note.added", "order.created"]
    assert len(search_ranked_ids(text, limit=10, with_review_trail=True)) == 5


def test_without_any_trail_type_the_search_has_no_trail_condition():
    """No ``decision.*`` type stored: nothing to leave out, no probe per match."""
    EventRecordFactory(event_type="order.created", description="kettle one")
    with CaptureQueriesContext(connection) as queries:
        assert search_match_count("kettle", cap=10, with_review_trail=False) == 1
    assert not any("EXISTS" in query["sql"] for query in queries)


def test_best_match_ranks_the_most_recent_matches_of_the_filtered_events():
    """``match_limit``: the most recently recorded matches among the restricted events."""
    kept = [EventRecordFactory(outcome="failure", description="kettle kettle") for _ in range(2)]
    newer = [EventRecordFactory(outcome="failure", description="kettle") for _ in range(2)]
    for _ in range(3):
        EventRecordFactory(outcome="success", description="kettle kettle kettle")
    failures = EventRecord.objects.filter(outcome="failure")
    ranked = search_ranked_ids("kettle", failures, limit=10, match_limit=2)
    assert sorted(ranked) == sorted(event.pk for event in newer)
    everything = search_ranked_ids("kettle", failures, limit=10)
    assert sorted(everything) == sorted(event.pk for event in kept + newer)
    assert set(everything[:2]) == {event.pk for event in kept}


def test_best_match_page_says_it_ranked_the_most_recent_matches(admin_client, monkeypatch):
    """Past the bound, best match ranks the most recently recorded matches and says so."""
    monkeypatch.setattr(search, "SEARCH_MATCH_LIMIT", 3)
    _kettles(5)
    response = admin_client.get(TIMELINE, {"q": "kettle", "sort": "best"})
    assert len(response.context["page"].items) == 3
    assert (
        "the 3 best of the most recent matches (at most 3, among the 200,000 events recorded last)"
        in response.content.decode()
    )
    few = admin_client.get(TIMELINE, {"q": "kettle 4", "sort": "best"})
    assert "most recent matches" not in few.content.decode()


@pytest.mark.parametrize("restricted", [False, True])
def test_best_match_ranks_within_the_newest_documents_only(monkeypatch, restricted):
    """With match_limit, matches older than the SEARCH_RANK_WINDOW newest documents are left out."""
    monkeypatch.setattr(search, "SEARCH_RANK_WINDOW", 3)
    old = [EventRecordFactory(description=f"kettle {n}") for n in range(2)]
    for n in range(2):
        EventRecordFactory(description=f"filler {n}")
    newest = EventRecordFactory(description="kettle new")
    queryset = EventRecord.objects.all() if restricted else None
    ranked = search_ranked_ids("kettle", queryset, limit=10, match_limit=10)
    assert ranked == [newest.pk]
    everything = search_ranked_ids("kettle", queryset, limit=10)
    assert sorted(everything) == sorted(event.pk for event in [*old, newest])


def test_best_match_within_the_window_of_an_empty_index_finds_nothing():
    assert search_ranked_ids("kettle", limit=10, match_limit=10) == []
    assert search_ranked_ids("kettle", EventRecord.objects.all(), limit=10, match_limit=10) == []


def test_best_match_shows_one_page_of_rows(admin_client):
    """Best match shows as many rows as a newest-first page."""
    _kettles(views.PAGE_SIZE + 5)
    response = admin_client.get(TIMELINE, {"q": "kettle", "sort": "best"})
    assert len(response.context["page"].items) == views.PAGE_SIZE == views.BEST_MATCH_LIMIT


@pytest.mark.parametrize("text", [t for t in HOSTILE if "\x00" not in t and len(t) <= 200])
@pytest.mark.parametrize("sort", ["newest", "best"])
def test_hostile_search_syntax_answers_200_without_view_decision(
    client, make_user, trail, text, sort
):
    """A signed-in user who may not view decisions: the trail's plans keep answering 200."""
    client.force_login(make_user("nobody"))
    response = client.get(TIMELINE, {"q": text or "x", "sort": sort})
    assert response.status_code == 200
    assert "kettle approved" not in response.content.decode()


@pytest.mark.parametrize("sort", ["newest", "best"])
@pytest.mark.parametrize("role", ["nobody", "reviewer"])
def test_search_page_reads_the_stored_types_once(client, make_user, trail, role, sort):
    """The form's suggestions and the search's trail condition share one read of the types."""
    client.force_login(make_user(role))
    client.get(TIMELINE, {"q": "kettle", "sort": sort})  # warm the permission caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(TIMELINE, {"q": "kettle", "sort": sort})
    assert response.status_code == 200
    walks = [query for query in queries if "WITH RECURSIVE found" in query["sql"]]
    assert len(walks) == 1
    shown = {event.event_type for event in response.context["page"].items}
    assert any(value.startswith("decision.") for value in shown) is (role == "reviewer")


@pytest.mark.parametrize("sort", ["newest", "best"])
@pytest.mark.parametrize("text", ["zebra", "zeb*", '"teapot zebra"'])
def test_a_search_in_no_event_asks_the_index_once(admin_client, text, sort):
    """No match counted: no list, no ranking (a rare prefix's list was a walk of every
    document on PostgreSQL, 0.7 s at 1.5M events). On PostgreSQL a best match, and the
    count of a prefix, sample the newest documents first, then count (and rank) in one
    statement."""
    _kettles(0, new_others=3)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(TIMELINE, {"q": text, "sort": sort})
    assert response.status_code == 200
    assert response.context["page"].items == []
    asked = [q for q in queries if "MATCH" in q["sql"] or "@@" in q["sql"]]
    sampled = connection.vendor == "postgresql" and (sort == "best" or text.endswith("*"))
    assert len(asked) == (2 if sampled else 1)


@pytest.mark.parametrize("bound", [3, 1_000])
def test_best_match_is_the_same_below_and_above_the_bound_when_all_fit(
    admin_client, monkeypatch, bound
):
    """Up to the bound every match is ranked; past it the most recent ones (here: all five
    of six fit either way, so the order is the same)."""
    monkeypatch.setattr(search, "SEARCH_MATCH_LIMIT", bound)
    _kettles(5)
    response = admin_client.get(TIMELINE, {"q": "kettle 4 OR kettle", "sort": "best"})
    items = response.context["page"].items
    assert len(items) == min(bound, 5)
    assert items[0].description == "kettle 4"
