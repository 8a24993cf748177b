"""Monitoring: the payment outage and the processor failover, and the daily order-volume
check.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from ecommerce.demo.cast import ANOMALY_AI, FAILOVER
from ecommerce.demo.engine import Ref, Simulation
from ecommerce.demo.orders import Orders

__all__ = ["Monitoring"]


class Monitoring:
    """The anomaly watcher over orders and payments."""

    def __init__(self, sim: Simulation, orders: Orders) -> None:
        self.sim = sim
        self.orders = orders

    def outage_detected(self, when: datetime, start: datetime, end: datetime) -> None:
        observed = round(self.sim.rng.uniform(0.55, 0.7), 3)
        anomaly = self.sim.emit(
            self.sim.client.anomaly_detected(
                "payment_failure_spike",
                "payment_failure_rate",
                observed,
                0.045,
                "anomaly-watch",
                confidence=0.97,
                window=f"{start:%Y-%m-%d %H:%M}-{when:%H:%M} UTC",
                context={"processor": "stripe", "error_code": "processing_error"},
            ).by(ANOMALY_AI),
            when,
            correlation=f"incident-{start:%Y%m%d}",
        )
        if anomaly is None:
            return
        failover = self.sim.emit(
            self.sim.client.automation_triggered(
                "processor-failover",
                "anomaly: payment_failure_spike",
                "route_cards_to_adyen",
                name="Processor Failover",
                rule="card failure rate > 30 % for 10 min",
                trigger_event_id=anomaly.id,
            ).by(FAILOVER),
            when + timedelta(seconds=20),
            parent=anomaly,
            correlation=f"incident-{start:%Y%m%d}",
        )
        if failover is not None:
            self.orders.failover = True
            self.sim.schedule(end + timedelta(minutes=5), self._outage_over, failover, start)

    def _outage_over(self, when: datetime, parent: Ref, start: datetime) -> None:
        self.orders.failover = False
        self.sim.emit(
            self.sim.client.automation_triggered(
                "processor-failover",
                "stripe status page: incident resolved",
                "route_cards_to_stripe",
                name="Processor Failover",
            ).by(FAILOVER),
            when,
            parent=parent,
            correlation=f"incident-{start:%Y%m%d}",
        )

    def volume_check(self, when: datetime) -> None:
        """Compare yesterday's orders with the week before (whole days in the period only)."""
        yesterday = when.date() - timedelta(days=1)
        first_whole_day = (self.sim.start + timedelta(days=1)).date()
        history = [
            self.orders.by_day.get(yesterday - timedelta(days=back), 0)
            for back in range(1, 8)
            if yesterday - timedelta(days=back) >= first_whole_day
        ]
        if len(history) < 3:
            return
        expected = round(sum(history) / len(history), 1)
        observed = self.orders.by_day.get(yesterday, 0)
        if expected < 5 or abs(observed - expected) < expected * 0.3:
            return
        kind = "order_volume_spike" if observed > expected else "order_volume_drop"
        self.sim.emit(
            self.sim.client.anomaly_detected(
                kind,
                "orders_per_day",
                observed,
                Decimal(str(expected)),
                "anomaly-watch",
                confidence=round(self.sim.rng.uniform(0.75, 0.95), 2),
                window=f"{yesterday:%Y-%m-%d}",
                context={"trailing_days": len(history)},
            ).by(ANOMALY_AI),
            when,
            duration=self.sim.rng.uniform(2, 9),
            correlation=f"volume-{yesterday:%Y%m%d}",
        )
