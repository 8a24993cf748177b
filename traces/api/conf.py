"""API settings, read through accessor functions (``TRACES_API_*``).

``TRACES_API_MAX_BATCH``: events in one ``POST /api/v1/events`` (default 1,000).
``TRACES_API_MAX_BODY_BYTES``: request body limit, 413 above it (default 5 MB).
``TRACES_API_RATE_LIMIT``: requests per minute per token when the token names
none (default 1,200; each process counts on its own, through Django's cache).
``TRACES_API_IDEMPOTENCY_TTL``: how long an ``Idempotency-Key`` replays (24 h).
``TRACES_API_TOKEN_CACHE_SECONDS``: how long a process reuses a token it
authenticated without reading its row again (default 5; 0: never). A token
revoked, or whose owner is deactivated, in another process is accepted here
for at most that long.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "get_idempotency_ttl",
    "get_max_batch",
    "get_max_body_bytes",
    "get_rate_limit",
    "get_token_cache_seconds",
]


def _positive_int(name: str, default: int) -> int:
    value = getattr(settings, name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least 1; got {value!r}.")
    return value


def get_max_batch() -> int:
    return _positive_int("TRACES_API_MAX_BATCH", 1_000)


def get_max_body_bytes() -> int:
    return _positive_int("TRACES_API_MAX_BODY_BYTES", 5 * 1024 * 1024)


def get_rate_limit() -> int:
    return _positive_int("TRACES_API_RATE_LIMIT", 1_200)


def get_idempotency_ttl() -> timedelta:
    value = getattr(settings, "TRACES_API_IDEMPOTENCY_TTL", timedelta(hours=24))
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ImproperlyConfigured(
            f"TRACES_API_IDEMPOTENCY_TTL must be a positive timedelta; got {value!r}."
        )
    return value


def get_token_cache_seconds() -> float:
    value = getattr(settings, "TRACES_API_TOKEN_CACHE_SECONDS", 5)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 60:
        raise ImproperlyConfigured(
            f"TRACES_API_TOKEN_CACHE_SECONDS must be a number from 0 to 60; got {value!r}."
        )
    return float(value)
