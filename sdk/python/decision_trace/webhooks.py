"""Verifying a Decision Trace webhook: ``verify_signature(body, header, secret)``.

The server sends ``X-DecisionTrace-Signature: t=<unix time>,v1=<hex>`` where
``<hex>`` is HMAC-SHA256, keyed with the endpoint's secret, of
``"<unix time>.<raw body>"``. A signature older than five minutes is refused,
so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["SIGNATURE_HEADER", "SIGNATURE_TOLERANCE", "WebhookSignatureError", "verify_signature"]

SIGNATURE_HEADER = "X-DecisionTrace-Signature"
SIGNATURE_TOLERANCE = 300
_MAX_HEADER = 1000


class WebhookSignatureError(ValueError):
    """The signature is missing, malformed, wrong or too old; do not trust the body."""


def verify_signature(
    body: bytes | str,
    header: str | None,
    secret: str,
    *,
    tolerance: int = SIGNATURE_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check ``header`` (the ``X-DecisionTrace-Signature`` value) against ``body``.

    Args:
        body: the request body exactly as received (bytes, or text as UTF-8).
        header: the header's value.
        secret: the endpoint's signing secret.
        tolerance: the oldest signature accepted, in seconds (default 300).
        now: the current Unix time (tests); default ``time.time()``.

    Raises:
        WebhookSignatureError: what is wrong; the body must not be trusted.
    """
    if not isinstance(header, str) or not header or len(header) > _MAX_HEADER:
        raise WebhookSignatureError("The signature header is missing or too long.")
    raw = body.encode() if isinstance(body, str) else body
    timestamp: int | None = None
    signatures = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureError("The signature header must be t=<unix time>,v1=<hex>.")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookSignatureError(
            f"The signature is {int(abs(current - timestamp))} s old; at most {tolerance} s is "
            "accepted (a replayed delivery?)."
        )
    expected = hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + raw, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise WebhookSignatureError("The signature does not match the body and secret.")
