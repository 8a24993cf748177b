"""The closed sets of values (re-exported by ``decisioning.models``)."""

from __future__ import annotations

from django.db import models

__all__ = ["DecisionAction", "DecisionOutcome", "IdempotencyStatus"]


class IdempotencyStatus(models.TextChoices):
    IN_FLIGHT = "in_flight", "In Flight"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class DecisionOutcome(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PENDING = "pending", "Pending"
    DEFERRED = "deferred", "Deferred"
    ESCALATED = "escalated", "Escalated"


class DecisionAction(models.TextChoices):
    """What a reviewer does to a decision (``decisioning.transitions`` says when)."""

    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    DEFER = "defer", "Defer"
    ESCALATE = "escalate", "Escalate"
    REOPEN = "reopen", "Reopen"
