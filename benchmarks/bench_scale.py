"""Scale benchmark (issue 18): a bulk load, every page's server time, writes against raw SQL.

    # 10 million events on PostgreSQL: load (resumable), then every page
    DATABASE_URL=postgres://user@host/db python benchmarks/bench_scale.py load --events 10000000
    DATABASE_URL=postgres://user@host/db python benchmarks/bench_scale.py pages
    # the write path against a raw-SQL writer of the same rows, at the stored N
    python benchmarks/bench_scale.py writes --sqlite-path /tmp/copy-of-1m.sqlite3

``load`` stores realistic events through ``trace_record_many()`` (the bulk
path: COPY on PostgreSQL) in batches of 5,000, oldest first, spread over the
``--days`` before now (default 450, so a 400-day retention has work): mixed
actor types, one system actor with about a fifth of all events, 1-3 tracked
objects, reasoning on most, tags on 30 %, 10 % children of a recent event, 2 %
needing approval, 3 % failures, the word "backorder" in about 1 % of the texts.
It resumes from the stored count (batch ``k`` is always the same events) and
prints the rate, the elapsed time and the database size per million events.

``pages`` requests every page through Django's test client as a logged-in
reviewer (median server time of ``--repeat`` runs after one warm-up, and the
query count) plus the in-process client's reads.

``writes`` times, at the stored N and in one run, ``record()`` (one event per
transaction) and ``record_many()`` (batches of 5,000) against a hand-written
raw-SQL writer of the same rows (events, object links, search rows; one event
per transaction, and one batch; COPY on PostgreSQL), alternating.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bench_traces import RARE_WORD, WORDS
from django_start import ROOT, django_start, load_average_line

BATCH = 5_000
BUSY_ACTOR = ("system", "order-service")
EVENT_TYPES = {
    "user": ["order.created", "cart.updated", "refund.requested", "order.cancelled"],
    "ai_agent": ["price.adjusted", "fraud.screened", "ai.recommendation"],
    "compute": ["inventory.synced", "report.generated", "inventory.sync_failed"],
    "system": ["order.shipped", "email.sent", "order.updated"],
    "external": ["payment.authorized", "shipment.delivered"],
}


def _text(rng: random.Random, rare: bool) -> str:
    words = rng.choices(WORDS, k=10)
    if rare:
        words.insert(rng.randrange(len(words)), RARE_WORD)
    return " ".join(words).capitalize() + "."


def _event(client: Any, rng: random.Random, when: datetime, total: int) -> Any:
    from decision_trace import ObjectType

    kind = rng.random()
    if kind < 0.20:
        actor_type = "system"
    elif kind < 0.55:
        actor_type = "user"
    elif kind < 0.75:
        actor_type = "ai_agent"
    elif kind < 0.90:
        actor_type = "compute"
    else:
        actor_type = "external"
    builder = client.trace(rng.choice(EVENT_TYPES[actor_type]), _text(rng, rng.random() < 0.005))
    if actor_type == "system":
        builder.by_system(BUSY_ACTOR[1])
    elif actor_type == "user":
        builder.by_user(f"user-{rng.randrange(20_000)}", "Shop User", role="customer")
    elif actor_type == "ai_agent":
        builder.by_ai(f"agent-{rng.randrange(20)}", "Pricing AI", model="gpt-4", confidence=0.8)
    elif actor_type == "compute":
        builder.by_compute(f"job-{rng.randrange(50)}", "Nightly job", service_name="warehouse")
    else:
        service = rng.choice(["stripe", "dhl", "ups"])
        builder.by_external(service, service.upper())
    orders = max(total // 10, 1)
    builder.affecting_object(ObjectType.ORDER, f"ord-{rng.randrange(orders)}", state_after={})
    for _ in range(rng.randrange(3)):
        if rng.random() < 0.5:
            builder.affecting_object(ObjectType.PRODUCT, f"prod-{rng.randrange(20_000)}")
        else:
            builder.affecting_object(ObjectType.CUSTOMER, f"cust-{rng.randrange(200_000)}")
    if actor_type != "system" or rng.random() < 0.3:
        builder.because(
            _text(rng, rng.random() < 0.005),
            alternatives=[{"action": rng.choice(WORDS), "reason": _text(rng, False)}],
            rejection_reasons={rng.choice(WORDS): "Too costly"},
        )
        builder.with_risk(rng.choice(["low", "medium", "medium", "high", "critical"]))
        if rng.random() < 0.02:
            builder.requires_approval()
    if rng.random() < 0.3:
        builder.with_tags(rng.choice(["vip", "manual", "nightly", "promo"]))
    if rng.random() < 0.03:
        builder.failed("Carrier API timed out")
    return builder.at(when)


BUSY_ORDER = "ord-busy"
BUSY_EVERY = 10_000


def _batch(client: Any, number: int, total: int, days: int, now: datetime) -> list[Any]:
    """Batch ``number`` of a load of ``total`` events: always the same events for a seed."""
    rng = random.Random(number)
    span = timedelta(days=days)
    start = now - span
    events: list[Any] = []
    recent: list[tuple[str, datetime]] = []
    first = number * BATCH
    for n in range(first, min(first + BATCH, total)):
        when = start + span * (n / total)
        builder = _event(client, rng, when, total)
        if n % BUSY_EVERY == 0:
            builder.affecting_order(BUSY_ORDER)
        if recent and rng.random() < 0.10:
            parent_id, parent_at = rng.choice(recent[-200:])
            builder.child_of(parent_id).at(parent_at + timedelta(seconds=rng.uniform(0.1, 5)))
        else:
            recent.append((builder.event_id, when))
        events.append(builder.build())
    return events


def _database_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
        else:
            cursor.execute(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            )
        return int(cursor.fetchone()[0])


def _batch_bounds(number: int, total: int, days: int, now: datetime) -> tuple[datetime, datetime]:
    span = timedelta(days=days)
    start = now - span
    first = number * BATCH
    return start + span * (first / total), start + span * (min(first + BATCH, total) / total)


def load(args: argparse.Namespace) -> None:
    """Store ``--events`` events through ``trace_record_many``, skipping batches already stored.

    ``--direction backward`` starts with the newest batch, ``--start-fraction``
    somewhere in the middle: several loaders fill the database faster, each
    skipping what is stored until it has work and stopping where it meets
    another's part. Stopped early, backward loaders leave the recent days
    complete.
    """
    from django.db import connection

    from traces import DecisionTraceClient
    from traces.models import EventRecord
    from traces.services import trace_record_many

    client = DecisionTraceClient()
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    batches = list(range((args.events + BATCH - 1) // BATCH))
    if args.direction == "backward":
        batches.reverse()
    # More loaders: each starts at its own place and skips what is stored.
    start = int(len(batches) * args.start_fraction)
    batches = batches[start:] + batches[:start]
    began = time.perf_counter()
    done = 0
    print(f"{connection.vendor}: loading {args.events:,} events ({args.direction})", flush=True)
    for number in batches:
        low, high = _batch_bounds(number, args.events, args.days, now)
        # Past the first minute: a child may fall a few seconds after its parent's batch.
        stored_here = EventRecord.objects.filter(
            effective_at__gte=low + timedelta(minutes=1), effective_at__lt=high
        )
        if stored_here.exists():
            if done:
                break  # another loader's part begins here
            continue
        events = _batch(client, number, args.events, args.days, now)
        trace_record_many(events=events)
        done += len(events)
        if done % 100_000 == 0:
            elapsed = time.perf_counter() - began
            stored = EventRecord.objects.count() if done % 1_000_000 == 0 else None
            size = _database_bytes()
            line = f"  +{done:>11,} events, {done / elapsed:,.0f}/s, {elapsed:,.0f} s, "
            line += f"database {size / 2**30:.2f} GiB"
            if stored:
                line += f", {stored:,} stored ({size / 2**20 / (stored / 1e6):,.0f} MiB/million)"
            print(line, flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    stored = EventRecord.objects.count()
    size = _database_bytes()
    print(
        f"done: {stored:,} events stored, +{done:,} in {time.perf_counter() - began:,.0f} s, "
        f"database {size / 2**30:.2f} GiB ({size / 2**20 / max(stored / 1e6, 1e-9):,.0f} "
        "MiB per million events)",
        flush=True,
    )


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def _medians_ms(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``fn`` (CPU: this process's, so on PostgreSQL it
    leaves out the server's; on SQLite it includes the database's work)."""
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - began_cpu) * 1000)
        wall.append((time.perf_counter() - began) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def _page_urls(web: Any) -> Iterator[tuple[str, str]]:
    """Every page and API read measured, for a signed-in test client ``web``."""
    from traces.models import ActorRecord, EventRecord

    newest = EventRecord.objects.newest_first()
    event = newest.values_list("pk", flat=True)[100]
    cursor_event = newest[49]
    busiest_id = BUSY_ORDER
    agent = ActorRecord.objects.filter(actor_type="ai_agent").values_list("actor_id", flat=True)[0]
    from decisioning.models import Decision
    from traces.pagination import Cursor

    decision = Decision.objects.order_by("-effective_at").values_list("pk", flat=True).first()
    chain_root = EventRecord.objects.filter(depth__gt=0).values_list("root_id", flat=True).first()
    api_cursor = web.get("/api/v1/events").json()["next_cursor"]

    yield "dashboard, 24 hours", "/"
    yield "dashboard, 7 days", "/?period=7d"
    yield "dashboard, 30 days", "/?period=30d"
    yield "timeline, unfiltered", "/traces/"
    yield "timeline, next page (cursor)", f"/traces/?cursor={Cursor.of(cursor_event).encode()}"
    yield "timeline, actor type AI agent", "/traces/?actor_type=ai_agent"
    yield "timeline, actor agent-3", "/traces/?actor=agent-3"
    yield "timeline, event type order.*", "/traces/?event_type=order.*"
    yield "timeline, object type + id", f"/traces/?object_type=order&object_id={busiest_id}"
    yield "timeline, object id (busiest order)", f"/traces/?object_id={busiest_id}"
    yield "timeline, outcome failure", "/traces/?outcome=failure"
    yield "timeline, risk critical", "/traces/?risk=critical"
    yield "timeline, approval pending", "/traces/?approval=pending"
    yield "timeline, tag vip", "/traces/?tag=vip"
    yield "timeline, period 7 days", "/traces/?period=7d"
    yield f"timeline, q {RARE_WORD}", f"/traces/?q={RARE_WORD}"
    yield "event page", f"/traces/events/{event}/"
    yield f"object history (busiest order {busiest_id})", f"/traces/objects/order/{busiest_id}/"
    for period in ("24h", "7d", "30d"):
        yield (
            f"actor ai_agent/{agent}, {period}",
            f"/traces/actors/ai_agent/{agent}/?period={period}",
        )
    for period in ("24h", "7d", "30d"):
        actor_type, actor_id = BUSY_ACTOR
        yield (
            f"actor {actor_id} (most events), {period}",
            f"/traces/actors/{actor_type}/{actor_id}/?period={period}",
        )
    yield "review queue", "/traces/review/"
    yield "decision list", "/traces/decisions/"
    yield "decision page", f"/traces/decisions/{decision}/"
    for word in (RARE_WORD, "customer"):
        yield f"search page, {word}, newest first", f"/traces/?q={word}"
        yield f"search page, {word}, best match", f"/traces/?q={word}&sort=best"
    yield "admin: events", "/admin/traces/eventrecord/"
    yield "admin: actors", "/admin/traces/actorrecord/"
    yield "admin: decisions", "/admin/decisioning/decision/"
    # The HTTP API's reads (signed in with the browser session, as a token would be).
    yield "API: events", "/api/v1/events"
    yield "API: events, next page", f"/api/v1/events?cursor={api_cursor}"
    yield "API: events by actor type", "/api/v1/events?actor_type=ai_agent"
    yield "API: events of the busiest order", f"/api/v1/events?object_id={busiest_id}"
    yield "API: one event", f"/api/v1/events/{event}"
    yield "API: a chain", f"/api/v1/events/{chain_root}/chain"
    yield "API: object history", f"/api/v1/objects/order/{busiest_id}/history"
    yield "API: actor", f"/api/v1/actors/ai_agent/{agent}"
    yield f"API: search {RARE_WORD}", f"/api/v1/search?q={RARE_WORD}"
    yield "API: search customer", "/api/v1/search?q=customer"
    yield "API: decisions", "/api/v1/decisions"
    yield "API: one decision", f"/api/v1/decisions/{decision}"


class _Counter:
    """An execute wrapper that keeps each statement's SQL."""

    def __init__(self, executed: list[str]) -> None:
        self.executed = executed

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.executed.append(sql)
        return execute(sql, params, many, context)


def _signed_in() -> Any:
    """A test client signed in as the benchmark's superuser (created once)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user_model = get_user_model()
    user = user_model.objects.filter(username="bench-admin").first()
    if user is None:
        user = user_model.objects.create_superuser("bench-admin", "bench@example.com", None)
    web = Client()
    web.force_login(user)
    return web


def pages(args: argparse.Namespace) -> None:
    """Median server time of every page and of the in-process client's reads."""
    from django.db import connection

    from traces import DecisionTraceClient
    from traces.models import EventRecord

    web = _signed_in()
    total = EventRecord.objects.count()
    load_before = os.getloadavg()
    print(f"\n{connection.vendor}, {total:,} events, median of {args.repeat}")
    print(f"{'page':<52} {'median ms':>10} {'cpu ms':>8} {'queries':>8} {'status':>7}")
    for name, url in _page_urls(web):
        executed: list[str] = []
        web.get(url)
        with connection.execute_wrapper(_Counter(executed)):
            status = web.get(url).status_code
        median, cpu = _medians_ms(lambda url=url: web.get(url), args.repeat)
        print(f"{name:<52} {median:>10.1f} {cpu:>8.1f} {len(executed):>8} {status:>7}", flush=True)
    client = DecisionTraceClient()
    root = EventRecord.objects.filter(depth__gt=0).values_list("root_id", flat=True).first()
    busiest = BUSY_ORDER
    reads: list[tuple[str, Callable[[], object]]] = [
        ("client.query(limit=50)", lambda: client.query(limit=50)),
        ("client.query(actor_types=[ai_agent])", lambda: client.query(actor_types=["ai_agent"])),
        ("client.get_chain", lambda: client.get_chain(str(root))),
        ("client.get_object_history(order)", lambda: client.get_object_history(object_id=busiest)),
        (f"client.search({RARE_WORD})", lambda: client.search(RARE_WORD, limit=50)),
        ("client.search(customer)", lambda: client.search("customer", limit=50)),
    ]
    for name, fn in reads:
        print(f"{name:<52} {_median_ms(fn, args.repeat):>10.1f}", flush=True)
    print(load_average_line(load_before))


class RawWriter:
    """A hand-written writer of the same rows: events, object links, search rows (and FTS5).

    What the database costs without the project: no validation, no actor
    upsert, no tags, counts or decisions. Values are adapted by hand (JSON
    text, UUIDs as the backend stores them); COPY on PostgreSQL for a batch, INSERT for
    one event. Each event names its own actor's row, as the project's does
    (``actors_stored`` makes them first, untimed): the rows are the same, down
    to where they land in the actor index.
    """

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.postgres = connection.vendor == "postgresql"
        self.actor_pks: dict[tuple[str, str], int] = {}

    def actors_stored(self, events: list[Any]) -> None:
        """Make sure every actor of ``events`` has a row and note its key (not timed)."""
        from traces.models import ActorRecord

        wanted = {(e.actor.type.value, e.actor.id) for e in events} - self.actor_pks.keys()
        if not wanted:
            return
        now = datetime.now(UTC)
        ActorRecord.objects.bulk_create(
            [
                ActorRecord(actor_type=t, actor_id=i, first_seen_at=now, last_seen_at=now)
                for t, i in wanted
            ],
            ignore_conflicts=True,
        )
        for key in ActorRecord.objects.filter(actor_id__in={i for _, i in wanted}).values_list(
            "actor_type", "actor_id", "pk"
        ):
            self.actor_pks[(key[0], key[1])] = key[2]

    def _uuid(self, value: str) -> Any:
        return uuid.UUID(value) if self.postgres else uuid.UUID(value).hex

    def _when(self, value: datetime) -> Any:
        return value if self.postgres else str(value.astimezone(UTC).replace(tzinfo=None))

    def rows(self, events: list[Any], recorded_at: datetime) -> tuple[list, list, list]:
        dumps = json.dumps
        event_rows, object_rows, documents = [], [], []
        for event in events:
            pk = self._uuid(event.id)
            decision = event.decision
            reasoning = decision.reasoning if decision else ""
            alternatives = decision.alternatives if decision else []
            rejections = decision.rejection_reasons if decision else {}
            event_rows.append(
                (
                    pk,
                    self._when(event.timestamp),
                    self._when(recorded_at),
                    event.duration,
                    event.event_type,
                    event.description,
                    self.actor_pks[(event.actor.type.value, event.actor.id)],
                    event.actor.type.value,
                    decision is not None,
                    reasoning,
                    dumps(alternatives),
                    dumps(rejections),
                    decision.risk_level.value if decision and decision.risk_level else "",
                    event.outcome.value,
                    dumps(list(event.tags)),
                    pk,
                )
            )
            for position, obj in enumerate(event.objects):
                object_rows.append((pk, position, obj.type.value, obj.id, dumps(obj.state_after)))
            body = "\n".join([event.description, reasoning, dumps(alternatives), dumps(rejections)])
            documents.append((pk, body))
        return event_rows, object_rows, documents

    _EVENT_COLUMNS = (
        "id, effective_at, recorded_at, duration, event_type, description, actor_id, "
        "actor_type, has_decision, reasoning, alternatives, rejection_reasons, risk_level, "
        "outcome, tags, root_id, decision_trace_id, action, context, constraints, "
        "requires_approval, approval_status, approved_by, trigger, depends_on, "
        "outcome_details, error, data, depth, correlation_id, source_system"
    )
    _EVENT_DEFAULTS = ("", "", "{}", "[]", False, "", "", "", "[]", "{}", "", "{}", 0, "", "")
    _OBJECT_COLUMNS = (
        "event_id, position, object_type, object_id, state_after, external_id, name, metadata"
    )
    _OBJECT_DEFAULTS = ("", "", "{}")

    def write(self, events: list[Any]) -> None:
        """One transaction for all of ``events``."""
        from django.db import transaction

        events_rows, object_rows, documents = self.rows(events, datetime.now(UTC))
        events_rows = [row + self._EVENT_DEFAULTS for row in events_rows]
        object_rows = [row + self._OBJECT_DEFAULTS for row in object_rows]
        with transaction.atomic(), self.connection.cursor() as cursor:
            if self.postgres and len(events_rows) > 1:
                for table, columns, rows in (
                    ("traces_eventrecord", self._EVENT_COLUMNS, events_rows),
                    ("traces_trackedobjectrecord", self._OBJECT_COLUMNS, object_rows),
                    ("traces_eventsearchdocument", "event_id, body", documents),
                ):
                    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                return
            if self.postgres:
                self._insert(cursor, events_rows, object_rows, documents)
                return
            marks = ", ".join(["%s"] * len(events_rows[0]))
            cursor.executemany(
                f"INSERT INTO traces_eventrecord ({self._EVENT_COLUMNS}) VALUES ({marks})",
                events_rows,
            )
            marks = ", ".join(["%s"] * len(object_rows[0]))
            cursor.executemany(
                f"INSERT INTO traces_trackedobjectrecord ({self._OBJECT_COLUMNS}) VALUES ({marks})",
                object_rows,
            )
            for event_id, body in documents:
                cursor.execute(
                    "INSERT INTO traces_eventsearchdocument (event_id, body) VALUES (%s, %s)",
                    [event_id, body],
                )
                cursor.execute(
                    "INSERT INTO traces_event_fts (rowid, body) VALUES (%s, %s)",
                    [cursor.lastrowid, body],
                )

    def _insert(self, cursor: Any, events: list, objects: list, documents: list) -> None:
        for table, columns, rows in (
            ("traces_eventrecord", self._EVENT_COLUMNS, events),
            ("traces_trackedobjectrecord", self._OBJECT_COLUMNS, objects),
            ("traces_eventsearchdocument", "event_id, body", documents),
        ):
            marks = ", ".join(["%s"] * len(rows[0]))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def writes(args: argparse.Namespace) -> None:
    """record() and record_many() against the raw writer, in alternating rounds."""
    from django.db import connection

    from traces import DecisionTraceClient
    from traces.models import EventRecord

    client = DecisionTraceClient()
    stored = EventRecord.objects.count()
    rng = random.Random(1234)
    now = datetime.now(UTC)

    def fresh(n: int) -> list[Any]:
        return [_event(client, rng, now, 1_000_000) for _ in range(n)]

    # The raw writer's actors exist before its rounds are timed (the project upserts its own).
    raw = RawWriter()
    names = ("one", "raw one", "many", "raw many")
    figures: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(args.rounds):
        # Each single-event measurement starts with --warm untimed writes of its own
        # writer: the first few hundred commits after a 5,000-event batch are slower
        # (about 1.0 ms against 0.62 for record() on SQLite at 1.1 M), and the rounds'
        # order put only the project's singles right after a batch (the raw writer's).
        for builder in fresh(args.warm):
            builder.record()
        builders = fresh(args.singles)
        began = time.perf_counter()
        for builder in builders:
            builder.record()
        figures["one"].append(len(builders) / (time.perf_counter() - began))
        warm = [builder.build() for builder in fresh(args.warm)]
        events = [builder.build() for builder in fresh(args.singles)]
        raw.actors_stored(warm + events)
        for event in warm:
            raw.write([event])
        began = time.perf_counter()
        for event in events:
            raw.write([event])
        figures["raw one"].append(len(events) / (time.perf_counter() - began))
        events = [builder.build() for builder in fresh(BATCH)]
        began = time.perf_counter()
        client.record_many(events)
        figures["many"].append(len(events) / (time.perf_counter() - began))
        events = [builder.build() for builder in fresh(BATCH)]
        raw.actors_stored(events)
        began = time.perf_counter()
        raw.write(events)
        figures["raw many"].append(len(events) / (time.perf_counter() - began))
    median = {name: statistics.median(values) for name, values in figures.items() if values}
    print(f"\n{connection.vendor}, {stored:,} events stored at the start, {args.rounds} rounds")
    print(f"{'measure':<44} {'events/s':>10} {'of raw':>8}")
    for name, label in (("one", "record() (one transaction each)"), ("many", "record_many()")):
        ratio = median[name] / median[f"raw {name}"]
        print(f"{label:<44} {median[name]:>10,.0f} {ratio:>8.2f}")
        print(f"{'  raw SQL, same rows':<44} {median[f'raw {name}']:>10,.0f}")
    print("rounds:", {name: [round(v) for v in values] for name, values in figures.items()})
    print(f"load average (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


_RAW_EVENT = (
    "SELECT e.id, e.effective_at, e.duration, e.event_type, e.description, e.actor_id, "
    "a.actor_type, a.actor_id, a.name, a.email, a.role, a.model, a.version, a.service_name, "
    "a.job_id, a.metadata, e.has_decision, e.decision_trace_id, e.action, e.reasoning, "
    "e.context, e.constraints, e.alternatives, e.rejection_reasons, e.confidence, "
    "e.risk_level, e.requires_approval, e.approved_by, e.trigger, e.trigger_event_id, "
    "e.depends_on, e.outcome, e.outcome_details, e.error, e.data, e.tags, e.parent_id, "
    "e.depth, e.correlation_id, e.source_system, e.source_ip "
    "FROM traces_eventrecord e LEFT JOIN traces_actorrecord a ON a.id = e.actor_id "
)
_RAW_OBJECTS = (
    "SELECT event_id, object_type, object_id, external_id, name, metadata, state_before, "
    "state_after FROM traces_trackedobjectrecord WHERE event_id IN ({}) "
    "ORDER BY event_id, position"
)


# Positions of the JSON columns in _RAW_EVENT's and _RAW_OBJECTS' rows.
_RAW_EVENT_JSON = (15, 20, 21, 22, 23, 30, 32, 34, 35)
_RAW_OBJECT_JSON = (5, 6, 7)


def _raw_rows(cursor: Any, json_columns: tuple[int, ...], sqlite: bool) -> list[list[Any]]:
    """What a hand-written reader returns: the rows, JSON parsed, SQLite's times as datetimes."""
    loads = json.loads
    rows = []
    for row in cursor.fetchall():
        values = list(row)
        for index in json_columns:
            if values[index] is not None:
                values[index] = loads(values[index])
        if sqlite and len(values) > 1 and isinstance(values[1], str):
            values[1] = datetime.fromisoformat(values[1])
        rows.append(values)
    return rows


def _raw_read(sql: str, params: list[Any]) -> int:
    """The hand-written query of the same rows: the events with their actor, then their objects.

    JSON columns are parsed (``json.loads``) as any reader of these rows must,
    on SQLite the event's time too; no value objects are built.
    """
    from django.db import connection

    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        cursor.execute(_RAW_EVENT + sql, params)
        rows = _raw_rows(cursor, _RAW_EVENT_JSON, sqlite)
        if rows:
            ids = [row[0] for row in rows]
            cursor.execute(_RAW_OBJECTS.format(", ".join(["%s"] * len(ids))), ids)
            _raw_rows(cursor, _RAW_OBJECT_JSON, False)
    return len(rows)


def reads(args: argparse.Namespace) -> None:
    """Each client read against the raw query of the same rows, alternating, in one run."""
    from django.db import connection
    from django.db.models import Count

    from traces import DecisionTraceClient
    from traces.models import EventRecord, TrackedObjectRecord
    from traces.search import search_ranked_ids

    client = DecisionTraceClient()
    postgres = connection.vendor == "postgresql"
    # The longest chain among the newest 100,000 events, the busy order (or any order).
    recent = EventRecord.objects.filter(depth__gt=0).order_by("-effective_at")[:100_000]
    root = (
        EventRecord.objects.filter(root_id__in=recent.values("root_id"))
        .values("root_id")
        .annotate(size=Count("id"))
        .order_by("-size")
        .values_list("root_id", flat=True)
        .first()
    )
    busy = (
        TrackedObjectRecord.objects.filter(object_id=BUSY_ORDER).exists() and BUSY_ORDER
    ) or TrackedObjectRecord.objects.values_list("object_id", flat=True).first()
    root_param = root if postgres else root.hex

    def raw_search() -> int:
        ids = search_ranked_ids(RARE_WORD, limit=50)
        marks = ", ".join(["%s"] * len(ids))
        return _raw_read(f"WHERE e.id IN ({marks})", [i if postgres else i.hex for i in ids])

    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (
            "query(limit=50)",
            lambda: client.query(limit=50),
            lambda: _raw_read("ORDER BY e.effective_at DESC, e.id DESC LIMIT 51", []),
        ),
        (
            "query(actor_types=[ai_agent], limit=50)",
            lambda: client.query(actor_types=["ai_agent"], limit=50),
            lambda: _raw_read(
                "WHERE e.actor_type = %s ORDER BY e.effective_at DESC, e.id DESC LIMIT 51",
                ["ai_agent"],
            ),
        ),
        (
            "get_chain",
            lambda: client.get_chain(str(root)),
            lambda: _raw_read(
                "WHERE e.root_id = %s ORDER BY e.depth, e.effective_at, e.id LIMIT 1000",
                [root_param],
            ),
        ),
        (
            f"get_object_history({busy})",
            lambda: client.get_object_history(object_id=busy),
            lambda: _raw_read(
                "WHERE e.id IN (SELECT event_id FROM traces_trackedobjectrecord "
                "WHERE object_id = %s) ORDER BY e.effective_at, e.id LIMIT 501",
                [busy],
            ),
        ),
        (
            f"search({RARE_WORD}, limit=50)",
            lambda: client.search(RARE_WORD, limit=50),
            raw_search,
        ),
    ]
    print(f"\n{connection.vendor}, {EventRecord.objects.count():,} events, median of {args.repeat}")
    print(f"{'client read':<44} {'client ms':>10} {'raw ms':>8} {'ratio':>6} (wall | CPU)")
    for name, project, raw in cases:
        project()
        raw()
        ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
        for _ in range(args.repeat):
            for fn, wall, cpu in ((project, ours, ours_cpu), (raw, theirs, theirs_cpu)):
                began, began_cpu = time.perf_counter(), time.process_time()
                fn()
                wall.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
        mine, base = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
        name = f"{name} [{raw()} events]"
        line = f"{name:<44} {mine:>10.2f} {base:>8.2f} {mine / base:>6.2f}"
        if not postgres:
            # SQLite works inside this process: its CPU time is the read's cost even on a
            # busy machine, where the wall clock also counts the time other processes ran.
            mine, base = statistics.median(ours_cpu) * 1000, statistics.median(theirs_cpu) * 1000
            line += f" | CPU {mine:>6.2f} {base:>6.2f} {mine / base:>6.2f}"
        print(line, flush=True)
    print(f"load average (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def prune(args: argparse.Namespace) -> None:
    """Page latency before and while ``prune_traces`` runs in another process."""
    import subprocess

    from traces.models import EventRecord

    web = _signed_in()
    urls = ["/", "/traces/", "/traces/?actor_type=ai_agent"]

    def sample(seconds: float | None, process: Any = None) -> list[float]:
        times = []
        began = time.monotonic()
        while True:
            for url in urls:
                start = time.perf_counter()
                web.get(url)
                times.append((time.perf_counter() - start) * 1000)
            if process is not None and process.poll() is not None:
                return times
            if seconds is not None and time.monotonic() - began > seconds:
                return times
            time.sleep(0.2)

    before_count = EventRecord.objects.count()
    quiet = sample(20)
    command = [
        sys.executable,
        str(ROOT / "manage.py"),
        "prune_traces",
        "--older-than",
        args.older_than,
        "--batch-size",
        str(args.batch_size),
    ]
    began = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    during = sample(None, process)
    elapsed = time.monotonic() - began
    output = process.stdout.read().decode() if process.stdout else ""
    after_count = EventRecord.objects.count()
    deleted = before_count - after_count
    print(output.strip())
    print(f"{deleted:,} events deleted in {elapsed:,.0f} s ({deleted / elapsed:,.0f}/s)")
    for name, times in (("before", quiet), ("while pruning", during)):
        ordered = sorted(times)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        print(
            f"pages {name}: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
            f"max {ordered[-1]:.1f} ms ({len(times)} requests)"
        )
    print(f"load average (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["load", "pages", "reads", "writes", "prune"])
    parser.add_argument("--events", type=int, default=1_000_000, help="load: events to store")
    parser.add_argument("--days", type=int, default=450, help="load: days the events span")
    parser.add_argument("--now", help="load: ISO time the newest events reach (default: now)")
    parser.add_argument("--direction", choices=["forward", "backward"], default="forward")
    parser.add_argument(
        "--start-fraction", type=float, default=0.0, help="load: where in its order to begin"
    )
    parser.add_argument("--repeat", type=int, default=15, help="runs per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="writes: alternating rounds")
    parser.add_argument("--singles", type=int, default=300, help="writes: record() per round")
    parser.add_argument(
        "--warm", type=int, default=200, help="writes: untimed single writes before each timing"
    )
    parser.add_argument("--older-than", default="20d", help="prune: prune_traces --older-than")
    parser.add_argument("--batch-size", type=int, default=500, help="prune: chains per batch")
    parser.add_argument("--sqlite-path", default=str(ROOT / "var" / "bench_scale.sqlite3"))
    args = parser.parse_args()
    django_start(
        settings="tests.settings" if args.command in ("pages", "prune") else "config.settings",
        sqlite_path=args.sqlite_path,
        environ={
            "DEBUG": "0",
            "ALLOWED_HOSTS": "testserver",
            "SECRET_KEY": "benchmark-only-secret-key-never-used-to-serve-anything",
        },
        migrate=args.command == "load",
    )
    if args.command == "load":
        load(args)
    elif args.command == "pages":
        pages(args)
    elif args.command == "reads":
        reads(args)
    elif args.command == "prune":
        prune(args)
    else:
        writes(args)


if __name__ == "__main__":
    main()
