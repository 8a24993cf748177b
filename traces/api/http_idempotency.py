"""The HTTP ``Idempotency-Key`` header, stored through ``decisioning.IdempotencyKey``.

Semantics of Stripe and the IETF draft: the same key with the same request
(method, path, caller, body) replays the first answer's status and body with
``Idempotent-Replayed: true``; the same key with another request is 422
``idempotency_key_mismatch``; while the first is still running, 409
``idempotency_key_in_use``. Only a 2xx answer is stored: a refused request
(4xx) deletes its claim, so a corrected retry runs. Keys replay for
``TRACES_API_IDEMPOTENCY_TTL`` (24 h); ``manage.py cleanup_idempotency_keys``
removes them afterwards.

The claim, the endpoint's writes and the stored answer are three transactions
(``decisioning.idempotency``), as for ``@idempotent``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse

from decisioning.conf import get_stale_after
from decisioning.exceptions import (
    ClaimLostError,
    IdempotencyParametersMismatchError,
    OperationInFlightError,
)
from decisioning.idempotency import (
    IdempotencyClaim,
    call_fingerprint,
    idempotency_key_claim,
    idempotency_key_complete,
    idempotency_key_owned,
)
from decisioning.models import IdempotencyKey, IdempotencyStatus
from traces.api.auth import ApiPrincipal
from traces.api.conf import get_idempotency_ttl
from traces.api.errors import ApiError

__all__ = ["HEADER", "MAX_KEY_LENGTH", "ApiAnswer", "run_idempotent"]

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

# (status, body) of a successful endpoint run.
ApiAnswer = tuple[int, dict[str, Any]]


def _header_key(request: HttpRequest) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if (
        not key.strip()
        or len(key) > MAX_KEY_LENGTH
        or any(ord(c) < 32 or ord(c) == 127 for c in key)
    ):
        raise ApiError(
            400,
            "bad_idempotency_key",
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
        )
    return key


def _answer(status: int, body: dict[str, Any], *, replayed: bool = False) -> JsonResponse:
    response = JsonResponse(body, status=status)
    if replayed:
        response[REPLAYED_HEADER] = "true"
    return response


def run_idempotent(
    request: HttpRequest,
    principal: ApiPrincipal,
    run: Callable[[], ApiAnswer],
    *,
    atomic_without_key: bool = True,
) -> JsonResponse:
    """Answer ``run()`` in a transaction, once per ``Idempotency-Key`` when one is sent.

    ``atomic_without_key=False`` is for a ``run()`` that is all-or-nothing on
    its own: without a key it then runs outside a transaction of ours (one
    savepoint fewer per request), with a key still inside one.
    """
    key = _header_key(request)
    if key is None:
        if not atomic_without_key:
            status, body = run()
            return _answer(status, body)
        with transaction.atomic():
            status, body = run()
        return _answer(status, body)
    # The stored key is a digest: any header text fits, and one caller's keys
    # never meet another's.
    stored_key = "api:" + hashlib.sha256(f"{principal.owner_key}\n{key}".encode()).hexdigest()
    fingerprint = call_fingerprint(
        request.method, request.path, principal.owner_key, hashlib.sha256(request.body).hexdigest()
    )
    try:
        claim = idempotency_key_claim(
            key=stored_key,
            stale_after=get_stale_after(),
            expires_in=get_idempotency_ttl(),
            fingerprint=fingerprint,
        )
    except IdempotencyParametersMismatchError as exc:
        raise ApiError(
            422,
            "idempotency_key_mismatch",
            f"This {HEADER} was first used for another request; use a new key.",
        ) from exc
    except OperationInFlightError as exc:
        raise ApiError(
            409,
            "idempotency_key_in_use",
            f"A request with this {HEADER} is still running; retry when it has finished.",
        ) from exc
    if not claim.acquired:
        stored = claim.record.replay_result()
        return _answer(stored["status"], stored["body"], replayed=True)
    try:
        with transaction.atomic():
            status, body = run()
            if not idempotency_key_owned(claim=claim):
                raise ClaimLostError(claim.record.key)
    except BaseException:
        _release(claim)
        raise
    idempotency_key_complete(claim=claim, result={"status": status, "body": body})
    return _answer(status, body)


def _release(claim: IdempotencyClaim) -> None:
    """Forget a claim whose request was refused, so that a corrected retry runs."""
    IdempotencyKey.objects.filter(
        pk=claim.record.pk, status=IdempotencyStatus.IN_FLIGHT, attempts=claim.attempt
    ).delete()
