"""Writes for trace events. Everything else reads (``traces.selectors``).

Each service validates everything first, then writes in one transaction: the
actor upsert, the events, their tracked objects, tags, search documents and
index, a pending ``decisioning.Decision`` for each event that requires
approval, and the hourly event counts (``traces.counts``). A failure anywhere
leaves nothing behind.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from graphlib import CycleError, TopologicalSorter
from typing import Any, cast

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from decision_trace.exceptions import (
    CHAIN_TOO_DEEP,
    DUPLICATE_EVENT,
    PARENT_NOT_FOUND,
    WRONG_ITEM,
    TraceValidationError,
)
from decision_trace.values import Actor, TraceEvent
from decisioning.conf import get_default_due_in
from decisioning.models import Decision, DecisionOutcome
from traces.bulk import (
    COPY_MIN_ROWS,
    column_adapter,
    cyclic_gc_paused,
    insert_rows,
    insert_rows_returning,
    max_query_params,
    pipeline_commit,
    statement_pipeline,
    write_rows,
)
from traces.counts import EventKey, event_counts_add, event_key_fields
from traces.cursors import driver_cursor, own_cursor, write_statements
from traces.evidence.corrections import event_correct
from traces.evidence.models import SealKind
from traces.evidence.retention import retention_delete
from traces.evidence.sealing import seal_request
from traces.mapping import actor_row, event_row, object_row, search_body
from traces.models import ActorRecord, EventRecord, EventTag, TrackedObjectRecord
from traces.rows import fetch_values_in
from traces.rules.engine import (
    LoadedRule,
    RuleSet,
    rule_for,
    rules_load,
    rules_statement,
)
from traces.search import document_body, search_index_add
from traces.webhooks.outbox import DecisionChange, webhook_outbox_add

__all__ = [
    "ACTOR_SEEN_RESOLUTION",
    "MAX_BATCH_SIZE",
    "MAX_CHAIN_DEPTH",
    "trace_delete",
    "trace_index_stored",
    "trace_record",
    "trace_record_many",
    "trace_record_receipts",
    "trace_update_text",
]

MAX_BATCH_SIZE = 50_000
MAX_CHAIN_DEPTH = 1_000
# A CharField always has a max_length (Django's own check fields.E120 says so).
_DECISION_TYPE_LENGTH = cast(int, Decision._meta.get_field("decision_type").max_length)
# How stale an actor's last_seen_at may get before a write that names it refreshes it.
ACTOR_SEEN_RESOLUTION = timedelta(minutes=1)
_ACTOR_FIELDS = ("name", "email", "role", "model", "version", "service_name", "job_id", "metadata")
_ACTOR_DETAILS = ("actor_type", "actor_id", *_ACTOR_FIELDS)
_ACTOR_UPDATE_FIELDS = [*_ACTOR_FIELDS, "last_seen_at"]
_ACTOR_READ = ("id", "last_seen_at", *_ACTOR_DETAILS)


def _db(using: str | None) -> str:
    return using or router.db_for_write(EventRecord)


def _check_events(events: object) -> list[TraceEvent]:
    if isinstance(events, TraceEvent | str | bytes) or not isinstance(events, Iterable):
        raise TraceValidationError(
            WRONG_ITEM.format(
                field="events", expected="a list of TraceEvent", got=type(events).__name__
            )
        )
    items = list(events)
    if len(items) > MAX_BATCH_SIZE:
        raise TraceValidationError(
            f"At most {MAX_BATCH_SIZE} events go in one batch; got {len(items)}. Split it."
        )
    seen: set[str] = set()
    for event in items:
        if not isinstance(event, TraceEvent):
            raise TraceValidationError(
                WRONG_ITEM.format(
                    field="events", expected="TraceEvent items", got=type(event).__name__
                )
            )
        if event.id in seen:
            raise TraceValidationError(DUPLICATE_EVENT.format(got=event.id))
        seen.add(event.id)
        decision = event.decision
        if decision is not None and decision.requires_approval:
            decision_type = decision.action or event.event_type
            if len(decision_type) > _DECISION_TYPE_LENGTH:
                raise TraceValidationError(
                    f"An event that requires approval uses its action (or event type) as the "
                    f"decision type, at most {_DECISION_TYPE_LENGTH} characters; "
                    f"{decision_type[:40]!r}... is {len(decision_type)}."
                )
    return items


def _chain_positions(
    events: list[TraceEvent], db: str
) -> tuple[list[TraceEvent], dict[str, tuple[uuid.UUID, int]]]:
    """(events ordered parents first, event id -> (root id, depth)).

    One query when some parent is outside the batch, none otherwise. Refuses
    parents that exist neither in the database nor in the batch, and cycles.
    Events whose parents are ready keep their input order.
    """
    batch = {event.id: event for event in events}
    outside = {
        e.parent_event_id
        for e in events
        if e.parent_event_id is not None and e.parent_event_id not in batch
    }
    stored = {}
    if outside:
        stored = {
            str(pk): (root_id, depth)
            for pk, root_id, depth in EventRecord.objects.using(db)
            .filter(pk__in=[uuid.UUID(i) for i in outside])
            .values_list("pk", "root_id", "depth")
        }
    missing = next((parent for parent in outside if parent not in stored), None)
    if missing is not None:
        raise TraceValidationError(PARENT_NOT_FOUND.format(got=missing))
    if not any(e.parent_event_id in batch for e in events):
        # No parent inside the batch (most batches): input order is chain order.
        return events, {event.id: _position(event, {}, stored) for event in events}
    index = {event.id: i for i, event in enumerate(events)}
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for event in events:
        parent = event.parent_event_id
        sorter.add(event.id, *([parent] if parent in batch else []))
    try:
        sorter.prepare()
    except CycleError as exc:
        cycle = exc.args[1]
        raise TraceValidationError(
            f"The events {', '.join(cycle[:3])} are each other's parents; a chain needs a root."
        ) from exc
    positions: dict[str, tuple[uuid.UUID, int]] = {}
    ordered: list[TraceEvent] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=index.__getitem__)
        for event_id in ready:
            event = batch[event_id]
            positions[event_id] = _position(event, positions, stored)
            ordered.append(event)
        sorter.done(*ready)
    return ordered, positions


def _position(
    event: TraceEvent,
    positions: dict[str, tuple[uuid.UUID, int]],
    stored: dict[str, tuple[uuid.UUID, int]],
) -> tuple[uuid.UUID, int]:
    """(root id, depth) of ``event``, its parent's position taken from the batch or the table."""
    parent = event.parent_event_id
    if parent is None:
        return uuid.UUID(event.id), 0
    root_id, depth = positions[parent] if parent in positions else stored[parent]
    if depth + 1 > MAX_CHAIN_DEPTH:
        raise TraceValidationError(CHAIN_TOO_DEEP.format(max_depth=MAX_CHAIN_DEPTH, got=event.id))
    return root_id, depth + 1


