from __future__ import annotations

from django.apps import AppConfig


class DecisioningConfig(AppConfig):
    name = "decisioning"
    verbose_name = "Decisioning"
    default_auto_field = "django.db.models.BigAutoField"
