"""The benchmarks' one way to start Django: the project on ``sys.path``, the settings, the database.

Each script runs as ``python benchmarks/bench_x.py``, so this module is imported
as a sibling (``from django_start import ROOT, django_start``) before anything
from Django or the project.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "ROOT",
    "django_start",
    "evidence_key_for_this_run",
    "load_average_line",
    "page_medians",
]

ROOT = Path(__file__).resolve().parent.parent


def django_start(
    *,
    settings: str,
    sqlite_path: str | Path,
    fresh: bool = False,
    environ: Mapping[str, str] | None = None,
    migrate: bool = False,
) -> None:
    """Set Django up for a benchmark.

    Args:
        settings: the settings module, unless ``DJANGO_SETTINGS_MODULE`` names one.
        sqlite_path: the SQLite file to use when ``DATABASE_URL`` is not set.
        fresh: delete that file (and its WAL files) first.
        environ: more environment defaults (a variable already set wins).
        migrate: apply the migrations once Django is set up.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings)
    for name, value in (environ or {}).items():
        os.environ.setdefault(name, value)
    if not os.environ.get("DATABASE_URL"):
        path = Path(sqlite_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["SQLITE_PATH"] = str(path)

    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def evidence_key_for_this_run() -> None:
    """Create the evidence signing key the test settings name (one per process), removed at exit.

    Review actions seal the evidence log as they go (the immediate task backend
    runs the sealing at once), and sealing signs with this key.
    """
    import atexit

    from django.conf import settings
    from django.core.management import call_command

    call_command("evidence_keygen", verbosity=0)
    atexit.register(Path(settings.TRACES_EVIDENCE_SIGNING_KEY_FILE).unlink, missing_ok=True)


def page_medians(
    client: Any, url: str, repeat: int, *, show: bool = False
) -> tuple[float, float, float, int, int]:
    """Median wall, CPU and SQL milliseconds of ``url``, its number of queries and status.

    ``client`` is a signed-in ``django.test.Client``. CPU is this process's (the
    whole request on SQLite; on PostgreSQL all but the server's share); SQL is the
    wall time spent in the database calls. ``show`` prints each statement's time.
    """
    from django.db import connection

    client.get(url)  # warm caches and the planner
    timings: list[tuple[float, str]] = []

    def each(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append(((time.perf_counter() - start) * 1000, sql))

    with connection.execute_wrapper(each):
        status = client.get(url).status_code
    if show:
        for ms, sql in timings:
            print(f"    {ms:8.2f} ms  {sql[:160]}")
    walls, cpus, sqls = [], [], []
    for _ in range(repeat):
        timings.clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(each):
            client.get(url)
        walls.append((time.perf_counter() - start) * 1000)
        cpus.append((time.process_time() - start_cpu) * 1000)
        sqls.append(sum(ms for ms, _ in timings))
    return (
        statistics.median(walls),
        statistics.median(cpus),
        statistics.median(sqls),
        len(timings),
        status,
    )


def load_average_line(
    before: tuple[float, float, float], after: tuple[float, float, float] | None = None
) -> str:
    """The machine's load averages before and after a run (``after``: now), for the report."""
    now = after if after is not None else os.getloadavg()
    return (
        "load average (1/5/15 min): "
        f"before {' '.join(f'{x:.2f}' for x in before)}, "
        f"after {' '.join(f'{x:.2f}' for x in now)} ({os.cpu_count()} CPUs)"
    )
