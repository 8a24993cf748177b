"""Carts: carts filled and abandoned, the recovery e-mail, and now and then an order."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from decision_trace.ecommerce.event_types import EcommerceEventType as E
from decision_trace.ecommerce.validation import money_text
from decision_trace.enums import ObjectType
from ecommerce.demo.cast import CART_JOB, EMAIL_JOB
from ecommerce.demo.customers import Customers
from ecommerce.demo.engine import Ref, Simulation
from ecommerce.demo.entities import Customer, Product
from ecommerce.demo.orders import Orders

__all__ = ["Carts"]


class Carts:
    """Abandoned carts and their recovery."""

    def __init__(
        self, sim: Simulation, products: list[Product], customers: Customers, orders: Orders
    ) -> None:
        self.sim = sim
        self.products = products
        self.customers = customers
        self.orders = orders

    def _fill(
        self, created: Ref, customer: Customer, cart_id: str, products: list[Product]
    ) -> datetime | None:
        """Add ``products`` to the cart one by one, sometimes taking one out and back in.

        Returns the time of the last change, or None when the period ends first.
        """
        at, items, value = created.at, 0, Decimal(0)
        steps = [(E.CART_ITEM_ADDED, product) for product in products]
        if len(products) > 1 and self.sim.rng.random() < 0.3:
            second_thought = self.sim.rng.choice(products)
            steps[-1:-1] = [
                (E.CART_ITEM_REMOVED, second_thought),
                (E.CART_ITEM_ADDED, second_thought),
            ]
        for event_type, product in steps:
            at += self.sim.minutes(0.2, 6)
            added = event_type == E.CART_ITEM_ADDED
            after_items = items + (1 if added else -1)
            after_value = value + (product.price if added else -product.price)
            verb = "added to" if added else "removed from"
            step = self.sim.emit(
                self.sim.client.trace(event_type, f"{product.name} {verb} cart {cart_id}")
                .by(customer.actor)
                .affecting_object(
                    ObjectType.CART,
                    cart_id,
                    state_before={"items": items, "value": money_text(value)},
                    state_after={"items": after_items, "value": money_text(after_value)},
                )
                .affecting_product(product.sku, name=product.name)
                .with_data(sku=product.sku, price=money_text(product.price))
                .with_tags("cart"),
                at,
                parent=created,
                correlation=cart_id,
            )
            if step is None:
                return None
            items, value = after_items, after_value
        return at

    def abandoned_cart(self, when: datetime) -> None:
        customer = self.customers.choose(when)
        if customer is None:
            return
        cart_id = f"cart-{self.sim.serial('cart', 30001)}"
        products = self.sim.rng.sample(self.products, k=min(len(self.products), 3))[
            : self.sim.rng.randint(1, 3)
        ]
        created = self.sim.emit(
            self.sim.client.trace(E.CART_CREATED, f"Cart {cart_id} created by {customer.id}")
            .by(customer.actor)
            .affecting_object(ObjectType.CART, cart_id, state_after={"status": "active"})
            .affecting_customer(customer.id)
            .with_tags("cart"),
            when,
            correlation=cart_id,
        )
        if created is None:
            return
        last = self._fill(created, customer, cart_id, products)
        if last is None:
            return
        value = sum((p.price for p in products), Decimal(0))
        noticed = last + timedelta(hours=1)
        abandoned = self.sim.emit(
            self.sim.client.trace(E.CART_ABANDONED, f"Cart {cart_id} abandoned ({value})")
            .by(CART_JOB)
            .affecting_object(
                ObjectType.CART,
                cart_id,
                state_before={"status": "active"},
                state_after={"status": "abandoned", "value": money_text(value)},
            )
            .affecting_customer(customer.id)
            .with_data(items=[p.sku for p in products], value=money_text(value))
            .with_tags("cart"),
            noticed,
            parent=created,
            correlation=cart_id,
        )
        if abandoned is None:
            return
        automation = self.sim.emit(
            self.sim.client.automation_triggered(
                "cart-recovery",
                "cart idle for 60 minutes",
                "send_recovery_email",
                name="Cart Recovery",
                rule="idle >= 60 min and value >= 10",
                trigger_event_id=abandoned.id,
                affected_objects=[{"type": "cart", "id": cart_id}],
            ),
            noticed + timedelta(seconds=5),
            parent=abandoned,
            correlation=cart_id,
        )
        if automation is None:
            return
        email_id = f"email-{self.sim.serial('email', 50001)}"
        sent = (
            self.sim.client.trace(E.EMAIL_SENT, f"Recovery e-mail {email_id} to {customer.id}")
            .by(EMAIL_JOB)
            .affecting_object(ObjectType.EMAIL, email_id, template="cart-recovery")
            .affecting_customer(customer.id)
            .with_tags("marketing", "email")
        )
        if self.sim.rng.random() < 0.03:
            sent.failed("550 5.1.1 mailbox unavailable", {"bounce": "hard"})
        mail = self.sim.emit(
            sent, noticed + timedelta(seconds=40), parent=automation, correlation=cart_id
        )
        if mail is None or self.sim.rng.random() > 0.45:
            return
        opened = self.sim.emit(
            self.sim.client.trace(E.EMAIL_OPENED, f"{customer.id} opened {email_id}")
            .by(customer.actor)
            .affecting_object(ObjectType.EMAIL, email_id)
            .with_tags("marketing", "email"),
            noticed + self.sim.minutes(10, 720),
            parent=mail,
            correlation=cart_id,
        )
        if opened is None or self.sim.rng.random() > 0.35:
            return
        clicked = self.sim.emit(
            self.sim.client.trace(E.EMAIL_CLICKED, f"{customer.id} clicked through {email_id}")
            .by(customer.actor)
            .affecting_object(ObjectType.EMAIL, email_id)
            .with_tags("marketing", "email"),
            opened.at + self.sim.minutes(0.2, 5),
            parent=opened,
            correlation=cart_id,
        )
        if clicked is None:
            return
        recovered = self.sim.emit(
            self.sim.client.trace(E.CART_RECOVERED, f"Cart {cart_id} recovered")
            .by(customer.actor)
            .affecting_object(
                ObjectType.CART,
                cart_id,
                state_before={"status": "abandoned"},
                state_after={"status": "recovered"},
            )
            .with_tags("cart"),
            clicked.at + self.sim.minutes(1, 3),
            parent=clicked,
            correlation=cart_id,
        )
        if recovered is not None:
            self.sim.schedule(
                recovered.at + self.sim.minutes(2, 15), self.orders.place_order, cart_id
            )
