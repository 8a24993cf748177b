"""Benchmark the traces app: write throughput and read latency at scale.

    python benchmarks/bench_traces.py --events 1000000

Without ``DATABASE_URL`` it uses a throw-away SQLite file, ``var/bench_traces.sqlite3``
(``--sqlite-path`` to change it); with ``DATABASE_URL`` it uses that database.
It generates N realistic events through ``record_many()`` (mixed actor types,
1-3 objects each, reasoning text, 10% children, one order touched by ~150
events, one 60-event chain, a word in ~1% of the texts), then times single
``record()`` calls and the reads, and prints a table. An existing database
that already holds N or more events is reused unless ``--fresh`` is given.

It runs with the production settings (``config.settings``, ``DEBUG`` off, so
no query logging; a throw-away ``SECRET_KEY`` unless one is set), prints the
machine's load average before and after (the figures depend on it) and checks
that the dashboard's hourly counts still match the events.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django_start import ROOT, django_start, load_average_line

BATCH = 5_000
BUSY_ORDER = "ord-busy"
RARE_WORD = "backorder"
CHAIN_LENGTH = 60
CHAIN_TAG = "bench-chain"
WORDS = [
    "customer",
    "price",
    "margin",
    "stock",
    "demand",
    "forecast",
    "supplier",
    "warehouse",
    "shipment",
    "delay",
    "refund",
    "coupon",
    "campaign",
    "discount",
    "inventory",
    "threshold",
    "seasonal",
    "trend",
    "competitor",
    "budget",
    "risk",
    "fraud",
    "payment",
    "capture",
    "tier",
    "loyalty",
    "churn",
    "basket",
    "checkout",
    "promotion",
    "carrier",
    "express",
]


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events to store (N)")
    parser.add_argument("--fresh", action="store_true", help="delete the SQLite file first")
    parser.add_argument("--sqlite-path", default=str(ROOT / "var" / "bench_traces.sqlite3"))
    parser.add_argument("--repeat", type=int, default=30, help="runs per read measurement")
    parser.add_argument("--singles", type=int, default=1_000, help="single record() calls")
    parser.add_argument(
        "--bulk-check", type=int, default=20_000, help="events for record_many() at full size"
    )
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def _text(rng: random.Random, rare: bool) -> str:
    words = rng.choices(WORDS, k=12)
    if rare:
        words.insert(rng.randrange(len(words)), RARE_WORD)
    return " ".join(words).capitalize() + "."


def _builder(client, rng: random.Random, n: int, when: datetime, objects: list[tuple[str, str]]):
    from traces import ObjectType

    kind = rng.random()
    event_type = rng.choice(
        [
            "order.created",
            "order.cancelled",
            "payment.captured",
            "inventory.adjusted",
            "price.updated",
            "ai.recommendation",
            "shipment.shipped",
            "customer.tier_changed",
        ]
    )
    builder = client.trace(event_type, _text(rng, rng.random() < 0.005))
    if kind < 0.45:
        builder.by_user(f"user-{rng.randrange(5_000)}", "Shop User", role="customer")
    elif kind < 0.70:
        builder.by_ai(f"agent-{rng.randrange(20)}", "Pricing AI", model="gpt-4", confidence=0.8)
    elif kind < 0.90:
        builder.by_compute(f"job-{rng.randrange(50)}", "Nightly job", service_name="warehouse")
    else:
        builder.by_system("fulfillment-engine")
    for object_type, object_id in objects:
        builder.affecting_object(ObjectType(object_type), object_id, state_after={"n": n})
    builder.because(
        _text(rng, rng.random() < 0.005),
        alternatives=[{"action": rng.choice(WORDS), "reason": _text(rng, False)}],
        rejection_reasons={rng.choice(WORDS): "Too costly"},
    )
    if rng.random() < 0.3:
        builder.with_tags(rng.choice(["vip", "manual", "nightly", "promo"]))
    return builder.at(when)


def _objects(rng: random.Random, orders: int) -> list[tuple[str, str]]:
    """An order and 0-2 products or customers."""
    objects = [("order", f"ord-{rng.randrange(orders)}")]
    for _ in range(rng.randrange(3)):
        kind = rng.choice([("product", 20_000), ("customer", 50_000)])
        objects.append((kind[0], f"{kind[0][:4]}-{rng.randrange(kind[1])}"))
    return objects


def _chain(client, rng: random.Random, when: datetime) -> list:
    """One tree of 60 events, each under an earlier one, root first."""
    chain = [_builder(client, rng, 0, when, [("order", "ord-chain")]).with_tags(CHAIN_TAG)]
    for n in range(1, CHAIN_LENGTH):
        builder = _builder(client, rng, n, when + timedelta(seconds=n), [])
        chain.append(builder.child_of(chain[rng.randrange(len(chain))].event_id))
    return [builder.build() for builder in chain]


def _generate(client, total: int, rng: random.Random) -> tuple[float, str]:
    """Store ``total`` events with record_many; returns (events/s, id of the 60-event chain)."""
    from traces.services import trace_record_many

    start_time = datetime(2024, 1, 1, tzinfo=UTC)
    spacing = timedelta(days=365) / max(total, 1)
    busy_every = max(total // 150, 1)
    orders = max(total // 10, 1)
    done, elapsed, chain_root = 0, 0.0, ""
    while done < total:
        size = min(BATCH, total - done)
        events, recent = [], []
        for i in range(size):
            n = done + i
            objects = _objects(rng, orders)
            if n % busy_every == 0:
                objects[0] = ("order", BUSY_ORDER)
            builder = _builder(client, rng, n, start_time + spacing * n, objects)
            if recent and rng.random() < 0.10:
                builder.child_of(rng.choice(recent))
            else:
                recent.append(builder.event_id)
            events.append(builder.build())
        if not chain_root and done + size >= total // 2 and size >= CHAIN_LENGTH:
            # The chain replaces the batch's last 60, which no other event names as its parent.
            chain = _chain(client, rng, events[-1].timestamp)
            parents = {e.parent_event_id for e in events[:-CHAIN_LENGTH]}
            if not parents & {e.id for e in events[-CHAIN_LENGTH:]}:
                events[-CHAIN_LENGTH:] = chain
                chain_root = chain[0].id
        began = time.perf_counter()
        trace_record_many(events=events)
        elapsed += time.perf_counter() - began
        done += size
        print(f"\r  generated {done:,}/{total:,} events", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return total / elapsed, chain_root


def _median_ms(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    result = fn()  # warm the cache once, as a steady-state server would be
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result


def main() -> None:
    args = _parse()
    django_start(
        settings="config.settings",
        sqlite_path=args.sqlite_path,
        fresh=args.fresh,
        environ={
            "DEBUG": "0",
            "SECRET_KEY": "benchmark-only-secret-key-never-used-to-serve-anything",
        },
        migrate=True,
    )
    from django.db import connection

    from traces import DecisionTraceClient
    from traces.counts import event_counts_differences
    from traces.models import EventRecord
    from traces.search import search_events
    from traces.services import trace_record_many

    load_before = os.getloadavg()
    rng = random.Random(args.seed)
    client = DecisionTraceClient()
    stored = EventRecord.objects.count()
    many_rate = None
    if stored < args.events:
        print(f"Generating {args.events - stored:,} events ...", file=sys.stderr)
        many_rate, _ = _generate(client, args.events - stored, rng)
    chain_root = EventRecord.objects.tagged([CHAIN_TAG]).values_list("pk", flat=True).first()
    if chain_root is None:
        # A database filled some other way (bench_ui.py, an older run): add the chain now.
        chain = _chain(client, rng, datetime.now(UTC))
        trace_record_many(events=chain)
        chain_root = chain[0].id
    # Bulk at full size: fresh batches on top of everything already stored.
    extra = [
        _builder(client, rng, n, datetime.now(UTC), _objects(rng, 100_000)).build()
        for n in range(args.bulk_check)
    ]
    began = time.perf_counter()
    for start in range(0, len(extra), BATCH):
        trace_record_many(events=extra[start : start + BATCH])
    many_at_size = len(extra) / (time.perf_counter() - began)
    total = EventRecord.objects.count()

    # Single-event commits: one transaction per record(), like a live shop.
    began = time.perf_counter()
    for n in range(args.singles):
        client.trace("order.created", f"Single event {n}").by_user(
            "user-1", "Shop User"
        ).affecting_order(f"ord-single-{n}").because("Customer checked out").record()
    record_rate = args.singles / (time.perf_counter() - began)

    reads = [
        ("newest 50", lambda: client.query(limit=50), 10),
        (
            "newest 50, actor type ai_agent",
            lambda: client.query(actor_types=["ai_agent"], limit=50),
            10,
        ),
        (
            f"order history ({BUSY_ORDER})",
            lambda: client.get_object_history(object_id=BUSY_ORDER),
            20,
        ),
        (f"search '{RARE_WORD}' top 50", lambda: client.search(RARE_WORD, limit=50), 50),
        ("chain", lambda: client.get_chain(str(chain_root)), 10),
    ]
    rows = []
    for name, fn, target in reads:
        median, result = _median_ms(fn, args.repeat)
        rows.append((name, median, target, len(result)))
    matches = search_events(RARE_WORD).count()
    counts_differ = len(event_counts_differences())
    load_after = os.getloadavg()

    vendor = connection.vendor
    print()
    print(f"database: {vendor} ({connection.settings_dict['NAME']}), events stored: {total:,}")
    print(f"{'measure':<40} {'result':>14} {'target':>12}")
    print("-" * 68)
    if many_rate is not None:
        print(f"{'record_many() events/s, filling 0 -> N':<40} {many_rate:>14,.0f} {'':>12}")
    print(f"{'record_many() events/s at N':<40} {many_at_size:>14,.0f} {'>= 7,500':>12}")
    print(f"{'record() events/s (1 commit each)':<40} {record_rate:>14,.0f} {'>= 750':>12}")
    for name, median, target, count in rows:
        label = f"{name} [{count} events]"
        print(f"{label:<40} {median:>11.1f} ms {'<= ' + str(target) + ' ms':>12}")
    print(f"(search '{RARE_WORD}' matches {matches:,} events)")
    print(f"hourly counts differing from the events: {counts_differ}")
    print(load_average_line(load_before, load_after))


if __name__ == "__main__":
    main()
