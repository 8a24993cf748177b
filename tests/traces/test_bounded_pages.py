"""Pages an outsider can make slow stay bounded (issue 20, point 9).

At a million events these cost seconds before (benchmarks/README.md); here
the same plans run on a few rows with the bounds lowered, on both databases:
the answer is the same as the unbounded one, or it says what it left out.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.traces.factories import ActorRecordFactory, EventRecordFactory, EventTagFactory
from traces import filters, search
from traces.models import EventRecord, EventSearchDocument
from traces.ui import actors

pytestmark = pytest.mark.django_db

TIMELINE = reverse("traces:timeline")


def _listed(response) -> list[str]:
    return [event.description for event in response.context["page"].items]


@pytest.mark.parametrize("probe_after", [0, 1_000])
def test_tag_filter_gives_the_same_events_with_either_plan(
    admin_client, monkeypatch, probe_after, django_assert_max_num_queries
):
    """Collected (rare tags) or probed per row (common tags): the same events, newest first."""
    monkeypatch.setattr(filters, "TAG_PROBE_AFTER", probe_after)
    for index in range(6):
        event = EventRecordFactory(description=f"e{index}")
        EventTagFactory(event=event, tag="vip" if index % 2 else "other")
    EventTagFactory(event=EventRecord.objects.get(description="e0"), tag="vip")
    # One of them reads the page's corrections (the events' current versions).
    # +1: the rows' feedback labels (issue 16).
    with django_assert_max_num_queries(9):
        response = admin_client.get(TIMELINE, {"tag": "vip, missing, also-missing"})
    assert _listed(response) == ["e5", "e3", "e1", "e0"]


def test_a_word_in_more_events_than_the_bound_is_probed_per_row(admin_client, monkeypatch):
    """Issue 16: with no other filter, a word in more events than the bound is asked
    about each event the newest-first page reads: every match is listed, none left out."""
    monkeypatch.setattr(search, "SEARCH_MATCH_LIMIT", 3)
    for index in range(5):
        EventRecordFactory(description=f"kettle {index}")
    EventRecordFactory(description="teapot")
    response = admin_client.get(TIMELINE, {"q": "kettle"})
    assert response.status_code == 200
    assert _listed(response) == [f"kettle {index}" for index in range(4, -1, -1)]
    html = response.content.decode()
    assert "More than 3</strong> events contain these words" in html
    assert "recently recorded of them" not in html


def test_a_word_in_more_events_than_the_search_reads_says_so(admin_client, monkeypatch):
    """With another filter, the search reads the most recently recorded matches only,
    and the page says so."""
    monkeypatch.setattr(search, "SEARCH_MATCH_LIMIT", 3)
    for index in range(5):
        EventRecordFactory(description=f"kettle {index}")
    response = admin_client.get(TIMELINE, {"q": "kettle", "outcome": "success"})
    assert response.status_code == 200
    assert _listed(response) == ["kettle 4", "kettle 3", "kettle 2"]
    assert "more than 3 events" in response.content.decode()


def test_a_word_in_fewer_events_than_the_bound_lists_them_all(admin_client):
    """Below the bound nothing is left out and no notice is shown."""
    for index in range(5):
        EventRecordFactory(description=f"kettle {index}")
    response = admin_client.get(TIMELINE, {"q": "kettle"})
    assert len(_listed(response)) == 5
    assert "recently recorded of them" not in response.content.decode()


def test_actor_filter_far_back_cursor_and_actors_sharing_an_id(admin_client):
    """One actor's key is an equality; two actors with one id (two types) are both listed."""
    user = ActorRecordFactory(actor_type="user", actor_id="sam")
    agent = ActorRecordFactory(actor_type="ai_agent", actor_id="sam")
    EventRecordFactory(actor=user, description="by the user")
    EventRecordFactory(actor=agent, description="by the agent")
    EventRecordFactory(description="someone else")
    response = admin_client.get(TIMELINE, {"actor": "sam"})
    assert sorted(_listed(response)) == ["by the agent", "by the user"]
    response = admin_client.get(TIMELINE, {"actor": "nobody-has-this-id"})
    assert _listed(response) == []


def test_busy_actor_page_counts_its_latest_events_and_says_so(admin_client, monkeypatch):
    """Over the bound: the latest events are counted, the page says how many."""
    monkeypatch.setattr(actors, "ACTOR_COUNT_LIMIT", 3)
    actor = ActorRecordFactory(actor_type="ai_agent", actor_id="busy")
    now = timezone.now()
    for minutes in range(5):
        EventRecordFactory(actor=actor, effective_at=now - timedelta(minutes=minutes + 1))
    response = admin_client.get(reverse("traces:actor_detail", args=["ai_agent", "busy"]))
    summary = response.context["summary"]
    assert (summary.total, summary.capped) == (3, True)
    assert sum(row.count for row in summary.by_outcome) == 3
    assert "the counts cover the latest 3" in response.content.decode()


