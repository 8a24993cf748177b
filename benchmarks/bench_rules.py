"""Bulk ingest with no review rules and with ten, interleaved in one run (issue 15: within 10 %).

    python benchmarks/bench_rules.py [--events 20000] [--rounds 10] [--batch 2000]

Uses a fresh SQLite file in ``var/`` (or ``DATABASE_URL``: use a database of
its own, the rules table is rewritten). ``--events`` are stored per mode,
split over ``--rounds``; each round stores one slice with every rule disabled
and one with ten enabled rules (event types, actors, model, confidence, risk,
tags, outcome, amounts and price changes), in ``trace_record_many`` calls of
``--batch`` events, alternating which mode goes first (the tables grow). Each
round gives a ratio (ten rules / no rules, events per second); the median of
those ratios is the result, since a shared machine's noise hits single rounds.
It is reported twice: by wall clock, and by this process's CPU time, which
other processes on a busy machine barely disturb (on PostgreSQL the server's
own work is not in it, so there the rules' share looks larger than it is).
About 0.3 % of the events match a rule and get a Decision (a few firing, as
in a store where rules hold back the unusual). Exit status 1 when
the CPU-time median is more than 10 % slower.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from pathlib import Path

from django_start import ROOT, django_start

BATCH = 5_000
TEN_RULES = [
    {
        "event_type": "pricing.*",
        "values": [{"change": "product.price", "op": "pct_lt", "value": -39.5}],
    },
    {"event_type": "refund.*", "values": [{"field": "data.amount", "op": "gt", "value": 998}]},
    {"actor_type": "ai_agent", "confidence_below": 0.002},
    {"risk_at_least": "critical", "actor_type": ["compute", "system"]},
    {"tags": ["fraud-suspected"]},
    {"actor_id": ["rogue-bot", "legacy-sync"]},
    {"model": "experimental-9"},
    {"outcome": "failure", "event_type": "payment.*"},
    {
        "event_type": ["order.cancelled"],
        "values": [{"field": "data.amount", "op": "gt", "value": 990}],
    },
    {
        "event_type": "inventory.*",
        "values": [{"change": "inventory.quantity", "op": "abs_pct_gt", "value": 90}],
    },
]


def _events(n: int, rng: random.Random) -> list:
    from decision_trace import Actor, DecisionTrace, RiskLevel, TraceEvent, TrackedObject
    from decision_trace.enums import ObjectType

    kinds = ["pricing.adjusted", "refund.requested", "order.created", "payment.captured"]
    actors = [
        Actor.ai_agent("pricing-ai", "Pricing", model="gpt-4"),
        Actor.user("sam", "Sam"),
        Actor.compute("nightly", "Nightly job"),
    ]
    events = []
    for _ in range(n):
        before = rng.randint(10, 100)
        events.append(
            TraceEvent(
                event_type=rng.choice(kinds),
                actor=rng.choice(actors),
                decision=DecisionTrace(
                    reasoning="because",
                    confidence=rng.random(),
                    risk_level=rng.choice(list(RiskLevel)[:3]),
                ),
                objects=(
                    TrackedObject(
                        id=f"SKU-{rng.randint(1, 500)}",
                        type=ObjectType.PRODUCT,
                        state_before={"price": before},
                        state_after={"price": round(before * rng.uniform(0.6, 1.2), 2)},
                    ),
                ),
                data={"amount": rng.randint(1, 1000)},
                tags=("bench",),
            )
        )
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per mode, in all")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batch", type=int, default=2_000)
    options = parser.parse_args()
    django_start(
        settings="config.settings",
        sqlite_path=Path(ROOT, "var", "bench_rules.sqlite3"),
        fresh=True,
        environ={"DEBUG": "1"},
        migrate=True,
    )
    from django.db import connection

    from decisioning.models import Decision
    from traces.rules.models import ReviewRule
    from traces.services import trace_record_many

    ReviewRule.objects.all().delete()
    for i, condition in enumerate(TEN_RULES):
        ReviewRule.objects.create(name=f"bench rule {i}", order=i, condition=condition)
    rng = random.Random(15)
    per_round = options.events // options.rounds
    seconds: dict[str, list[float]] = {"none": [], "ten": []}
    cpu: dict[str, list[float]] = {"none": [], "ten": []}
    for round_index in range(options.rounds):
        for mode in ("none", "ten") if round_index % 2 == 0 else ("ten", "none"):
            ReviewRule.objects.update(enabled=mode == "ten")
            events = _events(per_round, rng)
            # Start both modes with the same garbage: collection pauses are not the rules'.
            gc.collect()
            started, started_cpu = time.perf_counter(), time.process_time()
            for start in range(0, len(events), options.batch):
                trace_record_many(events=events[start : start + options.batch])
            seconds[mode].append(time.perf_counter() - started)
            cpu[mode].append(time.process_time() - started_cpu)
    held = Decision.objects.filter(rule__startswith="bench rule").count()
    # Same events per round in both modes: the rate ratio is the inverse time ratio.
    ratios = [none / ten for none, ten in zip(seconds["none"], seconds["ten"], strict=True)]
    cpu_ratios = [none / ten for none, ten in zip(cpu["none"], cpu["ten"], strict=True)]
    rate = {mode: per_round / statistics.median(times) for mode, times in seconds.items()}
    change = (statistics.median(ratios) - 1) * 100
    cpu_change = (statistics.median(cpu_ratios) - 1) * 100
    print(
        f"{connection.vendor}: {per_round:,} events x {options.rounds} rounds per mode, "
        f"batches of {options.batch:,}, held by rules: {held:,}"
    )
    print(f"{'no rules':<12} {rate['none']:>10,.0f} events/s (median round)")
    print(f"{'ten rules':<12} {rate['ten']:>10,.0f} events/s (median round)")
    print(
        f"median ratio of the rounds, wall clock: {change:+.1f} % "
        f"(rounds from {(min(ratios) - 1) * 100:+.1f} % to {(max(ratios) - 1) * 100:+.1f} %)"
    )
    print(
        f"median ratio of the rounds, this process's CPU time: {cpu_change:+.1f} % "
        f"(rounds from {(min(cpu_ratios) - 1) * 100:+.1f} % "
        f"to {(max(cpu_ratios) - 1) * 100:+.1f} %)"
    )
    sys.exit(0 if cpu_change > -10 else 1)


if __name__ == "__main__":
    main()
