"""Decision Trace SDK: record who did what in an online store, and why.

``from decision_trace import DecisionTraceClient`` and
``from decision_trace.ecommerce import EcommerceClient`` are the seed's names.
Plain Python (the standard library and httpx): no Django here. The Django
project imports the value objects from this package, never the other way round.
"""

from __future__ import annotations

from decision_trace.approvals import DecisionClaim, DecisionResult
from decision_trace.builder import TraceBuilder
from decision_trace.client import DecisionTraceClient, TraceSpan
from decision_trace.delivery import DeliveryStats
from decision_trace.enums import ActorType, EventOutcome, ObjectType, RiskLevel
from decision_trace.exceptions import (
    ApiError,
    ConfigurationError,
    DecisionClaimedError,
    DeliveryQueueFullError,
    InvalidCursorError,
    TracesError,
    TraceValidationError,
)
from decision_trace.propagation import TraceContext
from decision_trace.results import EventChain, EventList, RecordedId
from decision_trace.transport import Receipt, Transport, register_default_transport
from decision_trace.values import Actor, DecisionTrace, TraceEvent, TrackedObject
from decision_trace.version import __version__

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
    "TraceSpan",
    "EventChain",
    "EventList",
    "RecordedId",
    "Receipt",
    "Transport",
    "TraceContext",
    "DeliveryStats",
    "DecisionResult",
    "DecisionClaim",
    "register_default_transport",
    "TracesError",
    "TraceValidationError",
    "InvalidCursorError",
    "ApiError",
    "DecisionClaimedError",
    "ConfigurationError",
    "DeliveryQueueFullError",
    "__version__",
]
