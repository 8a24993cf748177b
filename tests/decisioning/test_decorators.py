"""@idempotent: the spec's twelve tests, then races, staleness, atomicity, results, expiry."""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from decisioning import (
    DuplicateOperationError,
    IdempotencyError,
    OperationInFlightError,
    idempotent,
)
from decisioning.conf import DEFAULT_STALE_AFTER
from decisioning.exceptions import (
    KEY_MISSING,
    PARAMETERS_MISMATCH,
    ClaimLostError,
    IdempotencyParametersMismatchError,
    InvalidIdempotencyKeyError,
    ResultNotStorableError,
)
from decisioning.idempotency import idempotency_key_claim
from decisioning.models import IdempotencyKey, IdempotencyStatus
from tests.decisioning import long_body
from tests.subprocess_report import run_for_report
from tests.testapp.models import Order


class Boom(Exception):
    """The failure the test functions raise."""


@dataclass(frozen=True)
class Quote:
    sku: str
    price: Decimal


def _key(name: str) -> IdempotencyKey:
    return IdempotencyKey.objects.get(key=name)


@pytest.fixture
def calls() -> list:
    return []


@pytest.fixture
def place_order(calls):
    """An idempotent function that writes an Order and returns it."""

    @idempotent(key_func=lambda number, **kw: f"place_order:{number}")
    def place_order(number: str, total: str = "1.00") -> Order:
        calls.append(number)
        return Order.objects.create(number=number, total=Decimal(total))

    return place_order


# The spec's twelve


@pytest.mark.django_db
def test_first_call_executes_function(place_order, calls):
    """The first call runs the function and returns its own result."""
    order = place_order("A-1")
    assert calls == ["A-1"]
    assert isinstance(order, Order)
    assert Order.objects.get().pk == order.pk
    assert _key("place_order:A-1").status == IdempotencyStatus.COMPLETED


@pytest.mark.django_db
def test_second_call_returns_cached(place_order, calls):
    """The second call does not run the function and returns the stored result."""
    first = place_order("A-1")
    second = place_order("A-1")
    assert calls == ["A-1"]
    assert second == first
    assert Order.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "second"),
    [
        ((("A-1",), {}), (("A-1",), {"total": "999"})),
        ((("A-1",), {"total": "2.00"}), (("A-1",), {"total": "2.000"})),
        ((("A-1",), {"total": "1.00"}), (("A-1",), {})),
    ],
)
def test_same_key_other_arguments_raises_mismatch(place_order, calls, first, second):
    """A repeat of a key with other arguments is refused, not answered with the first result."""
    place_order(*first[0], **first[1])
    with pytest.raises(IdempotencyParametersMismatchError) as info:
        place_order(*second[0], **second[1])
    assert info.value.key == "place_order:A-1"
    assert isinstance(info.value, IdempotencyError)
    assert str(info.value) == PARAMETERS_MISMATCH.format(key="place_order:A-1")
    assert calls == ["A-1"]
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_same_key_other_arguments_while_in_flight_raises_mismatch(calls):
    """The mismatch is reported before the in-flight refusal."""

    @idempotent(key_func=lambda amount: "pay")
    def pay(amount: int) -> int:
        with pytest.raises(IdempotencyParametersMismatchError):
            pay(amount + 1)
        with pytest.raises(OperationInFlightError):
            pay(amount)
        return amount

    assert pay(5) == 5
    assert pay(5) == 5


@pytest.mark.django_db
def test_failed_key_retried_with_other_arguments_runs(calls):
    """A failed attempt leaves nothing to protect: other arguments may retry it."""
    attempts: list[int] = []

    @idempotent(key_func=lambda n: "retry-other")
    def flaky(n: int) -> int:
        attempts.append(n)
        if n == 1:
            raise Boom("no")
        return n

    with pytest.raises(Boom):
        flaky(1)
    assert flaky(2) == 2
    assert _key("retry-other").fingerprint != ""
    assert attempts == [1, 2]


