"""The demo's options and their limits, checked before anything is simulated."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from ecommerce.exceptions import DEMO_OPTION, DEMO_TOO_LARGE, DemoStoreOptionError

__all__ = [
    "DEMO_SOURCE",
    "MAX_DAYS",
    "MAX_EVENTS",
    "MAX_SCALE",
    "MAX_SEED",
    "MIN_SCALE",
    "demo_options_check",
    "estimated_events",
]

# Every demo event names this source system; it is how the demo is found again.
DEMO_SOURCE = "seed_demo"
# Events per simulated day at scale 1.0 (measured: about 1,000).
_EVENTS_PER_DAY = 1_150
MAX_DAYS = 365
MIN_SCALE = 0.01
MAX_SCALE = 10.0
MAX_SEED = 2**63 - 1
MAX_EVENTS = 1_000_000


def estimated_events(*, days: int, scale: float) -> int:
    """Roughly how many events ``DemoStore`` makes for these options."""
    return round(days * scale * _EVENTS_PER_DAY)


def demo_options_check(*, days: object, scale: object, seed: object, now: object) -> None:
    """Refuse options out of range with ``DemoStoreOptionError`` saying what to pass.

    ``days``: an int from 1 to ``MAX_DAYS``; ``scale``: a number from
    ``MIN_SCALE`` to ``MAX_SCALE``; ``seed``: an int from 0 to ``MAX_SEED``;
    ``now``: an aware datetime not in the future; and together at most
    ``MAX_EVENTS`` estimated events.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise DemoStoreOptionError(
            DEMO_OPTION.format(
                name="days", expected=f"a whole number from 1 to {MAX_DAYS}", got=days
            )
        )
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int | float)
        or not math.isfinite(scale)
        or not MIN_SCALE <= scale <= MAX_SCALE
    ):
        raise DemoStoreOptionError(
            DEMO_OPTION.format(
                name="scale", expected=f"a number from {MIN_SCALE} to {MAX_SCALE}", got=scale
            )
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise DemoStoreOptionError(
            DEMO_OPTION.format(
                name="seed", expected=f"a whole number from 0 to {MAX_SEED}", got=seed
            )
        )
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise DemoStoreOptionError(
            DEMO_OPTION.format(name="now", expected="an aware datetime", got=now)
        )
    if now > datetime.now(UTC):
        raise DemoStoreOptionError(
            DEMO_OPTION.format(name="now", expected="a time not in the future", got=now.isoformat())
        )
    events = estimated_events(days=days, scale=scale)
    if events > MAX_EVENTS:
        raise DemoStoreOptionError(DEMO_TOO_LARGE.format(events=events, maximum=MAX_EVENTS))
