"""App settings, read through accessor functions (``TRACES_*``).

``TRACES_SQLITE_BACKGROUND_CHECKPOINT``: on an SQLite file in WAL mode, bulk
writes (``record_many()``) commit without checkpointing and a background
thread checkpoints instead (``traces.checkpoints``). ``True`` (the default) or
``False``, for instance when another tool (a replicator such as Litestream)
runs the checkpoints. ``traces.checks`` reports a value that is not a bool as
``traces.E002``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from decision_trace.exceptions import NOT_A_BOOL

__all__ = ["background_checkpoint_enabled", "background_checkpoint_setting_error"]

_BACKGROUND_CHECKPOINT = "TRACES_SQLITE_BACKGROUND_CHECKPOINT"


def background_checkpoint_setting_error() -> str | None:
    """What is wrong with ``TRACES_SQLITE_BACKGROUND_CHECKPOINT``, or None."""
    value = getattr(settings, _BACKGROUND_CHECKPOINT, True)
    if isinstance(value, bool):
        return None
    return NOT_A_BOOL.format(field=_BACKGROUND_CHECKPOINT, got=value)


def background_checkpoint_enabled() -> bool:
    """``TRACES_SQLITE_BACKGROUND_CHECKPOINT`` (default True)."""
    error = background_checkpoint_setting_error()
    if error is not None:
        raise ImproperlyConfigured(error)
    return getattr(settings, _BACKGROUND_CHECKPOINT, True)