@pytest.mark.django_db
def test_dict_result_is_stored_as_itself():
    """A dict result is result_data itself, and the replay returns an equal dict."""

    @idempotent(key_func=lambda: "dict-result")
    def summary() -> dict:
        return {"value": 1, "price": Decimal("2.50"), "items": [1, 2]}

    first = summary()
    key = _key("dict-result")
    assert key.result_data == {
        "value": 1,
        "price": {"__kind__": "decimal", "v": "2.50"},
        "items": [1, 2],
    }
    assert key.result_type == "builtins.dict"
    assert summary() == first


@pytest.mark.django_db
def test_in_flight_raises_error(place_order, calls):
    """A key another attempt holds raises OperationInFlightError, also re-entrantly."""
    started = timezone.now()
    IdempotencyKey.objects.create(key="place_order:A-1", started_at=started)
    with pytest.raises(OperationInFlightError) as info:
        place_order("A-1")
    assert (info.value.key, info.value.started_at) == ("place_order:A-1", started)
    assert calls == []
    seen = []

    @idempotent()
    def reenter(number):
        with pytest.raises(OperationInFlightError) as inner:
            reenter(number)
        seen.append(inner.value.key)
        return "outer"

    assert reenter("x") == "outer"
    assert seen == [f"{__name__}.reenter:x"]


@pytest.mark.django_db
def test_failed_allows_retry(calls):
    """After a failure the next call runs the function again and can complete."""
    attempts = []

    @idempotent(key_func=lambda: "flaky")
    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise Boom("first attempt fails")
        return "ok"

    with pytest.raises(Boom):
        flaky()
    assert _key("flaky").status == IdempotencyStatus.FAILED
    assert flaky() == "ok"
    key = _key("flaky")
    assert (key.status, key.attempts, key.error_message) == (IdempotencyStatus.COMPLETED, 2, "")
    assert len(attempts) == 2


@pytest.mark.django_db
def test_custom_key_func():
    """key_func receives the call's arguments and names the key."""

    @idempotent(key_func=lambda customer, amount, **kw: f"charge:{customer}:{kw['ref']}")
    def charge(customer, amount, *, ref):
        return amount

    assert charge("c1", 5, ref="r1") == 5
    assert charge("c1", 5, ref="r1") == 5
    assert charge("c1", 7, ref="r2") == 7
    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {
        "charge:c1:r1",
        "charge:c1:r2",
    }


@pytest.mark.django_db
def test_default_key_from_args():
    """Without key_func the key is '<module>.<name>:<first positional arg>'."""

    @idempotent()
    def ship(order_id, carrier="dhl"):
        return carrier

    assert ship(42) == "dhl"
    assert ship(42) == "dhl"
    assert IdempotencyKey.objects.get().key == f"{__name__}.ship:42"


@pytest.mark.django_db
def test_raise_on_duplicate_true():
    """With raise_on_duplicate a repeat raises DuplicateOperationError with the result."""

    @idempotent(raise_on_duplicate=True)
    def refund(order_id):
        return {"refunded": Decimal("5.00")}

    assert refund(1) == {"refunded": Decimal("5.00")}
    with pytest.raises(DuplicateOperationError) as info:
        refund(1)
    key = _key(f"{__name__}.refund:1")
    assert info.value.key == key.key
    assert info.value.completed_at == key.completed_at
    assert info.value.result == {"refunded": Decimal("5.00")}
    assert "already completed" in str(info.value)


@pytest.mark.django_db
def test_expires_in_sets_expiry():
    """expires_in sets expires_at that long after the start."""

    @idempotent(expires_in=timedelta(hours=24))
    def job(n):
        return n

    before = timezone.now()
    job(1)
    key = _key(f"{__name__}.job:1")
    assert key.expires_at - key.started_at == timedelta(hours=24)
    assert before + timedelta(hours=24) <= key.expires_at <= timezone.now() + timedelta(hours=24)


