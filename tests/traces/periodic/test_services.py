"""Periodic runs through the real database worker: one pending run per task, always."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError, close_old_connections, connection
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from decisioning.models import Decision
from tests.traces.factories import proposal_record
from tests.traces.periodic import jobs
from traces.periodic.conf import periodic_specs
from traces.periodic.models import PeriodicSchedule
from traces.periodic.services import (
    STALE_RUNNING_AFTER,
    periodic_schedule,
    periodic_schedule_ensure,
)

pytestmark = pytest.mark.django_db(transaction=True)

RUN_PATH = "traces.periodic.services.periodic_run"


@pytest.fixture(autouse=True)
def _database_worker(settings):
    """The production backend, and two test tasks beside the project's own."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    settings.TRACES_PERIODIC_TASKS = {
        **settings.TRACES_PERIODIC_TASKS,
        "tick": {"call": "tests.traces.periodic.jobs.tick", "every": timedelta(minutes=10)},
    }
    jobs.CALLS.clear()


def _pending(name: str) -> list[DBTaskResult]:
    return [
        row
        for row in DBTaskResult.objects.filter(
            task_path=RUN_PATH, status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
        )
        if row.args_kwargs["kwargs"] == {"name": name}
    ]


def _make_due(name: str) -> None:
    """Bring the pending run's slot into the past, as if the clock had reached it."""
    (row,) = _pending(name)
    DBTaskResult.objects.filter(pk=row.pk).update(run_after=timezone.now() - timedelta(seconds=1))


def _work() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def test_ensure_schedules_each_task_once():
    """Ensuring twice (a restart, a second worker) leaves one pending run per task."""
    first = periodic_schedule_ensure()
    second = periodic_schedule_ensure()
    assert {run.name for run in first} == set(periodic_specs())
    assert all(run.created for run in first)
    assert not any(run.created for run in second)
    for name in periodic_specs():
        (row,) = _pending(name)
        schedule = PeriodicSchedule.objects.get(name=name)
        assert schedule.result_id == str(row.pk)
        assert row.run_after == schedule.run_after > timezone.now()


def test_ensure_from_two_threads_at_once_schedules_once():
    """Two workers starting together: the locked schedule row lets one of them enqueue."""
    barrier = threading.Barrier(2)
    created: list[bool] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait()
            for attempt in range(100):
                try:
                    created.extend(run.created for run in periodic_schedule_ensure())
                    break
                except OperationalError as exc:
                    # SQLite's shared-cache test database refuses instead of waiting;
                    # each schedule is its own transaction, so trying again is safe.
                    if "locked" not in str(exc) or attempt == 99:
                        raise
                    time.sleep(0.05)
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    # A refused attempt may have committed some schedules before it was refused.
    assert 0 < created.count(True) <= len(periodic_specs())
    for name in periodic_specs():
        assert len(_pending(name)) == 1


def test_due_run_calls_the_function_and_schedules_the_next():
    """The worker runs a due slot, then exactly one next run waits at the following slot."""
    periodic_schedule_ensure()
    before = _pending("tick")[0].pk
    _make_due("tick")
    _work()
    assert jobs.CALLS == ["tick"]
    assert DBTaskResult.objects.get(pk=before).status == TaskResultStatus.SUCCESSFUL
    (following,) = _pending("tick")
    assert following.pk != before
    assert following.run_after > timezone.now()
    schedule = PeriodicSchedule.objects.get(name="tick")
    assert schedule.result_id == str(following.pk)
    assert schedule.last_finished_at is not None
    assert schedule.last_error == ""


def test_failed_run_still_schedules_the_next(settings):
    """A run that raises is recorded as failed, and the next run is still scheduled."""
    settings.TRACES_PERIODIC_TASKS = {
        "boom": {"call": "tests.traces.periodic.jobs.explode", "every": timedelta(minutes=1)}
    }
    periodic_schedule_ensure()
    failed = _pending("boom")[0].pk
    _make_due("boom")
    _work()
    assert jobs.CALLS == ["explode"]
    assert DBTaskResult.objects.get(pk=failed).status == TaskResultStatus.FAILED
    (following,) = _pending("boom")
    assert following.run_after > timezone.now()
    assert "the periodic job failed" in PeriodicSchedule.objects.get(name="boom").last_error


def test_unconfigured_task_is_not_run_or_rescheduled(settings):
    """A task removed from the setting: its waiting run does nothing and has no successor."""
    periodic_schedule_ensure()
    _make_due("tick")
    settings.TRACES_PERIODIC_TASKS = {}
    _work()
    assert jobs.CALLS == []
    assert _pending("tick") == []


def test_run_finishing_after_a_restart_does_not_double_the_schedule():
    """A run ends after another worker already scheduled a successor: no second successor."""
    spec = periodic_specs()["tick"]
    running = periodic_schedule(spec)
    DBTaskResult.objects.filter(pk=running.result_id).update(
        status=TaskResultStatus.FAILED, finished_at=timezone.now()
    )
    successor = periodic_schedule(spec)  # the restart: the old run looks finished
    assert successor.created
    again = periodic_schedule(spec, finishing=running.result_id)
    assert not again.created
    assert again.result_id == successor.result_id
    assert len(_pending("tick")) == 1


def test_stale_running_run_is_replaced():
    """A run left 'running' by a killed worker stops counting after STALE_RUNNING_AFTER."""
    spec = periodic_specs()["tick"]
    run = periodic_schedule(spec)
    DBTaskResult.objects.filter(pk=run.result_id).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=5)
    )
    assert not periodic_schedule(spec).created
    DBTaskResult.objects.filter(pk=run.result_id).update(
        started_at=timezone.now() - STALE_RUNNING_AFTER - timedelta(minutes=1)
    )
    replaced = periodic_schedule(spec)
    assert replaced.created
    assert replaced.result_id != run.result_id


def test_pruned_result_is_rescheduled():
    """The pending run's result was deleted (pruned): the next ensure schedules a new one."""
    periodic_schedule_ensure()
    DBTaskResult.objects.all().delete()
    assert all(run.created for run in periodic_schedule_ensure())


def test_run_worker_ensures_the_schedule_then_works(capsys):
    """``manage.py run_worker`` schedules every periodic task, then runs db_worker."""
    call_command("run_worker", "--batch", "--no-startup-delay", "--no-reload")
    assert "Periodic task review_overdue: scheduled" in capsys.readouterr().out
    for name in periodic_specs():
        assert len(_pending(name)) == 1
    call_command("run_worker", "--batch", "--no-startup-delay", "--no-reload")
    assert "review_overdue: already scheduled" in capsys.readouterr().out


def test_overdue_notice_once_per_decision_across_runs(make_user):
    """Each decision passing its due time is emailed about once, not again on the next run."""
    make_user("admin", username="ann", email="ann@example.com")
    _, first = proposal_record()
    _, second = proposal_record(order_id="ord-2")
    Decision.objects.filter(pk=first.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    Decision.objects.filter(pk=second.pk).update(due_at=timezone.now() + timedelta(hours=1))
    periodic_schedule_ensure()
    _make_due("review_overdue")
    _work()
    assert len(mail.outbox) == 1
    _make_due("review_overdue")
    _work()
    assert len(mail.outbox) == 1
    Decision.objects.filter(pk=second.pk).update(due_at=timezone.now() - timedelta(seconds=1))
    _make_due("review_overdue")
    _work()
    assert len(mail.outbox) == 2
    assert all("Past due" in message.subject for message in mail.outbox)
    assert len(_pending("review_overdue")) == 1
