"""Event counts (hourly and by type): kept exact by the services, rebuilt and checked on demand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from traces import TraceBuilder, TraceEvent, TraceValidationError
from traces.counts import (
    CountDifference,
    CountRows,
    TypeCountDifference,
    UTCFloor,
    event_counts_add,
    event_counts_differences,
    event_counts_rebuild,
    event_counts_remove,
    hour_of,
)
from traces.models import EventRecord, EventTypeCount, HourlyEventCount
from traces.services import trace_delete, trace_record, trace_record_many, trace_update_text

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 3, 10, 8, 0, tzinfo=UTC)


def _event(
    when: datetime,
    *,
    actor: str | None = "user",
    outcome: str = "success",
    parent: str | None = None,
    risk: str | None = None,
) -> TraceEvent:
    builder = TraceBuilder("order.created", "Order placed").at(when).with_outcome(outcome)
    if actor == "user":
        builder.by_user("u-1", "Jane")
    elif actor == "ai_agent":
        builder.by_ai("pricing-ai", "Pricing", model="m-1")
    elif actor == "compute":
        builder.by_compute("job-1", "Nightly", service_name="warehouse")
    if parent is not None:
        builder.child_of(parent)
    if risk is not None:
        builder.because("Checked").with_risk(risk)
    return builder.build()


def _stored() -> dict[tuple[datetime, str, str], int]:
    return {
        (hour, actor_type, outcome): n
        for hour, actor_type, outcome, n in HourlyEventCount.objects.values_list(
            "hour", "actor_type", "outcome", "event_count"
        )
    }


def _by_type() -> dict[tuple[str, str, str, str], int]:
    return {
        row[:-1]: row[-1]
        for row in EventTypeCount.objects.values_list(
            "event_type", "actor_type", "outcome", "risk_level", "event_count"
        )
    }


def test_hour_of_is_the_utc_hour():
    """Any timezone: the start of the UTC hour the instant falls in."""
    plus_two = timezone(timedelta(hours=2))
    assert hour_of(datetime(2024, 3, 10, 1, 59, 59, 999999, tzinfo=plus_two)) == datetime(
        2024, 3, 9, 23, 0, tzinfo=UTC
    )
    assert hour_of(T0) == T0


def test_record_counts_each_event_in_its_hour_actor_type_and_outcome():
    """Same hour and kind add up; another hour, actor type, outcome or no actor is its own row."""
    trace_record(event=_event(T0 + timedelta(minutes=5)))
    trace_record_many(
        events=[
            _event(T0 + timedelta(minutes=59, seconds=59)),
            _event(T0 + timedelta(hours=1)),
            _event(T0, actor="ai_agent"),
            _event(T0, outcome="failure"),
            _event(T0, actor=None),
        ]
    )
    assert _stored() == {
        (T0, "user", "success"): 2,
        (T0 + timedelta(hours=1), "user", "success"): 1,
        (T0, "ai_agent", "success"): 1,
        (T0, "user", "failure"): 1,
        (T0, "", "success"): 1,
    }
    assert event_counts_differences() == []


def test_record_counts_each_event_by_type_actor_type_outcome_and_risk():
    """All time: the same four values add up whatever the hour; any other value is its own row."""
    trace_record(event=_event(T0, risk="high"))
    trace_record_many(
        events=[
            _event(T0 + timedelta(days=30), risk="high"),
            _event(T0, risk="low"),
            _event(T0, actor=None),
            _event(T0, actor="ai_agent", outcome="failure"),
        ]
    )
    assert _by_type() == {
        ("order.created", "user", "success", "high"): 2,
        ("order.created", "user", "success", "low"): 1,
        ("order.created", "", "success", ""): 1,
        ("order.created", "ai_agent", "failure", ""): 1,
    }
    root = EventRecord.objects.get(risk_level="low")
    trace_delete(event_ids=[root.pk])
    assert ("order.created", "user", "success", "low") not in _by_type()
    assert event_counts_differences() == []


def test_record_many_counts_in_utc_whatever_the_timezone():
    """A timestamp given at +05:30 is counted in the UTC hour it falls in."""
    india = timezone(timedelta(hours=5, minutes=30))
    trace_record_many(events=[_event(datetime(2024, 3, 10, 5, 45, tzinfo=india))])
    assert _stored() == {(datetime(2024, 3, 10, 0, 0, tzinfo=UTC), "user", "success"): 1}


def test_a_refused_batch_counts_nothing():
    """A failed batch (a missing parent, an id already stored) leaves the counts as they were."""
    first = _event(T0)
    trace_record(event=first)
    before = _stored()
    with pytest.raises(TraceValidationError):
        trace_record_many(events=[_event(T0), _event(T0, parent=str(uuid.uuid4()))])
    with pytest.raises(TraceValidationError):
        trace_record_many(events=[_event(T0, actor="compute"), first])
    assert _stored() == before == {(T0, "user", "success"): 1}


def test_delete_subtracts_the_events_and_their_descendants():
    """trace_delete takes the whole subtree out of the counts; emptied counts disappear."""
    root = _event(T0, actor="ai_agent")
    child = _event(T0 + timedelta(hours=2), parent=root.id)
    grandchild = _event(T0 + timedelta(hours=2), outcome="failure", parent=child.id)
    other = _event(T0 + timedelta(hours=2))
    trace_record_many(events=[root, child, grandchild, other])
    assert trace_delete(event_ids=[root.id]) == 3
    assert _stored() == {(T0 + timedelta(hours=2), "user", "success"): 1}
    assert event_counts_differences() == []


def test_delete_of_unknown_ids_changes_nothing():
    trace_record(event=_event(T0))
    assert trace_delete(event_ids=[uuid.uuid4()]) == 0
    assert _stored() == {(T0, "user", "success"): 1}


def test_update_text_leaves_the_counts_exact():
    """Correcting an event's text changes none of what it is counted by."""
    event = _event(T0)
    trace_record(event=event)
    trace_update_text(
        event_id=event.id,
        description="Order placed again",
        reasoning="Typo",
        corrected_by="ops",
        reason="Typo",
    )
    assert _stored() == {(T0, "user", "success"): 1}
    assert event_counts_differences() == []


