"""App settings, read through accessor functions (``DECISIONING_*``).

``DECISIONING_STALE_AFTER``: how long an in-flight idempotency key blocks other
callers before one of them may take it over (default 10 minutes).
``DECISIONING_DEFAULT_EXPIRES_IN``: how long a completed key replays its result
when ``@idempotent`` gets no ``expires_in`` (default ``None``: until cleaned up).
``DECISIONING_SEPARATION_OF_DUTIES``: refuse approval by the user who proposed
the decision (default ``True``).
``DECISIONING_CLAIM_DURATION``: how long a reviewer's claim on a queue item
lasts (default 15 minutes).
``DECISIONING_DEFAULT_DUE_IN``: how long a pending decision may wait when its
rule names no due time (default 24 hours).
``decisioning.checks`` reports bad values as ``decisioning.E001`` / ``E002``.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from decisioning.exceptions import BAD_OPTIONAL_TIMEDELTA, BAD_TIMEDELTA

__all__ = [
    "DEFAULT_CLAIM_DURATION",
    "DEFAULT_DUE_IN",
    "DEFAULT_STALE_AFTER",
    "get_claim_duration",
    "get_default_due_in",
    "get_default_expires_in",
    "get_separation_of_duties",
    "get_stale_after",
    "is_positive_timedelta",
]

DEFAULT_STALE_AFTER = timedelta(minutes=10)
DEFAULT_CLAIM_DURATION = timedelta(minutes=15)
DEFAULT_DUE_IN = timedelta(hours=24)


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


def _positive(name: str, default: timedelta) -> timedelta:
    value = getattr(settings, name, default)
    if not is_positive_timedelta(value):
        raise ImproperlyConfigured(BAD_TIMEDELTA.format(name=name, value=value))
    return value


def get_claim_duration() -> timedelta:
    """``DECISIONING_CLAIM_DURATION``, or 15 minutes."""
    return _positive("DECISIONING_CLAIM_DURATION", DEFAULT_CLAIM_DURATION)


def get_default_due_in() -> timedelta:
    """``DECISIONING_DEFAULT_DUE_IN``, or 24 hours."""
    return _positive("DECISIONING_DEFAULT_DUE_IN", DEFAULT_DUE_IN)


def get_separation_of_duties() -> bool:
    """``DECISIONING_SEPARATION_OF_DUTIES``, or ``True``."""
    return bool(getattr(settings, "DECISIONING_SEPARATION_OF_DUTIES", True))
