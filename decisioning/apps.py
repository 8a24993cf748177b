from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class DecisioningConfig(AppConfig):
    name = "decisioning"
    verbose_name = "Decisioning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from decisioning.checks import check_settings

        checks.register(check_settings)
