"""The tags that build list rows in Python (issue 18 point 1): same links, escaped text."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from traces.models import ActorRecord, EventRecord, TrackedObjectRecord
from traces.templatetags.traces_ui import (
    actor_badge,
    actor_url,
    choice_label,
    outcome_badge,
    uuid_url,
)


@pytest.mark.parametrize("name", ["traces:event_detail", "traces:event_feedback"])
def test_uuid_url_is_the_reversed_url(name):
    """The cached prefix gives what reverse() gives, for any id."""
    for pk in (uuid.uuid4(), uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)):
        assert uuid_url(pk, name) == reverse(name, args=[pk])


@pytest.mark.parametrize(
    "hostile",
    ['<script>alert("x")</script>', "a\"b'c&d", "ctrl\x01\x1f\x7fchars", "<b>bold</b>"],
)
def test_actor_badge_escapes_the_name(hostile):
    """A stored display name is text, never markup."""
    actor = ActorRecord(actor_type="ai_agent", actor_id="pricing-ai", name=hostile)
    html = actor_badge(actor)
    assert "<script>" not in html
    assert "<b>" not in html
    assert f'href="{reverse("traces:actor_detail", args=["ai_agent", "pricing-ai"])}"' in html
    assert html.count("<a ") == 1


@pytest.mark.parametrize(
    ("actor_type", "actor_id"),
    [("ai_agent", ""), ("ai_agent", "nul\x00inside"), ("not a slug", "x"), ('<b a="1">', "y")],
)
def test_actor_badge_without_a_url_is_a_span(actor_type, actor_id):
    """A stored type or id that cannot be a URL gives a badge without a link, as before."""
    actor = ActorRecord(actor_type=actor_type, actor_id=actor_id, name="Bot")
    assert actor_url(actor) == ""
    html = actor_badge(actor)
    assert html.startswith('<span class="actor-badge actor-')
    assert "<a " not in html
    assert "<b " not in html


def test_actor_badge_for_no_actor():
    assert "No actor" in actor_badge(None)


class _Event:
    """What outcome_badge reads of a row."""

    def __init__(self, *, requires_approval: bool, approval_status: str, outcome: str) -> None:
        self.requires_approval = requires_approval
        self.approval_status = approval_status
        self.outcome = outcome

    def get_outcome_display(self) -> str:
        return self.outcome.title()


@pytest.mark.parametrize(
    ("requires", "status", "show", "expected"),
    [
        (False, "", True, "outcome-success"),
        (True, "approved", True, "outcome-success"),
        (True, "rejected", True, "Proposal rejected"),
        (True, "pending", True, "Proposed, not applied"),
        (True, "pending", False, ">Proposal<"),
        (True, "rejected", "", ">Proposal<"),
    ],
)
def test_outcome_badge_says_what_a_proposal_is(requires, status, show, expected):
    event = _Event(requires_approval=requires, approval_status=status, outcome="success")
    assert expected in outcome_badge(event, show)


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (EventRecord, "outcome"),
        (EventRecord, "risk_level"),
        (EventRecord, "approval_status"),
        (ActorRecord, "actor_type"),
        (TrackedObjectRecord, "object_type"),
    ],
)
def test_choice_label_is_the_display_django_gives(model, field):
    """Every choice, a blank and a value outside the choices read as get_<field>_display()."""
    values = [value for value, _ in model._meta.get_field(field).flatchoices]
    for value in [*values, "", "not-a-choice\x00"]:
        row = model(**{field: value})
        assert choice_label(row, field) == getattr(row, f"get_{field}_display")()
