"""get_target_ref / resolve_target_ref: the spec's eight, then wrong and hostile input."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from decisioning.exceptions import InvalidTargetError
from decisioning.utils import get_target_ref, parse_pk, resolve_target_ref
from tests.testapp.models import Deletable, Identified, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def order() -> Order:
    return Order.objects.create(number="A-1")


def test_get_target_ref_returns_dict(order):
    """The reference is a plain, JSON-ready dict."""
    ref = get_target_ref(order)
    assert isinstance(ref, dict)
    assert set(ref) == {"content_type_id", "app_label", "model", "object_id"}


def test_get_target_ref_includes_content_type(order):
    """It names the content type by id and by app label + model."""
    ref = get_target_ref(order)
    content_type = ContentType.objects.get_for_model(Order)
    assert ref["content_type_id"] == content_type.id
    assert (ref["app_label"], ref["model"]) == ("testapp", "order")


def test_get_target_ref_includes_object_id(order):
    """The primary key is included as text, UUIDs too."""
    assert get_target_ref(order)["object_id"] == str(order.pk)
    ident = Identified.objects.create(name="u")
    assert get_target_ref(ident)["object_id"] == str(ident.pk)


def test_resolve_target_ref_returns_object(order):
    """A reference resolves to the instance it was made from."""
    resolved = resolve_target_ref(get_target_ref(order))
    assert isinstance(resolved, Order)
    assert resolved.number == "A-1"


def test_resolve_target_ref_by_id(order):
    """content_type_id + object_id is enough."""
    content_type = ContentType.objects.get_for_model(Order)
    assert resolve_target_ref({"content_type_id": content_type.id, "object_id": order.pk}) == order


def test_resolve_target_ref_by_label(order):
    """app_label + model + object_id is enough."""
    ref = {"app_label": "testapp", "model": "order", "object_id": str(order.pk)}
    assert resolve_target_ref(ref) == order


def test_resolve_target_ref_returns_none_missing(order):
    """A reference to a deleted row resolves to None."""
    ref = get_target_ref(order)
    order.delete()
    assert resolve_target_ref(ref) is None


def test_roundtrip_get_resolve():
    """get then resolve gives back equal instances for int and UUID keys, and users."""
    user = get_user_model().objects.create_user(username="u", password="pw-u-12345")
    for obj in (Order.objects.create(number="x"), Identified.objects.create(name="y"), user):
        assert resolve_target_ref(get_target_ref(obj)) == obj


# additions


def test_resolve_target_ref_finds_soft_deleted_rows():
    """A soft-deleted row still resolves (base manager), like GenericForeignKey."""
    row = Deletable.objects.create(name="gone")
    row.delete()
    assert resolve_target_ref(get_target_ref(row)) == row


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param(None, id="none"),
        pytest.param("testapp.order:1", id="string"),
        pytest.param({"object_id": 1}, id="dict"),
        pytest.param(Order, id="model-class"),
        pytest.param(Order(number="unsaved"), id="unsaved"),
    ],
)
def test_get_target_ref_refuses_non_instances(obj):
    """Anything but a saved model instance raises InvalidTargetError (a ValueError)."""
    content_types = ContentType.objects.count()
    with pytest.raises(InvalidTargetError) as info:
        get_target_ref(obj)
    assert isinstance(info.value, ValueError)
    assert ContentType.objects.count() == content_types


def _order_ct() -> int:
    return ContentType.objects.get_for_model(Order).id


BAD_REFS = [
    pytest.param(lambda pk: None, id="none"),
    pytest.param(lambda pk: "not a dict", id="string"),
    pytest.param(lambda pk: [1, 2], id="list"),
    pytest.param(lambda pk: {}, id="empty"),
    pytest.param(lambda pk: {"content_type_id": _order_ct()}, id="no-object-id"),
    pytest.param(lambda pk: {"object_id": pk}, id="no-content-type"),
    pytest.param(lambda pk: {"content_type_id": 10**9, "object_id": pk}, id="unknown-ct-id"),
    pytest.param(lambda pk: {"content_type_id": 10**30, "object_id": pk}, id="huge-ct-id"),
    pytest.param(lambda pk: {"content_type_id": -1, "object_id": pk}, id="negative-ct-id"),
    pytest.param(lambda pk: {"content_type_id": "abc", "object_id": pk}, id="text-ct-id"),
    pytest.param(lambda pk: {"content_type_id": True, "object_id": pk}, id="bool-ct-id"),
    pytest.param(lambda pk: {"content_type_id": [1], "object_id": pk}, id="list-ct-id"),
    pytest.param(lambda pk: {"app_label": "nope", "model": "order", "object_id": pk}, id="bad-app"),
    pytest.param(lambda pk: {"app_label": "testapp", "model": 5, "object_id": pk}, id="int-model"),
    pytest.param(
        lambda pk: {"app_label": "testapp\x00", "model": "order", "object_id": pk}, id="nul"
    ),
    pytest.param(lambda pk: {"content_type_id": _order_ct(), "object_id": "abc"}, id="text-pk"),
    pytest.param(lambda pk: {"content_type_id": _order_ct(), "object_id": 10**30}, id="huge-pk"),
    pytest.param(lambda pk: {"content_type_id": _order_ct(), "object_id": 1.5}, id="float-pk"),
    pytest.param(lambda pk: {"content_type_id": _order_ct(), "object_id": None}, id="none-pk"),
    pytest.param(lambda pk: {"content_type_id": _order_ct(), "object_id": {"a": 1}}, id="dict-pk"),
    pytest.param(
        lambda pk: {"content_type_id": _order_ct(), "object_id": "1 OR 1=1; DROP TABLE x"},
        id="sql",
    ),
    pytest.param(
        lambda pk: {"app_label": "testapp", "model": "identified", "object_id": "not-a-uuid"},
        id="bad-uuid",
    ),
    pytest.param(
        lambda pk: {"app_label": "testapp", "model": "identified", "object_id": "x" * 100_000},
        id="huge-uuid",
    ),
]


@pytest.mark.parametrize("make_ref", BAD_REFS)
def test_resolve_target_ref_bad_reference_is_none(order, make_ref):
    """Malformed, unknown, wrong-typed or hostile references resolve to None, writing nothing."""
    content_types = ContentType.objects.count()
    assert resolve_target_ref(make_ref(order.pk)) is None
    assert ContentType.objects.count() == content_types
    assert list(Order.objects.all()) == [order]


def test_resolve_target_ref_stale_content_type(order):
    """A content type whose model no longer exists resolves to None."""
    stale = ContentType.objects.create(app_label="gone", model="vanished")
    assert resolve_target_ref({"content_type_id": stale.id, "object_id": "1"}) is None


def test_resolve_target_ref_accepts_digit_string_ct_id(order):
    """A content type id that went through a query string as text still resolves."""
    ref = {"content_type_id": str(_order_ct()), "object_id": str(order.pk)}
    assert resolve_target_ref(ref) == order


@pytest.mark.parametrize("value", ["abc", 10**30, "", None])
def test_parse_pk_rejects_what_the_key_cannot_hold(value):
    """parse_pk raises ValidationError for ids that do not fit an integer key."""
    with pytest.raises(ValidationError):
        parse_pk(Order, value)
