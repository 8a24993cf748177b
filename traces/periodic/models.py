"""``PeriodicSchedule``: one row per periodic task, naming its one pending run."""

from __future__ import annotations

from django.db import models

__all__ = ["PeriodicSchedule"]


class PeriodicSchedule(models.Model):
    """The pending run of one periodic task (``TRACES_PERIODIC_TASKS``) and how the last went.

    The row is locked while a run is scheduled, so two workers (or a restart)
    never leave two pending runs of one task.
    """

    name = models.CharField(
        max_length=100, unique=True, help_text="The task's key in TRACES_PERIODIC_TASKS."
    )
    result_id = models.CharField(
        max_length=64, blank=True, default="", help_text="The django-tasks result of the next run."
    )
    run_after = models.DateTimeField(
        null=True, blank=True, help_text="When the next run is due (its slot)."
    )
    last_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last run started."
    )
    last_finished_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last run ended."
    )
    last_error = models.TextField(
        blank=True, default="", help_text="The last run's error; empty when it succeeded."
    )

    class Meta:
        verbose_name = "periodic schedule"
        verbose_name_plural = "periodic schedules"
        ordering = ["name"]

    def __str__(self) -> str:
        return (
            f"{self.name}: next at {self.run_after:%Y-%m-%d %H:%M %Z}"
            if self.run_after
            else self.name
        )
