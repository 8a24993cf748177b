"""``TRACES_PERIODIC_TASKS``: what runs periodically, and when its next slot is.

    TRACES_PERIODIC_TASKS = {
        "review_overdue": {"call": "traces.notifications.services.overdue_notify",
                           "every": timedelta(minutes=5)},
        "review_digests": {"call": "traces.notifications.services.digests_send",
                           "daily_at": "08:00"},
    }

``call`` is the dotted path of a function called with no arguments (its return
value must be JSON: django-tasks stores it). ``every`` slots are multiples of
the interval since the Unix epoch (UTC), so every process computes the same
ones; ``daily_at`` is a local time (``TIME_ZONE``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

__all__ = [
    "MIN_INTERVAL",
    "SETTING",
    "PeriodicSpec",
    "periodic_spec_errors",
    "periodic_specs",
]

SETTING = "TRACES_PERIODIC_TASKS"
MIN_INTERVAL = timedelta(minutes=1)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_DAILY_AT = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_KEYS = frozenset({"call", "every", "daily_at"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PeriodicSpec:
    """One periodic task: its name, the function it calls, and either an interval or a time."""

    name: str
    call: str
    every: timedelta | None = None
    daily_at: time | None = None

    def function(self) -> Callable[[], Any]:
        """The function to run (imported by its dotted path)."""
        function: Callable[[], Any] = import_string(self.call)
        return function

    def next_slot(self, now: datetime) -> datetime:
        """The first slot strictly after ``now``."""
        if self.every is not None:
            steps = (now - _EPOCH) // self.every + 1
            return _EPOCH + steps * self.every
        assert self.daily_at is not None
        today = timezone.localtime(now).date()
        for days in range(3):
            # Made aware on its own day: the offset may differ from now's (daylight saving).
            slot = timezone.make_aware(
                datetime.combine(today + timedelta(days=days), self.daily_at)
            )
            if slot > now:
                return slot
        raise AssertionError("a local time recurs within two days")


def _spec_problems(name: object, entry: object) -> list[str]:
    if not isinstance(name, str) or not _NAME.match(name):
        return [f"{name!r}: a name is 1-100 lowercase letters, digits, '_', '.' or '-'."]
    if not isinstance(entry, Mapping):
        return [f"{name}: give a dict with 'call' and 'every' or 'daily_at'."]
    problems = [f"{name}: unknown key {key!r}." for key in entry if key not in _KEYS]
    call = entry.get("call")
    if not isinstance(call, str) or not call:
        problems.append(f"{name}: 'call' is the dotted path of a function.")
    else:
        try:
            function = import_string(call)
        except ImportError as exc:
            problems.append(f"{name}: cannot import {call!r} ({exc}).")
        else:
            if not callable(function):
                problems.append(f"{name}: {call!r} is not callable.")
    every, daily_at = entry.get("every"), entry.get("daily_at")
    if (every is None) == (daily_at is None):
        problems.append(f"{name}: give exactly one of 'every' and 'daily_at'.")
    elif every is not None and (not isinstance(every, timedelta) or every < MIN_INTERVAL):
        problems.append(f"{name}: 'every' is a timedelta of at least {MIN_INTERVAL}.")
    elif daily_at is not None and (not isinstance(daily_at, str) or not _DAILY_AT.match(daily_at)):
        problems.append(f"{name}: 'daily_at' is a local time 'HH:MM' (00:00 to 23:59).")
    return problems


def _configured() -> object:
    return getattr(settings, SETTING, {})


def periodic_spec_errors() -> list[str]:
    """What is wrong with ``TRACES_PERIODIC_TASKS`` (empty when nothing is)."""
    configured = _configured()
    if not isinstance(configured, Mapping):
        return [f"{SETTING} must be a dict of name -> {{'call', 'every' | 'daily_at'}}."]
    return [
        problem for name, entry in configured.items() for problem in _spec_problems(name, entry)
    ]


def periodic_specs() -> dict[str, PeriodicSpec]:
    """The configured periodic tasks by name.

    Raises:
        ImproperlyConfigured: the setting is not valid (the message lists why).
    """
    errors = periodic_spec_errors()
    if errors:
        raise ImproperlyConfigured(f"{SETTING}: " + " ".join(errors))
    configured: Mapping[str, Mapping[str, Any]] = _configured()  # type: ignore[assignment]
    specs = {}
    for name, entry in configured.items():
        daily_at = entry.get("daily_at")
        specs[name] = PeriodicSpec(
            name=name,
            call=entry["call"],
            every=entry.get("every"),
            daily_at=time.fromisoformat(daily_at) if daily_at is not None else None,
        )
    return specs