@pytest.mark.django_db
def test_result_stored_in_key():
    """A dict result is stored as result_data itself, with its type."""

    @idempotent()
    def total(n):
        return {"sum": n * 2, "items": [n, n]}

    total(21)
    key = _key(f"{__name__}.total:21")
    assert key.result_data == {"sum": 42, "items": [21, 21]}
    assert key.result_type == "builtins.dict"
    assert key.result_id == ""


@pytest.mark.django_db
def test_exception_marks_failed():
    """An exception marks the key failed with its message and propagates unchanged."""

    @idempotent()
    def explode(n):
        raise Boom(f"card {n} declined")

    with pytest.raises(Boom, match="card 7 declined"):
        explode(7)
    key = _key(f"{__name__}.explode:7")
    assert key.status == IdempotencyStatus.FAILED
    assert key.error_message == "Boom: card 7 declined"
    assert key.completed_at is not None


@pytest.mark.django_db
def test_atomic_transaction():
    """The function's writes roll back when it raises, and the failure is still recorded."""

    @idempotent()
    def half_done(number):
        Order.objects.create(number=number)
        raise Boom("after the write")

    with pytest.raises(Boom):
        half_done("A-1")
    assert Order.objects.count() == 0
    assert _key(f"{__name__}.half_done:A-1").status == IdempotencyStatus.FAILED


@pytest.mark.django_db
def test_model_result_stored(place_order):
    """A model result stores its class and pk; the replay is the row re-fetched."""
    order = place_order("A-1")
    key = _key("place_order:A-1")
    assert key.result_type == "tests.testapp.models.Order"
    assert key.result_id == str(order.pk)
    assert key.result_data == {
        "value": {"__kind__": "model", "model": "testapp.order", "pk": str(order.pk)}
    }
    Order.objects.filter(pk=order.pk).update(number="renamed")
    replayed = place_order("A-1")
    assert replayed.pk == order.pk
    assert replayed.number == "renamed"


# Arguments and keys


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(42, id="int"),
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("k" * 256, id="too-long"),
        pytest.param("a\x00b", id="nul"),
    ],
)
@pytest.mark.django_db
def test_bad_key_raises_and_writes_nothing(key, calls):
    """A key that cannot be stored raises InvalidIdempotencyKeyError (a ValueError)."""

    @idempotent(key_func=lambda: key)
    def op():
        calls.append(1)

    with pytest.raises(InvalidIdempotencyKeyError) as info:
        op()
    assert isinstance(info.value, ValueError)
    assert calls == []
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.django_db
def test_hostile_key_is_just_a_key():
    """Quotes, SQL and unicode in a key are stored verbatim; 255 characters fit."""
    hostile = "'; DROP TABLE decisioning_idempotencykey; -- ☃ " + "x" * 200

    @idempotent(key_func=lambda: hostile)
    def op():
        return "done"

    assert op() == "done"
    assert op() == "done"
    assert IdempotencyKey.objects.get().key == hostile


@pytest.mark.django_db
def test_no_key_without_args_raises():
    """No key_func and no positional argument: the spec's ValueError, nothing written."""

    @idempotent()
    def op(**kwargs):
        return kwargs

    with pytest.raises(ValueError, match=KEY_MISSING):
        op(a=1)
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.django_db
def test_key_func_error_propagates_and_writes_nothing():
    """An exception in key_func propagates before anything is written."""

    @idempotent(key_func=lambda order: order["id"])
    def op(order):
        return order

    with pytest.raises(KeyError):
        op({})
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"key_func": "not callable"}, TypeError, id="key_func-str"),
        pytest.param({"expires_in": 3600}, ValueError, id="expires_in-int"),
        pytest.param({"expires_in": timedelta(0)}, ValueError, id="expires_in-zero"),
        pytest.param({"expires_in": -timedelta(days=1)}, ValueError, id="expires_in-negative"),
        pytest.param({"stale_after": timedelta(0)}, ValueError, id="stale_after-zero"),
        pytest.param({"stale_after": "10m"}, ValueError, id="stale_after-str"),
    ],
)
def test_bad_decorator_arguments_raise_at_decoration(kwargs, error):
    """Wrong decorator arguments fail when the function is decorated, not when called."""
    with pytest.raises(error):
        idempotent(**kwargs)


