from __future__ import annotations

from django.apps import AppConfig


class TracesWebhooksConfig(AppConfig):
    name = "traces.webhooks"
    label = "traces_webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from decisioning.models import Decision
        from decisioning.signals import decision_transitioned
        from traces.webhooks.outbox import on_decision_transitioned

        # Inside the review action's transaction: no delivery for a rolled-back change.
        decision_transitioned.connect(
            on_decision_transitioned, sender=Decision, dispatch_uid="traces.webhooks"
        )
