"""Reads for Decision records."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models

from decisioning.models import Decision
from decisioning.utils import parse_pk

__all__ = ["decision_targets"]


def decision_targets(*, decisions: Iterable[Decision]) -> dict[object, models.Model | None]:
    """Each decision's target row, keyed by the decision's pk; one query per target model.

    Unlike ``prefetch_related("target")``, a target id that does not fit its
    model's primary key, a content type whose model is gone, or a deleted row
    gives None instead of an error. Soft-deleted targets are found (base manager).
    """
    decisions = list(decisions)
    wanted: dict[int, set[object]] = defaultdict(set)
    keys: dict[object, tuple[int, object] | None] = {}
    for decision in decisions:
        model = ContentType.objects.get_for_id(decision.target_content_type_id).model_class()
        key = None
        if model is not None:
            try:
                key = (
                    decision.target_content_type_id,
                    parse_pk(model, decision.target_id),
                )
            except ValidationError:
                key = None
        if key is not None:
            wanted[key[0]].add(key[1])
        keys[decision.pk] = key
    rows: dict[tuple[int, object], models.Model] = {}
    for content_type_id, pks in wanted.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        for row in model._base_manager.filter(pk__in=pks):
            rows[(content_type_id, row.pk)] = row
    return {pk: rows.get(key) if key else None for pk, key in keys.items()}
