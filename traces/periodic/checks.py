"""System check ``traces.E003``: ``TRACES_PERIODIC_TASKS`` is valid."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from traces.periodic.conf import SETTING, periodic_spec_errors

__all__ = ["check_periodic_tasks"]


@register()
def check_periodic_tasks(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """traces.E003: a periodic task is not a valid ``{"call", "every" | "daily_at"}``."""
    return [
        Error(problem, hint=f"See {SETTING} in docs/human-in-the-loop.md.", id="traces.E003")
        for problem in periodic_spec_errors()
    ]
