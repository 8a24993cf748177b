"""Sealing after commit: the outbox, the worker task, the log in recorded order, checkpoints."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from decision_trace.evidence import checkpoint_verify, event_proof_verify, inclusion_verify
from decisioning.services import decision_transition
from tests.traces.factories import proposal_record
from traces import DecisionTraceClient
from traces.evidence.corrections import event_correct
from traces.evidence.keys import public_key_bytes
from traces.evidence.models import LogEntry, LogHead, SealRequest, SignedCheckpoint
from traces.evidence.sealing import seal_pending
from traces.evidence.verification import checkpoint_of, event_proof, evidence_verify

pytestmark = pytest.mark.django_db


def _record(client: DecisionTraceClient, n: int) -> list[str]:
    return client.record_many(
        [client.trace("order.created", f"Order {i}").by_user(f"u{i}", "U") for i in range(n)]
    )


def test_commit_seals_through_the_task(django_capture_on_commit_callbacks):
    """After commit the (immediate-backend) task runs the real sealer: log, nodes, checkpoint."""
    client = DecisionTraceClient()
    with django_capture_on_commit_callbacks(execute=True):
        ids = _record(client, 3)
    assert SealRequest.objects.count() == 0
    assert sorted(LogEntry.objects.values_list("key", flat=True)) == sorted(ids)
    checkpoint = SignedCheckpoint.objects.get()
    assert checkpoint.size == 3 == LogHead.objects.get().size
    checkpoint_verify(checkpoint_of(checkpoint), public_key_bytes())
    assert evidence_verify().problem is None


def test_rolled_back_write_seals_nothing(django_capture_on_commit_callbacks):
    client = DecisionTraceClient()

    def record_then_fail() -> None:
        with transaction.atomic():
            _record(client, 2)
            raise ZeroDivisionError

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ZeroDivisionError),
    ):
        record_then_fail()
    assert callbacks == []
    assert not SealRequest.objects.exists()
    assert not LogEntry.objects.exists()


def test_log_is_in_recorded_order_across_kinds(admin):
    """Events, corrections and transitions are appended by recorded time, whatever their commit."""
    event, decision = proposal_record()
    event_correct(
        event_id=event.pk,
        corrected_by="ops",
        reason="Typo",
        description="Fixed",
        now=timezone.now() + timedelta(minutes=5),
    )
    decision_transition(decision=decision, action="defer", user=admin, reason="Later")
    result = seal_pending()
    entries = list(LogEntry.objects.order_by("index"))
    assert result.appended == len(entries) == 4  # event, its audit event, transition, correction
    assert [e.recorded_at for e in entries] == sorted(e.recorded_at for e in entries)
    assert entries[-1].kind == "correction"
    assert evidence_verify().problem is None


def test_sealing_is_incremental_and_idempotent():
    """A second batch extends the tree; a request naming logged rows appends nothing."""
    client = DecisionTraceClient()
    first = _record(client, 5)
    assert seal_pending().size == 5
    _record(client, 6)
    SealRequest.objects.create(kind="event", keys=first)
    assert seal_pending().appended == 6
    assert list(SignedCheckpoint.objects.values_list("size", flat=True)) == [5, 11]
    assert evidence_verify().problem is None
    for event_id in first:
        proof = event_proof(event_id)
        assert proof is not None
        checkpoint_verify(proof.checkpoint, public_key_bytes())
        inclusion_verify(
            index=proof.index,
            size=proof.checkpoint.size,
            leaf=proof.leaf,
            proof=proof.proof,
            root=proof.checkpoint.root,
        )


def test_proof_at_a_kept_checkpoint_verifies_with_the_sdk():
    """A client keeps the first checkpoint; later, the server proves against that size."""
    client = DecisionTraceClient()
    first = _record(client, 3)
    seal_pending()
    kept = checkpoint_of(SignedCheckpoint.objects.get())
    _record(client, 4)
    seal_pending()
    latest = event_proof(first[1])
    at_kept = event_proof(first[1], size=kept.size)
    assert latest.checkpoint.size == 7
    assert event_proof_verify(latest.to_dict(), public_key_bytes()).size == 7
    assert event_proof_verify(at_kept.to_dict(), public_key_bytes(), kept=kept) == kept
    assert event_proof(first[1], size=2) is None


def test_proof_of_an_unsealed_or_unknown_event_is_none():
    (event_id,) = _record(DecisionTraceClient(), 1)
    assert event_proof(event_id) is None
    seal_pending()
    assert event_proof(uuid.uuid4()) is None
    assert event_proof(event_id).to_dict()["leaf_index"] == 0


def test_sealer_without_a_key_fails_and_keeps_the_outbox(settings, tmp_path):
    settings.TRACES_EVIDENCE_SIGNING_KEY_FILE = tmp_path / "missing.pem"
    _record(DecisionTraceClient(), 2)
    with pytest.raises(ImproperlyConfigured, match="evidence_keygen"):
        seal_pending()
    assert SealRequest.objects.count() == 1
    assert not LogEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_database_backend_worker_seals(settings):
    """The production path: the commit enqueues a task row, `db_worker` runs it."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    ids = _record(DecisionTraceClient(), 4)
    assert DBTaskResult.objects.count() == 1
    assert not LogEntry.objects.exists()
    call_command("db_worker", batch=True, interval=0, startup_delay=False, verbosity=0)
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert sorted(LogEntry.objects.values_list("key", flat=True)) == sorted(ids)
    assert evidence_verify().problem is None
