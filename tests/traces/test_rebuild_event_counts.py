"""The rebuild_event_counts management command."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from traces.counts import event_counts_add, event_counts_differences
from traces.models import EventRecord, EventTypeCount, HourlyEventCount

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 3, 10, 8, 0, tzinfo=UTC)


def _run(*args: str) -> str:
    out = StringIO()
    call_command("rebuild_event_counts", *args, stdout=out)
    return out.getvalue()


def _bulk_event(actor_type: str = "compute") -> None:
    pk = uuid.uuid4()
    EventRecord.objects.create(
        id=pk, root_id=pk, event_type="sync.ran", effective_at=T0, actor_type=actor_type
    )


def test_rebuild_counts_events_written_around_the_services():
    _bulk_event()
    _bulk_event()
    assert _run() == "Rebuilt the event counts: 1 hourly row(s), 1 row(s) by type.\n"
    assert HourlyEventCount.objects.get().event_count == 2
    by_type = EventTypeCount.objects.get()
    assert (by_type.event_type, by_type.actor_type) == ("sync.ran", "compute")
    assert by_type.event_count == 2
    assert event_counts_differences() == []


def test_check_passes_when_the_counts_match():
    assert _run("--check") == "The event counts match the events.\n"


def test_check_lists_the_differences_fails_and_changes_nothing():
    _bulk_event()
    event_counts_add([(T0, "user", "failure", "sync.ran", "high")], using="default")
    out = StringIO()
    with pytest.raises(CommandError, match=r"4 event count\(s\) differ from the events; run"):
        call_command("rebuild_event_counts", "--check", stdout=out)
    assert out.getvalue().splitlines() == [
        "hourly 2024-03-10 08:00 UTC compute success: stored 0, events 1",
        "hourly 2024-03-10 08:00 UTC user failure: stored 1, events 0",
        "by type sync.ran compute success (no risk): stored 0, events 1",
        "by type sync.ran user failure high: stored 1, events 0",
    ]
    assert HourlyEventCount.objects.count() == 1
    assert EventTypeCount.objects.count() == 1


def test_check_shows_at_most_twenty_differences():
    for n in range(25):
        event_counts_add([(T0.replace(hour=0, day=n + 1), "", "success", "e", "")], using="default")
    out = StringIO()
    with pytest.raises(CommandError, match=r"^26 event count"):
        call_command("rebuild_event_counts", "--check", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 21
    assert lines[0] == "hourly 2024-03-01 00:00 UTC (no actor) success: stored 1, events 0"
    assert lines[-1] == "... and 6 more."


@pytest.mark.parametrize("alias", ["nope", "", "default; DROP TABLE x"])
def test_unknown_database_is_a_clear_error(alias):
    with pytest.raises(CommandError, match="Unknown database"):
        call_command("rebuild_event_counts", "--database", alias, stdout=StringIO())


def test_unknown_option_is_refused():
    with pytest.raises(CommandError):
        call_command("rebuild_event_counts", "--since", "yesterday", stdout=StringIO())
