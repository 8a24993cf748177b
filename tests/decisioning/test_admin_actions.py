"""The admin's review actions: who sees them, what they do, and forged or repeated POSTs."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.contrib.messages import constants, get_messages
from django.test import Client
from django.urls import reverse

from decisioning.admin import INVALID_SELECTION
from decisioning.choices import DecisionOutcome
from decisioning.exceptions import PERMISSION_MISSING
from decisioning.models import REASON_MAX_LENGTH, Decision, DecisionTransition
from decisioning.review import decision_transition
from tests.decisioning.factories import DecisionFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:decisioning_decision_changelist")
OUT = DecisionOutcome
REVIEW_ACTIONS = {
    "approve_selected",
    "reject_selected",
    "defer_selected",
    "reopen_selected",
    "escalate_selected",
}
WITH_REASON = {"reject_selected", "escalate_selected"}


def _action_names(client) -> set[str]:
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    form = response.context["action_form"]
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def _post_action(client, action, decisions, **extra):
    """What the changelist's action form posts."""
    data = {"action": action, "index": "0", ACTION_CHECKBOX_NAME: [str(d.pk) for d in decisions]}
    return client.post(CHANGELIST, {**data, **extra})


def _post_apply(client, action, decisions, reason, token="form-1"):
    """What the reason page posts back (also what a forger would send)."""
    data = {
        "action": action,
        ACTION_CHECKBOX_NAME: [str(d.pk) for d in decisions],
        "apply": "yes",
        "reason": reason,
        "request_token": token,
    }
    return client.post(CHANGELIST, data)


def _messages(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in get_messages(response.wsgi_request)]


def _consume_messages(client) -> None:
    """Show the changelist once, as the browser does after a redirect, so messages are read."""
    client.get(CHANGELIST)


def _outcome(decision) -> str:
    return Decision.all_objects.get(pk=decision.pk).outcome


def _login(client, make_user, role):
    user = make_user(role)
    if role != "anonymous":
        client.force_login(user)
    return user


# Who sees which actions


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("reviewer", set()),
        ("admin", REVIEW_ACTIONS),
        ("senior", REVIEW_ACTIONS),
        ("superuser", REVIEW_ACTIONS),
    ],
)
def test_actions_offered_by_role(client, make_user, role, expected):
    """Reviewers get no review actions; admins and senior admins get all five."""
    _login(client, make_user, role)
    DecisionFactory()
    assert _action_names(client) == expected


@pytest.mark.parametrize(
    ("codename", "expected"),
    [
        ("approve_decision", REVIEW_ACTIONS - {"escalate_selected"}),
        ("escalate_decision", {"escalate_selected"}),
        ("decide_escalated_decision", {"approve_selected", "reject_selected"}),
    ],
)
def test_actions_offered_by_single_permission(client, make_user, codename, expected):
    """Each permission alone shows exactly the actions it can be needed for."""
    user = make_user("reviewer")
    user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    DecisionFactory()
    assert _action_names(client) == expected


# Acting


def test_approve_selected_approves_each(client, admin):
    """Approve acts on every selected decision, one transition each, without a reason."""
    client.force_login(admin)
    decisions = [DecisionFactory(), DecisionFactory(outcome=OUT.DEFERRED)]
    response = _post_action(client, "approve_selected", decisions)
    assert response.status_code == 302
    assert [_outcome(d) for d in decisions] == [OUT.APPROVED, OUT.APPROVED]
    assert DecisionTransition.objects.filter(by=admin, reason="").count() == 2
    assert _messages(response) == [(constants.SUCCESS, "Approved 2 decisions.")]


@pytest.mark.parametrize(
    ("action", "from_outcome", "to_outcome"),
    [("defer_selected", OUT.PENDING, OUT.DEFERRED), ("reopen_selected", OUT.DEFERRED, OUT.PENDING)],
)
def test_defer_and_reopen_selected(client, admin, action, from_outcome, to_outcome):
    """Defer and reopen need no reason."""
    client.force_login(admin)
    decision = DecisionFactory(outcome=from_outcome)
    response = _post_action(client, action, [decision])
    assert response.status_code == 302
    assert _outcome(decision) == to_outcome


