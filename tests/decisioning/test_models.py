"""IdempotencyKey and Decision: the spec's model tests, plus storage and time rules."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from decisioning.exceptions import (
    RECORDED_AT_READ_ONLY,
    RecordedAtReadOnlyError,
    ResultNotStorableError,
)
from decisioning.models import (
    ERROR_MESSAGE_LIMIT,
    REASON_MAX_LENGTH,
    Decision,
    DecisionOutcome,
    DecisionTransition,
    IdempotencyKey,
    IdempotencyStatus,
)
from tests.testapp.models import Identified, Order

pytestmark = pytest.mark.django_db


def _index_columns(table: str) -> list[list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [
        c["columns"]
        for c in constraints.values()
        if (c["index"] or c["unique"]) and not c["primary_key"]
    ]


@pytest.fixture
def order() -> Order:
    return Order.objects.create(number="A-1", total=Decimal("9.99"))


@pytest.fixture
def user():
    return get_user_model().objects.create_user(username="alice", password="pw-alice-123")


def _decision(target, **kwargs) -> Decision:
    kwargs.setdefault("decision_type", "credit_approval")
    return Decision.objects.create(target=target, **kwargs)


# IdempotencyKey: the spec's twelve


def test_idempotency_key_creation():
    """A key needs only its key; status starts in flight."""
    key = IdempotencyKey.objects.create(key="orders:1")
    stored = IdempotencyKey.objects.get(pk=key.pk)
    assert stored.key == "orders:1"
    assert stored.status == IdempotencyStatus.IN_FLIGHT
    assert stored.attempts == 1
    assert stored.completed_at is None
    assert stored.result_data == {}
    assert stored.error_message == ""


def test_idempotency_key_has_uuid_pk():
    """The primary key is a UUID4 named id."""
    key = IdempotencyKey.objects.create(key="k")
    assert isinstance(key.pk, uuid.UUID)
    assert key.pk.version == 4
    assert IdempotencyKey._meta.pk.name == "id"


def test_idempotency_key_unique_key():
    """The database refuses a second row with the same key."""
    IdempotencyKey.objects.create(key="same")
    with pytest.raises(IntegrityError), transaction.atomic():
        IdempotencyKey.objects.create(key="same")
    assert IdempotencyKey.objects.filter(key="same").count() == 1


@pytest.mark.parametrize("status", list(IdempotencyStatus))
def test_idempotency_key_status_choices(status):
    """Every status value is stored and read back."""
    key = IdempotencyKey.objects.create(key=f"s:{status}", status=status)
    assert IdempotencyKey.objects.get(pk=key.pk).status == status
    assert {s.value for s in IdempotencyStatus} == {"in_flight", "completed", "failed"}


def test_idempotency_key_started_at_auto():
    """started_at is set to now on create, timezone-aware."""
    before = timezone.now()
    key = IdempotencyKey.objects.create(key="k")
    key.refresh_from_db()
    assert before <= key.started_at <= timezone.now()
    assert timezone.is_aware(key.started_at)


def test_idempotency_key_mark_completed():
    """mark_completed moves the key to completed and stamps completed_at."""
    key = IdempotencyKey.objects.create(key="k")
    key.mark_completed()
    key.refresh_from_db()
    assert key.status == IdempotencyStatus.COMPLETED
    assert key.completed_at is not None
    assert key.completed_at >= key.started_at
    assert key.result_data == {"value": None}


def test_idempotency_key_mark_completed_with_result():
    """The result, its type and id are stored; a dict result as result_data itself."""
    key = IdempotencyKey.objects.create(key="k")
    key.mark_completed(result={"order_id": 7}, result_type="shop.Order", result_id=7)
    key.refresh_from_db()
    assert key.result_data == {"order_id": 7}
    assert key.result_type == "shop.Order"
    assert key.result_id == "7"
    assert key.replay_result() == {"order_id": 7}


@pytest.mark.parametrize(
    ("result", "stored"),
    [
        ({"order_id": 7, "paid": True}, {"order_id": 7, "paid": True}),
        ({}, {}),
        ({"value": 3}, {"value": 3}),
        ([1, 2], {"value": [1, 2]}),
        ("ok", {"value": "ok"}),
        (5, {"value": 5}),
    ],
)
def test_idempotency_key_mark_completed_dict_is_itself(result, stored):
    """Only a non-dict result is wrapped as {"value": ...}; replays return the result."""
    key = IdempotencyKey.objects.create(key="k")
    key.mark_completed(result=result)
    key.refresh_from_db()
    assert key.result_data == stored
    assert key.replay_result() == result


def test_idempotency_key_mark_failed():
    """mark_failed moves the key to failed with the error message."""
    key = IdempotencyKey.objects.create(key="k")
    key.mark_failed("payment gateway timed out")
    key.refresh_from_db()
    assert key.status == IdempotencyStatus.FAILED
    assert key.completed_at is not None
    assert key.error_message == "payment gateway timed out"


def test_idempotency_key_result_data_json():
    """result_data stores nested JSON and reads it back unchanged."""
    data = {"a": [1, 2.5, None, True], "b": {"c": "ü"}}
    key = IdempotencyKey.objects.create(key="k", result_data=data)
    assert IdempotencyKey.objects.get(pk=key.pk).result_data == data
    assert IdempotencyKey.objects.filter(result_data__b__c="ü").exists()


def test_idempotency_key_expires_at_optional():
    """expires_at may be empty or set."""
    never = IdempotencyKey.objects.create(key="never")
    later = IdempotencyKey.objects.create(key="later", expires_at=timezone.now())
    assert IdempotencyKey.objects.get(pk=never.pk).expires_at is None
    assert IdempotencyKey.objects.get(pk=later.pk).expires_at is not None


def test_idempotency_key_str_representation():
    """str() is 'key (status)'."""
    assert str(IdempotencyKey(key="orders:1")) == "orders:1 (in_flight)"
    assert str(IdempotencyKey(key="x", status=IdempotencyStatus.FAILED)) == "x (failed)"


def test_idempotency_key_indexes():
    """The table has indexes on (status, started_at), (expires_at) and the unique key."""
    columns = _index_columns(IdempotencyKey._meta.db_table)
    assert ["status", "started_at"] in columns
    assert ["expires_at"] in columns
    assert ["key"] in columns


# IdempotencyKey: additions


def test_idempotency_key_mark_completed_model_result(order):
    """A model result stores its class, pk and a reference; replay re-fetches it."""
    key = IdempotencyKey.objects.create(key="k")
    key.mark_completed(result=order)
    key.refresh_from_db()
    assert key.result_type == "tests.testapp.models.Order"
    assert key.result_id == str(order.pk)
    assert key.replay_result() == order


def test_idempotency_key_mark_completed_falsy_results_are_stored():
    """0, False and '' are results, not 'no result'."""
    for value in (0, False, ""):
        key = IdempotencyKey.objects.create(key=f"k:{value!r}")
        key.mark_completed(result=value)
        key.refresh_from_db()
        assert key.replay_result() == value
        assert type(key.replay_result()) is type(value)


@pytest.mark.parametrize("result", [{1, 2}, object(), {1: "int key"}, Order(number="unsaved")])
def test_idempotency_key_mark_completed_unstorable_result_writes_nothing(result):
    """A result with no storage rule raises and leaves the key as it was."""
    key = IdempotencyKey.objects.create(key="k")
    with pytest.raises(ResultNotStorableError):
        key.mark_completed(result=result)
    stored = IdempotencyKey.objects.get(pk=key.pk)
    assert stored.status == IdempotencyStatus.IN_FLIGHT
    assert stored.result_data == {}


def test_idempotency_key_mark_failed_cuts_huge_message():
    """A huge error message is cut to the limit, not refused."""
    key = IdempotencyKey.objects.create(key="k")
    key.mark_failed("x" * 100_000)
    key.refresh_from_db()
    assert len(key.error_message) == ERROR_MESSAGE_LIMIT


# Decision: the spec's ten


def test_decision_creation(order):
    """A decision needs a target and a type; outcome starts pending."""
    decision = _decision(order)
    stored = Decision.objects.get(pk=decision.pk)
    assert stored.decision_type == "credit_approval"
    assert stored.outcome == DecisionOutcome.PENDING
    assert stored.reason == ""
    assert stored.idempotency_key is None
    assert str(stored) == "credit_approval: pending"


def test_decision_has_uuid_pk(order):
    """The primary key is a UUID4."""
    decision = _decision(order)
    assert isinstance(decision.pk, uuid.UUID)
    assert decision.pk.version == 4


def test_decision_has_time_semantics(order):
    """effective_at and recorded_at are set, aware, and effective_at may be backdated."""
    last_week = timezone.now() - timedelta(days=7)
    decision = _decision(order, effective_at=last_week)
    decision.refresh_from_db()
    assert decision.effective_at == last_week
    assert decision.recorded_at > last_week
    assert timezone.is_aware(decision.recorded_at)


def test_decision_target_generic_fk(order):
    """The target is any model row; target_id is stored as text and resolves back."""
    decision = _decision(order)
    stored = Decision.objects.get(pk=decision.pk)
    assert stored.target == order
    assert stored.target_id == str(order.pk)
    assert stored.target_content_type == ContentType.objects.get_for_model(Order)
    ident = Identified.objects.create(name="uuid target")
    assert Decision.objects.get(pk=_decision(ident).pk).target == ident


@pytest.mark.parametrize("outcome", list(DecisionOutcome))
def test_decision_outcome_choices(order, outcome):
    """Every outcome is stored and read back."""
    decision = _decision(order, outcome=outcome)
    assert Decision.objects.get(pk=decision.pk).outcome == outcome
    assert len(DecisionOutcome.choices) == 5


def test_decision_decided_by_optional(order, user):
    """decided_by may be empty; deleting the user empties it."""
    assert _decision(order).decided_by is None
    decision = _decision(order, decided_by=user)
    assert Decision.objects.get(pk=decision.pk).decided_by == user
    user.delete()
    assert Decision.objects.get(pk=decision.pk).decided_by is None


def test_decision_context_json(order):
    """context stores JSON and can be queried by key."""
    decision = _decision(order, context={"credit_score": 720, "flags": ["new"]})
    assert Decision.objects.get(pk=decision.pk).context == {"credit_score": 720, "flags": ["new"]}
    assert Decision.objects.filter(context__credit_score=720).count() == 1


def test_decision_evidence_json(order):
    """evidence stores JSON and can be queried by key."""
    decision = _decision(order, evidence={"report_id": "CR-123"})
    assert Decision.objects.get(pk=decision.pk).evidence == {"report_id": "CR-123"}
    assert Decision.objects.filter(evidence__report_id="CR-123").exists()


def test_decision_soft_delete(order):
    """delete() hides the decision from objects and keeps it in all_objects."""
    decision = _decision(order)
    decision.delete()
    assert not Decision.objects.filter(pk=decision.pk).exists()
    assert Decision.all_objects.get(pk=decision.pk).is_deleted
    decision.restore()
    assert Decision.objects.filter(pk=decision.pk).exists()


def test_decision_ordering(order):
    """Decisions list newest effective_at first."""
    now = timezone.now()
    old = _decision(order, effective_at=now - timedelta(days=2))
    new = _decision(order, effective_at=now)
    mid = _decision(order, effective_at=now - timedelta(days=1))
    assert list(Decision.objects.all()) == [new, mid, old]


# Decision: additions


def test_decision_context_accepts_python_values(order):
    """Decimal, datetime and UUID in context are stored as JSON strings, not refused."""
    when = timezone.now()
    token = uuid.uuid4()
    decision = _decision(order, context={"amount": Decimal("10.50"), "at": when, "id": token})
    stored = Decision.objects.get(pk=decision.pk).context
    assert stored["amount"] == "10.50"
    assert stored["id"] == str(token)
    assert stored["at"].startswith(when.date().isoformat())


def test_decision_without_target_writes_nothing():
    """A decision with no target is refused by the database."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.create(decision_type="x")
    assert Decision.all_objects.count() == 0


