"""Errors ``ecommerce`` raises, and their messages.

Bad input to ``EcommerceClient`` is a ``traces.TraceValidationError`` (a
``ValueError``), the same error the fluent builder raises, so callers catch
one class. The demo store raises the ``EcommerceError`` subclasses below. The
messages are the constants (format strings), reused by the tests; each says
what to pass instead.
"""

from __future__ import annotations

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
    NOT_AN_ANOMALY,
    PRICE_BOUNDS,
    PRICE_UNCHANGED,
    QUANTITY_RANGE,
    REFUND_ABOVE_TOTAL,
    RESERVED_ORDER_DATA,
    STOCK_ABOVE_THRESHOLD,
    STOCK_UNCHANGED,
    TIER_UNCHANGED,
    TOO_MANY_ITEMS,
    WRONG_OBJECT,
)

__all__ = [
    "BAD_APPROVAL_LEVEL",
    "BAD_CURRENCY",
    "BAD_EMAIL",
    "BAD_ITEM",
    "BAD_MONEY",
    "BAD_NUMBER",
    "BAD_QUANTITY",
    "BAD_WHEN",
    "DEMO_EXISTS",
    "DEMO_OPTION",
    "DEMO_TOO_LARGE",
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
    "DemoStoreExistsError",
    "DemoStoreOptionError",
    "EcommerceError",
]

BAD_APPROVAL_LEVEL = (
    "ECOMMERCE_APPROVAL_RISK_LEVEL must be one of 'low', 'medium', 'high', 'critical' "
    "(or None to switch automatic approval off); got {got!r}."
)
DEMO_OPTION = "{name} must be {expected}; got {got!r}."
DEMO_TOO_LARGE = (
    "days x scale asks for about {events:,} events; at most {maximum:,} are made at once. "
    "Lower --days or --scale."
)
DEMO_EXISTS = (
    "The demo store is already loaded ({events:,} events from seed_demo). Run seed_demo "
    "--reset to replace it, or --if-empty to leave it as it is."
)


class EcommerceError(Exception):
    """Base exception for the ecommerce app."""


class DemoStoreOptionError(EcommerceError, ValueError):
    """A demo store option (days, scale, seed, now) is out of range; nothing was written."""


class DemoStoreExistsError(EcommerceError):
    """The demo store is already in the database; seeding again would duplicate it."""
