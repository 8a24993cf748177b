"""Messages of the errors ``EcommerceClient`` raises for bad input.

Bad input is a ``TraceValidationError`` (a ``ValueError``), the same error the
fluent builder raises, so callers catch one class. The messages are constants
(format strings), reused by the tests; each says what to pass instead.
"""

from __future__ import annotations

__all__ = [
    "BAD_CURRENCY",
    "BAD_EMAIL",
    "BAD_ITEM",
    "BAD_MONEY",
    "BAD_NUMBER",
    "BAD_QUANTITY",
    "BAD_WHEN",
    "MONEY_PRECISION",
    "MONEY_RANGE",
    "NOT_AN_ANOMALY",
    "NO_ITEMS",
    "PRICE_BOUNDS",
    "PRICE_UNCHANGED",
    "QUANTITY_RANGE",
    "REFUND_ABOVE_TOTAL",
    "RESERVED_ORDER_DATA",
    "STOCK_ABOVE_THRESHOLD",
    "STOCK_UNCHANGED",
    "TIER_UNCHANGED",
    "TOO_MANY_ITEMS",
    "WRONG_OBJECT",
]

BAD_MONEY = (
    "{field} must be an amount of money: a Decimal, an int or text such as '149.99' "
    "(a float only when it is an exact amount of cents); got {got!r}."
)
MONEY_PRECISION = (
    "{field} has more than 2 decimal places ({got}); pass Decimal('{rounded}') or "
    "'{rounded}' if that is what you mean."
)
MONEY_RANGE = "{field} must be {lower} and at most {maximum}; got {got}."
BAD_QUANTITY = "{field} must be a whole number (an int); got {got!r}."
QUANTITY_RANGE = "{field} must be from {minimum} to {maximum}; got {got}."
BAD_NUMBER = "{field} must be a finite number (int, float or Decimal); got {got!r}."
BAD_CURRENCY = "currency must be a three-letter ISO 4217 code such as 'USD'; got {got!r}."
BAD_EMAIL = "email must be an e-mail address such as 'jane@example.com'; got {got!r}."
BAD_WHEN = "{field} must be a date or a datetime (a naive datetime is taken as UTC); got {got!r}."
NO_ITEMS = "{field} must list at least one item."
TOO_MANY_ITEMS = "{field} may list at most {maximum} items; got {got}. Split the order."
BAD_ITEM = (
    "{field}[{index}] must be a dict with 'sku' (text) and 'qty' (a whole number >= 1){price}; "
    "{problem}."
)
RESERVED_ORDER_DATA = "order_data must not set {names}: they are computed from the arguments."
REFUND_ABOVE_TOTAL = "refund_amount ({refund}) must not exceed order_total ({total})."
STOCK_ABOVE_THRESHOLD = (
    "current_quantity ({current}) is above threshold ({threshold}): that is not low stock."
)
STOCK_UNCHANGED = (
    "quantity_before and quantity_after are both {quantity}: nothing was adjusted "
    "(record a count with EcommerceEventType.INVENTORY_COUNTED instead)."
)
TIER_UNCHANGED = "old_tier and new_tier are both {tier!r}: the tier did not change."
PRICE_UNCHANGED = "old_price and new_price are both {price}: the price did not change."
PRICE_BOUNDS = "min_price ({minimum}) must not be above max_price ({maximum})."
NOT_AN_ANOMALY = "observed equals expected ({value}): that is not an anomaly."
WRONG_OBJECT = (
    "affected_objects[{index}] must be a TrackedObject or a dict with 'type' and 'id' "
    "(as TrackedObject.to_dict() gives); got {got}."
)
