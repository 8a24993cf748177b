"""Set-based inserts: values adapted as Django would, defaults filled, RETURNING upserts."""

from __future__ import annotations

import gc
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from psycopg.pq import TransactionStatus

from decision_trace import TraceEvent
from traces.bulk import (
    COPY_MIN_ROWS,
    RowBatch,
    cyclic_gc_paused,
    insert_rows,
    insert_rows_returning,
    max_query_params,
    pipeline_commit,
    statement_pipeline,
    write_rows,
)
from traces.evidence.models import SealRequest
from traces.models import (
    ActorRecord,
    EventRecord,
    EventSearchDocument,
    EventTag,
    HourlyEventCount,
)
from traces.services import trace_record

pytestmark = pytest.mark.django_db

WHEN = datetime(2024, 2, 3, 4, 5, 6, 789, tzinfo=UTC)


def test_insert_rows_round_trips_through_the_orm():
    """UUIDs, datetimes, JSON (empty and nested), IPs and defaults read back unchanged."""
    pk = uuid.uuid4()
    insert_rows(
        EventRecord,
        [
            {
                "id": pk,
                "effective_at": WHEN,
                "recorded_at": WHEN,
                "event_type": "x.y",
                "root_id": pk,
                "data": {"nested": [1, {"a": None}], "empty": {}},
                "tags": [],
                "source_ip": "2001:db8::1",
            }
        ],
        using="default",
    )
    row = EventRecord.objects.get(pk=pk)
    assert (row.effective_at, row.root_id, row.source_ip) == (WHEN, pk, "2001:db8::1")
    assert row.data == {"nested": [1, {"a": None}], "empty": {}}
    assert (row.outcome, row.context, row.constraints, row.confidence) == ("success", {}, [], None)


def test_insert_rows_returning_upsert_returns_keys():
    """The same statement inserts new rows and updates existing ones, returning keys."""
    row = {"actor_type": "user", "actor_id": "u", "name": "A", "first_seen_at": WHEN}
    row["last_seen_at"] = WHEN
    suffix = ' ON CONFLICT ("actor_type", "actor_id") DO UPDATE SET "name" = excluded."name"'
    (first,) = insert_rows_returning(ActorRecord, [row], ["id"], using="default", suffix=suffix)
    (second,) = insert_rows_returning(
        ActorRecord, [{**row, "name": "B"}], ["id"], using="default", suffix=suffix
    )
    assert first == second
    assert ActorRecord.objects.get().name == "B"


def test_insert_rows_returning_many_rows_in_chunks():
    """More rows than one statement's parameters allow come back in order."""
    total = max_query_params("default") // 12 + 5  # ActorRecord sends 12 columns
    rows = [
        {"actor_type": "user", "actor_id": f"u{n}", "first_seen_at": WHEN, "last_seen_at": WHEN}
        for n in range(total)
    ]
    keys = insert_rows_returning(ActorRecord, rows, ["actor_id"], using="default")
    assert [k for (k,) in keys] == [f"u{n}" for n in range(total)]


def test_insert_rows_returning_keeps_its_statements_per_shape_and_bounded(monkeypatch):
    """Each (columns, rows, suffix) shape is built once; the cache of one table is emptied
    when full, and every statement still returns its own rows in order."""
    batch = RowBatch(ActorRecord, using="default", with_pk=False)
    cache = batch._plan.statements
    cache.clear()
    for size in (1, 3, 1, 3):
        rows = [
            {"actor_type": "user", "actor_id": f"s{size}-{len(cache)}-{n}"}
            | {"first_seen_at": WHEN, "last_seen_at": WHEN}
            for n in range(size)
        ]
        keys = insert_rows_returning(ActorRecord, rows, ["actor_id"], using="default")
        assert [k for (k,) in keys] == [row["actor_id"] for row in rows]
    assert set(cache) == {(("actor_id",), 1, ""), (("actor_id",), 3, "")}
    for size in range(1, 300):
        row = {"actor_type": "compute", "actor_id": f"c{size}"}
        rows = [{**row, "first_seen_at": WHEN, "last_seen_at": WHEN}]
        (key,) = insert_rows_returning(ActorRecord, rows, ["actor_id"], using="default")
        assert key == (f"c{size}",)
        batch._values_sql(("id",), size, "")
        assert len(cache) <= 256


