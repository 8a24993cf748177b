"""Django's SQLite backend, with write transactions queued on a lock file.

SQLite lets one writer in at a time. A second writer's ``BEGIN IMMEDIATE``
finds the database locked and SQLite's busy handler puts it to sleep for 1,
then 2, 5, 10 ... milliseconds between tries, however soon the first writer
commits. With two gunicorn workers recording single events that sleeping
was most of the time spent: a write holds the lock for about half a
millisecond, and a quarter of the requests waited 2.5 ms or more.

So before ``BEGIN IMMEDIATE`` a connection takes an exclusive ``flock`` on
``<database>-lock`` next to the database file, and gives it back when the
transaction commits or rolls back (or the connection closes). Waiting
writers poll the lock every 50-500 microseconds and go in one after the
other. The lock only orders writers that would have waited anyway: a
writer that still finds it taken after the connection's ``timeout`` goes on
to ``BEGIN IMMEDIATE`` without it, and SQLite's own busy timeout decides, as
without this backend. Statements outside a transaction (autocommit) and
in-memory databases do not use it.

The WAL is checkpointed by the commit that leaves ``CHECKPOINT_PAGES`` of it
unchecked, once that commit has given the lock back (see
``DatabaseWrapper._checkpoint_if_due``).
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import struct
import time
from typing import Any

from django.db.backends.sqlite3 import base

__all__ = ["CHECKPOINT_PAGES", "DatabaseWrapper", "QmarkCursor", "WalIndex", "WriterLock"]

logger = logging.getLogger(__name__)

_FIRST_WAIT = 0.000_05
_LONGEST_WAIT = 0.000_5
# A commit checkpoints the WAL once this many of its pages are not in the database
# file yet (SQLite's own automatic checkpoint does at 1,000).
CHECKPOINT_PAGES = 1_000
# SQLite's automatic checkpoint stays on, further out, for writes outside a
# transaction (each statement commits by itself, and no commit of ours follows it).
_AUTOCHECKPOINT_PAGES = 10 * CHECKPOINT_PAGES
# Statements whose ``%s`` placeholders were turned into ``?`` (see QmarkCursor).
_QMARK: dict[str, str] = {}
_QMARK_LIMIT = 2_000


class QmarkCursor(base.SQLiteCursorWrapper):
    """Django's SQLite cursor, converting each statement's placeholders once per process.

    Django rewrites ``%s`` into ``?`` with a regular expression on every
    ``execute``: 6.8 µs for the event table's forty-column ``INSERT`` (a
    dictionary lookup takes 0.03), a quarter of what SQLite takes to store
    the row. The text of a statement is the same from one call to the next,
    so its conversion is kept (at most 2,000 statements; then they are
    forgotten and converted again).
    """

    def convert_query(self, query: str, *, param_names: list[str] | None = None) -> str:
        if param_names is not None:
            converted: str = super().convert_query(query, param_names=param_names)  # type: ignore[misc]
            return converted
        found = _QMARK.get(query)
        if found is None:
            found = super().convert_query(query)  # type: ignore[misc]
            if len(_QMARK) >= _QMARK_LIMIT:
                _QMARK.clear()
            _QMARK[query] = found
        return found


class WriterLock:
    """An exclusive ``flock`` on one file, taken with a deadline; one per connection."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self.held = False
        self.unusable = False

    def acquire(self, timeout: float) -> bool:
        """Take the lock, waiting at most ``timeout`` seconds; whether it was taken.

        A lock file that cannot be opened (a read-only directory, another
        user's file) is logged once and the lock is not taken: SQLite's own
        locking still keeps writers apart.
        """
        if self._fd is None:
            if self.unusable:
                return False
            try:
                # The database file's permissions, as SQLite gives its -wal and -shm files.
                mode = os.stat(self.path.removesuffix("-lock")).st_mode & 0o666
            except OSError:
                mode = 0o644
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
            except OSError as exc:
                self.unusable = True
                logger.warning(
                    "SQLite writers will not queue on %s (%s); SQLite's busy timeout applies.",
                    self.path,
                    exc,
                )
                return False
        deadline = time.monotonic() + timeout
        wait = _FIRST_WAIT
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(wait)
                wait = min(wait * 2, _LONGEST_WAIT)
            else:
                self.held = True
                return True

    def release(self) -> None:
        if self.held and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.held = False

    def close(self) -> None:
        self.release()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class WalIndex:
    """How much of a database's WAL is not checkpointed yet, read from its ``-shm`` file.

    The WAL-index header (https://www.sqlite.org/walformat.html, unchanged
    since SQLite 3.7.0) holds ``mxFrame``, the last valid frame of the WAL, at
    byte 16, and the checkpoint information's ``nBackfill``, the frames
    already copied into the database, at byte 96, in the machine's byte order.
    They are read without SQLite's locks: a figure to decide when to
    checkpoint, not one to rely on. The file is opened for each read, so a
    ``-shm`` file made anew is read as it is now.
    """

    _VERSION = 3_007_000
    _HEADER = struct.Struct("=I12xI")
    _BACKFILL = struct.Struct("=I")

    def __init__(self, path: str) -> None:
        self.path = path

    def pending(self) -> int | None:
        """Frames in the WAL not yet in the database; None when there is no readable index."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            data = os.pread(fd, 100, 0)
        except OSError:
            return None
        finally:
            os.close(fd)
        if len(data) < 100:
            return None
        version, last_frame = self._HEADER.unpack_from(data)
        if version != self._VERSION:
            return None
        (backfilled,) = self._BACKFILL.unpack_from(data, 96)
        return max(last_frame - backfilled, 0)


class DatabaseWrapper(base.DatabaseWrapper):
    """``django.db.backends.sqlite3`` whose write transactions queue on ``<NAME>-lock``.

    It extends the hooks Django's ``atomic()`` calls (django-stubs leaves these
    private methods out, hence the ``type: ignore``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer_lock: WriterLock | None = None
        self._wal_index: WalIndex | None = None

    def get_new_connection(self, conn_params: dict[str, Any]) -> sqlite3.Connection:
        connection: sqlite3.Connection = super().get_new_connection(conn_params)
        if not self.is_in_memory_db():
            connection.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT_PAGES}")
        return connection

    def create_cursor(self, name: str | None = None) -> QmarkCursor:
        return self.connection.cursor(factory=QmarkCursor)

    def _start_transaction_under_autocommit(self) -> None:
        lock = self._writer_lock_for_file()
        if lock is not None and not lock.held:
            lock.acquire(float(self.settings_dict["OPTIONS"].get("timeout", 5)))
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_writer_lock()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_writer_lock()
        self._checkpoint_if_due()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_writer_lock()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            if self._writer_lock is not None:
                self._writer_lock.close()

    def _writer_lock_for_file(self) -> WriterLock | None:
        if self.is_in_memory_db():
            return None
        if self._writer_lock is None:
            self._writer_lock = WriterLock(f"{self.settings_dict['NAME']}-lock")
        return self._writer_lock

    def _checkpoint_if_due(self) -> None:
        """After a commit, the lock given back: copy the WAL into the database file once
        ``CHECKPOINT_PAGES`` of it are not there yet.

        SQLite's automatic checkpoint runs inside the commit that crosses its
        threshold, while that writer still holds ``<database>-lock``: every
        writer queued behind it waited the checkpoint's two file syncs too (with
        two gunicorn workers, one single-event POST in twelve took over 5 ms,
        42 % of their server time). Here the next writer goes in while this
        connection checkpoints; a ``PASSIVE`` checkpoint does not stop it
        writing. A checkpoint that fails is logged, not raised: the
        transaction is committed, and the next commit tries again.
        """
        if self.is_in_memory_db():
            return
        if self._wal_index is None:
            self._wal_index = WalIndex(f"{self.settings_dict['NAME']}-shm")
        pending = self._wal_index.pending()
        if pending is None or pending < CHECKPOINT_PAGES or self.connection is None:
            return
        try:
            self.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            name = self.settings_dict["NAME"]
            logger.warning("SQLite's WAL checkpoint of %s failed: %s", name, exc)

    def _release_writer_lock(self) -> None:
        """Give the lock back once the transaction is over (a failed COMMIT leaves it open)."""
        lock = self._writer_lock
        if lock is not None and lock.held:
            sqlite_connection = self.connection
            if sqlite_connection is None or not sqlite_connection.in_transaction:
                lock.release()
