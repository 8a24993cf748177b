"""benchmarks/bench_sdk.py runs small and reports its three per-call figures."""

from __future__ import annotations

import json
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
