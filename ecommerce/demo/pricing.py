"""Prices: the daily dynamic-pricing run (big changes need an admin) and manual changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from decision_trace.ecommerce.validation import money_text
from ecommerce.demo.cast import MERCHANDISER, PRICING_AI, PRICING_JOB, PRICING_SERVICE
from ecommerce.demo.engine import Ref, Simulation
from ecommerce.demo.entities import Product
from ecommerce.demo.reviews import Reviewers

__all__ = ["Pricing"]


class Pricing:
    """The prices of ``products``, changed by the pricing model and by the merchandiser."""

    def __init__(self, sim: Simulation, products: list[Product], reviewers: Reviewers) -> None:
        self.sim = sim
        self.products = products
        self.reviewers = reviewers

    def daily_run(self, when: datetime) -> None:
        run = f"pricing-run-{when:%Y%m%d}"
        active = [p for p in self.products if p.active]
        chosen = self.sim.rng.sample(
            active, min(len(active), max(1, round(5 * self.sim.scale**0.5)))
        )
        root = self.sim.emit(
            self.sim.client.automation_triggered(
                "pricing-run",
                "daily schedule (04:00 UTC)",
                "reprice_catalog",
                name="Pricing Run",
                parameters={"candidates": len(chosen)},
            ).by(PRICING_JOB),
            when,
            duration=self.sim.rng.uniform(40, 120),
            correlation=run,
        )
        if root is None:
            return
        for index, product in enumerate(chosen):
            self._proposal(product, when + timedelta(seconds=30 + 9 * index), root, run)

    def _proposal(self, product: Product, when: datetime, root: Ref, run: str) -> None:
        size = self.sim.pick((("small", 0.5), ("medium", 0.3), ("large", 0.15), ("extreme", 0.05)))
        low, high = {"small": (1, 4), "medium": (5, 14), "large": (15, 28), "extreme": (30, 40)}[
            size
        ]
        percent = self.sim.rng.uniform(low, high) * self.sim.rng.choice((-1, 1))
        new_price = _charm(product.price * Decimal(1 + percent / 100))
        if new_price == product.price or new_price <= 0:
            return
        demand = round(self.sim.rng.uniform(0.6, 1.6), 2)
        competitor = _charm(product.price * Decimal(self.sim.rng.uniform(0.85, 1.15)))
        builder = self.sim.client.dynamic_price_adjusted(
            product.sku,
            product.price,
            new_price,
            model="pricing-rl",
            confidence=round(self.sim.rng.uniform(0.55, 0.97), 2),
            factors={
                "demand_index": demand,
                "competitor_price": money_text(competitor),
                "stock_cover_days": round(
                    product.stock * (product.lead_days + 2) / product.threshold, 1
                ),
            },
            min_price=(product.cost * Decimal("1.15")).quantize(Decimal("0.01")),
            max_price=(product.list_price * Decimal("1.4")).quantize(Decimal("0.01")),
        ).by(PRICING_AI)
        builder.because(
            f"Demand index {demand} and a competitor at {money_text(competitor)} suggest "
            f"{money_text(new_price)} for {product.sku}",
            alternatives=[
                {"action": "keep_price", "price": money_text(product.price)},
                {"action": "match_competitor", "price": money_text(competitor)},
            ],
            rejection_reasons={
                "keep_price": "Leaves margin or volume on the table at current demand",
                "match_competitor": "Competitor price alone ignores our stock position",
            },
        )
        ref = self.sim.emit(builder, when, parent=root, correlation=run)
        if ref is None:
            return
        if not ref.needs_approval:
            product.price = new_price
            return
        verdict = self.reviewers.decide(ref, "pricing", hours=(0.5, 10))
        if verdict is not None and verdict.action == "approve":
            self.sim.schedule(
                verdict.at + self.sim.minutes(1, 3),
                self._apply,
                product,
                new_price,
                ref,
                run,
                verdict.username,
            )

    def _apply(
        self,
        when: datetime,
        product: Product,
        new_price: Decimal,
        parent: Ref,
        run: str,
        approver: str,
    ) -> None:
        if new_price == product.price:
            return
        builder = (
            self.sim.client.price_updated(
                product.sku,
                product.price,
                new_price,
                f"Dynamic price change approved by {approver}",
            )
            .by(PRICING_SERVICE)
            .approved_by(approver)
        )
        if self.sim.emit(builder, when, parent=parent, correlation=run) is not None:
            product.price = new_price

    def manual_price(self, when: datetime) -> None:
        product = self.sim.rng.choice([p for p in self.products if p.active])
        reason, factor = self.sim.rng.choice(
            (
                ("Supplier cost increase of 6 %", 1.06),
                ("Clearance ahead of the new model", 0.8),
                ("Match the manufacturer's new list price", 1.1),
                ("Bundle pricing for the season", 0.92),
            )
        )
        new_price = _charm(product.price * Decimal(factor))
        if new_price == product.price:
            return
        ref = self.sim.emit(
            self.sim.client.price_updated(product.sku, product.price, new_price, reason).by(
                MERCHANDISER
            ),
            when + self.sim.minutes(0, 50),
            correlation=f"price-{product.sku}-{when:%Y%m%d}",
        )
        if ref is not None:
            product.price = new_price


def _charm(price: Decimal) -> Decimal:
    """A shelf price: x.99 from 10 up, else to the cent."""
    if price >= 10:
        return Decimal(int(price)) + Decimal("0.99") - (1 if price % 1 < Decimal("0.5") else 0)
    return price.quantize(Decimal("0.01"))
