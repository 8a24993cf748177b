"""The periodic schedules, read-only: when each task runs next and how its last run went."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from traces.periodic.models import PeriodicSchedule


@admin.register(PeriodicSchedule)
class PeriodicScheduleAdmin(admin.ModelAdmin[PeriodicSchedule]):
    list_display = ("name", "run_after", "last_started_at", "last_finished_at", "last_error")
    readonly_fields = (
        "name",
        "result_id",
        "run_after",
        "last_started_at",
        "last_finished_at",
        "last_error",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
