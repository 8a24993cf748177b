"""benchmarks/bench_ui.py runs end to end on a small SQLite file, refilling it on a second run."""

from __future__ import annotations

import re

from tests.subprocess_report import clean_env, run_python


def test_bench_ui_fills_refills_and_every_admin_list_answers(tmp_path):
    """Two runs on one file (the second empties the append-only tables through the retention
    window and fills them again); every admin list measured answers 200."""
    env = clean_env(SQLITE_PATH=str(tmp_path / "ui.sqlite3"))
    args = ["benchmarks/bench_ui.py", "--events=300", "--repeat=1", "--only-issue16"]
    for _ in range(2):
        report = run_python([*args, "--match=admin"], env=env)
        assert "filling 300 events on sqlite" in report
        assert "event counts rebuilt:" in report
        statuses = re.findall(
            r"^(admin .+?)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+\s+(\d{3})$", report, re.M
        )
        assert len(statuses) > 20, report
        assert {status for _, status in statuses} == {"200"}, report