def test_async_function_is_refused():
    """Async functions are refused at decoration with a clear TypeError."""

    async def coro(n):
        return n

    with pytest.raises(TypeError, match="async"):
        idempotent()(coro)


def test_wrapper_keeps_name_and_doc():
    """The decorated function keeps its name and docstring."""

    @idempotent()
    def documented(n):
        """Does a thing."""

    assert documented.__name__ == "documented"
    assert documented.__doc__ == "Does a thing."


# Stale in-flight keys


@pytest.mark.parametrize(
    ("age", "taken_over"),
    [
        (DEFAULT_STALE_AFTER - timedelta(seconds=30), False),
        (DEFAULT_STALE_AFTER, True),
        (DEFAULT_STALE_AFTER + timedelta(minutes=1), True),
    ],
    ids=["fresh", "exactly-stale", "stale"],
)
@pytest.mark.django_db
def test_stale_in_flight_key_is_taken_over_after_default(place_order, calls, age, taken_over):
    """A key in flight for 10 minutes (the default) or more is taken over; younger blocks."""
    IdempotencyKey.objects.create(key="place_order:A-1", started_at=timezone.now() - age)
    if not taken_over:
        with pytest.raises(OperationInFlightError):
            place_order("A-1")
        assert calls == []
        return
    place_order("A-1")
    key = _key("place_order:A-1")
    assert calls == ["A-1"]
    assert (key.status, key.attempts) == (IdempotencyStatus.COMPLETED, 2)


@pytest.mark.django_db
def test_stale_after_argument_and_setting(calls):
    """stale_after= on the decorator wins over DECISIONING_STALE_AFTER, which wins over 10m."""

    @idempotent(key_func=lambda: "quick", stale_after=timedelta(seconds=5))
    def quick():
        calls.append("quick")

    @idempotent(key_func=lambda: "configured")
    def configured():
        calls.append("configured")

    old = timezone.now() - timedelta(seconds=10)
    IdempotencyKey.objects.create(key="quick", started_at=old)
    IdempotencyKey.objects.create(key="configured", started_at=old)
    quick()
    with pytest.raises(OperationInFlightError):
        configured()
    with override_settings(DECISIONING_STALE_AFTER=timedelta(seconds=5)):
        configured()
    assert calls == ["quick", "configured"]


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs a second committing connection (PostgreSQL); the service test covers SQLite",
)
@pytest.mark.django_db(transaction=True)
def test_claim_lost_rolls_back_the_slow_attempt_postgres():
    """If another caller took the key over meanwhile, the slow attempt's writes roll back."""

    def take_over():
        try:
            idempotency_key_claim(
                key="slow",
                stale_after=timedelta(seconds=1),
                now=timezone.now() + timedelta(hours=1),
            )
        finally:
            connection.close()

    @idempotent(key_func=lambda: "slow")
    def slow():
        Order.objects.create(number="slow")
        thread = threading.Thread(target=take_over)
        thread.start()
        thread.join()
        return "late"

    with pytest.raises(ClaimLostError, match="taken over"):
        slow()
    key = _key("slow")
    assert Order.objects.count() == 0
    assert (key.status, key.attempts) == (IdempotencyStatus.IN_FLIGHT, 2)


# Expiry


@pytest.mark.django_db
def test_completed_key_replays_until_expiry_then_runs_again(calls):
    """A completed key replays before expires_at and runs again after it."""

    @idempotent(key_func=lambda: "daily", expires_in=timedelta(hours=1))
    def daily():
        calls.append(1)
        return len(calls)

    assert daily() == 1
    assert daily() == 1
    IdempotencyKey.objects.filter(key="daily").update(expires_at=timezone.now())
    assert daily() == 2
    key = _key("daily")
    assert (key.attempts, key.status) == (2, IdempotencyStatus.COMPLETED)
    assert key.expires_at > timezone.now()


