"""Full-text search over trace events (minimal stand-in).

This module is replaced at merge by the engine-backed search (SQLite FTS5 /
PostgreSQL full-text). The UI calls only ``search_events(queryset, text)``,
so the replacement keeps that signature.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

__all__ = ["search_events"]


def search_events(queryset: QuerySet, text: str) -> QuerySet:
    """Narrow ``queryset`` to events whose description or reasoning contains ``text``.

    Args:
        queryset: a QuerySet of ``EventRecord``.
        text: the words to look for; blank text returns the queryset unchanged.

    Returns:
        The filtered QuerySet (case-insensitive substring match).
    """
    text = text.strip()
    if not text:
        return queryset
    return queryset.filter(Q(description__icontains=text) | Q(reasoning__icontains=text))
