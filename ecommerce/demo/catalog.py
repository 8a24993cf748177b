"""The catalogue: the opening range, a product launch, a discontinued line and the weekly
demand forecast.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal

from decision_trace.ecommerce.event_types import EcommerceEventType as E
from decision_trace.ecommerce.validation import money_text
from decision_trace.enums import ObjectType
from ecommerce.demo.cast import FORECAST_AI, MERCHANDISER, PICKERS
from ecommerce.demo.engine import Simulation
from ecommerce.demo.entities import Product
from ecommerce.demo.inventory import Inventory

__all__ = ["Catalog", "opening_catalog"]

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


def opening_catalog(sim: Simulation) -> list[Product]:
    """The products on sale at the start, stocked according to their expected demand."""
    count = min(64, max(12, round(48 * math.sqrt(sim.scale))))
    products: list[Product] = []
    for index in range(count):
        code, category, supplier, (low, high), names = _CATALOG[index % len(_CATALOG)]
        name = names[index // len(_CATALOG)]
        price = Decimal(sim.rng.randint(low, high)) - Decimal("0.01")
        cost = (price * Decimal(sim.rng.uniform(0.42, 0.62))).quantize(Decimal("0.01"))
        products.append(
            Product(
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
                lead_days=sim.rng.randint(3, 9),
                weight=1 / (1 + index * 0.15) * sim.rng.uniform(0.6, 1.4),
            )
        )
    units_per_day = 70 * sim.scale * 1.7 * 1.25
    total_weight = sum(p.weight for p in products)
    for product in products:
        demand = max(0.2, units_per_day * product.weight / total_weight)
        product.threshold = max(3, math.ceil(demand * (product.lead_days + 2)))
        product.reorder_qty = max(10, 5 * math.ceil(demand * 21 / 5))
        product.stock = product.threshold + math.ceil(demand * sim.rng.uniform(2, 16))
    return products


class Catalog:
    """New and discontinued products, and the demand forecaster's weekly view of them."""

    def __init__(self, sim: Simulation, products: list[Product], inventory: Inventory) -> None:
        self.sim = sim
        self.products = products
        self.inventory = inventory

    def launch_product(self, when: datetime) -> None:
        code = "NEW"
        number = self.sim.serial("launch", 1)
        product = Product(
            sku=f"{code}-{900 + number}",
            name="Insulated Travel Mug",
            category="Kitchen",
            supplier="sup-northwind",
            price=Decimal("24.99"),
            list_price=Decimal("24.99"),
            cost=Decimal("9.80"),
            stock=0,
            threshold=max(3, round(6 * self.sim.scale)),
            reorder_qty=max(10, round(40 * self.sim.scale)),
            lead_days=5,
            weight=0.8,
        )
        ref = self.sim.emit(
            self.sim.client.trace(E.PRODUCT_CREATED, f"New product {product.sku}: {product.name}")
            .by(MERCHANDISER)
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
        self.products.append(product)
        self.sim.schedule(
            when + self.sim.minutes(30, 90),
            self.inventory.move_stock,
            product,
            product.reorder_qty,
            "First delivery of a new product",
            ref,
            self.sim.rng.choice(PICKERS),
            f"launch-{product.sku}",
            E.INVENTORY_RECEIVED,
        )

    def discontinue_product(self, when: datetime) -> None:
        candidates = [p for p in self.products if p.active and not p.sku.startswith("NEW")]
        product = candidates[-1]
        ref = self.sim.emit(
            self.sim.client.trace(E.PRODUCT_DISCONTINUED, f"{product.name} discontinued")
            .by(MERCHANDISER)
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

    def forecast_run(self, when: datetime) -> None:
        categories: dict[str, list[Product]] = {}
        for product in self.products:
            categories.setdefault(product.category, []).append(product)
        for index, (category, products) in enumerate(categories.items()):
            units = sum(p.reorder_qty for p in products) // 3
            self.sim.emit(
                self.sim.client.trace(
                    E.AI_FORECAST, f"Demand forecast for {category}: {units} units next week"
                )
                .by(FORECAST_AI)
                .affecting_object(
                    ObjectType.FORECAST,
                    f"fc-{category.lower()}-{when:%Y%m%d}",
                    state_after={"units": units},
                )
                .affecting_object(ObjectType.CATEGORY, category.lower(), name=category)
                .because(
                    "Seasonal profile and the last four weeks of sales",
                    context={"horizon_days": 7, "skus": len(products)},
                    confidence=round(self.sim.rng.uniform(0.7, 0.93), 2),
                )
                .with_data(category=category, units=units)
                .with_tags("ai", "forecast"),
                when + timedelta(seconds=20 * index),
                duration=self.sim.rng.uniform(4, 30),
                correlation=f"forecast-{when:%Y%m%d}",
            )
