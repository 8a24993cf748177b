from __future__ import annotations

from django.apps import AppConfig


class TracesConfig(AppConfig):
    name = "traces"
    verbose_name = "Traces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from decision_trace.transport import register_default_transport
        from decisioning.models import Decision
        from decisioning.signals import decision_transitioned
        from traces import checks  # noqa: F401 - registers the system checks
        from traces.audit import on_decision_transitioned
        from traces.client import in_process_transport

        # A decision_trace client given no URL stores in this process's database.
        register_default_transport(in_process_transport)

        # Inside the review action's transaction: the audit event commits or
        # rolls back with it (decisioning itself never imports traces).
        decision_transitioned.connect(
            on_decision_transitioned, sender=Decision, dispatch_uid="traces.audit"
        )
