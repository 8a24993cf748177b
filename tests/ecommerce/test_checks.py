"""ECOMMERCE_APPROVAL_RISK_LEVEL: the accessor and system check ecommerce.E001."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from ecommerce.checks import check_settings
from ecommerce.conf import approval_risk_level
from traces import RiskLevel


def test_default_level_is_medium(settings):
    """Unset, the level is medium and the check is clean."""
    del settings.ECOMMERCE_APPROVAL_RISK_LEVEL
    assert approval_risk_level() is RiskLevel.MEDIUM
    assert check_settings() == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("low", RiskLevel.LOW),
        ("critical", RiskLevel.CRITICAL),
        (RiskLevel.HIGH, RiskLevel.HIGH),
        (None, None),
    ],
)
def test_good_levels(settings, value, expected):
    """A level name, a RiskLevel, or None to switch the rule off."""
    settings.ECOMMERCE_APPROVAL_RISK_LEVEL = value
    assert approval_risk_level() == expected
    assert check_settings() == []


@pytest.mark.parametrize("value", ["urgent", "HIGH", "", 3, True, ["high"], "high "])
def test_bad_levels(settings, value):
    """Anything else is error ecommerce.E001 and ImproperlyConfigured when read."""
    settings.ECOMMERCE_APPROVAL_RISK_LEVEL = value
    errors = check_settings()
    assert [e.id for e in errors] == ["ecommerce.E001"]
    assert "ECOMMERCE_APPROVAL_RISK_LEVEL" in errors[0].msg
    with pytest.raises(ImproperlyConfigured, match="ECOMMERCE_APPROVAL_RISK_LEVEL"):
        approval_risk_level()


def test_check_is_registered(settings):
    """manage.py check reports the bad setting."""
    settings.ECOMMERCE_APPROVAL_RISK_LEVEL = "urgent"
    with pytest.raises(SystemCheckError, match=r"ecommerce\.E001"):
        call_command("check")
