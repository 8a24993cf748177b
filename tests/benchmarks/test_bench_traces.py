"""benchmarks/bench_traces.py runs end to end on a small SQLite file and reports every figure."""

from __future__ import annotations

import re

from tests.subprocess_report import clean_env, run_python


def test_bench_traces_small_run_reports_every_measure(tmp_path):
    """A tiny fresh run prints each target's line, a 60-event chain and exact hourly counts."""
    report = run_python(
        [
            "benchmarks/bench_traces.py",
            "--events=1200",
            "--bulk-check=1000",
            "--singles=5",
            "--repeat=1",
            "--fresh",
            f"--sqlite-path={tmp_path / 'bench.sqlite3'}",
        ],
        env=clean_env(),
    )
    assert "events stored: 2,200" in report  # 1,200, then 1,000 more at that size
    for line in (
        "record_many() events/s at N",
        "record() events/s (1 commit each)",
        "newest 50 [50 events]",
        "newest 50, actor type ai_agent [50 events]",
        "search 'backorder' top 50",
        "chain [60 events]",
        "hourly counts differing from the events: 0",
    ):
        assert line in report
    # One event in 1,200 / 150 = 8 touches the busy order (less the few the chain replaced).
    busy = re.search(r"order history \(ord-busy\) \[(\d+) events\]", report)
    assert busy is not None
    assert 130 <= int(busy.group(1)) <= 150
