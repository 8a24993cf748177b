"""factory_boy factories for the trace storage models (use ``.build()`` when no DB is needed)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import factory
from django.utils import timezone

from decision_trace.enums import ActorType, EventOutcome, ObjectType
from decisioning.models import Decision
from traces.client import DecisionTraceClient
from traces.models import ActorRecord, EventRecord, EventTag, TrackedObjectRecord
from traces.services import trace_index_stored


class ActorRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActorRecord
        django_get_or_create = ("actor_type", "actor_id")

    actor_type = ActorType.USER.value
    actor_id = factory.Sequence(lambda n: f"user-{n}")
    name = factory.Sequence(lambda n: f"User {n}")


class EventRecordFactory(factory.django.DjangoModelFactory):
    """An event; ``root_id`` follows the parent (or is the event itself), like the service does."""

    class Meta:
        model = EventRecord
        skip_postgeneration_save = True

    id = factory.LazyFunction(uuid.uuid4)
    event_type = "order.created"
    description = factory.Sequence(lambda n: f"Event {n}")
    actor = factory.SubFactory(ActorRecordFactory)
    actor_type = factory.LazyAttribute(lambda o: o.actor.actor_type if o.actor else "")
    effective_at = factory.Sequence(lambda n: timezone.now() - timedelta(minutes=10_000 - n))
    outcome = EventOutcome.SUCCESS.value
    parent = None
    root_id = factory.LazyAttribute(lambda o: o.parent.root_id if o.parent else o.id)
    depth = factory.LazyAttribute(lambda o: o.parent.depth + 1 if o.parent else 0)

    @factory.post_generation
    def indexed(obj, create, extracted, **kwargs):
        """Index a created event for search and count it hourly, as the recording service does."""
        if create:
            trace_index_stored(events=[obj], using=obj._state.db)


class TrackedObjectRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrackedObjectRecord

    event = factory.SubFactory(EventRecordFactory)
    object_type = ObjectType.ORDER.value
    object_id = factory.Sequence(lambda n: f"ord-{n}")


class EventTagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EventTag

    event = factory.SubFactory(EventRecordFactory)
    tag = "demo"


def proposal_record(
    *,
    action: str = "refund_approval",
    description: str = "Refund of €99.99 for a damaged widget",
    actor_type: str = "ai_agent",
    actor_id: str = "refund-ai",
    risk: str = "medium",
    confidence: float = 0.88,
    reasoning: str = "Photos show a manufacturing defect\nThe customer is gold tier.",
    order_id: str = "ord-11890",
    at: datetime | None = None,
) -> tuple[EventRecord, Decision]:
    """An event recorded with ``requires_approval`` by the real client, and its pending Decision."""
    builder = DecisionTraceClient().trace("refund.requested", description)
    if actor_type == "ai_agent":
        builder.by_ai(actor_id, "Refund agent", model="gpt-4")
    elif actor_type == "user":
        builder.by_user(actor_id, "Sam Support", role="support")
    elif actor_type == "compute":
        builder.by_compute(actor_id, "Refund job")
    else:
        builder.by_system(actor_id)
    builder.because(reasoning, action=action, alternatives=[{"action": "replace"}])
    builder.with_risk(risk).with_confidence(confidence).requires_approval()
    builder.affecting_order(order_id, {"status": "refund_requested"})
    if at is not None:
        builder.at(at)
    event_id = builder.record()
    return EventRecord.objects.get(pk=event_id), Decision.objects.get(target_id=event_id)
