"""Cross-page rules of the web UI: login everywhere, escaping, the navigation, the cache key."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from decisioning.models import Decision
from tests.traces.factories import (
    ActorRecordFactory,
    EventRecordFactory,
    EventTagFactory,
    TrackedObjectRecordFactory,
)

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"

PAGES = [
    ("home", {}),
    ("traces:timeline", {}),
    ("traces:event_detail", {"event_id": uuid.uuid4()}),
    ("traces:object_history", {"object_type": "order", "object_id": "ord-1"}),
    ("traces:actor_detail", {"actor_type": "user", "actor_id": "u-1"}),
    ("traces:decision_list", {}),
    ("traces:review_queue", {}),
    ("traces:decision_detail", {"decision_id": uuid.uuid4()}),
]


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_pages_redirect_anonymous_users_to_login(client, name, kwargs):
    """Every page but the health check and login needs a signed-in user."""
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_pages_refuse_post(admin_client, name, kwargs):
    """The pages only read: POST is 405."""
    assert admin_client.post(reverse(name, kwargs=kwargs)).status_code == 405


def test_login_page_renders_for_anonymous(client):
    """The login form has labelled fields."""
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'<label for="id_username"' in response.content


def test_reviewer_without_staff_rights_sees_pages_but_no_admin_link(client, django_user_model):
    """A plain reviewer account can use every page; the admin link is for staff only."""
    client.force_login(django_user_model.objects.create_user("reviewer", password="x"))
    response = client.get(reverse("traces:timeline"))
    assert response.status_code == 200
    assert reverse("admin:index").encode() not in response.content


def test_navigation_shows_pending_count_linking_to_the_review_queue(admin_client):
    """The top bar counts pending decisions and links to the review queue."""
    for outcome in ("pending", "pending", "approved"):
        event = EventRecordFactory(requires_approval=True, approval_status=outcome)
        Decision.objects.create(target=event, decision_type="refund_approval", outcome=outcome)
    response = admin_client.get(reverse("traces:timeline"))
    html = response.content.decode()
    assert '<span class="pending-count">2</span>' in html
    assert f'href="{reverse("traces:review_queue")}"' in html
    assert 'role="search"' in html


def test_partial_and_page_are_cached_apart(admin_client):
    """One URL serves page and partial, so responses vary on HX-Request."""
    response = admin_client.get(reverse("traces:timeline"))
    assert "HX-Request" in response["Vary"]


@pytest.fixture
def hostile_event():
    actor = ActorRecordFactory(actor_type="ai_agent", actor_id="evil-ai", name=HOSTILE)
    event = EventRecordFactory(
        actor=actor,
        description=HOSTILE,
        reasoning=HOSTILE,
        tags=[HOSTILE],
        context={HOSTILE: HOSTILE},
        alternatives=[{"action": HOSTILE, "reason": HOSTILE}],
        rejection_reasons={HOSTILE: HOSTILE},
        data={"x": HOSTILE},
        risk_level="high",
        outcome="failure",
        effective_at=timezone.now(),
    )
    EventTagFactory(event=event, tag=HOSTILE)
    TrackedObjectRecordFactory(
        event=event,
        object_id="ord-1",
        name=HOSTILE,
        state_before={"note": HOSTILE},
        state_after={"note": "ok"},
    )
    return event


@pytest.mark.parametrize(
    "url",
    [
        lambda e: reverse("home"),
        lambda e: reverse("traces:timeline"),
        lambda e: reverse("traces:event_detail", args=[e.pk]),
        lambda e: reverse("traces:object_history", args=["order", "ord-1"]),
        lambda e: reverse("traces:actor_detail", args=["ai_agent", "evil-ai"]),
        lambda e: reverse("traces:timeline") + "?q=" + HOSTILE,
    ],
    ids=["dashboard", "timeline", "event", "object", "actor", "search"],
)
def test_user_text_is_escaped(admin_client, hostile_event, url):
    """A <script> in description, reasoning, tags, names or state renders as text."""
    response = admin_client.get(url(hostile_event))
    assert response.status_code == 200
    assert HOSTILE.encode() not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


def test_every_hx_get_keeps_a_plain_link_or_form_action(admin_client, hostile_event):
    """Each element with hx-get also works without JavaScript: a link's href or a form's action."""
    TrackedObjectRecordFactory.create_batch(2, event=EventRecordFactory())
    EventRecordFactory.create_batch(35)
    urls = [
        reverse("home"),
        reverse("traces:timeline") + "?outcome=failure",
        reverse("traces:timeline"),
        reverse("traces:object_history", args=["order", "ord-1"]),
        reverse("traces:actor_detail", args=["ai_agent", "evil-ai"]),
        reverse("traces:decision_list"),
        reverse("traces:review_queue"),
    ]
    checked = 0
    for url in urls:
        html = admin_client.get(url).content.decode()
        for tag in re.findall(r"<(?:a|form)\b[^>]*\bhx-get=[^>]*>", html):
            get = re.search(r'hx-get="([^"]*)"', tag).group(1)
            plain = re.search(r'(?:href|action)="([^"]*)"', tag)
            assert plain, tag
            assert plain.group(1) == get, tag
            checked += 1
    assert checked >= 8
