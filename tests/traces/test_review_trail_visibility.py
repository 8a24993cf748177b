"""The review trail's events are for users who may view decisions (issue 20, point 4).

Every review action is a ``decision.*`` trace event by the reviewer, with the
reason as its reasoning (``traces.audit``, ``traces.claims``). A signed-in user
without ``decisioning.view_decision`` (or a review right) must not learn a
decision's outcome, reason or decider from them: every page, partial,
download and API endpoint that lists or shows events leaves them out
(``traces.selectors.events_visible_to``, one rule). Table-driven: each row is
tried as such a user (none of the reasons, the decider or a ``decision.*``
event) and as a reviewer with ``view_decision`` (shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from decisioning.review import decision_transition
from tests.traces.api.conftest import ALL_SCOPES, ApiClient, grant
from tests.traces.factories import proposal_record
from traces.api.tokens import service_token_create
from traces.claims import decision_claim
from traces.client import DecisionTraceClient
from traces.models import EventRecord
from traces.selectors import can_view_decisions, event_stats, events_visible_to
from traces.ui.charts import PERIODS
from traces.ui.common import known_event_types
from traces.ui.dashboard import dashboard_summary

pytestmark = pytest.mark.django_db

APPROVE_REASON = "Quokka evidence confirms the defect"
REJECT_REASON = "Wombat refund exceeds the limit"
DECIDER = "zelda-decider"
DECIDER_NAME = "Zelda Quill"
# None of these may reach a user who may not view decisions.
MARKERS = [
    APPROVE_REASON,
    REJECT_REASON,
    DECIDER,
    DECIDER_NAME,
    "decision.approved",
    "decision.rejected",
    "decision.claimed",
]


@pytest.fixture
def token_for() -> Any:
    """``token_for(user)`` -> a token with every scope (the permission is what differs)."""
    cache.clear()  # the API's rate-limit counters outlive a test's database

    def make(user: Any) -> str:
        return service_token_create(owner=user, name="test", scopes=ALL_SCOPES).text

    return make


@pytest.fixture
def story(make_user) -> dict[str, Any]:
    """Two proposals by an AI agent: one claimed and approved, one rejected, by one reviewer."""
    decider = make_user(
        "senior", username=DECIDER, first_name=DECIDER_NAME.split()[0], last_name="Quill"
    )
    now = timezone.now()
    approved_event, approved = proposal_record(order_id="ord-vis-1", at=now - timedelta(minutes=9))
    rejected_event, rejected = proposal_record(order_id="ord-vis-2", at=now - timedelta(minutes=8))
    decision_claim(decision=approved, user=decider, can_review=True, now=now - timedelta(minutes=5))
    decision_transition(
        decision=approved,
        action="approve",
        user=decider,
        reason=APPROVE_REASON,
        now=now - timedelta(minutes=4),
    )
    decision_transition(
        decision=rejected,
        action="reject",
        user=decider,
        reason=REJECT_REASON,
        now=now - timedelta(minutes=3),
    )
    audit = EventRecord.objects.get(event_type="decision.rejected")
    return {
        "approved_event": approved_event,
        "rejected_event": rejected_event,
        "approved": approved,
        "rejected": rejected,
        "audit": audit,
        "known_at": quote((now + timedelta(minutes=1)).isoformat()),
    }


@dataclass(frozen=True)
class Row:
    name: str
    url: str
    htmx_target: str | None = None
    api: bool = False
    admin: bool = False  # as a staff user who may view events in the admin
    # More text the others must not get there.
    hidden: tuple[str, ...] = ()
    # What the others still see there (the rest of the story), "" for nothing in particular.
    rest: str = "refund.requested"
    # What a reviewer sees there ("" = the page shows no event of the trail, only counts).
    shows: str = "decision.rejected"
    # What a user who may not view decisions gets: 200 without the markers, 403, 404, or
    # the admin's redirect for a row it does not find.
    denied: int = 200


def _rows(story: dict[str, Any]) -> list[Row]:
    event = story["rejected_event"]
    audit = story["audit"]
    timeline = reverse("traces:timeline")
    history = reverse("traces:object_history", args=["order", "ord-vis-2"])
    decision_history = reverse("traces:object_history", args=["custom", story["rejected"].pk])
    actor = reverse("traces:actor_detail", args=["user", DECIDER])
    timeline_file = reverse("traces:timeline_export")
    history_file = reverse("traces:object_history_export", args=["order", "ord-vis-2"])
    event_page = reverse("traces:event_detail", args=[event.pk])
    audit_page = reverse("traces:event_detail", args=[audit.pk])
    known_at = story["known_at"]
    admin_list = reverse("admin:traces_eventrecord_changelist")
    return [
        Row("dashboard", reverse("home"), shows="", rest=""),
        Row("dashboard partial", reverse("home") + "?period=7d", "dashboard", shows="", rest=""),
        Row("timeline", timeline),
        Row("timeline partial", timeline + "?actor_type=user", "timeline"),
        Row("timeline scroll", timeline, "timeline-more"),
        Row("timeline as known at", f"{timeline}?known_at={known_at}"),
        Row("timeline by type", timeline + "?event_type=decision.*", rest=""),
        Row("timeline by actor", f"{timeline}?actor={DECIDER}", rest=""),
        Row("timeline by object", timeline + "?object_id=ord-vis-2"),
        Row("search", timeline + "?q=wombat", rest=""),
        Row(
            "search partial", timeline + "?q=quokka", "timeline", shows="decision.approved", rest=""
        ),
        Row("search best match", timeline + "?q=wombat&sort=best", rest=""),
        Row("event page", event_page, shows=REJECT_REASON),
        Row("event page as known at", f"{event_page}?known_at={known_at}", shows=REJECT_REASON),
        Row("review event page", audit_page, shows=REJECT_REASON, denied=404),
        Row("object history", history),
        Row("object history partial", history, "history"),
        Row("object history as known at", f"{history}?known_at={known_at}"),
        Row("decision's own history", decision_history, rest=""),
        # Known only from the review trail, the reviewer is no actor to the others.
        Row("reviewer's actor page", actor, denied=404),
        Row("reviewer's actor partial", actor + "?period=7d", "actor-activity", denied=404),
        Row("decisions list", reverse("traces:decision_list"), shows=REJECT_REASON, denied=403),
        Row(
            "decision page",
            reverse("traces:decision_detail", args=[story["rejected"].pk]),
            shows=REJECT_REASON,
            denied=403,
        ),
        Row("timeline file csv", timeline_file + "?format=csv"),
        Row("timeline file jsonl", timeline_file + "?format=jsonl"),
        Row("search file", timeline_file + "?format=jsonl&q=wombat", shows=REJECT_REASON, rest=""),
        Row("object history file csv", history_file + "?format=csv"),
        Row("object history file jsonl", history_file + "?format=jsonl"),
        # The HTTP API, with a token holding every scope.
        Row("api events", "/api/v1/events", api=True),
        Row("api events by type", "/api/v1/events?event_type=decision.*", api=True, rest=""),
        Row("api events file", "/api/v1/events?format=csv", api=True),
        Row("api event", f"/api/v1/events/{audit.pk}", api=True, denied=404),
        Row("api chain", f"/api/v1/events/{event.pk}/chain", api=True),
        Row("api review event chain", f"/api/v1/events/{audit.pk}/chain", api=True, denied=404),
        Row("api search", "/api/v1/search?q=wombat", api=True, rest=""),
        Row("api history", "/api/v1/objects/order/ord-vis-2/history", api=True),
        Row("api actor", f"/api/v1/actors/user/{DECIDER}", api=True, denied=404),
        Row("api stats", "/api/v1/stats", api=True),
        # The Django admin, for staff who may view events there.
        Row("admin events", admin_list, admin=True, hidden=("column-approval_status",)),
        Row("admin events search", admin_list + "?q=wombat", admin=True, rest=""),
        Row("admin events by family", admin_list + "?family=decision", admin=True, rest=""),
        Row(
            "admin event",
            reverse("admin:traces_eventrecord_change", args=[event.pk]),
            admin=True,
            shows="field-approved_by",
            hidden=("field-approved_by", "field-approval_status"),
        ),
        Row(
            "admin review event",
            reverse("admin:traces_eventrecord_change", args=[audit.pk]),
            admin=True,
            shows=REJECT_REASON,
            denied=302,
        ),
        Row(
            "api decision",
            f"/api/v1/decisions/{story['rejected'].pk}",
            api=True,
            shows=REJECT_REASON,
            denied=403,
        ),
    ]


ROW_NAMES = [
    "dashboard",
    "dashboard partial",
    "timeline",
    "timeline partial",
    "timeline scroll",
    "timeline as known at",
    "timeline by type",
    "timeline by actor",
    "timeline by object",
    "search",
    "search partial",
    "search best match",
    "event page",
    "event page as known at",
    "review event page",
    "object history",
    "object history partial",
    "object history as known at",
    "decision's own history",
    "reviewer's actor page",
    "reviewer's actor partial",
    "decisions list",
    "decision page",
    "timeline file csv",
    "timeline file jsonl",
    "search file",
    "object history file csv",
    "object history file jsonl",
    "api events",
    "api events by type",
    "api events file",
    "api event",
    "api chain",
    "api review event chain",
    "api search",
    "api history",
    "api actor",
    "api stats",
    "api decision",
    "admin events",
    "admin events search",
    "admin events by family",
    "admin event",
    "admin review event",
]


def _get(client: Any, token_for: Any, user: Any, row: Row) -> tuple[int, str]:
    if row.admin:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        grant(user, "traces.view_eventrecord")
    if row.api:
        response = ApiClient(client, token_for(user)).get(row.url)
    else:
        client.force_login(user)
        headers = {"HX-Request": "true", "HX-Target": row.htmx_target} if row.htmx_target else {}
        response = client.get(row.url, headers=headers)
    if response.streaming:
        return response.status_code, b"".join(response.streaming_content).decode()
    return response.status_code, response.content.decode()


def test_every_row_is_named():
    """The names above are the table's rows, each once."""
    rows = _rows_for_names()
    assert sorted(rows) == sorted(ROW_NAMES)
    assert len(set(ROW_NAMES)) == len(ROW_NAMES)