@pytest.mark.django_db
@override_settings(DECISIONING_DEFAULT_EXPIRES_IN=timedelta(minutes=5))
def test_default_expiry_from_setting():
    """Without expires_in, DECISIONING_DEFAULT_EXPIRES_IN sets expires_at."""

    @idempotent(key_func=lambda: "k")
    def op():
        return 1

    op()
    key = _key("k")
    assert key.expires_at - key.started_at == timedelta(minutes=5)


@pytest.mark.django_db
def test_no_expiry_by_default():
    """Without expires_in or the setting, a completed key never expires."""

    @idempotent(key_func=lambda: "k")
    def op():
        return 1

    op()
    assert _key("k").expires_at is None


# Results: what a replay returns

ZONE = ZoneInfo("Europe/Berlin")
REPLAYABLE = [
    pytest.param(None, id="none"),
    pytest.param(True, id="bool"),
    pytest.param(0, id="zero"),
    pytest.param(-(2**70), id="big-int"),
    pytest.param(1.25, id="float"),
    pytest.param("", id="empty-str"),
    pytest.param("ünïcode <b>", id="str"),
    pytest.param([1, "a", None], id="list"),
    pytest.param((1, "a", (2, 3)), id="tuple"),
    pytest.param({"a": 1, "b": [True]}, id="dict"),
    pytest.param({"value": 5}, id="dict-with-value-key"),
    pytest.param({"__kind__": "decimal", "v": "1"}, id="dict-with-tag-key"),
    pytest.param(Decimal("12.50"), id="decimal"),
    pytest.param(Decimal("-0.000000001"), id="decimal-tiny"),
    pytest.param(datetime(2030, 5, 1, 12, 30, 15, 123456, tzinfo=UTC), id="datetime-utc"),
    pytest.param(datetime(2030, 5, 1, 12, 30, tzinfo=ZONE), id="datetime-zone"),
    pytest.param(date(2030, 5, 1), id="date"),
    pytest.param(datetime(2030, 5, 1, 12, tzinfo=UTC).time(), id="time"),
    pytest.param(timedelta(days=-1, seconds=5, microseconds=7), id="timedelta"),
    pytest.param(uuid.UUID("12345678-1234-5678-1234-567812345678"), id="uuid"),
    pytest.param(float("inf"), id="inf"),
    pytest.param(
        {"total": Decimal("3.10"), "at": date(2030, 1, 1), "ids": [uuid.UUID(int=1)]},
        id="nested",
    ),
]


@pytest.mark.parametrize("value", REPLAYABLE)
@pytest.mark.django_db
def test_replay_returns_an_equal_value_of_the_same_type(value):
    """Each documented kind replays equal to the original and of the same type."""

    @idempotent(key_func=lambda: "k")
    def op():
        return value

    assert op() is value
    replayed = op()
    assert replayed == value
    assert type(replayed) is type(value)


@pytest.mark.django_db
def test_replay_nan():
    """NaN (not valid JSON) is stored tagged and replays as NaN."""

    @idempotent(key_func=lambda: "k")
    def op():
        return float("nan")

    op()
    assert math.isnan(op())


@pytest.mark.django_db
def test_replay_dataclass_is_a_dict():
    """A dataclass result replays as the dict of its fields, with types restored."""

    @idempotent(key_func=lambda: "k")
    def op():
        return Quote(sku="S-1", price=Decimal("4.20"))

    assert op() == Quote(sku="S-1", price=Decimal("4.20"))
    assert op() == {"sku": "S-1", "price": Decimal("4.20")}


@pytest.mark.django_db
def test_replay_list_of_models_one_query_per_model(django_assert_num_queries):
    """A list of instances replays re-fetched in order, one query; a deleted row is None."""
    orders = [Order.objects.create(number=str(i)) for i in range(3)]

    @idempotent(key_func=lambda: "k")
    def op():
        return [orders[2], orders[0], orders[1]]

    op()
    orders[1].delete()
    key = _key("k")
    with django_assert_num_queries(1):
        replayed = key.replay_result()
    assert replayed == [orders[2], orders[0], None]


