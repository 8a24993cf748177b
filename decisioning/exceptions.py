"""Errors raised by ``decisioning``; every one is a ``DecisioningError``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = [
    "DecisioningError",
    "DuplicateOperationError",
    "IdempotencyError",
    "OperationInFlightError",
]


class DecisioningError(Exception):
    """Base exception for decisioning errors."""


class IdempotencyError(DecisioningError):
    """Base exception for idempotency errors."""


class OperationInFlightError(IdempotencyError):
    """Raised when an operation with the same key is already in progress."""

    def __init__(self, key: str, started_at: datetime | None) -> None:
        self.key = key
        self.started_at = started_at
        super().__init__(
            f"Operation with key '{key}' is already in flight (started at {started_at})"
        )


class DuplicateOperationError(IdempotencyError):
    """Raised when an operation with the same key was already completed."""

    def __init__(self, key: str, completed_at: datetime | None, result: Any) -> None:
        self.key = key
        self.completed_at = completed_at
        self.result = result
        super().__init__(f"Operation with key '{key}' already completed at {completed_at}")
