"""trace_record / trace_record_many / trace_update_text / trace_delete: atomic, validated writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from decision_trace.exceptions import DUPLICATE_EVENT, PARENT_NOT_FOUND
from decisioning.models import Decision, DecisionOutcome, DecisionTransition
from decisioning.review import decision_transition
from traces import Actor, DecisionTraceClient, TraceBuilder, TraceEvent, TraceValidationError
from traces.counts import event_counts_differences
from traces.models import (
    ActorRecord,
    EventRecord,
    EventSearchDocument,
    EventTag,
    HourlyEventCount,
    TrackedObjectRecord,
)
from traces.search import search_ranked_ids
from traces.services import (
    MAX_BATCH_SIZE,
    trace_delete,
    trace_index_stored,
    trace_record,
    trace_record_many,
    trace_record_receipts,
    trace_update_text,
)

pytestmark = pytest.mark.django_db

MODELS = (
    ActorRecord,
    EventRecord,
    TrackedObjectRecord,
    EventTag,
    EventSearchDocument,
    Decision,
    HourlyEventCount,
)


def _counts() -> dict[str, int]:
    return {model.__name__: model._base_manager.count() for model in MODELS}


def _event(**kwargs) -> TraceEvent:
    builder = TraceBuilder(kwargs.pop("event_type", "order.created"), "Order placed")
    builder.by_user("u-1", "Jane").affecting_order("ord-1", {"status": "new"}).with_tags("a", "b")
    for name, args in kwargs.items():
        getattr(builder, name)(*args)
    return builder.build()


def test_trace_record_writes_every_part():
    """Event, actor, objects, tags (rows and JSON) and the search document are stored."""
    event = _event(because=("Customer checked out",))
    event_id = trace_record(event=event)
    row = EventRecord.objects.get(pk=event_id)
    assert row.actor.actor_id == "u-1"
    assert row.actor_type == "user"
    assert row.root_id == row.pk
    assert row.depth == 0
    assert row.has_decision
    assert row.tags == ["a", "b"]
    assert sorted(row.tag_rows.values_list("tag", flat=True)) == ["a", "b"]
    assert list(row.tracked_objects.values_list("object_id", "state_after")) == [
        ("ord-1", {"status": "new"})
    ]
    assert "Customer checked out" in row.search_document.body
    assert row.recorded_at is not None
    assert row.approval_status == ""


def test_trace_record_backdated_naive_is_utc():
    """at() with a naive datetime stores that time as UTC."""
    naive = datetime(2024, 1, 15, 10, 30)  # noqa: DTZ001 - the naive case under test
    trace_record(event=_event(at=(naive,)))
    row = EventRecord.objects.get()
    assert row.effective_at == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert row.recorded_at > row.effective_at


def test_trace_record_upserts_actor_by_type_and_id():
    """The same (type, id) is one row holding the latest details; another type is another row."""
    trace_record(event=TraceBuilder("a").by_user("u-1", "Jane").build())
    trace_record(event=TraceBuilder("a").by_user("u-1", "Jane Doe", role="admin").build())
    trace_record(event=TraceBuilder("a").by_ai("u-1", "Bot").build())
    assert ActorRecord.objects.count() == 2
    user = ActorRecord.objects.get(actor_type="user")
    assert (user.name, user.role) == ("Jane Doe", "admin")
    assert user.events.count() == 2


def test_trace_record_child_gets_root_and_depth():
    root = trace_record(event=TraceBuilder("w.start").build())
    child = trace_record(event=TraceBuilder("w.step").child_of(root).build())
    grandchild = trace_record(event=TraceBuilder("w.sub").child_of(child).build())
    row = EventRecord.objects.get(pk=grandchild)
    assert (str(row.root_id), row.depth, str(row.parent_id)) == (root, 2, child)


def test_trace_record_unknown_parent_writes_nothing():
    """A parent id that is not stored is a clear error and nothing is written."""
    before = _counts()
    missing = str(uuid.uuid4())
    with pytest.raises(TraceValidationError) as info:
        trace_record(event=_event(child_of=(missing,), requires_approval=()))
    assert str(info.value) == PARENT_NOT_FOUND.format(got=missing)
    assert _counts() == before


def test_trace_record_same_id_twice_is_refused():
    event = _event()
    trace_record(event=event)
    before = _counts()
    with pytest.raises(TraceValidationError, match="already stored"):
        trace_record(event=event)
    assert _counts() == before


@pytest.mark.parametrize("bad", [None, "event", {"event_type": "x"}, TraceBuilder("x")])
def test_trace_record_needs_a_trace_event(bad):
    with pytest.raises(TraceValidationError, match="a TraceEvent"):
        trace_record(event=bad)


def test_requires_approval_creates_pending_decision_targeting_the_event():
    """requires_approval: a pending Decision whose target is the EventRecord."""
    event = _event(
        because=("Refund 500 EUR", "refund.large", {"tier": "gold"}),
        with_risk=("high",),
        requires_approval=(),
    )
    event_id = trace_record(event=event)
    row = EventRecord.objects.get(pk=event_id)
    decision = Decision.objects.get()
    assert decision.target == row
    assert decision.target_content_type == ContentType.objects.get_for_model(EventRecord)
    assert decision.target_id == event_id
    assert decision.outcome == DecisionOutcome.PENDING
    assert decision.decision_type == "refund.large"
    assert decision.context == {"tier": "gold"}
    assert decision.evidence["reasoning"] == "Refund 500 EUR"
    assert decision.evidence["risk_level"] == "high"
    assert decision.effective_at == row.effective_at
    assert row.approval_status == "pending"
    assert EventRecord.objects.needing_approval().with_approval_status(["pending"]).get() == row


def test_requires_approval_without_action_uses_event_type():
    trace_record(event=_event(event_type="price.changed", requires_approval=()))
    assert Decision.objects.get().decision_type == "price.changed"


def test_requires_approval_action_too_long_for_decision_type():
    """The decision type column holds 100 characters: a longer action is refused up front."""
    before = _counts()
    with pytest.raises(TraceValidationError, match="decision type"):
        trace_record(event=_event(because=("r", "a" * 150), requires_approval=()))
    assert _counts() == before


def test_failure_mid_write_leaves_nothing():
    """When the Decision insert fails (its table is gone), the event, actor, objects roll back."""
    before = _counts()
    table = Decision._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        with pytest.raises(DatabaseError):
            trace_record(event=_event(by_user=("new-user", "New"), requires_approval=()))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
    assert _counts() == before
    assert not ActorRecord.objects.filter(actor_id="new-user").exists()
    assert search_ranked_ids("placed") == []


def test_trace_record_many_in_one_transaction_with_batch_parents():
    """A batch may hold parents and children in any order; roots and depths follow."""
    root = TraceBuilder("w.start")
    child = TraceBuilder("w.step").child_of(root.event_id)
    grandchild = TraceBuilder("w.sub").child_of(child.event_id)
    events = [grandchild.build(), root.build(), child.build()]
    ids = trace_record_many(events=events)
    assert ids == [e.id for e in events]
    depths = dict(EventRecord.objects.values_list("event_type", "depth"))
    assert depths == {"w.start": 0, "w.step": 1, "w.sub": 2}
    assert set(EventRecord.objects.values_list("root_id", flat=True)) == {uuid.UUID(root.event_id)}


def test_trace_record_many_query_count_is_set_based(django_assert_max_num_queries):
    """One event or twenty cost the same handful of statements (one per table).

    Three of them are per batch, not per event: the enabled review rules, the
    actor lookup before the upsert (issue 18) and, because decisions were made,
    the active webhook endpoints. The Decisions' content type is cached per
    process, as it is after a server's first approval.
    """
    ContentType.objects.get_for_model(EventRecord)
    for size in (1, 20):
        events = [_event(requires_approval=()) for _ in range(size)]
        with django_assert_max_num_queries(15):
            trace_record_many(events=events)
    assert EventRecord.objects.count() == 21
    assert Decision.objects.count() == 21
    assert ActorRecord.objects.count() == 1


def _stored(event_id) -> dict:
    """Everything stored for one event, without what differs between two events."""
    row = EventRecord.objects.filter(pk=event_id).values().get()
    for name in ("id", "root_id", "recorded_at", "decision_trace_id"):
        row.pop(name)
    return {
        "event": row,
        "objects": list(
            TrackedObjectRecord.objects.filter(event_id=event_id)
            .order_by("position")
            .values_list("position", "object_type", "object_id", "state_after", "metadata")
        ),
        "tags": sorted(EventTag.objects.filter(event_id=event_id).values_list("tag", flat=True)),
        "body": EventSearchDocument.objects.get(event_id=event_id).body,
        "decision": list(
            Decision.objects.filter(target_id=str(event_id)).values_list(
                "decision_type", "outcome", "rule"
            )
        ),
    }


@pytest.mark.parametrize(
    "details",
    [
        {},
        {"because": ("Cheaper", "discount", {"k": [1]}, ["c"], [{"a": 1}], {"b": "no"})},
        {"requires_approval": ()},
        {"with_risk": ("high",), "failed": ("Carrier down",)},
        {"affecting_product": ("p-1",), "with_data": ()},
    ],
    ids=["plain", "decision", "approval", "risk and failure", "two objects"],
)
def test_record_of_one_event_stores_what_a_batch_stores(details):
    """record() takes its own path for one event (issue 18); its rows are a batch's rows."""
    when = (datetime(2026, 3, 1, 12, tzinfo=UTC),)
    one = _event(at=when, **details)
    batch = [_event(at=when, **details), _event()]
    trace_record(event=one)
    trace_record_many(events=batch)
    assert _stored(one.id) == _stored(batch[0].id)
    assert event_counts_differences() == []


