"""Value objects to rows: every row carries every column its insert sends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from traces import TraceBuilder
from traces.mapping import event_row, object_row
from traces.models import EventRecord, TrackedObjectRecord

WHEN = datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)


def _columns(model, *, with_pk: bool = True) -> set[str]:
    return {f.attname for f in model._meta.concrete_fields if with_pk or not f.primary_key}


def _row(builder: TraceBuilder) -> dict:
    event = builder.build()
    return event_row(
        event,
        actor_pk=None,
        root_id=uuid.UUID(event.id),
        depth=0,
        approval_status="",
        recorded_at=WHEN,
    )


def test_event_row_has_every_column_with_and_without_a_decision():
    """No row falls back to per-row defaults: both shapes name all EventRecord columns."""
    plain = _row(TraceBuilder("order.created", "Placed"))
    reasoned = _row(TraceBuilder("order.created", "Placed").because("Paid", action="ship"))
    assert set(plain) == set(reasoned) == _columns(EventRecord)
    assert plain["has_decision"] is False
    assert (plain["context"], plain["depends_on"], plain["confidence"]) == ({}, [], None)
    assert (reasoned["has_decision"], reasoned["action"]) == (True, "ship")


def test_event_row_uses_the_parsed_id_given():
    event = TraceBuilder("order.created").build()
    parsed = uuid.UUID(event.id)
    row = event_row(
        event,
        event_id=parsed,
        actor_pk=None,
        root_id=parsed,
        depth=0,
        approval_status="",
        recorded_at=WHEN,
    )
    assert row["id"] is parsed


def test_object_row_has_every_column_but_the_key():
    event = TraceBuilder("order.created").affecting_order("ord-1", {"status": "new"}).build()
    row = object_row(event.objects[0], event_id=uuid.uuid4(), position=0)
    assert set(row) == _columns(TrackedObjectRecord, with_pk=False)
