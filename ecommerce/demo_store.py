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
"""

from __future__ import annotations

import heapq
import math
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from decision_trace.builder import TraceBuilder
from decision_trace.ecommerce.event_types import EcommerceEventType as E
from decision_trace.ecommerce.validation import money_text
from decision_trace.enums import ObjectType, RiskLevel
from decision_trace.values import Actor, DecisionTrace, TraceEvent, assemble
from ecommerce.client import EcommerceClient
from ecommerce.exceptions import DEMO_OPTION, DEMO_TOO_LARGE, DemoStoreOptionError

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

# Every demo event names this source system; it is how the demo is found again.
DEMO_SOURCE = "seed_demo"
# Events per simulated day at scale 1.0 (measured: about 1,000).
_EVENTS_PER_DAY = 1_150
MAX_DAYS = 365
MIN_SCALE = 0.01
MAX_SCALE = 10.0
MAX_SEED = 2**63 - 1
MAX_EVENTS = 1_000_000


def estimated_events(*, days: int, scale: float) -> int:
    """Roughly how many events ``DemoStore`` makes for these options."""
    return round(days * scale * _EVENTS_PER_DAY)


def demo_options_check(*, days: object, scale: object, seed: object, now: object) -> None:
    """Refuse options out of range with ``DemoStoreOptionError`` saying what to pass.

    ``days``: an int from 1 to ``MAX_DAYS``; ``scale``: a number from
    ``MIN_SCALE`` to ``MAX_SCALE``; ``seed``: an int from 0 to ``MAX_SEED``;
    ``now``: an aware datetime not in the future; and together at most
    ``MAX_EVENTS`` estimated events.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise DemoStoreOptionError(
            DEMO_OPTION.format(
                name="days", expected=f"a whole number from 1 to {MAX_DAYS}", got=days
            )
        )
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int | float)
        or not math.isfinite(scale)
        or not MIN_SCALE <= scale <= MAX_SCALE
    ):
        raise DemoStoreOptionError(
            DEMO_OPTION.format(
                name="scale", expected=f"a number from {MIN_SCALE} to {MAX_SCALE}", got=scale
            )
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise DemoStoreOptionError(
            DEMO_OPTION.format(
                name="seed", expected=f"a whole number from 0 to {MAX_SEED}", got=seed
            )
        )
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise DemoStoreOptionError(
            DEMO_OPTION.format(name="now", expected="an aware datetime", got=now)
        )
    if now > datetime.now(UTC):
        raise DemoStoreOptionError(
            DEMO_OPTION.format(name="now", expected="a time not in the future", got=now.isoformat())
        )
    events = estimated_events(days=days, scale=scale)
    if events > MAX_EVENTS:
        raise DemoStoreOptionError(DEMO_TOO_LARGE.format(events=events, maximum=MAX_EVENTS))


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
class _Ref:
    """A stored-to-be event: its id and time (a child must start later)."""

    id: str
    at: datetime
    needs_approval: bool = False


@dataclass(frozen=True)
class _Verdict:
    action: str
    at: datetime
    username: str


@dataclass
class _Product:
    sku: str
    name: str
    category: str
    supplier: str
    price: Decimal
    list_price: Decimal
    cost: Decimal
    stock: int
    threshold: int
    reorder_qty: int
    lead_days: int
    weight: float
    reserved: int = 0
    on_order: bool = False
    awaiting_approval: bool = False
    snoozed_until: datetime | None = None
    active: bool = True
    sold: int = 0

    @property
    def available(self) -> int:
        return self.stock - self.reserved


@dataclass
class _Customer:
    id: str
    name: str
    email: str
    tier: str
    lifetime: Decimal
    joined: datetime | None = None
    blocked: bool = False
    returns: int = 0
    _actor: Actor | None = None

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            self._actor = Actor.user(self.id, self.name, email=self.email, role="customer")
        return self._actor


@dataclass
class _Order:
    id: str
    seq: int
    customer: _Customer
    lines: list[tuple[_Product, int, Decimal]]
    subtotal: Decimal
    discount: Decimal
    total: Decimal
    method: str
    root: _Ref
    status: str = "created"
    payment: _Ref | None = None
    payment_id: str = ""
    processor: str = ""
    shipment: _Ref | None = None
    shipment_id: str = ""
    carrier: str = ""
    tracking: str = ""


@dataclass
class _Campaign:
    id: str
    name: str
    coupon: str
    percent: int
    start: datetime
    end: datetime
    ref: _Ref | None = None


# Quiet at night, busy at lunch and in the evening (UTC); shares of a day's arrivals.
_HOURLY_WEIGHTS = (2, 1, 1, 1, 1, 2, 4, 7, 9, 10, 11, 12, 14, 13, 11, 10, 10, 12, 16, 18, 17, 14,
                   9, 5)  # fmt: skip
_HOURLY_SHARE = tuple(weight / sum(_HOURLY_WEIGHTS) for weight in _HOURLY_WEIGHTS)
_TIER_FLOORS = (("platinum", Decimal(5000)), ("gold", Decimal(1500)), ("silver", Decimal(500)))
_CATALOG = (
    ("KIT", "Kitchen", "sup-northwind", (18, 140), ("Chef's Knife", "Cast Iron Skillet",
     "Pour-Over Kettle", "Bamboo Cutting Board", "Spice Grinder", "Dutch Oven",
     "Salad Spinner", "Espresso Tamper")),
    ("HOM", "Home", "sup-hearth", (12, 160), ("Linen Throw", "Ceramic Vase", "Wool Rug",
     "Scented Candle", "Wall Clock", "Table Lamp", "Storage Basket", "Picture Frame")),
    ("OUT", "Outdoor", "sup-summit", (15, 180), ("Trail Backpack", "Camping Lantern",
     "Water Bottle", "Hammock", "Rain Jacket", "Folding Chair", "Headlamp", "Trekking Poles")),
    ("ELE", "Electronics", "sup-voltline", (9, 120), ("Wireless Earbuds", "USB-C Charger",
     "Smart Plug", "Bluetooth Speaker", "Phone Stand", "Power Bank", "HDMI Cable", "Webcam")),
    ("APP", "Apparel", "sup-loomworks", (10, 110), ("Merino T-Shirt", "Running Socks",
     "Canvas Sneakers", "Denim Jacket", "Rain Hat", "Fleece Pullover", "Leather Belt",
     "Beanie")),
    ("BEA", "Beauty", "sup-bloom", (6, 60), ("Face Serum", "Hand Cream", "Lip Balm",
     "Shampoo Bar", "Sunscreen SPF 50", "Bath Salts", "Hair Brush", "Body Lotion")),
    ("TOY", "Toys", "sup-playfair", (8, 90), ("Wooden Blocks", "Puzzle 1000", "Plush Bear",
     "Kite", "Board Game", "Art Set", "Toy Train", "Yo-Yo")),
    ("PET", "Pets", "sup-pawsome", (7, 95), ("Dog Leash", "Cat Tree", "Chew Toy", "Pet Bed",
     "Food Bowl", "Cat Litter", "Bird Feeder", "Dog Shampoo")),
)  # fmt: skip
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
_CHANNELS = (("web", 0.55), ("ios", 0.25), ("android", 0.2))
_METHODS = (("card", 0.72), ("paypal", 0.2), ("apple_pay", 0.08))
_DECLINES = (
    ("card_declined", "The card was declined by the issuer."),
    ("insufficient_funds", "The card has insufficient funds."),
    ("expired_card", "The card has expired."),
    ("incorrect_cvc", "The card's security code is incorrect."),
)
_DISPUTE_REASONS = (
    ("product_not_received", "the customer says the parcel never arrived"),
    ("fraudulent", "the cardholder does not recognise the charge"),
    ("not_as_described", "the customer says the goods differ from the listing"),
)
_CANCEL_REASONS = (
    "Ordered the wrong size",
    "Found a better price elsewhere",
    "No longer needed",
    "Delivery estimate is too long",
    "Ordered by mistake",
)
_RETURN_REASONS = (
    ("Arrived damaged in transit", False),
    ("Wrong size", True),
    ("Not as described on the product page", True),
    ("Changed my mind", True),
    ("Stopped working after two days", False),
)
_TICKET_TOPICS = (
    ("Where is my order?", "shipping", True),
    ("Please change my delivery address", "shipping", True),
    ("I need an invoice for my order", "billing", True),
    ("Charged twice for one order", "billing", True),
    ("How do I reset my password?", "account", False),
    ("Is this product compatible with EU plugs?", "product", False),
    ("Please delete my account", "account", False),
)
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


def _system(name: str) -> Actor:
    return Actor.system(name, component=name)


_ORDER_SERVICE = _system("order-service")
_CHECKOUT = _system("checkout-service")
_FULFILLMENT = _system("fulfillment-engine")
_WMS = _system("warehouse-wms")
_IDENTITY = _system("identity-service")
_CATALOG_SERVICE = _system("catalog-service")
_PRICING_SERVICE = _system("pricing-service")
_FRAUD_AI = Actor.ai_agent("fraud-guard", "Fraud Guard", model="fraud-gbm", version="3.2")
_FORECAST_AI = Actor.ai_agent(
    "demand-forecaster", "Demand Forecaster", model="demand-forecast-v2", version="2.4"
)
_PRICING_AI = Actor.ai_agent(
    "dynamic-pricing", "Dynamic Pricing", model="pricing-rl", version="2.1"
)
_ANOMALY_AI = Actor.ai_agent(
    "anomaly-watch", "Anomaly Watch", model="isolation-forest", version="1.8"
)
_TRIAGE_AI = Actor.ai_agent(
    "support-triage", "Support Triage", model="ticket-classifier", version="5.0"
)
_INVENTORY_JOB = Actor.compute("inventory-sync", "Inventory Sync", service_name="warehouse-api")
_REPLENISHMENT = Actor.compute("replenishment", "Replenishment", service_name="procurement")
_LOYALTY_JOB = Actor.compute("loyalty-tiers", "Loyalty Tiers", service_name="crm")
_CART_JOB = Actor.compute("cart-abandonment", "Abandoned Carts", service_name="storefront")
_RETURNS_POLICY = Actor.compute("returns-policy", "Returns Policy", service_name="returns")
_STOCK_COUNT = Actor.compute("stock-count", "Stock Count", service_name="warehouse-api")
_EMAIL_JOB = Actor.compute("email-dispatch", "E-mail Dispatch", service_name="messaging")
_PRICING_JOB = Actor.compute("pricing-run", "Pricing Run", service_name="pricing")
_FAILOVER = Actor.compute("processor-failover", "Processor Failover", service_name="payments")
_PROCESSORS = {
    "stripe": Actor.external("stripe", "Stripe", service_name="payments"),
    "adyen": Actor.external("adyen", "Adyen", service_name="payments"),
    "paypal": Actor.external("paypal", "PayPal", service_name="payments"),
}
_CARRIERS = {
    "ups": Actor.external("ups", "UPS", service_name="shipping"),
    "dhl": Actor.external("dhl", "DHL Express", service_name="shipping"),
    "usps": Actor.external("usps", "USPS", service_name="shipping"),
}


def _staff(key: str, name: str, role: str) -> Actor:
    first, last = name.split()
    return Actor.user(f"staff-{key}", name, email=f"{first}.{last}@shop.example".lower(), role=role)


_PICKERS = (
    _staff("ana", "Ana Lima", "warehouse"),
    _staff("tom", "Tom Becker", "warehouse"),
    _staff("yuki", "Yuki Sato", "warehouse"),
)
_PACKERS = (_staff("sam", "Sam Carter", "warehouse"), _staff("lea", "Lea Roth", "warehouse"))
_SUPPORT = (
    _staff("maria", "Maria Gomez", "support"),
    _staff("dev", "Dev Patel", "support"),
    _staff("jo", "Jo Nakamura", "support"),
)
_SENIOR_SUPPORT = _staff("grace", "Grace Hall", "support lead")
_MERCHANDISER = _staff("nina", "Nina Berg", "merchandising")
_MARKETER = _staff("oscar", "Oscar Diaz", "marketing")


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
        self.rng = random.Random(seed)
        self.end = now.astimezone(UTC)
        self.start = self.end - timedelta(days=days)
        self.days = days
        self.scale = scale
        self.client = EcommerceClient(currency=currency)
        self.reviews: list[DemoReview] = []
        self.counts: dict[str, int] = {}
        self.orders_placed = 0
        self.approvals = 0
        self._queue: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0
        self._out: list[TraceEvent] = []
        self._serial: dict[str, int] = {}
        self._per_milli: dict[int, int] = {}
        self._products = self._catalog()
        self._customers = self._existing_customers()
        self._new_customers: list[_Customer] = []
        self._campaigns: list[_Campaign] = []
        self._orders_by_day: dict[date, int] = {}
        self._processor_down: tuple[datetime, datetime] | None = None
        self._failover = False

    # The engine ----------------------------------------------------------

    def batches(self, size: int) -> Iterator[tuple[list[TraceEvent], float]]:
        """Yield ``(events, progress)``: events in time order, progress from 0 to 1."""
        self._plan()
        span = (self.end - self.start).total_seconds()
        while self._queue:
            when, _, action, args = heapq.heappop(self._queue)
            action(when, *args)
            if len(self._out) >= size:
                yield self._flush(), (when - self.start).total_seconds() / span
        self.reviews.sort(key=lambda review: review.at)
        yield self._flush(), 1.0

    def _flush(self) -> list[TraceEvent]:
        batch, self._out = self._out, []
        return batch

    def _schedule(self, when: datetime, action: Callable[..., None], *args: Any) -> None:
        if self.start <= when < self.end:
            self._seq += 1
            heapq.heappush(self._queue, (when, self._seq, action, args))

    def _emit(
        self,
        builder: TraceBuilder,
        at: datetime,
        *,
        parent: _Ref | None = None,
        duration: float = 0.0,
        correlation: str | None = None,
    ) -> _Ref | None:
        """Finish the event at ``at`` with a deterministic id; ``None`` if that is after the end."""
        if at >= self.end:
            return None
        builder.at(at).with_source(DEMO_SOURCE)
        if duration:
            builder.with_duration(round(duration, 1))
        if correlation is not None:
            builder.with_correlation(correlation)
        event = builder.build()
        decision = event.decision
        # build() validated every value; only the generator's ids change, so the
        # objects are re-assembled without validating them all again.
        if decision is not None:
            decision = assemble(
                DecisionTrace, **{**_values(decision), "id": f"{self.rng.getrandbits(128):032x}"}
            )
        event = assemble(
            TraceEvent,
            **{
                **_values(event),
                "id": self._event_id(at),
                "parent_event_id": None if parent is None else parent.id,
                "decision": decision,
            },
        )
        self._out.append(event)
        family = event.event_type.partition(".")[0]
        self.counts[family] = self.counts.get(family, 0) + 1
        needs_approval = decision is not None and decision.requires_approval
        self.approvals += needs_approval
        return _Ref(event.id, at, needs_approval)

    def _event_id(self, at: datetime) -> str:
        """A version 7 UUID as traces makes them, from the event's time and the generator.

        Events of the same millisecond count up in the 12 bits after the time,
        so ordering by ``(time, id)`` is the order they happened in.
        """
        millis = int(at.timestamp() * 1000)
        count = self._per_milli[millis] = self._per_milli.get(millis, -1) + 1
        value = (millis & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | count << 64
        value |= 0b10 << 62 | self.rng.getrandbits(62)
        return str(uuid.UUID(int=value))

    def _next(self, kind: str, first: int = 1) -> int:
        self._serial[kind] = self._serial.get(kind, first - 1) + 1
        return self._serial[kind]

    # Randomness helpers --------------------------------------------------

    def _pick(self, weighted: tuple[tuple[str, float], ...]) -> str:
        roll = self.rng.random() * sum(weight for _, weight in weighted)
        for value, weight in weighted:
            roll -= weight
            if roll < 0:
                return value
        return weighted[-1][0]

    def _poisson(self, mean: float) -> int:
        if mean <= 0:
            return 0
        if mean > 30:
            return max(0, round(self.rng.gauss(mean, math.sqrt(mean))))
        limit, count, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            count += 1
            product *= self.rng.random()
        return count

    def _minutes(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=round(self.rng.uniform(low, high) * 60))

    def _office(self, when: datetime) -> datetime:
        """``when``, or the next working hour (08:00-19:00 UTC) with a few minutes' lag."""
        if 8 <= when.hour < 19:
            return when
        day = when if when.hour < 8 else when + timedelta(days=1)
        opening = day.replace(hour=8, minute=0, second=0, microsecond=0)
        return opening + self._minutes(5, 90)

    def _clock(self, day: datetime, hour: int, minute: int = 0) -> datetime:
        return day.replace(hour=hour, minute=minute, second=0, microsecond=0)

    # The store as it stands at the start ---------------------------------

    def _catalog(self) -> list[_Product]:
        count = min(64, max(12, round(48 * math.sqrt(self.scale))))
        products: list[_Product] = []
        for index in range(count):
            code, category, supplier, (low, high), names = _CATALOG[index % len(_CATALOG)]
            name = names[index // len(_CATALOG)]
            price = Decimal(self.rng.randint(low, high)) - Decimal("0.01")
            cost = (price * Decimal(self.rng.uniform(0.42, 0.62))).quantize(Decimal("0.01"))
            products.append(
                _Product(
                    sku=f"{code}-{1001 + index // len(_CATALOG)}",
                    name=name,
                    category=category,
                    supplier=supplier,
                    price=price,
                    list_price=price,
                    cost=cost,
                    stock=0,
                    threshold=0,
                    reorder_qty=0,
                    lead_days=self.rng.randint(3, 9),
                    weight=1 / (1 + index * 0.15) * self.rng.uniform(0.6, 1.4),
                )
            )
        units_per_day = 70 * self.scale * 1.7 * 1.25
        total_weight = sum(p.weight for p in products)
        for product in products:
            demand = max(0.2, units_per_day * product.weight / total_weight)
            product.threshold = max(3, math.ceil(demand * (product.lead_days + 2)))
            product.reorder_qty = max(10, 5 * math.ceil(demand * 21 / 5))
            product.stock = product.threshold + math.ceil(demand * self.rng.uniform(2, 16))
        return products

    def _existing_customers(self) -> list[_Customer]:
        customers = []
        for _ in range(max(20, round(900 * self.scale))):
            customers.append(self._customer(lifetime=self._lifetime()))
        return customers

    def _lifetime(self) -> Decimal:
        return Decimal(round(math.exp(self.rng.gauss(5.6, 1.1)), 2)).quantize(Decimal("0.01"))

    def _customer(self, *, lifetime: Decimal, joined: datetime | None = None) -> _Customer:
        number = self._next("customer", 10001)
        first, last = self.rng.choice(_FIRST), self.rng.choice(_LAST)
        return _Customer(
            id=f"cust-{number}",
            name=f"{first} {last}",
            email=f"{first}.{last}.{number}@example.com".lower(),
            tier=_tier(lifetime),
            lifetime=lifetime,
            joined=joined,
        )

    # What happens when ----------------------------------------------------

    def _plan(self) -> None:
        """Schedule the opening count, the arrivals hour by hour and the recurring jobs."""
        self._schedule(self.start + timedelta(minutes=5), self._opening_count)
        if self.days >= 2:
            down = self._clock(
                self.start + timedelta(days=self.rng.randint(self.days // 3, self.days - 1)), 14
            )
            self._processor_down = (down, down + timedelta(minutes=75))
            self._schedule(
                down + timedelta(minutes=12), self._outage_detected, *self._processor_down
            )
        failing_night = self.rng.randint(1, max(1, self.days - 1))
        self._plan_campaigns()
        launch_day = self.days // 2
        first_day = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(self.days + 1):
            day = first_day + timedelta(days=offset)
            self._schedule(self._clock(day, 0, 30), self._volume_check)
            self._schedule(self._clock(day, 1), self._loyalty_run)
            self._schedule(self._clock(day, 2), self._inventory_run, offset == failing_night)
            self._schedule(self._clock(day, 4), self._pricing_run)
            if day.weekday() == 0:
                self._schedule(self._clock(day, 3), self._forecast_run)
            if day.weekday() == 6:
                self._schedule(self._clock(day, 6), self._cycle_count)
            if offset == launch_day:
                self._schedule(self._clock(day, 10, 15), self._launch_product)
                self._schedule(self._clock(day, 11, 40), self._discontinue_product)
            if self.rng.random() < 0.5:
                self._schedule(self._clock(day, self.rng.randint(9, 17)), self._manual_price)
            if self.rng.random() < 0.3:
                self._schedule(self._clock(day, self.rng.randint(9, 17)), self._write_off)
            self._plan_arrivals(day)

    def _plan_campaigns(self) -> None:
        for index in range(max(1, round(self.days / 12))):
            first = self.rng.randint(0, max(0, self.days - 6))
            length = self.rng.randint(4, 8)
            start = self.start + timedelta(days=first, hours=self.rng.randint(8, 11))
            number = self._next("campaign", 201)
            percent = self.rng.choice((10, 15, 20))
            name = ("Spring Refresh", "Weekend Flash Sale", "Back to Basics", "Summer Picks")[
                index % 4
            ]
            campaign = _Campaign(
                id=f"cmp-{number}",
                name=name,
                coupon=f"{name.split()[0].upper()}{percent}",
                percent=percent,
                start=start,
                end=start + timedelta(days=length),
            )
            self._campaigns.append(campaign)
            self._schedule(start, self._campaign_launch, campaign)
            self._schedule(campaign.end, self._campaign_end, campaign)

    def _plan_arrivals(self, day: datetime) -> None:
        weekend = 1.2 if day.weekday() >= 5 else 1.0
        for hour, share in enumerate(_HOURLY_SHARE):
            start = day + timedelta(hours=hour)
            boost = 1.4 if any(c.start <= start < c.end for c in self._campaigns) else 1.0
            for per_day, action in (
                (70 * boost * weekend, self._place_order),
                (25, self._register),
                (18 * weekend, self._abandoned_cart),
                (5, self._general_ticket),
            ):
                for _ in range(self._poisson(per_day * self.scale * share)):
                    self._schedule(start + timedelta(seconds=self.rng.randint(0, 3599)), action)

    # Catalogue and stock --------------------------------------------------

    def _opening_count(self, when: datetime) -> None:
        for index, product in enumerate(self._products):
            builder = self.client.trace(
                E.INVENTORY_COUNTED, f"Opening stock count of {product.sku}: {product.stock}"
            ).by(_STOCK_COUNT)
            builder.affecting_inventory(
                product.sku,
                quantity_before=product.stock,
                quantity_after=product.stock,
                location="WH-1",
            ).because(
                "Opening count at the start of the period matches the system stock",
                context={"counted": product.stock, "system": product.stock},
            ).with_tags("inventory", "stock-count")
            self._emit(builder, when + timedelta(seconds=index), correlation=f"count-{when:%Y%m%d}")

    def _move_stock(
        self,
        when: datetime,
        product: _Product,
        delta: int,
        reason: str,
        parent: _Ref | None,
        actor: Actor,
        correlation: str,
        event_type: E = E.INVENTORY_ADJUSTED,
    ) -> _Ref | None:
        """Change the stock now; always at the time being played, so movements stay in order."""
        before, after = product.stock, product.stock + delta
        if event_type is E.INVENTORY_ADJUSTED:
            builder = self.client.inventory_adjusted(product.sku, before, after, reason, "WH-1")
        else:
            builder = (
                self.client.trace(event_type, f"{product.sku}: {before} → {after} ({delta:+d})")
                .affecting_inventory(
                    product.sku, quantity_before=before, quantity_after=after, location="WH-1"
                )
                .because(reason)
                .with_data(sku=product.sku, delta=delta)
                .with_tags("inventory")
            )
        ref = self._emit(builder.by(actor), when, parent=parent, correlation=correlation)
        if ref is None:
            return None
        product.stock = after
        if after == 0:
            self._emit(
                self.client.trace(E.PRODUCT_OUT_OF_STOCK, f"{product.name} is out of stock")
                .by(_CATALOG_SERVICE)
                .affecting_product(product.sku, {"in_stock": False}, name=product.name)
                .with_risk(RiskLevel.HIGH)
                .with_tags("inventory", "out-of-stock"),
                when + timedelta(seconds=2),
                parent=ref,
                correlation=correlation,
            )
        return ref

    def _inventory_run(self, when: datetime, failing: bool) -> None:
        run = f"inventory-sync-{when:%Y%m%d}"
        builder = self.client.automation_triggered(
            "inventory-sync",
            "nightly schedule (02:00 UTC)",
            "check_stock_levels",
            name="Inventory Sync",
            parameters={"skus": len(self._products), "warehouse": "WH-1"},
        ).by(_INVENTORY_JOB)
        if failing:
            builder.failed("TimeoutError: warehouse-api did not answer within 30 s")
            self._emit(builder, when, duration=30.2, correlation=run)
            self._schedule(when + timedelta(minutes=20), self._inventory_run, False)
            return
        root = self._emit(builder, when, duration=self.rng.uniform(20, 70), correlation=run)
        if root is None:
            return
        offset = 5
        for product in self._products:
            snoozed = product.snoozed_until is not None and product.snoozed_until > when
            if (
                not product.active
                or product.on_order
                or product.awaiting_approval
                or snoozed
                or product.stock > product.threshold
            ):
                continue
            offset += self.rng.randint(1, 4)
            self._low_stock(product, when + timedelta(seconds=offset), root, run)

    def _low_stock(self, product: _Product, when: datetime, root: _Ref, run: str) -> None:
        alert = self._emit(
            self.client.inventory_low_stock(
                product.sku, product.stock, product.threshold, "restock"
            ).by(_INVENTORY_JOB),
            when,
            parent=root,
            correlation=run,
        )
        if alert is None:
            return
        daily = max(0.3, product.sold / max(1, (when - self.start).days))
        quantity = max(product.reorder_qty, 5 * math.ceil(daily * (product.lead_days + 14) / 5))
        cost = product.cost * quantity
        risk = RiskLevel.LOW if cost < 500 else RiskLevel.MEDIUM if cost < 2000 else RiskLevel.HIGH
        cover = round(product.stock / daily, 1)
        builder = (
            self.client.ai_recommendation(
                "inventory_restock",
                {"sku": product.sku, "quantity": quantity, "supplier": product.supplier},
                {
                    "current_stock": product.stock,
                    "avg_daily_sales": round(daily, 1),
                    "lead_time_days": product.lead_days,
                    "days_of_cover": cover,
                },
                round(self.rng.uniform(0.62, 0.98), 2),
                "demand-forecast-v2",
                affected_objects=[
                    {"type": "inventory", "id": product.sku},
                    {"type": "supplier", "id": product.supplier},
                ],
            )
            .by(_FORECAST_AI)
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
        recommendation = self._emit(
            builder, when + self._minutes(0.5, 2), parent=alert, correlation=run
        )
        if recommendation is None:
            return
        if not recommendation.needs_approval:
            product.on_order = True
            self._schedule(
                recommendation.at + self._minutes(1, 4),
                self._order_restock,
                product,
                quantity,
                recommendation,
                run,
                None,
            )
            return
        product.awaiting_approval = True
        verdict = self._decide(recommendation, "restock", hours=(0.5, 9))
        if verdict is None:
            return
        if verdict.action == "approve":
            product.on_order = True
            self._schedule(
                verdict.at + self._minutes(2, 10),
                self._order_restock,
                product,
                quantity,
                recommendation,
                run,
                verdict.username,
            )
        elif verdict.action == "reject":
            self._schedule(verdict.at, self._snooze, product)

    def _snooze(self, when: datetime, product: _Product) -> None:
        product.awaiting_approval = False
        product.snoozed_until = when + timedelta(days=3)

    def _order_restock(
        self,
        when: datetime,
        product: _Product,
        quantity: int,
        parent: _Ref,
        run: str,
        approver: str | None,
    ) -> None:
        product.awaiting_approval = False
        number = self._next("po", 5001)
        arrival = (when + timedelta(days=product.lead_days)).date()
        builder = self.client.inventory_restock_ordered(
            product.sku, quantity, product.supplier, arrival, product.cost * quantity
        ).by(_REPLENISHMENT)
        reasoning = "Approved restock recommendation" if approver else "Restock within autonomy"
        builder.because(
            f"{reasoning}: purchase order po-{number}",
            context={"purchase_order": f"po-{number}", "lead_time_days": product.lead_days},
        ).with_data(purchase_order=f"po-{number}")
        if approver:
            builder.approved_by(approver)
        if self.rng.random() < 0.06:
            builder.failed("SupplierAPIError: 503 Service Unavailable")
            failed = self._emit(builder, when, parent=parent, duration=4.1, correlation=run)
            if failed is not None:
                self._schedule(
                    when + self._minutes(8, 20),
                    self._order_restock,
                    product,
                    quantity,
                    failed,
                    run,
                    approver,
                )
            return
        ref = self._emit(builder, when, parent=parent, duration=1.3, correlation=run)
        if ref is None:
            return
        received = self._clock(when + timedelta(days=product.lead_days), self.rng.randint(8, 15))
        self._schedule(
            received + self._minutes(0, 50), self._receive, product, quantity, ref, run, number
        )

    def _receive(
        self, when: datetime, product: _Product, quantity: int, parent: _Ref, run: str, po: int
    ) -> None:
        delivered = quantity if self.rng.random() > 0.08 else quantity - max(1, quantity // 4)
        was_empty = product.stock == 0
        short = delivered < quantity
        ref = self._move_stock(
            when,
            product,
            delivered,
            f"Purchase order po-{po} from {product.supplier}: {delivered} of {quantity} "
            f"units received" + (" (short delivery)" if short else ""),
            parent,
            self.rng.choice(_PICKERS),
            run,
            E.INVENTORY_RECEIVED,
        )
        if ref is None:
            return
        product.on_order = False
        if was_empty:
            self._emit(
                self.client.trace(E.PRODUCT_RESTOCKED, f"{product.name} is back in stock")
                .by(_CATALOG_SERVICE)
                .affecting_product(product.sku, {"in_stock": True}, name=product.name)
                .with_tags("inventory", "restock"),
                when + timedelta(seconds=3),
                parent=ref,
                correlation=run,
            )

    def _cycle_count(self, when: datetime) -> None:
        counter = self.rng.choice(_PICKERS)
        at = when
        for product in self._products:
            if self.rng.random() <= 0.25:
                at += self._minutes(2, 9)
                self._schedule(at, self._count_one, product, counter, f"count-{when:%Y%m%d}")

    def _count_one(
        self, when: datetime, product: _Product, counter: Actor, correlation: str
    ) -> None:
        roll = self.rng.random()
        delta = 0
        if roll < 0.12:
            delta = -min(product.available, self.rng.randint(1, 2))
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
            self.client.trace(E.INVENTORY_COUNTED, f"Cycle count of {product.sku}: {counted}")
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
        if self._emit(builder, when, correlation=correlation) is not None:
            product.stock = counted

    def _write_off(self, when: datetime) -> None:
        product = self.rng.choice(self._products)
        if product.available < 1:
            return
        units = min(product.available, self.rng.randint(1, 3))
        reason = self.rng.choice(
            (
                "Dropped by a forklift during put-away",
                "Water damage from a roof leak in aisle 4",
                "Packaging crushed in storage",
            )
        )
        self._move_stock(
            when,
            product,
            -units,
            f"Written off: {reason}",
            None,
            self.rng.choice(_PICKERS),
            f"writeoff-{self._next('writeoff', 1)}",
            E.INVENTORY_WRITTEN_OFF,
        )

    def _launch_product(self, when: datetime) -> None:
        code = "NEW"
        number = self._next("launch", 1)
        product = _Product(
            sku=f"{code}-{900 + number}",
            name="Insulated Travel Mug",
            category="Kitchen",
            supplier="sup-northwind",
            price=Decimal("24.99"),
            list_price=Decimal("24.99"),
            cost=Decimal("9.80"),
            stock=0,
            threshold=max(3, round(6 * self.scale)),
            reorder_qty=max(10, round(40 * self.scale)),
            lead_days=5,
            weight=0.8,
        )
        ref = self._emit(
            self.client.trace(E.PRODUCT_CREATED, f"New product {product.sku}: {product.name}")
            .by(_MERCHANDISER)
            .affecting_product(
                product.sku,
                {"name": product.name, "price": money_text(product.price), "status": "active"},
                name=product.name,
            )
            .because("Launch of the autumn kitchen range")
            .with_data(sku=product.sku, price=money_text(product.price), category="Kitchen")
            .with_tags("catalog", "launch"),
            when,
            correlation=f"launch-{product.sku}",
        )
        if ref is None:
            return
        self._products.append(product)
        self._schedule(
            when + self._minutes(30, 90),
            self._move_stock,
            product,
            product.reorder_qty,
            "First delivery of a new product",
            ref,
            self.rng.choice(_PICKERS),
            f"launch-{product.sku}",
            E.INVENTORY_RECEIVED,
        )

    def _discontinue_product(self, when: datetime) -> None:
        candidates = [p for p in self._products if p.active and not p.sku.startswith("NEW")]
        product = candidates[-1]
        ref = self._emit(
            self.client.trace(E.PRODUCT_DISCONTINUED, f"{product.name} discontinued")
            .by(_MERCHANDISER)
            .affecting_product(
                product.sku,
                {"status": "discontinued"},
                name=product.name,
            )
            .because(
                "Supplier ends the line; selling the remaining stock without reordering",
                alternatives=[{"action": "find_new_supplier"}],
                rejection_reasons={"find_new_supplier": "Sales too low to justify sourcing"},
            )
            .with_tags("catalog"),
            when,
            correlation=f"discontinue-{product.sku}",
        )
        if ref is not None:
            product.active = False

    def _forecast_run(self, when: datetime) -> None:
        categories: dict[str, list[_Product]] = {}
        for product in self._products:
            categories.setdefault(product.category, []).append(product)
        for index, (category, products) in enumerate(categories.items()):
            units = sum(p.reorder_qty for p in products) // 3
            self._emit(
                self.client.trace(
                    E.AI_FORECAST, f"Demand forecast for {category}: {units} units next week"
                )
                .by(_FORECAST_AI)
                .affecting_object(
                    ObjectType.FORECAST,
                    f"fc-{category.lower()}-{when:%Y%m%d}",
                    state_after={"units": units},
                )
                .affecting_object(ObjectType.CATEGORY, category.lower(), name=category)
                .because(
                    "Seasonal profile and the last four weeks of sales",
                    context={"horizon_days": 7, "skus": len(products)},
                    confidence=round(self.rng.uniform(0.7, 0.93), 2),
                )
                .with_data(category=category, units=units)
                .with_tags("ai", "forecast"),
                when + timedelta(seconds=20 * index),
                duration=self.rng.uniform(4, 30),
                correlation=f"forecast-{when:%Y%m%d}",
            )

    # Pricing --------------------------------------------------------------

    def _pricing_run(self, when: datetime) -> None:
        run = f"pricing-run-{when:%Y%m%d}"
        active = [p for p in self._products if p.active]
        chosen = self.rng.sample(active, min(len(active), max(1, round(5 * self.scale**0.5))))
        root = self._emit(
            self.client.automation_triggered(
                "pricing-run",
                "daily schedule (04:00 UTC)",
                "reprice_catalog",
                name="Pricing Run",
                parameters={"candidates": len(chosen)},
            ).by(_PRICING_JOB),
            when,
            duration=self.rng.uniform(40, 120),
            correlation=run,
        )
        if root is None:
            return
        for index, product in enumerate(chosen):
            self._price_proposal(product, when + timedelta(seconds=30 + 9 * index), root, run)

    def _price_proposal(self, product: _Product, when: datetime, root: _Ref, run: str) -> None:
        size = self._pick((("small", 0.5), ("medium", 0.3), ("large", 0.15), ("extreme", 0.05)))
        low, high = {"small": (1, 4), "medium": (5, 14), "large": (15, 28), "extreme": (30, 40)}[
            size
        ]
        percent = self.rng.uniform(low, high) * self.rng.choice((-1, 1))
        new_price = _charm(product.price * Decimal(1 + percent / 100))
        if new_price == product.price or new_price <= 0:
            return
        demand = round(self.rng.uniform(0.6, 1.6), 2)
        competitor = _charm(product.price * Decimal(self.rng.uniform(0.85, 1.15)))
        builder = self.client.dynamic_price_adjusted(
            product.sku,
            product.price,
            new_price,
            model="pricing-rl",
            confidence=round(self.rng.uniform(0.55, 0.97), 2),
            factors={
                "demand_index": demand,
                "competitor_price": money_text(competitor),
                "stock_cover_days": round(
                    product.stock * (product.lead_days + 2) / product.threshold, 1
                ),
            },
            min_price=(product.cost * Decimal("1.15")).quantize(Decimal("0.01")),
            max_price=(product.list_price * Decimal("1.4")).quantize(Decimal("0.01")),
        ).by(_PRICING_AI)
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
        ref = self._emit(builder, when, parent=root, correlation=run)
        if ref is None:
            return
        if not ref.needs_approval:
            product.price = new_price
            return
        verdict = self._decide(ref, "pricing", hours=(0.5, 10))
        if verdict is not None and verdict.action == "approve":
            self._schedule(
                verdict.at + self._minutes(1, 3),
                self._apply_price,
                product,
                new_price,
                ref,
                run,
                verdict.username,
            )

    def _apply_price(
        self,
        when: datetime,
        product: _Product,
        new_price: Decimal,
        parent: _Ref,
        run: str,
        approver: str,
    ) -> None:
        if new_price == product.price:
            return
        builder = (
            self.client.price_updated(
                product.sku,
                product.price,
                new_price,
                f"Dynamic price change approved by {approver}",
            )
            .by(_PRICING_SERVICE)
            .approved_by(approver)
        )
        if self._emit(builder, when, parent=parent, correlation=run) is not None:
            product.price = new_price

    def _manual_price(self, when: datetime) -> None:
        product = self.rng.choice([p for p in self._products if p.active])
        reason, factor = self.rng.choice(
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
        ref = self._emit(
            self.client.price_updated(product.sku, product.price, new_price, reason).by(
                _MERCHANDISER
            ),
            when + self._minutes(0, 50),
            correlation=f"price-{product.sku}-{when:%Y%m%d}",
        )
        if ref is not None:
            product.price = new_price

    # Reviews --------------------------------------------------------------

    def _decide(self, ref: _Ref, domain: str, *, hours: tuple[float, float]) -> _Verdict | None:
        """Plan the admins' decision on a pending event; ``None`` when it stays pending."""
        at = self._office(ref.at + timedelta(hours=self.rng.uniform(*hours)))
        if at >= self.end - timedelta(hours=1) or self.rng.random() < 0.12:
            return None
        reasons = _REVIEW_REASONS[domain]
        action = self._pick(_DECISION_MIX)
        admin = self.rng.choice(_ADMINS)
        self.reviews.append(
            DemoReview(ref.id, action, admin.username, self.rng.choice(reasons[action]), at)
        )
        if action == "escalate" and self.rng.random() < 0.6:
            later = self._office(at + timedelta(hours=self.rng.uniform(2, 20)))
            if later < self.end - timedelta(hours=1):
                final = self._pick((("approve", 0.6), ("reject", 0.4)))
                self.reviews.append(
                    DemoReview(
                        ref.id, final, _SENIOR.username, self.rng.choice(reasons[final]), later
                    )
                )
                return _Verdict(final, later, _SENIOR.username)
        return _Verdict(action, at, admin.username)

    # Customers ------------------------------------------------------------

    def _register(self, when: datetime) -> None:
        customer = self._customer(lifetime=Decimal("0.00"), joined=when)
        source = self._pick(
            (("web", 0.45), ("mobile_app", 0.3), ("referral", 0.15), ("social", 0.1))
        )
        ref = self._emit(
            self.client.customer_created(
                customer.id,
                customer.email,
                source,
                name=customer.name,
                tier=customer.tier,
                marketing_opt_in=self.rng.random() < 0.6,
            ).by(customer.actor),
            when,
            duration=self.rng.uniform(30, 240),
            correlation=customer.id,
        )
        if ref is None:
            return
        self._new_customers.append(customer)
        if self.rng.random() < 0.85:
            self._emit(
                self.client.trace(E.CUSTOMER_VERIFIED, f"{customer.id} verified their e-mail")
                .by(_IDENTITY)
                .affecting_customer(customer.id, {"email_verified": True})
                .with_tags("customer"),
                when + self._minutes(1, 40),
                parent=ref,
                correlation=customer.id,
            )

    def _loyalty_run(self, when: datetime) -> None:
        run = f"loyalty-tiers-{when:%Y%m%d}"
        changes = []
        for customer in [*self._customers, *self._new_customers]:
            tier = _tier(customer.lifetime)
            if tier != customer.tier and not customer.blocked:
                changes.append((customer, tier))
        root = self._emit(
            self.client.automation_triggered(
                "loyalty-tiers",
                "nightly schedule (01:00 UTC)",
                "recalculate_tiers",
                name="Loyalty Tiers",
                parameters={"floors": {name: str(floor) for name, floor in _TIER_FLOORS}},
            ).by(_LOYALTY_JOB),
            when,
            duration=self.rng.uniform(8, 25),
            correlation=run,
        )
        if root is None:
            return
        for index, (customer, tier) in enumerate(changes):
            floor = dict(_TIER_FLOORS).get(tier, Decimal(0))
            ref = self._emit(
                self.client.customer_tier_changed(
                    customer.id,
                    customer.tier,
                    tier,
                    f"Lifetime spend {money_text(customer.lifetime)} reached the {tier} "
                    f"floor of {money_text(floor)}",
                ).by(_LOYALTY_JOB),
                when + timedelta(seconds=10 + index),
                parent=root,
                correlation=run,
            )
            if ref is not None:
                customer.tier = tier

    def _downgrade(self, when: datetime, customer: _Customer, parent: _Ref, order_id: str) -> None:
        lower = {"platinum": "gold", "gold": "silver", "silver": "bronze"}.get(customer.tier)
        if lower is None or customer.blocked:
            return
        ref = self._emit(
            self.client.customer_tier_changed(
                customer.id,
                customer.tier,
                lower,
                f"{customer.returns} returns in 30 days breach the returns policy",
            ).by(self.rng.choice(_SUPPORT)),
            when,
            parent=parent,
            correlation=order_id,
        )
        if ref is not None:
            customer.tier = lower
            # Lifetime spend no longer lifts them back automatically.
            customer.lifetime = min(customer.lifetime, dict(_TIER_FLOORS).get(lower, Decimal(0)))

    # Orders ---------------------------------------------------------------

    def _choose_customer(self, when: datetime) -> _Customer | None:
        if self._new_customers and self.rng.random() < 0.3:
            customer = self.rng.choice(self._new_customers[-200:])
        else:
            # A few regulars order far more often than the rest.
            index = min(len(self._customers) - 1, int(self.rng.paretovariate(1.2)) - 1)
            customer = (
                self._customers[index]
                if self.rng.random() < 0.25
                else self.rng.choice(self._customers)
            )
        return None if customer.blocked else customer

    def _campaign_at(self, when: datetime) -> _Campaign | None:
        for campaign in self._campaigns:
            if campaign.ref is not None and campaign.start <= when < campaign.end:
                return campaign
        return None

    def _place_order(self, when: datetime, cart: str | None = None) -> None:
        customer = self._choose_customer(when)
        if customer is None:
            return
        lines: list[tuple[_Product, int, Decimal]] = []
        wanted = self._pick((("1", 0.55), ("2", 0.28), ("3", 0.12), ("4", 0.05)))
        active = [p for p in self._products if p.active]
        weights = [p.weight for p in active]
        for product in self.rng.choices(active, weights, k=int(wanted)):
            qty = int(self._pick((("1", 0.8), ("2", 0.15), ("3", 0.05))))
            if product.available >= qty and all(product is not p for p, _, _ in lines):
                lines.append((product, qty, product.price))
        if not lines:
            return
        campaign = self._campaign_at(when)
        subtotal = sum((price * qty for _, qty, price in lines), Decimal(0))
        discount = Decimal(0)
        if campaign is not None and self.rng.random() < 0.35:
            discount = (subtotal * campaign.percent / 100).quantize(Decimal("0.01"))
        else:
            campaign = None
        shipping = Decimal(0) if subtotal >= 50 else Decimal("4.99")
        total = subtotal - discount + shipping
        seq = self._next("order", 100001)
        order_id = f"ord-{seq}"
        method = self._pick(_METHODS)
        channel = self._pick(_CHANNELS)
        extra: dict[str, Any] = {
            "channel": channel,
            "payment_method": method,
            "shipping": money_text(shipping),
            "discount": money_text(discount),
        }
        if campaign is not None:
            extra["coupon"] = campaign.coupon
        if cart is not None:
            extra["recovered_cart"] = cart
        builder = self.client.order_created(
            order_id,
            customer.id,
            total,
            [{"sku": p.sku, "qty": qty, "price": price} for p, qty, price in lines],
            **extra,
        ).by(customer.actor)
        items = sum(qty for _, qty, _ in lines)
        builder.because(
            f"Customer completed checkout with {items} item(s)",
            context={
                "channel": channel,
                "coupon_applied": campaign.coupon if campaign else None,
                "new_customer": customer.joined is not None,
                "tier": customer.tier,
            },
        )
        root = self._emit(builder, when, duration=self.rng.uniform(40, 900))
        if root is None:
            return
        self.orders_placed += 1
        self._orders_by_day[when.date()] = self._orders_by_day.get(when.date(), 0) + 1
        for product, qty, _ in lines:
            product.reserved += qty
        order = _Order(order_id, seq, customer, lines, subtotal, discount, total, method, root)
        if campaign is not None:
            self._emit(
                self.client.trace(E.COUPON_USED, f"Coupon {campaign.coupon} used on {order_id}")
                .by(_CHECKOUT)
                .affecting_object(ObjectType.COUPON, campaign.coupon)
                .affecting_object(ObjectType.CAMPAIGN, campaign.id, name=campaign.name)
                .affecting_order(order_id, {"discount": money_text(discount)})
                .with_data(discount=money_text(discount), percent=campaign.percent)
                .with_tags("marketing", "coupon"),
                when + timedelta(seconds=1),
                parent=root,
                correlation=order_id,
            )
        self._schedule(when + timedelta(seconds=self.rng.randint(3, 25)), self._pay, order, 1)
        if self.rng.random() < 0.04:
            self._schedule(when + self._minutes(4, 120), self._customer_cancel, order)

    def _processor(self, order: _Order) -> str:
        if order.method == "paypal":
            return "paypal"
        return "adyen" if self._failover else "stripe"

    def _pay(self, when: datetime, order: _Order, attempt: int) -> None:
        if order.status != "created":
            return
        processor = self._processor(order)
        payment_id = f"pay-{order.seq}-{attempt}"
        down = self._processor_down
        outage = down is not None and down[0] <= when < down[1] and processor == "stripe"
        roll = self.rng.random()
        if outage and roll < 0.65:
            code, message = "processing_error", "The processor could not reach the card network."
        elif roll < 0.045:
            code, message = self.rng.choice(_DECLINES)
        elif roll < 0.048:
            code, message = "stolen_card", "The card was reported stolen."
        else:
            code = message = ""
        actor = _PROCESSORS[processor]
        if code:
            failure = self._emit(
                self.client.payment_failed(payment_id, order.id, order.total, code, message)
                .by(actor)
                .with_data(processor=processor, attempt=attempt),
                when,
                parent=order.root,
                duration=self.rng.uniform(0.8, 4),
            )
            if failure is None:
                return
            if code == "stolen_card" or attempt >= 3:
                self._cancel(
                    order,
                    failure.at + self._minutes(0.5, 2),
                    f"Payment failed {attempt} time(s); last error {code}",
                    _ORDER_SERVICE,
                    failure,
                    refund=False,
                )
                return
            if self.rng.random() < 0.25:
                order.method = "paypal" if order.method != "paypal" else "card"
            self._schedule(failure.at + self._minutes(1, 12), self._pay, order, attempt + 1)
            return
        captured = self._emit(
            self.client.payment_captured(
                payment_id, order.id, order.total, order.method, processor
            ).by(actor),
            when,
            parent=order.root,
            duration=self.rng.uniform(0.5, 3),
        )
        if captured is None:
            return
        order.status = "paid"
        order.payment = captured
        order.payment_id = payment_id
        order.processor = processor
        self._schedule(
            captured.at + timedelta(seconds=self.rng.randint(2, 20)), self._screen, order
        )

    def _screen(self, when: datetime, order: _Order) -> None:
        if order.status != "paid" or order.payment is None:
            return
        new = order.customer.joined is not None
        chance = 0.015 + (0.03 if new else 0) + (0.04 if order.total > 250 else 0)
        if self.rng.random() >= chance:
            self._schedule(when + self._minutes(5, 45), self._create_shipment, order, None)
            return
        signals = self.rng.sample(
            [
                "billing and shipping countries differ",
                "card added minutes before checkout",
                "order value 4x the customer's average",
                "shipping address used by several accounts",
                "IP address from a hosting provider",
            ],
            k=self.rng.randint(2, 3),
        )
        score = round(self.rng.uniform(0.55, 0.97), 2)
        builder = (
            self.client.ai_recommendation(
                "fraud_hold",
                {"order_id": order.id, "action": "hold", "risk_score": score},
                {"signals": signals, "order_total": money_text(order.total), "new_customer": new},
                score,
                "fraud-gbm",
                affected_objects=[
                    {"type": "order", "id": order.id, "state_after": {"status": "on_hold"}},
                    {"type": "customer", "id": order.customer.id},
                ],
            )
            .by(_FRAUD_AI)
            .because(
                f"Order matches {len(signals)} fraud signals: {'; '.join(signals)}",
                alternatives=[
                    {"action": "release", "note": "ship as normal"},
                    {"action": "request_verification", "note": "ask for 3-D Secure again"},
                ],
                rejection_reasons={
                    "release": f"Risk score {score} is above the release limit of 0.5",
                    "request_verification": "The card already passed 3-D Secure",
                },
            )
            .with_risk(RiskLevel.CRITICAL if score >= 0.9 else RiskLevel.HIGH)
            .with_correlation(order.id)
        )
        recommendation = self._emit(builder, when, parent=order.payment, duration=0.4)
        if recommendation is None:
            return
        order.status = "on_hold"
        self._emit(
            self.client.trace(E.ORDER_ON_HOLD, f"Order {order.id} on hold for a fraud review")
            .by(_ORDER_SERVICE)
            .affecting_order(order.id, {"status": "on_hold"})
            .because(f"Fraud Guard recommends a hold (risk score {score})")
            .triggered_by("fraud_hold recommendation", recommendation.id)
            .with_tags("order", "fraud-review"),
            when + timedelta(seconds=1),
            parent=recommendation,
            correlation=order.id,
        )
        if not recommendation.needs_approval:
            self._schedule(
                when + self._minutes(1, 3), self._fraud_confirmed, order, recommendation, None
            )
            return
        verdict = self._decide(recommendation, "fraud", hours=(0.3, 6))
        if verdict is None:
            return
        if verdict.action == "approve":
            self._schedule(
                verdict.at + self._minutes(1, 5),
                self._fraud_confirmed,
                order,
                recommendation,
                verdict.username,
            )
        elif verdict.action == "reject":
            self._schedule(
                verdict.at + self._minutes(1, 5),
                self._fraud_cleared,
                order,
                recommendation,
                verdict.username,
            )

    def _fraud_confirmed(
        self, when: datetime, order: _Order, parent: _Ref, approver: str | None
    ) -> None:
        builder = (
            self.client.trace(E.ORDER_FRAUD_FLAGGED, f"Order {order.id} confirmed as fraud")
            .by(_ORDER_SERVICE)
            .affecting_order(order.id, {"status": "fraud"})
            .affecting_customer(order.customer.id, {"status": "blocked"})
            .because(
                "Fraud hold confirmed"
                + (f" by {approver}" if approver else " automatically (below the approval level)")
            )
            .with_risk(RiskLevel.HIGH)
            .with_tags("order", "fraud")
        )
        if approver:
            builder.approved_by(approver)
        flagged = self._emit(builder, when, parent=parent, correlation=order.id)
        if flagged is None:
            return
        self._emit(
            self.client.trace(E.CUSTOMER_BLOCKED, f"Customer {order.customer.id} blocked")
            .by(_ORDER_SERVICE)
            .affecting_object(
                ObjectType.CUSTOMER,
                order.customer.id,
                state_before={"status": "active"},
                state_after={"status": "blocked"},
            )
            .because(f"Confirmed fraud on order {order.id}")
            .with_tags("customer", "fraud"),
            when + timedelta(seconds=2),
            parent=flagged,
            correlation=order.id,
        )
        order.customer.blocked = True
        self._cancel(order, when + timedelta(seconds=4), "Confirmed fraud", _ORDER_SERVICE, flagged)

    def _fraud_cleared(self, when: datetime, order: _Order, parent: _Ref, approver: str) -> None:
        cleared = self._emit(
            self.client.trace(E.ORDER_FRAUD_CLEARED, f"Order {order.id} cleared")
            .by(_ORDER_SERVICE)
            .affecting_order(order.id, {"status": "cleared"})
            .because(f"Fraud hold rejected by {approver}: the order is genuine")
            .with_tags("order", "fraud-review"),
            when,
            parent=parent,
            correlation=order.id,
        )
        if cleared is None:
            return
        released = self._emit(
            self.client.trace(E.ORDER_RELEASED, f"Order {order.id} released for fulfilment")
            .by(_ORDER_SERVICE)
            .affecting_object(
                ObjectType.ORDER,
                order.id,
                state_before={"status": "on_hold"},
                state_after={"status": "paid"},
            )
            .with_tags("order"),
            when + timedelta(seconds=2),
            parent=cleared,
            correlation=order.id,
        )
        if released is not None:
            order.status = "paid"
            self._schedule(when + self._minutes(5, 30), self._create_shipment, order, released)

    def _cancel(
        self,
        order: _Order,
        when: datetime,
        reason: str,
        actor: Actor,
        parent: _Ref,
        *,
        refund: bool = True,
    ) -> None:
        amount = order.total if refund and order.payment is not None else None
        cancelled = self._emit(
            self.client.order_cancelled(order.id, reason, amount).by(actor),
            when,
            parent=parent,
        )
        if cancelled is None:
            return
        order.status = "cancelled"
        for product, qty, _ in order.lines:
            product.reserved -= qty
        if amount is not None:
            self._emit(
                self.client.trace(
                    E.PAYMENT_REFUNDED, f"Payment {order.payment_id} refunded: {amount}"
                )
                .by(_PROCESSORS[order.processor])
                .affecting_object(
                    ObjectType.PAYMENT,
                    order.payment_id,
                    state_before={"status": "captured"},
                    state_after={"status": "refunded", "refunded_amount": money_text(amount)},
                )
                .affecting_order(order.id)
                .with_data(amount=money_text(amount), processor=order.processor)
                .with_tags("payment", "refund"),
                when + self._minutes(0.5, 5),
                parent=cancelled,
                correlation=order.id,
                duration=self.rng.uniform(0.5, 2),
            )

    def _customer_cancel(self, when: datetime, order: _Order) -> None:
        if order.status not in {"created", "paid"}:
            return
        self._cancel(
            order,
            when,
            self.rng.choice(_CANCEL_REASONS),
            order.customer.actor,
            order.root,
            refund=order.payment is not None,
        )

    # Fulfilment -----------------------------------------------------------

    def _create_shipment(self, when: datetime, order: _Order, parent: _Ref | None) -> None:
        if order.status != "paid":
            return
        carrier = self._pick((("ups", 0.45), ("dhl", 0.3), ("usps", 0.25)))
        shipment_id = f"shp-{order.seq}"
        ref = self._emit(
            self.client.shipment_created(
                shipment_id,
                order.id,
                carrier,
                items=[{"sku": p.sku, "qty": qty} for p, qty, _ in order.lines],
            ).by(_FULFILLMENT),
            when,
            parent=parent or order.payment,
            duration=self.rng.uniform(0.2, 2),
        )
        if ref is None:
            return
        order.status = "fulfilling"
        order.shipment, order.shipment_id, order.carrier = ref, shipment_id, carrier
        pick_at = self._office(when + self._minutes(15, 240))
        self._schedule(pick_at, self._pick_order, order, ref)

    def _pick_order(self, when: datetime, order: _Order, shipment: _Ref) -> None:
        took = self.rng.uniform(3, 15) * 60
        picked = self._emit(
            self.client.trace(E.SHIPMENT_PICKED, f"Shipment {order.shipment_id} picked")
            .by(self.rng.choice(_PICKERS))
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
            self._schedule(
                when + timedelta(seconds=10 + 20 * index),
                self._pick_line,
                order,
                product,
                qty,
                picked,
            )
        self._schedule(
            when + timedelta(seconds=took) + self._minutes(5, 40), self._pack, order, shipment
        )

    def _pick_line(
        self, when: datetime, order: _Order, product: _Product, qty: int, picked: _Ref
    ) -> None:
        product.reserved -= qty
        product.sold += qty
        self._move_stock(
            when, product, -qty, f"Picked {qty} for order {order.id}", picked, _WMS, order.id
        )

    def _pack(self, when: datetime, order: _Order, shipment: _Ref) -> None:
        weight = round(sum(qty for _, qty, _ in order.lines) * self.rng.uniform(0.3, 1.6), 2)
        packed = self._emit(
            self.client.trace(E.SHIPMENT_PACKED, f"Shipment {order.shipment_id} packed")
            .by(self.rng.choice(_PACKERS))
            .affecting_shipment(order.shipment_id, {"status": "packed", "weight_kg": weight})
            .with_tags("shipment", "warehouse"),
            when,
            parent=shipment,
            duration=self.rng.uniform(2, 8) * 60,
            correlation=order.id,
        )
        if packed is None:
            return
        pickup = self._clock(when, 17, 30)
        if when >= pickup - timedelta(minutes=30):
            pickup += timedelta(days=1)
        self._schedule(pickup + self._minutes(0, 25), self._ship, order, shipment)

    def _ship(self, when: datetime, order: _Order, shipment: _Ref) -> None:
        order.tracking = self._tracking(order.carrier)
        transit = self.rng.choice((1, 2, 2, 3, 3, 4))
        estimated = (when + timedelta(days=transit)).date()
        shipped = self._emit(
            self.client.shipment_shipped(
                order.shipment_id, order.id, order.tracking, order.carrier, estimated
            ).by(_CARRIERS[order.carrier]),
            when,
            parent=shipment,
        )
        if shipped is None:
            return
        order.status = "shipped"
        self._schedule(when + self._minutes(240, 600), self._in_transit, order)
        delivery_day = when + timedelta(days=transit + (1 if self.rng.random() < 0.1 else 0))
        self._schedule(
            self._clock(delivery_day, 7) + self._minutes(0, 90), self._out_for_delivery, order, 1
        )

    def _carrier_event(
        self, order: _Order, event_type: E, description: str, state: dict[str, Any], when: datetime
    ) -> TraceBuilder:
        return (
            self.client.trace(event_type, description)
            .by(_CARRIERS[order.carrier])
            .affecting_shipment(order.shipment_id, state)
            .with_data(tracking_number=order.tracking, carrier=order.carrier)
            .with_tags("shipment")
        )

    def _in_transit(self, when: datetime, order: _Order) -> None:
        hub = self.rng.choice(("Louisville hub", "Leipzig hub", "Memphis hub", "Chicago hub"))
        self._emit(
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

    def _out_for_delivery(self, when: datetime, order: _Order, attempt: int) -> None:
        out = self._emit(
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
        arrive = when + self._minutes(60, 600)
        if attempt == 1 and self.rng.random() < 0.04:
            self._schedule(arrive, self._delivery_failed, order)
        else:
            self._schedule(arrive, self._deliver, order)

    def _delivery_failed(self, when: datetime, order: _Order) -> None:
        failed = self._emit(
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
            next_day = self._clock(when + timedelta(days=1), 7) + self._minutes(0, 90)
            self._schedule(next_day, self._out_for_delivery, order, 2)

    def _deliver(self, when: datetime, order: _Order) -> None:
        signature = order.customer.name.split()[0] if order.total > 150 else None
        delivered = self._emit(
            self.client.shipment_delivered(
                order.shipment_id, order.id, delivery_time=when, signature=signature
            ).by(_CARRIERS[order.carrier]),
            when,
            parent=order.shipment,
        )
        if delivered is None:
            return
        order.status = "delivered"
        completed = self._emit(
            self.client.trace(E.ORDER_COMPLETED, f"Order {order.id} completed")
            .by(_ORDER_SERVICE)
            .affecting_order(order.id, {"status": "completed"})
            .with_tags("order"),
            when + self._minutes(1, 5),
            parent=order.root,
            correlation=order.id,
        )
        if completed is None:
            return
        order.customer.lifetime += order.total
        if self.rng.random() < 0.07:
            self._schedule(when + self._minutes(60 * 20, 60 * 24 * 12), self._request_return, order)
        elif self.rng.random() < 0.03:
            self._schedule(when + self._minutes(60, 60 * 48), self._order_ticket, order)
        elif self.rng.random() < 0.01:
            self._schedule(when + self._minutes(60 * 24 * 2, 60 * 24 * 20), self._dispute, order)

    def _dispute(self, when: datetime, order: _Order) -> None:
        """The cardholder's bank disputes a delivered order's payment; some end in a chargeback."""
        if order.payment is None:
            return
        code, claim = self.rng.choice(_DISPUTE_REASONS)
        amount = money_text(order.total)
        disputed = self._emit(
            self.client.trace(E.PAYMENT_DISPUTED, f"Payment {order.payment_id} disputed: {claim}")
            .by(_PROCESSORS[order.processor])
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
        if disputed is None or self.rng.random() >= 0.4:
            return
        lost = self._emit(
            self.client.trace(
                E.PAYMENT_CHARGEBACK, f"Chargeback of {amount} on payment {order.payment_id}"
            )
            .by(_PROCESSORS[order.processor])
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
            when + self._minutes(60 * 24 * 5, 60 * 24 * 15),
            parent=disputed,
            correlation=order.id,
        )
        if lost is not None:
            order.status = "charged_back"

    def _tracking(self, carrier: str) -> str:
        if carrier == "ups":
            alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
            return "1Z" + "".join(self.rng.choice(alphabet) for _ in range(16))
        if carrier == "dhl":
            return "".join(str(self.rng.randint(0, 9)) for _ in range(10))
        return "9400" + "".join(str(self.rng.randint(0, 9)) for _ in range(18))

    # Returns --------------------------------------------------------------

    def _request_return(self, when: datetime, order: _Order) -> None:
        product, ordered, price = self.rng.choice(order.lines)
        qty = self.rng.randint(1, ordered)
        reason, resellable = self.rng.choice(_RETURN_REASONS)
        return_id = f"ret-{order.seq}"
        requested = self._emit(
            self.client.return_requested(
                return_id, order.id, order.customer.id, [{"sku": product.sku, "qty": qty}], reason
            ).by(order.customer.actor),
            when,
            parent=order.root,
        )
        if requested is None:
            return
        # A discount applies to every line alike, so the refund shares it.
        refund = (price * qty * (order.subtotal - order.discount) / order.subtotal).quantize(
            Decimal("0.01")
        )
        roll = self.rng.random()
        if roll < 0.05:
            self._schedule(
                self._office(when + self._minutes(60, 600)),
                self._reject_return,
                order,
                return_id,
                requested,
            )
            return
        if roll < 0.85:
            approver, at = _RETURNS_POLICY, when + self._minutes(1, 20)
            why = f"Within the 30-day window; '{reason}' qualifies for a full refund"
        else:
            approver = self.rng.choice(_SUPPORT)
            at = self._office(when + self._minutes(60, 60 * 20))
            why = f"Checked the customer's photos: '{reason}' is confirmed"
        approved = self._emit(
            self.client.return_approved(return_id, order.id, refund, why).by(approver),
            at,
            parent=requested,
        )
        if approved is not None:
            back = self._office(at + timedelta(days=self.rng.randint(2, 6)))
            self._schedule(
                back,
                self._return_received,
                order,
                return_id,
                product,
                qty,
                refund,
                resellable,
                approved,
            )

    def _reject_return(self, when: datetime, order: _Order, return_id: str, parent: _Ref) -> None:
        self._emit(
            self.client.trace(E.RETURN_REJECTED, f"Return {return_id} rejected")
            .by(self.rng.choice(_SUPPORT))
            .affecting_object(
                ObjectType.RETURN,
                return_id,
                state_before={"status": "requested"},
                state_after={"status": "rejected"},
            )
            .affecting_order(order.id, {"return_status": "rejected"})
            .because(
                "Item is personalised and excluded from returns",
                alternatives=[{"action": "store_credit"}],
                rejection_reasons={"store_credit": "Policy offers no credit for custom items"},
            )
            .with_tags("return"),
            when,
            parent=parent,
            correlation=order.id,
        )

    def _return_received(
        self,
        when: datetime,
        order: _Order,
        return_id: str,
        product: _Product,
        qty: int,
        refund: Decimal,
        resellable: bool,
        parent: _Ref,
    ) -> None:
        worker = self.rng.choice(_PICKERS)
        received = self._emit(
            self.client.trace(E.RETURN_RECEIVED, f"Return {return_id} received: {qty} item(s)")
            .by(worker)
            .affecting_object(
                ObjectType.RETURN,
                return_id,
                state_before={"status": "approved"},
                state_after={"status": "received"},
            )
            .with_tags("return", "warehouse"),
            when,
            parent=parent,
            correlation=order.id,
        )
        if received is None:
            return
        condition = "resellable" if resellable else "damaged"
        inspected = self._emit(
            self.client.trace(E.RETURN_INSPECTED, f"Return {return_id} inspected: {condition}")
            .by(worker)
            .affecting_object(
                ObjectType.RETURN,
                return_id,
                state_before={"status": "received"},
                state_after={"status": "inspected", "condition": condition},
            )
            .because(
                "Unused, original packaging" if resellable else "Visible damage; cannot resell",
                context={"condition": condition, "sku": product.sku, "qty": qty},
            )
            .with_tags("return", "inspection"),
            when + self._minutes(20, 240),
            parent=received,
            correlation=order.id,
            duration=self.rng.uniform(3, 12) * 60,
        )
        if inspected is None:
            return
        if resellable:
            self._schedule(
                inspected.at + self._minutes(5, 30),
                self._move_stock,
                product,
                qty,
                f"Return {return_id} restocked after inspection",
                inspected,
                worker,
                order.id,
            )
        self._schedule(
            inspected.at + self._minutes(30, 600),
            self._refund_return,
            order,
            return_id,
            refund,
            inspected,
        )

    def _refund_return(
        self, when: datetime, order: _Order, return_id: str, refund: Decimal, parent: _Ref
    ) -> None:
        refunded = self._emit(
            self.client.trace(E.RETURN_REFUNDED, f"Return {return_id} refunded: {refund}")
            .by(_ORDER_SERVICE)
            .affecting_object(
                ObjectType.RETURN,
                return_id,
                state_before={"status": "inspected"},
                state_after={"status": "refunded", "refund_amount": money_text(refund)},
            )
            .with_data(refund_amount=money_text(refund))
            .with_tags("return", "refund"),
            when,
            parent=parent,
            correlation=order.id,
        )
        if refunded is None:
            return
        payment = self._emit(
            self.client.trace(E.PAYMENT_REFUNDED, f"Payment {order.payment_id} refunded: {refund}")
            .by(_PROCESSORS[order.processor])
            .affecting_object(
                ObjectType.PAYMENT,
                order.payment_id,
                state_after={"status": "refunded", "refunded_amount": money_text(refund)},
            )
            .affecting_order(order.id)
            .with_data(amount=money_text(refund), processor=order.processor)
            .with_tags("payment", "refund"),
            when + self._minutes(0.2, 3),
            parent=refunded,
            correlation=order.id,
            duration=self.rng.uniform(0.5, 2),
        )
        if payment is None:
            return
        final = self._emit(
            self.client.order_refunded(
                order.id,
                refund,
                f"Return {return_id} refunded",
                order.payment_id,
                order_total=order.total,
            ).by(_ORDER_SERVICE),
            payment.at + timedelta(seconds=2),
            parent=refunded,
        )
        order.customer.returns += 1
        order.customer.lifetime = max(Decimal(0), order.customer.lifetime - refund)
        if final is not None and order.customer.returns >= 2 and self.rng.random() < 0.5:
            self._downgrade(final.at + self._minutes(30, 300), order.customer, final, order.id)

    # Support --------------------------------------------------------------

    def _order_ticket(self, when: datetime, order: _Order) -> None:
        topic = self.rng.choice([t for t in _TICKET_TOPICS if t[2]])
        self._ticket(when, order.customer, topic, order)

    def _general_ticket(self, when: datetime) -> None:
        customer = self._choose_customer(when)
        if customer is not None:
            topic = self.rng.choice([t for t in _TICKET_TOPICS if not t[2]])
            self._ticket(when, customer, topic, None)

    def _ticket(
        self,
        when: datetime,
        customer: _Customer,
        topic: tuple[str, str, bool],
        order: _Order | None,
    ) -> None:
        subject, category, _ = topic
        ticket_id = f"tkt-{self._next('ticket', 7001)}"
        correlation = order.id if order else ticket_id
        builder = (
            self.client.trace(E.TICKET_CREATED, f"Ticket {ticket_id}: {subject}")
            .by(customer.actor)
            .affecting_object(ObjectType.CUSTOM, ticket_id, kind="ticket", subject=subject)
            .affecting_customer(customer.id)
            .with_tags("support")
        )
        if order is not None:
            builder.affecting_order(order.id)
        created = self._emit(
            builder, when, parent=order.root if order else None, correlation=correlation
        )
        if created is None:
            return
        confidence = round(self.rng.uniform(0.6, 0.99), 2)
        priority = "high" if category == "billing" else "normal"
        self._emit(
            self.client.trace(E.AI_CLASSIFICATION, f"Ticket {ticket_id} classified as {category}")
            .by(_TRIAGE_AI)
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
            when + timedelta(seconds=self.rng.randint(2, 30)),
            parent=created,
            correlation=correlation,
            duration=0.3,
        )
        agent = self.rng.choice(_SUPPORT)
        answered = self._office(when + self._minutes(30, 60 * 20))
        if self.rng.random() < 0.1:
            escalated = self._emit(
                self.client.trace(E.TICKET_ESCALATED, f"Ticket {ticket_id} escalated")
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
            agent, answered = _SENIOR_SUPPORT, self._office(answered + self._minutes(60, 600))
        self._emit(
            self.client.trace(E.TICKET_RESOLVED, f"Ticket {ticket_id} resolved")
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
            duration=self.rng.uniform(3, 25) * 60,
        )

    # Carts and marketing --------------------------------------------------

    def _cart_fill(
        self, created: _Ref, customer: _Customer, cart_id: str, products: list[_Product]
    ) -> datetime | None:
        """Add ``products`` to the cart one by one, sometimes taking one out and back in.

        Returns the time of the last change, or None when the period ends first.
        """
        at, items, value = created.at, 0, Decimal(0)
        steps = [(E.CART_ITEM_ADDED, product) for product in products]
        if len(products) > 1 and self.rng.random() < 0.3:
            second_thought = self.rng.choice(products)
            steps[-1:-1] = [
                (E.CART_ITEM_REMOVED, second_thought),
                (E.CART_ITEM_ADDED, second_thought),
            ]
        for event_type, product in steps:
            at += self._minutes(0.2, 6)
            added = event_type == E.CART_ITEM_ADDED
            after_items = items + (1 if added else -1)
            after_value = value + (product.price if added else -product.price)
            verb = "added to" if added else "removed from"
            step = self._emit(
                self.client.trace(event_type, f"{product.name} {verb} cart {cart_id}")
                .by(customer.actor)
                .affecting_object(
                    ObjectType.CART,
                    cart_id,
                    state_before={"items": items, "value": money_text(value)},
                    state_after={"items": after_items, "value": money_text(after_value)},
                )
                .affecting_product(product.sku, name=product.name)
                .with_data(sku=product.sku, price=money_text(product.price))
                .with_tags("cart"),
                at,
                parent=created,
                correlation=cart_id,
            )
            if step is None:
                return None
            items, value = after_items, after_value
        return at

    def _abandoned_cart(self, when: datetime) -> None:
        customer = self._choose_customer(when)
        if customer is None:
            return
        cart_id = f"cart-{self._next('cart', 30001)}"
        products = self.rng.sample(self._products, k=min(len(self._products), 3))[
            : self.rng.randint(1, 3)
        ]
        created = self._emit(
            self.client.trace(E.CART_CREATED, f"Cart {cart_id} created by {customer.id}")
            .by(customer.actor)
            .affecting_object(ObjectType.CART, cart_id, state_after={"status": "active"})
            .affecting_customer(customer.id)
            .with_tags("cart"),
            when,
            correlation=cart_id,
        )
        if created is None:
            return
        last = self._cart_fill(created, customer, cart_id, products)
        if last is None:
            return
        value = sum((p.price for p in products), Decimal(0))
        noticed = last + timedelta(hours=1)
        abandoned = self._emit(
            self.client.trace(E.CART_ABANDONED, f"Cart {cart_id} abandoned ({value})")
            .by(_CART_JOB)
            .affecting_object(
                ObjectType.CART,
                cart_id,
                state_before={"status": "active"},
                state_after={"status": "abandoned", "value": money_text(value)},
            )
            .affecting_customer(customer.id)
            .with_data(items=[p.sku for p in products], value=money_text(value))
            .with_tags("cart"),
            noticed,
            parent=created,
            correlation=cart_id,
        )
        if abandoned is None:
            return
        automation = self._emit(
            self.client.automation_triggered(
                "cart-recovery",
                "cart idle for 60 minutes",
                "send_recovery_email",
                name="Cart Recovery",
                rule="idle >= 60 min and value >= 10",
                trigger_event_id=abandoned.id,
                affected_objects=[{"type": "cart", "id": cart_id}],
            ),
            noticed + timedelta(seconds=5),
            parent=abandoned,
            correlation=cart_id,
        )
        if automation is None:
            return
        email_id = f"email-{self._next('email', 50001)}"
        sent = (
            self.client.trace(E.EMAIL_SENT, f"Recovery e-mail {email_id} to {customer.id}")
            .by(_EMAIL_JOB)
            .affecting_object(ObjectType.EMAIL, email_id, template="cart-recovery")
            .affecting_customer(customer.id)
            .with_tags("marketing", "email")
        )
        if self.rng.random() < 0.03:
            sent.failed("550 5.1.1 mailbox unavailable", {"bounce": "hard"})
        mail = self._emit(
            sent, noticed + timedelta(seconds=40), parent=automation, correlation=cart_id
        )
        if mail is None or self.rng.random() > 0.45:
            return
        opened = self._emit(
            self.client.trace(E.EMAIL_OPENED, f"{customer.id} opened {email_id}")
            .by(customer.actor)
            .affecting_object(ObjectType.EMAIL, email_id)
            .with_tags("marketing", "email"),
            noticed + self._minutes(10, 720),
            parent=mail,
            correlation=cart_id,
        )
        if opened is None or self.rng.random() > 0.35:
            return
        clicked = self._emit(
            self.client.trace(E.EMAIL_CLICKED, f"{customer.id} clicked through {email_id}")
            .by(customer.actor)
            .affecting_object(ObjectType.EMAIL, email_id)
            .with_tags("marketing", "email"),
            opened.at + self._minutes(0.2, 5),
            parent=opened,
            correlation=cart_id,
        )
        if clicked is None:
            return
        recovered = self._emit(
            self.client.trace(E.CART_RECOVERED, f"Cart {cart_id} recovered")
            .by(customer.actor)
            .affecting_object(
                ObjectType.CART,
                cart_id,
                state_before={"status": "abandoned"},
                state_after={"status": "recovered"},
            )
            .with_tags("cart"),
            clicked.at + self._minutes(1, 3),
            parent=clicked,
            correlation=cart_id,
        )
        if recovered is not None:
            self._schedule(recovered.at + self._minutes(2, 15), self._place_order, cart_id)

    def _campaign_launch(self, when: datetime, campaign: _Campaign) -> None:
        launched = self._emit(
            self.client.trace(E.CAMPAIGN_LAUNCHED, f"Campaign {campaign.name} launched")
            .by(_MARKETER)
            .affecting_object(
                ObjectType.CAMPAIGN,
                campaign.id,
                name=campaign.name,
                state_after={"status": "live", "ends": campaign.end},
            )
            .because(
                f"{campaign.percent} % off to lift orders in a quiet week",
                alternatives=[{"action": "free_shipping"}],
                rejection_reasons={"free_shipping": "Most orders already ship free"},
            )
            .with_data(coupon=campaign.coupon, percent=campaign.percent)
            .with_tags("marketing", "campaign"),
            when,
            correlation=campaign.id,
        )
        if launched is None:
            return
        campaign.ref = launched
        self._emit(
            self.client.trace(E.COUPON_CREATED, f"Coupon {campaign.coupon} created")
            .by(_MARKETER)
            .affecting_object(
                ObjectType.COUPON,
                campaign.coupon,
                state_after={"percent_off": campaign.percent, "expires": campaign.end},
            )
            .with_tags("marketing", "coupon"),
            when + timedelta(seconds=30),
            parent=launched,
            correlation=campaign.id,
        )
        recipients = sum(1 for c in self._customers if not c.blocked)
        self._emit(
            self.client.trace(E.EMAIL_SENT, f"Campaign e-mail to {recipients} customers")
            .by(_EMAIL_JOB)
            .affecting_object(ObjectType.EMAIL, f"blast-{campaign.id}", template=campaign.id)
            .with_data(recipients=recipients, bounced=round(recipients * 0.012))
            .with_tags("marketing", "email"),
            when + self._minutes(10, 30),
            parent=launched,
            correlation=campaign.id,
            duration=self.rng.uniform(60, 400),
        )
        pause = when + timedelta(hours=self.rng.randint(20, 40))
        if pause < campaign.end:
            self._schedule(pause, self._campaign_pause, campaign)

    def _campaign_pause(self, when: datetime, campaign: _Campaign) -> None:
        self._emit(
            self.client.trace(E.CAMPAIGN_PAUSED, f"Campaign {campaign.name} ads paused")
            .by(_MARKETER)
            .affecting_object(ObjectType.CAMPAIGN, campaign.id, state_after={"ads": "paused"})
            .because("Daily ad budget reached; the coupon stays valid")
            .with_tags("marketing", "campaign"),
            when,
            parent=campaign.ref,
            correlation=campaign.id,
        )

    def _campaign_end(self, when: datetime, campaign: _Campaign) -> None:
        if campaign.ref is None:
            return
        ended = self._emit(
            self.client.trace(E.CAMPAIGN_ENDED, f"Campaign {campaign.name} ended")
            .by(_system("marketing-scheduler"))
            .affecting_object(
                ObjectType.CAMPAIGN,
                campaign.id,
                state_before={"status": "live"},
                state_after={"status": "ended"},
            )
            .with_tags("marketing", "campaign"),
            when,
            parent=campaign.ref,
            correlation=campaign.id,
        )
        if ended is not None:
            self._emit(
                self.client.trace(E.COUPON_EXPIRED, f"Coupon {campaign.coupon} expired")
                .by(_system("marketing-scheduler"))
                .affecting_object(ObjectType.COUPON, campaign.coupon, state_after={"valid": False})
                .with_tags("marketing", "coupon"),
                when + timedelta(seconds=1),
                parent=ended,
                correlation=campaign.id,
            )

    # Monitoring -----------------------------------------------------------

    def _outage_detected(self, when: datetime, start: datetime, end: datetime) -> None:
        observed = round(self.rng.uniform(0.55, 0.7), 3)
        anomaly = self._emit(
            self.client.anomaly_detected(
                "payment_failure_spike",
                "payment_failure_rate",
                observed,
                0.045,
                "anomaly-watch",
                confidence=0.97,
                window=f"{start:%Y-%m-%d %H:%M}-{when:%H:%M} UTC",
                context={"processor": "stripe", "error_code": "processing_error"},
            ).by(_ANOMALY_AI),
            when,
            correlation=f"incident-{start:%Y%m%d}",
        )
        if anomaly is None:
            return
        failover = self._emit(
            self.client.automation_triggered(
                "processor-failover",
                "anomaly: payment_failure_spike",
                "route_cards_to_adyen",
                name="Processor Failover",
                rule="card failure rate > 30 % for 10 min",
                trigger_event_id=anomaly.id,
            ).by(_FAILOVER),
            when + timedelta(seconds=20),
            parent=anomaly,
            correlation=f"incident-{start:%Y%m%d}",
        )
        if failover is not None:
            self._failover = True
            self._schedule(end + timedelta(minutes=5), self._outage_over, failover, start)

    def _outage_over(self, when: datetime, parent: _Ref, start: datetime) -> None:
        self._failover = False
        self._emit(
            self.client.automation_triggered(
                "processor-failover",
                "stripe status page: incident resolved",
                "route_cards_to_stripe",
                name="Processor Failover",
            ).by(_FAILOVER),
            when,
            parent=parent,
            correlation=f"incident-{start:%Y%m%d}",
        )

    def _volume_check(self, when: datetime) -> None:
        """Compare yesterday's orders with the week before (whole days in the period only)."""
        yesterday = when.date() - timedelta(days=1)
        first_whole_day = (self.start + timedelta(days=1)).date()
        history = [
            self._orders_by_day.get(yesterday - timedelta(days=back), 0)
            for back in range(1, 8)
            if yesterday - timedelta(days=back) >= first_whole_day
        ]
        if len(history) < 3:
            return
        expected = round(sum(history) / len(history), 1)
        observed = self._orders_by_day.get(yesterday, 0)
        if expected < 5 or abs(observed - expected) < expected * 0.3:
            return
        kind = "order_volume_spike" if observed > expected else "order_volume_drop"
        self._emit(
            self.client.anomaly_detected(
                kind,
                "orders_per_day",
                observed,
                Decimal(str(expected)),
                "anomaly-watch",
                confidence=round(self.rng.uniform(0.75, 0.95), 2),
                window=f"{yesterday:%Y-%m-%d}",
                context={"trailing_days": len(history)},
            ).by(_ANOMALY_AI),
            when,
            duration=self.rng.uniform(2, 9),
            correlation=f"volume-{yesterday:%Y%m%d}",
        )


def _values(obj: TraceEvent | DecisionTrace) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _tier(lifetime: Decimal) -> str:
    for name, floor in _TIER_FLOORS:
        if lifetime >= floor:
            return name
    return "bronze"


def _charm(price: Decimal) -> Decimal:
    """A shelf price: x.99 from 10 up, else to the cent."""
    if price >= 10:
        return Decimal(int(price)) + Decimal("0.99") - (1 if price % 1 < Decimal("0.5") else 0)
    return price.quantize(Decimal("0.01"))