def test_remove_never_goes_below_zero():
    """Counts that were short (events never counted) end at zero and are deleted, not negative."""
    event_counts_add([(T0, "user", "success", "e", "")], using="default")
    event_counts_remove([(T0, "user", "success", "e", "")] * 3, using="default")
    assert _stored() == {}
    assert not EventTypeCount.objects.exists()


def test_add_and_remove_nothing_run_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        event_counts_add([], using="default")
        event_counts_remove([], using="default")


def test_a_batch_costs_one_count_statement_per_table():
    """Counting a batch is one upsert per table, whatever its size and its spread over hours."""
    events = [_event(T0 + timedelta(minutes=17 * n)) for n in range(50)]
    with CaptureQueriesContext(connection) as queries:
        trace_record_many(events=events)
    for model in (HourlyEventCount, EventTypeCount):
        touching = [q["sql"] for q in queries if model._meta.db_table in q["sql"]]
        assert len(touching) == 1
        assert "ON CONFLICT" in touching[0]
    assert sum(_stored().values()) == 50
    assert len(_stored()) == 14  # 0 to 833 minutes after T0


def _bulk_events(*whens: datetime) -> None:
    """Events stored the way the UI benchmark stores them: bulk_create, no counts."""
    EventRecord.objects.bulk_create(
        EventRecord(id=pk, root_id=pk, event_type="x.y", effective_at=when, actor_type="system")
        for pk, when in ((uuid.uuid4(), when) for when in whens)
    )


def test_differences_find_events_written_around_the_services():
    """bulk_create'd events are missing from the counts, and the differences say where."""
    trace_record(event=_event(T0))
    _bulk_events(T0 + timedelta(minutes=3), T0 + timedelta(minutes=4))
    assert event_counts_differences() == [
        CountDifference(T0, "system", "success", stored=0, actual=2),
        TypeCountDifference("x.y", "system", "success", "", stored=0, actual=2),
    ]


