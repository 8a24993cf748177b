"""Rows to API resources: events (with ``recorded_at`` and ``approval``) and decisions.

Every function here reads a fixed number of queries for a whole page.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch, QuerySet

from decisioning.models import Decision, DecisionTransition
from traces.claims import claim_info
from traces.evidence.corrections import corrections_apply_values
from traces.mapping import EVENT_VALUES, event_from_values
from traces.models import EventRecord
from traces.selectors import tracked_object_values

__all__ = [
    "EVENT_RESOURCE_VALUES",
    "decision_queryset",
    "decision_resource",
    "event_resources",
    "event_values",
]

EVENT_RESOURCE_VALUES = (*EVENT_VALUES, "recorded_at", "approval_status")


def event_values(queryset: QuerySet[EventRecord]) -> QuerySet[Any]:
    """``queryset`` as the ``values()`` rows an event resource is built from."""
    rows: QuerySet[Any] = queryset.values(*EVENT_RESOURCE_VALUES)
    return rows


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _approvals(
    rows: Sequence[dict[str, Any]], *, with_decisions: bool
) -> dict[str, dict[str, Any] | None]:
    ids = [str(row["id"]) for row in rows if row["requires_approval"]]
    approvals: dict[str, dict[str, Any] | None] = {}
    if not ids:
        return approvals
    if not with_decisions:
        # The caller may not see decisions: not even their outcome (as on the pages).
        return approvals
    decisions = (
        Decision.objects.filter(
            target_content_type=ContentType.objects.get_for_model(EventRecord), target_id__in=ids
        )
        .select_related("decided_by")
        .order_by("effective_at", "id")
    )
    for decision in decisions:
        approvals[decision.target_id] = {
            "decision_id": str(decision.pk),
            "status": decision.outcome,
            "decided_by": decision.decided_by.get_username() if decision.decided_by else None,
            "decided_at": _iso(decision.decided_at),
            "reason": decision.reason or None,
            "rule": decision.rule or None,
        }
    return approvals


def event_resources(
    rows: Iterable[dict[str, Any]], *, with_decisions: bool, known_at: datetime | None = None
) -> list[dict[str, Any]]:
    """The event resources of ``event_values`` rows, in order: three or four queries.

    Each event is its current version: the corrections recorded by
    ``known_at`` (all when None) applied.
    """
    rows = list(rows)
    corrections_apply_values(rows, known_at=known_at)
    objects = tracked_object_values([row["id"] for row in rows])
    approvals = _approvals(rows, with_decisions=with_decisions)
    resources = []
    for row in rows:
        resource = event_from_values(row, objects[row["id"]]).to_dict()
        resource["recorded_at"] = _iso(row["recorded_at"])
        resource["approval"] = approvals.get(str(row["id"]))
        resources.append(resource)
    return resources


def decision_queryset() -> QuerySet[Decision]:
    """Live decisions with what a decision resource shows: one query plus one prefetch."""
    return Decision.objects.select_related(
        "decided_by", "target_content_type", "claimed_by"
    ).prefetch_related(
        Prefetch(
            "transitions",
            queryset=DecisionTransition.objects.order_by("at", "id"),
        )
    )


def _target_event_id(decision: Decision) -> str | None:
    content_type = decision.target_content_type
    if (content_type.app_label, content_type.model) != ("traces", "eventrecord"):
        return None
    try:
        return str(uuid.UUID(decision.target_id))
    except ValueError:
        return None


def _claim(decision: Decision) -> dict[str, str] | None:
    claim = claim_info(decision)
    if claim is None:
        return None
    return {
        "by": claim.by,
        "since": _iso(claim.since) or "",
        "expires_at": _iso(claim.expires_at) or "",
    }


def decision_resource(decision: Decision) -> dict[str, Any]:
    """``{"id", "decision_type", "status", ..., "transitions": [...]}``."""
    return {
        "id": str(decision.pk),
        "decision_type": decision.decision_type,
        "status": decision.outcome,
        "reason": decision.reason,
        "decided_by": decision.decided_by.get_username() if decision.decided_by else None,
        "decided_at": _iso(decision.decided_at),
        "proposed_at": _iso(decision.effective_at),
        "target_event_id": _target_event_id(decision),
        "rule": decision.rule or None,
        "due_at": _iso(decision.due_at),
        "claim": _claim(decision),
        "transitions": [
            {
                "action": step.action,
                "from": step.from_outcome,
                "to": step.to_outcome,
                "by": step.by_username or None,
                "at": _iso(step.at),
                "reason": step.reason,
            }
            for step in decision.transitions.all()
        ],
    }
