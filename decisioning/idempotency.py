"""Writes for idempotency keys: claim, complete, fail, clean up.

Claiming is one atomic step that rests on the unique constraint on ``key``:
the caller inserts the row inside a savepoint, and an ``IntegrityError`` means
someone else has it. The existing row is then read ``select_for_update()``
(a row lock on PostgreSQL; SQLite's ``IMMEDIATE`` transactions already hold
the database's write lock), and under that lock the caller either replays a
completed result, is refused because another attempt is in flight, or takes
the key over (failed, expired, or in flight for longer than ``stale_after``).

Completing and failing only touch the row if it still belongs to this attempt
(same ``attempts`` number, still in flight), so a caller whose key was taken
over as stale can neither overwrite the new attempt nor record its result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from decisioning.exceptions import (
    CLAIM_CONTENDED,
    KEY_EMPTY,
    KEY_HAS_NUL,
    KEY_NOT_STRING,
    KEY_TOO_LONG,
    ClaimLostError,
    IdempotencyError,
    IdempotencyParametersMismatchError,
    InvalidIdempotencyKeyError,
    OperationInFlightError,
    ResultNotStorableError,
)
from decisioning.models import ERROR_MESSAGE_LIMIT, IdempotencyKey, IdempotencyStatus
from decisioning.results import encode_result

__all__ = [
    "CleanupCounts",
    "IdempotencyClaim",
    "call_fingerprint",
    "idempotency_key_claim",
    "idempotency_key_complete",
    "idempotency_key_fail",
    "idempotency_key_owned",
    "idempotency_keys_cleanup",
    "validate_idempotency_key",
]

KEY_MAX_LENGTH: int = IdempotencyKey._meta.get_field("key").max_length or 255
CLEANUP_BATCH_SIZE = 1000


@dataclass(frozen=True)
class IdempotencyClaim:
    """The outcome of a claim: either this caller owns the attempt, or it replays.

    ``acquired`` is True when the caller must run the operation; ``attempt`` is
    the ``attempts`` number it owns. False means ``record`` is completed and
    still replayable.
    """

    record: IdempotencyKey
    acquired: bool
    attempt: int


@dataclass(frozen=True)
class CleanupCounts:
    """How many keys ``idempotency_keys_cleanup`` found in each group."""

    expired: int
    finished_before: int
    abandoned: int

    @property
    def total(self) -> int:
        return self.expired + self.finished_before + self.abandoned


def validate_idempotency_key(key: object) -> str:
    """Return ``key`` if it can be stored, else raise ``InvalidIdempotencyKeyError``."""
    if not isinstance(key, str):
        raise InvalidIdempotencyKeyError(KEY_NOT_STRING.format(type_name=type(key).__name__))
    if not key.strip():
        raise InvalidIdempotencyKeyError(KEY_EMPTY)
    if len(key) > KEY_MAX_LENGTH:
        raise InvalidIdempotencyKeyError(KEY_TOO_LONG.format(length=len(key), limit=KEY_MAX_LENGTH))
    if "\x00" in key:
        raise InvalidIdempotencyKeyError(KEY_HAS_NUL)
    return key


def call_fingerprint(*parts: object) -> str:
    """A SHA-256 hex digest of ``parts``, stable across processes.

    Values are encoded by the storage rules of ``decisioning.results`` (model
    instances by label and primary key); anything without a rule by its
    ``repr``. Two calls with equal arguments give the same fingerprint.
    """
    payload = json.dumps(
        [_fingerprint_part(part) for part in parts],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _fingerprint_part(value: object) -> Any:
    try:
        return encode_result(value).data
    except ResultNotStorableError:
        return {"__repr__": repr(value)}


def idempotency_key_claim(
    *,
    key: str,
    stale_after: timedelta,
    expires_in: timedelta | None = None,
    now: datetime | None = None,
    fingerprint: str = "",
) -> IdempotencyClaim:
    """Claim ``key`` for one attempt, or find its replayable result.

    The claim is its own short transaction (a savepoint inside an outer one).
    Before it, the key's row is read without a lock: a completed result is
    replayed and a fresh in-flight attempt refused without writing, so on
    SQLite a caller of a busy key does not wait for the database's write lock.

    Args:
        key: the idempotency key (at most 255 characters, no NUL).
        stale_after: an in-flight attempt older than this may be taken over.
        expires_in: how long a completed result replays; None = until cleaned up.
        now: the current time (tests pass a fixed one).
        fingerprint: what identifies the request (``call_fingerprint``); a
            key first claimed with another non-empty fingerprint is refused.

    Returns:
        An ``IdempotencyClaim``; ``acquired`` says whether to run the operation.

    Raises:
        InvalidIdempotencyKeyError: the key cannot be stored; nothing is written.
        IdempotencyParametersMismatchError: the key was claimed for another
            request (completed or in flight); nothing is written.
        OperationInFlightError: another attempt is in flight and not yet stale.
    """
    validate_idempotency_key(key)
    now = now or timezone.now()
    seen = IdempotencyKey.objects.filter(key=key).first()
    if seen is not None:
        claim = _claim_without_writing(
            seen, now=now, stale_after=stale_after, fingerprint=fingerprint
        )
        if claim is not None:
            return claim
    return _claim_locked(
        key=key, now=now, stale_after=stale_after, expires_in=expires_in, fingerprint=fingerprint
    )


def _claim_without_writing(
    record: IdempotencyKey, *, now: datetime, stale_after: timedelta, fingerprint: str
) -> IdempotencyClaim | None:
    if record.status == IdempotencyStatus.FAILED or not _is_live(record, now, stale_after):
        return None
    _check_fingerprint(record, fingerprint)
    if record.status == IdempotencyStatus.COMPLETED:
        return IdempotencyClaim(record=record, acquired=False, attempt=record.attempts)
    raise OperationInFlightError(record.key, record.started_at)


def _is_live(record: IdempotencyKey, now: datetime, stale_after: timedelta) -> bool:
    """A completed result that still replays, or an attempt in flight and not stale."""
    if record.status == IdempotencyStatus.COMPLETED:
        return record.expires_at is None or record.expires_at > now
    if record.status == IdempotencyStatus.IN_FLIGHT:
        return record.started_at > now - stale_after
    return False


def _check_fingerprint(record: IdempotencyKey, fingerprint: str) -> None:
    if record.fingerprint and fingerprint and record.fingerprint != fingerprint:
        raise IdempotencyParametersMismatchError(record.key)


@transaction.atomic
def _claim_locked(
    *,
    key: str,
    now: datetime,
    stale_after: timedelta,
    expires_in: timedelta | None,
    fingerprint: str,
) -> IdempotencyClaim:
    expires_at = now + expires_in if expires_in else None
    # Two passes: the row that made the insert fail can be deleted (by the
    # cleanup command) before it is locked; then the insert is tried again.
    for _ in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    key=key, started_at=now, expires_at=expires_at, fingerprint=fingerprint
                )
        except IntegrityError:
            existing = IdempotencyKey.objects.select_for_update().filter(key=key).first()
            if existing is not None:
                return _claim_existing(
                    existing,
                    now=now,
                    stale_after=stale_after,
                    expires_at=expires_at,
                    fingerprint=fingerprint,
                )
        else:
            return IdempotencyClaim(record=record, acquired=True, attempt=record.attempts)
    raise IdempotencyError(CLAIM_CONTENDED.format(key=key))


def _claim_existing(
    record: IdempotencyKey,
    *,
    now: datetime,
    stale_after: timedelta,
    expires_at: datetime | None,
    fingerprint: str,
) -> IdempotencyClaim:
    if _is_live(record, now, stale_after):
        _check_fingerprint(record, fingerprint)
        if record.status == IdempotencyStatus.COMPLETED:
            return IdempotencyClaim(record=record, acquired=False, attempt=record.attempts)
        raise OperationInFlightError(record.key, record.started_at)
    record.status = IdempotencyStatus.IN_FLIGHT
    record.attempts += 1
    record.started_at = now
    record.completed_at = None
    record.result_type = ""
    record.result_id = ""
    record.result_data = {}
    record.error_message = ""
    record.expires_at = expires_at
    record.fingerprint = fingerprint
    record.save()
    return IdempotencyClaim(record=record, acquired=True, attempt=record.attempts)


def idempotency_key_owned(*, claim: IdempotencyClaim) -> bool:
    """Whether ``claim``'s attempt still owns its key, locking the key's row.

    Called at the end of the operation's own transaction, so a stale takeover
    that happened meanwhile rolls the operation back (and a later takeover
    waits on the row lock until the operation commits; on SQLite the
    database's write lock serialises them anyway).
    """
    return (
        IdempotencyKey.objects.select_for_update()
        .filter(pk=claim.record.pk, status=IdempotencyStatus.IN_FLIGHT, attempts=claim.attempt)
        .exists()
    )


@transaction.atomic
def idempotency_key_complete(
    *, claim: IdempotencyClaim, result: Any, now: datetime | None = None
) -> None:
    """Store ``result`` and mark the claimed attempt completed.

    ``@idempotent`` calls it in its own transaction after the operation's has
    committed (having checked ``idempotency_key_owned`` inside that one).

    Raises:
        ResultNotStorableError: the result has no storage rule; nothing is written.
        ClaimLostError: the attempt was taken over as stale; roll back.
    """
    stored = encode_result(result)
    updated = IdempotencyKey.objects.filter(
        pk=claim.record.pk, status=IdempotencyStatus.IN_FLIGHT, attempts=claim.attempt
    ).update(
        status=IdempotencyStatus.COMPLETED,
        completed_at=now or timezone.now(),
        result_data=stored.data,
        result_type=stored.result_type,
        result_id=stored.result_id,
    )
    if updated != 1:
        raise ClaimLostError(claim.record.key)


@transaction.atomic
def idempotency_key_fail(
    *, claim: IdempotencyClaim, error_message: str, now: datetime | None = None
) -> bool:
    """Mark the claimed attempt failed so the next caller retries it.

    Returns False (and writes nothing) when the attempt no longer owns the key.
    """
    updated = IdempotencyKey.objects.filter(
        pk=claim.record.pk, status=IdempotencyStatus.IN_FLIGHT, attempts=claim.attempt
    ).update(
        status=IdempotencyStatus.FAILED,
        completed_at=now or timezone.now(),
        error_message=error_message[:ERROR_MESSAGE_LIMIT],
    )
    return updated == 1


def idempotency_keys_cleanup(
    *,
    older_than: timedelta | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    batch_size: int = CLEANUP_BATCH_SIZE,
) -> CleanupCounts:
    """Delete keys that no longer do any good; return how many per group.

    Always: completed or failed keys whose ``expires_at`` has passed. With
    ``older_than``: also completed or failed keys that finished that long ago
    (whatever their expiry), and in-flight keys started that long ago (their
    caller is presumed dead). In-flight keys are otherwise never touched.
    Deletes in batches of ``batch_size`` rows, each in its own transaction.
    """
    now = now or timezone.now()
    groups = [IdempotencyKey.objects.expired(now=now)]
    if older_than is not None:
        cutoff = now - older_than
        expired_ids = IdempotencyKey.objects.expired(now=now).values("pk")
        groups.append(IdempotencyKey.objects.finished_before(cutoff).exclude(pk__in=expired_ids))
        groups.append(IdempotencyKey.objects.in_flight_since(cutoff))
    counts = [group.count() for group in groups]
    counts += [0] * (3 - len(counts))
    if not dry_run:
        for group in groups:
            _delete_in_batches(group, batch_size)
    return CleanupCounts(expired=counts[0], finished_before=counts[1], abandoned=counts[2])


def _delete_in_batches(queryset: Any, batch_size: int) -> None:
    while True:
        with transaction.atomic():
            # Locked, so a key taken over meanwhile is re-checked, not deleted.
            batch = list(queryset.select_for_update().values_list("pk", flat=True)[:batch_size])
            if not batch:
                return
            IdempotencyKey.objects.filter(pk__in=batch).delete()
