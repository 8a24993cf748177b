"""Customers: the existing base, sign-ups, nightly loyalty tiers and downgrades."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal

from decision_trace.ecommerce.event_types import EcommerceEventType as E
from decision_trace.ecommerce.validation import money_text
from ecommerce.demo.cast import IDENTITY, LOYALTY_JOB, SUPPORT
from ecommerce.demo.engine import Ref, Simulation
from ecommerce.demo.entities import Customer

__all__ = ["Customers"]

_TIER_FLOORS = (("platinum", Decimal(5000)), ("gold", Decimal(1500)), ("silver", Decimal(500)))
_FIRST = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sofia", "Lucas", "Mia", "Ethan",
    "Amara", "Kenji", "Priya", "Omar", "Zoe", "Felix", "Ines", "Hugo", "Leila", "Jonas",
    "Chloe", "Ravi", "Nora", "Diego", "Hana", "Elias", "Maya", "Theo", "Aisha", "Leo",
)  # fmt: skip
_LAST = (
    "Smith", "Garcia", "Chen", "Muller", "Rossi", "Kowalski", "Okafor", "Tanaka", "Silva",
    "Novak", "Dubois", "Patel", "Jensen", "Haddad", "Kim", "Larsen", "Moreau", "Singh",
    "Costa", "Weber", "Nguyen", "Ali", "Brown", "Ivanova", "Lopez", "Fischer", "Sato",
)  # fmt: skip


def _tier(lifetime: Decimal) -> str:
    for name, floor in _TIER_FLOORS:
        if lifetime >= floor:
            return name
    return "bronze"


class Customers:
    """The store's ``regulars`` (there at the start) and ``newcomers`` (signed up since)."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.regulars = [
            self._new(lifetime=self._lifetime()) for _ in range(max(20, round(900 * sim.scale)))
        ]
        self.newcomers: list[Customer] = []

    def _lifetime(self) -> Decimal:
        return Decimal(round(math.exp(self.sim.rng.gauss(5.6, 1.1)), 2)).quantize(Decimal("0.01"))

    def _new(self, *, lifetime: Decimal, joined: datetime | None = None) -> Customer:
        number = self.sim.serial("customer", 10001)
        first, last = self.sim.rng.choice(_FIRST), self.sim.rng.choice(_LAST)
        return Customer(
            id=f"cust-{number}",
            name=f"{first} {last}",
            email=f"{first}.{last}.{number}@example.com".lower(),
            tier=_tier(lifetime),
            lifetime=lifetime,
            joined=joined,
        )

    def register(self, when: datetime) -> None:
        customer = self._new(lifetime=Decimal("0.00"), joined=when)
        source = self.sim.pick(
            (("web", 0.45), ("mobile_app", 0.3), ("referral", 0.15), ("social", 0.1))
        )
        ref = self.sim.emit(
            self.sim.client.customer_created(
                customer.id,
                customer.email,
                source,
                name=customer.name,
                tier=customer.tier,
                marketing_opt_in=self.sim.rng.random() < 0.6,
            ).by(customer.actor),
            when,
            duration=self.sim.rng.uniform(30, 240),
            correlation=customer.id,
        )
        if ref is None:
            return
        self.newcomers.append(customer)
        if self.sim.rng.random() < 0.85:
            self.sim.emit(
                self.sim.client.trace(E.CUSTOMER_VERIFIED, f"{customer.id} verified their e-mail")
                .by(IDENTITY)
                .affecting_customer(customer.id, {"email_verified": True})
                .with_tags("customer"),
                when + self.sim.minutes(1, 40),
                parent=ref,
                correlation=customer.id,
            )

    def loyalty_run(self, when: datetime) -> None:
        run = f"loyalty-tiers-{when:%Y%m%d}"
        changes = []
        for customer in [*self.regulars, *self.newcomers]:
            tier = _tier(customer.lifetime)
            if tier != customer.tier and not customer.blocked:
                changes.append((customer, tier))
        root = self.sim.emit(
            self.sim.client.automation_triggered(
                "loyalty-tiers",
                "nightly schedule (01:00 UTC)",
                "recalculate_tiers",
                name="Loyalty Tiers",
                parameters={"floors": {name: str(floor) for name, floor in _TIER_FLOORS}},
            ).by(LOYALTY_JOB),
            when,
            duration=self.sim.rng.uniform(8, 25),
            correlation=run,
        )
        if root is None:
            return
        for index, (customer, tier) in enumerate(changes):
            floor = dict(_TIER_FLOORS).get(tier, Decimal(0))
            ref = self.sim.emit(
                self.sim.client.customer_tier_changed(
                    customer.id,
                    customer.tier,
                    tier,
                    f"Lifetime spend {money_text(customer.lifetime)} reached the {tier} "
                    f"floor of {money_text(floor)}",
                ).by(LOYALTY_JOB),
                when + timedelta(seconds=10 + index),
                parent=root,
                correlation=run,
            )
            if ref is not None:
                customer.tier = tier

    def downgrade(self, when: datetime, customer: Customer, parent: Ref, order_id: str) -> None:
        lower = {"platinum": "gold", "gold": "silver", "silver": "bronze"}.get(customer.tier)
        if lower is None or customer.blocked:
            return
        ref = self.sim.emit(
            self.sim.client.customer_tier_changed(
                customer.id,
                customer.tier,
                lower,
                f"{customer.returns} returns in 30 days breach the returns policy",
            ).by(self.sim.rng.choice(SUPPORT)),
            when,
            parent=parent,
            correlation=order_id,
        )
        if ref is not None:
            customer.tier = lower
            # Lifetime spend no longer lifts them back automatically.
            customer.lifetime = min(customer.lifetime, dict(_TIER_FLOORS).get(lower, Decimal(0)))

    def choose(self, when: datetime) -> Customer | None:
        if self.newcomers and self.sim.rng.random() < 0.3:
            customer = self.sim.rng.choice(self.newcomers[-200:])
        else:
            # A few regulars order far more often than the rest.
            index = min(len(self.regulars) - 1, int(self.sim.rng.paretovariate(1.2)) - 1)
            customer = (
                self.regulars[index]
                if self.sim.rng.random() < 0.25
                else self.sim.rng.choice(self.regulars)
            )
        return None if customer.blocked else customer
