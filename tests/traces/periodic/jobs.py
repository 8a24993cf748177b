"""Functions the periodic tests register (the worker imports them by dotted path)."""

from __future__ import annotations

CALLS: list[str] = []


def tick() -> int:
    CALLS.append("tick")
    return len(CALLS)


def explode() -> None:
    CALLS.append("explode")
    raise RuntimeError("the periodic job failed")


NOT_CALLABLE = 3
