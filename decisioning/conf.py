"""App settings, read through accessor functions (``DECISIONING_*``).

``DECISIONING_STALE_AFTER``: how long an in-flight idempotency key blocks other
callers before one of them may take it over (default 10 minutes).
``DECISIONING_DEFAULT_EXPIRES_IN``: how long a completed key replays its result
when ``@idempotent`` gets no ``expires_in`` (default ``None``: until cleaned up).
``decisioning.checks`` reports bad values as ``decisioning.E001`` / ``E002``.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from decisioning.exceptions import BAD_OPTIONAL_TIMEDELTA, BAD_TIMEDELTA

__all__ = [
    "DEFAULT_STALE_AFTER",
    "get_default_expires_in",
    "get_stale_after",
    "is_positive_timedelta",
]

DEFAULT_STALE_AFTER = timedelta(minutes=10)


def is_positive_timedelta(value: object) -> bool:
    return isinstance(value, timedelta) and value > timedelta(0)


def get_stale_after() -> timedelta:
    """``DECISIONING_STALE_AFTER``, or 10 minutes."""
    value = getattr(settings, "DECISIONING_STALE_AFTER", DEFAULT_STALE_AFTER)
    if not is_positive_timedelta(value):
        raise ImproperlyConfigured(
            BAD_TIMEDELTA.format(name="DECISIONING_STALE_AFTER", value=value)
        )
    return value


def get_default_expires_in() -> timedelta | None:
    """``DECISIONING_DEFAULT_EXPIRES_IN``, or ``None`` (completed keys never expire)."""
    value = getattr(settings, "DECISIONING_DEFAULT_EXPIRES_IN", None)
    if value is not None and not is_positive_timedelta(value):
        raise ImproperlyConfigured(
            BAD_OPTIONAL_TIMEDELTA.format(name="DECISIONING_DEFAULT_EXPIRES_IN", value=value)
        )
    return value