def _upsert_actors(
    events: list[TraceEvent], db: str, stale: list[int]
) -> dict[tuple[str, str], int]:
    """Insert or refresh each (type, id) once; returns their primary keys.

    ``stale`` receives the keys of the unchanged actors whose ``last_seen_at``
    is due (``_touch_actors`` writes it later, in the pipeline of the inserts).

    One ``SELECT`` of the stored rows first: an actor whose details are
    unchanged is not written again (a bulk load names the same few thousand
    actors in every batch; rewriting their rows was 0.7 s of each 5,000-event
    batch on PostgreSQL at a million events), only its ``last_seen_at`` when
    that is ``ACTOR_SEEN_RESOLUTION`` old or older, with one ``UPDATE`` of that
    column for all of them (upserting their whole rows, one statement per 80
    actors, was a third of a batch naming 1,700 users). The others go through one
    ``INSERT ... ON CONFLICT ... DO UPDATE ... RETURNING`` (per 80 actors),
    shared by SQLite and PostgreSQL. The row holds the latest details seen.
    """
    latest = {(e.actor.type.value, e.actor.id): e.actor for e in events if e.actor is not None}
    if not latest:
        return {}
    connection = connections[db]
    now = timezone.now()
    wanted = {key: actor_row(actor) for key, actor in latest.items()}
    known: dict[tuple[str, str], int] = {}
    ids = sorted({actor_id for _, actor_id in wanted})
    # On PostgreSQL one array parameter (= ANY): psycopg parses a statement's text for
    # its placeholders, and thousands of them took longer than the query.
    postgres = connection.vendor == "postgresql"
    # SQLite takes at least 999 parameters: its limit is asked only when it may matter.
    step = len(ids) if postgres or len(ids) < 999 else max_query_params(db) - 1
    for start in range(0, len(ids), max(step, 1)):
        chunk = ids[start : start + step]
        # The SELECT is compiled once per connection (fetch_values_in), not per write.
        keys = ("SELECT UNNEST(%s::text[])", [chunk]) if postgres else chunk
        for values in fetch_values_in(
            ActorRecord, _ACTOR_READ, field="actor_id", keys=keys, order_by=["id"], using=db
        ):
            key = (values["actor_type"], values["actor_id"])
            row = wanted.get(key)
            if row is not None and all(row[f] == values[f] for f in _ACTOR_DETAILS):
                known[key] = values["id"]
                if now - values["last_seen_at"] >= ACTOR_SEEN_RESOLUTION:
                    stale.append(values["id"])
    stale.sort()
    # Sorted: concurrent writers then lock the actor rows in the same order and cannot
    # deadlock on them (two loaders did, in input order, on PostgreSQL).
    known.update(
        _actors_write([row for key, row in sorted(wanted.items()) if key not in known], db, now)
    )
    return known


