from __future__ import annotations

from django.apps import AppConfig


class TracesApiConfig(AppConfig):
    name = "traces.api"
    label = "traces_api"
    verbose_name = "API"
    default_auto_field = "django.db.models.BigAutoField"
