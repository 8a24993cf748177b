"""verify_traces: a superuser's edit, deletion or reordering is named; retention is not one."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from decision_trace.evidence import Checkpoint, checkpoint_message, checkpoint_verify
from decisioning.appendonly import append_only_triggers_sql
from decisioning.models import Decision
from decisioning.services import decision_transition
from tests.traces.factories import proposal_record
from traces import DecisionTraceClient
from traces.evidence.corrections import event_correct
from traces.evidence.keys import key_file_create, public_key_bytes
from traces.evidence.models import LogEntry, SignedCheckpoint
from traces.evidence.retention import retention_delete
from traces.evidence.sealing import seal_pending
from traces.models import EventRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed(admin) -> dict[str, str]:
    """Events (one reviewed, one corrected) sealed in two checkpoints; their keys by role."""
    client = DecisionTraceClient()
    first = client.record_many(
        [client.trace("order.created", f"Order {i}").affecting_order(f"o{i}") for i in range(4)]
    )
    seal_pending()
    event, decision = proposal_record()
    decision_transition(decision=decision, action="reject", user=admin, reason="No")
    correction = event_correct(
        event_id=first[1], corrected_by="ops", reason="Typo", description="Order one"
    )
    seal_pending()
    transition = decision.transitions.get()
    return {
        "event": first[2],
        "kept": first[0],
        "corrected": first[1],
        "proposal": str(event.pk),
        "correction": str(correction.pk),
        "transition": str(transition.pk),
    }


def _superuser(sql: str, params: list[object], table: str) -> None:
    """Run SQL on ``table`` as its owner would: triggers dropped first (the test rolls back)."""
    _, drop = append_only_triggers_sql(connection.vendor, table, ["id"])
    with connection.cursor() as cursor:
        for statement in drop:
            cursor.execute(statement)
        cursor.execute(sql, params)


def _verify_fails(match: str) -> None:
    with pytest.raises(CommandError, match=match):
        call_command("verify_traces")


def test_untouched_evidence_verifies(sealed, capsys):
    call_command("verify_traces")
    out = capsys.readouterr().out
    assert "Evidence verifies" in out
    assert "0 commits not sealed yet" in out


@pytest.mark.parametrize(
    ("table", "sql", "role", "named"),
    [
        (
            "traces_eventrecord",
            "UPDATE traces_eventrecord SET description = 'nothing happened' WHERE id = %s",
            "event",
            "event {key} (log entry",
        ),
        (
            "traces_eventrecord",
            "UPDATE traces_eventrecord SET effective_at = effective_at - INTERVAL '1 day' "
            "WHERE id = %s",
            "event",
            "event {key} (log entry",
        ),
        (
            "traces_trackedobjectrecord",
            "UPDATE traces_trackedobjectrecord SET object_id = 'o-forged' WHERE event_id = %s",
            "event",
            "event {key} (log entry",
        ),
        (
            "traces_eventcorrection",
            "UPDATE traces_eventcorrection SET reason = 'Audit request' WHERE id = %s",
            "correction",
            "correction {key} (log entry",
        ),
        (
            "decisioning_decisiontransition",
            "UPDATE decisioning_decisiontransition SET to_outcome = 'approved' WHERE id = %s",
            "transition",
            "decision transition {key} (log entry",
        ),
    ],
    ids=["event-text", "event-time", "tracked-object", "correction", "transition"],
)
def test_changed_row_is_named(sealed, table, sql, role, named):
    """An UPDATE behind the triggers' back: the first row that does not match is named."""
    key = sealed[role]
    if "INTERVAL" in sql and connection.vendor == "sqlite":
        sql = "UPDATE traces_eventrecord SET effective_at = '2001-01-01 00:00:00' WHERE id = %s"
    # Each database's own form of the id (SQLite stores a UUID as 32 hex digits).
    param = (
        EventRecord._meta.pk.get_db_prep_value(uuid.UUID(key), connection)
        if role == "event"
        else int(key)
    )
    _superuser(sql, [param], table)
    _verify_fails(rf"{re.escape(named.format(key=key))}.*was changed")


def test_changed_approval_mirror_is_named(sealed):
    """approval_status may be UPDATEd (it mirrors the Decision), but a lie is caught."""
    EventRecord.objects.filter(pk=sealed["proposal"]).update(approval_status="approved")
    _verify_fails(rf"event {sealed['proposal']} shows approval 'approved' .* mirror was changed")


