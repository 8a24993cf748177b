"""System checks for the ``DECISIONING_*`` settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

from decisioning.conf import is_positive_timedelta
from decisioning.exceptions import BAD_OPTIONAL_TIMEDELTA, BAD_TIMEDELTA

__all__ = ["check_settings"]

_UNSET = object()


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``decisioning.E001``: bad stale timeout; ``decisioning.E002``: bad default expiry."""
    errors: list[CheckMessage] = []
    value = getattr(settings, "DECISIONING_STALE_AFTER", _UNSET)
    if value is not _UNSET and not is_positive_timedelta(value):
        errors.append(
            Error(
                BAD_TIMEDELTA.format(name="DECISIONING_STALE_AFTER", value=value),
                hint="For example: DECISIONING_STALE_AFTER = timedelta(minutes=10).",
                id="decisioning.E001",
            )
        )
    value = getattr(settings, "DECISIONING_DEFAULT_EXPIRES_IN", None)
    if value is not None and not is_positive_timedelta(value):
        errors.append(
            Error(
                BAD_OPTIONAL_TIMEDELTA.format(name="DECISIONING_DEFAULT_EXPIRES_IN", value=value),
                hint="For example: DECISIONING_DEFAULT_EXPIRES_IN = timedelta(days=1), or None.",
                id="decisioning.E002",
            )
        )
    return errors
