"""Concrete models over the abstract bases, for tests only (no migrations: created by syncdb)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from decisioning.basemodels import (
    BaseModel,
    SoftDeleteModel,
    TimeStampedModel,
    UUIDModel,
)
from decisioning.mixins import EffectiveDatedMixin, TimeSemanticsMixin
from decisioning.querysets import EffectiveDatedQuerySet, EventAsOfQuerySet


class Stamped(TimeStampedModel):
    name = models.CharField(max_length=50)


class Identified(UUIDModel):
    name = models.CharField(max_length=50)


class Deletable(SoftDeleteModel):
    name = models.CharField(max_length=50)


class Article(BaseModel):
    slug = models.CharField(max_length=50)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["slug"], condition=Q(deleted_at__isnull=True), name="live_slug_unique"
            )
        ]


class Document(UUIDModel, BaseModel):
    title = models.CharField(max_length=50)


class PaymentEvent(TimeSemanticsMixin):
    """The spec's example of a model with business and system time."""

    amount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))

    objects = EventAsOfQuerySet.as_manager()


class PriceOverride(EffectiveDatedMixin):
    """The spec's example of an effective-dated model."""

    price = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))

    objects = EffectiveDatedQuerySet.as_manager()


class Contract(TimeSemanticsMixin, EffectiveDatedMixin, UUIDModel):
    """Both time mixins and a UUID key on one model, with the mixin's default manager."""

    name = models.CharField(max_length=50)


class Order(models.Model):
    """A row an idempotent operation writes and returns."""

    number = models.CharField(max_length=50)
    total = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))

    def __str__(self) -> str:
        return f"Order {self.number}"