def test_failures_are_reported_and_do_not_stop_the_others(client, admin):
    """Invalid, already decided and not-permitted decisions are reported; the rest proceed."""
    client.force_login(admin)
    pending = DecisionFactory(decision_type="a")
    escalated = DecisionFactory(decision_type="b", outcome=OUT.ESCALATED)
    decided = DecisionFactory(decision_type="c")
    decision_transition(decision=decided, action="reject", user=admin, reason="no")
    response = _post_action(client, "reopen_selected", [pending, escalated, decided])
    assert response.status_code == 302
    messages = {text.split(":")[0]: level for level, text in _messages(response)}
    assert messages == {
        f"a {pending.pk}": constants.WARNING,
        f"b {escalated.pk}": constants.WARNING,
        f"c {decided.pk}": constants.WARNING,
    }
    _consume_messages(client)
    response = _post_action(client, "approve_selected", [pending, escalated, decided])
    levels = [level for level, _ in _messages(response)]
    assert sorted(levels) == sorted([constants.ERROR, constants.WARNING, constants.SUCCESS])
    assert (
        constants.ERROR,
        f"b {escalated.pk}: "
        + PERMISSION_MISSING.format(action="approve", from_outcome="escalated"),
    ) in _messages(response)
    assert [_outcome(d) for d in (pending, escalated, decided)] == [
        OUT.APPROVED,
        OUT.ESCALATED,
        OUT.REJECTED,
    ]


def test_deleted_decision_is_reported(client, make_user):
    """A soft-deleted decision (listed for superusers) is reported, not reviewed."""
    client.force_login(make_user("superuser"))
    decision = DecisionFactory()
    decision.delete()
    response = client.post(
        f"{CHANGELIST}?deleted=deleted",
        {"action": "approve_selected", "index": "0", ACTION_CHECKBOX_NAME: [str(decision.pk)]},
    )
    assert response.status_code == 302
    assert [level for level, _ in _messages(response)] == [constants.WARNING]
    assert _outcome(decision) == OUT.PENDING


# The reason page


@pytest.mark.parametrize(
    ("action", "to_outcome"),
    [("reject_selected", OUT.REJECTED), ("escalate_selected", OUT.ESCALATED)],
)
def test_reason_page_then_apply(client, admin, action, to_outcome):
    """Reject and escalate first show a page asking for the reason; applying it acts."""
    client.force_login(admin)
    decisions = [DecisionFactory(), DecisionFactory()]
    page = _post_action(client, action, decisions)
    assert page.status_code == 200
    assert "admin/decisioning/decision/review_reason.html" in [t.name for t in page.templates]
    assert [_outcome(d) for d in decisions] == [OUT.PENDING, OUT.PENDING]
    html = page.content.decode()
    for decision in decisions:
        assert f'name="{ACTION_CHECKBOX_NAME}" value="{decision.pk}"' in html
    assert f'name="action" value="{action}"' in html
    assert "csrfmiddlewaretoken" in html
    token = page.context["form"].initial["request_token"]
    assert f'name="request_token" value="{token}"' in html

    response = _post_apply(client, action, decisions, "Over the refund limit", token)
    assert response.status_code == 302
    assert [_outcome(d) for d in decisions] == [to_outcome, to_outcome]
    steps = DecisionTransition.objects.all()
    assert {(s.reason, s.request_token) for s in steps} == {("Over the refund limit", token)}


@pytest.mark.parametrize("reason", ["", "   ", "x" * (REASON_MAX_LENGTH + 1)])
@pytest.mark.parametrize("action", sorted(WITH_REASON))
def test_reason_page_refuses_blank_or_huge_reason(client, admin, action, reason):
    """A blank or too long reason shows the page again with the error; nothing changes."""
    client.force_login(admin)
    decision = DecisionFactory()
    response = _post_apply(client, action, [decision], reason)
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert _outcome(decision) == OUT.PENDING
    assert not DecisionTransition.objects.exists()


def test_reason_page_resubmitted_acts_once(client, admin):
    """Submitting the reason page twice (same token) rejects once and says so."""
    client.force_login(admin)
    decision = DecisionFactory()
    _post_apply(client, "reject_selected", [decision], "Fraud signals", "form-9")
    _consume_messages(client)
    again = _post_apply(client, "reject_selected", [decision], "Fraud signals", "form-9")
    assert again.status_code == 302
    assert DecisionTransition.objects.count() == 1
    assert _messages(again) == [
        (
            constants.INFO,
            "1 decision was already rejected by this form; the resubmission changed nothing.",
        )
    ]


