"""The store's event vocabulary."""

from __future__ import annotations

import re

import pytest

from decision_trace.ecommerce.event_types import EcommerceEventType

_DOTTED = re.compile(r"^[a-z]+\.[a-z_]+$")


def test_event_types_unique():
    """No two constants share a value (an alias would hide a type)."""
    values = [member.value for member in EcommerceEventType]
    assert len(values) == len(set(values))
    assert len(EcommerceEventType.__members__) == len(values)


@pytest.mark.parametrize("member", list(EcommerceEventType), ids=lambda m: m.name)
def test_event_types_dotted(member):
    """Every value is lowercase family.action."""
    assert _DOTTED.match(member.value)


def test_event_types_are_strings():
    """Members compare and format as their dotted string."""
    assert EcommerceEventType.ORDER_CREATED == "order.created"
    assert f"{EcommerceEventType.PAYMENT_CAPTURED}" == "payment.captured"


@pytest.mark.parametrize(
    ("family", "count"),
    [
        ("order", 10),
        ("payment", 7),
        ("inventory", 9),
        ("product", 6),
        ("customer", 7),
        ("shipment", 9),
        ("return", 7),
        ("cart", 5),
        ("ticket", 4),
        ("pricing", 4),
    ],
)
def test_event_types_cover_each_family(family, count):
    """Each family of the store vocabulary is complete."""
    assert sum(1 for m in EcommerceEventType if m.family == family) == count


def test_event_types_marketing_and_ai():
    """Campaigns, promotions, coupons, e-mails, AI and automation are present."""
    families = EcommerceEventType.families()
    for family in ("campaign", "promotion", "coupon", "email", "ai", "automation"):
        assert family in families
    assert EcommerceEventType.AI_RECOMMENDATION.family == "ai"
