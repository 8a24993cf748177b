"""Idempotency keys and Decision records."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from decisioning.basemodels import BaseModel, UUIDModel
from decisioning.mixins import TimeSemanticsMixin

__all__ = ["Decision", "DecisionOutcome", "IdempotencyKey", "IdempotencyStatus"]


class IdempotencyStatus(models.TextChoices):
    IN_FLIGHT = "in_flight", "In Flight"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class IdempotencyKey(UUIDModel):
    """The status and stored result of one idempotent operation."""

    key = models.CharField(
        max_length=255, unique=True, help_text="The operation's idempotency key."
    )
    status = models.CharField(
        max_length=20,
        choices=IdempotencyStatus.choices,
        default=IdempotencyStatus.IN_FLIGHT,
        help_text="In flight, completed or failed.",
    )
    started_at = models.DateTimeField(
        auto_now_add=True, help_text="When the current attempt started."
    )
    completed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the attempt completed or failed."
    )
    result_type = models.CharField(
        max_length=255, blank=True, default="", help_text="Dotted class name of the result."
    )
    result_id = models.CharField(
        max_length=255, blank=True, default="", help_text="Primary key of a model result."
    )
    result_data = models.JSONField(
        default=dict, blank=True, help_text="The stored result, replayed to later callers."
    )
    error_message = models.TextField(
        blank=True, default="", help_text="Why the last attempt failed."
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this the key no longer replays its result."
    )

    class Meta:
        verbose_name = "idempotency key"
        verbose_name_plural = "idempotency keys"
        indexes = [
            models.Index(fields=["status", "started_at"]),
            models.Index(fields=["expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"

    def mark_completed(
        self, result: Any = None, result_type: str = "", result_id: Any = ""
    ) -> None:
        """Mark the operation completed and store its result."""
        self.status = IdempotencyStatus.COMPLETED
        self.completed_at = timezone.now()
        if result is not None:
            self.result_data = result if isinstance(result, dict) else {"value": result}
        self.result_type = result_type
        self.result_id = str(result_id) if result_id else ""
        self.save()

    def mark_failed(self, error_message: str) -> None:
        """Mark the operation failed."""
        self.status = IdempotencyStatus.FAILED
        self.completed_at = timezone.now()
        self.error_message = error_message
        self.save()


class DecisionOutcome(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PENDING = "pending", "Pending"
    DEFERRED = "deferred", "Deferred"
    ESCALATED = "escalated", "Escalated"


class Decision(UUIDModel, BaseModel, TimeSemanticsMixin):
    """A decision made about any target row (a GenericFK; ``target_id`` is text)."""

    target_content_type = models.ForeignKey(
        ContentType,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The kind of object decided about.",
    )
    target_id = models.CharField(max_length=255, help_text="Primary key of the target, as text.")
    target = GenericForeignKey("target_content_type", "target_id")

    decision_type = models.CharField(
        max_length=100, help_text="What kind of decision, e.g. credit_approval."
    )
    outcome = models.CharField(
        max_length=20,
        choices=DecisionOutcome.choices,
        default=DecisionOutcome.PENDING,
        help_text="Where the decision stands.",
    )
    reason = models.TextField(blank=True, default="", help_text="Why it was decided so.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="decisions_made",
        help_text="Who decided; empty while pending or when decided by a system.",
    )
    context = models.JSONField(default=dict, blank=True, help_text="What was known.")
    evidence = models.JSONField(default=dict, blank=True, help_text="What supports it.")
    idempotency_key = models.ForeignKey(
        IdempotencyKey,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="decisions",
        help_text="The idempotent operation that made this decision, if any.",
    )

    class Meta:
        verbose_name = "decision"
        verbose_name_plural = "decisions"
        ordering = ["-effective_at", "-recorded_at"]
        indexes = [
            models.Index(fields=["target_content_type", "target_id"]),
            models.Index(fields=["decision_type"]),
            models.Index(fields=["outcome"]),
            models.Index(fields=["effective_at", "id"], name="decision_effective_id"),
        ]

    def __str__(self) -> str:
        return f"{self.decision_type}: {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.target_id = str(self.target_id)
        super().save(*args, **kwargs)
