"""``ReviewRule``: a condition on incoming events and what to do when it holds."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from traces.rules.conditions import RuleConditionError, condition_compile

__all__ = ["ReviewRule", "RuleAction"]

MAX_DUE_MINUTES = 60 * 24 * 365


class RuleAction(models.TextChoices):
    """What a rule does to a matching event."""

    REQUIRE_APPROVAL = "require_approval", "Require approval"
    SAMPLE = "sample", "Sample into the queue for spot checks"


class ReviewRule(models.Model):
    """Sends matching incoming events to the review queue as pending Decisions.

    Rules are tried in ``(order, id)`` order on every write path; the first
    enabled rule that matches fires. Its name is stored on the Decision.
    """

    name = models.CharField(
        max_length=100, unique=True, help_text="Shown in the queue: Needs approval: rule 'name'."
    )
    enabled = models.BooleanField(default=True, help_text="Only enabled rules are applied.")
    order = models.IntegerField(default=100, help_text="Lower runs first; the first match fires.")
    condition = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            'A JSON object, e.g. {"event_type": "pricing.*", "risk_at_least": "high", '
            '"values": [{"change": "product.price", "op": "pct_lt", "value": -10}]}. '
            "See docs/human-in-the-loop.md."
        ),
    )
    action = models.CharField(
        max_length=20,
        choices=RuleAction.choices,
        default=RuleAction.REQUIRE_APPROVAL,
        help_text="Require approval of every match, or sample a percentage of them.",
    )
    sample_percent = models.PositiveSmallIntegerField(
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="For sampling: the share of matching events sent to the queue (1-100).",
    )
    decision_type = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="The Decision's type; empty: the event's action, or its event type.",
    )
    deciding_group = models.ForeignKey(
        "auth.Group",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The group that may decide (and is emailed); empty: any reviewer.",
    )
    due_in_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_DUE_MINUTES)],
        help_text="How long a reviewer has; empty: DECISIONING_DEFAULT_DUE_IN.",
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was created.")
    updated_at = models.DateTimeField(auto_now=True, help_text="When it was last changed.")

    class Meta:
        verbose_name = "review rule"
        verbose_name_plural = "review rules"
        ordering = ["order", "id"]
        indexes = [models.Index(fields=["enabled", "order", "id"], name="review_rule_enabled")]

    def __str__(self) -> str:
        return self.name

    @property
    def due_in(self) -> timedelta | None:
        return timedelta(minutes=self.due_in_minutes) if self.due_in_minutes else None

    def clean(self) -> None:
        super().clean()
        if "\x00" in self.name or not self.name.strip():
            raise ValidationError({"name": "A name is printable text without NUL."})
        try:
            condition_compile(self.condition)
        except RuleConditionError as exc:
            raise ValidationError({"condition": exc.problems}) from None
