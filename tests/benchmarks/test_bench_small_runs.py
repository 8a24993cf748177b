"""The benchmarks without a test of their own run end to end, small, on SQLite."""

from __future__ import annotations

from tests.subprocess_report import clean_env, run_python


def test_bench_exports_small_run(tmp_path):
    """Both formats are exported and measured."""
    report = run_python(
        [
            "benchmarks/bench_exports.py",
            "--events=1500",
            "--fresh",
            f"--sqlite-path={tmp_path / 'exports.sqlite3'}",
        ],
        env=clean_env(),
    )
    assert "csv (newest 1,500)" in report
    assert "jsonl (newest 1,500)" in report


def test_bench_review_small_run_seals_without_failing(tmp_path):
    """The queue's pages and actions answer 200, and the evidence sealing they start succeeds."""
    report = run_python(
        ["benchmarks/bench_review.py", "--events=1500", "--decisions=200", "--repeat=1"],
        env=clean_env(SQLITE_PATH=str(tmp_path / "review.sqlite3")),
    )
    assert "approve from the queue (htmx POST)" in report
    assert "state=FAILED" not in report
    assert "Traceback" not in report


def test_bench_seed_demo_small_run(tmp_path):
    report = run_python(
        [
            "benchmarks/bench_seed_demo.py",
            "--days=2",
            "--scale=0.05",
            f"--sqlite-path={tmp_path / 'demo.sqlite3'}",
        ],
        env=clean_env(DEBUG="1"),
    )
    assert "seed_demo" in report
