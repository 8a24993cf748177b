"""ActivityWatch-style trace events: who did what, to which objects, and why.

The value objects, enums and errors import without Django being set up; the
client and builder (which store through the ORM) are imported lazily on first
use, so ``import traces`` works before the app registry is ready.
"""

from __future__ import annotations

import importlib
from typing import Any

from decision_trace.enums import ActorType, EventOutcome, ObjectType, RiskLevel
from decision_trace.exceptions import InvalidCursorError, TracesError, TraceValidationError
from decision_trace.values import Actor, DecisionTrace, TraceEvent, TrackedObject

_LAZY = {
    "DecisionTraceClient": "traces.client",
    "EventChain": "traces.client",
    "EventList": "traces.client",
    "TraceSpan": "traces.client",
    "TraceBuilder": "decision_trace.builder",
}

__all__ = [  # noqa: RUF022 - grouped: the seed's names first
    "Actor",
    "ActorType",
    "DecisionTrace",
    "TrackedObject",
    "ObjectType",
    "TraceEvent",
    "EventOutcome",
    "DecisionTraceClient",
    "TraceBuilder",
    "RiskLevel",
    "EventChain",
    "EventList",
    "TraceSpan",
    "TracesError",
    "TraceValidationError",
    "InvalidCursorError",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