def test_record_of_a_known_actor_reads_it_once_and_writes_no_actor_row():
    """An unchanged actor seen within ACTOR_SEEN_RESOLUTION: one lookup, no actor write;
    changed details: the lookup and one upsert, and the row holds the new details."""
    trace_record(event=_event())
    with CaptureQueriesContext(connection) as queries:
        trace_record(event=_event())
    actor_statements = [q["sql"] for q in queries if "traces_actorrecord" in q["sql"]]
    assert len(actor_statements) == 1
    assert actor_statements[0].startswith("SELECT")
    with CaptureQueriesContext(connection) as queries:
        trace_record(event=TraceBuilder("x").by_user("u-1", "Jane Roe").build())
    actor_statements = [q["sql"] for q in queries if "traces_actorrecord" in q["sql"]]
    assert [sql.split()[0] for sql in actor_statements] == ["SELECT", "INSERT"]
    assert ActorRecord.objects.get().name == "Jane Roe"


@pytest.mark.parametrize(
    "metadata",
    [
        {"team": "pricing", "quote": 'it\'s "fine"', "nul-free": "\u00e9\u6f22"},
        {"nested": {"b": [1, 2.5, None, True], "a": {}}},
        {},
    ],
)
def test_record_compares_actor_metadata_in_the_database(metadata):
    """The same metadata (even with its keys in another order) keeps the row; other
    metadata replaces it. Quotes and non-ASCII text compare as they are."""
    client = DecisionTraceClient()
    client.trace("x").by_ai("bot-1", "Bot", **metadata).record()
    first = ActorRecord.objects.get()
    reordered = dict(reversed(list(metadata.items())))
    client.trace("x").by_ai("bot-1", "Bot", **reordered).record()
    again = ActorRecord.objects.get()
    assert (again.pk, again.metadata) == (first.pk, metadata)
    client.trace("x").by_ai("bot-1", "Bot", **{**metadata, "extra": 1}).record()
    assert ActorRecord.objects.get().metadata == {**metadata, "extra": 1}
    assert EventRecord.objects.filter(actor_id=first.pk).count() == 3


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_commits_all_or_nothing():
    """Each write is its own transaction (on PostgreSQL ended in the pipeline of its
    statements, traces.bulk.pipeline_commit): stored whole, or not at all, and the
    connection is left in autocommit with nothing open."""
    event = _event(requires_approval=())
    trace_record(event=event)
    before = _counts()
    with pytest.raises(TraceValidationError, match="already stored"):
        trace_record(event=event)
    with pytest.raises(TraceValidationError, match="already stored"):
        trace_record_many(events=[_event(), event])
    assert _counts() == before
    batch = [_event(), _event(child_of=(event.id,))]
    trace_record_many(events=batch)
    assert EventRecord.objects.filter(pk__in=[e.id for e in batch]).count() == 2
    assert Decision.objects.filter(target_id=event.id).count() == 1
    assert event_counts_differences() == []
    assert connection.get_autocommit()
    assert not connection.in_atomic_block


