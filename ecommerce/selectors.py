"""Reads for the demo store."""

from __future__ import annotations

from ecommerce.demo import DEMO_SOURCE
from traces.selectors import event_count, events_exist

__all__ = ["demo_event_count", "trace_events_exist"]


def demo_event_count() -> int:
    """How many stored events the demo store made (0 when it is not loaded)."""
    return event_count(source_system=DEMO_SOURCE)


def trace_events_exist() -> bool:
    """Whether the database holds any trace event at all."""
    return events_exist()
