from __future__ import annotations

from django.apps import AppConfig


class TracesRulesConfig(AppConfig):
    name = "traces.rules"
    label = "traces_rules"
    verbose_name = "Review rules"
    default_auto_field = "django.db.models.BigAutoField"
