"""Buffered delivery: a bounded queue and one background thread sending batches.

Like OpenTelemetry's batch span processor: ``record(wait=False)`` (or a client
made with ``batch=True``) only enqueues; the sender thread takes up to
``batch_size`` events when that many are waiting or ``flush_interval`` seconds
have passed, and sends them in one request. The transport retries connection
errors, 5xx and 429 with the same ``Idempotency-Key``; a batch that still
fails, or that the server refuses, is logged with its reason and counted as
dropped. A full queue refuses the new event with ``DeliveryQueueFullError``.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
import uuid
from collections import deque
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
    from decision_trace.transport import Transport

__all__ = ["BatchSender", "DeliveryStats"]

logger = logging.getLogger("decision_trace")

_MAX_BATCH_SIZE = 1_000
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
    """The queue and the thread of one client; see the module docstring."""

    def __init__(
        self,
        transport: Transport,
        *,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_queue_size: int = 10_000,
    ) -> None:
        self.check_options(
            batch_size=batch_size, flush_interval=flush_interval, max_queue_size=max_queue_size
        )
        self._transport = transport
        self._batch_size = batch_size
        self._interval = float(flush_interval)
        self._max_queue = max_queue_size
        self._cond = threading.Condition()
        self._queue: deque[list[TraceEvent]] = deque()
        self._queued = 0
        self._in_flight = 0
        self._flushing = False
        self._closed = False
        self._sent = 0
        self._dropped = 0
        self._rejected = 0
        self._thread = threading.Thread(target=self._run, name="decision-trace-sender", daemon=True)
        self._thread.start()
        with _running_lock:
            _running.add(self)

    @staticmethod
    def check_options(*, batch_size: int, flush_interval: float, max_queue_size: int) -> None:
        """Refuse sizes and intervals that cannot work, with what to pass instead."""
        for name, value, low, high in (
            ("batch_size", batch_size, 1, _MAX_BATCH_SIZE),
            ("max_queue_size", max_queue_size, 1, 10_000_000),
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
            self._thread.join(timeout)
        else:
            logger.warning(
                "decision_trace: closing with %d queued event(s) not delivered (flush timed out)",
                left,
            )
        return done

    @property
    def alive(self) -> bool:
        """The sender thread is still running (a batch in flight after a timed-out close)."""
        return self._thread.is_alive()

    def stats(self) -> DeliveryStats:
        with self._cond:
            return DeliveryStats(
                sent=self._sent,
                retried=int(getattr(self._transport, "retried", 0)),
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
            self._in_flight = len(batch)
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            if batch:
                self._send(batch)

    def _send(self, batch: list[TraceEvent]) -> None:
        sent = dropped = 0
        try:
            self._transport.send(batch, idempotency_key=uuid.uuid4().hex)
            sent = len(batch)
        except TracesError as exc:
            dropped = len(batch)
            logger.error(
                "decision_trace: a batch of %d event(s) was dropped (first id %s): %s",
                len(batch),
                batch[0].id,
                exc,
            )
        except Exception:
            # The thread must outlive any bug below it, or every later event would wait forever.
            dropped = len(batch)
            logger.exception(
                "decision_trace: a batch of %d event(s) was dropped (first id %s)",
                len(batch),
                batch[0].id,
            )
        finally:
            with self._cond:
                self._sent += sent
                self._dropped += dropped
                self._in_flight = 0
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
