"""Feedback on any event: the service, the labels' filter and the share-correct read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.traces.factories import ActorRecordFactory, EventRecordFactory
from traces.feedback import (
    FEEDBACK_ANONYMOUS,
    FEEDBACK_LABEL_INVALID,
    FEEDBACK_ON_FEEDBACK,
    FeedbackError,
    event_feedback_record,
    feedback_latest,
    feedback_shares,
    marked,
)
from traces.models import EventRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def ai_event():
    agent = ActorRecordFactory(
        actor_type="ai_agent", actor_id="forecast-ai", model="demand-forecast", version="2.1"
    )
    return EventRecordFactory(actor=agent, event_type="ai.recommendation")


def test_event_feedback_record_is_a_child_event_by_the_reviewer(ai_event, admin):
    """The label is a child event by the reviewer, with note, corrected value and model version."""
    child = event_feedback_record(
        event=ai_event, user=admin, label="incorrect", note="Stock was wrong", corrected_value="12"
    )
    assert child.parent_id == ai_event.pk
    assert child.event_type == "feedback.incorrect"
    assert child.actor.actor_type == "user"
    assert child.actor.actor_id == admin.username
    assert child.reasoning == "Stock was wrong"
    assert child.data["corrected_value"] == "12"
    assert (child.data["model"], child.data["version"]) == ("demand-forecast", "2.1")
    assert "feedback" in child.tags


@pytest.mark.parametrize(
    ("label", "note", "corrected", "message"),
    [
        ("wrong", "", "", FEEDBACK_LABEL_INVALID),
        ("", "", "", FEEDBACK_LABEL_INVALID),
        ("correct", "a\x00b", "", "NUL"),
        ("correct", "", "\ud800", "surrogates"),
        ("correct", "x" * 2001, "", "at most"),
        ("correct", "", "y" * 2001, "at most"),
    ],
)
def test_event_feedback_record_refuses_bad_input(ai_event, admin, label, note, corrected, message):
    """Unknown labels, NUL, lone surrogates and huge texts are refused; nothing is written."""
    before = EventRecord.objects.count()
    with pytest.raises(FeedbackError, match=message):
        event_feedback_record(
            event=ai_event, user=admin, label=label, note=note, corrected_value=corrected
        )
    assert EventRecord.objects.count() == before


def test_event_feedback_record_refuses_anonymous_and_feedback_on_feedback(
    ai_event, admin, make_user
):
    """Anonymous users cannot label; a label cannot itself be labelled."""
    with pytest.raises(FeedbackError, match=FEEDBACK_ANONYMOUS):
        event_feedback_record(event=ai_event, user=make_user("anonymous"), label="correct")
    child = event_feedback_record(event=ai_event, user=admin, label="correct")
    with pytest.raises(FeedbackError, match=FEEDBACK_ON_FEEDBACK):
        event_feedback_record(event=child, user=admin, label="correct")


def test_marked_follows_the_latest_label(ai_event, admin):
    """A later label supersedes an earlier one in the filter; both stay in the trail."""
    other = EventRecordFactory(actor=ai_event.actor)
    now = timezone.now()
    event_feedback_record(event=ai_event, user=admin, label="incorrect", now=now)
    event_feedback_record(event=other, user=admin, label="incorrect", now=now)
    event_feedback_record(event=other, user=admin, label="correct", now=now + timedelta(seconds=1))
    assert set(marked(EventRecord.objects.all(), ["incorrect"])) == {ai_event}
    assert set(marked(EventRecord.objects.all(), ["correct"])) == {other}
    assert EventRecord.objects.filter(parent=other).count() == 2
    latest = feedback_latest([ai_event.pk, other.pk])
    assert latest[other.pk].label == "correct"
    assert latest[ai_event.pk].label == "incorrect"


def test_feedback_shares_per_version_and_day(admin):
    """The share marked correct, per model version and day bucket, from the latest labels."""
    now = timezone.now()
    since = now - timedelta(days=2)
    agent = ActorRecordFactory(actor_type="ai_agent", actor_id="pricing-ai", model="m", version="1")
    events = [
        EventRecordFactory(actor=agent, effective_at=now - timedelta(hours=1)) for _ in range(4)
    ]
    for event, label in zip(events, ["correct", "correct", "incorrect", "unsure"], strict=True):
        event_feedback_record(event=event, user=admin, label=label)
    agent.version = "2"
    agent.save()
    newer = EventRecordFactory(actor=agent, effective_at=now - timedelta(minutes=5))
    event_feedback_record(event=newer, user=admin, label="correct")
    shares = feedback_shares(agent, since=since, step=timedelta(days=1))
    by_version = {share.version: share for share in shares}
    assert by_version["1"].total == 4
    assert by_version["1"].percent == 50
    assert by_version["2"].percent == 100
    user_actor = ActorRecordFactory(actor_type="user")
    assert feedback_shares(user_actor, since=since, step=timedelta(days=1)) == []
