"""The worker's webhook task (django-tasks, database backend: ``manage.py db_worker``)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from traces.webhooks.models import DeliveryStatus, WebhookDelivery
from traces.webhooks.sending import delivery_attempt

__all__ = ["webhook_deliveries_send"]


@task()
def webhook_deliveries_send(*, delivery_ids: list[int]) -> int:
    """Attempt the pending deliveries among ``delivery_ids`` that are due; returns how many went.

    Each failure that still has time left is retried by a new task due at its
    ``next_attempt_at`` (exponential backoff, about 24 hours in all).
    """
    sent = 0
    now = timezone.now()
    for delivery_id in delivery_ids:
        with transaction.atomic():
            delivery = (
                WebhookDelivery.objects.select_for_update(skip_locked=True)
                .select_related("endpoint")
                .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
                .first()
            )
            if delivery is None:
                continue
            if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
                continue
            result = delivery_attempt(delivery, now=now)
            if result.delivered:
                sent += 1
            elif result.retry_at is not None:
                webhook_deliveries_send.using(run_after=result.retry_at).enqueue(
                    delivery_ids=[delivery.pk]
                )
    return sent
