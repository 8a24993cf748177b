from __future__ import annotations

from django.apps import AppConfig


class TracesConfig(AppConfig):
    name = "traces"
    verbose_name = "Traces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from decisioning.models import Decision
        from decisioning.signals import decision_transitioned
        from traces import checks  # noqa: F401 - registers the system checks
        from traces.audit import on_decision_transitioned

        # Inside the review action's transaction: the audit event commits or
        # rolls back with it (decisioning itself never imports traces).
        decision_transitioned.connect(
            on_decision_transitioned, sender=Decision, dispatch_uid="traces.audit"
        )
