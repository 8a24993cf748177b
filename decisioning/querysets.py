"""Temporal QuerySets: stateless, chainable verbs usable with ``.as_manager()``."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import timezone

__all__ = ["EffectiveDatedQuerySet", "EventAsOfQuerySet"]


class EventAsOfQuerySet(models.QuerySet):
    """QuerySet for event-sourced models with ``effective_at`` / ``recorded_at``."""

    def as_of(self, timestamp: datetime) -> EventAsOfQuerySet:
        """Records whose business time is at or before ``timestamp``."""
        return self.filter(effective_at__lte=timestamp)

    def recorded_before(self, timestamp: datetime) -> EventAsOfQuerySet:
        """Records the system learned of at or before ``timestamp``."""
        return self.filter(recorded_at__lte=timestamp)

    def recorded_after(self, timestamp: datetime) -> EventAsOfQuerySet:
        """Records the system learned of after ``timestamp``."""
        return self.filter(recorded_at__gt=timestamp)

    def effective_between(self, start: datetime, end: datetime) -> EventAsOfQuerySet:
        """Records effective in the half-open range ``[start, end)``."""
        return self.filter(effective_at__gte=start, effective_at__lt=end)


class EffectiveDatedQuerySet(models.QuerySet):
    """QuerySet for models with ``valid_from`` / ``valid_to`` (``None`` = open-ended)."""

    def current(self) -> EffectiveDatedQuerySet:
        """Records valid now."""
        return self.as_of(timezone.now())

    def as_of(self, timestamp: datetime) -> EffectiveDatedQuerySet:
        """Records valid at ``timestamp``: ``valid_from <= t < valid_to``."""
        return self.filter(valid_from__lte=timestamp).filter(
            models.Q(valid_to__isnull=True) | models.Q(valid_to__gt=timestamp)
        )

    def expired(self) -> EffectiveDatedQuerySet:
        """Records whose validity ended at or before now."""
        return self.filter(valid_to__lte=timezone.now())

    def future(self) -> EffectiveDatedQuerySet:
        """Records that become valid after now."""
        return self.filter(valid_from__gt=timezone.now())

    def overlapping(self, start: datetime, end: datetime) -> EffectiveDatedQuerySet:
        """Records whose validity intersects the half-open range ``[start, end)``."""
        return self.filter(valid_from__lt=end).filter(
            models.Q(valid_to__isnull=True) | models.Q(valid_to__gt=start)
        )