@pytest.mark.parametrize("target_id", [None, ""])
def test_decision_without_target_id_writes_nothing(target_id):
    """A missing target id is refused, never saved as '' or the text 'None'."""
    content_type = ContentType.objects.get_for_model(Order)
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.create(
            decision_type="x", target_content_type=content_type, target_id=target_id
        )
    assert Decision.all_objects.count() == 0


def test_decision_recorded_at_cannot_be_bulk_updated(order):
    """Decision.objects.update(recorded_at=...) raises and changes nothing."""
    decision = _decision(order)
    before = Decision.objects.get(pk=decision.pk).recorded_at
    with pytest.raises(RecordedAtReadOnlyError, match=RECORDED_AT_READ_ONLY):
        Decision.objects.update(recorded_at=timezone.now() - timedelta(days=1))
    with pytest.raises(RecordedAtReadOnlyError):
        Decision.all_objects.filter(pk=decision.pk).update(recorded_at=before)
    assert Decision.objects.get(pk=decision.pk).recorded_at == before


def test_decision_managers_have_time_verbs(order):
    """objects (live rows) and all_objects both offer as_of / effective_between."""
    now = timezone.now()
    old = _decision(order, effective_at=now - timedelta(days=3))
    gone = _decision(order, effective_at=now - timedelta(days=2))
    gone.delete()
    assert list(Decision.objects.as_of(now - timedelta(days=1))) == [old]
    window = Decision.all_objects.effective_between(now - timedelta(days=4), now)
    assert set(window) == {old, gone}


