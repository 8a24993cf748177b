"""Checks for the store's inputs: ids, money, quantities, order lines, e-mail, dates.

Each returns the normalised value or raises ``TraceValidationError`` (a
``ValueError``) saying what to pass, like ``decision_trace.validation`` does for the
trace fields; nothing here touches the database.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from decision_trace.ecommerce.exceptions import (
    BAD_CURRENCY,
    BAD_EMAIL,
    BAD_ITEM,
    BAD_MONEY,
    BAD_NUMBER,
    BAD_QUANTITY,
    BAD_WHEN,
    MONEY_PRECISION,
    MONEY_RANGE,
    NO_ITEMS,
    QUANTITY_RANGE,
    TOO_MANY_ITEMS,
)
from decision_trace.exceptions import TraceValidationError
from decision_trace.validation import (
    EMAIL_LENGTH,
    ID_LENGTH,
    NAME_LENGTH,
    aware,
    check_identifier,
    check_mapping,
    check_text,
)

__all__ = [
    "CENT",
    "MAX_ITEMS",
    "MAX_MONEY",
    "MAX_QUANTITY",
    "check_currency",
    "check_email",
    "check_id",
    "check_items",
    "check_label",
    "check_money",
    "check_number",
    "check_quantity",
    "check_when",
    "money_text",
]

CENT = Decimal("0.01")
# Twelve digits before the point: far above any real order, far below overflow.
MAX_MONEY = Decimal("999999999999.99")
MAX_QUANTITY = 1_000_000_000
MAX_ITEMS = 500
_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_CURRENCY = re.compile(r"[A-Z]{3}")
_LOCAL_PART_LENGTH = 64
_DOT_ATOM = re.compile(r"[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+)*")
_QUOTED_LOCAL = re.compile(r'"([\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"')
# Labels of letters, digits and inner hyphens; a top-level label of letters (or punycode).
_DOMAIN = re.compile(r"((?!-)[A-Za-z0-9-]{1,63}(?<!-)\.)+([A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})")


def check_id(field: str, value: object) -> str:
    """A business id (``ord-123``, a SKU): non-blank text of at most 255 characters, one line."""
    return check_identifier(field, value, max_length=ID_LENGTH)


def check_label(field: str, value: object) -> str:
    """A short required name (a carrier, a model, a reason code)."""
    return check_text(field, value, max_length=NAME_LENGTH, required=True)


def check_money(field: str, value: object, *, allow_zero: bool = True) -> Decimal:
    """An amount of money as a ``Decimal`` with exactly two decimal places.

    Takes a ``Decimal``, an ``int``, text such as ``"149.99"``, or a ``float``
    that is an exact amount of cents as written (``149.99`` is, ``0.1 + 0.2``
    is not). Refuses ``bool``, NaN, infinities, negative amounts (and zero
    unless ``allow_zero``), more than two decimal places and amounts above
    ``MAX_MONEY``.
    """
    amount: Decimal
    if isinstance(value, bool):
        raise TraceValidationError(BAD_MONEY.format(field=field, got=value))
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise TraceValidationError(BAD_MONEY.format(field=field, got=value))
        # repr() is the shortest text that reads back as this float: 149.99, not
        # 149.990000000000009094947017729282379150390625.
        amount = Decimal(repr(value))
    elif isinstance(value, str) and len(value) <= 40 and _NUMBER_TEXT.fullmatch(value.strip()):
        amount = Decimal(value.strip())
    else:
        shown = value[:40] if isinstance(value, str) else value
        raise TraceValidationError(BAD_MONEY.format(field=field, got=shown))
    if not amount.is_finite():
        raise TraceValidationError(BAD_MONEY.format(field=field, got=value))
    lower = "0 or more" if allow_zero else "more than 0"
    if amount < 0 or (amount == 0 and not allow_zero) or amount > MAX_MONEY:
        raise TraceValidationError(
            MONEY_RANGE.format(field=field, lower=lower, maximum=MAX_MONEY, got=amount)
        )
    cents = amount.quantize(CENT)
    if cents != amount:
        raise TraceValidationError(MONEY_PRECISION.format(field=field, got=value, rounded=cents))
    return cents


def money_text(amount: Decimal) -> str:
    """How amounts are stored in event data and object states: exact text, ``"149.99"``."""
    return f"{amount:.2f}"


def check_quantity(
    field: str, value: object, *, minimum: int = 0, maximum: int = MAX_QUANTITY
) -> int:
    """A whole number of units (not a ``bool``, not a ``float``) within the bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TraceValidationError(BAD_QUANTITY.format(field=field, got=value))
    if not minimum <= value <= maximum:
        raise TraceValidationError(
            QUANTITY_RANGE.format(field=field, minimum=minimum, maximum=maximum, got=value)
        )
    return value


