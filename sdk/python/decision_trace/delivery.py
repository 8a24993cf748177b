"""Buffered delivery: a bounded queue and background threads sending batches.

Like OpenTelemetry's batch span processor: ``record(wait=False)`` (or a client
made with ``batch=True``) only enqueues; the sender thread takes up to
``batch_size`` events when that many are waiting or ``flush_interval`` seconds
have passed and encodes them; ``max_in_flight`` poster threads send the
encoded batches, one request each, taken in order. So the next batch is
encoded while others are on the wire, and a server's workers validate
batches side by side. A batch holding a child of an event still on the wire
waits until that event's batch is answered: parents reach the server first.
The transport retries connection errors, 5xx and 429 with the same
``Idempotency-Key``; a batch that still fails, or that the server refuses,
is logged with its reason and counted as dropped. A full queue refuses the
new event with ``DeliveryQueueFullError``.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from decision_trace.exceptions import (
    QUEUE_FULL,
    ConfigurationError,
    DeliveryQueueFullError,
    TracesError,
)
from decision_trace.values import TraceEvent

if TYPE_CHECKING:
    from decision_trace.transport import BackgroundTransport, Receipt

    # An encoded batch: its events and the function that sends them.
    _Encoded = tuple[list[TraceEvent], Callable[[str | None], list[Receipt]]]

__all__ = ["BatchSender", "DeliveryStats"]

logger = logging.getLogger("decision_trace")

_MAX_BATCH_SIZE = 1_000
_MAX_IN_FLIGHT = 16
_EXIT_TIMEOUT_VARIABLE = "DECISION_TRACE_EXIT_TIMEOUT"
_DEFAULT_EXIT_TIMEOUT = 10.0
# Senders not closed yet, held strongly so a client dropped without close() is still flushed.
_running: set[BatchSender] = set()
_running_lock = threading.Lock()


@dataclass(frozen=True)
class DeliveryStats:
    """Counters of one client's buffered delivery.

    ``sent``: events the server acknowledged. ``retried``: requests repeated
    after a connection error, a 5xx or a 429. ``dropped``: events given up on
    (refused by the server, or still failing after every retry), each batch
    logged with its reason. ``rejected``: events ``record()`` refused because
    the queue was full (the caller got ``DeliveryQueueFullError``).
    ``pending``: events queued or being sent.
    """

    sent: int = 0
    retried: int = 0
    dropped: int = 0
    rejected: int = 0
    pending: int = 0


class BatchSender:
    """The queue and the threads of one client; see the module docstring."""

    def __init__(
        self,
        transport: BackgroundTransport,
        *,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_queue_size: int = 10_000,
        max_in_flight: int = 2,
    ) -> None:
        self.check_options(
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_queue_size=max_queue_size,
            max_in_flight=max_in_flight,
        )
        self._transport = transport
        self._batch_size = batch_size
        self._interval = float(flush_interval)
        self._max_queue = max_queue_size
        self._cond = threading.Condition()
        self._queue: deque[list[TraceEvent]] = deque()
        self._queued = 0
        self._in_flight = 0
        self._sending: set[str] = set()  # ids of the events handed to the posters
        self._flushing = False
        self._closed = False
        self._sent = 0
        self._dropped = 0
        self._rejected = 0
        # At most one encoded batch waits while max_in_flight are being sent.
        self._encoded: queue.Queue[_Encoded | None] = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="decision-trace-sender", daemon=True)
        self._posters = [
            threading.Thread(target=self._post, name=f"decision-trace-poster-{n}", daemon=True)
            for n in range(max_in_flight)
        ]
        self._thread.start()
        for poster in self._posters:
            poster.start()
        with _running_lock:
            _running.add(self)

    @staticmethod
    def check_options(
        *, batch_size: int, flush_interval: float, max_queue_size: int, max_in_flight: int = 2
    ) -> None:
        """Refuse sizes and intervals that cannot work, with what to pass instead."""
        for name, value, low, high in (
            ("batch_size", batch_size, 1, _MAX_BATCH_SIZE),
            ("max_queue_size", max_queue_size, 1, 10_000_000),
            ("max_in_flight", max_in_flight, 1, _MAX_IN_FLIGHT),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigurationError(
                    f"{name} must be a whole number from {low} to {high:,}; got {value!r}."
                )
        if (
            isinstance(flush_interval, bool)
            or not isinstance(flush_interval, int | float)
            or not 0 < flush_interval <= 3600
        ):
            raise ConfigurationError(
                f"flush_interval must be seconds above 0 and at most 3600; got {flush_interval!r}."
            )

    # The caller's side ---------------------------------------------------

    def enqueue(self, events: list[TraceEvent]) -> None:
        """Queue events that must travel together (a span's tree); never blocks.

        Raises:
            DeliveryQueueFullError: they do not fit; none of them was queued.
        """
        with self._cond:
            if self._closed:
                raise ConfigurationError("This client is closed; make a new one to record.")
            if self._queued + len(events) > self._max_queue:
                self._rejected += len(events)
                raise DeliveryQueueFullError(QUEUE_FULL.format(size=self._queued))
            self._queue.append(events)
            self._queued += len(events)
            if self._queued >= self._batch_size:
                self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued now; ``True`` once nothing is pending, ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._flushing = True
            self._cond.notify_all()
            while self._queued or self._in_flight:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self, timeout: float | None = None) -> bool:
        """Flush, then stop the thread; ``False`` if events were left behind.

        Events still queued when ``timeout`` runs out are given up: counted as
        dropped and logged. A batch being sent then finishes in the background.
        """
        done = self.flush(timeout)
        with _running_lock:
            _running.discard(self)
        with self._cond:
            self._closed = True
            left = self._queued
            if not done:
                self._dropped += left
                self._queue.clear()
                self._queued = 0
            self._cond.notify_all()
        if done:
            for thread in (self._thread, *self._posters):
                thread.join(timeout)
        else:
            logger.warning(
                "decision_trace: closing with %d queued event(s) not delivered (flush timed out)",
                left,
            )
        return done

    @property
    def alive(self) -> bool:
        """A thread is still running (a batch in flight after a timed-out close)."""
        return any(thread.is_alive() for thread in (self._thread, *self._posters))

    def stats(self) -> DeliveryStats:
        with self._cond:
            return DeliveryStats(
                sent=self._sent,
                retried=self._transport.retried,
                dropped=self._dropped,
                rejected=self._rejected,
                pending=self._queued + self._in_flight,
            )

    # The thread's side ---------------------------------------------------

    def _take(self) -> list[TraceEvent] | None:
        """The next batch (whole groups, up to ``batch_size`` unless one group is larger)."""
        with self._cond:
            deadline = time.monotonic() + self._interval
            while not self._closed and not self._flushing and self._queued < self._batch_size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if not self._queue:
                self._flushing = False
                self._cond.notify_all()
                return None if self._closed else []
            batch: list[TraceEvent] = []
            while self._queue and (
                not batch or len(batch) + len(self._queue[0]) <= self._batch_size
            ):
                batch.extend(self._queue.popleft())
            self._queued -= len(batch)
            self._in_flight += len(batch)
            return batch

    def _run(self) -> None:
        """The sender thread: take and encode batches, hand them to the posters in order."""
        while True:
            batch = self._take()
            if batch is None:
                for _ in self._posters:
                    self._encoded.put(None)
                return
            if batch:
                try:
                    send = self._transport.prepare(batch)
                except Exception:
                    self._done(batch, sent=False)
                    logger.exception(
                        "decision_trace: a batch of %d event(s) could not be encoded and was "
                        "dropped (first id %s)",
                        len(batch),
                        batch[0].id,
                    )
                else:
                    self._hand_over(batch)
                    self._encoded.put((batch, send))

    def _hand_over(self, batch: list[TraceEvent]) -> None:
        """Wait until no parent of the batch's events is on the wire; mark the batch sending."""
        parents = {event.parent_event_id for event in batch} - {None}
        with self._cond:
            while not parents.isdisjoint(self._sending):
                self._cond.wait()
            self._sending.update(event.id for event in batch)

    def _post(self) -> None:
        """A poster thread: send encoded batches, one after the other, until told to stop."""
        while (encoded := self._encoded.get()) is not None:
            self._send(*encoded)

    def _send(self, batch: list[TraceEvent], send: Callable[[str | None], list[Receipt]]) -> None:
        sent = False
        try:
            send(uuid.uuid4().hex)
            sent = True
        except TracesError as exc:
            logger.error(
                "decision_trace: a batch of %d event(s) was dropped (first id %s): %s",
                len(batch),
                batch[0].id,
                exc,
            )
        except Exception:
            # The thread must outlive any bug below it, or every later event would wait forever.
            logger.exception(
                "decision_trace: a batch of %d event(s) was dropped (first id %s)",
                len(batch),
                batch[0].id,
            )
        finally:
            self._done(batch, sent=sent)

    def _done(self, batch: list[TraceEvent], *, sent: bool) -> None:
        with self._cond:
            if sent:
                self._sent += len(batch)
            else:
                self._dropped += len(batch)
            self._in_flight -= len(batch)
            self._sending.difference_update(event.id for event in batch)
            self._cond.notify_all()


@atexit.register
def _flush_at_exit() -> None:
    """Send what is still queued before the interpreter exits (at most the exit timeout each)."""
    with _running_lock:
        senders = list(_running)
    for sender in senders:
        sender.close(timeout=_exit_timeout())


def _exit_timeout() -> float:
    """``$DECISION_TRACE_EXIT_TIMEOUT`` seconds (default 10; a bad value is the default)."""
    try:
        seconds = float(os.environ.get(_EXIT_TIMEOUT_VARIABLE, _DEFAULT_EXIT_TIMEOUT))
    except ValueError:
        return _DEFAULT_EXIT_TIMEOUT
    return seconds if math.isfinite(seconds) and seconds >= 0 else _DEFAULT_EXIT_TIMEOUT
