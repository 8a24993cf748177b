"""The demo store: a deterministic simulation of an online shop, as trace events.

``DemoStore(seed=..., days=..., scale=..., now=...)`` plays ``days`` of a
store's life up to ``now`` and yields its events in time order, in batches,
built with ``EcommerceClient`` (so each carries the same types, objects,
states, tags and risk as hand-written code would). Nothing here touches the
database: ``ecommerce.services.demo_store_seed`` stores the batches and then
applies ``reviews``, the admins' decisions on the events that needed approval.

**Deterministic.** Every choice comes from one ``random.Random(seed)`` and
every time is an offset from ``now``, so the same seed, days, scale and
``now`` give the same events: the same ids (time-ordered UUIDs made from the
event's time and the generator), times, amounts, texts and reviews. With
another ``now`` the same story is shifted in time.

**Consistent.** Stock is tracked per SKU: every movement (opening count,
picks, restock deliveries, returns put back, write-offs, cycle counts) is an
inventory object whose ``quantity`` before is the previous movement's after.
An order reserves its units, so picks never overdraw. An order's events are
one tree under its ``order.created`` with the order id as correlation id;
every child starts after its parent; a payment dispute (and its chargeback)
is a child of the payment it disputes. Nothing happens after ``now``: orders
still in flight at the end simply stop there.

One module per storyline (``catalog``, ``inventory``, ``pricing``,
``customers``, ``marketing``, ``orders``, ``fulfilment``, ``returns``,
``disputes``, ``support``, ``carts``, ``monitoring``), on one ``engine``
(the clock, the random generator and the tape); ``store`` wires them together
and plans the days; ``reviews`` plans the admins' decisions on what needs approval.
"""

from __future__ import annotations

from ecommerce.demo.options import (
    DEMO_SOURCE,
    MAX_DAYS,
    MAX_EVENTS,
    MAX_SCALE,
    MAX_SEED,
    MIN_SCALE,
    demo_options_check,
    estimated_events,
)
from ecommerce.demo.reviews import DEMO_STAFF, DemoReview, DemoStaff
from ecommerce.demo.store import DemoStore

__all__ = [
    "DEMO_SOURCE",
    "DEMO_STAFF",
    "MAX_DAYS",
    "MAX_EVENTS",
    "MAX_SCALE",
    "MAX_SEED",
    "MIN_SCALE",
    "DemoReview",
    "DemoStaff",
    "DemoStore",
    "demo_options_check",
    "estimated_events",
]