def test_trace_record_many_bad_item_writes_nothing():
    before = _counts()
    missing = str(uuid.uuid4())
    events = [_event(), _event(child_of=(missing,))]
    with pytest.raises(TraceValidationError, match="no stored event"):
        trace_record_many(events=events)
    assert _counts() == before


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ("abc", "a list of TraceEvent"),
        (None, "a list of TraceEvent"),
        ([1], "TraceEvent items"),
        ([TraceEvent(event_type="x", id=str(uuid.UUID(int=1)))] * 2, "already stored"),
    ],
)
def test_trace_record_many_rejects_bad_batches(events, message):
    with pytest.raises(TraceValidationError, match=message):
        trace_record_many(events=events)


def test_trace_record_many_cycle_is_refused():
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    events = [
        TraceEvent(id=a, event_type="x", parent_event_id=b),
        TraceEvent(id=b, event_type="x", parent_event_id=a),
    ]
    with pytest.raises(TraceValidationError, match="each other's parents"):
        trace_record_many(events=events)


@pytest.mark.parametrize("length", [1, 2, 3, 7])
def test_trace_record_many_cycle_of_any_length_is_refused_and_writes_nothing(length):
    """A self-parent or a longer loop, with a tail off it, is refused; nothing is written."""
    before = _counts()
    ids = [str(uuid.uuid4()) for _ in range(length)]
    loop = [
        TraceEvent(id=event_id, event_type="x", parent_event_id=ids[(i + 1) % length])
        for i, event_id in enumerate(ids)
    ]
    tail = TraceEvent(event_type="x", parent_event_id=ids[0])
    with pytest.raises(TraceValidationError, match="each other's parents") as info:
        trace_record_many(events=[_event(), tail, *loop])
    assert any(event_id in str(info.value) for event_id in ids)
    assert tail.id not in str(info.value)
    assert _counts() == before


