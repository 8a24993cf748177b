from __future__ import annotations

from django.apps import AppConfig


class TracesPeriodicConfig(AppConfig):
    name = "traces.periodic"
    label = "traces_periodic"
    verbose_name = "Periodic tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from traces.periodic import checks  # noqa: F401  (registers the system check)