def test_changed_decision_outcome_is_named(sealed):
    """A Decision's outcome must be where its sealed transitions lead."""
    decision = Decision.objects.get(target_id=sealed["proposal"])
    Decision.all_objects.filter(pk=decision.pk).update(outcome="approved")
    _verify_fails(rf"decision {decision.pk} is 'approved' but its transitions end at 'rejected'")


def test_deleted_row_is_named(sealed):
    key = sealed["transition"]
    _superuser(
        "DELETE FROM decisioning_decisiontransition WHERE id = %s",
        [int(key)],
        "decisioning_decisiontransition",
    )
    _verify_fails(rf"decision transition {key} \(log entry \d+\) was deleted")


def test_reordered_log_is_detected(sealed):
    """Two log entries swapped (positions exchanged): the first moved position is named."""
    first, second = LogEntry.objects.order_by("index")[1:3]
    table = LogEntry._meta.db_table
    sql = f'UPDATE {table} SET "index" = %s WHERE "index" = %s'
    parked = 10**9
    _superuser(sql, [parked, first.index], table)
    _superuser(sql, [first.index, second.index], table)
    _superuser(sql, [second.index, parked], table)
    _verify_fails(rf"Log entry {first.index} .* reordered or rewritten")


def test_truncated_log_is_detected(sealed):
    """Dropping the newest entries: the last checkpoint covers more than the log holds."""
    last = LogEntry.objects.order_by("-index").first()
    table = LogEntry._meta.db_table
    _superuser(f'DELETE FROM {table} WHERE "index" = %s', [last.index], table)
    _verify_fails("covers more entries than the log holds")


def test_rewritten_log_and_checkpoint_without_the_key_are_detected(sealed):
    """Rehashing a changed row into the log cannot produce a checkpoint signed by our key."""
    other = Ed25519PrivateKey.generate()
    newest = SignedCheckpoint.objects.order_by("-size").first()
    forged = other.sign(checkpoint_message(newest.size, bytes(newest.root), newest.signed_at))
    table = SignedCheckpoint._meta.db_table
    _superuser(f"UPDATE {table} SET signature = %s WHERE size = %s", [forged, newest.size], table)
    _verify_fails(f"checkpoint of size {newest.size} does not verify")


def test_checkpoint_signed_by_another_key_is_refused(sealed, settings, tmp_path):
    """verify_traces with a different configured key names the first checkpoint as foreign."""
    settings.TRACES_EVIDENCE_SIGNING_KEY_FILE = tmp_path / "other.pem"
    key_file_create(tmp_path / "other.pem")
    _verify_fails("was signed by key")


def test_retention_is_not_tampering(sealed):
    """Rows deleted by retention leave their leaves: the log and checkpoints still verify."""
    assert retention_delete(event_ids=[sealed["proposal"]], reason="kept 7 years") == 2
    assert retention_delete(event_ids=[sealed["corrected"]], reason="kept 7 years") == 1
    call_command("verify_traces")


def test_export_checkpoints_writes_and_appends(sealed, tmp_path, admin):
    """Each line verifies on its own with the public key written next to it."""
    path = tmp_path / "checkpoints.jsonl"
    call_command("export_checkpoints", output=str(path))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["size"] for line in lines] == [4, 8]
    for line in lines:
        checkpoint_verify(Checkpoint.from_dict(line), bytes.fromhex(line["public_key"]))
    assert lines[0]["public_key"] == public_key_bytes().hex()
    DecisionTraceClient().trace("late", "Late").record()
    seal_pending()
    call_command("export_checkpoints", output=str(path), append=True)
    assert [json.loads(line)["size"] for line in path.read_text().splitlines()] == [4, 8, 9]


def test_export_to_stdout(sealed, capsys):
    call_command("export_checkpoints")
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_keygen_creates_once(settings, tmp_path, capsys):
    path = tmp_path / "var" / "key.pem"
    settings.TRACES_EVIDENCE_SIGNING_KEY_FILE = path
    call_command("evidence_keygen")
    first = path.read_bytes()
    assert (path.stat().st_mode & 0o777) == 0o600
    call_command("evidence_keygen")
    assert path.read_bytes() == first
    out = capsys.readouterr().out
    assert "Created signing key" in out
    assert "Kept the existing" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [("not a key", "not an unencrypted PEM"), ("", "evidence_keygen")],
)
def test_bad_or_missing_key_is_a_clear_error(settings, tmp_path, text, message):
    settings.TRACES_EVIDENCE_SIGNING_KEY = text
    settings.TRACES_EVIDENCE_SIGNING_KEY_FILE = tmp_path / "none.pem"
    with pytest.raises(ImproperlyConfigured, match=message):
        public_key_bytes()
