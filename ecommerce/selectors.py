"""Reads for the demo store."""

from __future__ import annotations

from ecommerce.demo import DEMO_SOURCE
from traces.models import EventRecord

__all__ = ["demo_event_count", "trace_events_exist"]


def demo_event_count() -> int:
    """How many stored events the demo store made (0 when it is not loaded)."""
    return EventRecord.objects.filter(source_system=DEMO_SOURCE).count()


def trace_events_exist() -> bool:
    """Whether the database holds any trace event at all."""
    return EventRecord.objects.exists()