def test_differences_find_counts_without_events():
    event_counts_add([(T0, "compute", "failure", "sync.ran", "low")], using="default")
    assert event_counts_differences() == [
        CountDifference(T0, "compute", "failure", stored=1, actual=0),
        TypeCountDifference("sync.ran", "compute", "failure", "low", stored=1, actual=0),
    ]


def test_rebuild_recomputes_every_count_from_the_events():
    """Missing counts appear, wrong ones are corrected, counts without events go."""
    trace_record_many(events=[_event(T0), _event(T0 + timedelta(days=40), actor="compute")])
    _bulk_events(T0 + timedelta(minutes=30), T0 + timedelta(hours=5, seconds=1))
    event_counts_add([(T0 - timedelta(days=1), "user", "skipped", "x.y", "")], using="default")
    event_counts_remove([(T0, "user", "success", "order.created", "")], using="default")
    assert event_counts_rebuild() == CountRows(hourly=4, by_type=3)
    assert _stored() == {
        (T0, "user", "success"): 1,
        (T0 + timedelta(days=40), "compute", "success"): 1,
        (T0, "system", "success"): 1,
        (T0 + timedelta(hours=5), "system", "success"): 1,
    }
    assert event_counts_differences() == []


def test_rebuild_of_no_events_empties_the_counts():
    event_counts_add([(T0, "user", "success", "e", "")], using="default")
    assert event_counts_rebuild() == (0, 0)
    assert not HourlyEventCount.objects.exists()
    assert not EventTypeCount.objects.exists()


def test_rebuild_keeps_microsecond_and_hour_boundaries():
    """The database's hour (text prefix on SQLite, date_trunc on PostgreSQL) matches Python's."""
    edges = [T0 - timedelta(microseconds=1), T0, T0 + timedelta(minutes=59, seconds=59.999999)]
    trace_record_many(events=[_event(when) for when in edges])
    before = _stored()
    event_counts_rebuild()
    assert (
        _stored()
        == before
        == {
            (T0 - timedelta(hours=1), "user", "success"): 1,
            (T0, "user", "success"): 2,
        }
    )


def test_counts_str():
    event_counts_add([(T0, "", "failure", "sync.ran", "")], using="default")
    assert str(HourlyEventCount.objects.get()) == "2024-03-10 08:00 no actor failure: 1"
    assert str(EventTypeCount.objects.get()) == "sync.ran no actor failure no risk: 1"


# Property: whatever is recorded and deleted, in whatever batches, the counts are exact.
ACTORS = st.sampled_from(["user", "ai_agent", "compute", None])
OUTCOMES = st.sampled_from(["success", "failure", "skipped"])
MINUTES = st.integers(min_value=-90, max_value=60 * 30)
EVENT = st.tuples(MINUTES, ACTORS, OUTCOMES, st.booleans())
STEP = st.one_of(
    st.tuples(st.just("record"), st.lists(EVENT, min_size=1, max_size=12)),
    st.tuples(st.just("delete"), st.lists(st.integers(min_value=0, max_value=200), max_size=4)),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=1, max_size=6))
def test_property_counts_match_the_events(db, steps):
    """Random batches (some children of earlier events) and deletions keep every count exact."""
    stored_ids: list[str] = list(EventRecord.objects.values_list("pk", flat=True))
    stored_ids = [str(pk) for pk in stored_ids]
    for action, payload in steps:
        if action == "record":
            batch = []
            for minutes, actor, outcome, is_child in payload:
                parent = stored_ids[minutes % len(stored_ids)] if is_child and stored_ids else None
                batch.append(
                    _event(
                        T0 + timedelta(minutes=minutes), actor=actor, outcome=outcome, parent=parent
                    )
                )
            trace_record_many(events=batch)
            stored_ids.extend(event.id for event in batch)
        elif stored_ids:
            trace_delete(event_ids=[stored_ids[i % len(stored_ids)] for i in payload])
            stored_ids = [str(pk) for pk in EventRecord.objects.values_list("pk", flat=True)]
    assert event_counts_differences() == []
    assert sum(_stored().values()) == EventRecord.objects.count()
    assert sum(_by_type().values()) == EventRecord.objects.count()


