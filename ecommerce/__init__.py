"""The prebuilt store: ``EcommerceEventType``, ``EcommerceClient`` and the demo store.

Names are imported lazily so that ``import ecommerce`` works before Django's
app registry is ready.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EcommerceClient": "ecommerce.client",
    "EcommerceTraceBuilder": "ecommerce.client",
    "EcommerceEventType": "decision_trace.ecommerce.event_types",
}

__all__ = ["EcommerceClient", "EcommerceEventType", "EcommerceTraceBuilder"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
