"""``EcommerceClient`` storing in-process, with the approval level from the settings.

The methods are the SDK's (``decision_trace.ecommerce.EcommerceClient``); here
the client gets the in-process transport and reads
``ECOMMERCE_APPROVAL_RISK_LEVEL`` each time an event is built, so a settings
change applies to clients already made.
"""

from __future__ import annotations

from decision_trace.ecommerce.client import (
    APPROVAL_EVENT_TYPES,
    TIERS,
    EcommerceTraceBuilder,
)
from decision_trace.ecommerce.client import EcommerceClient as _SdkEcommerceClient
from decision_trace.enums import RiskLevel
from decision_trace.values import Actor
from ecommerce.conf import approval_risk_level
from traces.client import DecisionTraceClient

__all__ = ["APPROVAL_EVENT_TYPES", "TIERS", "EcommerceClient", "EcommerceTraceBuilder"]


class EcommerceClient(_SdkEcommerceClient, DecisionTraceClient):
    """The store's client on the project's database.

    Args:
        using: a database alias; the default database when omitted.
        default_actor: the actor of events that name none.
        currency: the ISO 4217 code stored with every amount (default ``"USD"``).
    """

    def __init__(
        self,
        using: str | None = None,
        default_actor: Actor | None = None,
        currency: str = "USD",
    ) -> None:
        super().__init__(using=using, default_actor=default_actor, currency=currency)

    @property
    def approval_risk_level(self) -> RiskLevel | None:
        """``ECOMMERCE_APPROVAL_RISK_LEVEL``, read now."""
        return approval_risk_level()
