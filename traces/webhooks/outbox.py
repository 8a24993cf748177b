"""Writing webhook deliveries in the change's transaction, and enqueuing their sending.

``webhook_outbox_add`` reads the active endpoints once, writes one
``WebhookDelivery`` per (change, endpoint that wants it) and enqueues one
worker task for them, all in the caller's transaction: a rolled-back change
leaves neither, and a committed one is delivered even if the process dies
right after the commit (the task row is in the database).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from decisioning.models import Decision, DecisionTransition
from traces.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = ["DecisionChange", "on_decision_transitioned", "webhook_outbox_add"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class DecisionChange:
    """A change to a Decision that webhooks may want."""

    event: str
    event_type: str
    data: dict[str, Any]

    @classmethod
    def of(cls, decision: Decision, *, event_type: str, decided_by: str | None) -> DecisionChange:
        return cls(
            event=f"decision.{decision.outcome}",
            event_type=event_type,
            data={
                "decision_id": str(decision.pk),
                "decision_type": decision.decision_type,
                "status": decision.outcome,
                "reason": decision.reason,
                "decided_by": decided_by,
                "decided_at": _iso(decision.decided_at),
                "rule": decision.rule or None,
                "due_at": _iso(decision.due_at),
                "target_event_id": decision.target_id,
                "event_type": event_type,
            },
        )

    @classmethod
    def pending(cls, decision: Decision, *, event_type: str) -> DecisionChange:
        return cls.of(decision, event_type=event_type, decided_by=None)


def _wants(endpoint: WebhookEndpoint, change: DecisionChange) -> bool:
    events = endpoint.events if isinstance(endpoint.events, list) else []
    if change.event not in events:
        return False
    patterns = endpoint.event_types if isinstance(endpoint.event_types, list) else []
    return not patterns or any(
        isinstance(p, str) and fnmatch.fnmatchcase(change.event_type, p) for p in patterns
    )


def webhook_outbox_add(
    changes: Sequence[DecisionChange], *, using: str, now: datetime | None = None
) -> list[WebhookDelivery]:
    """Write the deliveries of ``changes`` and enqueue their task, in the current transaction."""
    if not changes:
        return []
    endpoints = list(WebhookEndpoint.objects.using(using).filter(active=True))
    if not endpoints:
        return []
    now = now or timezone.now()
    deliveries = [
        WebhookDelivery(
            endpoint=endpoint,
            event=change.event,
            body=json.dumps(
                {"type": change.event, "created_at": now.isoformat(), "data": change.data},
                separators=(",", ":"),
                ensure_ascii=False,
            ),
            next_attempt_at=now,
            created_at=now,
        )
        for change in changes
        for endpoint in endpoints
        if _wants(endpoint, change)
    ]
    if not deliveries:
        return []
    with transaction.atomic(using=using):
        # Both databases return the new primary keys (INSERT ... RETURNING).
        created = WebhookDelivery.objects.using(using).bulk_create(deliveries)
        ids = [delivery.pk for delivery in created]
        # Imported here: the worker's task module imports the sending code.
        from traces.webhooks.tasks import webhook_deliveries_send

        webhook_deliveries_send.enqueue(delivery_ids=[int(pk) for pk in ids])
    return created


def on_decision_transitioned(
    sender: type[Decision],
    *,
    decision: Decision,
    transition: DecisionTransition,
    **kwargs: Any,
) -> None:
    """``decision_transitioned`` receiver: the change's deliveries in its transaction."""
    evidence = decision.evidence if isinstance(decision.evidence, dict) else {}
    event_type = evidence.get("event_type")
    change = DecisionChange.of(
        decision,
        event_type=event_type if isinstance(event_type, str) else "",
        decided_by=transition.by_username or None,
    )
    webhook_outbox_add([change], using=decision._state.db or "default", now=transition.at)
