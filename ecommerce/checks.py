"""System checks for the ``ECOMMERCE_*`` settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

from ecommerce.conf import DEFAULT_APPROVAL_RISK_LEVEL, parse_approval_risk_level

__all__ = ["check_settings"]


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``ecommerce.E001``: ``ECOMMERCE_APPROVAL_RISK_LEVEL`` names no risk level."""
    value = getattr(settings, "ECOMMERCE_APPROVAL_RISK_LEVEL", DEFAULT_APPROVAL_RISK_LEVEL)
    try:
        parse_approval_risk_level(value)
    except ValueError as exc:
        return [
            Error(
                str(exc),
                hint='For example: ECOMMERCE_APPROVAL_RISK_LEVEL = "high".',
                id="ecommerce.E001",
            )
        ]
    return []
