"""The store's event vocabulary: dotted ``family.action`` strings.

Members are ``str`` (a ``StrEnum``), so ``EcommerceEventType.ORDER_CREATED`` can
be passed wherever an event type is expected, and ``"order.*"`` filters match a
whole family.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EcommerceEventType"]


class EcommerceEventType(StrEnum):
    # Orders
    ORDER_CREATED = "order.created"
    ORDER_UPDATED = "order.updated"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_COMPLETED = "order.completed"
    ORDER_REFUNDED = "order.refunded"
    ORDER_PARTIALLY_REFUNDED = "order.partially_refunded"
    ORDER_ON_HOLD = "order.on_hold"
    ORDER_RELEASED = "order.released"
    ORDER_FRAUD_FLAGGED = "order.fraud_flagged"
    ORDER_FRAUD_CLEARED = "order.fraud_cleared"
    # Payments
    PAYMENT_INITIATED = "payment.initiated"
    PAYMENT_AUTHORIZED = "payment.authorized"
    PAYMENT_CAPTURED = "payment.captured"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYMENT_DISPUTED = "payment.disputed"
    PAYMENT_CHARGEBACK = "payment.chargeback"
    # Inventory
    INVENTORY_ADJUSTED = "inventory.adjusted"
    INVENTORY_RECEIVED = "inventory.received"
    INVENTORY_RESERVED = "inventory.reserved"
    INVENTORY_RELEASED = "inventory.released"
    INVENTORY_TRANSFERRED = "inventory.transferred"
    INVENTORY_COUNTED = "inventory.counted"
    INVENTORY_WRITTEN_OFF = "inventory.written_off"
    INVENTORY_LOW_STOCK = "inventory.low_stock_alert"
    INVENTORY_RESTOCK_ORDERED = "inventory.restock_ordered"
    # Products
    PRODUCT_CREATED = "product.created"
    PRODUCT_UPDATED = "product.updated"
    PRODUCT_PRICE_CHANGED = "product.price_changed"
    PRODUCT_DISCONTINUED = "product.discontinued"
    PRODUCT_RESTOCKED = "product.restocked"
    PRODUCT_OUT_OF_STOCK = "product.out_of_stock"
    # Customers
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    CUSTOMER_VERIFIED = "customer.verified"
    CUSTOMER_BLOCKED = "customer.blocked"
    CUSTOMER_UNBLOCKED = "customer.unblocked"
    CUSTOMER_MERGED = "customer.merged"
    CUSTOMER_TIER_CHANGED = "customer.tier_changed"
    # Shipments
    SHIPMENT_CREATED = "shipment.created"
    SHIPMENT_PICKED = "shipment.picked"
    SHIPMENT_PACKED = "shipment.packed"
    SHIPMENT_SHIPPED = "shipment.shipped"
    SHIPMENT_IN_TRANSIT = "shipment.in_transit"
    SHIPMENT_OUT_FOR_DELIVERY = "shipment.out_for_delivery"
    SHIPMENT_DELIVERED = "shipment.delivered"
    SHIPMENT_FAILED = "shipment.failed"
    SHIPMENT_RETURNED = "shipment.returned"
    # Returns
    RETURN_REQUESTED = "return.requested"
    RETURN_APPROVED = "return.approved"
    RETURN_REJECTED = "return.rejected"
    RETURN_RECEIVED = "return.received"
    RETURN_INSPECTED = "return.inspected"
    RETURN_PROCESSED = "return.processed"
    RETURN_REFUNDED = "return.refunded"
    # Marketing
    CAMPAIGN_LAUNCHED = "campaign.launched"
    CAMPAIGN_PAUSED = "campaign.paused"
    CAMPAIGN_ENDED = "campaign.ended"
    PROMOTION_APPLIED = "promotion.applied"
    COUPON_CREATED = "coupon.created"
    COUPON_USED = "coupon.used"
    COUPON_EXPIRED = "coupon.expired"
    EMAIL_SENT = "email.sent"
    EMAIL_OPENED = "email.opened"
    EMAIL_CLICKED = "email.clicked"
    # Cart
    CART_CREATED = "cart.created"
    CART_ITEM_ADDED = "cart.item_added"
    CART_ITEM_REMOVED = "cart.item_removed"
    CART_ABANDONED = "cart.abandoned"
    CART_RECOVERED = "cart.recovered"
    # Support tickets
    TICKET_CREATED = "ticket.created"
    TICKET_UPDATED = "ticket.updated"
    TICKET_RESOLVED = "ticket.resolved"
    TICKET_ESCALATED = "ticket.escalated"
    # Pricing
    PRICE_UPDATED = "pricing.price_updated"
    PRICING_RULE_APPLIED = "pricing.rule_applied"
    DISCOUNT_APPLIED = "pricing.discount_applied"
    PRICE_DYNAMIC_ADJUSTED = "pricing.dynamic_adjusted"
    # AI and automation
    AI_RECOMMENDATION = "ai.recommendation_generated"
    AI_FORECAST = "ai.forecast_generated"
    AI_ANOMALY_DETECTED = "ai.anomaly_detected"
    AI_CLASSIFICATION = "ai.classification_made"
    AUTOMATION_TRIGGERED = "automation.triggered"

    @property
    def family(self) -> str:
        """The part before the dot: ``order`` for ``order.created``."""
        return self.value.partition(".")[0]

    @classmethod
    def families(cls) -> list[str]:
        """Every family, in declaration order, for ``family.*`` filters."""
        return list(dict.fromkeys(member.family for member in cls))
