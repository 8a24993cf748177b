"""Service tokens: how a program outside the project authenticates to the API."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

__all__ = ["Scope", "ServiceToken"]


class Scope(models.TextChoices):
    """What a token may do; the owner's permissions bound each scope further."""

    EVENTS_WRITE = "events:write", "Record events"
    EVENTS_READ = "events:read", "Read events"
    DECISIONS_READ = "decisions:read", "Read decisions"
    DECISIONS_DECIDE = "decisions:decide", "Act on decisions"


class ServiceToken(models.Model):
    """A bearer token for the API, stored only as a SHA-256 hash.

    The token text is ``dt_<prefix>_<secret>``: the prefix is stored to
    recognise a token in lists; the secret (32 random bytes) is shown once at
    creation (``traces.api.tokens.service_token_create``).
    """

    name = models.CharField(max_length=100, help_text="What the token is for, e.g. checkout.")
    prefix = models.CharField(
        max_length=16, unique=True, editable=False, help_text="Visible start of the token."
    )
    token_hash = models.CharField(
        max_length=64, unique=True, editable=False, help_text="SHA-256 of the whole token."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="service_tokens",
        help_text="The user whose permissions bound what the token may do.",
    )
    scopes = models.JSONField(
        default=list, blank=True, help_text="Scopes granted, e.g. ['events:write']."
    )
    rate_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Requests per minute; empty: TRACES_API_RATE_LIMIT.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False, help_text="Created.")
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this the token is refused; empty: never."
    )
    revoked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the token was revoked; it is refused since."
    )
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Last request (to the minute)."
    )

    class Meta:
        verbose_name = "service token"
        verbose_name_plural = "service tokens"
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, now: datetime | None = None) -> bool:
        """Not revoked and not expired at ``now`` (default: the current time)."""
        moment = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > moment)
