"""DecisioningJSONEncoder: DjangoJSONEncoder plus dataclasses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

import pytest

from decisioning.encoders import DecisioningJSONEncoder


@dataclass
class Point:
    x: int
    price: Decimal


def test_encoder_handles_dataclasses_and_django_types():
    """Dataclasses become dicts of their fields; Decimal becomes text as in Django."""
    text = json.dumps({"p": Point(1, Decimal("2.5"))}, cls=DecisioningJSONEncoder)
    assert json.loads(text) == {"p": {"x": 1, "price": "2.5"}}


@pytest.mark.parametrize("value", [object(), {1, 2}, Point])
def test_encoder_refuses_unknown_types(value):
    """Anything else is still a TypeError, as with json.dumps."""
    with pytest.raises(TypeError):
        json.dumps(value, cls=DecisioningJSONEncoder)
