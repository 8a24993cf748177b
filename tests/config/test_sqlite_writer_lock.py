"""SQLite write transactions queue on ``<database>-lock`` (``config.sqlite``).

Each test opens its own connections to a SQLite file in ``tmp_path`` through
a ``ConnectionHandler`` (thread-local connections, as Django's own), so it
runs the same whichever database the suite uses. ``atomic()`` only knows the
configured aliases, so these tests begin and end transactions the way it
does (``_transaction``); a child process checks ``atomic()`` itself on the
default SQLite file database.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db.utils import ConnectionHandler, OperationalError

from config.sqlite.base import CHECKPOINT_PAGES, DatabaseWrapper, WalIndex, WriterLock
from tests.subprocess_report import ROOT, clean_env, run_for_report

ALIAS = "default"  # a handler of its own: not the suite's default


@pytest.fixture(autouse=True)
def _own_connections(django_db_blocker):
    with django_db_blocker.unblock():
        yield


@contextmanager
def _transaction(handler: ConnectionHandler) -> Iterator[None]:
    """What ``atomic()`` does around its outermost block."""
    connection = handler[ALIAS]
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    try:
        yield
    except BaseException:
        connection.rollback()
        raise
    else:
        connection.commit()
    finally:
        connection.set_autocommit(True)


def _handler(path, **options) -> ConnectionHandler:
    return ConnectionHandler(
        {
            ALIAS: {
                "ENGINE": settings.SQLITE_ENGINE,
                "NAME": str(path),
                "OPTIONS": {**settings.SQLITE_OPTIONS, **options},
            }
        }
    )


def _create_table(handler: ConnectionHandler) -> None:
    with handler[ALIAS].cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, who TEXT)")
    handler[ALIAS].close()


def _rows(handler: ConnectionHandler) -> list[str]:
    with handler[ALIAS].cursor() as cursor:
        cursor.execute("SELECT who FROM t ORDER BY id")
        return [who for (who,) in cursor.fetchall()]


def _run_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


@pytest.fixture
def database(tmp_path):
    """A SQLite file with one table, and the handler of its connections."""
    path = tmp_path / "db.sqlite3"
    handler = _handler(path)
    _create_table(handler)
    return path, handler


def _lock_is_free(path) -> bool:
    probe = WriterLock(f"{path}-lock")
    try:
        taken = probe.acquire(0)
        return taken
    finally:
        probe.close()


def test_a_second_writer_waits_for_the_first_to_commit_then_writes(database):
    path, handler = database
    holding, done = threading.Event(), threading.Event()
    events: list[tuple[str, float]] = []
    failures: list[BaseException] = []

    def first() -> None:
        try:
            with _transaction(handler):
                handler[ALIAS].cursor().execute("INSERT INTO t (who) VALUES ('first')")
                holding.set()
                time.sleep(0.3)
            events.append(("first committed", time.monotonic()))
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            handler[ALIAS].close()
            done.set()

    def second() -> None:
        try:
            holding.wait(10)
            with _transaction(handler):
                events.append(("second began", time.monotonic()))
                handler[ALIAS].cursor().execute("INSERT INTO t (who) VALUES ('second')")
        except BaseException as exc:
            failures.append(exc)
        finally:
            handler[ALIAS].close()

    _run_all([threading.Thread(target=first), threading.Thread(target=second)])
    assert failures == []
    assert [name for name, _ in events] == ["first committed", "second began"]
    assert events[1][1] >= events[0][1]
    assert _rows(handler) == ["first", "second"]
    assert Path(f"{path}-lock").exists()
    assert _lock_is_free(path)


def test_many_writers_in_threads_lose_nothing(database):
    path, handler = database
    failures: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for n in range(40):
                with _transaction(handler):
                    handler[ALIAS].cursor().execute(
                        "INSERT INTO t (who) VALUES (%s)", [f"{name}-{n}"]
                    )
        except BaseException as exc:
            failures.append(exc)
        finally:
            handler[ALIAS].close()

    _run_all([threading.Thread(target=writer, args=(f"w{i}",)) for i in range(4)])
    assert failures == []
    rows = _rows(handler)
    assert sorted(rows) == sorted(f"w{i}-{n}" for i in range(4) for n in range(40))
    assert _lock_is_free(path)


def test_the_lock_is_given_back_on_rollback_and_on_a_failed_statement(database):
    path, handler = database
    held_inside: list[bool] = []

    def undone() -> None:
        with _transaction(handler):
            handler[ALIAS].cursor().execute("INSERT INTO t (who) VALUES ('undone')")
            held_inside.append(not _lock_is_free(path))
            raise ZeroDivisionError

    def failing() -> None:
        with _transaction(handler):
            handler[ALIAS].cursor().execute("INSERT INTO no_such_table VALUES (1)")

    with pytest.raises(ZeroDivisionError):
        undone()
    assert held_inside == [True]
    assert _lock_is_free(path)
    with pytest.raises(OperationalError):
        failing()
    assert _lock_is_free(path)
    assert _rows(handler) == []
    handler[ALIAS].close()


def test_closing_the_connection_gives_the_lock_back(database):
    path, handler = database
    connection = handler[ALIAS]
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    connection.cursor().execute("INSERT INTO t (who) VALUES ('never committed')")
    assert not _lock_is_free(path)
    connection.close()
    assert _lock_is_free(path)
    assert _rows(handler) == []


def test_a_writer_that_waits_past_the_timeout_goes_on_without_the_lock(tmp_path):
    """A lock held by something that is not writing (a stuck process) delays, never blocks."""
    path = tmp_path / "db.sqlite3"
    handler = _handler(path, timeout=0.2)
    _create_table(handler)
    squatter = WriterLock(f"{path}-lock")
    assert squatter.acquire(0)
    try:
        started = time.monotonic()
        with _transaction(handler):
            handler[ALIAS].cursor().execute("INSERT INTO t (who) VALUES ('late')")
        assert time.monotonic() - started >= 0.2
    finally:
        squatter.close()
    assert _rows(handler) == ["late"]
    handler[ALIAS].close()


def test_a_lock_file_that_cannot_be_opened_leaves_writes_to_sqlite(database, caplog):
    """Another user's lock file, a read-only folder: logged once, and the writes still work."""
    path, handler = database
    Path(f"{path}-lock").mkdir()  # os.open of a directory for writing fails
    with caplog.at_level(logging.WARNING, logger="config.sqlite.base"):
        for n in range(3):
            with _transaction(handler):
                handler[ALIAS].cursor().execute("INSERT INTO t (who) VALUES (%s)", [f"w{n}"])
    assert _rows(handler) == ["w0", "w1", "w2"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "config.sqlite.base"]
    assert len(warnings) == 1
    assert "will not queue" in warnings[0]
    handler[ALIAS].close()


