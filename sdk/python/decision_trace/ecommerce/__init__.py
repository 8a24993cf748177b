"""The store's vocabulary and client: ``from decision_trace.ecommerce import EcommerceClient``."""

from __future__ import annotations

from decision_trace.ecommerce.client import (
    DEFAULT_APPROVAL_RISK_LEVEL,
    EcommerceClient,
    EcommerceTraceBuilder,
)
from decision_trace.ecommerce.event_types import EcommerceEventType

__all__ = [
    "DEFAULT_APPROVAL_RISK_LEVEL",
    "EcommerceClient",
    "EcommerceEventType",
    "EcommerceTraceBuilder",
]
