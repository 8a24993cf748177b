"""benchmarks/bench_sdk.py runs small and reports its three per-call figures."""

from __future__ import annotations

from tests.subprocess_report import clean_env, run_for_report, run_python


def test_bench_sdk_small_run_reports_every_figure():
    report = run_for_report(
        ["benchmarks/bench_sdk.py", "--events=1500", "--repeat=1", "--json"],
        env=clean_env(),
        timeout=300,
    )
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
    env = clean_env("SECRET_KEY", SQLITE_PATH=str(tmp_path / "bench.sqlite3"), DEBUG="1")
    run_python(["manage.py", "migrate", "--noinput", "-v", "0"], env=env)
    report = run_for_report(
        ["benchmarks/bench_sdk.py", "--in-process", "--events=30", "--batch-size=10"],
        env=env,
        timeout=300,
    )
    assert (report["events"], report["batch_size"]) == (30, 10)
    assert report["events_per_second"] > 0


def test_bench_sdk_serve_mode_runs_both_sides_against_gunicorn(tmp_path):
    """--serve: record_many() here, then gunicorn and a buffered client; both and their ratio."""
    report = run_for_report(
        ["benchmarks/bench_sdk.py", "--serve", "--events=40", "--batch-size=20"],
        env=clean_env("SECRET_KEY", SQLITE_PATH=str(tmp_path / "bench.sqlite3")),
        timeout=300,
    )
    assert (report["events"], report["batch_size"], report["database"]) == (40, 20, "sqlite")
    assert report["in_process_events_per_second"] > 0
    assert report["http_events_per_second"] > 0
    assert report["ratio"] > 0
    assert report["retried"] == 0