def test_hostile_reason_is_stored_verbatim_and_shown_escaped(client, admin):
    """Markup in a reason is stored as typed and escaped on the decision's page."""
    client.force_login(admin)
    decision = DecisionFactory()
    reason = '<script>alert("x")</script>'
    _post_apply(client, "reject_selected", [decision], reason)
    assert Decision.objects.get(pk=decision.pk).reason == reason
    page = client.get(reverse("admin:decisioning_decision_change", args=[decision.pk]))
    html = page.content.decode()
    assert reason not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_change_page_shows_history_to_reviewers(client, make_user, admin):
    """A reviewer (view only) sees the decision's history on its admin page, read-only."""
    decision = DecisionFactory()
    decision = decision_transition(decision=decision, action="defer", user=admin).decision
    decision_transition(decision=decision, action="reopen", user=admin)
    _login(client, make_user, "reviewer")
    page = client.get(reverse("admin:decisioning_decision_change", args=[decision.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "review history" in html.lower()
    assert html.count("alice") >= 2
    assert 'name="transitions-0-reason"' not in html, "read-only, not a form field"


# Forged and unauthorised POSTs


CASES = [
    ("approve_selected", OUT.PENDING, OUT.APPROVED),
    ("reject_selected", OUT.PENDING, OUT.REJECTED),
    ("defer_selected", OUT.PENDING, OUT.DEFERRED),
    ("escalate_selected", OUT.PENDING, OUT.ESCALATED),
    ("reopen_selected", OUT.DEFERRED, OUT.PENDING),
    ("approve_selected", OUT.ESCALATED, OUT.APPROVED),
    ("reject_selected", OUT.ESCALATED, OUT.REJECTED),
]


def _allowed(role, from_outcome):
    return role == "senior" or (role == "admin" and from_outcome != OUT.ESCALATED)


@pytest.mark.parametrize("role", ["anonymous", "reviewer", "admin", "senior"])
@pytest.mark.parametrize(("action", "from_outcome", "to_outcome"), CASES)
def test_admin_permission_matrix(client, make_user, role, action, from_outcome, to_outcome):
    """Each role x action through the admin: allowed ones act, others change nothing."""
    _login(client, make_user, role)
    decision = DecisionFactory(outcome=from_outcome)
    if action in WITH_REASON:
        response = _post_apply(client, action, [decision], "Reason given")
    else:
        response = _post_action(client, action, [decision])
    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    elif role == "reviewer":
        assert response.status_code == 200, "no actions: a plain changelist"
    else:
        assert response.status_code == 302
    expected = to_outcome if _allowed(role, from_outcome) else from_outcome
    assert _outcome(decision) == expected
    assert DecisionTransition.objects.exists() == _allowed(role, from_outcome)


@pytest.mark.parametrize("action", sorted(REVIEW_ACTIONS))
def test_forged_action_by_reviewer_changes_nothing(client, make_user, action):
    """A reviewer's forged POST (even the reason page's) just shows the list again."""
    _login(client, make_user, "reviewer")
    decision = DecisionFactory()
    assert _post_action(client, action, [decision]).status_code == 200
    assert _post_apply(client, action, [decision], "forged").status_code == 200
    assert _outcome(decision) == OUT.PENDING
    assert not DecisionTransition.objects.exists()


def test_forged_escalated_approval_by_admin_is_refused(client, admin):
    """An admin sees approve, but approving an escalated item is refused per decision."""
    client.force_login(admin)
    decision = DecisionFactory(outcome=OUT.ESCALATED)
    response = _post_action(client, "approve_selected", [decision])
    assert [level for level, _ in _messages(response)] == [constants.ERROR]
    assert _outcome(decision) == OUT.ESCALATED


def test_staff_without_view_permission_gets_403(client):
    """Staff with no decision permission at all cannot even reach the changelist."""
    client.force_login(UserFactory())
    decision = DecisionFactory()
    assert _post_action(client, "approve_selected", [decision]).status_code == 403
    assert _outcome(decision) == OUT.PENDING


def test_post_without_csrf_token_is_refused(admin):
    """The review actions are CSRF-protected."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    decision = DecisionFactory()
    assert _post_action(client, "approve_selected", [decision]).status_code == 403
    assert _post_apply(client, "reject_selected", [decision], "x").status_code == 403
    assert _outcome(decision) == OUT.PENDING


@pytest.mark.parametrize("pk", ["not-a-uuid", "'; DROP TABLE x; --", "<script>"])
def test_forged_selection_is_not_an_error(client, admin, pk):
    """Garbage in the selected ids does not crash the admin or change anything."""
    client.force_login(admin)
    decision = DecisionFactory()
    response = client.post(
        CHANGELIST, {"action": "approve_selected", "index": "0", ACTION_CHECKBOX_NAME: [pk]}
    )
    assert response.status_code == 302
    assert _messages(response) == [(constants.ERROR, INVALID_SELECTION)]
    assert _outcome(decision) == OUT.PENDING
