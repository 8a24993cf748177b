"""Bulk ingest with no review rules and with ten, in one run (issue 15: within 10 %).

    python benchmarks/bench_rules.py [--events 20000] [--rounds 4]

Uses a fresh SQLite file in ``var/`` (or ``DATABASE_URL``). Each round stores
the same kind of batch (5,000 events per ``trace_record_many`` call, mixed
actors, tracked objects with a price before and after) once with every rule
disabled and once with ten enabled rules that look at event types, actors,
risk, tags and price changes; the order alternates per round (the tables
grow) and the best round of each is reported. About 1 % of the events match
a rule and get a Decision.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from pathlib import Path

from django_start import ROOT, django_start

BATCH = 5_000
TEN_RULES = [
    {
        "event_type": "pricing.*",
        "values": [{"change": "product.price", "op": "pct_lt", "value": -38}],
    },
    {"event_type": "refund.*", "values": [{"field": "data.amount", "op": "gt", "value": 990}]},
    {"actor_type": "ai_agent", "confidence_below": 0.005},
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
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=4)
    options = parser.parse_args()
    django_start(
        settings="config.settings",
        sqlite_path=Path(ROOT, "var", "bench_rules.sqlite3"),
        fresh=True,
        environ={"DEBUG": "1"},
        migrate=True,
    )
    from traces.rules.models import ReviewRule
    from traces.services import trace_record_many

    ReviewRule.objects.all().delete()
    for i, condition in enumerate(TEN_RULES):
        ReviewRule.objects.create(name=f"bench rule {i}", order=i, condition=condition)
    rng = random.Random(15)
    best = {"none": float("inf"), "ten": float("inf")}
    held = 0
    for round_index in range(options.rounds):
        # Alternate which goes first: the tables grow, so later writes are slower.
        for mode in ("none", "ten") if round_index % 2 == 0 else ("ten", "none"):
            ReviewRule.objects.update(enabled=mode == "ten")
            events = _events(options.events, rng)
            # Start both modes with the same garbage: collection pauses are not the rules'.
            gc.collect()
            started = time.perf_counter()
            for start in range(0, len(events), BATCH):
                trace_record_many(events=events[start : start + BATCH])
            best[mode] = min(best[mode], time.perf_counter() - started)
    from decisioning.models import Decision

    held = Decision.objects.filter(rule__startswith="bench rule").count()
    rate = {mode: options.events / seconds for mode, seconds in best.items()}
    change = (rate["ten"] - rate["none"]) / rate["none"] * 100
    print(
        f"events per round: {options.events:,}, rounds: {options.rounds}, held by rules: {held:,}"
    )
    print(f"{'no rules':<12} {rate['none']:>10,.0f} events/s")
    print(f"{'ten rules':<12} {rate['ten']:>10,.0f} events/s  ({change:+.1f} %)")
    sys.exit(0 if change > -10 else 1)


if __name__ == "__main__":
    main()
