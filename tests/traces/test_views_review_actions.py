"""Review actions through the views: permissions, transitions, htmx and plain forms, bad input."""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from decisioning.exceptions import PERMISSION_MISSING, PERMISSION_NONE
from decisioning.forms import (
    ACTION_INVALID,
    ACTION_MISSING,
    SEEN_INVALID,
    TOKEN_INVALID,
    TOKEN_MISSING,
)
from decisioning.models import REASON_MAX_LENGTH, Decision, DecisionTransition
from decisioning.review import decision_transition
from tests.decisioning.factories import DecisionFactory
from tests.traces.factories import proposal_record
from traces.models import EventRecord
from traces.views import DONE, GONE, REPLAYED

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
ACTIONS = ["approve", "reject", "defer", "escalate", "reopen"]
OUTCOMES = ["pending", "deferred", "escalated", "approved", "rejected"]
# (outcome, action) -> where it leads, for the state machine's allowed steps.
ALLOWED = {
    ("pending", "approve"): "approved",
    ("pending", "reject"): "rejected",
    ("pending", "defer"): "deferred",
    ("pending", "escalate"): "escalated",
    ("deferred", "approve"): "approved",
    ("deferred", "reject"): "rejected",
    ("deferred", "escalate"): "escalated",
    ("deferred", "reopen"): "pending",
    ("escalated", "approve"): "approved",
    ("escalated", "reject"): "rejected",
}


def _url(decision) -> str:
    return reverse("traces:decision_review", args=[decision.pk])


def _form(decision, verb: str, **extra) -> dict[str, str]:
    data = {
        "action": verb,
        "reason": "Checked the photos",
        "request_token": uuid.uuid4().hex,
        "seen_outcome": decision.outcome,
        "seen_decided_at": decision.decided_at.isoformat() if decision.decided_at else "",
    }
    data.update(extra)
    return {key: value for key, value in data.items() if value is not None}


def _expected_status(role: str, outcome: str, action: str) -> int:
    if role == "anonymous":
        return 302
    if role in ("nobody", "reviewer"):
        return 403
    if (outcome, action) not in ALLOWED:
        return 409
    if outcome == "escalated" and role == "admin":
        return 403
    return 200


def _unchanged(decision) -> None:
    fresh = Decision.objects.get(pk=decision.pk)
    assert (fresh.outcome, fresh.decided_at) == (decision.outcome, decision.decided_at)
    assert not DecisionTransition.objects.filter(decision=decision).exists()


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize(
    "role", ["anonymous", "nobody", "reviewer", "admin", "senior", "superuser"]
)
def test_review_permission_and_transition_matrix(client, make_user, role, outcome, action):
    """Every role x outcome x action through the htmx view: its status, and a change only on 200."""
    if role != "anonymous":
        client.force_login(make_user(role))
    decision = DecisionFactory(outcome=outcome)
    response = client.post(_url(decision), _form(decision, action), headers=HTMX)
    expected = _expected_status(role, outcome, action)
    if expected == 302:
        # htmx follows a redirect as a whole-page visit to the login form.
        assert response.status_code == 200
        assert response["HX-Redirect"].startswith(reverse("login"))
    else:
        assert response.status_code == expected
    if expected == 200:
        fresh = Decision.objects.get(pk=decision.pk)
        assert fresh.outcome == ALLOWED[(outcome, action)]
        assert fresh.transitions.count() == 1
    else:
        _unchanged(decision)


@pytest.mark.parametrize(
    ("role", "outcome", "action"),
    [("reviewer", "pending", "approve"), ("admin", "escalated", "approve")],
)
def test_review_forged_post_is_403_before_anything_else(client, make_user, role, outcome, action):
    """Without the permission, even a post with other mistakes is a 403 that changes nothing."""
    client.force_login(make_user(role))
    decision = DecisionFactory(outcome=outcome)
    response = client.post(_url(decision), {"action": action}, headers=HTMX)
    assert response.status_code == 403
    expected = (
        PERMISSION_NONE
        if role == "reviewer"
        else PERMISSION_MISSING.format(action=action, from_outcome=outcome)
    )
    assert expected in response.content.decode()
    _unchanged(decision)


def test_review_plain_post_redirects_with_a_message(client, admin):
    """Without JavaScript: POST, then a redirect to the page named by next, with a message."""
    client.force_login(admin)
    _, decision = proposal_record()
    queue = reverse("traces:review_queue") + "?tab=pending&risk=medium"
    response = client.post(_url(decision), _form(decision, "approve", next=queue))
    assert response.status_code == 302
    assert response["Location"] == queue
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        DONE.format(Action="Approved", decision_type="refund_approval")
    ]
    assert Decision.objects.get(pk=decision.pk).outcome == "approved"
    page = client.get(queue).content.decode()
    assert str(decision.pk) not in page


