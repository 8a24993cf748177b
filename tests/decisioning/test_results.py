"""The result codec: how values are stored, independent of the decorator."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from decisioning.results import StoredResult, decode_result, encode_result
from tests.testapp.models import Order


def test_encode_tags_non_json_values():
    """Decimal and UUID are stored tagged, plain JSON as itself; a dict is not wrapped."""
    token = uuid.UUID(int=5)
    stored = encode_result({"n": 1, "price": Decimal("2.50"), "id": token})
    assert stored == StoredResult(
        data={
            "n": 1,
            "price": {"__kind__": "decimal", "v": "2.50"},
            "id": {"__kind__": "uuid", "v": str(token)},
        },
        result_type="builtins.dict",
        result_id="",
    )


@pytest.mark.django_db
def test_dict_with_tag_key_is_escaped():
    """A user dict that happens to use the tag key is wrapped, so it replays as itself."""
    value = {"__kind__": "model", "model": "auth.user", "pk": "1"}
    stored = encode_result(value)
    assert stored.data["__kind__"] == "dict"
    assert decode_result(stored.data, result_type=stored.result_type) == value
    nested = encode_result({"outer": value, "list": [value]})
    assert decode_result(nested.data, result_type=nested.result_type) == {
        "outer": value,
        "list": [value],
    }


@pytest.mark.parametrize("data", [{}, None, [], "x"])
def test_decode_without_envelope_is_none(data):
    """Data that is neither an envelope nor a dict result (e.g. set by hand) decodes to None."""
    assert decode_result(data) is None


@pytest.mark.parametrize("data", [{"other": 1}, {"value": 1, "other": 2}])
def test_decode_other_dict_is_the_dict_itself(data):
    """A dict stored by hand under another result_type replays as itself, as the spec does."""
    assert decode_result(data, result_type="shop.Order") == data


@pytest.mark.django_db
def test_model_from_removed_app_decodes_to_none():
    """A reference to a model that no longer exists replays as None."""
    data = {"value": [{"__kind__": "model", "model": "gone.vanished", "pk": "1"}]}
    assert decode_result(data) == [None]


@pytest.mark.django_db
def test_model_reference_with_bad_pk_decodes_to_none():
    """A stored pk that does not fit the model's key replays as None."""
    order = Order.objects.create(number="1")
    data = {"value": [{"__kind__": "model", "model": "testapp.order", "pk": "abc"}]}
    assert decode_result(data) == [None]
    assert decode_result(encode_result([order]).data) == [order]
