"""ActivityWatch-style trace events: who did what, to which objects, and why."""

from __future__ import annotations

from traces.enums import ActorType, EventOutcome, ObjectType, RiskLevel

__all__ = ["ActorType", "EventOutcome", "ObjectType", "RiskLevel"]