@pytest.mark.parametrize("model", [Decision, IdempotencyKey], ids=lambda m: m.__name__)
def test_every_field_has_help_text(model):
    """Every concrete field explains itself in the admin."""
    missing = [f.name for f in model._meta.concrete_fields if not f.help_text]
    assert missing == []


# Review fields and history


def test_decision_review_permissions_and_decided_at(user):
    """Decision declares the review permissions; decided_at starts empty."""
    decision = _decision(user)
    assert decision.decided_at is None
    codenames = {codename for codename, _ in Decision._meta.permissions}
    assert codenames == {"approve_decision", "escalate_decision", "decide_escalated_decision"}


def test_decision_transition_must_change_the_outcome(user):
    """The database refuses a history row whose outcome does not change."""
    decision = _decision(user)
    with pytest.raises(IntegrityError), transaction.atomic():
        DecisionTransition.objects.create(
            decision=decision,
            action="approve",
            from_outcome="pending",
            to_outcome="pending",
            by_username="alice",
            at=timezone.now(),
        )


def test_decision_transition_str_and_history_index(user):
    """A history row reads as who did what; (decision, at, id) is indexed."""
    step = DecisionTransition(
        action="escalate", from_outcome="pending", to_outcome="escalated", by_username="alice"
    )
    assert str(step) == "alice escalate: pending -> escalated"
    assert ["decision_id", "at", "id"] in _index_columns(DecisionTransition._meta.db_table)


def test_decision_transition_reason_limit_in_full_clean(user):
    """full_clean refuses a history reason over REASON_MAX_LENGTH."""
    from django.core.exceptions import ValidationError

    step = DecisionTransition(
        decision=_decision(user),
        action="reject",
        from_outcome="pending",
        to_outcome="rejected",
        by_username="alice",
        reason="x" * (REASON_MAX_LENGTH + 1),
        at=timezone.now(),
    )
    with pytest.raises(ValidationError) as info:
        step.full_clean()
    assert set(info.value.message_dict) == {"reason"}