def _rows_for_names() -> list[str]:
    fake = {
        "rejected_event": EventRecord(pk="00000000-0000-0000-0000-000000000001"),
        "audit": EventRecord(pk="00000000-0000-0000-0000-000000000002"),
        "rejected": EventRecord(pk="00000000-0000-0000-0000-000000000003"),
        "known_at": "",
    }
    return [row.name for row in _rows(fake)]


@pytest.mark.parametrize("name", ROW_NAMES)
def test_user_without_view_decision_learns_nothing_of_decisions(
    client, token_for, make_user, story, name
):
    """No reason, no decider, no decision.* event: the row answers without them, or 403/404."""
    row = next(r for r in _rows(story) if r.name == name)
    status, text = _get(client, token_for, make_user("nobody", username="olga-operator"), row)
    assert status == row.denied, (row.name, text[:300])
    for marker in [*MARKERS, *row.hidden]:
        if marker in row.url:
            continue  # the filter the user typed, shown back in the form
        assert marker not in text, (row.name, marker)
    if row.htmx_target and status == 200:
        assert "<html" not in text
    if status == 200 and row.rest:
        assert row.rest in text, row.name


@pytest.mark.parametrize("name", ROW_NAMES)
def test_reviewer_with_view_decision_sees_the_review_trail(
    client, token_for, make_user, story, name
):
    """The same row for a reviewer (``view_decision`` only) shows the trail."""
    row = next(r for r in _rows(story) if r.name == name)
    status, text = _get(client, token_for, make_user("reviewer", username="rita-reviewer"), row)
    assert status == 200, (row.name, text[:300])
    if row.shows:
        assert row.shows in text, row.name


