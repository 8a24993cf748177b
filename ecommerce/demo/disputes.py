"""Disputes: a cardholder's bank disputes a delivered order's payment; some end in a
chargeback.
"""

from __future__ import annotations

from datetime import datetime

from decision_trace.ecommerce.event_types import EcommerceEventType as E
from decision_trace.ecommerce.validation import money_text
from decision_trace.enums import ObjectType, RiskLevel
from ecommerce.demo.cast import PROCESSORS
from ecommerce.demo.engine import Simulation
from ecommerce.demo.entities import Order

__all__ = ["Disputes"]

_DISPUTE_REASONS = (
    ("product_not_received", "the customer says the parcel never arrived"),
    ("fraudulent", "the cardholder does not recognise the charge"),
    ("not_as_described", "the customer says the goods differ from the listing"),
)


class Disputes:
    """Payment disputes and chargebacks, children of the payment they dispute."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim

    def dispute(self, when: datetime, order: Order) -> None:
        """The cardholder's bank disputes a delivered order's payment; some end in a chargeback."""
        if order.payment is None:
            return
        code, claim = self.sim.rng.choice(_DISPUTE_REASONS)
        amount = money_text(order.total)
        disputed = self.sim.emit(
            self.sim.client.trace(
                E.PAYMENT_DISPUTED, f"Payment {order.payment_id} disputed: {claim}"
            )
            .by(PROCESSORS[order.processor])
            .affecting_object(
                ObjectType.PAYMENT,
                order.payment_id,
                state_before={"status": "captured"},
                state_after={"status": "disputed", "dispute_reason": code},
            )
            .affecting_order(order.id)
            .pending()
            .with_data(amount=amount, reason_code=code, processor=order.processor)
            .with_tags("payment", "dispute"),
            when,
            parent=order.payment,
            correlation=order.id,
        )
        if disputed is None or self.sim.rng.random() >= 0.4:
            return
        lost = self.sim.emit(
            self.sim.client.trace(
                E.PAYMENT_CHARGEBACK, f"Chargeback of {amount} on payment {order.payment_id}"
            )
            .by(PROCESSORS[order.processor])
            .affecting_object(
                ObjectType.PAYMENT,
                order.payment_id,
                state_before={"status": "disputed"},
                state_after={"status": "charged_back", "charged_back_amount": amount},
            )
            .affecting_order(order.id, {"status": "charged_back"})
            .because(f"The issuing bank upheld the dispute: {claim}")
            .with_risk(RiskLevel.MEDIUM)
            .with_data(amount=amount, reason_code=code, processor=order.processor)
            .with_tags("payment", "dispute", "chargeback"),
            when + self.sim.minutes(60 * 24 * 5, 60 * 24 * 15),
            parent=disputed,
            correlation=order.id,
        )
        if lost is not None:
            order.status = "charged_back"