@pytest.mark.parametrize(
    "next_url", ["https://evil.example.com/", "//evil.example.com/x", "javascript:alert(1)", ""]
)
def test_review_plain_post_never_redirects_off_site(client, admin, next_url):
    """An unsafe or missing next goes to the decision page instead."""
    client.force_login(admin)
    decision = DecisionFactory()
    response = client.post(_url(decision), _form(decision, "defer", next=next_url))
    assert response.status_code == 302
    assert response["Location"] == reverse("traces:decision_detail", args=[decision.pk])


def test_review_htmx_row_updates_in_place_with_counts(client, admin):
    """The htmx answer is the row in its new state plus the nav and tab counts, out of band."""
    client.force_login(admin)
    _, decision = proposal_record()
    DecisionFactory()
    response = client.post(
        _url(decision),
        _form(decision, "escalate", reason="Above my limit"),
        headers={**HTMX, "HX-Target": f"review-row-{decision.pk}"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.startswith(f'<li id="review-row-{decision.pk}" class="card review-row is-resolved"')
    assert DONE.format(Action="Escalated", decision_type="refund_approval") in html
    assert "by <strong>alice</strong>" in html
    assert 'name="action"' not in html
    assert re.search(r'<a id="pending-link"[^>]*hx-swap-oob="true"', html)
    assert '<span class="pending-count">1</span>' in html
    assert '<span id="tab-count-escalated" class="tab-count" hx-swap-oob="true">1</span>' in html
    assert '<span id="tab-count-pending" class="tab-count" hx-swap-oob="true">1</span>' in html
    assert not get_messages(response.wsgi_request)


def test_review_htmx_panel_shows_the_next_actions(client, senior):
    """On the decision page the panel is swapped with the new state and what may follow."""
    client.force_login(senior)
    decision = DecisionFactory()
    response = client.post(
        _url(decision),
        _form(decision, "escalate", reason="Needs a second look"),
        headers={**HTMX, "HX-Target": "decision-review"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<section id="decision-review"')
    assert re.findall(r'name="action" value="(\w+)"', html) == ["approve", "reject"]
    assert 'hx-target="#decision-review"' in html
    assert 'name="seen_outcome" value="escalated"' in html
    assert 'id="pending-link"' in html


@pytest.mark.parametrize("action", ["reject", "escalate"])
@pytest.mark.parametrize("reason", ["", "   ", None])
def test_review_reason_required_is_400_with_the_form(client, admin, action, reason):
    """Reject and escalate without a reason: 400, the row again with the error, nothing changed."""
    client.force_login(admin)
    decision = DecisionFactory()
    data = _form(decision, action, reason=reason)
    response = client.post(
        _url(decision), data, headers={**HTMX, "HX-Target": f"review-row-{decision.pk}"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f"A reason is required to {action} a decision." in html
    assert 'aria-invalid="true"' in html
    assert f'value="{data["request_token"]}"' in html  # the same form may be sent again
    _unchanged(decision)


@pytest.mark.parametrize("action", ["approve", "defer"])
def test_review_reason_optional_for_approve_and_defer(client, admin, action):
    """Approve and defer work without a reason."""
    client.force_login(admin)
    decision = DecisionFactory()
    response = client.post(_url(decision), _form(decision, action, reason=""), headers=HTMX)
    assert response.status_code == 200
    assert Decision.objects.get(pk=decision.pk).reason == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"action": None}, ACTION_MISSING),
        ({"action": "fly"}, ACTION_INVALID.replace("%(value)s", "fly")),
        ({"action": "<script>alert(1)</script>"}, "Unknown review action"),
        ({"reason": "x" * 10_000}, "The reason is 10000 characters long"),
        ({"reason": "x" * (REASON_MAX_LENGTH + 1)}, f"limit is {REASON_MAX_LENGTH}"),
        ({"reason": "a\x00b"}, "The reason must not contain NUL characters."),
        ({"request_token": None}, TOKEN_MISSING),
        ({"request_token": ""}, TOKEN_MISSING),
        ({"request_token": "t" * 10_000}, TOKEN_INVALID),
        ({"request_token": "t\x00"}, TOKEN_INVALID),
        ({"seen_outcome": "maybe"}, SEEN_INVALID),
        ({"seen_decided_at": "yesterday"}, SEEN_INVALID),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_review_bad_input_is_400(client, admin, changes, message, htmx):
    """Missing, unknown, huge, NUL and malformed fields: 400 naming the problem, nothing changed."""
    client.force_login(admin)
    decision = DecisionFactory()
    response = client.post(
        _url(decision), _form(decision, "reject", **changes), headers=HTMX if htmx else {}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert escape(message) in html
    assert "<script>alert(1)</script>" not in html
    assert "\x00" not in html
    assert ("<html" in html) is not htmx
    _unchanged(decision)


def test_review_without_the_seen_state_acts_on_the_current_one(client, admin):
    """A client that sends no seen state (a script, an API) acts on the decision as it is now."""
    client.force_login(admin)
    decision = DecisionFactory(outcome="deferred")
    data = _form(decision, "reopen", seen_outcome=None, seen_decided_at=None)
    assert client.post(_url(decision), data, headers=HTMX).status_code == 200
    assert Decision.objects.get(pk=decision.pk).outcome == "pending"


def test_review_htmx_signed_out_returns_to_the_page_after_login(client):
    """An htmx post from a signed-out page sends the browser to login, then back to that page."""
    decision = DecisionFactory()
    queue = reverse("traces:review_queue") + "?tab=pending"
    response = client.post(
        _url(decision),
        _form(decision, "approve"),
        headers={**HTMX, "HX-Current-URL": f"http://testserver{queue}"},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next={quote(queue, safe='/')}"
    _unchanged(decision)


def test_review_forged_token_acts_once(client, admin):
    """Any well-formed token is accepted; sent twice it acts once."""
    client.force_login(admin)
    decision = DecisionFactory()
    data = _form(decision, "approve", request_token="forged-but-well-formed")
    assert client.post(_url(decision), data, headers=HTMX).status_code == 200
    again = client.post(_url(decision), data, headers=HTMX)
    assert again.status_code == 200
    assert Decision.objects.get(pk=decision.pk).transitions.count() == 1


@pytest.mark.parametrize("htmx", [True, False])
def test_review_resubmission_acts_once(client, admin, htmx):
    """A double-click or a resubmitted form: one transition, one audit event, then a note."""
    client.force_login(admin)
    event, decision = proposal_record()
    data = _form(decision, "reject", reason="Not defective")
    headers = HTMX if htmx else {}
    first = client.post(_url(decision), data, headers=headers)
    second = client.post(_url(decision), {**data, "action": "approve"}, headers=headers)
    assert first.status_code == second.status_code == (200 if htmx else 302)
    replayed = REPLAYED.format(outcome="rejected")
    if htmx:
        assert replayed in second.content.decode()
    else:
        assert replayed in [str(m) for m in get_messages(second.wsgi_request)]
    assert Decision.objects.get(pk=decision.pk).outcome == "rejected"
    assert DecisionTransition.objects.filter(decision=decision).count() == 1
    assert EventRecord.objects.filter(parent=event, event_type="decision.rejected").count() == 1


def test_review_conflict_says_who_decided_and_when(client, make_user):
    """Someone else acted since the page was shown: 409 naming them and when; nothing changed."""
    alice = make_user("admin", username="alice")
    bob = make_user("admin", username="bob")
    decision = DecisionFactory()
    stale = _form(decision, "approve")
    at = timezone.now() - timedelta(minutes=1)
    decision_transition(decision=decision, action="defer", user=bob, now=at)
    client.force_login(alice)
    response = client.post(
        _url(decision), stale, headers={**HTMX, "HX-Target": f"review-row-{decision.pk}"}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert f"Already deferred by bob at {at:%Y-%m-%d %H:%M} UTC." in html
    assert "is-resolved" in html  # it has left the pending tab
    fresh = Decision.objects.get(pk=decision.pk)
    assert (fresh.outcome, fresh.decided_by) == ("deferred", bob)
    assert fresh.transitions.count() == 1


def test_review_two_admins_one_wins(client, make_user):
    """Two reviewers send forms from the same page: the first wins, the second is told."""
    alice = make_user("admin", username="alice")
    bob = make_user("admin", username="bob")
    decision = DecisionFactory()
    alice_form, bob_form = _form(decision, "approve"), _form(decision, "reject", reason="No")
    client.force_login(alice)
    assert client.post(_url(decision), alice_form, headers=HTMX).status_code == 200
    other = Client()
    other.force_login(bob)
    response = other.post(_url(decision), bob_form)
    assert response.status_code == 409
    assert "Already approved by alice at" in response.content.decode()
    assert Decision.objects.get(pk=decision.pk).outcome == "approved"


def test_review_final_decision_is_409_plain(client, admin):
    """Without JavaScript, a refusal shows the decision page with the reason and its status."""
    client.force_login(admin)
    decision = DecisionFactory(outcome="approved")
    response = client.post(_url(decision), _form(decision, "reject", reason="Too late"))
    assert response.status_code == 409
    html = response.content.decode()
    assert "<html" in html
    assert "Cannot reject" in html or "Already approved" in html
    assert 'name="action"' not in html


def test_review_missing_or_deleted_decision_is_404(client, admin):
    """Unknown and soft-deleted decisions are 404 (an htmx fragment says so); nothing changes."""
    client.force_login(admin)
    deleted = DecisionFactory()
    deleted.delete()
    for decision_id in (uuid.uuid4(), deleted.pk):
        url = reverse("traces:decision_review", args=[decision_id])
        assert client.post(url, {"action": "approve"}).status_code == 404
        response = client.post(
            url, {"action": "approve"}, headers={**HTMX, "HX-Target": f"review-row-{decision_id}"}
        )
        assert response.status_code == 404
        assert GONE in response.content.decode()
        assert response.content.decode().startswith("<li")
    assert Decision.all_objects.get(pk=deleted.pk).outcome == "pending"


@pytest.mark.parametrize("decision_id", ["not-a-uuid", "1", "' OR 1=1 --", "%00"])
def test_review_non_uuid_id_is_404(client, admin, decision_id):
    """Ids that are not UUIDs never reach the view."""
    client.force_login(admin)
    assert client.post(f"/traces/decisions/{decision_id}/review/", {}).status_code == 404


def test_review_get_is_405(client, admin):
    """Actions are POST only."""
    client.force_login(admin)
    assert client.get(_url(DecisionFactory())).status_code == 405


def test_review_anonymous_plain_post_goes_to_login(client):
    """A signed-out form post is sent to the login page and changes nothing."""
    decision = DecisionFactory()
    response = client.post(_url(decision), _form(decision, "approve"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    _unchanged(decision)


def test_review_csrf_is_enforced(make_user):
    """Without the CSRF token the POST is refused (403) and nothing changes; with it, it works."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("admin"))
    decision = DecisionFactory()
    response = client.post(_url(decision), _form(decision, "approve"), headers=HTMX)
    assert response.status_code == 403
    _unchanged(decision)

    page = client.get(reverse("traces:review_queue")).content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    response = client.post(
        _url(decision), _form(decision, "approve"), headers={**HTMX, "X-CSRFToken": token}
    )
    assert response.status_code == 200
    assert Decision.objects.get(pk=decision.pk).outcome == "approved"


def test_review_csrf_form_field_works_without_javascript(make_user):
    """The plain form carries its own csrfmiddlewaretoken."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("admin"))
    decision = DecisionFactory()
    page = client.get(reverse("traces:review_queue")).content.decode()
    form = re.search(r'<form class="review-form".*?</form>', page, re.S).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    response = client.post(_url(decision), {**fields, "action": "defer"})
    assert response.status_code == 302
    assert Decision.objects.get(pk=decision.pk).outcome == "deferred"


def _post_at_once(clients, url, forms) -> list:
    barrier = threading.Barrier(len(clients))

    def post(index):
        try:
            barrier.wait()
            return clients[index].post(url, forms[index], headers=HTMX)
        finally:
            connection.close()

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(post, range(len(clients))))


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)")
@pytest.mark.django_db(transaction=True)
def test_review_race_through_the_view_one_winner_postgres(make_user):
    """Six admins press a button on the same pending decision at once: one 200, five 409s."""
    users = [make_user("senior", username=f"admin{i}") for i in range(6)]
    _, decision = proposal_record()
    clients = []
    for user in users:
        client = Client()
        client.force_login(user)
        clients.append(client)
    verbs = ["approve", "reject", "defer", "escalate"]
    forms = [_form(decision, verbs[i % 4], reason="Race") for i in range(6)]
    responses = _post_at_once(clients, _url(decision), forms)

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * 5
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    for response in responses:
        if response.status_code == 409:
            assert f"by admin{winner} at" in response.content.decode()
    assert DecisionTransition.objects.filter(decision=decision).count() == 1
    assert EventRecord.objects.filter(event_type__startswith="decision.").count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)")
@pytest.mark.django_db(transaction=True)
def test_review_double_click_race_acts_once_postgres(make_user):
    """One form sent four times at once (a frantic double-click): one action, one audit event."""
    user = make_user("admin", username="alice")
    _, decision = proposal_record()
    clients = []
    for _ in range(4):
        client = Client()
        client.force_login(user)
        clients.append(client)
    form = _form(decision, "approve")
    responses = _post_at_once(clients, _url(decision), [form] * 4)
    assert [response.status_code for response in responses] == [200] * 4
    assert DecisionTransition.objects.filter(decision=decision).count() == 1
    assert EventRecord.objects.filter(event_type="decision.approved").count() == 1
