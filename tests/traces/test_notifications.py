"""Reviewer emails: escalation (through the worker), overdue once, daily digests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from decisioning.models import Decision
from decisioning.review import decision_transition
from tests.traces.factories import proposal_record
from traces.notifications.models import ReviewerPreference
from traces.notifications.services import digests_send

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _database_worker(settings):
    """The production backend: tasks wait in the database for the real worker (not Immediate)."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


def _work() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def test_escalation_emails_the_senior_group(make_user):
    admin = make_user("admin", username="ann", email="ann@example.com")
    make_user("senior", username="sue", email="sue@example.com")
    make_user("reviewer", username="rob", email="rob@example.com")
    _, decision = proposal_record()
    decision_transition(decision=decision, action="escalate", user=admin, reason="too big")
    assert mail.outbox == []  # sent by the worker, after commit
    _work()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["sue@example.com"]
    assert "too big" in mail.outbox[0].body


def test_overdue_notice_goes_to_the_rule_group_once(make_user):
    group = Group.objects.create(name="Pricing leads")
    lead = make_user("admin", username="lee", email="lee@example.com")
    lead.groups.add(group)
    make_user("admin", username="other", email="other@example.com")
    _, decision = proposal_record()
    Decision.objects.filter(pk=decision.pk).update(
        deciding_group=group, due_at=timezone.now() - timedelta(minutes=1)
    )
    call_command("review_notify", verbosity=0)
    call_command("review_notify", verbosity=0)
    assert [m.to for m in mail.outbox] == [["lee@example.com"]]
    assert "Past due" in mail.outbox[0].subject


def test_daily_digest_only_for_those_who_asked(make_user):
    wants = make_user("admin", username="dee", email="dee@example.com")
    make_user("admin", username="nod", email="nod@example.com")
    ReviewerPreference.objects.create(user=wants, daily_digest=True)
    proposal_record()
    call_command("review_notify", verbosity=0)
    call_command("review_notify", verbosity=0)
    assert [m.to for m in mail.outbox] == [["dee@example.com"]]
    assert "1 waiting for review" in mail.outbox[0].subject


def test_daily_digest_once_per_local_day_even_a_little_early(make_user, settings):
    """Run daily at the same hour, a run a few seconds earlier than yesterday's still sends."""
    settings.TIME_ZONE = "UTC"
    wants = make_user("admin", username="dee", email="dee@example.com")
    ReviewerPreference.objects.create(user=wants, daily_digest=True)
    monday = timezone.now().replace(hour=8, minute=0, second=5, microsecond=0)
    assert digests_send(now=monday) == 1
    assert digests_send(now=monday + timedelta(hours=15)) == 0
    assert digests_send(now=monday + timedelta(days=1, seconds=-3)) == 1
    assert len(mail.outbox) == 2
