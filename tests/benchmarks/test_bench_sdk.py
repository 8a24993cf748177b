"""benchmarks/bench_sdk.py runs small and reports its three per-call figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.subprocess_report import ROOT


def test_bench_sdk_small_run_reports_every_figure():
    completed = subprocess.run(
        [sys.executable, "benchmarks/bench_sdk.py", "--events=1500", "--repeat=1", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["events"] == 1500
    figures = report["microseconds_per_call"]
    assert set(figures) == {
        "record() of a ready builder",
        "trace()...record(), typical event",
        "order_created()...record()",
    }
    assert all(value > 0 for value in figures.values())


def test_bench_sdk_in_process_mode_reports_events_per_second(tmp_path):
    """--in-process stores the typical events with record_many() in a migrated database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY")
    }
    env.update({"SQLITE_PATH": str(tmp_path / "bench.sqlite3"), "DEBUG": "1"})
    for args in (
        ["manage.py", "migrate", "--noinput", "-v", "0"],
        ["benchmarks/bench_sdk.py", "--in-process", "--events=30", "--batch-size=10"],
    ):
        completed = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert (report["events"], report["batch_size"]) == (30, 10)
    assert report["events_per_second"] > 0


def test_bench_sdk_serve_mode_runs_both_sides_against_gunicorn(tmp_path):
    """--serve: record_many() here, then gunicorn and a buffered client; both and their ratio."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG")
    }
    env["SQLITE_PATH"] = str(tmp_path / "bench.sqlite3")
    completed = subprocess.run(
        [sys.executable, "benchmarks/bench_sdk.py", "--serve", "--events=40", "--batch-size=20"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert (report["events"], report["batch_size"], report["database"]) == (40, 20, "sqlite")
    assert report["in_process_events_per_second"] > 0
    assert report["http_events_per_second"] > 0
    assert report["ratio"] > 0
    assert report["retried"] == 0
