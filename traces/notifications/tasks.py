"""The worker's email task (django-tasks, database backend)."""

from __future__ import annotations

from django_tasks import task

from decisioning.models import Decision
from traces.notifications.services import escalation_notify

__all__ = ["escalation_email_send"]


@task()
def escalation_email_send(*, decision_id: str) -> int:
    """Email the deciders of an escalated decision, if it is still escalated."""
    decision = Decision.objects.select_related("decided_by").filter(pk=decision_id).first()
    if decision is None or decision.outcome != "escalated":
        return 0
    return escalation_notify(decision)
