from __future__ import annotations

from django.apps import AppConfig


class TracesNotificationsConfig(AppConfig):
    name = "traces.notifications"
    label = "traces_notifications"
    verbose_name = "Reviewer notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from decisioning.models import Decision
        from decisioning.signals import decision_transitioned
        from traces.notifications.services import on_decision_transitioned

        decision_transitioned.connect(
            on_decision_transitioned, sender=Decision, dispatch_uid="traces.notifications"
        )
