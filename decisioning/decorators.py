"""``@idempotent``: run a function once per key and replay its result afterwards.

A plain decorator, not a context manager: a ``with`` block cannot be skipped,
so it could not replay.

One call goes like this:

1. The key is made (``key_func(*args, **kwargs)``, or
   ``"{module}.{name}:{args[0]}"``) and checked; a bad key raises
   ``InvalidIdempotencyKeyError`` before anything is written. The call's
   arguments are fingerprinted (``call_fingerprint``).
2. The key is claimed in its own short transaction (see
   ``decisioning.idempotency``). A completed, unexpired key replays its result
   (or raises ``DuplicateOperationError`` with ``raise_on_duplicate=True``);
   a key in flight for less than ``stale_after`` raises
   ``OperationInFlightError``; a key first used with other arguments raises
   ``IdempotencyParametersMismatchError`` (completed or in flight); a failed,
   expired or stale key is taken over.
3. The function runs inside its own ``transaction.atomic()``. At its end, still
   inside it, the claim's row is locked and checked to be still ours (a stale
   takeover meanwhile rolls the function's writes back with ``ClaimLostError``).
4. The result is recorded in a third short transaction. If the process dies
   between 3 and 4, the function's writes are committed but the key stays in
   flight: after ``stale_after`` the next caller runs the function again.
5. If the function raises, its transaction rolls back (its writes are gone)
   and then, outside it, the key is marked failed, so the failure survives the
   rollback; the exception propagates unchanged and the next call retries.

Called inside an outer ``transaction.atomic()``, steps 2 to 5 are savepoints of
the outer transaction: nothing (claim, writes, result or failure) is visible
to others or durable until the outer transaction commits, and if it rolls
back the key disappears with everything else, as if the call never happened.
Concurrent callers of the same key wait on the key's row until then.

On PostgreSQL other writers never wait for the function: the claim and the
result are short transactions, and the function's own transaction locks only
the rows it writes. On SQLite there is one write lock for the whole database
and every transaction takes it at ``BEGIN`` (``IMMEDIATE``), so while the
function's transaction runs, every other writer waits (up to the busy
timeout, 20 s). Readers are not blocked (WAL), so a same-key caller that finds
the key in flight or completed by its unlocked read is answered at once
(``OperationInFlightError`` or the replay) without waiting for the lock.
Keep ``@idempotent`` bodies short on SQLite.

Only the default database is covered.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import ParamSpec, TypeVar, cast

from django.db import DatabaseError, transaction

from decisioning.conf import get_default_expires_in, get_stale_after, is_positive_timedelta
from decisioning.exceptions import (
    BAD_OPTIONAL_TIMEDELTA,
    KEY_MISSING,
    ClaimLostError,
    DuplicateOperationError,
    InvalidIdempotencyKeyError,
)
from decisioning.idempotency import (
    IdempotencyClaim,
    call_fingerprint,
    idempotency_key_claim,
    idempotency_key_complete,
    idempotency_key_fail,
    idempotency_key_owned,
    validate_idempotency_key,
)
from decisioning.results import encode_result

__all__ = ["idempotent"]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def idempotent(
    key_func: Callable[..., str] | None = None,
    expires_in: timedelta | None = None,
    raise_on_duplicate: bool = False,
    *,
    stale_after: timedelta | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Make a function run at most once per idempotency key.

    Args:
        key_func: builds the key from the call's arguments. Without it the key
            is ``f"{func.__module__}.{func.__name__}:{args[0]}"``.
        expires_in: how long a completed result replays; after that the
            function runs again. Default: ``DECISIONING_DEFAULT_EXPIRES_IN``
            (``None``: until the key is cleaned up).
        raise_on_duplicate: raise ``DuplicateOperationError`` instead of
            returning the stored result.
        stale_after: how long an in-flight attempt blocks other callers before
            the next one may take the key over (a caller that died leaves its
            key in flight). Default: ``DECISIONING_STALE_AFTER``, 10 minutes.
            Keep it above the function's longest run time.

    Returns:
        The decorator. A replay returns the stored result, rebuilt by the rules
        of ``decisioning.results``; a first run returns the function's own
        return value.

    Raises:
        TypeError: ``key_func`` is not callable, or the function is async.
        ValueError: ``expires_in`` / ``stale_after`` is not a positive timedelta.
    """
    if key_func is not None and not callable(key_func):
        raise TypeError(f"key_func must be callable or None; got {type(key_func).__name__}.")
    for name, value in (("expires_in", expires_in), ("stale_after", stale_after)):
        if value is not None and not is_positive_timedelta(value):
            raise ValueError(BAD_OPTIONAL_TIMEDELTA.format(name=name, value=value))

    def decorator(func: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(func):
            raise TypeError("@idempotent does not support async functions.")

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if key_func is not None:
                key = key_func(*args, **kwargs)
            elif args:
                key = f"{func.__module__}.{func.__name__}:{args[0]}"
            else:
                raise InvalidIdempotencyKeyError(KEY_MISSING)
            claim = idempotency_key_claim(
                key=validate_idempotency_key(key),
                stale_after=stale_after or get_stale_after(),
                expires_in=expires_in or get_default_expires_in(),
                fingerprint=call_fingerprint(
                    f"{func.__module__}.{func.__qualname__}", list(args), kwargs
                ),
            )
            if not claim.acquired:
                result = claim.record.replay_result()
                if raise_on_duplicate:
                    raise DuplicateOperationError(key, claim.record.completed_at, result)
                # What this function returned the first time, decoded from the key's row.
                return cast("R", result)
            try:
                with transaction.atomic():
                    result = func(*args, **kwargs)
                    # Refuse an unstorable result before the writes commit.
                    encode_result(result)
                    if not idempotency_key_owned(claim=claim):
                        raise ClaimLostError(claim.record.key)
            except BaseException as exc:
                _record_failure(claim, exc)
                raise
            idempotency_key_complete(claim=claim, result=result)
            return result

        return wrapper

    return decorator


def _record_failure(claim: IdempotencyClaim, exc: BaseException) -> None:
    try:
        idempotency_key_fail(claim=claim, error_message=f"{type(exc).__name__}: {exc}")
    except DatabaseError:
        # The original exception matters more; the key stays in flight and the
        # stale timeout frees it.
        logger.exception("Could not mark idempotency key %r failed", claim.record.key)
