"""``DemoStore``: the storylines wired together, and the plan of what happens when."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from decision_trace.values import TraceEvent
from ecommerce.demo.carts import Carts
from ecommerce.demo.catalog import Catalog, opening_catalog
from ecommerce.demo.customers import Customers
from ecommerce.demo.disputes import Disputes
from ecommerce.demo.engine import Simulation
from ecommerce.demo.fulfilment import Fulfilment
from ecommerce.demo.inventory import Inventory
from ecommerce.demo.marketing import Marketing
from ecommerce.demo.monitoring import Monitoring
from ecommerce.demo.options import demo_options_check
from ecommerce.demo.orders import Orders
from ecommerce.demo.pricing import Pricing
from ecommerce.demo.returns import Returns
from ecommerce.demo.reviews import DemoReview, Reviewers
from ecommerce.demo.support import Support

__all__ = ["DemoStore"]

# Quiet at night, busy at lunch and in the evening (UTC); shares of a day's arrivals.
_HOURLY_WEIGHTS = (2, 1, 1, 1, 1, 2, 4, 7, 9, 10, 11, 12, 14, 13, 11, 10, 10, 12, 16, 18, 17, 14,
                   9, 5)  # fmt: skip
_HOURLY_SHARE = tuple(weight / sum(_HOURLY_WEIGHTS) for weight in _HOURLY_WEIGHTS)


class DemoStore:
    """A store's history, simulated event by event in time order.

    Args:
        seed: the random seed; the same seed (with the same other arguments)
            gives the same events.
        days: how many days of history end at ``now``.
        scale: 1.0 is a store of about 75 orders a day (roughly 1,150 events
            a day); volumes scale linearly, the catalogue with its square root.
        now: the end of the history (aware, not in the future); nothing
            happens at or after it.
        currency: the store's currency.

    Raises:
        DemoStoreOptionError: an argument is out of range (``demo_options_check``).

    After ``batches()`` is exhausted, ``reviews`` lists the admins' decisions
    (oldest first), ``counts`` the events by family, ``approvals`` how many
    needed approval and ``orders_placed`` the orders.
    """

    def __init__(
        self, *, seed: int, days: int, scale: float, now: datetime, currency: str = "USD"
    ) -> None:
        demo_options_check(days=days, scale=scale, seed=seed, now=now)
        sim = self._sim = Simulation(seed=seed, days=days, scale=scale, now=now, currency=currency)
        # Built in this order: each storyline gets the ones it hands work to,
        # and the catalogue and customers draw from the generator first.
        products = opening_catalog(sim)
        self._reviewers = Reviewers(sim)
        self._customers = Customers(sim)
        self._inventory = Inventory(sim, products, self._reviewers)
        self._catalog = Catalog(sim, products, self._inventory)
        self._pricing = Pricing(sim, products, self._reviewers)
        self._marketing = Marketing(sim, self._customers)
        self._support = Support(sim, self._customers)
        self._fulfilment = Fulfilment(
            sim,
            self._inventory,
            Returns(sim, self._inventory, self._customers),
            self._support,
            Disputes(sim),
        )
        self._orders = Orders(
            sim, products, self._reviewers, self._customers, self._marketing, self._fulfilment
        )
        self._carts = Carts(sim, products, self._customers, self._orders)
        self._monitoring = Monitoring(sim, self._orders)

    @property
    def reviews(self) -> list[DemoReview]:
        """The admins' decisions to apply once the events are stored (oldest first when done)."""
        return self._reviewers.reviews

    @property
    def counts(self) -> dict[str, int]:
        """How many events of each family (the event type's part before the dot)."""
        return self._sim.counts

    @property
    def approvals(self) -> int:
        """How many events needed an admin's approval."""
        return self._sim.approvals

    @property
    def orders_placed(self) -> int:
        """How many orders customers placed."""
        return self._orders.placed

    def batches(self, size: int) -> Iterator[tuple[list[TraceEvent], float]]:
        """Yield ``(events, progress)``: events in time order, progress from 0 to 1."""
        sim = self._sim
        self._plan()
        span = (sim.end - sim.start).total_seconds()
        while (when := sim.step()) is not None:
            if sim.pending() >= size:
                yield sim.flush(), (when - sim.start).total_seconds() / span
        self.reviews.sort(key=lambda review: review.at)
        yield sim.flush(), 1.0

    def _plan(self) -> None:
        """Schedule the opening count, the arrivals hour by hour and the recurring jobs."""
        sim = self._sim
        sim.schedule(sim.start + timedelta(minutes=5), self._inventory.opening_count)
        if sim.days >= 2:
            down = sim.clock(
                sim.start + timedelta(days=sim.rng.randint(sim.days // 3, sim.days - 1)), 14
            )
            self._orders.processor_down = (down, down + timedelta(minutes=75))
            sim.schedule(
                down + timedelta(minutes=12),
                self._monitoring.outage_detected,
                *self._orders.processor_down,
            )
        failing_night = sim.rng.randint(1, max(1, sim.days - 1))
        self._marketing.plan_campaigns()
        launch_day = sim.days // 2
        first_day = sim.start.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(sim.days + 1):
            day = first_day + timedelta(days=offset)
            sim.schedule(sim.clock(day, 0, 30), self._monitoring.volume_check)
            sim.schedule(sim.clock(day, 1), self._customers.loyalty_run)
            sim.schedule(sim.clock(day, 2), self._inventory.nightly_run, offset == failing_night)
            sim.schedule(sim.clock(day, 4), self._pricing.daily_run)
            if day.weekday() == 0:
                sim.schedule(sim.clock(day, 3), self._catalog.forecast_run)
            if day.weekday() == 6:
                sim.schedule(sim.clock(day, 6), self._inventory.cycle_count)
            if offset == launch_day:
                sim.schedule(sim.clock(day, 10, 15), self._catalog.launch_product)
                sim.schedule(sim.clock(day, 11, 40), self._catalog.discontinue_product)
            if sim.rng.random() < 0.5:
                sim.schedule(sim.clock(day, sim.rng.randint(9, 17)), self._pricing.manual_price)
            if sim.rng.random() < 0.3:
                sim.schedule(sim.clock(day, sim.rng.randint(9, 17)), self._inventory.write_off)
            self._plan_arrivals(day)

    def _plan_arrivals(self, day: datetime) -> None:
        sim = self._sim
        weekend = 1.2 if day.weekday() >= 5 else 1.0
        campaigns = self._marketing.campaigns
        for hour, share in enumerate(_HOURLY_SHARE):
            start = day + timedelta(hours=hour)
            boost = 1.4 if any(c.start <= start < c.end for c in campaigns) else 1.0
            arrivals: tuple[tuple[float, Callable[[datetime], object]], ...] = (
                (70 * boost * weekend, self._orders.place_order),
                (25, self._customers.register),
                (18 * weekend, self._carts.abandoned_cart),
                (5, self._support.general_ticket),
            )
            for per_day, action in arrivals:
                for _ in range(sim.poisson(per_day * sim.scale * share)):
                    sim.schedule(start + timedelta(seconds=sim.rng.randint(0, 3599)), action)
