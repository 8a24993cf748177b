"""Returns and refunds: requested, approved by policy or by support (or rejected), received,
inspected, restocked when resellable, and refunded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from decision_trace.ecommerce.event_types import EcommerceEventType as E
from decision_trace.ecommerce.validation import money_text
from decision_trace.enums import ObjectType
from ecommerce.demo.cast import ORDER_SERVICE, PICKERS, PROCESSORS, RETURNS_POLICY, SUPPORT
from ecommerce.demo.customers import Customers
from ecommerce.demo.engine import Ref, Simulation
from ecommerce.demo.entities import Order, Product
from ecommerce.demo.inventory import Inventory

__all__ = ["Returns"]

_RETURN_REASONS = (
    ("Arrived damaged in transit", False),
    ("Wrong size", True),
    ("Not as described on the product page", True),
    ("Changed my mind", True),
    ("Stopped working after two days", False),
)


class Returns:
    """A delivered order's returns; repeated returns may cost the customer their tier."""

    def __init__(self, sim: Simulation, inventory: Inventory, customers: Customers) -> None:
        self.sim = sim
        self.inventory = inventory
        self.customers = customers

    def request_return(self, when: datetime, order: Order) -> None:
        product, ordered, price = self.sim.rng.choice(order.lines)
        qty = self.sim.rng.randint(1, ordered)
        reason, resellable = self.sim.rng.choice(_RETURN_REASONS)
        return_id = f"ret-{order.seq}"
        requested = self.sim.emit(
            self.sim.client.return_requested(
                return_id, order.id, order.customer.id, [{"sku": product.sku, "qty": qty}], reason
            ).by(order.customer.actor),
            when,
            parent=order.root,
        )
        if requested is None:
            return
        # A discount applies to every line alike, so the refund shares it.
        refund = (price * qty * (order.subtotal - order.discount) / order.subtotal).quantize(
            Decimal("0.01")
        )
        roll = self.sim.rng.random()
        if roll < 0.05:
            self.sim.schedule(
                self.sim.office(when + self.sim.minutes(60, 600)),
                self._reject,
                order,
                return_id,
                requested,
            )
            return
        if roll < 0.85:
            approver, at = RETURNS_POLICY, when + self.sim.minutes(1, 20)
            why = f"Within the 30-day window; '{reason}' qualifies for a full refund"
        else:
            approver = self.sim.rng.choice(SUPPORT)
            at = self.sim.office(when + self.sim.minutes(60, 60 * 20))
            why = f"Checked the customer's photos: '{reason}' is confirmed"
        approved = self.sim.emit(
            self.sim.client.return_approved(return_id, order.id, refund, why).by(approver),
            at,
            parent=requested,
        )
        if approved is not None:
            back = self.sim.office(at + timedelta(days=self.sim.rng.randint(2, 6)))
            self.sim.schedule(
                back,
                self._received,
                order,
                return_id,
                product,
                qty,
                refund,
                resellable,
                approved,
            )

    def _reject(self, when: datetime, order: Order, return_id: str, parent: Ref) -> None:
        self.sim.emit(
            self.sim.client.trace(E.RETURN_REJECTED, f"Return {return_id} rejected")
            .by(self.sim.rng.choice(SUPPORT))
            .affecting_object(
                ObjectType.RETURN,
                return_id,
                state_before={"status": "requested"},
                state_after={"status": "rejected"},
            )
            .affecting_order(order.id, {"return_status": "rejected"})
            .because(
                "Item is personalised and excluded from returns",
                alternatives=[{"action": "store_credit"}],
                rejection_reasons={"store_credit": "Policy offers no credit for custom items"},
            )
            .with_tags("return"),
            when,
            parent=parent,
            correlation=order.id,
        )

    def _received(
        self,
        when: datetime,
        order: Order,
        return_id: str,
        product: Product,
        qty: int,
        refund: Decimal,
        resellable: bool,
        parent: Ref,
    ) -> None:
        worker = self.sim.rng.choice(PICKERS)
        received = self.sim.emit(
            self.sim.client.trace(E.RETURN_RECEIVED, f"Return {return_id} received: {qty} item(s)")
            .by(worker)
            .affecting_object(
                ObjectType.RETURN,
                return_id,
                state_before={"status": "approved"},
                state_after={"status": "received"},
            )
            .with_tags("return", "warehouse"),
            when,
            parent=parent,
            correlation=order.id,
        )
        if received is None:
            return
        condition = "resellable" if resellable else "damaged"
        inspected = self.sim.emit(
            self.sim.client.trace(E.RETURN_INSPECTED, f"Return {return_id} inspected: {condition}")
            .by(worker)
            .affecting_object(
                ObjectType.RETURN,
                return_id,
                state_before={"status": "received"},
                state_after={"status": "inspected", "condition": condition},
            )
            .because(
                "Unused, original packaging" if resellable else "Visible damage; cannot resell",
                context={"condition": condition, "sku": product.sku, "qty": qty},
            )
            .with_tags("return", "inspection"),
            when + self.sim.minutes(20, 240),
            parent=received,
            correlation=order.id,
            duration=self.sim.rng.uniform(3, 12) * 60,
        )
        if inspected is None:
            return
        if resellable:
            self.sim.schedule(
                inspected.at + self.sim.minutes(5, 30),
                self.inventory.move_stock,
                product,
                qty,
                f"Return {return_id} restocked after inspection",
                inspected,
                worker,
                order.id,
            )
        self.sim.schedule(
            inspected.at + self.sim.minutes(30, 600),
            self._refund,
            order,
            return_id,
            refund,
            inspected,
        )

    def _refund(
        self, when: datetime, order: Order, return_id: str, refund: Decimal, parent: Ref
    ) -> None:
        refunded = self.sim.emit(
            self.sim.client.trace(E.RETURN_REFUNDED, f"Return {return_id} refunded: {refund}")
            .by(ORDER_SERVICE)
            .affecting_object(
                ObjectType.RETURN,
                return_id,
                state_before={"status": "inspected"},
                state_after={"status": "refunded", "refund_amount": money_text(refund)},
            )
            .with_data(refund_amount=money_text(refund))
            .with_tags("return", "refund"),
            when,
            parent=parent,
            correlation=order.id,
        )
        if refunded is None:
            return
        payment = self.sim.emit(
            self.sim.client.trace(
                E.PAYMENT_REFUNDED, f"Payment {order.payment_id} refunded: {refund}"
            )
            .by(PROCESSORS[order.processor])
            .affecting_object(
                ObjectType.PAYMENT,
                order.payment_id,
                state_after={"status": "refunded", "refunded_amount": money_text(refund)},
            )
            .affecting_order(order.id)
            .with_data(amount=money_text(refund), processor=order.processor)
            .with_tags("payment", "refund"),
            when + self.sim.minutes(0.2, 3),
            parent=refunded,
            correlation=order.id,
            duration=self.sim.rng.uniform(0.5, 2),
        )
        if payment is None:
            return
        final = self.sim.emit(
            self.sim.client.order_refunded(
                order.id,
                refund,
                f"Return {return_id} refunded",
                order.payment_id,
                order_total=order.total,
            ).by(ORDER_SERVICE),
            payment.at + timedelta(seconds=2),
            parent=refunded,
        )
        order.customer.returns += 1
        order.customer.lifetime = max(Decimal(0), order.customer.lifetime - refund)
        if final is not None and order.customer.returns >= 2 and self.sim.rng.random() < 0.5:
            self.customers.downgrade(
                final.at + self.sim.minutes(30, 300), order.customer, final, order.id
            )
