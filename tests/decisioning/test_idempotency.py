"""Idempotency key services: claim, complete, fail and cleanup, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from decisioning.exceptions import (
    ClaimLostError,
    IdempotencyParametersMismatchError,
    InvalidIdempotencyKeyError,
    OperationInFlightError,
    ResultNotStorableError,
)
from decisioning.idempotency import (
    CleanupCounts,
    call_fingerprint,
    idempotency_key_claim,
    idempotency_key_complete,
    idempotency_key_fail,
    idempotency_keys_cleanup,
)
from decisioning.models import Decision, IdempotencyKey, IdempotencyStatus
from tests.testapp.models import Order

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 6, 1, 12, tzinfo=UTC)
STALE = timedelta(minutes=10)
DONE = IdempotencyStatus.COMPLETED
FAILED = IdempotencyStatus.FAILED
IN_FLIGHT = IdempotencyStatus.IN_FLIGHT


def _claim(key="k", now=NOW, **kwargs):
    return idempotency_key_claim(key=key, stale_after=STALE, now=now, **kwargs)


def test_claim_new_key_inserts_in_flight():
    """A new key is inserted in flight, owned by attempt 1, started at now."""
    claim = _claim(expires_in=timedelta(hours=1))
    record = IdempotencyKey.objects.get(key="k")
    assert claim.acquired
    assert claim.attempt == 1
    assert (record.status, record.started_at) == (IdempotencyStatus.IN_FLIGHT, NOW)
    assert record.expires_at == NOW + timedelta(hours=1)


def test_claim_completed_key_replays_without_writing():
    """A completed, unexpired key is returned for replay and left unchanged."""
    _claim()
    IdempotencyKey.objects.filter(key="k").update(status=DONE, expires_at=NOW + STALE)
    claim = _claim(now=NOW + timedelta(minutes=5))
    assert not claim.acquired
    assert claim.record.status == DONE
    assert IdempotencyKey.objects.get().attempts == 1


@pytest.mark.parametrize(
    ("status", "started_ago", "expires_in", "acquired"),
    [
        pytest.param(
            IdempotencyStatus.IN_FLIGHT, STALE - timedelta(seconds=1), None, None, id="fresh"
        ),
        pytest.param(IdempotencyStatus.IN_FLIGHT, STALE, None, True, id="stale"),
        pytest.param(FAILED, timedelta(0), None, True, id="failed"),
        pytest.param(DONE, timedelta(0), timedelta(0), True, id="expired-at-now"),
        pytest.param(DONE, timedelta(0), timedelta(seconds=1), False, id="not-yet-expired"),
        pytest.param(DONE, timedelta(days=999), None, False, id="never-expires"),
    ],
)
def test_claim_existing_key_by_state(status, started_ago, expires_in, acquired):
    """Under the row lock: replay, refuse (None) or take over, by status, age and expiry."""
    IdempotencyKey.objects.create(
        key="k",
        status=status,
        started_at=NOW - started_ago,
        expires_at=None if expires_in is None else NOW + expires_in,
        error_message="old failure",
    )
    if acquired is None:
        with pytest.raises(OperationInFlightError):
            _claim()
        return
    claim = _claim()
    record = IdempotencyKey.objects.get()
    assert claim.acquired is acquired
    if acquired:
        assert (record.status, record.attempts, record.started_at) == (
            IdempotencyStatus.IN_FLIGHT,
            2,
            NOW,
        )
        assert record.error_message == ""
        assert record.completed_at is None


@pytest.mark.parametrize(
    ("status", "started_ago", "raises"),
    [
        (DONE, timedelta(0), IdempotencyParametersMismatchError),
        (IN_FLIGHT, timedelta(minutes=1), IdempotencyParametersMismatchError),
        (FAILED, timedelta(0), None),
        (IN_FLIGHT, timedelta(hours=1), None),
    ],
)
def test_claim_with_other_fingerprint(status, started_ago, raises):
    """A live key first claimed for another request is refused; a dead one is taken over."""
    _claim(fingerprint="a" * 64)
    IdempotencyKey.objects.filter(key="k").update(status=status, started_at=NOW - started_ago)
    if raises is not None:
        with pytest.raises(raises):
            _claim(fingerprint="b" * 64)
        assert IdempotencyKey.objects.get().fingerprint == "a" * 64
    else:
        assert _claim(fingerprint="b" * 64).acquired
        assert IdempotencyKey.objects.get().fingerprint == "b" * 64


def test_claim_without_fingerprint_matches_any():
    """Keys claimed without a fingerprint (older rows, decision tokens) are not compared."""
    _claim()
    IdempotencyKey.objects.filter(key="k").update(status=DONE)
    assert not _claim(fingerprint="b" * 64).acquired


def test_claim_of_a_completed_key_reads_without_writing(django_assert_num_queries):
    """The unlocked read answers a replay in one query, without the write transaction."""
    _claim()
    IdempotencyKey.objects.filter(key="k").update(status=DONE)
    with django_assert_num_queries(1):
        assert not _claim().acquired


def test_call_fingerprint_is_stable_and_tells_calls_apart():
    """Equal arguments give the same digest; other values or types do not."""
    assert call_fingerprint("f", [1, Decimal("2.50")], {"a": None}) == call_fingerprint(
        "f", [1, Decimal("2.50")], {"a": None}
    )
    assert call_fingerprint("f", [1]) != call_fingerprint("f", ["1"])
    assert call_fingerprint("f", [object]) == call_fingerprint("f", [object])
    assert len(call_fingerprint()) == 64


@pytest.mark.parametrize("key", [None, 7, b"bytes", "", "\t", "x" * 256, "nul\x00"])
def test_claim_bad_key_writes_nothing(key):
    """An unstorable key raises before anything is written."""
    with pytest.raises(InvalidIdempotencyKeyError):
        idempotency_key_claim(key=key, stale_after=STALE)
    assert IdempotencyKey.objects.count() == 0


def test_complete_stores_result_for_owner():
    """The owning attempt completes the key with its encoded result."""
    claim = _claim()
    order = Order.objects.create(number="1")
    idempotency_key_complete(claim=claim, result=order, now=NOW)
    record = IdempotencyKey.objects.get()
    assert (record.status, record.completed_at, record.result_id) == (DONE, NOW, str(order.pk))
    assert record.replay_result() == order


def test_complete_after_takeover_raises_claim_lost():
    """An attempt whose key was taken over as stale cannot complete it."""
    first = _claim()
    second = _claim(now=NOW + STALE)
    with pytest.raises(ClaimLostError):
        idempotency_key_complete(claim=first, result="late")
    idempotency_key_complete(claim=second, result="on time")
    assert IdempotencyKey.objects.get().replay_result() == "on time"


def test_complete_unstorable_result_writes_nothing():
    """An unstorable result raises and the key stays in flight."""
    claim = _claim()
    with pytest.raises(ResultNotStorableError):
        idempotency_key_complete(claim=claim, result={1, 2})
    assert IdempotencyKey.objects.get().status == IdempotencyStatus.IN_FLIGHT


def test_fail_only_for_owner_and_cuts_message():
    """fail marks the owner's attempt failed (message cut); a lost claim changes nothing."""
    first = _claim()
    second = _claim(now=NOW + STALE)
    assert idempotency_key_fail(claim=first, error_message="late") is False
    assert idempotency_key_fail(claim=second, error_message="x" * 10_000, now=NOW) is True
    record = IdempotencyKey.objects.get()
    assert (record.status, record.attempts, len(record.error_message)) == (FAILED, 2, 4000)


