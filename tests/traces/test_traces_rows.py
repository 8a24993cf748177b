"""The list rows built in Python (traces_rows, issue 18 point 1): stored text stays text.

The review queue, the decision list, an object's history and the dashboard's lists
render their rows with ``format_html`` instead of per-row includes. Stored text is
hostile (markup, quotes, control characters, 100,000 characters): every page still
answers 200 and shows it escaped exactly as ``{{ value }}`` would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape

from decisioning.models import Decision
from tests.traces.factories import (
    ActorRecordFactory,
    EventRecordFactory,
    TrackedObjectRecordFactory,
)
from traces.templatetags.traces_rows import review_tab_count
from traces.templatetags.traces_ui import first_line

pytestmark = pytest.mark.django_db

HOSTILE = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "it's & <b>bold</b>",
    "ctrl\x01\x1f\x7f\x85chars",
    "x" * 100_000,
]
MARKUP = ("<script", "<img", "<b>")


def _assert_text_only(html: str, value: str, *, shown: str | None = None) -> None:
    """``value`` (or what of it is ``shown``) is in the page escaped, never as markup."""
    assert conditional_escape(value if shown is None else shown) in html
    for tag in MARKUP:
        if tag in value:
            assert tag not in html.split("<main", 1)[-1]


@pytest.fixture
def proposal(request):
    """An event that needs approval and its pending decision, their text all ``request.param``."""
    text = request.param
    actor = ActorRecordFactory(actor_type="ai_agent", actor_id="pricing-ai", name=text[:255])
    event = EventRecordFactory(
        actor=actor,
        description=text,
        reasoning=text,
        action=text[:255],
        requires_approval=True,
        approval_status="pending",
        outcome="failure",
        risk_level="high",
        has_decision=True,
        effective_at=timezone.now() - timedelta(minutes=5),
    )
    TrackedObjectRecordFactory(
        event=event,
        object_type="order",
        object_id="ord-1",
        state_before={text: text, "status": "open"},
        state_after={text: text[::-1], "status": text},
    )
    claimer = get_user_model().objects.create_user(username=text[:150], password="pw-x-123456")
    decision = Decision.objects.create(
        target=event,
        decision_type=text[:100],
        reason=text,
        outcome="pending",
        rule=text[:100],
        due_at=timezone.now() - timedelta(hours=1),
        claimed_by=claimer,
        claimed_at=timezone.now(),
    )
    return text, event, decision


@pytest.mark.parametrize("proposal", HOSTILE, indirect=True)
def test_review_row_shows_stored_text_escaped(admin_client, proposal):
    text, _, decision = proposal
    for headers in ({}, {"HX-Request": "true", "HX-Target": "review-queue"}):
        response = admin_client.get(reverse("traces:review_queue"), headers=headers)
        assert response.status_code == 200
        html = response.content.decode()
        assert f'id="review-row-{decision.pk}"' in html
        _assert_text_only(html, text, shown=text[:100])  # the decision type
        _assert_text_only(html, text, shown=first_line(text))  # why
        _assert_text_only(html, text, shown=text[:150])  # who is reviewing it
        assert f'href="{reverse("traces:decision_review", args=[decision.pk])}"' not in html
        assert f'hx-post="{reverse("traces:decision_review", args=[decision.pk])}"' in html


@pytest.mark.parametrize("proposal", HOSTILE, indirect=True)
def test_review_answer_row_and_panel_escape_the_reason(admin_client, proposal):
    """A refused review answers the row, or the decision page's panel, with the typed reason
    back in the textarea, escaped (and the reason's error when it was the problem)."""
    text, _, decision = proposal
    url = reverse("traces:decision_review", args=[decision.pk])
    for target in ("review-row-x", "decision-review"):
        for action, reason in (("nonsense", text[:2000]), ("reject", "")):
            response = admin_client.post(
                url,
                {"action": action, "reason": reason, "next": "/traces/review/"},
                headers={"HX-Request": "true", "HX-Target": target},
            )
            assert response.status_code == 400
            html = response.content.decode()
            assert f"{conditional_escape(reason)}</textarea>" in html
            assert ('aria-invalid="true"' in html) == (action == "reject")
            assert ('hx-target="#decision-review"' in html) == (target == "decision-review")
            assert "<script" not in html


@pytest.mark.parametrize("proposal", HOSTILE, indirect=True)
def test_decision_list_row_shows_stored_text_escaped(admin_client, proposal):
    text, event, decision = proposal
    response = admin_client.get(reverse("traces:decision_list"))
    assert response.status_code == 200
    html = response.content.decode()
    _assert_text_only(html, text, shown=text[:100])
    _assert_text_only(html, text)  # the whole reason, as before
    assert f'href="{reverse("traces:event_detail", args=[event.pk])}"' in html
    assert f'href="{reverse("traces:decision_detail", args=[decision.pk])}"' in html


@pytest.mark.parametrize("proposal", HOSTILE, indirect=True)
def test_history_step_and_state_diff_show_stored_text_escaped(admin_client, proposal):
    text, event, _ = proposal
    for known_at in ("", "2999-01-01T00:00:00+00:00"):
        query = {"known_at": known_at} if known_at else {}
        response = admin_client.get(
            reverse("traces:object_history", args=["order", "ord-1"]), query
        )
        assert response.status_code == 200
        html = response.content.decode()
        _assert_text_only(html, text)  # description, and the state's key and value
        _assert_text_only(html, text, shown=text[::-1])
        assert 'class="diff diff-proposal"' in html
        link = reverse("traces:event_detail", args=[event.pk])
        if known_at:
            link += "?known_at=2999-01-01T00%3A00%3A00%2B00%3A00"
        assert f'href="{link}"' in html


@pytest.mark.parametrize("proposal", HOSTILE, indirect=True)
@pytest.mark.parametrize("period", ["24h", "7d", "30d"])
def test_dashboard_lists_show_stored_text_escaped(admin_client, proposal, period):
    text, event, _ = proposal
    response = admin_client.get(reverse("home"), {"period": period})
    assert response.status_code == 200
    html = response.content.decode()
    link = f'<a class="event-title" href="{reverse("traces:event_detail", args=[event.pk])}">'
    assert html.count(link) == 2  # a failure and a high-risk decision
    _assert_text_only(html, text)
    assert '<rect class="series series-ai_agent"' in html


@pytest.mark.parametrize("oob", [False, True])
def test_review_tab_count_swaps_out_of_band_only_after_a_review(oob):
    html = review_tab_count("pending", 3, oob)
    assert html.startswith('<span id="tab-count-pending" class="tab-count"')
    assert ('hx-swap-oob="true"' in html) == oob
    assert ">3</span>" in html
