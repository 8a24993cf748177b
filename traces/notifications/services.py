"""Who is told what: the recipients of a decision, and the emails themselves."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from decisioning.models import Decision, DecisionOutcome, DecisionTransition
from decisioning.permissions import APPROVE_DECISION, DECIDE_ESCALATED_DECISION, REVIEW_GROUPS
from traces.notifications.models import ReviewerPreference

__all__ = [
    "decision_recipients",
    "digests_send",
    "escalation_notify",
    "on_decision_transitioned",
    "overdue_notify",
]


def decision_recipients(decision: Decision, *, escalated: bool = False) -> list[str]:
    """The email addresses of the group that may decide ``decision`` (active users with one).

    The rule's group when it named one; for an escalation the groups holding
    the senior permission; otherwise every review group that may approve.
    """
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    if decision.deciding_group_id is not None:
        users = users.filter(groups=decision.deciding_group_id)
    else:
        needed = (DECIDE_ESCALATED_DECISION if escalated else APPROVE_DECISION).split(".", 1)[1]
        names = [name for name, codenames in REVIEW_GROUPS.items() if needed in codenames]
        users = users.filter(Q(groups__name__in=names) | Q(is_superuser=True))
    return sorted(set(users.values_list("email", flat=True)))


def _link(decision: Decision) -> str:
    return reverse("traces:decision_detail", args=[decision.pk])


def _send(messages: Iterable[tuple[str, str, None, list[str]]]) -> int:
    batch = [message for message in messages if message[3]]
    return send_mass_mail(batch, fail_silently=False) if batch else 0


def escalation_notify(decision: Decision) -> int:
    """Email the deciders of an escalated decision; returns the emails sent."""
    subject = f"Escalated for your decision: {decision.decision_type}"
    body = (
        f"{decision.decision_type} was escalated"
        f"{f' by {decision.decided_by}' if decision.decided_by_id else ''}: "
        f"{decision.reason or '(no reason)'}\n\nDecide it at {_link(decision)}\n"
    )
    return _send([(subject, body, None, decision_recipients(decision, escalated=True))])


def overdue_notify(*, now: datetime | None = None, limit: int = 500) -> int:
    """Tell each overdue pending decision's group once; returns the decisions notified."""
    now = now or timezone.now()
    with transaction.atomic():
        overdue = list(
            Decision.objects.select_for_update(skip_locked=True)
            .filter(outcome=DecisionOutcome.PENDING, due_at__lt=now, overdue_notified_at=None)
            .order_by("due_at")[:limit]
        )
        messages = [
            (
                f"Past due: {decision.decision_type}",
                f"{decision.decision_type}{f' (rule {decision.rule!r})' if decision.rule else ''} "
                f"was due at {decision.due_at:%Y-%m-%d %H:%M %Z} and still waits.\n\n"
                f"Review it at {_link(decision)}\n",
                None,
                decision_recipients(decision),
            )
            for decision in overdue
        ]
        Decision.objects.filter(pk__in=[d.pk for d in overdue]).update(overdue_notified_at=now)
        transaction.on_commit(lambda: _send(messages))
    return len(overdue)


def _start_of_day(now: datetime) -> datetime:
    return timezone.make_aware(
        datetime.combine(timezone.localtime(now).date(), datetime.min.time())
    )


@transaction.atomic
def digests_send(*, now: datetime | None = None) -> int:
    """The digest to each user who asked for it and had none today (local date); returns how many.

    Once per calendar day whatever the hour it runs at (the periodic task runs
    it daily at ``daily_at``); the preferences are locked, so two runs at once
    send one digest each, not two.
    """
    now = now or timezone.now()
    due = (
        ReviewerPreference.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("user")
        .filter(
            Q(last_digest_at__isnull=True) | Q(last_digest_at__lt=_start_of_day(now)),
            daily_digest=True,
            user__is_active=True,
        )
    )
    pending = Decision.objects.filter(outcome=DecisionOutcome.PENDING)
    total = pending.count()
    overdue = pending.filter(due_at__lt=now).count()
    oldest = list(pending.order_by("effective_at", "id")[:10])
    lines = "\n".join(
        f"- {d.decision_type} (since {d.effective_at:%Y-%m-%d %H:%M})" for d in oldest
    )
    sent = []
    messages = []
    for preference in due:
        user: Any = preference.user
        if not user.email:
            continue
        messages.append(
            (
                f"Decision Trace: {total} waiting for review, {overdue} overdue",
                f"Waiting: {total}, overdue: {overdue}.\nOldest:\n{lines or '(none)'}\n\n"
                f"Open the queue at {reverse('traces:review_queue')}\n",
                None,
                [user.email],
            )
        )
        sent.append(preference.pk)
    ReviewerPreference.objects.filter(pk__in=sent).update(last_digest_at=now)
    transaction.on_commit(lambda: _send(messages))
    return len(sent)


def on_decision_transitioned(
    sender: type[Decision],
    *,
    decision: Decision,
    transition: DecisionTransition,
    user: AbstractBaseUser,
    **kwargs: Any,
) -> None:
    """``decision_transitioned`` receiver: an escalation's email task, in its transaction."""
    if transition.to_outcome != DecisionOutcome.ESCALATED:
        return
    from traces.notifications.tasks import escalation_email_send

    escalation_email_send.enqueue(decision_id=str(decision.pk))
