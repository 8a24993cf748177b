"""Abstract mixins for business time vs system time, and for validity periods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from decisioning.querysets import EventAsOfQuerySet

__all__ = ["EffectiveDatedMixin", "TimeSemanticsMixin"]

VALID_TO_NOT_AFTER_VALID_FROM = "valid_to must be later than valid_from."


class TimeSemanticsMixin(models.Model):
    """Business time (``effective_at``) vs system time (``recorded_at``).

    ``effective_at`` defaults to now and may be backdated. ``recorded_at`` is the
    system's word: it is set on insert whatever the caller passes (``create()``
    and ``bulk_create()`` alike), ``save()`` never writes it again (a changed
    attribute is ignored; ``refresh_from_db()`` shows the stored value), and the
    default manager's ``update(recorded_at=...)`` raises
    ``RecordedAtReadOnlyError``. A model that declares its own manager keeps
    that guard by building it from ``EventAsOfQuerySet``.
    """

    effective_at = models.DateTimeField(
        default=timezone.now, help_text="When this event actually occurred (business time)."
    )
    recorded_at = models.DateTimeField(
        auto_now_add=True,
        editable=False,
        help_text="When this record was created (system time); never editable.",
    )

    objects = EventAsOfQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None:
                update_fields = [f.name for f in self._meta.concrete_fields if not f.primary_key]
            kwargs["update_fields"] = [name for name in update_fields if name != "recorded_at"]
        super().save(*args, **kwargs)


class EffectiveDatedMixin(models.Model):
    """A validity period: ``valid_from`` (inclusive) to ``valid_to`` (exclusive; None = open)."""

    valid_from = models.DateTimeField(
        default=timezone.now, help_text="When this record becomes valid."
    )
    valid_to = models.DateTimeField(
        null=True, blank=True, help_text="When this record expires (empty = indefinite)."
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        # valid_from may still be None here: clean() runs even when clean_fields() failed.
        valid_from: object = self.valid_from
        if (
            self.valid_to is not None
            and isinstance(valid_from, datetime)
            and self.valid_to <= valid_from
        ):
            raise ValidationError({"valid_to": VALID_TO_NOT_AFTER_VALID_FROM})

    @property
    def is_active(self) -> bool:
        """Valid now."""
        now = timezone.now()
        if now < self.valid_from:
            return False
        return not (self.valid_to is not None and now >= self.valid_to)

    @property
    def is_expired(self) -> bool:
        """Validity ended at or before now."""
        return self.valid_to is not None and timezone.now() >= self.valid_to

    @property
    def is_future(self) -> bool:
        """Not valid yet."""
        return timezone.now() < self.valid_from
