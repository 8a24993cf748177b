"""Set-based inserts: values adapted as Django would, defaults filled, RETURNING upserts."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection

from traces.bulk import insert_rows, insert_rows_returning, max_query_params
from traces.models import ActorRecord, EventRecord, EventTag

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
