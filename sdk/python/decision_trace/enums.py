"""The closed vocabularies of a trace: who acted, what was touched, how it ended, how risky."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ActorType", "EventOutcome", "ObjectType", "RiskLevel"]


class ActorType(StrEnum):
    USER = "user"
    AI_AGENT = "ai_agent"
    COMPUTE = "compute"
    SYSTEM = "system"
    EXTERNAL = "external"


class ObjectType(StrEnum):
    ORDER = "order"
    PRODUCT = "product"
    CUSTOMER = "customer"
    INVENTORY = "inventory"
    CART = "cart"
    PAYMENT = "payment"
    SHIPMENT = "shipment"
    RETURN = "return"
    REFUND = "refund"
    CAMPAIGN = "campaign"
    PROMOTION = "promotion"
    COUPON = "coupon"
    EMAIL = "email"
    NOTIFICATION = "notification"
    SUPPLIER = "supplier"
    WAREHOUSE = "warehouse"
    CATEGORY = "category"
    PRICE = "price"
    REPORT = "report"
    FORECAST = "forecast"
    CUSTOM = "custom"


class EventOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    PARTIAL = "partial"
    PENDING = "pending"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class RiskLevel(StrEnum):
    """Ordered from least to most risky; ``RiskLevel.rank`` compares them."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(RiskLevel).index(self)


def choices(enum: type[StrEnum]) -> list[tuple[str, str]]:
    """Django ``choices`` for a string enum, labelled in words ("ai_agent" -> "AI agent")."""
    return [(member.value, _label(member.value)) for member in enum]


def _label(value: str) -> str:
    words = value.replace("_", " ")
    return "AI agent" if value == "ai_agent" else words.capitalize()
