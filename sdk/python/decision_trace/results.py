"""What reads and writes return: ``RecordedId``, ``EventList``, ``EventChain``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

from decision_trace.transport import Receipt
from decision_trace.values import TraceEvent

__all__ = ["EventChain", "EventList", "RecordedId"]


class RecordedId(str):
    """An event id as ``record()`` returns it: a ``str``, plus what the store answered.

    ``decision_id`` is the id of the pending review decision when the server
    held the event for a person's approval, else ``None`` (also ``None`` for
    an event that was only queued, ``record(wait=False)``, or deferred in an
    open span: the answer is not known yet). ``duplicate`` is true when an
    identical event with this id was already stored.
    """

    decision_id: str | None
    duplicate: bool

    def __new__(
        cls, value: str, *, decision_id: str | None = None, duplicate: bool = False
    ) -> Self:
        recorded = super().__new__(cls, value)
        recorded.decision_id = decision_id
        recorded.duplicate = duplicate
        return recorded

    @classmethod
    def of(cls, receipt: Receipt) -> RecordedId:
        return cls(receipt.id, decision_id=receipt.decision_id, duplicate=receipt.duplicate)


class EventList(list[TraceEvent]):
    """A page of events (a plain list) that also knows the cursor of the next page.

    Pass ``next_cursor`` back as ``cursor=`` for the next page; it is ``None``
    on the last one.
    """

    def __init__(self, events: Iterable[TraceEvent] = (), next_cursor: str | None = None) -> None:
        super().__init__(events)
        self.next_cursor = next_cursor


class EventChain(list[TraceEvent]):
    """A chain (a plain list): the root first, then each event followed by its children.

    ``depths[i]`` is the depth of ``self[i]`` (0 for the root); ``walk()``
    yields ``(depth, event)`` pairs.
    """

    def __init__(self, pairs: Iterable[tuple[int, TraceEvent]] = ()) -> None:
        pairs = list(pairs)
        super().__init__(event for _, event in pairs)
        self.depths = [depth for depth, _ in pairs]

    def walk(self) -> Iterable[tuple[int, TraceEvent]]:
        return zip(self.depths, self, strict=True)
