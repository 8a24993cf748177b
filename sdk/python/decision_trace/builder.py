"""``TraceBuilder``: the fluent way to describe one event before recording it.

The builder never writes: ``record()`` hands the finished ``TraceEvent`` to
its client, whose transport stores it (in-process: ``traces.services``; over
HTTP: ``POST /api/v1/events``). It needs no database and no server until then.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from decision_trace.enums import EventOutcome, ObjectType, RiskLevel
from decision_trace.exceptions import UNKNOWN_DECISION_FIELD, WRONG_ITEM, TraceValidationError
from decision_trace.validation import (
    ID_LENGTH,
    NAME_LENGTH,
    TAG_LENGTH,
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
from decision_trace.values import (
    Actor,
    DecisionTrace,
    TraceEvent,
    TrackedObject,
    _new_event_id,
    random_hex_id,
)

if TYPE_CHECKING:
    from decision_trace.client import DecisionTraceClient, RecordedId

__all__ = ["TraceBuilder"]

_DECISION_FIELDS = frozenset(f.name for f in fields(DecisionTrace))
_BECAUSE_KEYWORDS = tuple(
    sorted(
        _DECISION_FIELDS
        - {"reasoning", "action", "context", "constraints", "alternatives", "rejection_reasons"}
    )
)


class TraceBuilder:
    """Collects one event, method by method; ``record()`` stores it and returns its id.

    Style: **self mutation**. Every method changes this builder and returns it,
    so calls chain (``.by_user(...).because(...).record()``) and a span's
    ``with client.span(...) as trace: trace.by_compute(...)`` works without
    re-binding. Use one builder per event; ``copy()`` gives an independent one.

    Every method checks its input at once and raises ``TraceValidationError``
    (a ``ValueError``) saying what to pass; nothing is written until
    ``record()``, and a failed ``record()`` writes nothing.

    The event id is fixed when the builder is made (``event_id``), so a span's
    children can point at it before it is stored.
    """

    def __init__(
        self,
        event_type: str,
        description: str = "",
        *,
        actor: Actor | None = None,
        client: DecisionTraceClient | None = None,
    ) -> None:
        self._event_type = check_event_type(event_type)
        self._description = check_text("description", description)
        self._id = _new_event_id()
        self._decision_id = random_hex_id()
        self._client = client
        self._actor: Actor | None = None
        if actor is not None:
            self.by(actor)
        self._decision: dict[str, Any] = {}
        self._objects: list[TrackedObject] = []
        self._outcome = EventOutcome.SUCCESS
        self._outcome_details: dict[str, Any] = {}
        self._error: str | None = None
        self._data: dict[str, Any] = {}
        self._tags: tuple[str, ...] = ()
        self._parent: str | None = None
        self._correlation: str | None = None
        self._source_system: str | None = None
        self._source_ip: str | None = None
        self._timestamp: datetime | None = None
        self._duration = 0.0

    def __repr__(self) -> str:
        return f"<TraceBuilder {self._event_type} {self._id}>"

    @property
    def event_id(self) -> str:
        """The id the event will be stored under (what ``record()`` returns)."""
        return self._id

    @property
    def parent_event_id(self) -> str | None:
        return self._parent

    @property
    def correlation_id(self) -> str | None:
        return self._correlation

    def copy(self) -> Self:
        """An independent builder with the same values and a new event id."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._decision = dict(self._decision)
        clone._objects = list(self._objects)
        clone._outcome_details = dict(self._outcome_details)
        clone._data = dict(self._data)
        clone._id = _new_event_id()
        clone._decision_id = random_hex_id()
        return clone

    # Who -----------------------------------------------------------------

    def by(self, actor: Actor) -> Self:
        """Who acted, as an ``Actor``."""
        if not isinstance(actor, Actor):
            raise TraceValidationError(
                WRONG_ITEM.format(
                    field="by()",
                    expected="an Actor (e.g. Actor.user(...))",
                    got=type(actor).__name__,
                )
            )
        self._actor = actor
        return self

    def by_user(
        self,
        user_id: str,
        name: str,
        email: str | None = None,
        role: str | None = None,
        **metadata: Any,
    ) -> Self:
        """A person acted."""
        return self.by(Actor.user(user_id, name, email=email, role=role, **metadata))

    def by_ai(
        self,
        agent_id: str,
        name: str,
        model: str | None = None,
        version: str | None = None,
        confidence: float | None = None,
        **metadata: Any,
    ) -> Self:
        """An AI agent acted; ``confidence`` (0..1) goes on the decision."""
        actor = Actor.ai_agent(agent_id, name, model=model, version=version, **metadata)
        if confidence is not None:
            self.with_confidence(confidence)
        return self.by(actor)

    def by_compute(
        self,
        job_name: str,
        name: str,
        service_name: str | None = None,
        job_id: str | None = None,
        **metadata: Any,
    ) -> Self:
        """A script, cron job or worker acted."""
        return self.by(
            Actor.compute(job_name, name, service_name=service_name, job_id=job_id, **metadata)
        )

    def by_system(self, name: str = "system", **metadata: Any) -> Self:
        """The platform itself acted."""
        return self.by(Actor.system(name, **metadata))

    def by_external(
        self, service_id: str, name: str, service_name: str | None = None, **metadata: Any
    ) -> Self:
        """A third-party service acted."""
        return self.by(Actor.external(service_id, name, service_name=service_name, **metadata))

    # What was touched ----------------------------------------------------

    def affecting(self, obj: TrackedObject) -> Self:
        """Add a tracked object."""
        if not isinstance(obj, TrackedObject):
            raise TraceValidationError(
                WRONG_ITEM.format(
                    field="affecting()", expected="a TrackedObject", got=type(obj).__name__
                )
            )
        self._objects.append(obj)
        return self

    def affecting_object(
        self,
        object_type: ObjectType | str,
        object_id: str,
        external_id: str | None = None,
        name: str | None = None,
        state_before: Mapping[str, Any] | None = None,
        state_after: Mapping[str, Any] | None = None,
        **metadata: Any,
    ) -> Self:
        """Add an object of any type, with its state before and after."""
        return self.affecting(
            # TrackedObject takes the type's text and any mapping; it normalises both.
            TrackedObject(
                id=object_id,
                type=object_type,  # type: ignore[arg-type]
                external_id=external_id,
                name=name,
                metadata=metadata,
                state_before=state_before,  # type: ignore[arg-type]
                state_after=state_after,  # type: ignore[arg-type]
            )
        )

    def _affecting_typed(
        self,
        object_type: ObjectType,
        object_id: str,
        state: Mapping[str, Any] | None,
        external_id: str | None,
        metadata: dict[str, Any],
    ) -> Self:
        return self.affecting_object(
            object_type, object_id, external_id=external_id, state_after=state, **metadata
        )

    def affecting_order(
        self,
        order_id: str,
        state: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        **metadata: Any,
    ) -> Self:
        """Add an order; ``state`` is its state after the event."""
        return self._affecting_typed(ObjectType.ORDER, order_id, state, external_id, metadata)

    def affecting_product(
        self,
        product_id: str,
        state: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        **metadata: Any,
    ) -> Self:
        """Add a product (``external_id`` is typically its SKU)."""
        return self._affecting_typed(ObjectType.PRODUCT, product_id, state, external_id, metadata)

    def affecting_customer(
        self,
        customer_id: str,
        state: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        **metadata: Any,
    ) -> Self:
        """Add a customer."""
        return self._affecting_typed(ObjectType.CUSTOMER, customer_id, state, external_id, metadata)

    def affecting_payment(
        self,
        payment_id: str,
        state: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        **metadata: Any,
    ) -> Self:
        """Add a payment."""
        return self._affecting_typed(ObjectType.PAYMENT, payment_id, state, external_id, metadata)

    def affecting_shipment(
        self,
        shipment_id: str,
        state: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        **metadata: Any,
    ) -> Self:
        """Add a shipment."""
        return self._affecting_typed(ObjectType.SHIPMENT, shipment_id, state, external_id, metadata)

    def affecting_inventory(
        self,
        sku: str,
        quantity_before: int | float | None = None,
        quantity_after: int | float | None = None,
        **metadata: Any,
    ) -> Self:
        """Add a stock line by SKU, with the quantities before and after."""
        for name, value in (
            ("quantity_before", quantity_before),
            ("quantity_after", quantity_after),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise TraceValidationError(f"{name} must be a number; got {value!r}.")
        return self.affecting_object(
            ObjectType.INVENTORY,
            sku,
            state_before=None if quantity_before is None else {"quantity": quantity_before},
            state_after=None if quantity_after is None else {"quantity": quantity_after},
            **metadata,
        )

    # Why -----------------------------------------------------------------

    def because(
        self,
        reasoning: str,
        action: str | None = None,
        context: Mapping[str, Any] | None = None,
        constraints: list[Any] | None = None,
        alternatives: list[Any] | None = None,
        rejection_reasons: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Self:
        """Why it was done: reasoning, context, the alternatives and why each was rejected.

        Further keywords set the other decision fields: ``confidence``,
        ``risk_level``, ``requires_approval``, ``approved_by``, ``trigger``,
        ``trigger_event_id``, ``depends_on``, ``id``.
        """
        unknown = sorted(set(kwargs) - set(_BECAUSE_KEYWORDS))
        if unknown:
            raise TraceValidationError(
                UNKNOWN_DECISION_FIELD.format(
                    names=", ".join(unknown), allowed=", ".join(_BECAUSE_KEYWORDS)
                )
            )
        values: dict[str, Any] = {"reasoning": check_text("reasoning", reasoning, required=True)}
        if action is not None:
            values["action"] = check_optional_text("action", action, max_length=NAME_LENGTH)
        if context is not None:
            values["context"] = check_mapping("context", context)
        if constraints is not None:
            values["constraints"] = check_list("constraints", constraints)
        if alternatives is not None:
            values["alternatives"] = check_list("alternatives", alternatives)
        if rejection_reasons is not None:
            values["rejection_reasons"] = check_mapping("rejection_reasons", rejection_reasons)
        # Validate the keywords through the value object, which knows every rule.
        DecisionTrace(**{**self._decision, **values, **kwargs})
        self._decision.update(values)
        self._decision.update(kwargs)
        return self

    def with_confidence(self, confidence: float) -> Self:
        """How sure the actor was, from 0 to 1."""
        if confidence is None:
            raise TraceValidationError("with_confidence() needs a number from 0 to 1; got None.")
        self._decision["confidence"] = check_confidence(confidence)
        return self

    def with_risk(self, risk_level: RiskLevel | str) -> Self:
        """How risky: ``low``, ``medium``, ``high`` or ``critical``."""
        self._decision["risk_level"] = check_choice("risk level", risk_level, RiskLevel)
        return self

    def requires_approval(self, required: bool = True) -> Self:
        """Needs a person's decision: recording creates a pending ``decisioning.Decision``."""
        self._decision["requires_approval"] = check_bool("requires_approval", required)
        return self

    def approved_by(self, approver: str) -> Self:
        """Who approved it (when approval happened outside this system)."""
        self._decision["approved_by"] = check_text(
            "approved_by", approver, max_length=NAME_LENGTH, required=True
        )
        return self

    def triggered_by(self, trigger: str, event_id: str | None = None) -> Self:
        """What set it off, and optionally the id of the event that did."""
        self._decision["trigger"] = check_text(
            "trigger", trigger, max_length=NAME_LENGTH, required=True
        )
        if event_id is not None:
            self._decision["trigger_event_id"] = check_event_id("trigger_event_id", event_id)
        return self

    def depends_on(self, *event_ids: str) -> Self:
        """Events (or other ids) this decision depended on; adds to earlier calls."""
        if not event_ids:
            raise TraceValidationError("depends_on() needs at least one id.")
        current = tuple(self._decision.get("depends_on", ()))
        ids = tuple(str(i) if isinstance(i, uuid.UUID) else i for i in event_ids)
        self._decision["depends_on"] = check_text_list(
            "depends_on", current + ids, max_length=ID_LENGTH
        )
        return self

    # How it ended --------------------------------------------------------

    def with_outcome(
        self, outcome: EventOutcome | str, details: Mapping[str, Any] | None = None
    ) -> Self:
        """How it ended (``success``, ``failure``, ``partial``, ``pending``, ...)."""
        self._outcome = check_choice("outcome", outcome, EventOutcome)
        if details is not None:
            self._outcome_details = check_mapping("outcome details", details)
        return self

    def succeeded(self, details: Mapping[str, Any] | None = None) -> Self:
        return self.with_outcome(EventOutcome.SUCCESS, details)

    def failed(self, error: str | BaseException, details: Mapping[str, Any] | None = None) -> Self:
        """It failed; ``error`` is the error text (or the exception itself)."""
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}"
        self._error = check_text("error", error, required=True)
        return self.with_outcome(EventOutcome.FAILURE, details)

    def partial(self, details: Mapping[str, Any] | None = None) -> Self:
        return self.with_outcome(EventOutcome.PARTIAL, details)

    def pending(self, details: Mapping[str, Any] | None = None) -> Self:
        return self.with_outcome(EventOutcome.PENDING, details)

    def cancelled(self, details: Mapping[str, Any] | None = None) -> Self:
        return self.with_outcome(EventOutcome.CANCELLED, details)

    def skipped(self, details: Mapping[str, Any] | None = None) -> Self:
        return self.with_outcome(EventOutcome.SKIPPED, details)

    # When, and the rest --------------------------------------------------

    def with_duration(self, duration: timedelta | float) -> Self:
        """How long it took: a ``timedelta`` or seconds, never negative."""
        self._duration = check_duration(duration)
        return self

    def with_tags(self, *tags: str) -> Self:
        """Add tags (duplicates are dropped)."""
        self._tags = check_text_list("tags", self._tags + tags, max_length=TAG_LENGTH)
        return self

    def with_data(self, **data: Any) -> Self:
        """Add free-form event data; ``Decimal``/datetime/``UUID`` become JSON text."""
        self._data = check_mapping("data", {**self._data, **data})
        return self

    def with_source(self, system: str, ip: str | None = None) -> Self:
        """Which system reported it, and from which IP address."""
        self._source_system = check_text(
            "source system", system, max_length=NAME_LENGTH, required=True
        )
        self._source_ip = check_ip(ip)
        return self

    def with_correlation(self, correlation_id: str) -> Self:
        """Group it with the other events of one flow (a request, an order's checkout)."""
        self._correlation = check_identifier("correlation_id", str(correlation_id))
        return self

    def child_of(self, event_id: str) -> Self:
        """Make it a child of a stored event (the parent's id, as ``record()`` returned it)."""
        parent = check_event_id("child_of()", event_id)
        if parent == self._id:
            raise TraceValidationError("An event cannot be its own parent.")
        self._parent = parent
        return self

    def at(self, timestamp: datetime) -> Self:
        """When it happened, if not now (backdating); a naive datetime is taken as UTC."""
        self._timestamp = aware("at()", timestamp)
        return self

    # Finish --------------------------------------------------------------

    def build(self, *, now: datetime | None = None) -> TraceEvent:
        """The ``TraceEvent`` described so far, without storing it."""
        decision = None
        if self._decision:
            decision = DecisionTrace(**{"id": self._decision_id, **self._decision})
        kwargs: dict[str, Any] = {}
        if self._timestamp is not None or now is not None:
            kwargs["timestamp"] = self._timestamp or now
        return TraceEvent(
            id=self._id,
            duration=self._duration,
            event_type=self._event_type,
            description=self._description,
            actor=self._actor,
            decision=decision,
            objects=tuple(self._objects),
            outcome=self._outcome,
            outcome_details=self._outcome_details,
            error=self._error,
            data=self._data,
            tags=self._tags,
            parent_event_id=self._parent,
            correlation_id=self._correlation,
            source_system=self._source_system,
            source_ip=self._source_ip,
            **kwargs,
        )

    def record(self, *, wait: bool | None = None) -> RecordedId:
        """Store the event (with actor, decision, objects, tags) and return its id.

        Args:
            wait: over HTTP, ``False`` queues the event for the background
                sender and returns at once; ``True`` sends it now. ``None``
                follows the client (``batch=True`` queues).

        Returns:
            The event id, a ``str`` whose ``decision_id`` names the pending
            review decision when the server held the event for approval.

        Raises:
            TraceValidationError: the event cannot be stored (e.g. the parent
                does not exist); nothing was written.
        """
        client = self._client
        if client is None:
            from decision_trace.client import DecisionTraceClient

            client = DecisionTraceClient()
        return client.record_builder(self, wait=wait)