def test_trace_record_many_deep_chain_in_reverse_order():
    """A 200-event chain given leaves first is stored with each depth one below its parent."""
    chain = [TraceBuilder("w.0")]
    for n in range(1, 200):
        chain.append(TraceBuilder(f"w.{n}").child_of(chain[-1].event_id))
    events = [builder.build() for builder in reversed(chain)]
    assert trace_record_many(events=events) == [e.id for e in events]
    depths = dict(EventRecord.objects.values_list("event_type", "depth"))
    assert depths == {f"w.{n}": n for n in range(200)}


def test_trace_record_many_actor_keeps_the_details_of_its_last_event_in_input_order():
    """A child listed before its parent does not make the parent's actor details win."""
    root = TraceBuilder("w.root").by(Actor(id="a-1", type="user", name="First"))
    child = (
        TraceBuilder("w.child")
        .by(Actor(id="a-1", type="user", name="Second"))
        .child_of(root.event_id)
    )
    trace_record_many(events=[root.build(), child.build()])
    assert ActorRecord.objects.get(actor_id="a-1").name == "Second"
    late_root = TraceBuilder("w.root").by(Actor(id="a-2", type="user", name="Parent"))
    early_child = (
        TraceBuilder("w.child")
        .by(Actor(id="a-2", type="user", name="Listed first"))
        .child_of(late_root.event_id)
    )
    trace_record_many(events=[early_child.build(), late_root.build()])
    assert ActorRecord.objects.get(actor_id="a-2").name == "Parent"


def test_trace_record_many_empty_and_limit():
    assert trace_record_many(events=[]) == []
    assert MAX_BATCH_SIZE >= 10_000


def test_duplicate_message_constant():
    assert "already stored" in DUPLICATE_EVENT


def test_trace_update_text_keeps_search_in_sync():
    """After a correction the old words no longer match, the new ones do; the row is unchanged."""
    event_id = trace_record(event=_event(because=("alpha reasoning",)))
    assert search_ranked_ids("alpha") == [uuid.UUID(event_id)]
    version = trace_update_text(
        event_id=event_id,
        reasoning="omega reasoning",
        description="changed",
        corrected_by="ops",
        reason="Typo",
    )
    assert version == 2
    assert search_ranked_ids("alpha") == []
    assert search_ranked_ids("omega") == [uuid.UUID(event_id)]
    assert EventRecord.objects.get().description != "changed"


@pytest.mark.parametrize(
    ("event_id", "message"),
    [(str(uuid.uuid4()), "No stored event"), ("nope", "must be an event id")],
)
def test_trace_update_text_unknown_event(event_id, message):
    with pytest.raises(TraceValidationError, match=message):
        trace_update_text(event_id=event_id, description="x", corrected_by="ops", reason="Typo")


def test_trace_delete_removes_subtree_and_index():
    """Deleting a root removes its descendants, rows, Decisions and search entries."""
    client = DecisionTraceClient()
    root = client.trace("w.start", "zebra start").requires_approval().record()
    child = client.trace("w.step", "zebra step").child_of(root).record()
    client.trace("w.sub", "zebra sub").child_of(child).with_tags("t").record()
    other = client.trace("other", "zebra other").record()
    assert trace_delete(event_ids=[root]) == 3
    assert list(EventRecord.objects.values_list("pk", flat=True)) == [uuid.UUID(other)]
    assert Decision.all_objects.count() == 0
    assert EventTag.objects.count() == 0
    assert search_ranked_ids("zebra") == [uuid.UUID(other)]
    assert trace_delete(event_ids=[root]) == 0


