"""App settings, read through accessor functions (``ECOMMERCE_*``).

``ECOMMERCE_APPROVAL_RISK_LEVEL``: AI recommendations and dynamic price
changes whose risk is at or above this level need a person's approval (they
are recorded with ``requires_approval`` and wait as pending Decisions). One of
``"low"``, ``"medium"`` (the default), ``"high"``, ``"critical"``, or ``None``
to switch the rule off. ``ecommerce.checks`` reports a bad value as
``ecommerce.E001``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from decision_trace.enums import RiskLevel
from ecommerce.exceptions import BAD_APPROVAL_LEVEL

__all__ = ["DEFAULT_APPROVAL_RISK_LEVEL", "approval_risk_level", "parse_approval_risk_level"]

DEFAULT_APPROVAL_RISK_LEVEL = RiskLevel.MEDIUM


def parse_approval_risk_level(value: object) -> RiskLevel | None:
    """The ``RiskLevel`` a setting value names, ``None`` for ``None``; ``ValueError`` otherwise."""
    if value is None:
        return None
    if isinstance(value, RiskLevel):
        return value
    if isinstance(value, str):
        try:
            return RiskLevel(value)
        except ValueError:
            pass
    raise ValueError(BAD_APPROVAL_LEVEL.format(got=value))


def approval_risk_level() -> RiskLevel | None:
    """``ECOMMERCE_APPROVAL_RISK_LEVEL`` as a ``RiskLevel`` (default medium), or ``None``."""
    value = getattr(settings, "ECOMMERCE_APPROVAL_RISK_LEVEL", DEFAULT_APPROVAL_RISK_LEVEL)
    try:
        return parse_approval_risk_level(value)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None
