"""The simulated things: products, customers, orders and campaigns, with their state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from decision_trace.values import Actor
from ecommerce.demo.engine import Ref

__all__ = ["Campaign", "Customer", "Order", "Product"]


@dataclass
class Product:
    sku: str
    name: str
    category: str
    supplier: str
    price: Decimal
    list_price: Decimal
    cost: Decimal
    stock: int
    threshold: int
    reorder_qty: int
    lead_days: int
    weight: float
    reserved: int = 0
    on_order: bool = False
    awaiting_approval: bool = False
    snoozed_until: datetime | None = None
    active: bool = True
    sold: int = 0

    @property
    def available(self) -> int:
        return self.stock - self.reserved


@dataclass
class Customer:
    id: str
    name: str
    email: str
    tier: str
    lifetime: Decimal
    joined: datetime | None = None
    blocked: bool = False
    returns: int = 0
    _actor: Actor | None = None

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            self._actor = Actor.user(self.id, self.name, email=self.email, role="customer")
        return self._actor


@dataclass
class Order:
    id: str
    seq: int
    customer: Customer
    lines: list[tuple[Product, int, Decimal]]
    subtotal: Decimal
    discount: Decimal
    total: Decimal
    method: str
    root: Ref
    status: str = "created"
    payment: Ref | None = None
    payment_id: str = ""
    processor: str = ""
    shipment: Ref | None = None
    shipment_id: str = ""
    carrier: str = ""
    tracking: str = ""


@dataclass
class Campaign:
    id: str
    name: str
    coupon: str
    percent: int
    start: datetime
    end: datetime
    ref: Ref | None = None