def _actors_write(rows: list[dict[str, Any]], db: str, now: datetime) -> dict[tuple[str, str], int]:
    """Insert or update these actor rows (``actor_row``s, sorted by key); their primary keys.

    One ``INSERT ... ON CONFLICT ... DO UPDATE ... RETURNING`` per 80 actors;
    both seen-at times are ``now`` (an existing row keeps its ``first_seen_at``).
    """
    if not rows:
        return {}
    quote = connections[db].ops.quote_name
    updates = ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in _ACTOR_UPDATE_FIELDS)
    returned = insert_rows_returning(
        ActorRecord,
        [{**row, "first_seen_at": now, "last_seen_at": now} for row in rows],
        ["actor_type", "actor_id", "id"],
        using=db,
        suffix=f" ON CONFLICT ({quote('actor_type')}, {quote('actor_id')}) DO UPDATE SET {updates}",
    )
    return {(actor_type, actor_id): pk for actor_type, actor_id, pk in returned}


@dataclass(frozen=True)
class _ActorLookup:
    """``_actor_pk``'s statement for one connection, and how its parameters are adapted."""

    sql: str
    metadata: Callable[[Any], Any]
    seen: Callable[[Any], Any]


_ACTOR_LOOKUPS: weakref.WeakKeyDictionary[Any, dict[Any, _ActorLookup]] = (
    weakref.WeakKeyDictionary()
)


def _actor_lookup(connection: Any) -> _ActorLookup:
    """``SELECT id, <details unchanged>, <last_seen_at due>`` of one actor, built once."""
    built = _ACTOR_LOOKUPS.setdefault(connection, {})
    found = built.get(connection.timezone)
    if found is None:
        quote = connection.ops.quote_name
        meta = ActorRecord._meta
        metadata = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
        same = " AND ".join(
            f"{quote(name)} = {metadata if name == 'metadata' else '%s'}" for name in _ACTOR_FIELDS
        )
        found = built[connection.timezone] = _ActorLookup(
            sql=(
                f"SELECT {quote('id')}, ({same}), {quote('last_seen_at')} <= %s"
                f" FROM {quote(meta.db_table)}"
                f" WHERE {quote('actor_type')} = %s AND {quote('actor_id')} = %s"
            ),
            metadata=column_adapter(meta.get_field("metadata"), connection),
            seen=column_adapter(meta.get_field("last_seen_at"), connection),
        )
    return found


