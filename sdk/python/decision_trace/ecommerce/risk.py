"""How risky a store event is, derived from its inputs.

``EcommerceClient`` pre-fills the risk with these rules; a caller's
``.with_risk(...)`` replaces it. Each rule is a pure function so the levels
can be read, tested and quoted in the README.
"""

from __future__ import annotations

from decimal import Decimal

from decision_trace.enums import RiskLevel

__all__ = [
    "FRAUD_ERROR_CODES",
    "anomaly_risk",
    "confidence_risk",
    "low_stock_risk",
    "payment_failure_risk",
    "price_change_percent",
    "price_change_risk",
    "stock_adjustment_risk",
]

# Card-network decline codes that point at fraud rather than at an honest mistake.
FRAUD_ERROR_CODES = frozenset(
    {
        "fraudulent",
        "stolen_card",
        "lost_card",
        "pickup_card",
        "restricted_card",
        "security_violation",
        "merchant_blacklist",
    }
)


def low_stock_risk(current_quantity: int, threshold: int) -> RiskLevel:
    """Out of stock is high; at most half the threshold is medium; otherwise low."""
    if current_quantity == 0:
        return RiskLevel.HIGH
    if current_quantity * 2 <= threshold:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


def stock_adjustment_risk(quantity_before: int, quantity_after: int) -> RiskLevel:
    """Down to zero is high; losing half the stock or more at once is medium; otherwise low."""
    if quantity_after == 0 and quantity_before > 0:
        return RiskLevel.HIGH
    if quantity_after * 2 <= quantity_before:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


def payment_failure_risk(error_code: str) -> RiskLevel:
    """A decline that suggests fraud (``FRAUD_ERROR_CODES``) is high; any other is low."""
    return RiskLevel.HIGH if error_code.lower() in FRAUD_ERROR_CODES else RiskLevel.LOW


def confidence_risk(confidence: float) -> RiskLevel:
    """Acting on a model's advice is riskier the less sure it is.

    0.9 and above is low, from 0.7 medium, from 0.5 high, below 0.5 critical.
    """
    if confidence >= 0.9:
        return RiskLevel.LOW
    if confidence >= 0.7:
        return RiskLevel.MEDIUM
    if confidence >= 0.5:
        return RiskLevel.HIGH
    return RiskLevel.CRITICAL


def price_change_percent(old_price: Decimal, new_price: Decimal) -> Decimal | None:
    """The change in percent, one decimal place (``-12.5``); ``None`` from a price of 0."""
    if old_price == 0:
        return None
    return ((new_price - old_price) * 100 / old_price).quantize(Decimal("0.1"))


def price_change_risk(old_price: Decimal, new_price: Decimal) -> RiskLevel:
    """By the size of the change: under 5 % low, under 15 % medium, under 30 % high, else critical.

    A change from or to a price of 0 is critical.
    """
    if old_price == 0 or new_price == 0:
        return RiskLevel.CRITICAL
    size = abs(new_price - old_price) * 100 / old_price
    if size < 5:
        return RiskLevel.LOW
    if size < 15:
        return RiskLevel.MEDIUM
    if size < 30:
        return RiskLevel.HIGH
    return RiskLevel.CRITICAL


def anomaly_risk(observed: Decimal, expected: Decimal) -> RiskLevel:
    """By the relative deviation from the expected value.

    Under 25 % low, under 50 % medium, under 100 % high, else critical (also
    anything but 0 where 0 was expected).
    """
    if expected == 0:
        return RiskLevel.CRITICAL
    deviation = abs(observed - expected) / abs(expected)
    if deviation < Decimal("0.25"):
        return RiskLevel.LOW
    if deviation < Decimal("0.5"):
        return RiskLevel.MEDIUM
    if deviation < 1:
        return RiskLevel.HIGH
    return RiskLevel.CRITICAL
