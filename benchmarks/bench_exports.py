"""Benchmark the CSV and JSON Lines exports: memory stays flat from 100,000 to 1M rows.

    python benchmarks/bench_exports.py --events 1000000

Without ``DATABASE_URL`` it uses a throw-away SQLite file,
``var/bench_exports.sqlite3`` (reused when it already holds N events; ``--fresh``
starts again). It stores N events through ``trace_record_many()`` (a user or
an AI agent, one order each, a tag, a reason on every third), then streams the
newest 100,000 and then all N as CSV and as JSON Lines, each export in its own
process so that its peak resident memory (``ru_maxrss``) is its own, and
prints rows, seconds, rows/s and the peak. Flat memory means the N-row peak
is about the 100,000-row peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from django_start import ROOT, django_start

BATCH = 5_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SMALL = 100_000


def _start(sqlite_path: str, fresh: bool) -> None:
    django_start(
        settings="config.settings",
        sqlite_path=sqlite_path,
        fresh=fresh,
        environ={"DEBUG": "0", "SECRET_KEY": "benchmark-only-secret-key-never-used-to-serve"},
        migrate=True,
    )


def _fill(total: int) -> None:
    from decision_trace import ObjectType
    from traces import Actor, DecisionTrace, TraceEvent, TrackedObject
    from traces.selectors import event_count
    from traces.services import trace_record_many

    stored = event_count()
    agent = Actor.ai_agent("pricing-ai", "Pricing", model="gpt-4")
    users = [Actor.user(f"u-{i}", f"User {i}") for i in range(50)]
    while stored < total:
        size = min(BATCH, total - stored)
        trace_record_many(
            events=[
                TraceEvent(
                    timestamp=T0 + timedelta(seconds=n),
                    event_type="price.changed" if n % 2 else "order.created",
                    description=f"Event {n} for order ord-{n % 10_000}",
                    actor=agent if n % 2 else users[n % 50],
                    decision=DecisionTrace(reasoning=f"Reason {n}") if n % 3 == 0 else None,
                    objects=(TrackedObject(id=f"ord-{n % 10_000}", type=ObjectType.ORDER),),
                    tags=("bench",),
                )
                for n in range(stored, stored + size)
            ]
        )
        stored += size
        print(f"  stored {stored:,}", file=sys.stderr, flush=True)


def _measure(rows: int, export_format: str) -> None:
    from traces.formats.exports import event_export
    from traces.models import EventRecord
    from traces.selectors import event_filter

    events = event_filter()
    newest = EventRecord.objects.order_by("-effective_at").values_list("effective_at", flat=True)
    cutoff = newest[rows - 1 : rows].first()
    if cutoff is not None:
        events = events.filter(effective_at__gte=cutoff)
    started = time.perf_counter()
    size = lines = 0
    for chunk in event_export(events, export_format=export_format):
        size += len(chunk)
        lines += chunk.count("\n")
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"lines": lines, "chars": size, "seconds": seconds, "peak_kib": peak_kib}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sqlite-path", default=str(ROOT / "var" / "bench_exports.sqlite3"))
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--format", default="csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _start(args.sqlite_path, fresh=False)
        _measure(args.measure, args.format)
        return
    _start(args.sqlite_path, fresh=args.fresh)
    started = time.perf_counter()
    _fill(args.events)
    print(f"filled {args.events:,} events in {time.perf_counter() - started:.0f} s")
    print(f"{'export':<22} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'peak RSS MiB':>13}")
    for export_format in ("csv", "jsonl"):
        for rows in (min(SMALL, args.events), args.events):
            command = [sys.executable, __file__, "--measure", str(rows), "--format", export_format]
            command += ["--sqlite-path", args.sqlite_path]
            result = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
            lines = result["lines"] - (export_format == "csv")
            print(
                f"{export_format + ' (newest ' + format(rows, ',') + ')':<22} {lines:>10,} "
                f"{result['seconds']:>8.1f} {lines / result['seconds']:>9,.0f} "
                f"{result['peak_kib'] / 1024:>13.1f}"
            )


if __name__ == "__main__":
    main()
