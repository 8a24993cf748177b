"""The worker's evidence task: ``seal_traces`` (django-tasks; the database backend in production).

``make run`` starts ``manage.py db_worker`` next to the web server. The task
seals until the outbox is empty; a sealer that finds no signing key fails
and the outbox keeps the rows for the next run.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from traces.evidence.sealing import seal_pending

__all__ = ["seal_traces", "seal_traces_enqueue"]


@task()
def seal_traces() -> int:
    """Seal everything the outbox names, in batches; returns the log's size."""
    while True:
        result = seal_pending()
        if result.appended == 0 and not _pending():
            return result.size


def _pending() -> bool:
    from traces.evidence.models import SealRequest

    return SealRequest.objects.exists()


def seal_traces_enqueue(*, delay: float = 0.0) -> None:
    """Ask the worker for ``seal_traces``, ``delay`` seconds from now where the backend can wait."""
    sealing = seal_traces
    if delay and sealing.get_backend().supports_defer:
        sealing = sealing.using(run_after=timezone.now() + timedelta(seconds=delay))
    sealing.enqueue()
