"""The decisions list's read: one keyset page with the decider and the target event joined."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.db.models import QuerySet

from decisioning.models import Decision
from traces.models import EventRecord
from traces.pagination import Cursor, Page, keyset_page
from traces.ui.common import PAGE_SIZE

__all__ = ["decisions_page"]


def _events_with_actors() -> QuerySet[Any]:
    # GenericPrefetch takes querysets of any model: typed as such.
    events: QuerySet[Any] = EventRecord.objects.select_related("actor")
    return events


def decisions_page(
    queryset: QuerySet[Decision],
    *,
    cursor: str | Cursor | None,
    newest_first: bool,
    recently_decided: bool = False,
) -> Page[Decision]:
    """One keyset page of decisions with who decided and the target event joined.

    ``recently_decided``: decided decisions only, newest decision first (through
    the ``(decided_at, id)`` index) instead of by proposal time.

    Raises:
        InvalidCursorError: ``cursor`` was not produced by this list.
    """
    queryset = queryset.select_related("decided_by", "target_content_type").prefetch_related(
        GenericPrefetch("target", [_events_with_actors()])
    )
    if recently_decided:
        return keyset_page(
            queryset.filter(decided_at__isnull=False),
            cursor=cursor,
            limit=PAGE_SIZE,
            time_field="decided_at",
        )
    return keyset_page(queryset, cursor=cursor, limit=PAGE_SIZE, newest_first=newest_first)
