"""Fulfilment: shipments picked, packed, shipped and delivered (a failed attempt now and
then), and what may follow a delivery: a return, a ticket or a dispute.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from decision_trace.builder import TraceBuilder
from decision_trace.ecommerce.event_types import EcommerceEventType as E
from ecommerce.demo.cast import CARRIERS, FULFILLMENT, ORDER_SERVICE, PACKERS, PICKERS, WMS
from ecommerce.demo.disputes import Disputes
from ecommerce.demo.engine import Ref, Simulation
from ecommerce.demo.entities import Order, Product
from ecommerce.demo.inventory import Inventory
from ecommerce.demo.returns import Returns
from ecommerce.demo.support import Support

__all__ = ["Fulfilment"]


class Fulfilment:
    """A paid order's way from the warehouse to the customer's door."""

    def __init__(
        self,
        sim: Simulation,
        inventory: Inventory,
        returns: Returns,
        support: Support,
        disputes: Disputes,
    ) -> None:
        self.sim = sim
        self.inventory = inventory
        self.returns = returns
        self.support = support
        self.disputes = disputes

    def create_shipment(self, when: datetime, order: Order, parent: Ref | None) -> None:
        if order.status != "paid":
            return
        carrier = self.sim.pick((("ups", 0.45), ("dhl", 0.3), ("usps", 0.25)))
        shipment_id = f"shp-{order.seq}"
        ref = self.sim.emit(
            self.sim.client.shipment_created(
                shipment_id,
                order.id,
                carrier,
                items=[{"sku": p.sku, "qty": qty} for p, qty, _ in order.lines],
            ).by(FULFILLMENT),
            when,
            parent=parent or order.payment,
            duration=self.sim.rng.uniform(0.2, 2),
        )
        if ref is None:
            return
        order.status = "fulfilling"
        order.shipment, order.shipment_id, order.carrier = ref, shipment_id, carrier
        pick_at = self.sim.office(when + self.sim.minutes(15, 240))
        self.sim.schedule(pick_at, self._pick_order, order, ref)

    def _pick_order(self, when: datetime, order: Order, shipment: Ref) -> None:
        took = self.sim.rng.uniform(3, 15) * 60
        picked = self.sim.emit(
            self.sim.client.trace(E.SHIPMENT_PICKED, f"Shipment {order.shipment_id} picked")
            .by(self.sim.rng.choice(PICKERS))
            .affecting_shipment(order.shipment_id, {"status": "picked"})
            .with_data(lines=len(order.lines))
            .with_tags("shipment", "warehouse"),
            when,
            parent=shipment,
            duration=took,
            correlation=order.id,
        )
        if picked is None:
            return
        for index, (product, qty, _) in enumerate(order.lines):
            self.sim.schedule(
                when + timedelta(seconds=10 + 20 * index),
                self._pick_line,
                order,
                product,
                qty,
                picked,
            )
        self.sim.schedule(
            when + timedelta(seconds=took) + self.sim.minutes(5, 40), self._pack, order, shipment
        )

    def _pick_line(
        self, when: datetime, order: Order, product: Product, qty: int, picked: Ref
    ) -> None:
        product.reserved -= qty
        product.sold += qty
        self.inventory.move_stock(
            when, product, -qty, f"Picked {qty} for order {order.id}", picked, WMS, order.id
        )

    def _pack(self, when: datetime, order: Order, shipment: Ref) -> None:
        weight = round(sum(qty for _, qty, _ in order.lines) * self.sim.rng.uniform(0.3, 1.6), 2)
        packed = self.sim.emit(
            self.sim.client.trace(E.SHIPMENT_PACKED, f"Shipment {order.shipment_id} packed")
            .by(self.sim.rng.choice(PACKERS))
            .affecting_shipment(order.shipment_id, {"status": "packed", "weight_kg": weight})
            .with_tags("shipment", "warehouse"),
            when,
            parent=shipment,
            duration=self.sim.rng.uniform(2, 8) * 60,
            correlation=order.id,
        )
        if packed is None:
            return
        pickup = self.sim.clock(when, 17, 30)
        if when >= pickup - timedelta(minutes=30):
            pickup += timedelta(days=1)
        self.sim.schedule(pickup + self.sim.minutes(0, 25), self._ship, order, shipment)

    def _ship(self, when: datetime, order: Order, shipment: Ref) -> None:
        order.tracking = self._tracking(order.carrier)
        transit = self.sim.rng.choice((1, 2, 2, 3, 3, 4))
        estimated = (when + timedelta(days=transit)).date()
        shipped = self.sim.emit(
            self.sim.client.shipment_shipped(
                order.shipment_id, order.id, order.tracking, order.carrier, estimated
            ).by(CARRIERS[order.carrier]),
            when,
            parent=shipment,
        )
        if shipped is None:
            return
        order.status = "shipped"
        self.sim.schedule(when + self.sim.minutes(240, 600), self._in_transit, order)
        delivery_day = when + timedelta(days=transit + (1 if self.sim.rng.random() < 0.1 else 0))
        self.sim.schedule(
            self.sim.clock(delivery_day, 7) + self.sim.minutes(0, 90),
            self._out_for_delivery,
            order,
            1,
        )

    def _carrier_event(
        self, order: Order, event_type: E, description: str, state: dict[str, Any], when: datetime
    ) -> TraceBuilder:
        return (
            self.sim.client.trace(event_type, description)
            .by(CARRIERS[order.carrier])
            .affecting_shipment(order.shipment_id, state)
            .with_data(tracking_number=order.tracking, carrier=order.carrier)
            .with_tags("shipment")
        )

    def _in_transit(self, when: datetime, order: Order) -> None:
        hub = self.sim.rng.choice(("Louisville hub", "Leipzig hub", "Memphis hub", "Chicago hub"))
        self.sim.emit(
            self._carrier_event(
                order,
                E.SHIPMENT_IN_TRANSIT,
                f"Shipment {order.shipment_id} in transit via {hub}",
                {"status": "in_transit", "location": hub},
                when,
            ),
            when,
            parent=order.shipment,
            correlation=order.id,
        )

    def _out_for_delivery(self, when: datetime, order: Order, attempt: int) -> None:
        out = self.sim.emit(
            self._carrier_event(
                order,
                E.SHIPMENT_OUT_FOR_DELIVERY,
                f"Shipment {order.shipment_id} out for delivery",
                {"status": "out_for_delivery", "attempt": attempt},
                when,
            ),
            when,
            parent=order.shipment,
            correlation=order.id,
        )
        if out is None:
            return
        arrive = when + self.sim.minutes(60, 600)
        if attempt == 1 and self.sim.rng.random() < 0.04:
            self.sim.schedule(arrive, self._delivery_failed, order)
        else:
            self.sim.schedule(arrive, self._deliver, order)

    def _delivery_failed(self, when: datetime, order: Order) -> None:
        failed = self.sim.emit(
            self._carrier_event(
                order,
                E.SHIPMENT_FAILED,
                f"Delivery of {order.shipment_id} failed",
                {"status": "delivery_failed"},
                when,
            )
            .failed("Recipient not available; a card was left", {"next_attempt": "next day"})
            .with_tags("delivery-failure"),
            when,
            parent=order.shipment,
            correlation=order.id,
        )
        if failed is not None:
            next_day = self.sim.clock(when + timedelta(days=1), 7) + self.sim.minutes(0, 90)
            self.sim.schedule(next_day, self._out_for_delivery, order, 2)

    def _deliver(self, when: datetime, order: Order) -> None:
        signature = order.customer.name.split()[0] if order.total > 150 else None
        delivered = self.sim.emit(
            self.sim.client.shipment_delivered(
                order.shipment_id, order.id, delivery_time=when, signature=signature
            ).by(CARRIERS[order.carrier]),
            when,
            parent=order.shipment,
        )
        if delivered is None:
            return
        order.status = "delivered"
        completed = self.sim.emit(
            self.sim.client.trace(E.ORDER_COMPLETED, f"Order {order.id} completed")
            .by(ORDER_SERVICE)
            .affecting_order(order.id, {"status": "completed"})
            .with_tags("order"),
            when + self.sim.minutes(1, 5),
            parent=order.root,
            correlation=order.id,
        )
        if completed is None:
            return
        order.customer.lifetime += order.total
        if self.sim.rng.random() < 0.07:
            self.sim.schedule(
                when + self.sim.minutes(60 * 20, 60 * 24 * 12), self.returns.request_return, order
            )
        elif self.sim.rng.random() < 0.03:
            self.sim.schedule(
                when + self.sim.minutes(60, 60 * 48), self.support.order_ticket, order
            )
        elif self.sim.rng.random() < 0.01:
            self.sim.schedule(
                when + self.sim.minutes(60 * 24 * 2, 60 * 24 * 20), self.disputes.dispute, order
            )

    def _tracking(self, carrier: str) -> str:
        if carrier == "ups":
            alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
            return "1Z" + "".join(self.sim.rng.choice(alphabet) for _ in range(16))
        if carrier == "dhl":
            return "".join(str(self.sim.rng.randint(0, 9)) for _ in range(10))
        return "9400" + "".join(str(self.sim.rng.randint(0, 9)) for _ in range(18))