def test_max_query_params_is_the_database_limit():
    """SQLite reports its own limit (not Django's historical 999); PostgreSQL allows 65,535."""
    limit = max_query_params("default")
    if connection.vendor == "postgresql":
        assert limit == 65_535
    else:
        assert limit == connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        assert limit >= 999


def test_insert_rows_nothing_is_a_no_op(django_assert_num_queries):
    with django_assert_num_queries(0):
        insert_rows(EventTag, [], using="default")
        assert insert_rows_returning(EventTag, [], ["id"], using="default") == []


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, None, True], "é": "ünïcode ✓", "nested": {"x": []}},
        ["plain", 0, -1.25e-7, {"k": "v"}],
        {},
        [],
        "text",
    ],
)
def test_insert_rows_json_reads_back_as_written(value):
    """JSON values (unicode, nested, empty, scalars) read back unchanged through the ORM."""
    pk = uuid.uuid4()
    row = {"id": pk, "effective_at": WHEN, "recorded_at": WHEN, "event_type": "x", "root_id": pk}
    insert_rows(EventRecord, [{**row, "data": value}], using="default")
    assert EventRecord.objects.get(pk=pk).data == value


def test_insert_rows_refuses_what_json_cannot_store():
    """A value JSON cannot encode raises TypeError and writes nothing."""
    pk = uuid.uuid4()
    row = {"id": pk, "effective_at": WHEN, "recorded_at": WHEN, "event_type": "x", "root_id": pk}
    with pytest.raises(TypeError, match="not JSON serializable"):
        insert_rows(EventRecord, [{**row, "data": {"when": object()}}], using="default")
    assert not EventRecord.objects.filter(pk=pk).exists()


def _count_rows(n: int) -> Iterator[dict[str, object]]:
    for i in range(n):
        yield {"hour": WHEN, "actor_type": "user", "outcome": f"o{i}", "event_count": i + 1}


@pytest.mark.parametrize("n", [1, COPY_MIN_ROWS - 1, COPY_MIN_ROWS, 1_200])
def test_write_rows_takes_a_generator_with_its_count(n):
    """Made as they are written (streamed into COPY on PostgreSQL from COPY_MIN_ROWS rows)."""
    with transaction.atomic():
        write_rows(HourlyEventCount, _count_rows(n), using="default", with_pk=False, count=n)
    stored = HourlyEventCount.objects.order_by("event_count")
    assert list(stored.values_list("event_count", flat=True)) == list(range(1, n + 1))
    assert stored.first().hour == WHEN


@pytest.mark.parametrize("n", [COPY_MIN_ROWS - 1, COPY_MIN_ROWS, 1_200])
def test_write_rows_stops_when_its_rows_fail_and_leaves_nothing(n):
    """An exception raised while the rows are made aborts the write; nothing is kept."""

    def failing() -> Iterator[dict[str, object]]:
        yield from _count_rows(n - 1)
        raise ValueError("row maker broke")

    with pytest.raises(ValueError, match="row maker broke"), transaction.atomic():
        write_rows(HourlyEventCount, failing(), using="default", with_pk=False, count=n)
    assert not HourlyEventCount.objects.exists()
    write_rows(HourlyEventCount, _count_rows(1), using="default", with_pk=False, count=1)
    assert HourlyEventCount.objects.count() == 1


def test_cyclic_gc_paused_for_a_block_and_restored_even_on_error():
    """Off inside, back on after (also after an exception); left off if it was off."""
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_large_batch_is_written_with_the_collector_paused_and_restores_it():
    """record_many() of COPY_MIN_ROWS events or more pauses the collector; it is on after."""
    from traces import TraceBuilder
    from traces.services import trace_record_many

    seen: list[bool] = []
    events = [TraceBuilder("x.y", "x").by_system("s").build() for _ in range(COPY_MIN_ROWS)]
    with connection.execute_wrapper(
        lambda execute, *args: seen.append(gc.isenabled()) or execute(*args)
    ):
        trace_record_many(events=events)
    assert seen
    assert not any(seen)
    assert gc.isenabled()


