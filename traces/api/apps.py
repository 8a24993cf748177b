from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_delete, post_save


class TracesApiConfig(AppConfig):
    name = "traces.api"
    label = "traces_api"
    verbose_name = "API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from traces.api.tokens import token_cache_clear

        # A token or a user saved or deleted in this process: its cached tokens are forgotten.
        for sender in ("traces_api.ServiceToken", settings.AUTH_USER_MODEL):
            for signal, name in ((post_save, "save"), (post_delete, "delete")):
                signal.connect(token_cache_clear, sender=sender, dispatch_uid=f"{name}:{sender}")
