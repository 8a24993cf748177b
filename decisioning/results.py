"""How ``@idempotent`` stores a function's result and what a replay gives back.

``encode_result(value)`` turns a result into JSON with type tags; it is what
``IdempotencyKey.result_data`` holds. A plain ``dict`` result is stored as
itself (the django-decisioning spec: ``mark_completed(result=some_dict)``
stores that dict), with ``result_type`` ``"builtins.dict"`` telling the
replay so; anything else is wrapped as ``{"value": <encoded>}``.
``decode_result(data, result_type=...)`` rebuilds the value. The rules, kind
by kind:

========================  ==========================================  =====================
result                    stored in ``result_data["value"]``          a replay returns
========================  ==========================================  =====================
None, bool, int, str,     itself                                      an equal value
finite float
float NaN / ±inf          ``{"__kind__": "float", "v": "nan"}``       the same float
Decimal                   ``{"__kind__": "decimal", "v": "12.50"}``   an equal Decimal
datetime, date, time      ISO 8601 under ``"datetime"`` etc.          an equal value; aware
                                                                      stays aware (a named
                                                                      zone comes back as its
                                                                      fixed UTC offset)
timedelta                 ISO 8601 duration                           an equal timedelta
UUID                      ``{"__kind__": "uuid", "v": "..."}``        an equal UUID
list                      a list of encoded items                     a list
tuple                     ``{"__kind__": "tuple", "v": [...]}``       a tuple
dict with str keys        a dict of encoded values                    a dict
dataclass instance        its fields, as a dict (``asdict``)          a dict, not the class
saved model instance      ``{"__kind__": "model", "model":            the row re-fetched now
                          "app.model", "pk": "..."}``                 (``_base_manager``, so
                                                                      soft-deleted rows too),
                                                                      or None when it is gone
========================  ==========================================  =====================

Model instances anywhere inside lists, tuples and dicts are re-fetched with one
query per model. Anything else (sets, QuerySets, arbitrary objects, dicts with
non-str keys, unsaved instances) raises ``ResultNotStorableError``.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.dateparse import parse_duration
from django.utils.duration import duration_iso_string

from decisioning.exceptions import (
    RESULT_DICT_KEY,
    RESULT_NOT_STORABLE,
    RESULT_TOO_DEEP,
    RESULT_UNSAVED_INSTANCE,
    ResultNotStorableError,
)
from decisioning.utils import parse_pk

__all__ = ["DICT_RESULT_TYPE", "StoredResult", "decode_result", "encode_result"]

KIND = "__kind__"
DICT_RESULT_TYPE = "builtins.dict"
MAX_DEPTH = 50

_FROM_ISO = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
}


@dataclass(frozen=True)
class StoredResult:
    """What goes into an ``IdempotencyKey``: the JSON envelope and the spec's metadata."""

    data: dict[str, Any]
    result_type: str
    result_id: str


def encode_result(value: Any) -> StoredResult:
    """Encode ``value`` for storage (see the module docstring for the rules).

    Raises:
        ResultNotStorableError: the value (or something inside it) has no rule.
    """
    cls = type(value)
    result_id = ""
    if isinstance(value, models.Model):
        result_id = str(value.pk) if value.pk is not None else ""
    encoded = _encode(value, 0)
    return StoredResult(
        data=encoded if cls is dict else {"value": encoded},
        result_type=f"{cls.__module__}.{cls.__qualname__}",
        result_id=result_id,
    )


def _encode(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ResultNotStorableError(RESULT_TOO_DEEP.format(limit=MAX_DEPTH))
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {KIND: "float", "v": str(value)}
    if isinstance(value, Decimal):
        return {KIND: "decimal", "v": str(value)}
    if isinstance(value, datetime):
        return {KIND: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {KIND: "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {KIND: "time", "v": value.isoformat()}
    if isinstance(value, timedelta):
        return {KIND: "timedelta", "v": duration_iso_string(value)}
    if isinstance(value, uuid.UUID):
        return {KIND: "uuid", "v": str(value)}
    if isinstance(value, models.Model):
        if value.pk is None:
            raise ResultNotStorableError(RESULT_UNSAVED_INSTANCE.format(label=value._meta.label))
        return {KIND: "model", "model": value._meta.label_lower, "pk": str(value.pk)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode(dataclasses.asdict(value), depth + 1)
    if isinstance(value, list):
        return [_encode(item, depth + 1) for item in value]
    if isinstance(value, tuple):
        return {KIND: "tuple", "v": [_encode(item, depth + 1) for item in value]}
    if isinstance(value, dict):
        encoded = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ResultNotStorableError(RESULT_DICT_KEY.format(type_name=type(key).__name__))
            encoded[key] = _encode(item, depth + 1)
        return {KIND: "dict", "v": encoded} if KIND in encoded else encoded
    raise ResultNotStorableError(RESULT_NOT_STORABLE.format(type_name=type(value).__name__))


def decode_result(data: Any, *, result_type: str = "") -> Any:
    """Rebuild a stored result; model rows are re-fetched, one query per model.

    ``result_type`` is the stored ``IdempotencyKey.result_type``:
    ``DICT_RESULT_TYPE`` means ``data`` is the dict result itself. With any
    other type (``mark_completed`` lets the caller name one), data that is
    exactly ``{"value": ...}`` is the envelope and other dict data is a dict
    result stored as itself, as the django-decisioning spec replays it.
    """
    if result_type == DICT_RESULT_TYPE or (isinstance(data, dict) and set(data) - {"value"}):
        value = data
    else:
        value = data.get("value") if isinstance(data, dict) else None
    refs: dict[str, set[str]] = defaultdict(set)
    _collect_model_refs(value, refs)
    rows = {label: _fetch(label, pks) for label, pks in refs.items()}
    return _decode(value, rows)


def _collect_model_refs(value: Any, refs: dict[str, set[str]]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect_model_refs(item, refs)
    elif isinstance(value, dict):
        kind = value.get(KIND)
        if kind == "model":
            refs[value["model"]].add(value["pk"])
        elif kind == "tuple":
            _collect_model_refs(value["v"], refs)
        elif kind in (None, "dict"):
            for item in (value if kind is None else value["v"]).values():
                _collect_model_refs(item, refs)


def _fetch(label: str, pks: set[str]) -> dict[str, models.Model]:
    try:
        model = apps.get_model(label)
    except LookupError:
        return {}
    keys = []
    for pk in pks:
        try:
            keys.append(parse_pk(model, pk))
        except ValidationError:
            continue
    return {str(row.pk): row for row in model._base_manager.filter(pk__in=keys)}


def _decode(value: Any, rows: dict[str, dict[str, models.Model]]) -> Any:
    if isinstance(value, list):
        return [_decode(item, rows) for item in value]
    if not isinstance(value, dict):
        return value
    kind = value.get(KIND)
    if kind is None:
        return {key: _decode(item, rows) for key, item in value.items()}
    if kind == "dict":
        return {key: _decode(item, rows) for key, item in value["v"].items()}
    if kind == "tuple":
        return tuple(_decode(item, rows) for item in value["v"])
    if kind == "model":
        return rows.get(value["model"], {}).get(value["pk"])
    if kind == "decimal":
        return Decimal(value["v"])
    if kind == "float":
        return float(value["v"])
    if kind == "uuid":
        return uuid.UUID(value["v"])
    if kind == "timedelta":
        return parse_duration(value["v"])
    return _FROM_ISO[kind](value["v"])
