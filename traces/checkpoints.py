"""WAL checkpoints of bulk writes on SQLite, taken off the writer.

In WAL mode a commit appends the changed pages to the ``-wal`` file, and once
that file holds more than ``wal_autocheckpoint`` pages (1,000 by default) the
committing connection copies them back into the database file and syncs it
before ``COMMIT`` returns. A ``record_many()`` batch of 5,000 events on a
million-event database writes about 15,000 pages, so every such commit paid
for that copy: about a third of the batch's time (see benchmarks/README.md).

``deferred_checkpoint`` wraps a bulk transaction (the outermost one, on an
SQLite file in WAL mode):

- the connection commits with its auto-checkpoint off and a 64 MiB page cache
  (SQLite's default is 2 MiB, too small for the index pages one batch
  touches), and gets both settings back right after, committed or not;
- the checkpoint goes to a thread of this process with its own connection to
  the file (``PRAGMA wal_checkpoint(PASSIVE)``: it copies what no reader still
  needs and blocks neither readers nor the next writer), so the caller goes on
  with its next batch on the other core;
- only a write that begins with the WAL fully copied back can start the WAL
  over. Batches that follow each other at once would otherwise keep
  appending to it, and every page read searches the whole WAL's index; so
  when the last checkpoint found the WAL longer than 64 MiB, the next bulk
  transaction first waits for the running checkpoint.

Nothing relies on that thread for durability or correctness: the committed
pages are in the WAL, readers find them there, and the next commit on any
connection whose auto-checkpoint is on checkpoints as it always did if the
thread has not caught up (or the process ended first).
``TRACES_SQLITE_BACKGROUND_CHECKPOINT = False`` turns all of this off.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

from traces.conf import background_checkpoint_enabled

__all__ = ["Checkpointer", "checkpoints_wait", "deferred_checkpoint"]

logger = logging.getLogger(__name__)

# A bulk transaction waits for the running checkpoint when the last one found the WAL
# longer than this many pages (64 MiB of 4 KiB pages).
_WAL_PAGES_BEFORE_WAITING = 16_384
# The page cache of a bulk transaction, in KiB when negative (SQLite's own convention).
_BULK_CACHE_SIZE = -65_536
_INSTANCES: weakref.WeakSet[Checkpointer] = weakref.WeakSet()
# How long a checkpoint thread stays idle before it closes its connection and ends.
_IDLE_SECONDS = 30.0
# How long the thread's connection waits for a lock before giving up on one checkpoint.
_BUSY_TIMEOUT_SECONDS = 20.0


class Checkpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` on one SQLite file, in a thread, on request.

    Requests that arrive while a checkpoint runs are folded into one more
    checkpoint after it. The thread starts on the first request and ends after
    ``idle_seconds`` without one; a forked child starts its own when it asks.

    Args:
        path: the database file.
        idle_seconds: how long the thread waits for a request before it ends.
    """

    def __init__(self, path: str, *, idle_seconds: float = _IDLE_SECONDS) -> None:
        self.path = path
        self.idle_seconds = idle_seconds
        self._lock = threading.Condition()
        self._requested = 0
        self._done = 0
        self._thread: threading.Thread | None = None
        self._wal_pages = 0
        _INSTANCES.add(self)

    @property
    def running(self) -> bool:
        """Whether this process has a checkpoint thread for the file now."""
        with self._lock:
            return self._thread is not None

    def request(self) -> None:
        """Ask for a checkpoint soon; returns at once."""
        with self._lock:
            self._requested += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"sqlite-checkpoint {self.path}", daemon=True
                )
                self._thread.start()
            self._lock.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every checkpoint requested so far has run (or failed); False on timeout."""
        with self._lock:
            target = self._requested
            return self._lock.wait_for(lambda: self._done >= target, timeout)

    def _after_fork(self) -> None:
        # A forked child inherits this object but not the thread (nor a lock that
        # thread may have held), and the parent's pending checkpoints are the parent's.
        self._lock = threading.Condition()
        self._thread, self._done = None, self._requested

    def settle(self, max_wal_pages: int) -> None:
        """Wait for the pending checkpoints if the last one found more than ``max_wal_pages``.

        At most as long as one checkpoint may wait for a lock: past that the
        caller goes on and the WAL is only longer for a while.
        """
        if self._wal_pages > max_wal_pages:
            self.wait(timeout=_BUSY_TIMEOUT_SECONDS)

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_SECONDS)
            self._serve(connection)
        except sqlite3.Error:
            # _checkpoint() handles its own errors: this one is the connect.
            logger.warning("Cannot open %s to checkpoint it", self.path, exc_info=True)
        finally:
            if connection is not None:
                connection.close()
            with self._lock:
                if self._thread is threading.current_thread():
                    # Ended by an error, not by idling: release the waiters; the
                    # next request starts a new thread.
                    self._thread, self._done = None, self._requested
                    self._lock.notify_all()

    def _serve(self, connection: sqlite3.Connection) -> None:
        while True:
            with self._lock:
                if not self._lock.wait_for(lambda: self._requested > self._done, self.idle_seconds):
                    # Under the same lock as the check, so that a request made from
                    # now on starts a new thread.
                    self._thread = None
                    return
                target = self._requested
            self._checkpoint(connection)
            with self._lock:
                self._done = target
                self._lock.notify_all()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        try:
            busy, wal_pages, copied = connection.execute(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).fetchone()
        except sqlite3.Error:
            # The next commit with auto-checkpoint on does the work instead.
            logger.warning("Background checkpoint of %s failed", self.path, exc_info=True)
            return
        self._wal_pages = wal_pages
        if busy or copied < wal_pages:
            logger.debug(
                "Checkpoint of %s copied %s of %s WAL pages (readers still use the rest)",
                self.path,
                copied,
                wal_pages,
            )


_CHECKPOINTERS: dict[str, Checkpointer] = {}
_CHECKPOINTERS_LOCK = threading.Lock()


def _reset_after_fork() -> None:
    global _CHECKPOINTERS_LOCK
    _CHECKPOINTERS_LOCK = threading.Lock()
    for checkpointer in list(_INSTANCES):
        checkpointer._after_fork()


os.register_at_fork(after_in_child=_reset_after_fork)


def _checkpointer(path: str) -> Checkpointer:
    with _CHECKPOINTERS_LOCK:
        checkpointer = _CHECKPOINTERS.get(path)
        if checkpointer is None:
            checkpointer = _CHECKPOINTERS[path] = Checkpointer(path)
        return checkpointer


def _wal_file(using: str) -> str | None:
    """The database file when the alias is an SQLite file in WAL mode, else None."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return None
    connection.ensure_connection()
    raw = connection.connection
    (mode,) = raw.execute("PRAGMA journal_mode").fetchone()
    if mode.lower() != "wal":
        return None
    files = {name: path for _, name, path in raw.execute("PRAGMA database_list")}
    return files.get("main") or None


