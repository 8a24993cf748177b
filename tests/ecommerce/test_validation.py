"""The store's input checks: money, quantities, order lines, e-mail, currency, dates, numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from decision_trace.ecommerce.validation import (
    MAX_ITEMS,
    check_currency,
    check_email,
    check_items,
    check_money,
    check_number,
    check_quantity,
    check_when,
    money_text,
)
from traces import TraceValidationError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("149.99"), "149.99"),
        (149.99, "149.99"),
        (74.99 * 2, "149.98"),
        (150, "150.00"),
        (0, "0.00"),
        ("149.9", "149.90"),
        (" 12.50 ", "12.50"),
        ("+3", "3.00"),
        (".5", "0.50"),
        (Decimal("1E+2"), "100.00"),
        (Decimal("999999999999.99"), "999999999999.99"),
    ],
)
def test_check_money_accepts_exact_amounts(value, expected):
    """Decimals, ints, exact-cent floats and plain text become two-decimal Decimals."""
    amount = check_money("total", value)
    assert isinstance(amount, Decimal)
    assert money_text(amount) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0.1 + 0.2, "more than 2 decimal places"),
        (1 / 3, "more than 2 decimal places"),
        ("12.345", "more than 2 decimal places"),
        (Decimal("0.001"), "more than 2 decimal places"),
        (float("nan"), "amount of money"),
        (float("inf"), "amount of money"),
        (Decimal("NaN"), "amount of money"),
        (Decimal("-Infinity"), "amount of money"),
        (-1, "0 or more"),
        ("-5", "0 or more"),
        (Decimal("1E+20"), "at most"),
        (10**13, "at most"),
        (True, "amount of money"),
        (None, "amount of money"),
        ([], "amount of money"),
        ("abc", "amount of money"),
        ("1e3", "amount of money"),
        ("1,000", "amount of money"),
        ("", "amount of money"),
        ("9" * 10_000, "amount of money"),
        ("1\x00", "amount of money"),
    ],
)
def test_check_money_refuses(value, message):
    """Rounding floats, non-finite, negative, huge, booleans and text that is not a number."""
    with pytest.raises(TraceValidationError, match=message):
        check_money("total", value)


def test_check_money_zero_only_when_allowed():
    """A refund or a capture must be more than zero."""
    with pytest.raises(TraceValidationError, match="more than 0"):
        check_money("amount", 0, allow_zero=False)


def test_check_money_error_suggests_the_rounded_value():
    """The precision error says what to pass instead."""
    with pytest.raises(TraceValidationError, match=r"Decimal\('0\.30'\)"):
        check_money("total", 0.1 + 0.2)


@pytest.mark.parametrize("value", [0, 1, 10**9])
def test_check_quantity_accepts_whole_numbers(value):
    assert check_quantity("qty", value) == value


@pytest.mark.parametrize("value", [-1, 1.0, 1.5, True, "3", None, 10**9 + 1, Decimal(2)])
def test_check_quantity_refuses(value):
    """Only ints within the bounds; not bools, floats, text or Decimals."""
    with pytest.raises(TraceValidationError, match="qty"):
        check_quantity("qty", value)


def test_check_items_normalises_lines():
    """quantity is read as qty, price becomes exact text, other keys stay."""
    lines = check_items(
        "items", ({"sku": "A", "quantity": 2, "price": 1.5, "name": "Mug"},), priced=True
    )
    assert lines == [{"sku": "A", "price": "1.50", "name": "Mug", "qty": 2}]


def test_check_items_unpriced_keeps_an_optional_price():
    """Shipment and return lines need no price, but a given one is checked."""
    assert check_items("items", [{"sku": "A", "qty": 1}], priced=False) == [{"sku": "A", "qty": 1}]
    with pytest.raises(TraceValidationError, match="decimal places"):
        check_items("items", [{"sku": "A", "qty": 1, "price": "1.001"}], priced=False)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([], "at least one item"),
        ("W-1", "instead of a list"),
        ({"sku": "W-1"}, "instead of a list"),
        (None, "instead of a list"),
        ([1], r"items\[0\].*got int"),
        ([{"sku": "", "qty": 1, "price": 1}], "sku must not be empty"),
        ([{"sku": "A", "qty": 0, "price": 1}], "qty must be from 1"),
        ([{"sku": "A", "price": 1}], "whole number"),
        ([{"sku": "A", "qty": 1, "quantity": 1, "price": 1}], "not both"),
        ([{"sku": "A", "qty": 1}], "price"),
        ([{"sku": "A", "qty": 1, "price": 0.1 + 0.2}], "decimal places"),
        ([{"sku": "A", "qty": 1, "price": 1, "note": object()}], "not JSON"),
        ([{"sku": "A", "qty": 1, "price": 1}] * (MAX_ITEMS + 1), f"at most {MAX_ITEMS}"),
    ],
)
def test_check_items_refuses(items, message):
    """Each bad line is named by its index."""
    with pytest.raises(TraceValidationError, match=message):
        check_items("items", items, priced=True)


@pytest.mark.parametrize("value", ["jane@example.com", "j.o+tag@sub.example.co.uk"])
def test_check_email_accepts(value):
    assert check_email(value) == value


@pytest.mark.parametrize(
    "value", ["not-an-email", "a@b", "@example.com", "", None, 5, "a" * 250 + "@example.com"]
)
def test_check_email_refuses(value):
    with pytest.raises(TraceValidationError, match="email"):
        check_email(value)


@pytest.mark.parametrize("value", ["USD", "EUR", "JPY"])
def test_check_currency_accepts(value):
    assert check_currency(value) == value


@pytest.mark.parametrize("value", ["usd", "US", "EURO", "", None, 840, "U$D"])
def test_check_currency_refuses(value):
    with pytest.raises(TraceValidationError, match="ISO 4217"):
        check_currency(value)


def test_check_when_dates_and_datetimes():
    """A date stays a date; a naive datetime is UTC; an aware one is converted to UTC."""
    assert check_when("when", date(2024, 1, 2)) == date(2024, 1, 2)
    naive = datetime(2024, 1, 2, 3)  # noqa: DTZ001 - the naive case under test
    assert check_when("when", naive) == datetime(2024, 1, 2, 3, tzinfo=UTC)
    plus_two = timezone(timedelta(hours=2))
    assert check_when("when", datetime(2024, 1, 2, 3, tzinfo=plus_two)).hour == 1


@pytest.mark.parametrize("value", ["2024-01-02", 1704153600, None])
def test_check_when_refuses(value):
    with pytest.raises(TraceValidationError, match="date or a datetime"):
        check_when("when", value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, Decimal(3)), (0.1, Decimal("0.1")), (Decimal("-2.5"), Decimal("-2.5"))],
)
def test_check_number_keeps_the_value_exactly(value, expected):
    assert check_number("observed", value) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, "1", None, Decimal("1E+30")])
def test_check_number_refuses(value):
    with pytest.raises(TraceValidationError, match="finite number"):
        check_number("observed", value)
