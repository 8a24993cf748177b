"""Signed webhooks: endpoints, an outbox written in the change's transaction, a worker that sends.

``models`` holds ``WebhookEndpoint`` and ``WebhookDelivery`` (the outbox and
the delivery log); ``outbox`` writes deliveries and enqueues their task in the
caller's transaction; ``sending`` signs and posts one delivery safely;
``tasks`` is what the django-tasks worker runs.
"""

from __future__ import annotations