@pytest.mark.django_db
def test_replay_deleted_model_is_none(place_order):
    """A model result whose row is gone replays as None."""
    order = place_order("A-1")
    Order.objects.filter(pk=order.pk).delete()
    assert place_order("A-1") is None


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({1, 2}, id="set"),
        pytest.param(object(), id="object"),
        pytest.param({1: "x"}, id="int-key"),
        pytest.param(lambda: 1, id="function"),
    ],
)
@pytest.mark.django_db
def test_unstorable_result_rolls_back_and_fails_the_key(value):
    """A result with no storage rule raises; the function's writes roll back; key failed."""

    @idempotent(key_func=lambda: "k")
    def op():
        Order.objects.create(number="written")
        return value

    with pytest.raises(ResultNotStorableError):
        op()
    assert Order.objects.count() == 0
    key = _key("k")
    assert key.status == IdempotencyStatus.FAILED
    assert key.error_message.startswith("ResultNotStorableError:")


@pytest.mark.django_db
def test_unsaved_model_result_is_refused():
    """An unsaved instance cannot be replayed, so it is refused with a clear message."""

    @idempotent(key_func=lambda: "k")
    def op():
        return Order(number="never saved")

    with pytest.raises(ResultNotStorableError, match="save it before returning it"):
        op()


@pytest.mark.django_db
def test_huge_deep_result_is_refused():
    """A result nested beyond the depth limit is refused, not a RecursionError."""
    deep: list = []
    for _ in range(200):
        deep = [deep]

    @idempotent(key_func=lambda: "k")
    def op():
        return deep

    with pytest.raises(ResultNotStorableError, match="nested"):
        op()


# Transactions


@pytest.mark.django_db
def test_system_exit_also_marks_failed():
    """A BaseException (SystemExit) rolls back and marks the key failed too."""

    @idempotent(key_func=lambda: "k")
    def op():
        Order.objects.create(number="x")
        raise SystemExit(3)

    with pytest.raises(SystemExit):
        op()
    assert Order.objects.count() == 0
    assert _key("k").status == IdempotencyStatus.FAILED


@pytest.mark.django_db
def test_inside_outer_transaction_failure_is_recorded_in_it():
    """Inside an outer atomic block the failure is recorded in that transaction."""

    @idempotent(key_func=lambda: "k")
    def op():
        Order.objects.create(number="x")
        raise Boom

    with transaction.atomic():
        Order.objects.create(number="outer")
        with pytest.raises(Boom):
            op()
        assert _key("k").status == IdempotencyStatus.FAILED
    assert list(Order.objects.values_list("number", flat=True)) == ["outer"]


@pytest.mark.django_db
def test_outer_rollback_removes_the_key_too(place_order, calls):
    """If the outer transaction rolls back, the key goes with it and the call can run again."""

    def outer():
        with transaction.atomic():
            place_order("A-1")
            raise Boom

    with pytest.raises(Boom):
        outer()
    assert not IdempotencyKey.objects.exists()
    assert not Order.objects.exists()
    place_order("A-1")
    assert calls == ["A-1", "A-1"]


@pytest.mark.django_db(transaction=True)
def test_commits_are_real_without_a_test_transaction(place_order):
    """With real commits: success commits writes and key together; failure keeps FAILED."""

    @idempotent(key_func=lambda: "broken")
    def broken():
        Order.objects.create(number="lost")
        raise Boom

    order = place_order("A-1")
    with pytest.raises(Boom):
        broken()
    assert list(Order.objects.all()) == [order]
    assert _key("place_order:A-1").status == IdempotencyStatus.COMPLETED
    assert _key("broken").status == IdempotencyStatus.FAILED


# Races


