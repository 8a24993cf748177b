"""The simulation's engine: the clock, the random generator and the tape of events.

Every storyline schedules its next steps here and emits its events through
``Simulation.emit``, which gives each event its deterministic id.
"""

from __future__ import annotations

import heapq
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVarTuple

from decision_trace.builder import TraceBuilder
from decision_trace.values import DecisionTrace, TraceEvent, assemble
from ecommerce.client import EcommerceClient
from ecommerce.demo.options import DEMO_SOURCE

__all__ = ["Ref", "Simulation"]

_Args = TypeVarTuple("_Args")


@dataclass(frozen=True)
class Ref:
    """A stored-to-be event: its id and time (a child must start later)."""

    id: str
    at: datetime
    needs_approval: bool = False


class Simulation:
    """The period played (``start`` to ``end``), its queue of scheduled steps and its output.

    ``emit`` appends finished events to the tape that ``flush`` hands out;
    ``counts`` tallies them by family and ``approvals`` counts those that
    need an admin's decision.
    """

    def __init__(self, *, seed: int, days: int, scale: float, now: datetime, currency: str) -> None:
        self.rng = random.Random(seed)
        self.end = now.astimezone(UTC)
        self.start = self.end - timedelta(days=days)
        self.days = days
        self.scale = scale
        self.client = EcommerceClient(currency=currency)
        self.counts: dict[str, int] = {}
        self.approvals = 0
        self._queue: list[tuple[datetime, int, Callable[[], object]]] = []
        self._seq = 0
        self._out: list[TraceEvent] = []
        self._serial: dict[str, int] = {}
        self._per_milli: dict[int, int] = {}

    # The clock -----------------------------------------------------------

    def schedule(
        self,
        when: datetime,
        action: Callable[[datetime, *_Args], object],
        *args: *_Args,
    ) -> None:
        """Run ``action(when, *args)`` at ``when``, if that is inside the period."""
        if self.start <= when < self.end:
            self._seq += 1
            step: Callable[[], object] = partial(action, when, *args)
            heapq.heappush(self._queue, (when, self._seq, step))

    def step(self) -> datetime | None:
        """Run the next scheduled step; its time, or ``None`` when nothing is left."""
        if not self._queue:
            return None
        when, _, action = heapq.heappop(self._queue)
        action()
        return when

    def pending(self) -> int:
        """How many events are on the tape, not yet flushed."""
        return len(self._out)

    def flush(self) -> list[TraceEvent]:
        batch, self._out = self._out, []
        return batch

    # The tape ------------------------------------------------------------

    def emit(
        self,
        builder: TraceBuilder,
        at: datetime,
        *,
        parent: Ref | None = None,
        duration: float = 0.0,
        correlation: str | None = None,
    ) -> Ref | None:
        """Finish the event at ``at`` with a deterministic id; ``None`` if that is after the end."""
        if at >= self.end:
            return None
        builder.at(at).with_source(DEMO_SOURCE)
        if duration:
            builder.with_duration(round(duration, 1))
        if correlation is not None:
            builder.with_correlation(correlation)
        event = builder.build()
        decision = event.decision
        # build() validated every value; only the generator's ids change, so the
        # objects are re-assembled without validating them all again.
        if decision is not None:
            decision = assemble(
                DecisionTrace, **{**_values(decision), "id": f"{self.rng.getrandbits(128):032x}"}
            )
        event = assemble(
            TraceEvent,
            **{
                **_values(event),
                "id": self._event_id(at),
                "parent_event_id": None if parent is None else parent.id,
                "decision": decision,
            },
        )
        self._out.append(event)
        family = event.event_type.partition(".")[0]
        self.counts[family] = self.counts.get(family, 0) + 1
        needs_approval = decision is not None and decision.requires_approval
        self.approvals += needs_approval
        return Ref(event.id, at, needs_approval)

    def _event_id(self, at: datetime) -> str:
        """A version 7 UUID as traces makes them, from the event's time and the generator.

        Events of the same millisecond count up in the 12 bits after the time,
        so ordering by ``(time, id)`` is the order they happened in.
        """
        millis = int(at.timestamp() * 1000)
        count = self._per_milli[millis] = self._per_milli.get(millis, -1) + 1
        value = (millis & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | count << 64
        value |= 0b10 << 62 | self.rng.getrandbits(62)
        return str(uuid.UUID(int=value))

    def serial(self, kind: str, first: int = 1) -> int:
        """The next number of ``kind`` (orders, tickets, ...), counting from ``first``."""
        self._serial[kind] = self._serial.get(kind, first - 1) + 1
        return self._serial[kind]

    # Randomness and office hours -----------------------------------------

    def pick(self, weighted: tuple[tuple[str, float], ...]) -> str:
        roll = self.rng.random() * sum(weight for _, weight in weighted)
        for value, weight in weighted:
            roll -= weight
            if roll < 0:
                return value
        return weighted[-1][0]

    def poisson(self, mean: float) -> int:
        if mean <= 0:
            return 0
        if mean > 30:
            return max(0, round(self.rng.gauss(mean, math.sqrt(mean))))
        limit, count, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            count += 1
            product *= self.rng.random()
        return count

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=round(self.rng.uniform(low, high) * 60))

    def office(self, when: datetime) -> datetime:
        """``when``, or the next working hour (08:00-19:00 UTC) with a few minutes' lag."""
        if 8 <= when.hour < 19:
            return when
        day = when if when.hour < 8 else when + timedelta(days=1)
        opening = day.replace(hour=8, minute=0, second=0, microsecond=0)
        return opening + self.minutes(5, 90)

    def clock(self, day: datetime, hour: int, minute: int = 0) -> datetime:
        return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def _values(obj: TraceEvent | DecisionTrace) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}
