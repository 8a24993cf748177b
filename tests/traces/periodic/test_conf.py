"""``TRACES_PERIODIC_TASKS``: slots and validation."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from traces.periodic.checks import check_periodic_tasks
from traces.periodic.conf import PeriodicSpec, periodic_spec_errors, periodic_specs

TICK = "tests.traces.periodic.jobs.tick"


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 12, 7, 9, 0, 0, tzinfo=UTC), datetime(2026, 12, 7, 9, 5, tzinfo=UTC)),
        (datetime(2026, 12, 7, 9, 4, 59, tzinfo=UTC), datetime(2026, 12, 7, 9, 5, tzinfo=UTC)),
        (datetime(2026, 12, 7, 9, 5, 0, 1, tzinfo=UTC), datetime(2026, 12, 7, 9, 10, tzinfo=UTC)),
    ],
)
def test_next_slot_every_is_aligned_and_strictly_later(now, expected):
    """Interval slots are multiples of the interval: every process computes the same one."""
    spec = PeriodicSpec(name="x", call=TICK, every=timedelta(minutes=5))
    assert spec.next_slot(now) == expected


def test_next_slot_daily_at_is_local_time(settings):
    """A daily slot is that local time today, or tomorrow once it has passed."""
    settings.TIME_ZONE = "Europe/Berlin"
    spec = PeriodicSpec(name="x", call=TICK, daily_at=time(8, 0))
    before = datetime(2026, 12, 7, 6, 59, tzinfo=UTC)  # 07:59 in Berlin
    assert spec.next_slot(before) == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    at = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    assert spec.next_slot(at) == datetime(2026, 12, 8, 7, 0, tzinfo=UTC)


def test_next_slot_daily_at_across_daylight_saving(settings):
    """08:00 local stays 08:00 local after the clocks change."""
    settings.TIME_ZONE = "Europe/Berlin"
    spec = PeriodicSpec(name="x", call=TICK, daily_at=time(8, 0))
    saturday = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)  # 10:00 CET; the clocks go forward Sunday
    assert spec.next_slot(saturday) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 CEST


def test_periodic_specs_reads_the_project_setting():
    """The project registers the overdue notices and the digests."""
    specs = periodic_specs()
    assert specs["review_overdue"].every == timedelta(minutes=5)
    assert specs["review_digests"].daily_at == time(8, 0)


@pytest.mark.parametrize(
    ("configured", "problem"),
    [
        ([], "must be a dict"),
        ({"Bad Name": {"call": TICK, "every": timedelta(minutes=5)}}, "a name is"),
        ({"x" * 101: {"call": TICK, "every": timedelta(minutes=5)}}, "a name is"),
        ({"a\x00b": {"call": TICK, "every": timedelta(minutes=5)}}, "a name is"),
        ({"x": "tick"}, "give a dict"),
        ({"x": {"every": timedelta(minutes=5)}}, "'call' is the dotted path"),
        ({"x": {"call": "no.such.module.f", "every": timedelta(minutes=5)}}, "cannot import"),
        (
            {"x": {"call": "tests.traces.periodic.jobs.NOT_CALLABLE", "daily_at": "08:00"}},
            "not callable",
        ),
        ({"x": {"call": TICK}}, "exactly one"),
        ({"x": {"call": TICK, "every": timedelta(minutes=5), "daily_at": "08:00"}}, "exactly one"),
        ({"x": {"call": TICK, "every": timedelta(seconds=59)}}, "at least"),
        ({"x": {"call": TICK, "every": 300}}, "at least"),
        ({"x": {"call": TICK, "every": timedelta(minutes=-5)}}, "at least"),
        ({"x": {"call": TICK, "daily_at": "24:00"}}, "'daily_at' is"),
        ({"x": {"call": TICK, "daily_at": "8:00"}}, "'daily_at' is"),
        ({"x": {"call": TICK, "daily_at": 800}}, "'daily_at' is"),
        ({"x": {"call": TICK, "daily_at": "08:00\x00"}}, "'daily_at' is"),
        ({"x": {"call": TICK, "every": timedelta(minutes=5), "cron": "* * * * *"}}, "unknown key"),
    ],
)
def test_bad_setting_is_a_system_check_error(settings, configured, problem):
    """Each kind of mistake is named by traces.E003, and using the setting refuses it."""
    settings.TRACES_PERIODIC_TASKS = configured
    assert any(problem in text for text in periodic_spec_errors())
    errors = check_periodic_tasks()
    assert errors
    assert {error.id for error in errors} == {"traces.E003"}
    with pytest.raises(ImproperlyConfigured, match="TRACES_PERIODIC_TASKS"):
        periodic_specs()


def test_good_setting_has_no_errors(settings):
    """A valid setting passes the check."""
    settings.TRACES_PERIODIC_TASKS = {
        "a": {"call": TICK, "every": timedelta(minutes=1)},
        "b.retention": {"call": TICK, "daily_at": "23:59"},
    }
    assert check_periodic_tasks() == []
    assert set(periodic_specs()) == {"a", "b.retention"}
