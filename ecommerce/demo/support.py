"""Support: tickets about orders and general questions, triaged by an AI, answered or
escalated by the support team.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from decision_trace.ecommerce.event_types import EcommerceEventType as E
from decision_trace.enums import ObjectType
from ecommerce.demo.cast import SENIOR_SUPPORT, SUPPORT, TRIAGE_AI
from ecommerce.demo.customers import Customers
from ecommerce.demo.engine import Simulation
from ecommerce.demo.entities import Customer, Order

__all__ = ["Support"]

_TICKET_TOPICS = (
    ("Where is my order?", "shipping", True),
    ("Please change my delivery address", "shipping", True),
    ("I need an invoice for my order", "billing", True),
    ("Charged twice for one order", "billing", True),
    ("How do I reset my password?", "account", False),
    ("Is this product compatible with EU plugs?", "product", False),
    ("Please delete my account", "account", False),
)


class Support:
    """Customer tickets and their answers."""

    def __init__(self, sim: Simulation, customers: Customers) -> None:
        self.sim = sim
        self.customers = customers

    def order_ticket(self, when: datetime, order: Order) -> None:
        topic = self.sim.rng.choice([t for t in _TICKET_TOPICS if t[2]])
        self._ticket(when, order.customer, topic, order)

    def general_ticket(self, when: datetime) -> None:
        customer = self.customers.choose(when)
        if customer is not None:
            topic = self.sim.rng.choice([t for t in _TICKET_TOPICS if not t[2]])
            self._ticket(when, customer, topic, None)

    def _ticket(
        self,
        when: datetime,
        customer: Customer,
        topic: tuple[str, str, bool],
        order: Order | None,
    ) -> None:
        subject, category, _ = topic
        ticket_id = f"tkt-{self.sim.serial('ticket', 7001)}"
        correlation = order.id if order else ticket_id
        builder = (
            self.sim.client.trace(E.TICKET_CREATED, f"Ticket {ticket_id}: {subject}")
            .by(customer.actor)
            .affecting_object(ObjectType.CUSTOM, ticket_id, kind="ticket", subject=subject)
            .affecting_customer(customer.id)
            .with_tags("support")
        )
        if order is not None:
            builder.affecting_order(order.id)
        created = self.sim.emit(
            builder, when, parent=order.root if order else None, correlation=correlation
        )
        if created is None:
            return
        confidence = round(self.sim.rng.uniform(0.6, 0.99), 2)
        priority = "high" if category == "billing" else "normal"
        self.sim.emit(
            self.sim.client.trace(
                E.AI_CLASSIFICATION, f"Ticket {ticket_id} classified as {category}"
            )
            .by(TRIAGE_AI)
            .affecting_object(ObjectType.CUSTOM, ticket_id, kind="ticket")
            .because(
                f"The message is about {category}",
                action="route_ticket",
                context={"category": category, "priority": priority},
                alternatives=[
                    {"category": other}
                    for other in ("shipping", "billing", "account", "product")
                    if other != category
                ][:2],
                confidence=confidence,
            )
            .with_tags("ai", "support"),
            when + timedelta(seconds=self.sim.rng.randint(2, 30)),
            parent=created,
            correlation=correlation,
            duration=0.3,
        )
        agent = self.sim.rng.choice(SUPPORT)
        answered = self.sim.office(when + self.sim.minutes(30, 60 * 20))
        if self.sim.rng.random() < 0.1:
            escalated = self.sim.emit(
                self.sim.client.trace(E.TICKET_ESCALATED, f"Ticket {ticket_id} escalated")
                .by(agent)
                .affecting_object(
                    ObjectType.CUSTOM,
                    ticket_id,
                    kind="ticket",
                    state_before={"status": "open"},
                    state_after={"status": "escalated"},
                )
                .because("Needs a refund above the agent's limit")
                .with_tags("support", "escalation"),
                answered,
                parent=created,
                correlation=correlation,
            )
            if escalated is None:
                return
            agent, answered = SENIOR_SUPPORT, self.sim.office(answered + self.sim.minutes(60, 600))
        self.sim.emit(
            self.sim.client.trace(E.TICKET_RESOLVED, f"Ticket {ticket_id} resolved")
            .by(agent)
            .affecting_object(
                ObjectType.CUSTOM,
                ticket_id,
                kind="ticket",
                state_before={"status": "open"},
                state_after={"status": "resolved"},
            )
            .because(f"Answered the customer's question about {category}")
            .with_tags("support"),
            answered,
            parent=created,
            correlation=correlation,
            duration=self.sim.rng.uniform(3, 25) * 60,
        )
