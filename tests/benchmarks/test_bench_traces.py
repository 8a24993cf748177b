"""benchmarks/bench_traces.py runs end to end on a small SQLite file and reports every figure."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.subprocess_report import ROOT


def test_bench_traces_small_run_reports_every_measure(tmp_path):
    """A tiny fresh run prints each target's line, a 60-event chain and exact hourly counts."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    completed = subprocess.run(
        [
            sys.executable,
            "benchmarks/bench_traces.py",
            "--events=1200",
            "--bulk-check=1000",
            "--singles=5",
            "--repeat=1",
            "--fresh",
            f"--sqlite-path={tmp_path / 'bench.sqlite3'}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = completed.stdout
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