@contextmanager
def deferred_checkpoint(using: str) -> Iterator[None]:
    """Around a bulk transaction: commit without checkpointing, checkpoint in the background.

    See the module docstring. A no-op inside an outer transaction (its own
    commit comes later), on PostgreSQL, on an in-memory or non-WAL SQLite
    database, and when ``TRACES_SQLITE_BACKGROUND_CHECKPOINT`` is False. If the
    block raises, the connection's settings are restored and no checkpoint is
    requested.
    """
    connection = connections[using]
    if connection.in_atomic_block or not background_checkpoint_enabled():
        yield
        return
    path = _wal_file(using)
    if path is None:
        yield
        return
    checkpointer = _checkpointer(path)
    checkpointer.settle(_WAL_PAGES_BEFORE_WAITING)
    raw = connection.connection
    (autocheckpoint,) = raw.execute("PRAGMA wal_autocheckpoint").fetchone()
    (cache_size,) = raw.execute("PRAGMA cache_size").fetchone()
    raw.execute("PRAGMA wal_autocheckpoint=0")
    raw.execute(f"PRAGMA cache_size={_BULK_CACHE_SIZE}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        raw.execute(f"PRAGMA cache_size={int(cache_size)}")
    checkpointer.request()


def checkpoints_wait(timeout: float | None = None) -> bool:
    """Block until the background checkpoints requested so far in this process have run.

    For a loader that wants the WAL folded back before it exits, and for
    benchmarks that count the checkpoints in. Returns False if ``timeout``
    seconds passed first.
    """
    with _CHECKPOINTERS_LOCK:
        checkpointers = list(_CHECKPOINTERS.values())
    return all(checkpointer.wait(timeout) for checkpointer in checkpointers)
