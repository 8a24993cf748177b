"""``manage.py run_worker``: schedule the periodic tasks, then run django-tasks' ``db_worker``.

Takes every ``db_worker`` option. Safe to start twice or restart: each
periodic task keeps exactly one pending run.
"""

from __future__ import annotations

from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from traces.periodic.services import periodic_schedule_ensure


class Command(DbWorkerCommand):
    help = "Schedule the periodic tasks (TRACES_PERIODIC_TASKS), then run the database worker."

    def handle(self, *args: Any, **options: Any) -> None:
        for run in periodic_schedule_ensure():
            state = "scheduled" if run.created else "already scheduled"
            if options["verbosity"] > 0:
                self.stdout.write(
                    f"Periodic task {run.name}: {state} for {run.run_after:%Y-%m-%d %H:%M:%S %Z}."
                )
        super().handle(*args, **options)
