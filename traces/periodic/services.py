"""Scheduling periodic runs as django-tasks results due at their next slot.

Each periodic task has exactly one pending run: a task result of
``periodic_run`` with ``run_after`` at its next slot, named by its
``PeriodicSchedule`` row. Scheduling locks that row (``select_for_update`` on
PostgreSQL; SQLite's transactions here are ``IMMEDIATE``, one writer at a time)
and enqueues only when the row names no run that is still waiting or running,
so two workers, a restart or a run finishing at the same moment never leave
two. The enqueue is in the same transaction, so it is all or nothing.

A run calls the task's function and then, failed or not, schedules the next.
A run that a killed worker left "running" counts as pending for
``STALE_RUNNING_AFTER``; after that the next ``periodic_schedule_ensure``
replaces it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import TaskContext, TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from traces.periodic.conf import PeriodicSpec, periodic_specs
from traces.periodic.models import PeriodicSchedule

__all__ = [
    "STALE_RUNNING_AFTER",
    "ScheduledRun",
    "periodic_run",
    "periodic_schedule",
    "periodic_schedule_ensure",
]

logger = logging.getLogger(__name__)

STALE_RUNNING_AFTER = timedelta(hours=6)
_ERROR_LIMIT = 2_000


@dataclass(frozen=True)
class ScheduledRun:
    """A periodic task's pending run: its task result id and its slot."""

    name: str
    result_id: str
    run_after: datetime
    created: bool


def _waiting(result_id: str, *, now: datetime) -> datetime | None:
    """The slot of ``result_id`` when that run is still to come (or running, not stale)."""
    if not result_id:
        return None
    # django-tasks-db's own table: the run's status and slot (a pruned run is gone).
    row = DBTaskResult.objects.filter(pk=result_id).values("status", "run_after", "started_at")
    found = row.first()
    if found is None:
        return None
    slot: datetime = found["run_after"]
    if found["status"] == TaskResultStatus.READY:
        return slot
    started = found["started_at"]
    if found["status"] == TaskResultStatus.RUNNING and (
        started is None or started > now - STALE_RUNNING_AFTER
    ):
        return slot
    return None


@transaction.atomic
def periodic_schedule(
    spec: PeriodicSpec, *, finishing: str | None = None, now: datetime | None = None
) -> ScheduledRun:
    """Make sure ``spec`` has one pending run, enqueueing it at the next slot if it has none.

    Args:
        spec: the periodic task.
        finishing: the result id of the run now ending (it does not count as pending).
        now: the current time (tests pass one).

    Returns:
        The pending run, and whether this call created it.
    """
    now = now or timezone.now()
    PeriodicSchedule.objects.get_or_create(name=spec.name)
    schedule = PeriodicSchedule.objects.select_for_update().get(name=spec.name)
    if schedule.result_id != finishing:
        slot = _waiting(schedule.result_id, now=now)
        if slot is not None:
            return ScheduledRun(spec.name, schedule.result_id, slot, created=False)
    slot = spec.next_slot(now)
    result = periodic_run.using(run_after=slot).enqueue(name=spec.name)
    schedule.result_id, schedule.run_after = str(result.id), slot
    schedule.save(update_fields=["result_id", "run_after"])
    return ScheduledRun(spec.name, schedule.result_id, slot, created=True)


def periodic_schedule_ensure(*, now: datetime | None = None) -> list[ScheduledRun]:
    """Give every configured periodic task its pending run (the worker does this at start).

    Raises:
        ImproperlyConfigured: ``TRACES_PERIODIC_TASKS`` is not valid.
    """
    return [periodic_schedule(spec, now=now) for spec in periodic_specs().values()]


def _record(name: str, **fields: Any) -> None:
    PeriodicSchedule.objects.filter(name=name).update(**fields)


@task(takes_context=True)
def periodic_run(context: TaskContext, *, name: str) -> Any:
    """Run the periodic task ``name`` and schedule its next run, even when this one fails.

    A name no longer in ``TRACES_PERIODIC_TASKS`` does nothing and is not rescheduled.
    """
    spec = periodic_specs().get(name)
    if spec is None:
        logger.warning("Periodic task %r is no longer configured; not run.", name)
        return None
    _record(name, last_started_at=timezone.now())
    try:
        value = spec.function()()
    except Exception as exc:
        _record(name, last_finished_at=timezone.now(), last_error=repr(exc)[:_ERROR_LIMIT])
        raise
    else:
        _record(name, last_finished_at=timezone.now(), last_error="")
        return value
    finally:
        periodic_schedule(spec, finishing=str(context.task_result.id))
