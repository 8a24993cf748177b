"""The bulk write path (COPY on PostgreSQL from ``COPY_MIN_ROWS``) writes evidence's outbox row."""

from __future__ import annotations

import uuid

import pytest

from decision_trace.builder import TraceBuilder
from decision_trace.exceptions import TraceValidationError
from decision_trace.values import TraceEvent
from traces import DecisionTraceClient
from traces.bulk import COPY_MIN_ROWS
from traces.evidence.models import LogEntry, SealKind, SealRequest
from traces.evidence.sealing import seal_pending
from traces.evidence.verification import evidence_verify
from traces.models import EventRecord, EventTag, TrackedObjectRecord

pytestmark = pytest.mark.django_db

SIZE = COPY_MIN_ROWS + 10


def _batch(client: DecisionTraceClient, prefix: str) -> list[TraceBuilder]:
    return [
        client.trace("order.created", f"{prefix} {i}")
        .by_user(f"u{i % 7}", "U")
        .affecting_order(f"{prefix}-{i}")
        .with_tags("bulk")
        for i in range(SIZE)
    ]


def test_a_bulk_batch_writes_one_outbox_row_with_every_event_and_seals():
    client = DecisionTraceClient()
    ids = client.record_many(_batch(client, "o"))
    request = SealRequest.objects.get()
    assert request.kind == SealKind.EVENT
    assert sorted(request.keys) == sorted(ids)
    assert TrackedObjectRecord.objects.count() == SIZE == EventTag.objects.count()
    seal_pending()
    assert sorted(LogEntry.objects.values_list("key", flat=True)) == sorted(ids)
    assert evidence_verify().problem is None


def test_a_bulk_batch_with_a_taken_id_writes_no_outbox_row_and_no_event():
    client = DecisionTraceClient()
    taken = client.trace("order.created", "first").record()
    batch = [builder.build() for builder in _batch(client, "p")]
    batch[-1] = TraceEvent.from_dict({**batch[-1].to_dict(), "id": str(taken)})
    with pytest.raises(TraceValidationError, match=str(taken)):
        client.record_many(batch)
    assert EventRecord.objects.count() == 1
    assert SealRequest.objects.count() == 1  # the first event's own
    assert not EventRecord.objects.exclude(pk=uuid.UUID(str(taken))).exists()