def check_number(field: str, value: object) -> Decimal:
    """A finite measurement (int, float or ``Decimal``), exactly as given, as a ``Decimal``."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TraceValidationError(BAD_NUMBER.format(field=field, got=value))
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or abs(number) > MAX_MONEY:
        raise TraceValidationError(BAD_NUMBER.format(field=field, got=value))
    return number


def check_currency(value: object) -> str:
    """A three-letter upper-case ISO 4217 code."""
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        shown = value[:40] if isinstance(value, str) else value
        raise TraceValidationError(BAD_CURRENCY.format(got=shown))
    return value


def check_email(value: object) -> str:
    """An e-mail address: a dot-atom or quoted local part, ``@``, a domain of two or more labels.

    The domain may be internationalised (it is checked in its IDNA form) or an
    address literal such as ``[203.0.113.7]``.
    """
    text = check_text("email", value, max_length=EMAIL_LENGTH, required=True)
    local, at, domain = text.rpartition("@")
    if not at or not _email_local_ok(local) or not _email_domain_ok(domain):
        raise TraceValidationError(BAD_EMAIL.format(got=text[:80]))
    return text


def _email_local_ok(local: str) -> bool:
    return len(local) <= _LOCAL_PART_LENGTH and bool(
        _DOT_ATOM.fullmatch(local) or _QUOTED_LOCAL.fullmatch(local)
    )


def _email_domain_ok(domain: str) -> bool:
    if domain.startswith("[") and domain.endswith("]"):
        literal = domain[1:-1].removeprefix("IPv6:")
        try:
            ipaddress.ip_address(literal)
        except ValueError:
            return False
        return True
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return bool(_DOMAIN.fullmatch(ascii_domain))


def check_when(field: str, value: object) -> date | datetime:
    """A ``date``, or a ``datetime`` made aware (naive is UTC)."""
    if isinstance(value, datetime):
        return aware(field, value)
    if isinstance(value, date):
        return value
    raise TraceValidationError(BAD_WHEN.format(field=field, got=value))


def check_items(field: str, items: object, *, priced: bool) -> list[dict[str, Any]]:
    """Order lines: a non-empty list of dicts with ``sku`` and ``qty`` (and ``price`` if priced).

    ``quantity`` is accepted for ``qty``. Other keys (a name, a size) are kept.
    Returns plain dicts with ``qty`` an int and ``price`` as exact text.
    """
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
        raise TraceValidationError(
            BAD_ITEM.format(
                field=field,
                index=0,
                price=_price_hint(priced),
                problem=f"got {type(items).__name__} instead of a list",
            )
        )
    lines = list(items)
    if not lines:
        raise TraceValidationError(NO_ITEMS.format(field=field))
    if len(lines) > MAX_ITEMS:
        raise TraceValidationError(
            TOO_MANY_ITEMS.format(field=field, maximum=MAX_ITEMS, got=len(lines))
        )
    return [_check_item(field, index, line, priced=priced) for index, line in enumerate(lines)]


def _price_hint(priced: bool) -> str:
    return " and 'price' (an amount)" if priced else ""


def _check_item(field: str, index: int, line: object, *, priced: bool) -> dict[str, Any]:
    def fail(problem: str) -> TraceValidationError:
        return TraceValidationError(
            BAD_ITEM.format(field=field, index=index, price=_price_hint(priced), problem=problem)
        )

    if not isinstance(line, Mapping):
        raise fail(f"got {type(line).__name__}")
    item = dict(check_mapping(f"{field}[{index}]", line))
    if "qty" in line and "quantity" in line:
        raise fail("give 'qty' or 'quantity', not both")
    raw_qty = line["qty"] if "qty" in line else line.get("quantity")
    item.pop("quantity", None)
    try:
        item["sku"] = check_id(f"{field}[{index}].sku", line.get("sku"))
        item["qty"] = check_quantity(f"{field}[{index}].qty", raw_qty, minimum=1)
        if priced:
            item["price"] = money_text(check_money(f"{field}[{index}].price", line.get("price")))
        elif line.get("price") is not None:
            item["price"] = money_text(check_money(f"{field}[{index}].price", line["price"]))
    except TraceValidationError as exc:
        raise fail(str(exc).rstrip(".")) from None
    return item
