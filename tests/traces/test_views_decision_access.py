"""Who may see decisions: one rule on every page, partial and link (issue 20, point 4).

A signed-in user without ``decisioning.view_decision`` (or a review right)
sees events but no decision: not its outcome, reason or decider, not the
event's approval status or approver, not the pending count, and cannot
filter by approval status. Table-driven: each row is a page or partial,
what a permitted user sees there, and what the others get instead. The
HTTP API gets its rows when it lands (it is another branch's).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from decisioning.models import Decision
from tests.decisioning.factories import UserFactory
from tests.traces.factories import (
    ActorRecordFactory,
    EventRecordFactory,
    TrackedObjectRecordFactory,
)
from traces.urls import urlpatterns

pytestmark = pytest.mark.django_db

REASON = "SECRET-REASON-7"
DECIDER = "decider-x"
APPROVER = "approver-x"
# What tells a decision's state: none of it may reach a user without the permission.
MARKERS = [REASON, DECIDER, APPROVER, "approval-rejected", "approval-pending", "pending-count"]


@dataclass(frozen=True)
class Row:
    name: str
    url: str
    htmx_target: str | None
    shows: str | None  # a marker a permitted user sees there
    refused: bool  # 403 for the others (else 200 without the markers)


@pytest.fixture
def story():
    decider = UserFactory(username=DECIDER)
    actor = ActorRecordFactory(actor_type="ai_agent", actor_id="refund-ai")
    rejected = EventRecordFactory(
        actor=actor,
        requires_approval=True,
        approval_status="rejected",
        approved_by=APPROVER,
        description="Refund proposed",
    )
    TrackedObjectRecordFactory(event=rejected, object_id="ord-9")
    pending = EventRecordFactory(actor=actor, requires_approval=True, approval_status="pending")
    decision = Decision.objects.create(
        target=rejected,
        decision_type="refund_approval",
        outcome="rejected",
        reason=REASON,
        decided_by=decider,
    )
    waiting = Decision.objects.create(target=pending, decision_type="refund_approval")
    return {"event": rejected, "decision": decision, "waiting": waiting}


def _rows(story) -> list[Row]:
    event, decision = story["event"], story["decision"]
    timeline = reverse("traces:timeline")
    history = reverse("traces:object_history", args=["order", "ord-9"])
    decisions = reverse("traces:decision_list")
    timeline_file = reverse("traces:timeline_export")
    history_file = reverse("traces:object_history_export", args=["order", "ord-9"])
    review_file = reverse("traces:review_queue_export")
    return [
        Row("dashboard", reverse("home"), None, "pending-count", False),
        Row("dashboard partial", reverse("home"), "dashboard", "decisions waiting", False),
        Row("timeline", timeline, None, "approval-rejected", False),
        Row("timeline partial", timeline, "timeline", "approval-rejected", False),
        Row("timeline scroll", timeline, "timeline-more", "approval-rejected", False),
        Row("timeline search", timeline + "?q=refund", None, "approval-rejected", False),
        Row("approval filter", timeline + "?approval=rejected", None, "approval-rejected", True),
        Row(
            "approval filter partial",
            timeline + "?approval=pending",
            "timeline",
            "approval-pending",
            True,
        ),
        Row("event page", reverse("traces:event_detail", args=[event.pk]), None, REASON, False),
        Row("object history", history, None, "approval-rejected", False),
        Row("object history partial", history, "history", "approval-rejected", False),
        Row(
            "actor page",
            reverse("traces:actor_detail", args=["ai_agent", "refund-ai"]),
            None,
            "pending-count",
            False,
        ),
        Row("decisions list", decisions, None, REASON, True),
        Row("decisions partial", decisions, "decisions", REASON, True),
        Row("decisions about one event", f"{decisions}?target={event.pk}", None, REASON, True),
        Row("review queue", reverse("traces:review_queue"), None, "refund_approval", True),
        Row(
            "review queue partial",
            reverse("traces:review_queue"),
            "review-queue",
            "refund_approval",
            True,
        ),
        Row(
            "decision page",
            reverse("traces:decision_detail", args=[decision.pk]),
            None,
            REASON,
            True,
        ),
        # Downloads (traces.formats): the same rule in CSV and JSON Lines.
        Row("timeline file", f"{timeline_file}?format=csv", None, "rejected", False),
        Row(
            "timeline file by approval",
            f"{timeline_file}?format=jsonl&approval=rejected",
            None,
            "rejected",
            True,
        ),
        Row(
            "object history file",
            f"{history_file}?format=jsonl",
            None,
            '"approval_status": "rejected"',
            False,
        ),
        Row("review queue file", f"{review_file}?format=csv", None, "refund_approval", True),
    ]


ROW_NAMES = [
    "dashboard",
    "dashboard partial",
    "timeline",
    "timeline partial",
    "timeline scroll",
    "timeline search",
    "approval filter",
    "approval filter partial",
    "event page",
    "object history",
    "object history partial",
    "actor page",
    "decisions list",
    "decisions partial",
    "decisions about one event",
    "review queue",
    "review queue partial",
    "decision page",
    "timeline file",
    "timeline file by approval",
    "object history file",
    "review queue file",
]


def _user(role: str):
    user = UserFactory()
    if role == "viewer":
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="decisioning", codename="view_decision")
        )
    return user


def _get(client, row: Row):
    headers = {"HX-Request": "true", "HX-Target": row.htmx_target} if row.htmx_target else {}
    return client.get(row.url, headers=headers)


def _html(response) -> str:
    """The page, or a download's whole text."""
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


@pytest.mark.parametrize("name", ROW_NAMES)
def test_user_without_permission_sees_no_decision(client, story, name):
    """Refused (403), or the page without any outcome, reason, decider or pending count."""
    row = next(r for r in _rows(story) if r.name == name)
    client.force_login(_user("nobody"))
    response = _get(client, row)
    html = _html(response)
    if row.refused:
        assert response.status_code == 403, html[:300]
    else:
        assert response.status_code == 200
    for marker in MARKERS:
        assert marker not in html, (row.name, marker)
    if row.htmx_target and response.status_code == 200:
        assert "<html" not in html


@pytest.mark.parametrize("role", ["viewer", "superuser"])
@pytest.mark.parametrize("name", ROW_NAMES)
def test_user_with_permission_sees_decisions(client, story, name, role, admin_user):
    """The same row for a user who may view decisions shows them."""
    row = next(r for r in _rows(story) if r.name == name)
    client.force_login(admin_user if role == "superuser" else _user(role))
    response = _get(client, row)
    assert response.status_code == 200
    assert row.shows in _html(response), row.name


def test_review_post_without_permission_is_refused(client, story):
    """The one POST that changes a decision refuses a user who may not even view it."""
    client.force_login(_user("nobody"))
    url = reverse("traces:decision_review", args=[story["waiting"].pk])
    response = client.post(url, {"action": "approve", "request_token": "t" * 32})
    assert response.status_code == 403
    assert Decision.objects.get(pk=story["waiting"].pk).outcome == "pending"


def test_every_trace_page_is_in_the_table():
    """A new page of the app must join the table above: its URL names are all covered."""
    covered = {
        "timeline",
        "event_detail",
        "object_history",
        "actor_detail",
        "decision_list",
        "decision_detail",
        "decision_review",
        "review_queue",
        "timeline_export",
        "object_history_export",
        "review_queue_export",
    }
    assert {pattern.name for pattern in urlpatterns} == covered
