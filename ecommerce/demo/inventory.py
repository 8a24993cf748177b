"""Stock: the opening count, nightly low-stock checks, restock orders and deliveries,
cycle counts and write-offs.

Every movement is an inventory object whose ``quantity`` before is the previous
movement's after; only ``Inventory.move_stock`` changes a product's stock.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from decision_trace.builder import TraceBuilder
from decision_trace.ecommerce.event_types import EcommerceEventType as E
from decision_trace.enums import RiskLevel
from decision_trace.values import Actor
from ecommerce.demo.cast import (
    CATALOG_SERVICE,
    FORECAST_AI,
    INVENTORY_JOB,
    PICKERS,
    REPLENISHMENT,
    STOCK_COUNT,
)
from ecommerce.demo.engine import Ref, Simulation
from ecommerce.demo.entities import Product
from ecommerce.demo.reviews import Reviewers

__all__ = ["Inventory"]


class Inventory:
    """The warehouse's stock of ``products``; restocks above the autonomy level need an admin."""

    def __init__(self, sim: Simulation, products: list[Product], reviewers: Reviewers) -> None:
        self.sim = sim
        self.products = products
        self.reviewers = reviewers

    def opening_count(self, when: datetime) -> None:
        for index, product in enumerate(self.products):
            builder = self.sim.client.trace(
                E.INVENTORY_COUNTED, f"Opening stock count of {product.sku}: {product.stock}"
            ).by(STOCK_COUNT)
            builder.affecting_inventory(
                product.sku,
                quantity_before=product.stock,
                quantity_after=product.stock,
                location="WH-1",
            ).because(
                "Opening count at the start of the period matches the system stock",
                context={"counted": product.stock, "system": product.stock},
            ).with_tags("inventory", "stock-count")
            self.sim.emit(
                builder, when + timedelta(seconds=index), correlation=f"count-{when:%Y%m%d}"
            )

    def move_stock(
        self,
        when: datetime,
        product: Product,
        delta: int,
        reason: str,
        parent: Ref | None,
        actor: Actor,
        correlation: str,
        event_type: E = E.INVENTORY_ADJUSTED,
    ) -> Ref | None:
        """Change the stock now; always at the time being played, so movements stay in order."""
        before, after = product.stock, product.stock + delta
        builder: TraceBuilder
        if event_type is E.INVENTORY_ADJUSTED:
            builder = self.sim.client.inventory_adjusted(product.sku, before, after, reason, "WH-1")
        else:
            builder = (
                self.sim.client.trace(event_type, f"{product.sku}: {before} → {after} ({delta:+d})")
                .affecting_inventory(
                    product.sku, quantity_before=before, quantity_after=after, location="WH-1"
                )
                .because(reason)
                .with_data(sku=product.sku, delta=delta)
                .with_tags("inventory")
            )
        ref = self.sim.emit(builder.by(actor), when, parent=parent, correlation=correlation)
        if ref is None:
            return None
        product.stock = after
        if after == 0:
            self.sim.emit(
                self.sim.client.trace(E.PRODUCT_OUT_OF_STOCK, f"{product.name} is out of stock")
                .by(CATALOG_SERVICE)
                .affecting_product(product.sku, {"in_stock": False}, name=product.name)
                .with_risk(RiskLevel.HIGH)
                .with_tags("inventory", "out-of-stock"),
                when + timedelta(seconds=2),
                parent=ref,
                correlation=correlation,
            )
        return ref

    def nightly_run(self, when: datetime, failing: bool) -> None:
        run = f"inventory-sync-{when:%Y%m%d}"
        builder = self.sim.client.automation_triggered(
            "inventory-sync",
            "nightly schedule (02:00 UTC)",
            "check_stock_levels",
            name="Inventory Sync",
            parameters={"skus": len(self.products), "warehouse": "WH-1"},
        ).by(INVENTORY_JOB)
        if failing:
            builder.failed("TimeoutError: warehouse-api did not answer within 30 s")
            self.sim.emit(builder, when, duration=30.2, correlation=run)
            self.sim.schedule(when + timedelta(minutes=20), self.nightly_run, False)
            return
        root = self.sim.emit(builder, when, duration=self.sim.rng.uniform(20, 70), correlation=run)
        if root is None:
            return
        offset = 5
        for product in self.products:
            snoozed = product.snoozed_until is not None and product.snoozed_until > when
            if (
                not product.active
                or product.on_order
                or product.awaiting_approval
                or snoozed
                or product.stock > product.threshold
            ):
                continue
            offset += self.sim.rng.randint(1, 4)
            self._low_stock(product, when + timedelta(seconds=offset), root, run)

    def _low_stock(self, product: Product, when: datetime, root: Ref, run: str) -> None:
        alert = self.sim.emit(
            self.sim.client.inventory_low_stock(
                product.sku, product.stock, product.threshold, "restock"
            ).by(INVENTORY_JOB),
            when,
            parent=root,
            correlation=run,
        )
        if alert is None:
            return
        daily = max(0.3, product.sold / max(1, (when - self.sim.start).days))
        quantity = max(product.reorder_qty, 5 * math.ceil(daily * (product.lead_days + 14) / 5))
        cost = product.cost * quantity
        risk = RiskLevel.LOW if cost < 500 else RiskLevel.MEDIUM if cost < 2000 else RiskLevel.HIGH
        cover = round(product.stock / daily, 1)
        builder = (
            self.sim.client.ai_recommendation(
                "inventory_restock",
                {"sku": product.sku, "quantity": quantity, "supplier": product.supplier},
                {
                    "current_stock": product.stock,
                    "avg_daily_sales": round(daily, 1),
                    "lead_time_days": product.lead_days,
                    "days_of_cover": cover,
                },
                round(self.sim.rng.uniform(0.62, 0.98), 2),
                "demand-forecast-v2",
                affected_objects=[
                    {"type": "inventory", "id": product.sku},
                    {"type": "supplier", "id": product.supplier},
                ],
            )
            .by(FORECAST_AI)
            .because(
                f"{product.stock} left covers {cover} days; the supplier needs "
                f"{product.lead_days}. Ordering {quantity} covers two more weeks.",
                alternatives=[
                    {"action": "expedite", "quantity": quantity, "note": "air freight"},
                    {"action": "wait", "note": "review again tomorrow"},
                    {"action": "order_less", "quantity": product.reorder_qty // 2},
                ],
                rejection_reasons={
                    "expedite": "Air freight adds about 35 % to the cost; regular lead time is "
                    "enough",
                    "wait": f"Stock runs out in {cover} days, before a later order could arrive",
                    "order_less": "Would trigger another order within a week",
                },
            )
            .with_risk(risk)
        )
        recommendation = self.sim.emit(
            builder, when + self.sim.minutes(0.5, 2), parent=alert, correlation=run
        )
        if recommendation is None:
            return
        if not recommendation.needs_approval:
            product.on_order = True
            self.sim.schedule(
                recommendation.at + self.sim.minutes(1, 4),
                self._order_restock,
                product,
                quantity,
                recommendation,
                run,
                None,
            )
            return
        product.awaiting_approval = True
        verdict = self.reviewers.decide(recommendation, "restock", hours=(0.5, 9))
        if verdict is None:
            return
        if verdict.action == "approve":
            product.on_order = True
            self.sim.schedule(
                verdict.at + self.sim.minutes(2, 10),
                self._order_restock,
                product,
                quantity,
                recommendation,
                run,
                verdict.username,
            )
        elif verdict.action == "reject":
            self.sim.schedule(verdict.at, self._snooze, product)

    def _snooze(self, when: datetime, product: Product) -> None:
        product.awaiting_approval = False
        product.snoozed_until = when + timedelta(days=3)

    def _order_restock(
        self,
        when: datetime,
        product: Product,
        quantity: int,
        parent: Ref,
        run: str,
        approver: str | None,
    ) -> None:
        product.awaiting_approval = False
        number = self.sim.serial("po", 5001)
        arrival = (when + timedelta(days=product.lead_days)).date()
        builder = self.sim.client.inventory_restock_ordered(
            product.sku, quantity, product.supplier, arrival, product.cost * quantity
        ).by(REPLENISHMENT)
        reasoning = "Approved restock recommendation" if approver else "Restock within autonomy"
        builder.because(
            f"{reasoning}: purchase order po-{number}",
            context={"purchase_order": f"po-{number}", "lead_time_days": product.lead_days},
        ).with_data(purchase_order=f"po-{number}")
        if approver:
            builder.approved_by(approver)
        if self.sim.rng.random() < 0.06:
            builder.failed("SupplierAPIError: 503 Service Unavailable")
            failed = self.sim.emit(builder, when, parent=parent, duration=4.1, correlation=run)
            if failed is not None:
                self.sim.schedule(
                    when + self.sim.minutes(8, 20),
                    self._order_restock,
                    product,
                    quantity,
                    failed,
                    run,
                    approver,
                )
            return
        ref = self.sim.emit(builder, when, parent=parent, duration=1.3, correlation=run)
        if ref is None:
            return
        received = self.sim.clock(
            when + timedelta(days=product.lead_days), self.sim.rng.randint(8, 15)
        )
        self.sim.schedule(
            received + self.sim.minutes(0, 50), self._receive, product, quantity, ref, run, number
        )

    def _receive(
        self, when: datetime, product: Product, quantity: int, parent: Ref, run: str, po: int
    ) -> None:
        delivered = quantity if self.sim.rng.random() > 0.08 else quantity - max(1, quantity // 4)
        was_empty = product.stock == 0
        short = delivered < quantity
        ref = self.move_stock(
            when,
            product,
            delivered,
            f"Purchase order po-{po} from {product.supplier}: {delivered} of {quantity} "
            f"units received" + (" (short delivery)" if short else ""),
            parent,
            self.sim.rng.choice(PICKERS),
            run,
            E.INVENTORY_RECEIVED,
        )
        if ref is None:
            return
        product.on_order = False
        if was_empty:
            self.sim.emit(
                self.sim.client.trace(E.PRODUCT_RESTOCKED, f"{product.name} is back in stock")
                .by(CATALOG_SERVICE)
                .affecting_product(product.sku, {"in_stock": True}, name=product.name)
                .with_tags("inventory", "restock"),
                when + timedelta(seconds=3),
                parent=ref,
                correlation=run,
            )

    def cycle_count(self, when: datetime) -> None:
        counter = self.sim.rng.choice(PICKERS)
        at = when
        for product in self.products:
            if self.sim.rng.random() <= 0.25:
                at += self.sim.minutes(2, 9)
                self.sim.schedule(at, self._count_one, product, counter, f"count-{when:%Y%m%d}")

    def _count_one(
        self, when: datetime, product: Product, counter: Actor, correlation: str
    ) -> None:
        roll = self.sim.rng.random()
        delta = 0
        if roll < 0.12:
            delta = -min(product.available, self.sim.rng.randint(1, 2))
        elif roll < 0.15:
            delta = 1
        counted = product.stock + delta
        reason = (
            "Cycle count matches the system"
            if delta == 0
            else f"Cycle count found {abs(delta)} "
            + ("fewer (shrinkage)" if delta < 0 else "more (mis-scanned receipt)")
        )
        builder = (
            self.sim.client.trace(E.INVENTORY_COUNTED, f"Cycle count of {product.sku}: {counted}")
            .by(counter)
            .affecting_inventory(
                product.sku,
                quantity_before=product.stock,
                quantity_after=counted,
                location="WH-1",
            )
            .because(reason, context={"counted": counted, "system": product.stock})
            .with_tags("inventory", "stock-count")
        )
        if delta < 0:
            builder.with_risk(RiskLevel.MEDIUM)
        if self.sim.emit(builder, when, correlation=correlation) is not None:
            product.stock = counted

    def write_off(self, when: datetime) -> None:
        product = self.sim.rng.choice(self.products)
        if product.available < 1:
            return
        units = min(product.available, self.sim.rng.randint(1, 3))
        reason = self.sim.rng.choice(
            (
                "Dropped by a forklift during put-away",
                "Water damage from a roof leak in aisle 4",
                "Packaging crushed in storage",
            )
        )
        self.move_stock(
            when,
            product,
            -units,
            f"Written off: {reason}",
            None,
            self.sim.rng.choice(PICKERS),
            f"writeoff-{self.sim.serial('writeoff', 1)}",
            E.INVENTORY_WRITTEN_OFF,
        )
