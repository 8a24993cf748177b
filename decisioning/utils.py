"""References to any model instance, as plain dicts (e.g. for JSON context)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models

from decisioning.exceptions import PK_EMPTY, TARGET_NOT_A_MODEL, TARGET_UNSAVED, InvalidTargetError

__all__ = ["get_target_ref", "parse_pk", "resolve_target_ref"]


def get_target_ref(obj: models.Model) -> dict[str, Any]:
    """A serialisable reference to a saved model instance.

    Returns:
        ``{"content_type_id", "app_label", "model", "object_id"}``; ``object_id``
        is the primary key as text.

    Raises:
        InvalidTargetError: ``obj`` is not a model instance, or is unsaved.
    """
    if not isinstance(obj, models.Model):
        raise InvalidTargetError(TARGET_NOT_A_MODEL.format(type_name=type(obj).__name__))
    if obj.pk is None:
        raise InvalidTargetError(TARGET_UNSAVED.format(label=obj._meta.label))
    content_type = ContentType.objects.get_for_model(obj)
    return {
        "content_type_id": content_type.id,
        "app_label": content_type.app_label,
        "model": content_type.model,
        "object_id": str(obj.pk),
    }


def resolve_target_ref(ref: Any) -> models.Model | None:
    """The instance a reference from ``get_target_ref()`` points at, or None.

    Resolves by ``content_type_id`` when present, else by ``app_label`` +
    ``model``. Returns None for anything that does not lead to a row: a missing
    object, an unknown content type or model, a malformed or non-dict reference,
    or an id of the wrong type. It only reads. Soft-deleted rows are found (it
    uses the model's base manager, as Django's GenericForeignKey does).
    """
    if not isinstance(ref, Mapping):
        return None
    object_id = ref.get("object_id")
    if not isinstance(object_id, str | int) or isinstance(object_id, bool):
        return None
    try:
        if "content_type_id" in ref:
            content_type = ContentType.objects.get_for_id(_positive_int(ref["content_type_id"]))
        else:
            content_type = ContentType.objects.get_by_natural_key(
                _text(ref.get("app_label")), _text(ref.get("model"))
            )
        model = content_type.model_class()
        if model is None:
            return None
        return model._base_manager.get(pk=parse_pk(model, object_id))
    except (ObjectDoesNotExist, ValidationError, ValueError):
        return None


def parse_pk(model: type[models.Model], value: object) -> Any:
    """``value`` (e.g. a text id) as ``model``'s primary key value.

    Raises:
        ValidationError: it is empty or does not fit the primary key (wrong
            type, out of the database's integer range, too long).
    """
    field = model._meta.pk
    parsed = field.to_python(value)
    if parsed in field.empty_values:
        raise ValidationError(PK_EMPTY, code="required")
    field.run_validators(parsed)
    return parsed


def _positive_int(value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(value)
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError(value)
    return value
