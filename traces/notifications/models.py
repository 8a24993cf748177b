"""``ReviewerPreference``: a reviewer's email options."""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["ReviewerPreference"]


class ReviewerPreference(models.Model):
    """Per-user options: the daily digest of decisions waiting in the user's groups."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reviewer_preference",
        help_text="The reviewer.",
    )
    daily_digest = models.BooleanField(
        default=False, help_text="Email a daily summary of the decisions waiting for review."
    )
    last_digest_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last digest was sent."
    )

    class Meta:
        verbose_name = "reviewer preference"
        verbose_name_plural = "reviewer preferences"
        indexes = [models.Index(fields=["daily_digest", "last_digest_at"], name="reviewer_digest")]

    def __str__(self) -> str:
        return f"{self.user}: digest {'on' if self.daily_digest else 'off'}"
