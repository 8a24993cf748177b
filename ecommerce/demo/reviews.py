"""The admins who review the demo's pending decisions, and how they decide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ecommerce.demo.engine import Ref, Simulation

__all__ = ["DEMO_STAFF", "DemoReview", "DemoStaff", "Reviewers", "Verdict"]


@dataclass(frozen=True)
class DemoStaff:
    """A named reviewer who decides demo decisions (a Django user in ``group``)."""

    username: str
    first_name: str
    last_name: str
    group: str


DEMO_STAFF = (
    DemoStaff("alice.morgan", "Alice", "Morgan", "Admins"),
    DemoStaff("ben.okafor", "Ben", "Okafor", "Admins"),
    DemoStaff("carol.reyes", "Carol", "Reyes", "Senior admins"),
)
_ADMINS = DEMO_STAFF[:2]
_SENIOR = DEMO_STAFF[2]


@dataclass(frozen=True)
class DemoReview:
    """One review action to take, once the event it targets is stored."""

    event_id: str
    action: str
    username: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class Verdict:
    action: str
    at: datetime
    username: str


_REVIEW_REASONS = {
    "fraud": {
        "approve": (
            "Billing and shipping countries differ and the card was added today; hold confirmed.",
            "Three orders to one address from different cards in an hour; confirmed fraud.",
            "Card issuer confirmed the card was reported stolen.",
        ),
        "reject": (
            "Long-standing customer; the new address is their office. Release.",
            "Customer confirmed the order by phone; signals are a false positive.",
            "Gift order: mismatched addresses are expected. Release.",
        ),
        "escalate": ("Large order from a new business account; needs a senior decision.",),
        "defer": ("Waiting for the customer to answer our verification e-mail.",),
    },
    "restock": {
        "approve": (
            "Forecast matches last month's sell-through; approve.",
            "Approved; supplier confirmed the lead time.",
            "Approve: the campaign next week will lift demand.",
        ),
        "reject": (
            "Supplier price rises next week; reorder after the new contract.",
            "Slow mover: sell through the remaining stock first.",
            "Quantity too high for the shelf space we have.",
        ),
        "escalate": ("Order value above my approval limit.",),
        "defer": ("Waiting for the supplier's new price list.",),
    },
    "pricing": {
        "approve": (
            "In line with the competitor move; margin stays above target.",
            "Demand supports the increase; approve.",
            "Approved for the rest of the week.",
        ),
        "reject": (
            "Competitor drop is a 24-hour flash sale; hold our price.",
            "Too steep a change for a core product.",
            "Below our margin floor once shipping is included.",
        ),
        "escalate": ("Touches a hero product; needs a senior decision.",),
        "defer": ("Revisit after the weekend's sales figures.",),
    },
}
_DECISION_MIX = (("approve", 0.6), ("reject", 0.3), ("escalate", 0.06), ("defer", 0.04))


class Reviewers:
    """The admins' decisions on pending events, planned as the events are made.

    ``reviews`` lists them in the order they were planned; ``DemoStore``
    sorts them by time once the period is played.
    """

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.reviews: list[DemoReview] = []

    def decide(self, ref: Ref, domain: str, *, hours: tuple[float, float]) -> Verdict | None:
        """Plan the admins' decision on a pending event; ``None`` when it stays pending."""
        at = self.sim.office(ref.at + timedelta(hours=self.sim.rng.uniform(*hours)))
        if at >= self.sim.end - timedelta(hours=1) or self.sim.rng.random() < 0.12:
            return None
        reasons = _REVIEW_REASONS[domain]
        action = self.sim.pick(_DECISION_MIX)
        admin = self.sim.rng.choice(_ADMINS)
        self.reviews.append(
            DemoReview(ref.id, action, admin.username, self.sim.rng.choice(reasons[action]), at)
        )
        if action == "escalate" and self.sim.rng.random() < 0.6:
            later = self.sim.office(at + timedelta(hours=self.sim.rng.uniform(2, 20)))
            if later < self.sim.end - timedelta(hours=1):
                final = self.sim.pick((("approve", 0.6), ("reject", 0.4)))
                self.reviews.append(
                    DemoReview(
                        ref.id, final, _SENIOR.username, self.sim.rng.choice(reasons[final]), later
                    )
                )
                return Verdict(final, later, _SENIOR.username)
        return Verdict(action, at, admin.username)