@pytest.mark.parametrize("events", [2, 3])
def test_actor_page_at_or_below_the_bound_counts_everything(admin_client, monkeypatch, events):
    """Exactly at the bound is not "more than": no notice."""
    monkeypatch.setattr(actors, "ACTOR_COUNT_LIMIT", 3)
    actor = ActorRecordFactory(actor_type="ai_agent", actor_id="calm")
    for minutes in range(events):
        EventRecordFactory(actor=actor, effective_at=timezone.now() - timedelta(minutes=minutes))
    response = admin_client.get(reverse("traces:actor_detail", args=["ai_agent", "calm"]))
    assert (response.context["summary"].total, response.context["summary"].capped) == (
        events,
        False,
    )


@pytest.mark.parametrize(
    ("bound", "at_least", "plan"), [(1_000, 1_000, "list"), (3, 1_000, "probe")]
)
def test_search_page_plan_follows_the_match_count(admin_client, monkeypatch, bound, at_least, plan):
    """Few matches: a bounded list of them (its LIMIT keeps PostgreSQL from a semi-join
    that walked every event for a rare word: 6.8 s at 1M); past the bound, with no
    other filter, an EXISTS per row read."""
    monkeypatch.setattr(search, "SEARCH_MATCH_LIMIT", bound)
    monkeypatch.setattr(search, "PROBE_AFTER_AT_LEAST", at_least)
    for index in range(5):
        EventRecordFactory(description=f"kettle {index}")
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(TIMELINE, {"q": "kettle"}).status_code == 200
    pages = [
        q["sql"]
        for q in queries
        if q["sql"].startswith('SELECT "traces_eventrecord"."effective_at"')
        and ("MATCH" in q["sql"] or "@@" in q["sql"])
    ]
    assert len(pages) == 1
    if plan == "list":
        assert "DESC LIMIT" in pages[0]
        assert "EXISTS" not in pages[0]
    else:
        assert "EXISTS" in pages[0]


def test_best_match_page_reads_no_probe_set(admin_client, monkeypatch):
    """Past the bound a best-match page ranks; where the newest-first probe's set of
    recent matches starts is read only by a page that probes."""
    monkeypatch.setattr(search, "SEARCH_MATCH_LIMIT", 3)
    for index in range(5):
        EventRecordFactory(description=f"kettle {index}")
    # Best match ranks the 3 most recent matches; newest first lists all 5.
    for sort, listed, reads in (("best", 3, False), ("", 5, connection.vendor == "sqlite")):
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(
                TIMELINE, {"q": "kettle", "sort": sort} if sort else {"q": "kettle"}
            )
        assert len(_listed(response)) == listed
        assert any("LIMIT 1 OFFSET" in q["sql"] for q in queries) is reads


def test_probe_pays_past_the_square_root_of_eight_times_the_documents(monkeypatch):
    """Between the floor and the bound, a page probes once the matches exceed
    sqrt(8 x the newest document's id); at or below the floor it never asks."""
    monkeypatch.setattr(search, "PROBE_AFTER_AT_LEAST", 0)
    for index in range(3):
        EventRecordFactory(description=f"kettle {index}")
    newest = EventSearchDocument.objects.aggregate(newest=Max("id"))["newest"]
    even = math.isqrt(8 * newest)
    assert search.search_probe_pays(even, limit=10**9) is False
    assert search.search_probe_pays(even + 1, limit=10**9) is True
    monkeypatch.setattr(search, "PROBE_AFTER_AT_LEAST", even + 1)
    with CaptureQueriesContext(connection) as queries:
        assert search.search_probe_pays(even + 1, limit=10**9) is False
    assert len(queries) == 0
    assert search.search_probe_pays(even + 1, limit=even) is True


def test_a_phrase_is_counted_and_ranked_up_to_its_own_bound(admin_client, monkeypatch):
    """A phrase's bound is lower than a word's: past it the page says "More than" that
    bound, newest first still lists every match, best match ranks that many."""
    monkeypatch.setattr(search, "PHRASE_MATCH_LIMIT", 3)
    for index in range(5):
        EventRecordFactory(description=f"copper kettle {index}")
    EventRecordFactory(description="kettle of copper")
    newest = admin_client.get(TIMELINE, {"q": '"copper kettle"'})
    assert _listed(newest) == [f"copper kettle {index}" for index in range(4, -1, -1)]
    assert "More than 3</strong> events contain these words" in newest.content.decode()
    best = admin_client.get(TIMELINE, {"q": '"copper kettle"', "sort": "best"})
    assert len(_listed(best)) == 3
    assert "at most 3," in best.content.decode()
    words = admin_client.get(TIMELINE, {"q": "copper kettle"})
    assert "<strong>6</strong>" in words.content.decode()
