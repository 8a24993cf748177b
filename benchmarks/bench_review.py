"""Median server time of the review pages and actions over many events and decisions.

Fills a throw-away database (SQLite ``var/bench_review.sqlite3`` unless
``DATABASE_URL`` is set) with N trace events and D ``Decision`` rows about
them via ``bulk_create``: five actor types, risk levels, eight decision
types, outcomes 20% pending, 5% deferred, 5% escalated and the rest final,
spread over 30 days, plus 5% of decisions about a non-event target. Then,
as a signed-in superuser (every button rendered), requests each queue view
and a decision page through the Django test client, and times review
actions (POST approve, htmx) on distinct pending decisions; it reports the
median time, the median time spent in SQL, and the query count.

    python benchmarks/bench_review.py --events 200000 --decisions 100000
    python benchmarks/bench_review.py --events 200000 --decisions 100000 --reuse

Never point it at a database you care about: it deletes every trace event
and decision first.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid
from datetime import timedelta

from django_start import ROOT, django_start, evidence_key_for_this_run

django_start(
    settings="tests.settings",
    sqlite_path=os.environ.get("SQLITE_PATH") or ROOT / "var" / "bench_review.sqlite3",
    environ={"ALLOWED_HOSTS": "testserver"},
)

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from decisioning.models import Decision, DecisionTransition, IdempotencyKey  # noqa: E402
from decisioning.review import decision_request_token_new  # noqa: E402
from traces.models import (  # noqa: E402
    ActorRecord,
    EventRecord,
    EventSearchDocument,
    EventTag,
    TrackedObjectRecord,
)
from traces.pagination import Cursor  # noqa: E402
from traces.review_selectors import REVIEW_PAGE_SIZE  # noqa: E402

BATCH = 5_000
SPAN = timedelta(days=30)
KINDS = {"user": 30, "ai_agent": 35, "compute": 15, "system": 15, "external": 5}
RISKS = ["low", "medium", "medium", "high", "critical"]
DECISION_TYPES = [
    "refund_approval",
    "price_change",
    "discount_approval",
    "restock_order",
    "fraud_review",
    "account_unlock",
    "shipping_exception",
    "supplier_switch",
]
OUTCOMES = {"pending": 20, "deferred": 5, "escalated": 5, "approved": 50, "rejected": 20}


def _delete_all() -> None:
    with connection.cursor() as cursor:
        for model in (
            DecisionTransition,
            Decision,
            IdempotencyKey,
            EventSearchDocument,
            EventTag,
            TrackedObjectRecord,
        ):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")
        # Children before parents: the parent foreign key protects them.
        cursor.execute(
            f"DELETE FROM {connection.ops.quote_name(EventRecord._meta.db_table)} WHERE depth > 0"
        )
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(EventRecord._meta.db_table)}")


def _fill(events: int, decisions: int, user_pk: int) -> None:
    rng = random.Random(7)
    _delete_all()
    actors = {
        kind: [
            ActorRecord.objects.get_or_create(
                actor_type=kind, actor_id=f"{kind}-{i}", defaults={"name": f"{kind} {i}"}
            )[0]
            for i in range(5)
        ]
        for kind in KINDS
    }
    kinds, weights = list(KINDS), list(KINDS.values())
    outcomes, outcome_weights = list(OUTCOMES), list(OUTCOMES.values())
    event_type = ContentType.objects.get_for_model(EventRecord)
    user_type = ContentType.objects.get_for_model(get_user_model())
    now = timezone.now()
    # Which events get a decision: the first `decisions` of a shuffled range.
    chosen = set(rng.sample(range(events), min(decisions, events)))
    made = 0
    started = time.perf_counter()
    while made < events:
        size = min(BATCH, events - made)
        rows, objects, proposals = [], [], []
        for index in range(made, made + size):
            kind = rng.choices(kinds, weights)[0]
            event_id = uuid.uuid4()
            proposed = index in chosen
            outcome = rng.choices(outcomes, outcome_weights)[0] if proposed else ""
            effective_at = now - SPAN * rng.random()
            rows.append(
                EventRecord(
                    id=event_id,
                    event_type="refund.requested" if proposed else "order.updated",
                    description=f"{kind} event {index}",
                    actor=rng.choice(actors[kind]),
                    actor_type=kind,
                    effective_at=effective_at,
                    has_decision=proposed,
                    reasoning="Defect shown on the photos; customer is gold tier."
                    if proposed
                    else "",
                    confidence=round(rng.uniform(0.5, 1), 2) if proposed else None,
                    risk_level=rng.choice(RISKS) if proposed else "",
                    requires_approval=proposed,
                    approval_status=outcome,
                    root_id=event_id,
                )
            )
            objects.append(
                TrackedObjectRecord(
                    event_id=event_id, object_type="order", object_id=f"ord-{index % 50_000}"
                )
            )
            if proposed:
                other = rng.random() < 0.05
                proposals.append(
                    Decision(
                        target_content_type=user_type if other else event_type,
                        target_id=str(user_pk) if other else str(event_id),
                        decision_type=rng.choice(DECISION_TYPES),
                        outcome=outcome,
                        reason="Proposed by an agent",
                        effective_at=effective_at,
                        decided_at=None if outcome == "pending" else effective_at,
                    )
                )
        EventRecord.objects.bulk_create(rows, batch_size=1_000)
        TrackedObjectRecord.objects.bulk_create(objects, batch_size=2_000)
        Decision.objects.bulk_create(proposals, batch_size=1_000)
        made += size
        if made % 50_000 == 0 or made == events:
            rate = made / (time.perf_counter() - started)
            print(f"  {made:>9,} events ({rate:,.0f}/s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _measure(client: Client, url: str, repeat: int) -> tuple[float, float, int, int]:
    """Median total and SQL milliseconds of `repeat` requests, their query count, the status."""
    client.get(url)  # warm caches and the planner
    sql_ms: list[float] = []
    queries: list[int] = []

    def timed(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_ms[-1] += (time.perf_counter() - start) * 1000
            queries[-1] += 1

    times, statuses = [], set()
    with connection.execute_wrapper(timed):
        for _ in range(repeat):
            sql_ms.append(0.0)
            queries.append(0)
            start = time.perf_counter()
            statuses.add(client.get(url).status_code)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), statistics.median(sql_ms), max(queries), max(statuses)


def _measure_actions(client: Client, repeat: int) -> tuple[float, int, int]:
    """Approve `repeat` distinct pending decisions about events (htmx posts from the queue)."""
    targets = list(
        Decision.objects.filter(
            outcome="pending",
            target_content_type=ContentType.objects.get_for_model(EventRecord),
        ).order_by("effective_at", "id")[: repeat + 1]
    )
    times, statuses, queries = [], set(), 0
    for position, decision in enumerate(targets):
        data = {
            "action": "approve",
            "request_token": decision_request_token_new(),
            "seen_outcome": "pending",
            "reason": "Checked",
        }
        headers = {"HX-Request": "true", "HX-Target": f"review-row-{decision.pk}"}
        url = f"/traces/decisions/{decision.pk}/review/"
        if position == 0:
            executed = []

            def count(execute, sql, params, many, context, executed=executed):
                executed.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(count):
                statuses.add(client.post(url, data, headers=headers).status_code)
            queries = len(executed)
            continue
        start = time.perf_counter()
        statuses.add(client.post(url, data, headers=headers).status_code)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), queries, max(statuses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep the data if it is there")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    evidence_key_for_this_run()
    user_model = get_user_model()
    user = user_model.objects.filter(username="bench-admin").first()
    if user is None:
        user = user_model.objects.create_superuser("bench-admin", "bench@example.com", "x")
    existing = EventRecord.objects.count(), Decision.objects.count()
    if not (args.reuse and existing == (args.events, args.decisions)):
        print(f"filling {args.events:,} events, {args.decisions:,} decisions …", flush=True)
        _fill(args.events, args.decisions, user.pk)

    client = Client()
    client.force_login(user)
    queue = "/traces/review/"
    pending = Decision.objects.filter(outcome="pending").order_by("effective_at", "id")
    second_page = Cursor.of(pending[REVIEW_PAGE_SIZE - 1]).encode()
    pages = {
        "queue, pending (default)": queue,
        "queue, pending, next page (cursor)": f"{queue}?cursor={second_page}",
        "queue, escalated tab": f"{queue}?tab=escalated",
        "queue, decision type": f"{queue}?decision_type=fraud_review",
        "queue, risk = high": f"{queue}?risk=high",
        "queue, AI agent + critical risk": f"{queue}?actor_type=ai_agent&risk=critical",
        "queue, compute + critical, older than 7d": (
            f"{queue}?actor_type=compute&risk=critical&age=7d"
        ),
        "queue, waiting longer than 7 days": f"{queue}?age=7d",
    }
    pages["decision page"] = f"/traces/decisions/{pending.first().pk}/"
    counts = {outcome: Decision.objects.filter(outcome=outcome).count() for outcome in OUTCOMES}
    print(
        f"\n{connection.vendor}, {EventRecord.objects.count():,} events, "
        f"{Decision.objects.count():,} decisions {counts}, median of {args.repeat}"
    )
    print(f"{'request':<44} {'median ms':>10} {'of it SQL':>10} {'queries':>8} {'status':>7}")
    for name, url in pages.items():
        median, sql, queries, status = _measure(client, url, args.repeat)
        print(f"{name:<44} {median:>10.1f} {sql:>10.1f} {queries:>8} {status:>7}")
    median, queries, status = _measure_actions(client, args.repeat)
    action = "approve from the queue (htmx POST)"
    print(f"{action:<44} {median:>10.1f} {'':>10} {queries:>8} {status:>7}")


if __name__ == "__main__":
    main()