def test_the_lock_file_has_the_database_files_permissions(database):
    path, handler = database
    path.chmod(0o640)
    with _transaction(handler):
        handler[ALIAS].cursor().execute("INSERT INTO t (who) VALUES ('x')")
    handler[ALIAS].close()
    assert Path(f"{path}-lock").stat().st_mode & 0o777 == 0o640 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_statements_outside_a_transaction_and_memory_databases_take_no_lock(database):
    path, handler = database
    squatter = WriterLock(f"{path}-lock")
    assert squatter.acquire(0)
    try:
        with handler[ALIAS].cursor() as cursor:  # autocommit: SQLite's own locking only
            cursor.execute("INSERT INTO t (who) VALUES ('autocommit')")
    finally:
        squatter.close()
    assert _rows(handler) == ["autocommit"]
    handler[ALIAS].close()

    memory = ConnectionHandler(
        {ALIAS: {"ENGINE": settings.SQLITE_ENGINE, "NAME": ":memory:", "OPTIONS": {}}}
    )
    with memory[ALIAS].cursor() as cursor:
        cursor.execute("CREATE TABLE m (x)")
    with _transaction(memory):
        memory[ALIAS].cursor().execute("INSERT INTO m VALUES (1)")
    assert memory[ALIAS]._writer_lock_for_file() is None
    memory[ALIAS].close()


def test_the_writer_lock_refuses_nothing_and_reports_what_it_holds(tmp_path):
    lock = WriterLock(str(tmp_path / "x-lock"))
    other = WriterLock(str(tmp_path / "x-lock"))
    assert lock.acquire(0)
    assert lock.held
    assert other.acquire(0.05) is False
    assert not other.held
    lock.release()
    lock.release()  # twice is harmless
    assert other.acquire(0)
    assert other.held
    other.close()
    lock.close()
    lock.close()


_ATOMIC = """
import json, django
django.setup()
from django.conf import settings
from django.db import connection, transaction
from config.sqlite.base import WriterLock

def free():
    probe = WriterLock(settings.DATABASES["default"]["NAME"] + "-lock")
    try:
        return probe.acquire(0)
    finally:
        probe.close()

with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE t (x)")
with transaction.atomic():
    connection.cursor().execute("INSERT INTO t VALUES (1)")
    inside = free()
    with transaction.atomic():  # a savepoint keeps the outer block's lock
        connection.cursor().execute("INSERT INTO t VALUES (2)")
        in_savepoint = free()
after = free()
print(json.dumps({
    "engine": connection.settings_dict["ENGINE"], "inside": inside,
    "in_savepoint": in_savepoint, "after": after,
}))
"""


@pytest.mark.parametrize("configured_by", ["SQLITE_PATH", "DATABASE_URL"])
def test_atomic_on_a_sqlite_file_holds_the_lock_until_it_commits(tmp_path, configured_by):
    path = tmp_path / "db.sqlite3"
    where = {"SQLITE_PATH": str(path)}
    if configured_by == "DATABASE_URL":
        where = {"DATABASE_URL": f"sqlite:///{path}"}
    report = run_for_report(
        ["-c", _ATOMIC],
        env=clean_env(
            DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1", PYTHONPATH=str(ROOT), **where
        ),
    )
    assert report == {
        "engine": "config.sqlite",
        "inside": False,
        "in_savepoint": False,
        "after": True,
    }