def _key(name, status, *, started_ago=timedelta(0), finished_ago=None, expires_in=None):
    return IdempotencyKey.objects.create(
        key=name,
        status=status,
        started_at=NOW - started_ago,
        completed_at=None if finished_ago is None else NOW - finished_ago,
        expires_at=None if expires_in is None else NOW + expires_in,
    )


@pytest.fixture
def keys():
    """One key per cleanup case."""
    day = timedelta(days=1)
    return {
        "expired": _key("expired", DONE, finished_ago=day, expires_in=-timedelta(seconds=1)),
        "expired_failed": _key("expired_failed", FAILED, finished_ago=day, expires_in=timedelta(0)),
        "live": _key("live", DONE, finished_ago=day, expires_in=day),
        "old_done": _key("old_done", DONE, finished_ago=10 * day),
        "old_failed": _key("old_failed", FAILED, finished_ago=10 * day),
        "recent": _key("recent", DONE, finished_ago=day),
        "running": _key("running", IdempotencyStatus.IN_FLIGHT, expires_in=-day),
        "abandoned": _key("abandoned", IdempotencyStatus.IN_FLIGHT, started_ago=10 * day),
    }


def _left() -> set[str]:
    return set(IdempotencyKey.objects.values_list("key", flat=True))


def test_cleanup_deletes_only_expired_finished_keys(keys):
    """Without older_than only finished keys past expires_at go; in flight never."""
    counts = idempotency_keys_cleanup(now=NOW)
    assert counts == CleanupCounts(expired=2, finished_before=0, abandoned=0)
    assert _left() == set(keys) - {"expired", "expired_failed"}


def test_cleanup_older_than_also_deletes_old_and_abandoned(keys):
    """older_than adds finished keys and in-flight keys that old, counting each once."""
    counts = idempotency_keys_cleanup(now=NOW, older_than=timedelta(days=7))
    assert counts == CleanupCounts(expired=2, finished_before=2, abandoned=1)
    assert counts.total == 5
    assert _left() == {"live", "recent", "running"}


def test_cleanup_dry_run_counts_and_keeps_everything(keys):
    """dry_run reports the same counts and deletes nothing."""
    counts = idempotency_keys_cleanup(now=NOW, older_than=timedelta(days=7), dry_run=True)
    assert counts.total == 5
    assert _left() == set(keys)


def test_cleanup_unlinks_decisions(keys):
    """A decision made by a deleted key keeps existing, without the link."""
    order = Order.objects.create(number="1")
    decision = Decision.objects.create(
        target=order, decision_type="t", idempotency_key=keys["expired"]
    )
    idempotency_keys_cleanup(now=NOW)
    decision.refresh_from_db()
    assert decision.idempotency_key is None


def test_cleanup_deletes_in_batches():
    """More rows than one batch are all deleted."""
    for i in range(5):
        _key(f"e{i}", DONE, finished_ago=timedelta(days=1), expires_in=-timedelta(hours=1))
    assert idempotency_keys_cleanup(now=NOW, batch_size=2).expired == 5
    assert not IdempotencyKey.objects.exists()