def _actor_pk(actor: Actor, db: str, stale: list[int]) -> int:
    """``_upsert_actors`` for one actor: its primary key.

    The stored row is compared with the actor's details in the ``SELECT``
    itself, which returns the key, whether the details are unchanged and
    whether ``last_seen_at`` is due: nothing to convert back (the ORM's
    datetime and JSON conversions were most of the lookup's 23 µs on SQLite).
    JSON compared as text on SQLite may find a dict with its keys in another
    order changed; the row is then written again with the same details.
    A new actor or changed details are written as ``_upsert_actors`` writes them.
    """
    connection = connections[db]
    lookup = _actor_lookup(connection)
    row = actor_row(actor)
    now = timezone.now()
    due = now - ACTOR_SEEN_RESOLUTION
    params = [lookup.metadata(row[n]) if n == "metadata" else row[n] for n in _ACTOR_FIELDS]
    params += [lookup.seen(due), row["actor_type"], row["actor_id"]]
    with driver_cursor(connection) as cursor:
        cursor.execute(lookup.sql, params)
        found = cursor.fetchone()
    if found is not None and found[1]:
        if found[2]:
            stale.append(found[0])
        return cast(int, found[0])
    return _actors_write([row], db, now)[(row["actor_type"], row["actor_id"])]


def _rules_sent(db: str) -> Callable[[], RuleSet]:
    """In a pipeline: send the enabled review rules' ``SELECT`` now, read it later.

    Sent before the actors' ``SELECT``, it is answered in the same round trip;
    the returned function reads the rows (converted as the ORM converts them)
    and compiles them (``RulesStatement.ruleset``).
    """
    statement = rules_statement(using=db)
    cursor = own_cursor(connections[db])
    cursor.execute(statement.sql, statement.params)

    def ready() -> RuleSet:
        with cursor:
            fetched = cursor.fetchall()
        return statement.ruleset(fetched)

    return ready


def _touch_actors(pks: list[int], now: datetime, db: str) -> None:
    """Set ``last_seen_at`` of these actors (``pks`` sorted: writers lock them alike)."""
    if not pks:
        return
    connection = connections[db]
    quote = connection.ops.quote_name
    table = quote(ActorRecord._meta.db_table)
    seen = connection.ops.adapt_datetimefield_value(now)
    sql = f"UPDATE {table} SET {quote('last_seen_at')} = %s WHERE {quote('id')}"
    with driver_cursor(connection) as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"{sql} = ANY(%s)", [seen, pks])
            return
        step = max(max_query_params(db) - 1, 1)
        for start in range(0, len(pks), step):
            chunk = pks[start : start + step]
            cursor.execute(f"{sql} IN ({', '.join(['%s'] * len(chunk))})", [seen, *chunk])


def _proposer(event: TraceEvent) -> str:
    actor = event.actor
    return actor.id[:255] if actor is not None and actor.type.value == "user" else ""


def _approval_decisions(
    needing: list[tuple[TraceEvent, LoadedRule | None]], db: str, now: datetime
) -> list[Decision]:
    """The pending Decisions of the events that require approval, each with its rule."""
    if not needing:
        return []
    content_type = ContentType.objects.db_manager(db).get_for_model(EventRecord)
    default_due = get_default_due_in()
    decisions = []
    for event, rule in needing:
        decision = event.decision
        decision_type = (decision.action if decision else None) or event.event_type
        if rule is not None and rule.decision_type:
            decision_type = rule.decision_type
        decisions.append(
            Decision(
                target_content_type=content_type,
                target_id=event.id,
                decision_type=decision_type[:_DECISION_TYPE_LENGTH],
                outcome=DecisionOutcome.PENDING,
                context=decision.context if decision else {},
                evidence={
                    "event_id": event.id,
                    "event_type": event.event_type,
                    "description": event.description,
                    "reasoning": decision.reasoning if decision else "",
                    "alternatives": decision.alternatives if decision else [],
                    "rejection_reasons": decision.rejection_reasons if decision else {},
                    "constraints": decision.constraints if decision else [],
                    "confidence": decision.confidence if decision else None,
                    "risk_level": (
                        decision.risk_level.value if decision and decision.risk_level else None
                    ),
                    "actor": event.actor.to_dict() if event.actor else None,
                    "objects": [obj.to_dict() for obj in event.objects],
                },
                effective_at=event.timestamp,
                rule=rule.name if rule is not None else "",
                deciding_group_id=rule.deciding_group_id if rule is not None else None,
                due_at=now + ((rule.due_in if rule is not None else None) or default_due),
                proposed_by=_proposer(event),
            )
        )
    return decisions


