"""Median server time of the web UI's main pages over a large, realistic trace table.

Fills a throw-away database (SQLite ``var/bench_ui.sqlite3`` unless
``DATABASE_URL`` is set) with N events via ``bulk_create``: mixed actor types,
1-3 tracked objects each, reasoning text, 10% children of an earlier event,
spread over 30 days; ``bulk_create`` bypasses the recording services, so the
dashboard's hourly counts are rebuilt afterwards (``event_counts_rebuild``,
what ``manage.py rebuild_event_counts`` does). Then requests each page
through the Django test client as a logged-in user and reports the median
time and the query count.

    python benchmarks/bench_ui.py --events 1000000
    python benchmarks/bench_ui.py --events 1000000 --reuse   # measure again, no refill
    python benchmarks/bench_ui.py --events 1000000 --reuse --hostile   # + the hostile cases

``--hostile`` first moves 70% of the events to one actor (``cust-0``, once),
then also measures what an outsider can ask for: ten tags in one filter, a
word found in every event, a far-future cursor on an actor filter, the page
of that 700,000-event actor (issue 20, point 9).

The fill is skipped with ``--reuse`` when the database already holds N events.
Never point it at a database you care about: it deletes every trace event first.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs

from django_start import (
    ROOT,
    django_start,
    evidence_key_for_this_run,
    load_average_line,
    page_medians,
)

django_start(
    settings="tests.settings",
    sqlite_path=os.environ.get("SQLITE_PATH") or ROOT / "var" / "bench_ui.sqlite3",
    environ={"ALLOWED_HOSTS": "testserver"},
)

from django.contrib import admin  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Q  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from decisioning.appendonly import retention_window  # noqa: E402
from decisioning.models import Decision  # noqa: E402
from decisioning.permissions import REVIEWERS  # noqa: E402
from decisioning.services import review_groups_ensure  # noqa: E402
from traces.counts import event_counts_rebuild  # noqa: E402
from traces.models import (  # noqa: E402
    ActorRecord,
    EventRecord,
    EventSearchDocument,
    EventTag,
    TrackedObjectRecord,
)
from traces.pagination import Cursor  # noqa: E402
from traces.search import search_index_rebuild  # noqa: E402
from traces.webhooks.models import WebhookDelivery, WebhookEndpoint  # noqa: E402

BATCH = 5_000
SPAN = timedelta(days=30)
ORDERS = 50_000
PRODUCTS = 5_000

ACTORS = {
    "user": [(f"cust-{i}", f"Customer {i}") for i in range(40)]
    + [(f"agent-{i}", f"Support agent {i}") for i in range(5)],
    "ai_agent": [
        ("pricing-ai", "Dynamic Pricing"),
        ("fraud-ai", "Fraud Screening"),
        ("restock-ai", "Demand Forecast"),
    ],
    "compute": [("inventory-sync", "Inventory Sync"), ("nightly-report", "Nightly report")],
    "system": [("order-service", "Order service"), ("mailer", "Mailer")],
    "external": [("stripe", "Stripe"), ("dhl", "DHL")],
}
# Share of events per actor type.
WEIGHTS = {"user": 30, "ai_agent": 25, "compute": 15, "system": 20, "external": 10}
EVENT_TYPES = {
    "user": ["order.created", "cart.updated", "refund.requested", "order.cancelled"],
    "ai_agent": ["price.adjusted", "fraud.screened", "ai.recommendation"],
    "compute": ["inventory.synced", "report.generated", "inventory.sync_failed"],
    "system": ["order.shipped", "email.sent", "order.updated"],
    "external": ["payment.authorized", "shipment.delivered"],
}
OBJECT_TYPES = ["order", "product", "customer", "inventory", "payment"]
REASONS = [
    "Competitor prices moved and stock is healthy; margin stays above 12%.",
    "Customer completed checkout after 3 items in cart.",
    "Low fraud risk: returning customer, billing and shipping addresses match.",
    "Stock below reorder point for the third day in a row.",
    "Carrier confirmed delivery with signature.",
]


def _fill(total: int) -> None:
    rng = random.Random(6)
    # Emptying the tables is a deletion of append-only rows: the retention path's window.
    with retention_window(connection.alias), connection.cursor() as cursor:
        for model in (EventSearchDocument, EventTag, TrackedObjectRecord, EventRecord):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")
    search_index_rebuild()  # empties SQLite's full-text index with the documents
    actors = {
        kind: [
            ActorRecord.objects.get_or_create(
                actor_type=kind, actor_id=actor_id, defaults={"name": name}
            )[0]
            for actor_id, name in rows
        ]
        for kind, rows in ACTORS.items()
    }
    kinds = list(WEIGHTS)
    weights = list(WEIGHTS.values())
    now = timezone.now()
    made = 0
    started = time.perf_counter()
    while made < total:
        size = min(BATCH, total - made)
        events, objects, tags = [], [], []
        for _ in range(size):
            kind = rng.choices(kinds, weights)[0]
            actor = rng.choice(actors[kind])
            event_id = uuid.uuid4()
            parent = events[-rng.randint(1, min(len(events), 50))] if events else None
            is_child = parent is not None and rng.random() < 0.10
            effective_at = (
                parent.effective_at + timedelta(seconds=rng.uniform(0.1, 5))
                if is_child
                else now - SPAN * rng.random()
            )
            decided = kind == "ai_agent" or rng.random() < 0.2
            needs_approval = decided and rng.random() < 0.02
            events.append(
                EventRecord(
                    id=event_id,
                    event_type=rng.choice(EVENT_TYPES[kind]),
                    description=f"{kind} event {made + len(events)}",
                    actor=actor,
                    actor_type=kind,
                    effective_at=effective_at,
                    duration=round(rng.expovariate(2), 3),
                    has_decision=decided,
                    reasoning=rng.choice(REASONS) if decided else "",
                    confidence=round(rng.uniform(0.5, 1), 2) if kind == "ai_agent" else None,
                    risk_level=rng.choice(["low", "medium", "medium", "high", "critical"])
                    if decided
                    else "",
                    outcome="failure" if rng.random() < 0.03 else "success",
                    requires_approval=needs_approval,
                    approval_status="pending" if needs_approval else "",
                    parent=parent if is_child else None,
                    root_id=(parent.root_id if is_child else event_id),
                    depth=(parent.depth + 1 if is_child else 0),
                    tags=["bench"] if rng.random() < 0.3 else [],
                )
            )
            for position in range(rng.randint(1, 3)):
                object_type = OBJECT_TYPES[position] if position else "order"
                number = rng.randrange(ORDERS if object_type == "order" else PRODUCTS)
                objects.append(
                    TrackedObjectRecord(
                        event_id=event_id,
                        position=position,
                        object_type=object_type,
                        object_id=f"{object_type[:3]}-{number}",
                        state_before={"status": "paid"} if position == 0 else None,
                        state_after={"status": "shipped"} if position == 0 else None,
                    )
                )
            if events[-1].tags:
                tags.append(EventTag(event_id=event_id, tag="bench"))
        # recorded_at is auto_now_add; bulk_create sets it like a normal insert.
        EventRecord.objects.bulk_create(events, batch_size=1_000)
        TrackedObjectRecord.objects.bulk_create(objects, batch_size=2_000)
        EventTag.objects.bulk_create(tags, batch_size=2_000)
        made += size
        if made % 100_000 == 0 or made == total:
            rate = made / (time.perf_counter() - started)
            print(f"  {made:>9,} events ({rate:,.0f}/s)", flush=True)
    began = time.perf_counter()
    rows = event_counts_rebuild()
    print(
        f"  event counts rebuilt: {rows.hourly:,} hourly and {rows.by_type:,} by type rows "
        f"in {time.perf_counter() - began:.1f} s"
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


BUSY_ACTOR = "cust-0"
BUSY_SHARE = 0.7


def _make_busy_actor() -> None:
    """Give ``BUSY_ACTOR`` 70% of the events (one UPDATE), then recount and re-analyze."""
    actor = ActorRecord.objects.get(actor_type="user", actor_id=BUSY_ACTOR)
    total = EventRecord.objects.count()
    if EventRecord.objects.filter(actor=actor).count() >= total * BUSY_SHARE * 0.95:
        return
    table = connection.ops.quote_name(EventRecord._meta.db_table)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        # Seven events in ten, spread over the whole period (by the id's first hex digit).
        cursor.execute(
            f"UPDATE {table} SET actor_id = %s, actor_type = 'user' "
            f"WHERE SUBSTR(id, 1, 1) IN ('0','1','2','3','4','5','6','7','8','9','a')",
            [actor.pk],
        )
    event_counts_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    busy = EventRecord.objects.filter(actor=actor).count()
    print(f"  {BUSY_ACTOR} now has {busy:,} events ({time.perf_counter() - began:.1f} s)")


def _index_for_search() -> None:
    """Search documents for the events (the fill leaves them out), then the full-text index."""
    if EventSearchDocument.objects.exists():
        return
    began = time.perf_counter()
    docs = connection.ops.quote_name(EventSearchDocument._meta.db_table)
    events = connection.ops.quote_name(EventRecord._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {docs} (event_id, body) "
            f"SELECT id, description || ' ' || reasoning FROM {events}"
        )
    search_index_rebuild()
    print(f"  search documents indexed ({time.perf_counter() - began:.1f} s)")


DECIDERS = ("alice.morgan", "bob.lee")
REJECTIONS = ["Margin would drop under 10%.", "Competitor price is stale.", "Needs a second look."]


def _add_decisions() -> None:
    """Decisions about events (the fill makes none): every needs-approval event, one in 16 else.

    About 70,000 at 1M events: a third pending, the rest approved or rejected by
    one of two reviewers with a reason; the events' own ``approved_by`` stays
    empty, as for a decision taken after the (append-only) event was stored.
    """
    if Decision.objects.exists():
        return
    began = time.perf_counter()
    rng = random.Random(7)
    users = [get_user_model().objects.get_or_create(username=name)[0] for name in DECIDERS]
    event_type = ContentType.objects.get_for_model(EventRecord)
    chosen = EventRecord.objects.filter(Q(requires_approval=True) | Q(id__startswith="0"))
    made = 0
    for batch in _batched(chosen.values_list("id", "effective_at").iterator(), BATCH):
        rows = []
        for event_id, effective_at in batch:
            outcome = rng.choice(["pending", "approved", "rejected"])
            decided = outcome != "pending"
            rows.append(
                Decision(
                    target_content_type=event_type,
                    target_id=str(event_id),
                    decision_type="price_change",
                    outcome=outcome,
                    reason=rng.choice(REJECTIONS) if outcome == "rejected" else "",
                    decided_by=rng.choice(users) if decided else None,
                    decided_at=effective_at + timedelta(minutes=rng.randint(5, 600))
                    if decided
                    else None,
                    effective_at=effective_at,
                )
            )
        Decision.objects.bulk_create(rows, batch_size=1_000)
        made += len(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"  {made:,} decisions added ({time.perf_counter() - began:.1f} s)")


def _add_deliveries() -> None:
    """One webhook delivery per decision (the fill makes none), to one endpoint."""
    if WebhookDelivery.objects.exists():
        return
    began = time.perf_counter()
    endpoint, _ = WebhookEndpoint.objects.get_or_create(
        name="bench", defaults={"url": "https://hooks.example.com/bench"}
    )
    rows = Decision.objects.values_list("outcome", "decided_at", "effective_at").iterator()
    made = 0
    for batch in _batched(rows, BATCH):
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    endpoint=endpoint,
                    event=f"decision.{outcome}",
                    body="{}",
                    status="delivered",
                    attempts=1,
                    last_status_code=200,
                    created_at=decided_at or effective_at,
                )
                for outcome, decided_at, effective_at in batch
            ],
            batch_size=1_000,
        )
        made += len(batch)
    print(f"  {made:,} webhook deliveries added ({time.perf_counter() - began:.1f} s)")


def _batched(rows, size):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _hostile_pages() -> dict[str, str]:
    far_future = Cursor(datetime(9999, 12, 29, tzinfo=UTC), uuid.UUID(int=(1 << 128) - 1))
    tags = ",".join(["bench", *(f"missing-{i}" for i in range(9))])
    return {
        "hostile: ten tags in one filter": f"/traces/?tag={tags}",
        "hostile: one rare tag": "/traces/?tag=missing-1",
        "hostile: a word in every event": "/traces/?q=event",
        "hostile: a word in 30% of the events": "/traces/?q=user",
        "hostile: far-future cursor, actor filter": (
            f"/traces/?actor=pricing-ai&cursor={far_future.encode()}"
        ),
        "hostile: far-future cursor, busy actor": (
            f"/traces/?actor={BUSY_ACTOR}&cursor={far_future.encode()}"
        ),
        "hostile: busy actor's page, 24 hours": f"/traces/actors/user/{BUSY_ACTOR}/",
        "hostile: busy actor's page, 30 days": f"/traces/actors/user/{BUSY_ACTOR}/?period=30d",
    }


def _issue16_pages() -> dict[str, str]:
    """Issue 16: the search syntax at scale (point 6), as the reviewer."""
    return {
        "search: a word in 30% (q=user)": "/traces/?q=user",
        "search: a word in every event (q=event)": "/traces/?q=event",
        "search: a phrase": '/traces/?q="user+event"',
        "search: a prefix (q=us*)": "/traces/?q=us*",
        "search: OR": "/traces/?q=user+OR+refund",
        "search: best match (q=user)": "/traces/?q=user&sort=best",
        "search: a rare word": "/traces/?q=zebra",
    }


def _admin_pages(client: Client) -> dict[str, str]:
    """Issue 16 point 12: every registered admin list, plain, page 2, each list filter's
    first choice, the date navigation's first step, and a long (10-word) search."""
    long_words = "+".join(["ord"] * 10)
    pages = {}
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        path = f"/admin/{meta.app_label}/{meta.model_name}/"
        name = f"admin {meta.verbose_name_plural}"
        pages[name] = path
        pages[f"{name}, second page"] = f"{path}?p=2"
        if model_admin.search_fields:
            pages[f"{name}, search (10 words)"] = f"{path}?q={long_words}"
        html = client.get(path).content.decode()
        sidebar = html.partition('id="changelist-filter"')[2].partition("</nav>")[0]
        seen = set()
        for href in re.findall(r'href="(\?[^"]+)"', sidebar):
            query = unescape(href)[1:]
            keys = tuple(sorted(parse_qs(query)))
            # "Show counts" (facets) counts every row once per choice: no list offers it.
            if keys and keys not in seen and "_facets" not in keys:
                seen.add(keys)
                pages[f"{name}, filter {query}"[:60]] = f"{path}?{query}"
        if model_admin.date_hierarchy:
            field = model_admin.date_hierarchy
            pages[f"{name}, {field} this year"] = f"{path}?{field}__year={timezone.now().year}"
    pages["admin events, one year (effective_at__year)"] = (
        f"/admin/traces/eventrecord/?effective_at__year={timezone.now().year}"
    )
    pages["admin decisions, by order id (target's external id)"] = (
        "/admin/decisioning/decision/?q=ord-1"
    )
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep the data if N events exist")
    parser.add_argument(
        "--hostile", action="store_true", help="also the hostile cases (moves events to cust-0)"
    )
    parser.add_argument("--only-hostile", action="store_true", help="only the hostile cases")
    parser.add_argument(
        "--only-issue16", action="store_true", help="only the search syntax and admin lists"
    )
    parser.add_argument("--match", default="", help="only the pages whose name holds this")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    evidence_key_for_this_run()
    existing = EventRecord.objects.count()
    if not (args.reuse and existing == args.events):
        print(f"filling {args.events:,} events on {connection.vendor} …", flush=True)
        _fill(args.events)

    user, _ = get_user_model().objects.get_or_create(username="bench-reviewer")
    # A reviewer: the approval filter and the decisions need the permission to view them.
    user.groups.add(review_groups_ensure()[REVIEWERS])
    client = Client()
    client.force_login(user)
    busiest = (
        TrackedObjectRecord.objects.filter(object_type="order")
        .values_list("object_id", flat=True)
        .first()
    )
    pages = {
        "timeline, unfiltered": "/traces/",
        "timeline, actor type = AI agent": "/traces/?actor_type=ai_agent",
        "timeline, next page (cursor)": None,
        "timeline, AI agent + compute": "/traces/?actor_type=ai_agent&actor_type=compute",
        "timeline, outcome = failure, last 7 days": "/traces/?outcome=failure&period=7d",
        "timeline, event type prefix order.*": "/traces/?event_type=order.*",
        "timeline, pending approval": "/traces/?approval=pending",
        "dashboard, last 24 hours": "/",
        "dashboard, last 7 days": "/?period=7d",
        "dashboard, last 30 days": "/?period=30d",
        "actor (pricing-ai), last 24 hours": "/traces/actors/ai_agent/pricing-ai/",
        "actor (pricing-ai), last 7 days": "/traces/actors/ai_agent/pricing-ai/?period=7d",
        "actor (pricing-ai), last 30 days": "/traces/actors/ai_agent/pricing-ai/?period=30d",
        f"object history (order {busiest})": f"/traces/objects/order/{busiest}/",
    }
    first = EventRecord.objects.newest_first()[29]
    pages["timeline, next page (cursor)"] = f"/traces/?cursor={Cursor.of(first).encode()}"
    if args.hostile or args.only_hostile:
        _make_busy_actor()
        _index_for_search()
        pages = {} if args.only_hostile else pages
        pages.update(_hostile_pages())
    clients = dict.fromkeys(pages, client)
    if args.only_issue16:
        _index_for_search()
        _add_decisions()
        _add_deliveries()
        pages = _issue16_pages()
        clients = dict.fromkeys(pages, client)
        admin, _ = get_user_model().objects.get_or_create(
            username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
        )
        admin_client = Client()
        admin_client.force_login(admin)
        for name, url in _admin_pages(admin_client).items():
            pages[name] = url
            clients[name] = admin_client
    print(f"\n{connection.vendor}, {EventRecord.objects.count():,} events, median of {args.repeat}")
    print(
        f"{'page':<60} {'median ms':>10} {'cpu ms':>8} {'sql ms':>8} {'queries':>8} {'status':>7}"
    )
    load_before = os.getloadavg()
    for name, url in pages.items():
        if args.match and args.match not in name:
            continue
        median, cpu, sql, queries, status = page_medians(
            clients.get(name, client), url, args.repeat
        )
        print(
            f"{name:<60} {median:>10.1f} {cpu:>8.1f} {sql:>8.1f} {queries:>8} {status:>7}",
            flush=True,
        )
    print(load_average_line(load_before))


if __name__ == "__main__":
    main()
