"""factory_boy factories for the trace storage models (use ``.build()`` when no DB is needed)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import factory
from django.utils import timezone

from traces.counts import event_counts_add
from traces.enums import ActorType, EventOutcome, ObjectType
from traces.models import ActorRecord, EventRecord, EventTag, TrackedObjectRecord
from traces.search import document_body, search_index_add


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
    def search_document(obj, create, extracted, **kwargs):
        """Index a created event for full-text search, as the recording service does."""
        if create:
            body = document_body(
                obj.description, obj.reasoning, obj.alternatives, obj.rejection_reasons
            )
            search_index_add([{"event_id": obj.pk, "body": body}], using=obj._state.db)

    @factory.post_generation
    def hourly_count(obj, create, extracted, **kwargs):
        """Count a created event in the dashboard's hourly counts, as the recording service does."""
        if create:
            event_counts_add([(obj.effective_at, obj.actor_type, obj.outcome)], using=obj._state.db)


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
