"""benchmarks/bench_scale.py: load, reads and writes run end to end on a small SQLite file."""

from __future__ import annotations

import re

from tests.subprocess_report import clean_env, run_python


def _run(*args: str, path: str) -> str:
    return run_python(
        ["benchmarks/bench_scale.py", *args, f"--sqlite-path={path}"], env=clean_env()
    )


def test_bench_scale_small_run_reports_every_figure(tmp_path):
    """A 10,000-event load (two batches), then each command's figures on it (every page 200)."""
    path = str(tmp_path / "scale.sqlite3")
    loaded = _run("load", "--events=10000", "--days=30", path=path)
    assert "done: 10,000 events stored, +10,000" in loaded
    assert "MiB per million events" in loaded
    # Stored batches are skipped: a second loader from the other end has nothing to do.
    again = _run("load", "--events=10000", "--days=30", "--direction=backward", path=path)
    assert "done: 10,000 events stored, +0" in again
    reads = _run("reads", "--repeat=1", path=path)
    for name in ("query(limit=50) [51 events]", "get_chain", "get_object_history", "search("):
        assert name in reads
    pages = _run("pages", "--repeat=1", path=path)
    statuses = re.findall(r"^(.+?)\s+\d+\.\d\s+\d+\.\d\s+\d+\s+(\d{3})$", pages, re.MULTILINE)
    names = [name for name, _ in statuses]
    assert "timeline, unfiltered" in names
    assert "API: one decision" in names
    assert {status for _, status in statuses} == {"200"}, pages
    searched = run_python(
        ["benchmarks/bench_search.py", "--shape=scale", "--repeat=1"],
        env=clean_env(SQLITE_PATH=path),
    )
    statuses = re.findall(r"\s(\d{3})$", searched, re.MULTILINE)
    assert len(statuses) > 20, searched
    assert set(statuses) == {"200"}, searched
    writes = _run("writes", "--rounds=1", "--singles=3", path=path)
    ratios = re.findall(r"^(record\(\)|record_many\(\)).*\s(\d+\.\d\d)$", writes, re.MULTILINE)
    assert [name for name, _ in ratios] == ["record()", "record_many()"]
