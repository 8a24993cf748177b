"""Orders: checkout, payment (declines, retries, a processor outage), fraud screening
and its review, and cancellations.

An order's events are one tree under its ``order.created``, with the order id as
correlation id.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from decision_trace.ecommerce.event_types import EcommerceEventType as E
from decision_trace.ecommerce.validation import money_text
from decision_trace.enums import ObjectType, RiskLevel
from decision_trace.values import Actor
from ecommerce.demo.cast import CHECKOUT, FRAUD_AI, ORDER_SERVICE, PROCESSORS
from ecommerce.demo.customers import Customers
from ecommerce.demo.engine import Ref, Simulation
from ecommerce.demo.entities import Order, Product
from ecommerce.demo.fulfilment import Fulfilment
from ecommerce.demo.marketing import Marketing
from ecommerce.demo.reviews import Reviewers

__all__ = ["Orders"]

_CHANNELS = (("web", 0.55), ("ios", 0.25), ("android", 0.2))
_METHODS = (("card", 0.72), ("paypal", 0.2), ("apple_pay", 0.08))
_DECLINES = (
    ("card_declined", "The card was declined by the issuer."),
    ("insufficient_funds", "The card has insufficient funds."),
    ("expired_card", "The card has expired."),
    ("incorrect_cvc", "The card's security code is incorrect."),
)
_CANCEL_REASONS = (
    "Ordered the wrong size",
    "Found a better price elsewhere",
    "No longer needed",
    "Delivery estimate is too long",
    "Ordered by mistake",
)


class Orders:
    """Orders as customers place them, until they are paid and handed to fulfilment.

    ``by_day`` counts the orders placed per day, ``placed`` in all;
    ``processor_down`` is the card processor's outage and ``failover`` is
    true while cards go to the backup processor.
    """

    def __init__(
        self,
        sim: Simulation,
        products: list[Product],
        reviewers: Reviewers,
        customers: Customers,
        marketing: Marketing,
        fulfilment: Fulfilment,
    ) -> None:
        self.sim = sim
        self.products = products
        self.reviewers = reviewers
        self.customers = customers
        self.marketing = marketing
        self.fulfilment = fulfilment
        self.placed = 0
        self.by_day: dict[date, int] = {}
        self.processor_down: tuple[datetime, datetime] | None = None
        self.failover = False

    def place_order(self, when: datetime, cart: str | None = None) -> None:
        customer = self.customers.choose(when)
        if customer is None:
            return
        lines: list[tuple[Product, int, Decimal]] = []
        wanted = self.sim.pick((("1", 0.55), ("2", 0.28), ("3", 0.12), ("4", 0.05)))
        active = [p for p in self.products if p.active]
        weights = [p.weight for p in active]
        for product in self.sim.rng.choices(active, weights, k=int(wanted)):
            qty = int(self.sim.pick((("1", 0.8), ("2", 0.15), ("3", 0.05))))
            if product.available >= qty and all(product is not p for p, _, _ in lines):
                lines.append((product, qty, product.price))
        if not lines:
            return
        campaign = self.marketing.campaign_at(when)
        subtotal = sum((price * qty for _, qty, price in lines), Decimal(0))
        discount = Decimal(0)
        if campaign is not None and self.sim.rng.random() < 0.35:
            discount = (subtotal * campaign.percent / 100).quantize(Decimal("0.01"))
        else:
            campaign = None
        shipping = Decimal(0) if subtotal >= 50 else Decimal("4.99")
        total = subtotal - discount + shipping
        seq = self.sim.serial("order", 100001)
        order_id = f"ord-{seq}"
        method = self.sim.pick(_METHODS)
        channel = self.sim.pick(_CHANNELS)
        extra: dict[str, Any] = {
            "channel": channel,
            "payment_method": method,
            "shipping": money_text(shipping),
            "discount": money_text(discount),
        }
        if campaign is not None:
            extra["coupon"] = campaign.coupon
        if cart is not None:
            extra["recovered_cart"] = cart
        builder = self.sim.client.order_created(
            order_id,
            customer.id,
            total,
            [{"sku": p.sku, "qty": qty, "price": price} for p, qty, price in lines],
            **extra,
        ).by(customer.actor)
        items = sum(qty for _, qty, _ in lines)
        builder.because(
            f"Customer completed checkout with {items} item(s)",
            context={
                "channel": channel,
                "coupon_applied": campaign.coupon if campaign else None,
                "new_customer": customer.joined is not None,
                "tier": customer.tier,
            },
        )
        root = self.sim.emit(builder, when, duration=self.sim.rng.uniform(40, 900))
        if root is None:
            return
        self.placed += 1
        self.by_day[when.date()] = self.by_day.get(when.date(), 0) + 1
        for product, qty, _ in lines:
            product.reserved += qty
        order = Order(order_id, seq, customer, lines, subtotal, discount, total, method, root)
        if campaign is not None:
            self.sim.emit(
                self.sim.client.trace(E.COUPON_USED, f"Coupon {campaign.coupon} used on {order_id}")
                .by(CHECKOUT)
                .affecting_object(ObjectType.COUPON, campaign.coupon)
                .affecting_object(ObjectType.CAMPAIGN, campaign.id, name=campaign.name)
                .affecting_order(order_id, {"discount": money_text(discount)})
                .with_data(discount=money_text(discount), percent=campaign.percent)
                .with_tags("marketing", "coupon"),
                when + timedelta(seconds=1),
                parent=root,
                correlation=order_id,
            )
        self.sim.schedule(
            when + timedelta(seconds=self.sim.rng.randint(3, 25)), self._pay, order, 1
        )
        if self.sim.rng.random() < 0.04:
            self.sim.schedule(when + self.sim.minutes(4, 120), self._customer_cancel, order)

    def _processor(self, order: Order) -> str:
        if order.method == "paypal":
            return "paypal"
        return "adyen" if self.failover else "stripe"

    def _pay(self, when: datetime, order: Order, attempt: int) -> None:
        if order.status != "created":
            return
        processor = self._processor(order)
        payment_id = f"pay-{order.seq}-{attempt}"
        down = self.processor_down
        outage = down is not None and down[0] <= when < down[1] and processor == "stripe"
        roll = self.sim.rng.random()
        if outage and roll < 0.65:
            code, message = "processing_error", "The processor could not reach the card network."
        elif roll < 0.045:
            code, message = self.sim.rng.choice(_DECLINES)
        elif roll < 0.048:
            code, message = "stolen_card", "The card was reported stolen."
        else:
            code = message = ""
        actor = PROCESSORS[processor]
        if code:
            failure = self.sim.emit(
                self.sim.client.payment_failed(payment_id, order.id, order.total, code, message)
                .by(actor)
                .with_data(processor=processor, attempt=attempt),
                when,
                parent=order.root,
                duration=self.sim.rng.uniform(0.8, 4),
            )
            if failure is None:
                return
            if code == "stolen_card" or attempt >= 3:
                self._cancel(
                    order,
                    failure.at + self.sim.minutes(0.5, 2),
                    f"Payment failed {attempt} time(s); last error {code}",
                    ORDER_SERVICE,
                    failure,
                    refund=False,
                )
                return
            if self.sim.rng.random() < 0.25:
                order.method = "paypal" if order.method != "paypal" else "card"
            self.sim.schedule(failure.at + self.sim.minutes(1, 12), self._pay, order, attempt + 1)
            return
        captured = self.sim.emit(
            self.sim.client.payment_captured(
                payment_id, order.id, order.total, order.method, processor
            ).by(actor),
            when,
            parent=order.root,
            duration=self.sim.rng.uniform(0.5, 3),
        )
        if captured is None:
            return
        order.status = "paid"
        order.payment = captured
        order.payment_id = payment_id
        order.processor = processor
        self.sim.schedule(
            captured.at + timedelta(seconds=self.sim.rng.randint(2, 20)), self._screen, order
        )

    def _screen(self, when: datetime, order: Order) -> None:
        if order.status != "paid" or order.payment is None:
            return
        new = order.customer.joined is not None
        chance = 0.015 + (0.03 if new else 0) + (0.04 if order.total > 250 else 0)
        if self.sim.rng.random() >= chance:
            self.sim.schedule(
                when + self.sim.minutes(5, 45), self.fulfilment.create_shipment, order, None
            )
            return
        signals = self.sim.rng.sample(
            [
                "billing and shipping countries differ",
                "card added minutes before checkout",
                "order value 4x the customer's average",
                "shipping address used by several accounts",
                "IP address from a hosting provider",
            ],
            k=self.sim.rng.randint(2, 3),
        )
        score = round(self.sim.rng.uniform(0.55, 0.97), 2)
        builder = (
            self.sim.client.ai_recommendation(
                "fraud_hold",
                {"order_id": order.id, "action": "hold", "risk_score": score},
                {"signals": signals, "order_total": money_text(order.total), "new_customer": new},
                score,
                "fraud-gbm",
                affected_objects=[
                    {"type": "order", "id": order.id, "state_after": {"status": "on_hold"}},
                    {"type": "customer", "id": order.customer.id},
                ],
            )
            .by(FRAUD_AI)
            .because(
                f"Order matches {len(signals)} fraud signals: {'; '.join(signals)}",
                alternatives=[
                    {"action": "release", "note": "ship as normal"},
                    {"action": "request_verification", "note": "ask for 3-D Secure again"},
                ],
                rejection_reasons={
                    "release": f"Risk score {score} is above the release limit of 0.5",
                    "request_verification": "The card already passed 3-D Secure",
                },
            )
            .with_risk(RiskLevel.CRITICAL if score >= 0.9 else RiskLevel.HIGH)
            .with_correlation(order.id)
        )
        recommendation = self.sim.emit(builder, when, parent=order.payment, duration=0.4)
        if recommendation is None:
            return
        order.status = "on_hold"
        self.sim.emit(
            self.sim.client.trace(E.ORDER_ON_HOLD, f"Order {order.id} on hold for a fraud review")
            .by(ORDER_SERVICE)
            .affecting_order(order.id, {"status": "on_hold"})
            .because(f"Fraud Guard recommends a hold (risk score {score})")
            .triggered_by("fraud_hold recommendation", recommendation.id)
            .with_tags("order", "fraud-review"),
            when + timedelta(seconds=1),
            parent=recommendation,
            correlation=order.id,
        )
        if not recommendation.needs_approval:
            self.sim.schedule(
                when + self.sim.minutes(1, 3), self._fraud_confirmed, order, recommendation, None
            )
            return
        verdict = self.reviewers.decide(recommendation, "fraud", hours=(0.3, 6))
        if verdict is None:
            return
        if verdict.action == "approve":
            self.sim.schedule(
                verdict.at + self.sim.minutes(1, 5),
                self._fraud_confirmed,
                order,
                recommendation,
                verdict.username,
            )
        elif verdict.action == "reject":
            self.sim.schedule(
                verdict.at + self.sim.minutes(1, 5),
                self._fraud_cleared,
                order,
                recommendation,
                verdict.username,
            )

    def _fraud_confirmed(
        self, when: datetime, order: Order, parent: Ref, approver: str | None
    ) -> None:
        builder = (
            self.sim.client.trace(E.ORDER_FRAUD_FLAGGED, f"Order {order.id} confirmed as fraud")
            .by(ORDER_SERVICE)
            .affecting_order(order.id, {"status": "fraud"})
            .affecting_customer(order.customer.id, {"status": "blocked"})
            .because(
                "Fraud hold confirmed"
                + (f" by {approver}" if approver else " automatically (below the approval level)")
            )
            .with_risk(RiskLevel.HIGH)
            .with_tags("order", "fraud")
        )
        if approver:
            builder.approved_by(approver)
        flagged = self.sim.emit(builder, when, parent=parent, correlation=order.id)
        if flagged is None:
            return
        self.sim.emit(
            self.sim.client.trace(E.CUSTOMER_BLOCKED, f"Customer {order.customer.id} blocked")
            .by(ORDER_SERVICE)
            .affecting_object(
                ObjectType.CUSTOMER,
                order.customer.id,
                state_before={"status": "active"},
                state_after={"status": "blocked"},
            )
            .because(f"Confirmed fraud on order {order.id}")
            .with_tags("customer", "fraud"),
            when + timedelta(seconds=2),
            parent=flagged,
            correlation=order.id,
        )
        order.customer.blocked = True
        self._cancel(order, when + timedelta(seconds=4), "Confirmed fraud", ORDER_SERVICE, flagged)

    def _fraud_cleared(self, when: datetime, order: Order, parent: Ref, approver: str) -> None:
        cleared = self.sim.emit(
            self.sim.client.trace(E.ORDER_FRAUD_CLEARED, f"Order {order.id} cleared")
            .by(ORDER_SERVICE)
            .affecting_order(order.id, {"status": "cleared"})
            .because(f"Fraud hold rejected by {approver}: the order is genuine")
            .with_tags("order", "fraud-review"),
            when,
            parent=parent,
            correlation=order.id,
        )
        if cleared is None:
            return
        released = self.sim.emit(
            self.sim.client.trace(E.ORDER_RELEASED, f"Order {order.id} released for fulfilment")
            .by(ORDER_SERVICE)
            .affecting_object(
                ObjectType.ORDER,
                order.id,
                state_before={"status": "on_hold"},
                state_after={"status": "paid"},
            )
            .with_tags("order"),
            when + timedelta(seconds=2),
            parent=cleared,
            correlation=order.id,
        )
        if released is not None:
            order.status = "paid"
            self.sim.schedule(
                when + self.sim.minutes(5, 30), self.fulfilment.create_shipment, order, released
            )

    def _cancel(
        self,
        order: Order,
        when: datetime,
        reason: str,
        actor: Actor,
        parent: Ref,
        *,
        refund: bool = True,
    ) -> None:
        amount = order.total if refund and order.payment is not None else None
        cancelled = self.sim.emit(
            self.sim.client.order_cancelled(order.id, reason, amount).by(actor),
            when,
            parent=parent,
        )
        if cancelled is None:
            return
        order.status = "cancelled"
        for product, qty, _ in order.lines:
            product.reserved -= qty
        if amount is not None:
            self.sim.emit(
                self.sim.client.trace(
                    E.PAYMENT_REFUNDED, f"Payment {order.payment_id} refunded: {amount}"
                )
                .by(PROCESSORS[order.processor])
                .affecting_object(
                    ObjectType.PAYMENT,
                    order.payment_id,
                    state_before={"status": "captured"},
                    state_after={"status": "refunded", "refunded_amount": money_text(amount)},
                )
                .affecting_order(order.id)
                .with_data(amount=money_text(amount), processor=order.processor)
                .with_tags("payment", "refund"),
                when + self.sim.minutes(0.5, 5),
                parent=cancelled,
                correlation=order.id,
                duration=self.sim.rng.uniform(0.5, 2),
            )

    def _customer_cancel(self, when: datetime, order: Order) -> None:
        if order.status not in {"created", "paid"}:
            return
        self._cancel(
            order,
            when,
            self.sim.rng.choice(_CANCEL_REASONS),
            order.customer.actor,
            order.root,
            refund=order.payment is not None,
        )