def test_cursors_convert_each_statement_once_and_keep_percent_signs(database, monkeypatch):
    """``QmarkCursor``: ``%s`` becomes ``?`` and ``%%`` a percent sign, once per statement
    text; named parameters still work; a full cache is emptied, not grown."""
    from config.sqlite import base

    monkeypatch.setattr(base, "_QMARK", {})
    monkeypatch.setattr(base, "_QMARK_LIMIT", 3)
    _, handler = database
    connection = handler[ALIAS]
    with connection.cursor() as cursor:
        assert isinstance(cursor.cursor, base.QmarkCursor)
        insert = "INSERT INTO t (who) VALUES (%s)"
        cursor.execute(insert, ["100%% sure"])
        cursor.execute(insert, ["%s is not a placeholder here"])
        assert base._QMARK[insert] == "INSERT INTO t (who) VALUES (?)"
        cursor.execute("SELECT who FROM t WHERE who LIKE '100%%' AND id > %s", [0])
        assert cursor.fetchall() == [("100%% sure",)]
        cursor.execute("SELECT who FROM t WHERE id = %(id)s", {"id": 2})
        assert cursor.fetchall() == [("%s is not a placeholder here",)]
        for n in range(10):
            cursor.execute(f"SELECT %s + {n}", [1])
            assert cursor.fetchone() == (1 + n,)
            assert len(base._QMARK) <= 3
    connection.close()


def test_the_wal_index_says_what_sqlite_says(database):
    """WalIndex.pending() is the frames written and not checkpointed yet; None without a
    readable index (no file, one that cannot be read, too short, another format)."""
    path, handler = database
    connection = handler[ALIAS]
    connection.ensure_connection()
    connection.connection.execute("PRAGMA wal_autocheckpoint=0")
    for n in range(5):
        with handler[ALIAS].cursor() as cursor:
            cursor.execute("INSERT INTO t (who) VALUES (%s)", [f"w{n}" * 2000])
    index = WalIndex(f"{path}-shm")
    pending = index.pending()
    assert pending is not None
    assert pending >= 5
    raw = sqlite3.connect(path)
    busy, frames, done = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    raw.close()
    assert (busy, frames - done) == (0, 0)
    assert pending == frames
    assert index.pending() == 0
    connection.close()
    assert WalIndex(str(path.parent / "absent-shm")).pending() is None
    short = path.parent / "short-shm"
    short.write_bytes(b"\0" * 20)
    assert WalIndex(str(short)).pending() is None
    other = path.parent / "other-shm"
    other.write_bytes(b"\x01" * 136)
    assert WalIndex(str(other)).pending() is None
    assert WalIndex(str(path.parent)).pending() is None  # opens, but cannot be read


def test_commits_checkpoint_the_wal_after_giving_the_lock_back(database, monkeypatch):
    """SQLite's own automatic checkpoint is set 10 times further out; each commit that
    leaves CHECKPOINT_PAGES or more frames unchecked copies them, the lock already free."""
    path, handler = database
    connection = handler[ALIAS]
    calls: list[tuple[bool, int | None]] = []
    checkpoint = DatabaseWrapper._checkpoint_if_due

    def watched(self: DatabaseWrapper) -> None:
        calls.append((self._writer_lock.held, WalIndex(f"{path}-shm").pending()))
        checkpoint(self)

    monkeypatch.setattr(DatabaseWrapper, "_checkpoint_if_due", watched)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == 10 * CHECKPOINT_PAGES
    for _ in range(CHECKPOINT_PAGES // 2):
        with _transaction(handler):
            connection.cursor().execute("INSERT INTO t (who) VALUES (%s)", ["x" * 9000])
    assert calls
    assert not any(held for held, _ in calls)
    assert max(pending for _, pending in calls) >= CHECKPOINT_PAGES
    pending = WalIndex(f"{path}-shm").pending()
    assert pending is not None
    assert pending < CHECKPOINT_PAGES
    assert len(_rows(handler)) == CHECKPOINT_PAGES // 2
    connection.close()


def test_a_failed_checkpoint_is_logged_and_the_commit_stands(database, caplog):
    """A checkpoint SQLite refuses (here its authorizer denies the PRAGMA) is a warning:
    the transaction is committed already and the next commit tries again."""
    _, handler = database
    connection = handler[ALIAS]
    connection.ensure_connection()

    def deny_checkpoint(action: int, name: str | None, *args: object) -> int:
        refused = action == sqlite3.SQLITE_PRAGMA and name == "wal_checkpoint"
        return sqlite3.SQLITE_DENY if refused else sqlite3.SQLITE_OK

    connection.connection.set_authorizer(deny_checkpoint)
    with caplog.at_level(logging.WARNING, logger="config.sqlite.base"):
        for _ in range(CHECKPOINT_PAGES // 2):
            with _transaction(handler):
                connection.cursor().execute("INSERT INTO t (who) VALUES (%s)", ["y" * 9000])
    assert "WAL checkpoint" in caplog.text
    assert len(_rows(handler)) == CHECKPOINT_PAGES // 2
    connection.close()
