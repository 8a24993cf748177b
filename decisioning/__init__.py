"""Time semantics, effective dating, idempotency and Decision records.

Names are imported lazily so that ``import decisioning`` works before Django's
app registry is ready.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "IdempotencyKey": "decisioning.models",
    "IdempotencyStatus": "decisioning.models",
    "Decision": "decisioning.models",
    "DecisionOutcome": "decisioning.models",
    "TimeSemanticsMixin": "decisioning.mixins",
    "EffectiveDatedMixin": "decisioning.mixins",
    "EventAsOfQuerySet": "decisioning.querysets",
    "EffectiveDatedQuerySet": "decisioning.querysets",
    "idempotent": "decisioning.decorators",
    "get_target_ref": "decisioning.utils",
    "resolve_target_ref": "decisioning.utils",
    "DecisioningError": "decisioning.exceptions",
    "IdempotencyError": "decisioning.exceptions",
    "OperationInFlightError": "decisioning.exceptions",
    "IdempotencyParametersMismatchError": "decisioning.exceptions",
    "DuplicateOperationError": "decisioning.exceptions",
}

__all__ = [  # noqa: RUF022 - grouped as in the specification
    # Models
    "IdempotencyKey",
    "IdempotencyStatus",
    "Decision",
    "DecisionOutcome",
    # Mixins
    "TimeSemanticsMixin",
    "EffectiveDatedMixin",
    # QuerySets
    "EventAsOfQuerySet",
    "EffectiveDatedQuerySet",
    # Decorators
    "idempotent",
    # Utils
    "get_target_ref",
    "resolve_target_ref",
    # Exceptions
    "DecisioningError",
    "IdempotencyError",
    "OperationInFlightError",
    "DuplicateOperationError",
    "IdempotencyParametersMismatchError",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
