"""Concrete models over the abstract bases, for tests only (no migrations: created by syncdb)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from decisioning.basemodels import (
    BaseModel,
    SoftDeleteModel,
    TimeStampedModel,
    UUIDModel,
)


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
