"""The seed's value objects: plain, frozen, usable with no database.

Each validates and normalises its input on construction (enums from their
string values, naive datetimes as UTC, JSON-ish fields to plain JSON, "" for an
optional string to ``None``), so two objects that mean the same thing compare
equal and ``X.from_dict(x.to_dict()) == x`` always holds.

``TraceEvent.to_dict()`` is the ActivityWatch event shape
``{"id", "timestamp", "duration", "data": {...}}``.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from decision_trace.enums import ActorType, EventOutcome, ObjectType, RiskLevel
from decision_trace.exceptions import NOT_A_MAPPING, WRONG_ITEM, TraceValidationError
from decision_trace.validation import (
    DECISION_ID_LENGTH,
    EMAIL_LENGTH,
    ID_LENGTH,
    NAME_LENGTH,
    ROLE_LENGTH,
    TAG_LENGTH,
    VERSION_LENGTH,
    TraceJSONEncoder,
    aware,
    check_bool,
    check_choice,
    check_confidence,
    check_duration,
    check_event_id,
    check_event_type,
    check_identifier,
    check_ip,
    check_list,
    check_mapping,
    check_optional_text,
    check_text,
    check_text_list,
)

__all__ = ["Actor", "DecisionTrace", "TraceEvent", "TrackedObject", "assemble", "random_hex_id"]

T = TypeVar("T")


def _set(obj: object, name: str, value: object) -> None:
    # Frozen dataclasses normalise in __post_init__ through object.__setattr__.
    object.__setattr__(obj, name, value)


def _mapping(name: str, data: object) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise TraceValidationError(NOT_A_MAPPING.format(field=name, got=type(data).__name__))
    return data


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in fields(cls))
    return {key: value for key, value in data.items() if key in names}


def assemble(cls: type[T], **values: Any) -> T:
    """Build a value object from values already valid and normal (rows read back), unchecked.

    Reads use it so a page of events costs no re-validation; every field must be given.
    """
    obj = object.__new__(cls)
    # The frozen dataclasses here have no __slots__: filling __dict__ at once is what
    # object.__setattr__ per field did, in a fifth of the time (a page of 50 events
    # builds about 200 value objects).
    obj.__dict__.update(values)
    return obj


class _RandomPool:
    """Bytes from ``os.urandom``, read 4 KiB at a time and handed out in order.

    Every event needs two random ids; one ``os.urandom`` call each also let
    the buffered sender's threads take the GIL from the caller (the call
    releases it), and cost the caller about 40 µs per event under load. One
    call now serves 200 events. The bytes are the operating system's, as
    before; a forked child drops what its parent had read, so the two never
    hand out the same bytes.
    """

    SIZE = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._offset + count > len(self._buffer):
                self._buffer = os.urandom(self.SIZE)
                self._offset = 0
            start = self._offset
            self._offset += count
            return self._buffer[start : self._offset]

    def forget(self) -> None:
        """After a fork, in the child: new bytes, and a lock no other thread holds."""
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0


_random = _RandomPool()
os.register_at_fork(after_in_child=_random.forget)


def random_hex_id() -> str:
    """A random (version 4) UUID as 32 hex digits, like ``uuid.uuid4().hex``."""
    raw = bytearray(_random.take(16))
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    return raw.hex()


def _new_event_id() -> str:
    """A time-ordered UUID (version 7: milliseconds since 1970, then random bits).

    New rows land at the end of the primary-key index instead of at random
    places in it, which keeps inserts fast on a large table.
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(_random.take(10), "big")
    value = (millis & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | (rand >> 68) << 64
    value |= 0b10 << 62 | rand & 0x3FFF_FFFF_FFFF_FFFF
    return str(uuid.UUID(int=value))


def _utc_now() -> datetime:
    # The value layer works without Django settings, so not django.utils.timezone.
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who acted: a user, an AI agent, a compute job, a system or an external service."""

    id: str
    type: ActorType
    name: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    version: str | None = None
    email: str | None = None
    role: str | None = None
    service_name: str | None = None
    job_id: str | None = None

    def __post_init__(self) -> None:
        _set(self, "id", check_identifier("actor id", self.id))
        _set(self, "type", check_choice("actor type", self.type, ActorType))
        _set(self, "name", check_text("actor name", self.name, max_length=NAME_LENGTH))
        _set(self, "metadata", check_mapping("actor metadata", self.metadata))
        job_id = check_identifier("actor job_id", self.job_id, required=False)
        _set(self, "job_id", job_id or None)
        for name, max_length in (
            ("model", NAME_LENGTH),
            ("version", VERSION_LENGTH),
            ("email", EMAIL_LENGTH),
            ("role", ROLE_LENGTH),
            ("service_name", NAME_LENGTH),
        ):
            value = check_optional_text(f"actor {name}", getattr(self, name), max_length=max_length)
            _set(self, name, value)

    @classmethod
    def user(
        cls,
        id: str,
        name: str,
        email: str | None = None,
        role: str | None = None,
        **metadata: Any,
    ) -> Actor:
        """A person, e.g. ``Actor.user("user-123", "John Doe", role="support")``."""
        return cls(id=id, type=ActorType.USER, name=name, email=email, role=role, metadata=metadata)

    @classmethod
    def ai_agent(
        cls,
        id: str,
        name: str,
        model: str | None = None,
        version: str | None = None,
        **metadata: Any,
    ) -> Actor:
        """An AI/ML model, e.g. ``Actor.ai_agent("pricing-ai", "Pricing", model="gpt-4")``."""
        return cls(
            id=id,
            type=ActorType.AI_AGENT,
            name=name,
            model=model,
            version=version,
            metadata=metadata,
        )

    @classmethod
    def compute(
        cls,
        id: str,
        name: str,
        service_name: str | None = None,
        job_id: str | None = None,
        **metadata: Any,
    ) -> Actor:
        """A script or job, e.g. ``Actor.compute("cron-job", "Sync", service_name="wh-api")``."""
        return cls(
            id=id,
            type=ActorType.COMPUTE,
            name=name,
            service_name=service_name,
            job_id=job_id,
            metadata=metadata,
        )

    @classmethod
    def system(cls, name: str = "system", **metadata: Any) -> Actor:
        """The platform itself; its id is its name."""
        return cls(id=name, type=ActorType.SYSTEM, name=name, metadata=metadata)

    @classmethod
    def external(
        cls, id: str, name: str, service_name: str | None = None, **metadata: Any
    ) -> Actor:
        """A third-party service (a payment provider, a carrier)."""
        return cls(
            id=id, type=ActorType.EXTERNAL, name=name, service_name=service_name, metadata=metadata
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type.value,
            "name": self.name,
            "metadata": self.metadata,
            "model": self.model,
            "version": self.version,
            "email": self.email,
            "role": self.role,
            "service_name": self.service_name,
            "job_id": self.job_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Actor:
        return cls(**_known(cls, _mapping("actor", data)))


@dataclass(frozen=True)
class DecisionTrace:
    """Why an action was taken: reasoning, context, alternatives and how sure and risky it was."""

    id: str = field(default_factory=random_hex_id)
    action: str | None = None
    reasoning: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    constraints: list[Any] = field(default_factory=list)
    alternatives: list[Any] = field(default_factory=list)
    rejection_reasons: dict[str, Any] = field(default_factory=dict)
    confidence: float | None = None
    risk_level: RiskLevel | None = None
    requires_approval: bool = False
    approved_by: str | None = None
    trigger: str | None = None
    trigger_event_id: str | None = None
    depends_on: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _set(
            self,
            "id",
            check_identifier("decision id", self.id, max_length=DECISION_ID_LENGTH),
        )
        _set(self, "action", check_optional_text("action", self.action, max_length=NAME_LENGTH))
        _set(self, "reasoning", check_text("reasoning", self.reasoning))
        _set(self, "context", check_mapping("context", self.context))
        _set(self, "constraints", check_list("constraints", self.constraints))
        _set(self, "alternatives", check_list("alternatives", self.alternatives))
        _set(self, "rejection_reasons", check_mapping("rejection_reasons", self.rejection_reasons))
        _set(self, "confidence", check_confidence(self.confidence))
        if self.risk_level is not None and self.risk_level != "":
            _set(self, "risk_level", check_choice("risk level", self.risk_level, RiskLevel))
        else:
            _set(self, "risk_level", None)
        _set(self, "requires_approval", check_bool("requires_approval", self.requires_approval))
        _set(
            self,
            "approved_by",
            check_optional_text("approved_by", self.approved_by, max_length=NAME_LENGTH),
        )
        _set(self, "trigger", check_optional_text("trigger", self.trigger, max_length=NAME_LENGTH))
        if self.trigger_event_id is not None:
            _set(
                self, "trigger_event_id", check_event_id("trigger_event_id", self.trigger_event_id)
            )
        _set(
            self,
            "depends_on",
            check_text_list("depends_on", self.depends_on, max_length=ID_LENGTH),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "reasoning": self.reasoning,
            "context": self.context,
            "constraints": self.constraints,
            "alternatives": self.alternatives,
            "rejection_reasons": self.rejection_reasons,
            "confidence": self.confidence,
            "risk_level": self.risk_level.value if self.risk_level else None,
            "requires_approval": self.requires_approval,
            "approved_by": self.approved_by,
            "trigger": self.trigger,
            "trigger_event_id": self.trigger_event_id,
            "depends_on": list(self.depends_on),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecisionTrace:
        return cls(**_known(cls, _mapping("decision", data)))


@dataclass(frozen=True)
class TrackedObject:
    """A business object an event touched, with its state before and after."""

    id: str
    type: ObjectType
    external_id: str | None = None
    name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    state_before: dict[str, Any] | None = None
    state_after: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        _set(self, "id", check_identifier("object id", self.id))
        _set(self, "type", check_choice("object type", self.type, ObjectType))
        _set(
            self,
            "external_id",
            check_identifier("external_id", self.external_id, required=False) or None,
        )
        _set(self, "name", check_optional_text("object name", self.name, max_length=NAME_LENGTH))
        _set(self, "metadata", check_mapping("object metadata", self.metadata))
        for name in ("state_before", "state_after"):
            value = getattr(self, name)
            _set(self, name, None if value is None else check_mapping(name, value))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type.value,
            "external_id": self.external_id,
            "name": self.name,
            "metadata": self.metadata,
            "state_before": self.state_before,
            "state_after": self.state_after,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrackedObject:
        return cls(**_known(cls, _mapping("object", data)))


@dataclass(frozen=True)
class TraceEvent:
    """One event: what happened (type, description), who, why, to what, and how it ended."""

    id: str = field(default_factory=_new_event_id)
    timestamp: datetime = field(default_factory=_utc_now)
    duration: float = 0.0
    event_type: str = ""
    description: str = ""
    actor: Actor | None = None
    decision: DecisionTrace | None = None
    objects: tuple[TrackedObject, ...] = ()
    outcome: EventOutcome = EventOutcome.SUCCESS
    outcome_details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    parent_event_id: str | None = None
    correlation_id: str | None = None
    source_system: str | None = None
    source_ip: str | None = None

    def __post_init__(self) -> None:
        _set(self, "id", check_event_id("event id", self.id))
        _set(self, "timestamp", aware("timestamp", self.timestamp))
        _set(self, "duration", check_duration(self.duration))
        _set(self, "event_type", check_event_type(self.event_type))
        _set(self, "description", check_text("description", self.description))
        if self.actor is not None and not isinstance(self.actor, Actor):
            raise TraceValidationError(
                WRONG_ITEM.format(field="actor", expected="an Actor", got=type(self.actor).__name__)
            )
        if self.decision is not None and not isinstance(self.decision, DecisionTrace):
            raise TraceValidationError(
                WRONG_ITEM.format(
                    field="decision", expected="a DecisionTrace", got=type(self.decision).__name__
                )
            )
        objects = tuple(self.objects or ())
        for obj in objects:
            if not isinstance(obj, TrackedObject):
                raise TraceValidationError(
                    WRONG_ITEM.format(
                        field="objects", expected="TrackedObject items", got=type(obj).__name__
                    )
                )
        _set(self, "objects", objects)
        _set(self, "outcome", check_choice("outcome", self.outcome, EventOutcome))
        _set(self, "outcome_details", check_mapping("outcome_details", self.outcome_details))
        _set(self, "error", check_optional_text("error", self.error))
        _set(self, "data", check_mapping("data", self.data))
        _set(self, "tags", check_text_list("tags", self.tags, max_length=TAG_LENGTH))
        if self.parent_event_id is not None:
            _set(self, "parent_event_id", check_event_id("parent_event_id", self.parent_event_id))
        _set(
            self,
            "correlation_id",
            check_identifier("correlation_id", self.correlation_id, required=False) or None,
        )
        _set(
            self,
            "source_system",
            check_optional_text("source_system", self.source_system, max_length=NAME_LENGTH),
        )
        _set(self, "source_ip", check_ip(self.source_ip))

    def to_dict(self) -> dict[str, Any]:
        """The ActivityWatch event: ``{"id", "timestamp", "duration", "data": {...}}``."""
        return {
            "id": self.id,
            "timestamp": self.timestamp.isoformat(),
            "duration": self.duration,
            "data": {
                "event_type": self.event_type,
                "description": self.description,
                "actor": self.actor.to_dict() if self.actor else None,
                "decision": self.decision.to_dict() if self.decision else None,
                "objects": [obj.to_dict() for obj in self.objects],
                "outcome": self.outcome.value,
                "outcome_details": self.outcome_details,
                "error": self.error,
                "data": self.data,
                "tags": list(self.tags),
                "parent_event_id": self.parent_event_id,
                "correlation_id": self.correlation_id,
                "source_system": self.source_system,
                "source_ip": self.source_ip,
            },
        }

    def to_json(self, **kwargs: Any) -> str:
        """``to_dict()`` as JSON text (keyword arguments go to ``json.dumps``)."""
        return json.dumps(self.to_dict(), cls=TraceJSONEncoder, **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TraceEvent:
        """Rebuild an event from ``to_dict()`` output (or its parsed JSON)."""
        data = _mapping("event", data)
        body = _mapping("data", data.get("data") or {})
        timestamp = data.get("timestamp")
        if isinstance(timestamp, str):
            try:
                timestamp = datetime.fromisoformat(timestamp)
            except ValueError as exc:
                raise TraceValidationError(
                    f"timestamp must be ISO 8601 text or a datetime; got {timestamp!r}."
                ) from exc
        actor = body.get("actor")
        decision = body.get("decision")
        values = {
            key: body[key]
            for key in (
                "event_type",
                "description",
                "outcome",
                "outcome_details",
                "error",
                "data",
                "tags",
                "parent_event_id",
                "correlation_id",
                "source_system",
                "source_ip",
            )
            if key in body
        }
        # Any value may come in: __post_init__ checks each and says what to pass.
        return cls(
            id=data.get("id"),  # type: ignore[arg-type]
            timestamp=timestamp,  # type: ignore[arg-type]
            duration=data.get("duration", 0.0),
            actor=Actor.from_dict(actor) if actor is not None else None,
            decision=DecisionTrace.from_dict(decision) if decision is not None else None,
            objects=tuple(TrackedObject.from_dict(obj) for obj in body.get("objects") or ()),
            **values,
        )

    @classmethod
    def from_json(cls, text: str) -> TraceEvent:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise TraceValidationError(f"The text is not JSON: {exc}.") from exc