def _decisions_add(
    needing: list[tuple[TraceEvent, LoadedRule | None]], db: str, now: datetime
) -> list[Decision]:
    """Store the pending Decisions of these events, with their webhook outbox rows."""
    decisions = _approval_decisions(needing, db, now)
    if decisions:
        Decision.objects.using(db).bulk_create(decisions)
        webhook_outbox_add(
            [
                DecisionChange.pending(d, event_type=e.event_type)
                for d, (e, _) in zip(decisions, needing, strict=True)
            ],
            using=db,
        )
    return decisions


def _count_key(event: TraceEvent) -> EventKey:
    """What the event counts of ``event`` are keyed on (``traces.counts.EventKey``)."""
    decision = event.decision
    return (
        event.timestamp,
        event.actor.type.value if event.actor else "",
        event.outcome.value,
        event.event_type,
        decision.risk_level.value if decision and decision.risk_level else "",
    )


def trace_record_many(*, events: Sequence[TraceEvent], using: str | None = None) -> list[str]:
    """Store many events set-based, in one transaction; returns their ids in input order.

    A child may name a parent stored earlier or one in the same batch (in any
    order). Statements are per table, not per event: a lookup of the stored
    actors and an upsert of the new or changed ones (one per 80 actors), one
    ``executemany`` (SQLite, and PostgreSQL below 50 rows, pipelined) or
    ``COPY`` (PostgreSQL) each for events, objects, tags and search documents,
    one insert for the approval Decisions, and one lookup when some parent is
    outside the batch. An id already stored is reported as such after the
    transaction rolled back.

    Raises:
        TraceValidationError: an event is not acceptable (a parent that does
            not exist, an id already stored, ...); nothing was written.
    """
    return [event_id for event_id, _ in trace_record_receipts(events=events, using=using)]


def trace_record_receipts(
    *, events: Sequence[TraceEvent], using: str | None = None
) -> list[tuple[str, str | None]]:
    """``trace_record_many``, returning (event id, id of the Decision that holds it or None)
    in input order: the Decision of an event that requires approval or that a review rule
    held, without reading them back."""
    items = _check_events(events)
    if not items:
        return []
    db = _db(using)
    try:
        decisions = _write_one(items[0], db) if len(items) == 1 else _write(items, db)
    except IntegrityError:
        # The transaction is rolled back; say which id was taken if that was it.
        stored = EventRecord.objects.using(db).filter(pk__in=[uuid.UUID(e.id) for e in items])
        # No ORDER BY: with the model's (time, id) ordering and LIMIT 1, PostgreSQL
        # walked the time index of a million rows (seconds) instead of probing ids.
        taken = next(iter(stored.order_by().values_list("pk", flat=True)[:1]), None)
        if taken is None:
            raise
        raise TraceValidationError(DUPLICATE_EVENT.format(got=taken)) from None
    return [(event.id, decisions.get(event.id)) for event in items]


