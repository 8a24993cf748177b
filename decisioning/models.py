"""Idempotency keys, Decision records and their review history."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone

from decisioning.basemodels import BaseModel, SoftDeleteManager, UUIDModel
from decisioning.choices import DecisionAction, DecisionOutcome, IdempotencyStatus
from decisioning.encoders import DecisioningJSONEncoder
from decisioning.mixins import TimeSemanticsMixin
from decisioning.querysets import DecisionQuerySet, IdempotencyKeyQuerySet
from decisioning.results import decode_result, encode_result

__all__ = [
    "Decision",
    "DecisionAction",
    "DecisionOutcome",
    "DecisionTransition",
    "IdempotencyKey",
    "IdempotencyStatus",
]

ERROR_MESSAGE_LIMIT = 4000
REASON_MAX_LENGTH = 2000
REQUEST_TOKEN_MAX_LENGTH = 128


class IdempotencyKey(UUIDModel):
    """The status and stored result of one idempotent operation.

    ``@idempotent`` claims, completes and fails keys through
    ``decisioning.idempotency``; ``mark_completed`` / ``mark_failed`` are the plain
    spec API for code that manages a key by hand.
    """

    key = models.CharField(
        max_length=255, unique=True, help_text="The operation's idempotency key."
    )
    status = models.CharField(
        max_length=20,
        choices=IdempotencyStatus.choices,
        default=IdempotencyStatus.IN_FLIGHT,
        help_text="In flight, completed or failed.",
    )
    attempts = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="How many attempts have claimed this key (retries and takeovers add one).",
    )
    started_at = models.DateTimeField(
        default=timezone.now, editable=False, help_text="When the current attempt started."
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
        default=dict,
        blank=True,
        encoder=DecisioningJSONEncoder,
        help_text="The stored result, replayed to later callers: a dict result as "
        'itself, anything else as {"value": ...}.',
    )
    error_message = models.TextField(
        blank=True, default="", help_text="Why the last attempt failed."
    )
    fingerprint = models.CharField(
        max_length=64,
        blank=True,
        default="",
        editable=False,
        help_text="SHA-256 of the call's arguments (or the HTTP request); a repeat of "
        "the key with another fingerprint is refused.",
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this the key no longer replays its result."
    )

    objects = IdempotencyKeyQuerySet.as_manager()

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
        """Mark the operation completed and store its result.

        A dict result is stored as ``result_data`` itself (as the spec says);
        anything else as ``{"value": ...}``, by the rules of
        ``decisioning.results``. ``result_type`` and ``result_id`` default to the
        result's dotted class name and, for a model instance, its primary key.

        Raises:
            ResultNotStorableError: the result has no storage rule; nothing is saved.
        """
        stored = encode_result(result)
        self.status = IdempotencyStatus.COMPLETED
        self.completed_at = timezone.now()
        self.result_data = stored.data
        self.result_type = result_type or stored.result_type
        self.result_id = str(result_id) if result_id else stored.result_id
        self.save(
            update_fields=["status", "completed_at", "result_data", "result_type", "result_id"]
        )

    def mark_failed(self, error_message: str) -> None:
        """Mark the operation failed (the message is cut to 4000 characters)."""
        self.status = IdempotencyStatus.FAILED
        self.completed_at = timezone.now()
        self.error_message = str(error_message)[:ERROR_MESSAGE_LIMIT]
        self.save(update_fields=["status", "completed_at", "error_message"])

    def replay_result(self) -> Any:
        """The stored result as a replay returns it (see ``decisioning.results``)."""
        return decode_result(self.result_data, result_type=self.result_type)


class Decision(UUIDModel, BaseModel, TimeSemanticsMixin):
    """A decision made about any target row (a GenericFK; ``target_id`` is text).

    ``objects`` hides soft-deleted decisions and ``all_objects`` shows them; both
    have the soft-delete and time verbs (``as_of``, ``effective_between``, ...).
    """

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
    decided_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the last review action was taken; empty if none was.",
    )
    context = models.JSONField(
        default=dict, blank=True, encoder=DecisioningJSONEncoder, help_text="What was known."
    )
    evidence = models.JSONField(
        default=dict, blank=True, encoder=DecisioningJSONEncoder, help_text="What supports it."
    )
    idempotency_key = models.ForeignKey(
        IdempotencyKey,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="decisions",
        help_text="The idempotent operation that made this decision, if any.",
    )

    # django-stubs types each base's manager as a class variable of its own
    # generated type (typeddjango/django-stubs#1713): overriding it here, with a
    # manager that has both bases' verbs, is what Django means and mypy refuses.
    objects = SoftDeleteManager.from_queryset(DecisionQuerySet)()  # type: ignore[misc, assignment]
    all_objects = models.Manager.from_queryset(DecisionQuerySet)()  # type: ignore[misc, assignment]

    class Meta:
        verbose_name = "decision"
        verbose_name_plural = "decisions"
        ordering = ["-effective_at", "-recorded_at"]
        indexes = [
            models.Index(fields=["target_content_type", "target_id"]),
            models.Index(fields=["decision_type"]),
            models.Index(fields=["outcome"]),
            models.Index(fields=["effective_at", "id"], name="decision_effective_id"),
            # The review queue: one outcome (a tab), oldest first, keyset on
            # (effective_at, id), live rows only; the second also by type.
            models.Index(
                fields=["outcome", "effective_at", "id"],
                name="decision_queue_idx",
                condition=models.Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["outcome", "decision_type", "effective_at", "id"],
                name="decision_queue_type_idx",
                condition=models.Q(deleted_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(target_id=""), name="decision_target_id_not_empty"
            )
        ]
        permissions = [
            ("approve_decision", "Can approve, reject, defer or reopen decisions"),
            ("escalate_decision", "Can escalate decisions"),
            ("decide_escalated_decision", "Can approve or reject escalated decisions"),
        ]

    def __str__(self) -> str:
        return f"{self.decision_type}: {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.target_id is not None:
            self.target_id = str(self.target_id)
        super().save(*args, **kwargs)


class DecisionTransition(models.Model):
    """One review action on a Decision: from which outcome to which, by whom, why, when.

    Written by ``decision_transition`` in the same transaction as the change
    to the Decision, and never changed afterwards. ``by_username`` keeps the
    name if the user is deleted later. A decision with history cannot be
    hard-deleted (``PROTECT``); decisions are soft-deleted.
    """

    decision = models.ForeignKey(
        Decision,
        on_delete=models.PROTECT,
        related_name="transitions",
        help_text="The decision that changed.",
    )
    action = models.CharField(
        max_length=20, choices=DecisionAction.choices, help_text="What the reviewer did."
    )
    from_outcome = models.CharField(
        max_length=20, choices=DecisionOutcome.choices, help_text="The outcome before."
    )
    to_outcome = models.CharField(
        max_length=20, choices=DecisionOutcome.choices, help_text="The outcome after."
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="decision_transitions",
        help_text="Who acted; empty once that user is deleted.",
    )
    by_username = models.CharField(
        max_length=150, help_text="Who acted, as their username was at the time."
    )
    reason = models.TextField(
        blank=True,
        default="",
        validators=[MaxLengthValidator(REASON_MAX_LENGTH)],
        help_text="Why, in the reviewer's words.",
    )
    at = models.DateTimeField(help_text="When the action was taken.")
    request_token = models.CharField(
        max_length=REQUEST_TOKEN_MAX_LENGTH,
        blank=True,
        default="",
        help_text="The submitting form's resubmission token, if it had one.",
    )

    class Meta:
        verbose_name = "decision transition"
        verbose_name_plural = "decision transitions"
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["decision", "at", "id"], name="decision_transition_history"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(from_outcome=models.F("to_outcome")),
                name="decision_transition_changes_outcome",
            )
        ]

    def __str__(self) -> str:
        return f"{self.by_username} {self.action}: {self.from_outcome} -> {self.to_outcome}"