def test_trace_delete_takes_reviewed_decisions_with_their_history(admin):
    """A reviewed Decision goes with its transitions and the audit events of its review."""
    client = DecisionTraceClient()
    root = client.trace("price.change", "zebra proposal").requires_approval().record()
    other = client.trace("other", "zebra other").requires_approval().record()
    kept = Decision.objects.get(target_id=other)
    for event_id in (root, other):
        decision = Decision.objects.get(target_id=event_id)
        decision_transition(decision=decision, action="defer", user=admin, reason="Later")
    audit_events = EventRecord.objects.filter(parent_id=root).count()
    assert audit_events == 1
    assert trace_delete(event_ids=[root]) == 1 + audit_events
    assert list(Decision.all_objects.values_list("pk", flat=True)) == [kept.pk]
    assert list(DecisionTransition.objects.values_list("decision_id", flat=True)) == [kept.pk]
    assert set(EventRecord.objects.values_list("parent_id", flat=True)) == {None, uuid.UUID(other)}


def test_actor_record_str():
    trace_record(event=TraceBuilder("a").by(Actor.user("u", "Jane")).build())
    assert str(ActorRecord.objects.get()) == "Jane (User)"


def test_trace_index_stored_makes_bulk_rows_searchable_and_counted():
    """Rows stored by bulk_create get the search entries and hourly counts trace_record writes."""
    actor = ActorRecord.objects.create(actor_type="compute", actor_id="import-job", name="Import")
    at = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    rows = []
    for word, outcome in (("alpha", "success"), ("beta", "failure")):
        pk = uuid.uuid4()
        rows.append(
            EventRecord(
                id=pk,
                root_id=pk,
                event_type="import.row",
                description=f"Imported {word}",
                reasoning="",
                alternatives=[{"action": "skip", "why": "gamma"}],
                actor=actor,
                actor_type="compute",
                effective_at=at,
                outcome=outcome,
            )
        )
    EventRecord.objects.bulk_create(rows)
    assert search_ranked_ids("alpha") == []
    assert event_counts_differences()

    trace_index_stored(events=rows)

    assert search_ranked_ids("alpha") == [rows[0].pk]
    assert set(search_ranked_ids("gamma")) == {row.pk for row in rows}
    assert event_counts_differences() == []
    assert HourlyEventCount.objects.filter(actor_type="compute").count() == 2


def test_trace_record_receipts_writes_nothing_when_refused():
    """An id already stored: the same refusal as trace_record_many, nothing written."""
    stored = _event()
    trace_record(event=stored)
    before = _counts()
    with pytest.raises(TraceValidationError, match=DUPLICATE_EVENT.split("{")[0]):
        trace_record_receipts(events=[_event(requires_approval=()), stored])
    assert _counts() == before


def test_an_id_already_stored_is_found_without_ordering_the_table():
    """The refusal's id lookup probes the ids: no ORDER BY (a time-index walk on PostgreSQL)."""
    stored = _event()
    trace_record(event=stored)
    with (
        CaptureQueriesContext(connection) as captured,
        pytest.raises(TraceValidationError, match=DUPLICATE_EVENT.split("{")[0]),
    ):
        trace_record_many(events=[_event(), stored])
    probes = [q["sql"] for q in captured if q["sql"].startswith('SELECT "traces_eventrecord"')]
    assert probes
    assert all("ORDER BY" not in sql for sql in probes), probes


@pytest.mark.parametrize("size", [1, 3, 49, 50, 120])
def test_a_write_that_fails_on_the_server_writes_nothing(size):
    """A duplicate id found by the server only late is still refused, nothing left behind.

    Below COPY's threshold the inserts are pipelined on PostgreSQL (found when the
    block ends); from it the rows are streamed into COPY (found as the last row arrives).
    """
    stored = _event()
    trace_record(event=stored)
    before = _counts()
    events = [*(_event() for _ in range(size - 1)), stored]
    with pytest.raises(TraceValidationError, match="already stored"):
        trace_record_many(events=events)
    assert _counts() == before
    assert event_counts_differences() == []
    trace_record_many(events=[_event()])  # the connection is usable afterwards
    assert EventRecord.objects.count() == before["EventRecord"] + 1


@pytest.mark.parametrize("held", [[False], [True], [True, False, True]])
def test_receipts_name_the_decisions_made_without_reading_them_back(held):
    events = [_event(requires_approval=()) if hold else _event() for hold in held]
    receipts = trace_record_receipts(events=events)
    decisions = dict(Decision.objects.values_list("target_id", "pk"))
    assert receipts == [
        (event.id, str(decisions[event.id]) if hold else None)
        for event, hold in zip(events, held, strict=True)
    ]
