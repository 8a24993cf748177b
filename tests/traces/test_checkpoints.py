"""Background WAL checkpoints: pages reach the database file, the writer keeps its settings."""

from __future__ import annotations

import logging
import os
import sqlite3
import textwrap
import time
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test import override_settings

from tests.subprocess_report import run_for_report
from traces import checkpoints
from traces.checkpoints import Checkpointer, checkpoints_wait, deferred_checkpoint
from traces.checks import check_settings
from traces.conf import background_checkpoint_enabled


def _wal_database(path: Path, rows: int) -> None:
    """An SQLite file in WAL mode whose ``rows`` rows are committed but only in the WAL."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.execute("CREATE TABLE t (x TEXT)")
        db.execute("BEGIN")
        db.executemany("INSERT INTO t VALUES (?)", [(f"row {i} " * 20,) for i in range(rows)])
        db.execute("COMMIT")
        # Stay open: the last connection to close would checkpoint the WAL itself.
        _keep_open.append(db)
    except BaseException:
        db.close()
        raise


_keep_open: list[sqlite3.Connection] = []


@pytest.fixture(autouse=True)
def _close_kept_connections():
    yield
    while _keep_open:
        _keep_open.pop().close()


def _rows_in_database_file(path: Path) -> int:
    """Rows of ``t`` in the main file alone (``immutable`` ignores the WAL)."""
    reader = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return reader.execute("SELECT count(*) FROM t").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not even the table has been copied back yet
    finally:
        reader.close()


def test_checkpointer_copies_the_wal_into_the_database_file(tmp_path):
    """A requested checkpoint puts every committed row into the file itself."""
    path = tmp_path / "db.sqlite3"
    _wal_database(path, 3_000)
    assert _rows_in_database_file(path) == 0
    checkpointer = Checkpointer(str(path))
    checkpointer.request()
    assert checkpointer.wait(timeout=30)
    assert _rows_in_database_file(path) == 3_000


def test_checkpointer_folds_requests_and_ends_when_idle(tmp_path):
    """Many requests are served; the idle thread ends and a later request starts a new one."""
    path = tmp_path / "db.sqlite3"
    _wal_database(path, 10)
    checkpointer = Checkpointer(str(path), idle_seconds=0.05)
    for _ in range(5):
        checkpointer.request()
    assert checkpointer.wait(timeout=30)
    deadline = time.monotonic() + 30
    while checkpointer.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not checkpointer.running
    writer = _keep_open[0]
    writer.execute("INSERT INTO t VALUES ('later')")
    checkpointer.request()
    assert checkpointer.running
    assert checkpointer.wait(timeout=30)
    assert _rows_in_database_file(path) == 11


def test_checkpointer_settle_waits_only_after_a_long_wal(tmp_path):
    """Past the limit the next bulk write waits for the pending checkpoint, then the WAL
    starts over; under it nobody waits."""
    path = tmp_path / "db.sqlite3"
    _wal_database(path, 3_000)
    writer = _keep_open[0]
    checkpointer = Checkpointer(str(path))
    checkpointer.request()
    assert checkpointer.wait(timeout=30)
    long_wal = checkpointer._wal_pages
    assert long_wal > 10
    writer.execute("INSERT INTO t VALUES ('one more')")
    checkpointer.request()
    checkpointer.settle(10)
    assert checkpointer._done == checkpointer._requested
    # Fully copied back and nobody reading: this write starts the WAL over.
    writer.execute("INSERT INTO t VALUES ('first of a new WAL')")
    checkpointer.request()
    assert checkpointer.wait(timeout=30)
    assert 0 < checkpointer._wal_pages < long_wal
    assert _rows_in_database_file(path) == 3_002


def test_checkpointer_in_a_forked_child_runs_its_own_thread(tmp_path):
    """A child forked while the parent's thread lives starts its own and is not stuck."""
    path = tmp_path / "db.sqlite3"
    _wal_database(path, 10)
    checkpointer = Checkpointer(str(path))
    checkpointer.request()
    assert checkpointer.wait(timeout=30)
    assert checkpointer.running
    _keep_open[0].execute("INSERT INTO t VALUES ('from the parent')")
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        try:
            idle_at_first = not checkpointer.running and checkpointer.wait(timeout=1)
            checkpointer.request()
            ok = idle_at_first and checkpointer.wait(timeout=30)
            os._exit(0 if ok and _rows_in_database_file(path) == 11 else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_checkpointer_on_a_file_it_cannot_open_logs_and_never_hangs(tmp_path, caplog):
    """A failed open is logged, the waiters are released, the next request tries again."""
    checkpointer = Checkpointer(str(tmp_path / "missing-folder" / "db.sqlite3"))
    with caplog.at_level(logging.WARNING, logger="traces.checkpoints"):
        checkpointer.request()
        assert checkpointer.wait(timeout=30)
    assert "Cannot open" in caplog.text
    assert not checkpointer.running
    checkpointer.request()
    assert checkpointer.wait(timeout=30)


def test_checkpoints_wait_with_nothing_requested_returns_at_once():
    """No checkpointer, or all caught up: True without blocking."""
    assert checkpoints_wait(timeout=0.1)


def _registered() -> dict[str, Checkpointer]:
    return dict(checkpoints._CHECKPOINTERS)


def _sqlite_settings() -> tuple[int, int] | None:
    if connection.vendor != "sqlite":
        return None
    raw = connection.connection
    return (
        raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
        raw.execute("PRAGMA cache_size").fetchone()[0],
    )


@pytest.mark.django_db(transaction=True)
def test_deferred_checkpoint_is_a_no_op_on_the_test_database():
    """In-memory SQLite and PostgreSQL have no WAL file to hand over: nothing changes."""
    before, settings_before = _registered(), _sqlite_settings()
    with deferred_checkpoint("default"):
        assert _sqlite_settings() == settings_before
    assert _registered() == before


@pytest.mark.django_db
def test_deferred_checkpoint_inside_an_outer_transaction_does_nothing():
    """The outer transaction commits later, with the connection's own settings."""
    before, settings_before = _registered(), _sqlite_settings()
    with transaction.atomic(), deferred_checkpoint("default"):
        assert _sqlite_settings() == settings_before
    assert _registered() == before


@pytest.mark.parametrize("value", ["yes", 1, None, [True]])
def test_background_checkpoint_setting_must_be_a_bool(value):
    """traces.E002 names the setting and the value; the accessor refuses it too."""
    with override_settings(TRACES_SQLITE_BACKGROUND_CHECKPOINT=value):
        errors = check_settings()
        assert [error.id for error in errors] == ["traces.E002"]
        assert "TRACES_SQLITE_BACKGROUND_CHECKPOINT" in errors[0].msg
        with pytest.raises(ImproperlyConfigured, match="must be True or False"):
            background_checkpoint_enabled()


def test_background_checkpoint_setting_defaults_to_on():
    """Unset is True; False is accepted."""
    assert check_settings() == []
    assert background_checkpoint_enabled() is True
    with override_settings(TRACES_SQLITE_BACKGROUND_CHECKPOINT=False):
        assert check_settings() == []
        assert background_checkpoint_enabled() is False


_SCRIPT = textwrap.dedent(
    """
    import json, os, sqlite3, sys
    import django
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from traces import DecisionTraceClient
    from traces.checkpoints import _CHECKPOINTERS, checkpoints_wait
    from decision_trace.exceptions import TraceValidationError
    from traces.services import trace_record_many

    call_command("migrate", verbosity=0)
    settings.TRACES_SQLITE_BACKGROUND_CHECKPOINT = sys.argv[1] == "on"
    client = DecisionTraceClient()

    def batch(n):
        return [
            client.trace("order.created", f"Order {i} " + "x" * 400)
            .by_user(f"user-{i % 50}", "Shop User")
            .affecting_order(f"ord-{i}", state={"status": "new"})
            .because("Customer checked out")
            .build()
            for i in range(n)
        ]

    def main_file_events():
        reader = sqlite3.connect(f"file:{os.environ['SQLITE_PATH']}?immutable=1", uri=True)
        try:
            return reader.execute("SELECT count(*) FROM traces_eventrecord").fetchone()[0]
        finally:
            reader.close()

    raw = connection.connection
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    seen = []

    def spy(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "traces_eventrecord"'):
            seen.append(
                [raw.execute(f"PRAGMA {name}").fetchone()[0]
                 for name in ("wal_autocheckpoint", "cache_size")]
            )
        return execute(sql, params, many, context)

    first = batch(2000)
    with connection.execute_wrapper(spy):
        trace_record_many(events=first)
    result = {
        "during": seen,
        "cache_size": raw.execute("PRAGMA cache_size").fetchone()[0],
        "autocheckpoint": raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
        "checkpointers": len(_CHECKPOINTERS),
        "waited": checkpoints_wait(timeout=60),
        "in_file": main_file_events(),
    }
    try:
        trace_record_many(events=batch(1500) + first[:1])
    except TraceValidationError:
        result["refused"] = True
    result["autocheckpoint_after_refusal"] = (
        raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    )
    client.trace("order.created", "One more").by_user("user-1", "Shop User").record()
    result["requests"] = sum(c._requested for c in _CHECKPOINTERS.values())
    print(json.dumps(result))
    """
)


@pytest.mark.parametrize("mode", ["on", "off"])
def test_record_many_on_an_sqlite_file_checkpoints_in_the_background(tmp_path, mode):
    """On a WAL file the batch is in the database file once the thread ran; the writer's
    auto-checkpoint is back after a batch and after a refused one; off means no thread."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "DEBUG": "1",
    }
    env.pop("DATABASE_URL", None)
    outcome = run_for_report(["-c", _SCRIPT, mode], env=env, timeout=300)
    assert outcome["autocheckpoint"] == 1000
    assert outcome["cache_size"] == -2000
    assert outcome["autocheckpoint_after_refusal"] == 1000
    assert outcome["refused"] is True
    assert outcome["waited"] is True
    if mode == "on":
        # The batch committed with auto-checkpoint off and a 64 MiB cache; the thread
        # then copied every event into the database file.
        assert outcome["during"] == [[0, -65536]]
        assert outcome["checkpointers"] == 1
        assert outcome["in_file"] == 2000
        # Neither the refused batch nor a single record() asked for one.
        assert outcome["requests"] == 1
    else:
        assert outcome["during"] == [[1000, -2000]]
        assert outcome["checkpointers"] == 0
        assert outcome["requests"] == 0
