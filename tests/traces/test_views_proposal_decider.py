"""Issue 16 point 2: every list names who decided a proposal, and why, from its Decision.

Events are append-only: a decision taken after the event was stored leaves the
event's ``approved_by`` empty, so a list that read it lost the decider's name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from decisioning.services import decision_transition
from tests.traces.factories import EventRecordFactory, proposal_record
from traces.models import EventRecord

pytestmark = pytest.mark.django_db

PAGES = {
    "timeline": lambda: reverse("traces:timeline"),
    "search results": lambda: reverse("traces:timeline") + "?q=damaged",
    "actor page": lambda: reverse("traces:actor_detail", args=["ai_agent", "refund-ai"]),
    "order history": lambda: reverse("traces:object_history", args=["order", "ord-7"]),
}


def _decided(count: int, admin: Any, make_user: Callable[..., Any]) -> list[EventRecord]:
    """``count`` proposals about one order: every third rejected by alice, every third
    approved by bob, the rest pending; each decided after the event was stored."""
    bob = make_user("admin", username="bob")
    now = timezone.now()
    events = []
    for index in range(count):
        event, decision = proposal_record(at=now - timedelta(hours=count - index), order_id="ord-7")
        if index % 3 == 0:
            decision_transition(
                decision=decision, action="reject", user=admin, reason=f"Floor price {index}"
            )
        elif index % 3 == 1:
            decision_transition(decision=decision, action="approve", user=bob)
        events.append(event)
    return events


@pytest.mark.parametrize("page", list(PAGES))
def test_lists_name_the_decider_and_reason_from_the_decision(client, admin, make_user, page):
    events = _decided(3, admin, make_user)
    # What the lists used to read: never set by a decision taken later.
    assert not EventRecord.objects.filter(pk__in=[e.pk for e in events]).exclude(approved_by="")
    client.force_login(admin)
    html = client.get(PAGES[page]()).content.decode()
    assert "by alice: “Floor price 0”" in html
    assert '<span class="approval-by">by bob</span>' in html
    assert html.count('class="approval-by"') == 2  # the pending one names nobody


def test_history_caption_names_the_decider(client, admin, make_user):
    """The state table's caption: "Proposed, rejected by alice: “<reason>”. Not applied."."""
    _decided(1, admin, make_user)
    client.force_login(admin)
    html = client.get(PAGES["order history"]()).content.decode()
    assert "Proposed, rejected by alice: “Floor price 0”. Not applied." in html


def test_a_user_who_may_not_see_decisions_sees_no_decider(client, admin, make_user):
    _decided(3, admin, make_user)
    client.force_login(make_user("nobody"))
    for page in PAGES.values():
        html = client.get(page()).content.decode()
        assert "approval-by" not in html
        assert "Proposed, rejected" not in html


@pytest.mark.parametrize("page", list(PAGES))
def test_deciders_cost_one_query_per_page_whatever_the_rows(client, admin, make_user, page):
    """The decisions are read in one query for the whole list: 3 rows or 12, same count."""
    client.force_login(admin)
    _decided(3, admin, make_user)
    with CaptureQueriesContext(connection) as few:
        assert client.get(PAGES[page]()).status_code == 200
    _decided(9, admin, make_user)
    with CaptureQueriesContext(connection) as many:
        html = client.get(PAGES[page]()).content.decode()
    assert html.count('class="approval-by"') == 8
    assert len(many) == len(few)
    decision_reads = [q for q in many if '"decisioning_decision"."target_id"' in q["sql"]]
    assert len(decision_reads) == 1


def test_rows_without_proposals_read_no_decisions(client, admin):
    """A page with no event that needs approval does not ask for decisions."""
    EventRecordFactory.create_batch(5, effective_at=timezone.now())
    client.force_login(admin)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("traces:timeline")).status_code == 200
    assert not [q for q in queries if '"decisioning_decision"."target_id"' in q["sql"]]