def _write(items: list[TraceEvent], db: str) -> dict[str, str]:
    """Store ``items`` in one transaction; returns the new Decisions' ids by event id."""
    # A small write (below COPY's threshold in every table: record()) runs in one
    # pipeline on PostgreSQL: the review rules' SELECT travels with the actors', and the
    # inserts after them go together (see traces.bulk.statement_pipeline).
    objects_count = sum(len(event.objects) for event in items)
    tags_count = sum(len(event.tags) for event in items)
    small = all(count < COPY_MIN_ROWS for count in (len(items), objects_count, tags_count))
    with (
        nullcontext() if small else cyclic_gc_paused(),
        transaction.atomic(using=db),
        statement_pipeline(db) if small else nullcontext(False) as pipelined,
        write_statements(connections[db]),
    ):
        rules_ready = _rules_sent(db) if pipelined else None
        ordered, positions = _chain_positions(items, db)
        # Input order, not chain order: an actor's row keeps the details of its last event.
        stale: list[int] = []
        actors = _upsert_actors(items, db, stale)
        recorded_at = timezone.now()
        pending = DecisionOutcome.PENDING.value
        # The enabled review rules: one query per batch, then no query per event.
        rules = rules_ready() if rules_ready is not None else rules_load(using=db)
        needing: list[tuple[TraceEvent, LoadedRule | None]] = []
        event_ids: list[uuid.UUID] = []

        def event_rows() -> Iterator[dict[str, Any]]:
            # Also fills event_ids and needing, as the rows are written.
            for event in ordered:
                root_id, depth = positions[event.id]
                # A root's id is its root id, already parsed.
                event_id = root_id if depth == 0 else uuid.UUID(event.id)
                event_ids.append(event_id)
                decision = event.decision
                actor = event.actor
                rule = rule_for(rules, event) if rules else None
                asks = decision is not None and decision.requires_approval
                if rule is not None or asks:
                    needing.append((event, rule))
                row = event_row(
                    event,
                    event_id=event_id,
                    actor_pk=actors[(actor.type.value, actor.id)] if actor else None,
                    root_id=root_id,
                    depth=depth,
                    approval_status=pending if rule is not None or asks else "",
                    recorded_at=recorded_at,
                )
                if rule is not None:
                    row["requires_approval"] = True
                yield row

        _touch_actors(stale, recorded_at, db)
        # Each table's rows are made as they are written: on PostgreSQL a large batch
        # streams them into COPY, so the server stores the first while the next are made.
        write_rows(EventRecord, event_rows(), using=db, count=len(ordered))
        seal_request(kind=SealKind.EVENT, keys=(event.id for event in ordered), using=db)
        written = list(zip(ordered, event_ids, strict=True))
        write_rows(
            TrackedObjectRecord,
            (
                object_row(obj, event_id=event_id, position=position)
                for event, event_id in written
                for position, obj in enumerate(event.objects)
            ),
            using=db,
            with_pk=False,
            count=objects_count,
        )
        write_rows(
            EventTag,
            (
                {"event_id": event_id, "tag": tag}
                for event, event_id in written
                for tag in event.tags
            ),
            using=db,
            with_pk=False,
            count=tags_count,
        )
        search_index_add(
            ({"event_id": event_id, "body": search_body(event)} for event, event_id in written),
            using=db,
            count=len(written),
        )
        decisions = _decisions_add(needing, db, recorded_at)
        # Last: on PostgreSQL the count rows of the current hour are shared by every
        # writer, so their row locks are held for as short a time as possible.
        event_counts_add((_count_key(e) for e in ordered), using=db)
        if pipelined:
            pipeline_commit(db)
    return {d.target_id: str(d.pk) for d in decisions}


def _write_one(event: TraceEvent, db: str) -> dict[str, str]:
    """``_write`` for one event (``record()``): the same rows, statements and order.

    Without what only a batch needs (sorting chains, row generators, tallies),
    and with the actor looked up by ``_actor_pk``: a ``record()`` took 490 µs
    of CPU instead of 528 on SQLite, 533 instead of 586 on PostgreSQL (at 1.1 M
    events). On PostgreSQL it runs in one pipeline, as a small batch does,
    and its ``COMMIT`` goes with it (``pipeline_commit``).
    """
    connection = connections[db]
    with (
        transaction.atomic(using=db),
        statement_pipeline(db) as pipelined,
        write_statements(connection),
    ):
        rules_ready = _rules_sent(db) if pipelined else None
        if event.parent_event_id is None:
            event_id = root_id = uuid.UUID(event.id)
            depth = 0
        else:
            root_id, depth = _chain_positions([event], db)[1][event.id]
            event_id = uuid.UUID(event.id)
        stale: list[int] = []
        actor = event.actor
        actor_pk = _actor_pk(actor, db, stale) if actor is not None else None
        recorded_at = timezone.now()
        rules = rules_ready() if rules_ready is not None else rules_load(using=db)
        rule = rule_for(rules, event) if rules else None
        asks = event.decision is not None and event.decision.requires_approval
        row = event_row(
            event,
            event_id=event_id,
            actor_pk=actor_pk,
            root_id=root_id,
            depth=depth,
            approval_status=DecisionOutcome.PENDING.value if rule is not None or asks else "",
            recorded_at=recorded_at,
        )
        if rule is not None:
            row["requires_approval"] = True
        _touch_actors(stale, recorded_at, db)
        insert_rows(EventRecord, [row], using=db)
        seal_request(kind=SealKind.EVENT, keys=[event.id], using=db)
        if event.objects:
            insert_rows(
                TrackedObjectRecord,
                [
                    object_row(obj, event_id=event_id, position=position)
                    for position, obj in enumerate(event.objects)
                ],
                using=db,
                with_pk=False,
            )
        if event.tags:
            insert_rows(
                EventTag,
                [{"event_id": event_id, "tag": tag} for tag in event.tags],
                using=db,
                with_pk=False,
            )
        search_index_add([{"event_id": event_id, "body": search_body(event)}], using=db, count=1)
        decisions = (
            _decisions_add([(event, rule)], db, recorded_at) if rule is not None or asks else []
        )
        event_counts_add([_count_key(event)], using=db)
        if pipelined:
            pipeline_commit(db)
    return {d.target_id: str(d.pk) for d in decisions}


