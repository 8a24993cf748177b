"""benchmarks/bench_api.py runs end to end, small, on SQLite: gunicorn, client process, figures."""

from __future__ import annotations

from tests.subprocess_report import clean_env, run_python


def test_bench_api_small_run_reports_every_measure(tmp_path):
    """A tiny run serves with gunicorn, posts from another process and prints each line."""
    report = run_python(
        [
            "benchmarks/bench_api.py",
            "--events=60",
            "--singles=3",
            "--batches=1",
            "--gets=2",
            "--rounds=2",
            "--fresh",
            f"--sqlite-path={tmp_path / 'bench.sqlite3'}",
        ],
        env=clean_env(),
    )
    assert "events stored before the run: 60" in report
    for line in (
        "round 1: load average",
        "round 2: load average",
        "median of 2 round(s):",
        "record() events/s (in process)",
        "single POST events/s",
        "POST batch of 100 events/s",
        "POST batch of 1,000 events/s",
        "GET /api/v1/events median ms (client)",
        "GET /api/v1/events median ms (server, all rounds)",
        "GET ?actor_type median ms (server, all rounds)",
        "GET /api/v1/events?actor_type median ms (client)",
        "single POST / record() (target 50%)",
        "batch of 1,000 / record_many() (target 60%)",
    ):
        assert line in report


def test_bench_api_rounds_zero_only_stores_the_events(tmp_path):
    """--rounds 0 fills the database and stops (no server, no figures)."""
    path = f"--sqlite-path={tmp_path / 'bench.sqlite3'}"
    report = run_python(
        ["benchmarks/bench_api.py", "--events=40", "--rounds=0", path], env=clean_env()
    )
    assert "events stored before the run: 40" in report
    assert "round 1" not in report