def test_insert_one_returns_the_new_row_id_on_sqlite_and_refuses_anything_else():
    """The row id comes from the insert itself; two rows, or PostgreSQL, are refused."""
    event = EventRecord.objects.get(pk=trace_record(event=TraceEvent(event_type="order.created")))
    EventSearchDocument.objects.filter(event=event).delete()
    batch = RowBatch(EventSearchDocument, using="default", with_pk=False)
    batch.add({"event_id": event.pk, "body": "one"})
    if connection.vendor != "sqlite":
        with pytest.raises(ValueError, match="on SQLite"):
            batch.insert_one()
        return
    row_id = batch.insert_one()
    assert EventSearchDocument.objects.get(pk=row_id).event_id == event.pk
    batch.add({"event_id": event.pk, "body": "two"})
    with pytest.raises(ValueError, match="exactly one row"):
        batch.insert_one()


def _seal_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM traces_sealrequest")
        return int(cursor.fetchone()[0])


def _seal_row(keys: list[str]) -> None:
    insert_rows(SealRequest, [{"kind": "event", "keys": keys}], using="default", with_pk=False)


def _idle() -> bool:
    """No transaction open on the connection, as the driver sees it."""
    if connection.vendor != "postgresql":
        return not connection.connection.in_transaction
    return connection.connection.info.transaction_status == TransactionStatus.IDLE


@pytest.mark.django_db(transaction=True)
def test_pipeline_commit_ends_the_outermost_block_with_its_statements():
    """The outermost block commits in its pipeline; on_commit callbacks still run once
    and the connection is left with no transaction open. SQLite: never sent."""
    ran: list[str] = []
    before = _seal_rows()
    with transaction.atomic():
        with statement_pipeline("default") as pipelined:
            _seal_row(["a"])
            transaction.on_commit(lambda: ran.append("committed"))
            sent = pipeline_commit("default")
        # Ended already: Django's commit at the block's end has nothing to send.
        assert _idle() is sent
    assert sent is (connection.vendor == "postgresql") is pipelined
    assert ran == ["committed"]
    assert _idle()
    assert _seal_rows() == before + 1
    # Outside a pipeline it is a plain COMMIT: no round trip saved, the same outcome.
    with transaction.atomic():
        _seal_row(["b"])
        assert pipeline_commit("default") is sent
        assert _idle() is sent
    assert _idle()
    assert _seal_rows() == before + 2


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="pipeline_commit sends nothing on SQLite"
)
@pytest.mark.django_db(transaction=True)
def test_pipeline_commit_is_not_sent_in_a_nested_block_or_without_autocommit():
    """A savepoint, or a block entered with autocommit off, leaves the commit to its owner:
    rolling the outer transaction back still removes everything."""
    before = _seal_rows()
    with transaction.atomic():
        with transaction.atomic(), statement_pipeline("default"):
            _seal_row(["nested"])
            assert pipeline_commit("default") is False
        transaction.set_rollback(True)
    transaction.set_autocommit(False)
    try:
        with transaction.atomic(), statement_pipeline("default"):
            _seal_row(["manual"])
            assert pipeline_commit("default") is False
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)
    assert _seal_rows() == before


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="pipeline_commit sends nothing on SQLite"
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failure", ["duplicate key", "deferred foreign key"])
def test_pipeline_commit_after_a_failed_statement_writes_nothing(failure):
    """A statement that fails before COMMIT (or COMMIT itself, on a deferred constraint)
    surfaces as IntegrityError when the block ends; nothing stays, no callback runs, and
    the connection works on."""
    ran: list[str] = []
    event = trace_record(event=TraceEvent(event_type="x.y"))
    before = _seal_rows()
    with pytest.raises(IntegrityError):
        _failing_write(failure, event, ran)
    assert ran == []
    assert _idle()
    assert _seal_rows() == before
    assert EventRecord.objects.count() == 1
    assert not EventTag.objects.filter(tag="orphan").exists()


def _failing_write(failure: str, event_id: str, ran: list[str]) -> None:
    with transaction.atomic(), statement_pipeline("default"):
        _seal_row(["kept?"])
        transaction.on_commit(lambda: ran.append("committed"))
        if failure == "duplicate key":
            insert_rows(EventRecord, [_event_row(event_id)], using="default")
        else:
            orphan = {"event_id": uuid.uuid4(), "tag": "orphan"}
            insert_rows(EventTag, [orphan], using="default", with_pk=False)
        pipeline_commit("default")


def _event_row(event_id: str) -> dict:
    """An event row taking an id already stored (every other column as stored)."""
    row = EventRecord.objects.filter(pk=event_id).values().get()
    return {EventRecord._meta.get_field(name).attname: value for name, value in row.items()}