def trace_record(*, event: TraceEvent, using: str | None = None) -> str:
    """Store one event with its actor, objects, tags, search entry and approval Decision.

    Args:
        event: the event (``TraceBuilder.build()`` makes one).
        using: database alias; the default database when omitted.

    Returns:
        The event's id.

    Raises:
        TraceValidationError: the event cannot be stored; nothing was written.
    """
    if not isinstance(event, TraceEvent):
        raise TraceValidationError(
            WRONG_ITEM.format(field="event", expected="a TraceEvent", got=type(event).__name__)
        )
    return trace_record_many(events=[event], using=using)[0]


def trace_update_text(
    *,
    event_id: str | uuid.UUID,
    corrected_by: str,
    reason: str,
    description: str | None = None,
    reasoning: str | None = None,
    alternatives: list[Any] | None = None,
    rejection_reasons: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    using: str | None = None,
) -> int:
    """Correct an event's text or data: a new version, the original stays; returns its number.

    ``traces.evidence.corrections.event_correct``: only the arguments given
    change, the search index follows the current version in the same
    transaction, and the correction is sealed after commit.

    Raises:
        TraceValidationError: bad input, nothing to correct or an unknown
            event; nothing was written.
    """
    correction = event_correct(
        event_id=event_id,
        corrected_by=corrected_by,
        reason=reason,
        description=description,
        reasoning=reasoning,
        alternatives=alternatives,
        rejection_reasons=rejection_reasons,
        data=data,
        using=using,
    )
    return correction.version


def _search_document(row: EventRecord) -> dict[str, Any]:
    """The search document of a stored event, from its row's searchable text."""
    body = document_body(row.description, row.reasoning, row.alternatives, row.rejection_reasons)
    return {"event_id": row.pk, "body": body}


def trace_index_stored(*, events: Iterable[EventRecord], using: str | None = None) -> None:
    """Write the search entries and hourly counts of events stored some other way.

    ``trace_record`` writes both with the event; rows made by ``bulk_create``
    (test factories, imports) get them here, built the same way. Each event
    is indexed and counted once: call it only for rows that have neither.
    """
    rows = list(events)
    db = _db(using)
    with transaction.atomic(using=db):
        search_index_add([_search_document(row) for row in rows], using=db, count=len(rows))
        event_counts_add(
            [tuple(getattr(row, field) for field in event_key_fields) for row in rows], using=db
        )
        seal_request(kind=SealKind.EVENT, keys=[row.pk for row in rows], using=db)


def trace_delete(
    *,
    event_ids: Iterable[str | uuid.UUID],
    reason: str = "trace_delete",
    using: str | None = None,
) -> int:
    """Delete events with all their descendants and everything recorded about them.

    The one sanctioned deletion, ``traces.evidence.retention.retention_delete``:
    objects, tags, corrections, search entries, hourly counts, and the
    Decisions about those events with their review history (the audit events
    of their reviews are children of the events and go with them); sealed
    rows are marked pruned in the log. For retention and for removing demo
    data; evidence is otherwise kept. Returns the number of events deleted.
    """
    return retention_delete(event_ids=event_ids, reason=reason, using=using)