def _initial_state(state: str, key: str) -> None:
    now = timezone.now()
    if state == "failed":
        IdempotencyKey.objects.create(key=key, status=IdempotencyStatus.FAILED, completed_at=now)
    elif state == "stale":
        IdempotencyKey.objects.create(key=key, started_at=now - timedelta(hours=1))
    elif state == "expired":
        IdempotencyKey.objects.create(
            key=key, status=IdempotencyStatus.COMPLETED, completed_at=now, expires_at=now
        )


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL); the SQLite race runs in a subprocess below",
)
@pytest.mark.parametrize("state", ["new", "failed", "stale", "expired"])
@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_run_the_body_once_postgres(state):
    """Eight threads call one key at once: the body runs once; the rest replay or are refused."""
    threads = 8
    key_name = f"race:{state}"
    _initial_state(state, key_name)
    barrier = threading.Barrier(threads)
    bodies = []
    lock = threading.Lock()

    @idempotent(key_func=lambda number: key_name)
    def place(number):
        with lock:
            bodies.append(number)
        time.sleep(0.2)
        return Order.objects.create(number=number)

    def worker(i):
        try:
            barrier.wait()
            try:
                return "result", place("T-1").pk
            except OperationInFlightError:
                return "in_flight", None
        finally:
            connection.close()

    with ThreadPoolExecutor(threads) as pool:
        outcomes = [f.result() for f in [pool.submit(worker, i) for i in range(threads)]]

    assert len(bodies) == 1
    order = Order.objects.get()
    assert order.number == bodies[0]
    assert {pk for kind, pk in outcomes if kind == "result"} == {order.pk}
    assert {kind for kind, _ in outcomes} <= {"result", "in_flight"}
    key = _key(key_name)
    assert key.status == IdempotencyStatus.COMPLETED
    assert key.attempts == (1 if state == "new" else 2)
    assert place("T-1") == order


def test_concurrent_callers_run_the_body_once_sqlite_file(tmp_path):
    """The same race on a SQLite file (WAL, IMMEDIATE): writers queue, the body runs once."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    report = run_for_report(
        ["-m", "tests.decisioning.sqlite_race", str(tmp_path / "race.sqlite3")], env=env
    )
    assert report["bodies"] == 1
    assert len(report["orders"]) == 1
    assert {kind for kind, _ in report["outcomes"]} <= {"result", "in_flight"}
    assert {pk for kind, pk in report["outcomes"] if kind == "result"} == set(report["orders"])
    assert (report["status"], report["attempts"]) == ("completed", 1)


def test_idempotency_error_is_the_root_for_key_errors():
    """Every idempotency failure can be caught as IdempotencyError."""
    for error in (OperationInFlightError, DuplicateOperationError, ClaimLostError):
        assert issubclass(error, IdempotencyError)
    assert issubclass(InvalidIdempotencyKeyError, IdempotencyError)
    assert issubclass(ResultNotStorableError, IdempotencyError)


def test_long_body_same_key_refused_at_once_sqlite_file(tmp_path):
    """SQLite file: a same-key caller is refused at once; other writers wait for the body."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    report = run_for_report(
        ["-m", "tests.decisioning.long_body", str(tmp_path / "long.sqlite3")], env=env
    )
    assert report["same_key"] == "in_flight"
    assert report["same_key_seconds"] < 0.5
    # What remains different on SQLite: one write lock for the whole database.
    assert report["other_writer"] == "written"
    assert report["other_writer_seconds"] > report["body_seconds"] / 2
    assert report["status"] == "completed"
    assert report["orders"] == ["L-1", "other"]


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL); the SQLite file runs in the test above",
)
@pytest.mark.django_db(transaction=True)
def test_long_body_blocks_nobody_postgres():
    """PostgreSQL: during a long body a same-key caller is refused and other writers pass."""
    report = long_body.run()
    assert report["same_key"] == "in_flight"
    assert report["same_key_seconds"] < 0.5
    assert report["other_writer"] == "written"
    assert report["other_writer_seconds"] < 0.5
    assert report["status"] == "completed"
    assert report["orders"] == ["L-1", "other"]