@pytest.mark.parametrize(("role", "hidden"), [("nobody", True), ("reviewer", False)])
def test_counts_leave_the_trail_out_for_a_user_who_may_not_view_decisions(
    make_user, story, role, hidden
):
    """Dashboard, stats and type suggestions count the trail's events only for a reviewer."""
    user = make_user(role)
    with_decisions = can_view_decisions(user)
    assert with_decisions is not hidden
    trail = EventRecord.objects.filter(event_type__startswith="decision.").count()
    assert trail == 3  # claimed, approved, rejected
    total = EventRecord.objects.count()
    expected = total - trail if hidden else total

    summary = dashboard_summary(period=PERIODS["24h"], with_decisions=with_decisions)
    assert sum(row.count for row in summary.by_outcome) == expected
    assert sum(row.count for row in summary.by_actor_type) == expected
    by_people = sum(row.count for row in summary.by_actor_type if row.key == "user")
    assert by_people == (0 if hidden else trail)

    stats = event_stats(with_decisions=with_decisions)
    assert stats["total_events"] == expected
    assert ("user" in stats["by_actor_type"]) is not hidden
    assert any(t.startswith("decision.") for t in stats["by_event_type"]) is not hidden
    assert (stats["pending_approvals"] is None) is hidden

    types = known_event_types(with_decisions=with_decisions)
    assert any(t.startswith("decision.") for t in types) is not hidden

    visible = events_visible_to(EventRecord.objects.all(), user)
    assert visible.count() == expected


@pytest.mark.parametrize("role", ["nobody", "reviewer"])
@pytest.mark.parametrize(
    "url_name", ["timeline", "event", "history", "actor", "dashboard", "search"]
)
def test_query_count_does_not_grow_with_the_trail(client, make_user, role, url_name):
    """One reviewed proposal or five: each page costs the same queries, for either user."""
    decider = make_user("senior", username=DECIDER)
    # The reviewer is an actor of the store too, so the actor page is everyone's.
    DecisionTraceClient().trace("note.added", "Note on a ticket").by_user(DECIDER, "Z").record()
    user = make_user(role)
    client.force_login(user)
    counts = []
    first = None
    for added in (1, 4):
        for _ in range(added):
            event, decision = proposal_record(order_id="ord-q")
            decision_transition(decision=decision, action="reject", user=decider, reason="Too big")
            first = first or event
        url = {
            "timeline": reverse("traces:timeline"),
            "event": reverse("traces:event_detail", args=[first.pk]),
            "history": reverse("traces:object_history", args=["order", "ord-q"]),
            "actor": reverse("traces:actor_detail", args=["user", DECIDER]),
            "dashboard": reverse("home"),
            "search": reverse("traces:timeline") + "?q=widget",
        }[url_name]
        client.get(url)  # warm the caches (content types, permissions)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
