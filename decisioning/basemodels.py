"""Abstract base models: the ``django_basemodels`` API, provided in-project.

The PyPI package of that name is an unrelated project, so the small layer the
seed relies on lives here with the same names:

- ``TimeStampedModel``: ``created_at`` (set once) and ``updated_at`` (moves on
  every save).
- ``UUIDModel``: a UUID4 primary key, generated before the first save.
- ``SoftDeleteModel``: ``deleted_at``; ``delete()`` marks the row deleted and
  keeps it, ``hard_delete()`` removes it, ``restore()`` brings it back.
  ``objects`` hides deleted rows (``with_deleted()`` / ``deleted_only()`` widen
  it), ``all_objects`` shows every row.
- ``BaseModel``: timestamps and soft delete together.

Gotcha: ``QuerySet.delete()`` — ``Model.objects.filter(...).delete()`` — is
Django's own bulk delete and removes rows for good; it never calls the model's
``delete()``. Use ``QuerySet.soft_delete()`` to soft-delete many rows in one
``UPDATE``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Self, TypeVar, cast

from django.db import models
from django.utils import timezone

__all__ = [
    "BaseModel",
    "SoftDeleteManager",
    "SoftDeleteModel",
    "SoftDeleteQuerySet",
    "TimeStampedModel",
    "UUIDModel",
]


class TimeStampedModel(models.Model):
    """Adds ``created_at`` (set on insert, never changed) and ``updated_at``."""

    created_at = models.DateTimeField(
        auto_now_add=True, editable=False, help_text="When the row was first saved."
    )
    updated_at = models.DateTimeField(auto_now=True, help_text="When the row was last saved.")

    class Meta:
        abstract = True


class UUIDModel(models.Model):
    """A UUID4 primary key, generated in Python before the first save."""

    id = models.UUIDField(
        primary_key=True, default=uuid.uuid4, editable=False, help_text="Unique identifier."
    )

    class Meta:
        abstract = True


_M = TypeVar("_M", bound=models.Model, covariant=True)


class SoftDeleteQuerySet(models.QuerySet[_M]):
    """QuerySet with set-based soft delete and restore.

    ``delete()`` is Django's hard delete (see the module docstring);
    ``soft_delete()`` is the one-statement soft delete.
    """

    def alive(self) -> Self:
        return self.filter(deleted_at__isnull=True)

    def dead(self) -> Self:
        return self.filter(deleted_at__isnull=False)

    def soft_delete(self, *, now: datetime | None = None) -> int:
        """Mark every not-yet-deleted row deleted in one UPDATE; returns the count."""
        when = now or timezone.now()
        changes: dict[str, Any] = {"deleted_at": when}
        if any(f.name == "updated_at" for f in self.model._meta.concrete_fields):
            changes["updated_at"] = when
        return self.alive().update(**changes)

    def restore(self) -> int:
        """Bring every deleted row back in one UPDATE; returns the count."""
        changes: dict[str, Any] = {"deleted_at": None}
        if any(f.name == "updated_at" for f in self.model._meta.concrete_fields):
            changes["updated_at"] = timezone.now()
        return self.dead().update(**changes)


_SoftDeleteManagerBase = models.Manager.from_queryset(SoftDeleteQuerySet)


class SoftDeleteManager(_SoftDeleteManagerBase[_M]):
    """Default manager: rows that are not soft-deleted."""

    def get_queryset(self) -> SoftDeleteQuerySet[_M]:
        return self.with_deleted().alive()

    def with_deleted(self) -> SoftDeleteQuerySet[_M]:
        # The stubs type the inherited get_queryset() as a plain QuerySet; it is
        # the SoftDeleteQuerySet (or subclass) this manager was built from.
        return cast("SoftDeleteQuerySet[_M]", super().get_queryset())

    def deleted_only(self) -> SoftDeleteQuerySet[_M]:
        return self.with_deleted().dead()


class AllObjectsManager(_SoftDeleteManagerBase[_M]):
    """Every row, deleted or not."""


class SoftDeleteModel(models.Model):
    """Rows are marked deleted instead of removed.

    ``objects`` (the default manager) hides deleted rows, including in
    ``count()`` and in model validation, so a conditional ``UniqueConstraint``
    with ``condition=Q(deleted_at__isnull=True)`` lets a deleted row's value be
    used again. ``all_objects`` sees everything.
    """

    deleted_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        db_index=True,
        help_text="When the row was soft-deleted; empty while it is live.",
    )

    objects = SoftDeleteManager()
    all_objects = AllObjectsManager()

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def _save_deleted_at(self, value: datetime | None) -> None:
        self.deleted_at = value
        fields = ["deleted_at"]
        if any(f.name == "updated_at" for f in self._meta.concrete_fields):
            fields.append("updated_at")
        self.save(update_fields=fields)

    def delete(
        self, using: str | None = None, keep_parents: bool = False
    ) -> tuple[int, dict[str, int]]:
        """Soft-delete: set ``deleted_at`` and keep the row.

        Returns Django's ``(count, {label: count})`` shape; the count is 0 when
        the row was already deleted.
        """
        if self.is_deleted:
            return 0, {}
        self._save_deleted_at(timezone.now())
        return 1, {self._meta.label: 1}

    def hard_delete(
        self, using: str | None = None, keep_parents: bool = False
    ) -> tuple[int, dict[str, int]]:
        """Remove the row for good (Django's own delete, with cascades)."""
        return super().delete(using=using, keep_parents=keep_parents)

    def restore(self) -> None:
        """Undo a soft delete."""
        if self.is_deleted:
            self._save_deleted_at(None)


class BaseModel(TimeStampedModel, SoftDeleteModel):
    """Timestamps and soft delete; the default manager hides deleted rows."""

    class Meta(TimeStampedModel.Meta, SoftDeleteModel.Meta):
        abstract = True
