"""Recorded rows are append-only on both databases: UPDATE and DELETE refused, but retention."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, models, transaction
from django.db.migrations.state import ProjectState

from decisioning.appendonly import RETENTION_TABLE, AppendOnly, retention_window
from decisioning.exceptions import RecordedAtReadOnlyError
from decisioning.models import DecisionTransition
from decisioning.services import decision_transition
from tests.traces.factories import proposal_record
from traces.evidence.corrections import event_correct
from traces.evidence.models import (
    EventCorrection,
    LogEntry,
    LogNode,
    PrunedEntry,
    SignedCheckpoint,
)
from traces.evidence.retention import retention_delete
from traces.evidence.sealing import seal_pending
from traces.models import EventRecord, EventTag, TrackedObjectRecord

pytestmark = pytest.mark.django_db

# model -> the fields an UPDATE may still set.
APPEND_ONLY: dict[type[models.Model], set[str]] = {
    EventRecord: {"approval_status"},
    TrackedObjectRecord: set(),
    EventTag: set(),
    EventCorrection: set(),
    DecisionTransition: {"by"},
    LogEntry: set(),
    LogNode: set(),
    SignedCheckpoint: set(),
    PrunedEntry: set(),
}
CASES = [
    (model, field.name)
    for model, mutable in APPEND_ONLY.items()
    for field in model._meta.concrete_fields
    if field.name not in mutable
]


@pytest.fixture
def recorded(admin) -> dict[type[models.Model], models.Model]:
    """One stored row of every append-only model (a pruned log entry included)."""
    event, decision = proposal_record()
    EventTag.objects.create(event=event, tag="kept")
    event_correct(event_id=event.pk, corrected_by="ops", reason="Typo", description="Fixed")
    decision_transition(decision=decision, action="defer", user=admin, reason="Later")
    doomed, _ = proposal_record(order_id="ord-2")
    seal_pending()
    retention_delete(event_ids=[doomed.pk], reason="test retention")
    return {model: model.objects.order_by("pk").first() for model in APPEND_ONLY}


def _refused(table: str) -> Any:
    return pytest.raises(IntegrityError, match=rf"{table} is append-only")


def _other_value(row: models.Model, field: models.Field) -> Any:
    value = getattr(row, field.attname)
    if isinstance(field, models.ForeignKey | models.OneToOneField):
        return value
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, uuid.UUID):
        return uuid.uuid4()
    if isinstance(value, bytes | memoryview):
        return b"\x01" * 32
    if isinstance(value, str):
        if field.max_length and len(value) >= field.max_length:
            return value[:-1] + ("1" if value.endswith("0") else "0")
        return value + "x"
    return value


@pytest.mark.parametrize(("model", "field_name"), CASES, ids=lambda v: getattr(v, "__name__", v))
def test_update_of_every_column_refused_through_the_orm(recorded, model, field_name):
    """QuerySet.update() of any recorded column fails with the table's name, nothing changes."""
    row = recorded[model]
    field = model._meta.get_field(field_name)
    # recorded_at is refused by the QuerySet itself before any SQL is sent.
    refused = (
        pytest.raises(RecordedAtReadOnlyError)
        if field_name == "recorded_at" and model is EventRecord
        else _refused(model._meta.db_table)
    )
    with refused, transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{field.attname: _other_value(row, field)})


@pytest.mark.parametrize(("model", "field_name"), CASES, ids=lambda v: getattr(v, "__name__", v))
def test_update_of_every_column_refused_in_raw_sql(recorded, model, field_name):
    """Even an UPDATE setting a column to its own value is refused."""
    table = model._meta.db_table
    column = model._meta.get_field(field_name).column
    pk = model._meta.pk.column
    with _refused(table), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{table}" SET "{column}" = "{column}" WHERE "{pk}" IS NOT NULL')


@pytest.mark.parametrize("model", list(APPEND_ONLY), ids=lambda m: m.__name__)
def test_save_and_delete_refused(recorded, model):
    """Model.save() on a stored row, Model.delete(), QuerySet.delete() and raw DELETE all fail."""
    row = recorded[model]
    table = model._meta.db_table
    if model is EventRecord:
        # One that no correction or child protects, so the DELETE reaches the database.
        row = EventRecord.objects.filter(children__isnull=True, corrections__isnull=True).first()
    if model not in (LogEntry, PrunedEntry, LogNode, SignedCheckpoint):
        with _refused(table), transaction.atomic():
            row.save()
    with pytest.raises(IntegrityError, match="is append-only"), transaction.atomic():
        model.objects.filter(pk=row.pk).delete()
    with _refused(table), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{table}"')
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.postgres
def test_truncate_refused_on_postgres(recorded, on_postgres):
    """TRUNCATE fires no row trigger; a statement trigger refuses it too."""
    if not on_postgres:
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    with _refused("traces_eventtag"), transaction.atomic(), connection.cursor() as cursor:
        # The inserts' deferred foreign key checks would otherwise block any TRUNCATE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE traces_eventtag CASCADE")


def test_mutable_mirror_columns_may_change(recorded, django_user_model):
    """The approval mirror on the event, and a transition's user set to NULL on user deletion."""
    event = recorded[EventRecord]
    assert EventRecord.objects.filter(pk=event.pk).update(approval_status="approved") == 1
    transition = recorded[DecisionTransition]
    transition.by.delete()
    transition.refresh_from_db()
    assert (transition.by_id, transition.by_username) == (None, "alice")


def test_retention_window_lets_delete_through_not_update(recorded):
    """Inside the window DELETE works and UPDATE is still refused; the window closes after."""
    tag = recorded[EventTag]
    with retention_window("default"):
        with _refused("traces_eventtag"), transaction.atomic():
            EventTag.objects.filter(pk=tag.pk).update(tag="changed")
        EventTag.objects.filter(pk=tag.pk).delete()
    assert not EventTag.objects.filter(pk=tag.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {RETENTION_TABLE}")
        assert cursor.fetchone() == (0,)
    other = EventTag.objects.create(event=recorded[EventRecord], tag="second")
    with _refused("traces_eventtag"), transaction.atomic():
        other.delete()


def test_retention_window_rolls_back_with_an_error(recorded):
    """An error inside the window undoes its deletions and closes it."""
    tag = recorded[EventTag]

    def delete_then_fail() -> None:
        with retention_window("default"):
            EventTag.objects.filter(pk=tag.pk).delete()
            with retention_window("default"):  # nested: shares the outer window
                EventTag.objects.filter(event=recorded[EventRecord]).delete()
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        delete_then_fail()
    assert EventTag.objects.filter(pk=tag.pk).exists()
    with _refused("traces_eventtag"), transaction.atomic():
        tag.delete()


def test_append_only_operation_rejects_unknown_mutable_field():
    """A typo in ``mutable`` is an error when the migration runs, not a silent hole."""
    operation = AppendOnly("eventtag", mutable=("nope",))
    assert operation.deconstruct() == ("AppendOnly", ["eventtag"], {"mutable": ("nope",)})
    state = ProjectState.from_apps(apps)
    # Only the editor's connection is read before the check fails.
    editor = SimpleNamespace(connection=connection)
    with pytest.raises(ValueError, match="nope"):
        operation.database_forwards("traces", editor, state, state)
