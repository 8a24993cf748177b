"""The risk rules, at their boundaries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from decision_trace.ecommerce.risk import (
    anomaly_risk,
    confidence_risk,
    low_stock_risk,
    payment_failure_risk,
    price_change_percent,
    price_change_risk,
    stock_adjustment_risk,
)
from traces import RiskLevel

D = Decimal


@pytest.mark.parametrize(
    ("current", "threshold", "risk"),
    [(0, 0, "high"), (0, 10, "high"), (1, 10, "medium"), (5, 10, "medium"), (6, 10, "low")],
)
def test_low_stock_risk(current, threshold, risk):
    assert low_stock_risk(current, threshold) == risk


@pytest.mark.parametrize(
    ("before", "after", "risk"),
    [(1, 0, "high"), (0, 0, "medium"), (10, 5, "medium"), (10, 6, "low"), (0, 5, "low")],
)
def test_stock_adjustment_risk(before, after, risk):
    assert stock_adjustment_risk(before, after) == risk


@pytest.mark.parametrize(
    ("code", "risk"),
    [("stolen_card", "high"), ("Security_Violation", "high"), ("card_declined", "low")],
)
def test_payment_failure_risk(code, risk):
    assert payment_failure_risk(code) == risk


@pytest.mark.parametrize(
    ("confidence", "risk"),
    [
        (1.0, "low"),
        (0.9, "low"),
        (0.89, "medium"),
        (0.7, "medium"),
        (0.5, "high"),
        (0.49, "critical"),
    ],
)
def test_confidence_risk(confidence, risk):
    assert confidence_risk(confidence) == risk


@pytest.mark.parametrize(
    ("old", "new", "percent"),
    [(D("20"), D("21"), D("5.0")), (D("3"), D("2"), D("-33.3")), (D("0"), D("5"), None)],
)
def test_price_change_percent(old, new, percent):
    assert price_change_percent(old, new) == percent


@pytest.mark.parametrize(
    ("old", "new", "risk"),
    [
        (D("100"), D("104.99"), "low"),
        (D("100"), D("95"), "medium"),
        (D("100"), D("114.9"), "medium"),
        (D("100"), D("115"), "high"),
        (D("100"), D("70.01"), "high"),
        (D("100"), D("70"), "critical"),
        (D("0"), D("5"), "critical"),
        (D("5"), D("0"), "critical"),
    ],
)
def test_price_change_risk(old, new, risk):
    assert price_change_risk(old, new) == risk


@pytest.mark.parametrize(
    ("observed", "expected", "risk"),
    [
        (D("124"), D("100"), "low"),
        (D("125"), D("100"), "medium"),
        (D("50.1"), D("100"), "medium"),
        (D("50"), D("100"), "high"),
        (D("199"), D("100"), "high"),
        (D("200"), D("100"), "critical"),
        (D("-100"), D("100"), "critical"),
        (D("1"), D("0"), "critical"),
    ],
)
def test_anomaly_risk(observed, expected, risk):
    assert anomaly_risk(observed, expected) == risk


def test_rules_return_risk_levels():
    """Each rule returns a RiskLevel member, which compares by rank."""
    assert isinstance(low_stock_risk(0, 1), RiskLevel)
    assert low_stock_risk(0, 1).rank > low_stock_risk(1, 10).rank
