"""Temporal QuerySets: stateless, chainable verbs usable with ``.as_manager()``.

Every verb takes timezone-aware datetimes only and raises ``InvalidTimeError``
(a ``ValueError``) for anything else, before any query runs. Ranges are
half-open, ``[start, end)``, and ``end`` must be later than ``start``. The
verbs that mean "now" (``current``, ``expired``, ``future``) accept
``now=`` so callers and tests can fix the clock.

``EventAsOfQuerySet.update()`` and ``bulk_update()`` refuse ``recorded_at``: the system's time of
recording is never rewritten, not even in bulk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self, TypeVar

from django.db import models
from django.db.models import Q
from django.utils import timezone

from decisioning.basemodels import SoftDeleteQuerySet
from decisioning.choices import IdempotencyStatus
from decisioning.exceptions import (
    NAIVE_DATETIME,
    NOT_A_DATETIME,
    RANGE_END_NOT_AFTER_START,
    RECORDED_AT_READ_ONLY,
    InvalidTimeError,
    RecordedAtReadOnlyError,
)

__all__ = [
    "DecisionQuerySet",
    "EffectiveDatedQuerySet",
    "EventAsOfQuerySet",
    "IdempotencyKeyQuerySet",
]


_M = TypeVar("_M", bound=models.Model, covariant=True)


def _aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidTimeError(NOT_A_DATETIME.format(name=name, type_name=type(value).__name__))
    if timezone.is_naive(value):
        raise InvalidTimeError(NAIVE_DATETIME.format(name=name))
    return value


def _range(start: object, end: object) -> tuple[datetime, datetime]:
    start, end = _aware("start", start), _aware("end", end)
    if end <= start:
        raise InvalidTimeError(RANGE_END_NOT_AFTER_START)
    return start, end


def _now(now: object) -> datetime:
    return timezone.now() if now is None else _aware("now", now)


class EventAsOfQuerySet(models.QuerySet[_M]):
    """QuerySet for event-sourced models with ``effective_at`` / ``recorded_at``."""

    def as_of(self, timestamp: datetime) -> Self:
        """Records whose business time is at or before ``timestamp``."""
        return self.filter(effective_at__lte=_aware("timestamp", timestamp))

    def recorded_before(self, timestamp: datetime) -> Self:
        """Records the system learned of at or before ``timestamp``."""
        return self.filter(recorded_at__lte=_aware("timestamp", timestamp))

    def recorded_after(self, timestamp: datetime) -> Self:
        """Records the system learned of after ``timestamp``."""
        return self.filter(recorded_at__gt=_aware("timestamp", timestamp))

    def effective_between(self, start: datetime, end: datetime) -> Self:
        """Records effective in the half-open range ``[start, end)``."""
        start, end = _range(start, end)
        return self.filter(effective_at__gte=start, effective_at__lt=end)

    def update(self, **kwargs: Any) -> int:
        """Django's bulk update, except that ``recorded_at`` cannot be changed."""
        if "recorded_at" in kwargs:
            raise RecordedAtReadOnlyError(RECORDED_AT_READ_ONLY)
        return super().update(**kwargs)

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        """Django's ``bulk_update``, refusing ``recorded_at`` before anything runs."""
        if "recorded_at" in fields:
            raise RecordedAtReadOnlyError(RECORDED_AT_READ_ONLY)
        return super().bulk_update(objs, fields, batch_size=batch_size)


class EffectiveDatedQuerySet(models.QuerySet[_M]):
    """QuerySet for models with ``valid_from`` / ``valid_to`` (``None`` = open-ended)."""

    def current(self, *, now: datetime | None = None) -> Self:
        """Records valid now (or at ``now``)."""
        return self.as_of(_now(now))

    def as_of(self, timestamp: datetime) -> Self:
        """Records valid at ``timestamp``: ``valid_from <= t < valid_to``."""
        timestamp = _aware("timestamp", timestamp)
        return self.filter(valid_from__lte=timestamp).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=timestamp)
        )

    def expired(self, *, now: datetime | None = None) -> Self:
        """Records whose validity ended at or before now."""
        return self.filter(valid_to__lte=_now(now))

    def future(self, *, now: datetime | None = None) -> Self:
        """Records that become valid after now."""
        return self.filter(valid_from__gt=_now(now))

    def overlapping(self, start: datetime, end: datetime) -> Self:
        """Records whose validity intersects the half-open range ``[start, end)``."""
        start, end = _range(start, end)
        return self.filter(valid_from__lt=end).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=start)
        )


# django-stubs gives each QuerySet class its own generated as_manager() return
# type, so a QuerySet with two QuerySet bases "overrides" it incompatibly.
class DecisionQuerySet(SoftDeleteQuerySet[_M], EventAsOfQuerySet[_M]):  # type: ignore[override]
    """Soft delete plus the time verbs, for ``Decision``."""


class IdempotencyKeyQuerySet(models.QuerySet[_M]):
    """What the cleanup command and the admin select keys by."""

    def expired(self, *, now: datetime | None = None) -> Self:
        """Finished (completed or failed) keys whose ``expires_at`` has passed."""
        return self.exclude(status=IdempotencyStatus.IN_FLIGHT).filter(expires_at__lte=_now(now))

    def finished_before(self, cutoff: datetime) -> Self:
        """Completed or failed keys that finished at or before ``cutoff``."""
        return self.exclude(status=IdempotencyStatus.IN_FLIGHT).filter(
            completed_at__lte=_aware("cutoff", cutoff)
        )

    def in_flight_since(self, cutoff: datetime) -> Self:
        """In-flight keys whose attempt started at or before ``cutoff``."""
        return self.filter(
            status=IdempotencyStatus.IN_FLIGHT, started_at__lte=_aware("cutoff", cutoff)
        )
