"""Benchmark seed_demo: how long loading the demo store takes, and how many events it makes.

    DEBUG=1 python benchmarks/bench_seed_demo.py --scale 1.0 --days 30

Without ``DATABASE_URL`` it uses a fresh throw-away SQLite file,
``var/bench_seed_demo.sqlite3`` (``--sqlite-path`` to change it); with
``DATABASE_URL`` it uses that database and replaces a demo store already
there (``--reset``). It times the simulation alone (no database), then the
whole ``seed_demo`` (simulation, bulk inserts, reviews) and prints both with
the event count.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from django_start import ROOT, django_start

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sqlite-path", default=str(ROOT / "var" / "bench_seed_demo.sqlite3"))
    return parser.parse_args()


def main() -> None:
    args = _parse()
    django_start(settings="config.settings", sqlite_path=args.sqlite_path, fresh=True, migrate=True)
    from django.db import connection

    from ecommerce.demo import DemoStore
    from ecommerce.services import demo_store_seed

    started = time.perf_counter()
    store = DemoStore(seed=args.seed, days=args.days, scale=args.scale, now=NOW)
    generated = sum(len(batch) for batch, _ in store.batches(5_000))
    simulation = time.perf_counter() - started

    started = time.perf_counter()
    summary = demo_store_seed(seed=args.seed, days=args.days, scale=args.scale, now=NOW, reset=True)
    total = time.perf_counter() - started

    print(f"database      {connection.vendor}")
    print(f"options       --days {args.days} --scale {args.scale} --seed {args.seed}")
    print(f"events        {summary.events:,} ({summary.orders:,} orders)")
    print(f"decisions     {summary.decisions}")
    print(f"simulation    {simulation:.1f} s ({generated / simulation:,.0f} events/s, no database)")
    print(f"seed_demo     {total:.1f} s ({summary.events / total:,.0f} events/s, all included)")


if __name__ == "__main__":
    main()