@pytest.mark.django_db(transaction=True)
def test_migration_counts_the_events_already_stored():
    """Migrating to 0005 counts the events stored before it, as a rebuild would."""
    executor = MigrationExecutor(connection)
    executor.migrate([("traces", "0004_search_automerge")])
    try:
        _bulk_events(T0, T0 + timedelta(minutes=1), T0 + timedelta(days=3, hours=7, minutes=59))
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert _stored() == {
        (T0, "system", "success"): 2,
        (T0 + timedelta(days=3, hours=7), "system", "success"): 1,
    }


@pytest.mark.django_db(transaction=True)
def test_migration_counts_the_events_already_stored_by_type():
    """Migrating to 0007 counts the events stored before it by type, as a rebuild would."""
    executor = MigrationExecutor(connection)
    executor.migrate([("traces", "0006_evidence")])
    try:
        _bulk_events(T0, T0 + timedelta(days=3))
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert _by_type() == {("x.y", "system", "success", ""): 2}


@pytest.mark.parametrize(
    ("unit", "expected"),
    [("hour", datetime(2024, 3, 10, 23, tzinfo=UTC)), ("day", datetime(2024, 3, 10, tzinfo=UTC))],
)
def test_utc_floor_truncates_in_utc_on_the_database(unit, expected):
    """The one bucket helper floors to the UTC hour or day, whatever offset the time came with."""
    moment = datetime(2024, 3, 11, 1, 59, 59, 999999, tzinfo=timezone(timedelta(hours=2)))
    trace_record(event=_event(moment))
    floored = EventRecord.objects.annotate(bucket=UTCFloor("effective_at", unit=unit))
    assert floored.values_list("bucket", flat=True).get() == expected


@pytest.mark.parametrize(
    ("moment", "start_hour", "expected"),
    [
        # Days that start at 10:00 UTC: 09:59 belongs to the day before, 10:00 to its own.
        (datetime(2024, 3, 11, 9, 59, 59, tzinfo=UTC), 10, datetime(2024, 3, 10, 10, tzinfo=UTC)),
        (datetime(2024, 3, 11, 10, tzinfo=UTC), 10, datetime(2024, 3, 11, 10, tzinfo=UTC)),
        (datetime(2024, 3, 11, 23, 30, tzinfo=UTC), 23, datetime(2024, 3, 11, 23, tzinfo=UTC)),
        (datetime(2024, 3, 1, 0, 30, tzinfo=UTC), 1, datetime(2024, 2, 29, 1, tzinfo=UTC)),
        # An offset: 01:59 at +02:00 is 23:59 UTC the day before.
        (
            datetime(2024, 3, 11, 1, 59, tzinfo=timezone(timedelta(hours=2))),
            5,
            datetime(2024, 3, 10, 5, tzinfo=UTC),
        ),
    ],
)
def test_utc_floor_days_from_an_hour(moment, start_hour, expected):
    """Days that start at ``start_hour`` UTC (the dashboard's rolling days): the floor plus
    ``start_hour`` hours is the start of the day the time falls in, on both databases."""
    trace_record(event=_event(moment))
    floored = EventRecord.objects.annotate(
        bucket=UTCFloor("effective_at", unit="day", start_hour=start_hour)
    )
    assert floored.values_list("bucket", flat=True).get() + timedelta(hours=start_hour) == expected


@pytest.mark.parametrize("start_hour", [-1, 24, 100])
def test_utc_floor_refuses_an_hour_outside_the_day(start_hour):
    with pytest.raises(ValueError, match="start_hour must be from 0 to 23"):
        UTCFloor("effective_at", unit="day", start_hour=start_hour)
