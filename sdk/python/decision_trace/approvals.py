"""The approval gate's answer: ``DecisionResult``, and the polling shared by the transports."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from decision_trace.exceptions import TraceValidationError

__all__ = [
    "FINAL_STATUSES",
    "MAX_WAIT_SECONDS",
    "DecisionClaim",
    "DecisionResult",
    "check_timeout",
]

FINAL_STATUSES = frozenset({"approved", "rejected"})
# The server holds one request at most this long; longer waits are several requests.
MAX_WAIT_SECONDS = 60


@dataclass(frozen=True)
class DecisionClaim:
    """Who is reviewing a decision: an unexpired claim (ISO 8601 times)."""

    by: str
    since: str
    expires_at: str

    @classmethod
    def from_resource(cls, resource: object) -> DecisionClaim | None:
        """From the decision resource's ``claim`` (``None`` when it is not a claim)."""
        if not isinstance(resource, Mapping):
            return None
        by, since, expires_at = (resource.get(k) for k in ("by", "since", "expires_at"))
        if not (isinstance(by, str) and isinstance(since, str) and isinstance(expires_at, str)):
            return None
        return cls(by=by, since=since, expires_at=expires_at)


@dataclass(frozen=True)
class DecisionResult:
    """Where a review decision stands, as ``wait_for_decision`` found it.

    ``approved``/``rejected`` are both false while it is still open (pending,
    deferred or escalated), for example when the wait timed out.
    """

    decision_id: str
    status: str
    reason: str = ""
    decided_by: str | None = None
    decided_at: str | None = None
    rule: str | None = None
    event_id: str | None = None
    claim: DecisionClaim | None = None

    @property
    def approved(self) -> bool:
        return self.status == "approved"

    @property
    def rejected(self) -> bool:
        return self.status == "rejected"

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_resource(cls, resource: Mapping[str, Any]) -> DecisionResult:
        """From the API's decision resource (``GET /api/v1/decisions/{id}``)."""

        def text(key: str) -> str | None:
            value = resource.get(key)
            return value if isinstance(value, str) else None

        return cls(
            decision_id=text("id") or "",
            status=text("status") or "pending",
            reason=text("reason") or "",
            decided_by=text("decided_by"),
            decided_at=text("decided_at"),
            rule=text("rule"),
            event_id=text("target_event_id"),
            claim=DecisionClaim.from_resource(resource.get("claim")),
        )


def check_timeout(timeout: object) -> float:
    """``timeout`` as seconds >= 0, or ``TraceValidationError``."""
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout < 0
    ):
        raise TraceValidationError(f"timeout must be a number of seconds >= 0; got {timeout!r}.")
    return float(timeout)
