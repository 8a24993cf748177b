"""The decisions list's read: one keyset page with the decider and the target event joined."""

from __future__ import annotations

from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.db.models import QuerySet

from decisioning.models import Decision
from traces.models import EventRecord
from traces.pagination import Cursor, Page, keyset_page
from traces.ui.common import PAGE_SIZE

__all__ = ["decisions_page"]


def decisions_page(
    queryset: QuerySet[Decision], *, cursor: str | Cursor | None, newest_first: bool
) -> Page[Decision]:
    """One keyset page of decisions with who decided and the target event joined.

    Raises:
        InvalidCursorError: ``cursor`` was not produced by this list.
    """
    queryset = queryset.select_related("decided_by", "target_content_type").prefetch_related(
        GenericPrefetch("target", [EventRecord.objects.select_related("actor")])
    )
    return keyset_page(queryset, cursor=cursor, limit=PAGE_SIZE, newest_first=newest_first)
