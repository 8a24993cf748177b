"""The names other code imported from ``decisioning.services``, kept importable.

Idempotency keys live in ``decisioning.idempotency`` and the review workflow in
``decisioning.review``; new code imports from those modules.
"""

from __future__ import annotations

from decisioning.idempotency import (
    CleanupCounts,
    IdempotencyClaim,
    idempotency_key_claim,
    idempotency_key_complete,
    idempotency_key_fail,
    idempotency_keys_cleanup,
    validate_idempotency_key,
)
from decisioning.review import (
    TransitionResult,
    decision_request_key,
    decision_request_token_new,
    decision_transition,
    review_groups_ensure,
)

__all__ = [
    "CleanupCounts",
    "IdempotencyClaim",
    "TransitionResult",
    "decision_request_key",
    "decision_request_token_new",
    "decision_transition",
    "idempotency_key_claim",
    "idempotency_key_complete",
    "idempotency_key_fail",
    "idempotency_keys_cleanup",
    "review_groups_ensure",
    "validate_idempotency_key",
]
