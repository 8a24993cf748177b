"""``WebhookEndpoint`` (where to send, what) and ``WebhookDelivery`` (the outbox and its log)."""

from __future__ import annotations

import secrets

from django.db import models

__all__ = [
    "WEBHOOK_EVENTS",
    "DeliveryStatus",
    "WebhookDelivery",
    "WebhookEndpoint",
    "webhook_secret_new",
]

WEBHOOK_EVENTS = (
    "decision.pending",
    "decision.approved",
    "decision.rejected",
    "decision.deferred",
    "decision.escalated",
)
RESPONSE_EXCERPT_LENGTH = 1000


def webhook_secret_new() -> str:
    """A fresh signing secret (shown once, when the endpoint is created)."""
    return "whsec_" + secrets.token_urlsafe(32)


def _all_events() -> list[str]:
    return list(WEBHOOK_EVENTS)


class WebhookEndpoint(models.Model):
    """A URL told about decision changes, signed with its own secret."""

    name = models.CharField(max_length=100, help_text="What this endpoint is for.")
    url = models.URLField(max_length=2000, help_text="http or https; public addresses only.")
    secret = models.CharField(
        max_length=100,
        default=webhook_secret_new,
        editable=False,
        help_text="The signing secret; shown once, when the endpoint is created.",
    )
    events = models.JSONField(
        default=_all_events,
        help_text="The changes wanted: decision.pending, approved, rejected, deferred, escalated.",
    )
    event_types = models.JSONField(
        default=list,
        blank=True,
        help_text='Event type patterns of the decided event, e.g. ["pricing.*"]; empty: all.',
    )
    active = models.BooleanField(default=True, help_text="Inactive endpoints get nothing.")
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was created.")

    class Meta:
        verbose_name = "webhook endpoint"
        verbose_name_plural = "webhook endpoints"
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["active"], name="webhook_endpoint_active")]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One change to send to one endpoint: the exact body, its attempts and the last answer."""

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        help_text="Where it goes.",
    )
    event = models.CharField(max_length=40, help_text="The change, e.g. decision.approved.")
    body = models.TextField(help_text="The JSON body, exactly as signed and sent.")
    status = models.CharField(
        max_length=20,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
        help_text="Pending until delivered, or failed after about 24 hours of retries.",
    )
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts made so far.")
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next attempt is due, while pending."
    )
    last_status_code = models.PositiveIntegerField(
        null=True, blank=True, help_text="The HTTP status of the last answer, if any."
    )
    response_excerpt = models.TextField(
        blank=True, default="", help_text="The start of the last answer's body, or the error."
    )
    created_at = models.DateTimeField(help_text="When the change happened.")
    delivered_at = models.DateTimeField(null=True, blank=True, help_text="When it was delivered.")

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["endpoint", "created_at", "id"], name="webhook_delivery_log"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint_id}: {self.status}"
