"""The write path's cursors (``traces.cursors``): the driver's own, one per write."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.test.utils import CaptureQueriesContext

from decision_trace import TraceEvent
from traces.cursors import driver_cursor, write_statements
from traces.models import EventRecord, EventTag
from traces.services import trace_record_many

pytestmark = pytest.mark.django_db

# The connection itself: django.db.connection is a proxy to it.
connection = connections["default"]
_TAG = "INSERT INTO traces_eventtag (event_id, tag) VALUES (%s, %s)"


def _event_key() -> object:
    (event_id,) = trace_record_many(events=[TraceEvent(event_type="order.created")])
    pk = uuid.UUID(event_id)
    return pk if connection.vendor == "postgresql" else pk.hex


def test_the_driver_cursor_is_not_djangos_and_raises_djangos_errors():
    key = _event_key()
    with driver_cursor(connection) as cursor:
        assert not isinstance(cursor, CursorWrapper)
        cursor.execute(_TAG, [key, "vip"])
    # In a savepoint: on PostgreSQL the error aborts the transaction it happens in.
    with pytest.raises(IntegrityError), transaction.atomic(), driver_cursor(connection) as cursor:
        cursor.execute(_TAG, [key, "vip"])
    assert list(EventTag.objects.values_list("tag", flat=True)) == ["vip"]


def test_while_queries_are_recorded_it_is_djangos_cursor_and_every_statement_shows():
    key = _event_key()
    with CaptureQueriesContext(connection) as captured:
        with write_statements(connection), driver_cursor(connection) as cursor:
            assert isinstance(cursor, CursorWrapper)
            cursor.execute(_TAG, [key, "vip"])
        trace_record_many(events=[TraceEvent(event_type="order.created", tags=("a",))])
    sql = [query["sql"] for query in captured.captured_queries]
    assert any("traces_eventtag" in text and "vip" in text for text in sql)
    assert sum("INSERT INTO" in text and "traces_eventrecord" in text for text in sql) == 1


def test_one_cursor_serves_a_whole_write_block_and_errors_are_djangos():
    key = _event_key()
    with write_statements(connection):
        with driver_cursor(connection) as first:
            first.execute(_TAG, [key, "a"])
        with driver_cursor(connection) as second:
            second.execute(_TAG, [key, "b"])
        assert second is first
        with write_statements(connection), driver_cursor(connection) as inner:
            assert inner is first
    with driver_cursor(connection) as after:
        assert after is not first
    with (
        pytest.raises(IntegrityError),
        transaction.atomic(),
        write_statements(connection),
        driver_cursor(connection) as cursor,
    ):
        cursor.execute(_TAG, [key, "a"])
    with driver_cursor(connection) as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchall() == [(1,)]
    assert sorted(EventTag.objects.values_list("tag", flat=True)) == ["a", "b"]


def test_a_failed_write_leaves_nothing_and_the_next_one_is_stored():
    first = TraceEvent(event_type="order.created", tags=("x",))
    trace_record_many(events=[first])
    with pytest.raises(Exception, match=first.id):
        trace_record_many(events=[TraceEvent(event_type="order.paid"), first])
    assert EventRecord.objects.count() == 1
    trace_record_many(events=[TraceEvent(event_type="order.paid", tags=("y",))])
    assert EventRecord.objects.count() == 2
    assert sorted(EventTag.objects.values_list("tag", flat=True)) == ["x", "y"]


def test_a_write_block_binds_parameters_on_the_server_on_postgresql():
    """PostgreSQL: the block's cursor is psycopg's server-binding one (values sent apart
    from the text, nothing prepared); SQLite: Django's own, converting ``%s`` once."""
    from psycopg import ClientCursor, Cursor

    from config.sqlite.base import QmarkCursor

    key = _event_key()
    with write_statements(connection), driver_cursor(connection) as cursor:
        if connection.vendor == "postgresql":
            assert type(cursor) is Cursor
            assert not isinstance(cursor, ClientCursor)
        else:
            assert isinstance(cursor, QmarkCursor)
        cursor.execute(_TAG, [key, "it's 100% \\ 'quoted'"])
        cursor.execute("SELECT tag FROM traces_eventtag WHERE event_id = %s", [key])
        assert cursor.fetchall() == [("it's 100% \\ 'quoted'",)]
    if connection.vendor == "postgresql":
        with driver_cursor(connection) as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            assert cursor.fetchall() == [(0,)]


def test_a_small_insert_is_one_statement_whatever_its_rows(django_assert_num_queries):
    """Three tag rows: one statement (multi-row VALUES on PostgreSQL, executemany on SQLite)."""
    from traces.bulk import write_rows

    key = uuid.UUID(trace_record_many(events=[TraceEvent(event_type="order.created")])[0])
    with django_assert_num_queries(1) as captured:
        write_rows(
            EventTag,
            ({"event_id": key, "tag": tag} for tag in ("a", "b", "c")),
            using="default",
            with_pk=False,
            count=3,
        )
    if connection.vendor == "postgresql":
        assert captured.captured_queries[0]["sql"].count("'b'") == 1
    assert sorted(EventTag.objects.values_list("tag", flat=True)) == ["a", "b", "c"]


def test_a_cursor_of_its_own_keeps_its_result_while_the_block_runs_others():
    """``own_cursor``: a result read after the block's cursor ran other statements (the
    review rules' SELECT is read after the actors'); Django's cursor while queries show."""
    from traces.bulk import statement_pipeline
    from traces.cursors import own_cursor

    key = _event_key()
    with statement_pipeline("default"), write_statements(connection):
        early = own_cursor(connection)
        early.execute("SELECT %s + 1", [41])
        with driver_cursor(connection) as cursor:
            cursor.execute(_TAG, [key, "later"])
            cursor.execute("SELECT tag FROM traces_eventtag WHERE event_id = %s", [key])
            assert cursor.fetchall() == [("later",)]
        assert early.fetchall() == [(42,)]
        early.close()
    with CaptureQueriesContext(connection):
        logged = own_cursor(connection)
        assert isinstance(logged, CursorWrapper)
        logged.close()
