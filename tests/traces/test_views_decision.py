"""The decision page: the decision, its originating event, its full history and the action form."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from decisioning.models import Decision
from decisioning.review import decision_transition
from tests.decisioning.factories import DecisionFactory
from tests.traces.factories import proposal_record
from traces.models import EventRecord

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"


def _url(decision) -> str:
    return reverse("traces:decision_detail", args=[decision.pk])


def _buttons(html: str) -> list[str]:
    return re.findall(r'name="action" value="(\w+)"', html)


def test_decision_page_shows_decision_event_history_and_audit_links(client, make_user):
    """Type, outcome, the event (who, why, risk), who decided when, each step and its trace."""
    alice = make_user("admin", username="alice")
    sam = make_user("senior", username="sam")
    event, decision = proposal_record(risk="high", confidence=0.72)
    start = timezone.now() - timedelta(hours=2)
    decision = decision_transition(
        decision=decision, action="escalate", user=alice, reason="Above my limit", now=start
    ).decision
    decision = decision_transition(
        decision=decision,
        action="approve",
        user=sam,
        reason="Defect confirmed",
        now=start + timedelta(minutes=30),
    ).decision
    client.force_login(make_user("reviewer"))
    response = client.get(_url(decision))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>refund_approval</h1>" in html
    assert '<span class="approval approval-approved">Approved</span>' in html
    assert "Refund of €99.99 for a damaged widget" in html
    assert reverse("traces:event_detail", args=[event.pk]) in html
    assert '<span class="actor-kind">AI agent</span>' in html
    assert "Risk high" in html
    assert "72% confident" in html
    assert "The customer is gold tier." in html  # the whole reasoning here
    assert "<dt>Decided by</dt><dd>sam</dd>" in html

    steps = re.findall(r'<tr class="history-step">(.*?)</tr>', html, re.S)
    assert len(steps) == 2
    assert "alice" in steps[0]
    assert "Above my limit" in steps[0]
    assert "Pending" in steps[0]
    assert "Escalated" in steps[0]
    assert "sam" in steps[1]
    assert "Defect confirmed" in steps[1]
    audit_ids = (
        EventRecord.objects.filter(parent=event)
        .order_by("effective_at")
        .values_list("pk", flat=True)
    )
    for step, audit_id in zip(steps, audit_ids, strict=True):
        assert reverse("traces:event_detail", args=[audit_id]) in step
    assert "Evidence" in html
    assert _buttons(html) == []


def test_decision_page_htmx_request_gets_the_page(client, make_user):
    """The decision page is one page; htmx navigation to it still gets the whole page."""
    client.force_login(make_user("reviewer"))
    decision = DecisionFactory()
    response = client.get(_url(decision), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "outcome", "expected"),
    [
        ("reviewer", "pending", []),
        ("admin", "pending", ["approve", "reject", "defer", "escalate"]),
        ("admin", "deferred", ["approve", "reject", "escalate", "reopen"]),
        ("admin", "escalated", []),
        ("senior", "escalated", ["approve", "reject"]),
        ("senior", "approved", []),
        ("superuser", "rejected", []),
    ],
)
def test_decision_page_action_form_follows_permissions(client, make_user, role, outcome, expected):
    """The panel offers exactly the actions this user may take now, posting to the panel itself."""
    client.force_login(make_user(role))
    decision = DecisionFactory(outcome=outcome)
    html = client.get(_url(decision)).content.decode()
    assert _buttons(html) == expected
    if expected:
        assert 'hx-target="#decision-review"' in html
        assert f'name="next" value="{_url(decision)}"' in html
    assert '<section id="decision-review"' in html


def test_decision_page_for_another_model_and_a_missing_target(client, make_user):
    """A decision about an Order names it; one whose event is gone says so."""
    client.force_login(make_user("reviewer"))
    about_order = DecisionFactory()
    html = client.get(_url(about_order)).content.decode()
    assert str(about_order.target) in html
    gone = Decision.objects.create(
        target_content_type=ContentType.objects.get_for_model(EventRecord),
        target_id=str(uuid.uuid4()),
        decision_type="refund_approval",
    )
    html = client.get(_url(gone)).content.decode()
    assert "which no longer exists" in html


def test_decision_page_access(client, make_user):
    """Anonymous users go to login; users without the view permission get 403."""
    decision = DecisionFactory()
    response = client.get(_url(decision))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    client.force_login(make_user("nobody"))
    assert client.get(_url(decision)).status_code == 403


def test_decision_page_missing_deleted_or_malformed_is_404(client, make_user):
    """Unknown ids, soft-deleted decisions and non-UUIDs are 404."""
    client.force_login(make_user("admin"))
    deleted = DecisionFactory()
    deleted.delete()
    assert client.get(reverse("traces:decision_detail", args=[uuid.uuid4()])).status_code == 404
    assert client.get(_url(deleted)).status_code == 404
    assert client.get("/traces/decisions/not-a-uuid/").status_code == 404


def test_decision_page_refuses_post(client, make_user):
    """The page only reads; actions post to their own URL."""
    client.force_login(make_user("admin"))
    assert client.post(_url(DecisionFactory())).status_code == 405


def test_decision_page_escapes_hostile_text(client, make_user, admin):
    """Type, reason, context and evidence are escaped."""
    decision = DecisionFactory(
        decision_type=HOSTILE, reason=HOSTILE, context={"note": HOSTILE}, evidence={"x": HOSTILE}
    )
    decision_transition(decision=decision, action="reject", user=admin, reason=HOSTILE)
    client.force_login(make_user("reviewer"))
    html = client.get(_url(decision)).content.decode()
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html
    assert '<th scope="row">note</th><td>&lt;script&gt;' in html  # the context, as a table


@pytest.mark.parametrize("steps", [1, 20])
def test_decision_page_query_count_is_constant(
    client, make_user, django_assert_max_num_queries, steps
):
    """However long the history, the page costs the same number of queries.

    Session, user, the decision, two permission lookups, the audit events,
    the history, the originating event with its actor, the pending count.
    """
    admin = make_user("superuser")
    _, decision = proposal_record()
    at = timezone.now() - timedelta(days=1)
    for index in range(steps):
        action = "defer" if decision.outcome == "pending" else "reopen"
        decision = decision_transition(
            decision=decision, action=action, user=admin, now=at + timedelta(minutes=index)
        ).decision
    client.force_login(make_user("admin", username="alice"))
    ContentType.objects.get_for_model(EventRecord)
    with django_assert_max_num_queries(9):
        response = client.get(_url(decision))
    assert len(response.context["detail"].history) == steps


def test_event_page_shows_who_approved_and_links_the_decision(client, make_user):
    """After an approval the event's page names the approver and links to the decision page."""
    alice = make_user("admin", username="alice")
    event, decision = proposal_record()
    decision_transition(decision=decision, action="approve", user=alice)
    client.force_login(make_user("reviewer"))
    html = client.get(reverse("traces:event_detail", args=[event.pk])).content.decode()
    assert '<span class="approval approval-approved">Approved</span>' in html
    assert "by <strong>alice</strong>" in html
    assert _url(decision) in html
    assert "decision.approved" in html  # the audit event is in the chain
