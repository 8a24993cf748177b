"""The cast: the services, AI agents, jobs, partners and staff who act in the demo."""

from __future__ import annotations

from decision_trace.values import Actor

__all__ = [
    "ANOMALY_AI",
    "CARRIERS",
    "CART_JOB",
    "CATALOG_SERVICE",
    "CHECKOUT",
    "EMAIL_JOB",
    "FAILOVER",
    "FORECAST_AI",
    "FRAUD_AI",
    "FULFILLMENT",
    "IDENTITY",
    "INVENTORY_JOB",
    "LOYALTY_JOB",
    "MARKETER",
    "MERCHANDISER",
    "ORDER_SERVICE",
    "PACKERS",
    "PICKERS",
    "PRICING_AI",
    "PRICING_JOB",
    "PRICING_SERVICE",
    "PROCESSORS",
    "REPLENISHMENT",
    "RETURNS_POLICY",
    "SENIOR_SUPPORT",
    "STOCK_COUNT",
    "SUPPORT",
    "TRIAGE_AI",
    "WMS",
    "system",
]


def system(name: str) -> Actor:
    return Actor.system(name, component=name)


ORDER_SERVICE = system("order-service")
CHECKOUT = system("checkout-service")
FULFILLMENT = system("fulfillment-engine")
WMS = system("warehouse-wms")
IDENTITY = system("identity-service")
CATALOG_SERVICE = system("catalog-service")
PRICING_SERVICE = system("pricing-service")
FRAUD_AI = Actor.ai_agent("fraud-guard", "Fraud Guard", model="fraud-gbm", version="3.2")
FORECAST_AI = Actor.ai_agent(
    "demand-forecaster", "Demand Forecaster", model="demand-forecast-v2", version="2.4"
)
PRICING_AI = Actor.ai_agent("dynamic-pricing", "Dynamic Pricing", model="pricing-rl", version="2.1")
ANOMALY_AI = Actor.ai_agent(
    "anomaly-watch", "Anomaly Watch", model="isolation-forest", version="1.8"
)
TRIAGE_AI = Actor.ai_agent(
    "support-triage", "Support Triage", model="ticket-classifier", version="5.0"
)
INVENTORY_JOB = Actor.compute("inventory-sync", "Inventory Sync", service_name="warehouse-api")
REPLENISHMENT = Actor.compute("replenishment", "Replenishment", service_name="procurement")
LOYALTY_JOB = Actor.compute("loyalty-tiers", "Loyalty Tiers", service_name="crm")
CART_JOB = Actor.compute("cart-abandonment", "Abandoned Carts", service_name="storefront")
RETURNS_POLICY = Actor.compute("returns-policy", "Returns Policy", service_name="returns")
STOCK_COUNT = Actor.compute("stock-count", "Stock Count", service_name="warehouse-api")
EMAIL_JOB = Actor.compute("email-dispatch", "E-mail Dispatch", service_name="messaging")
PRICING_JOB = Actor.compute("pricing-run", "Pricing Run", service_name="pricing")
FAILOVER = Actor.compute("processor-failover", "Processor Failover", service_name="payments")
PROCESSORS = {
    "stripe": Actor.external("stripe", "Stripe", service_name="payments"),
    "adyen": Actor.external("adyen", "Adyen", service_name="payments"),
    "paypal": Actor.external("paypal", "PayPal", service_name="payments"),
}
CARRIERS = {
    "ups": Actor.external("ups", "UPS", service_name="shipping"),
    "dhl": Actor.external("dhl", "DHL Express", service_name="shipping"),
    "usps": Actor.external("usps", "USPS", service_name="shipping"),
}


def _staff(key: str, name: str, role: str) -> Actor:
    first, last = name.split()
    return Actor.user(f"staff-{key}", name, email=f"{first}.{last}@shop.example".lower(), role=role)


PICKERS = (
    _staff("ana", "Ana Lima", "warehouse"),
    _staff("tom", "Tom Becker", "warehouse"),
    _staff("yuki", "Yuki Sato", "warehouse"),
)
PACKERS = (_staff("sam", "Sam Carter", "warehouse"), _staff("lea", "Lea Roth", "warehouse"))
SUPPORT = (
    _staff("maria", "Maria Gomez", "support"),
    _staff("dev", "Dev Patel", "support"),
    _staff("jo", "Jo Nakamura", "support"),
)
SENIOR_SUPPORT = _staff("grace", "Grace Hall", "support lead")
MERCHANDISER = _staff("nina", "Nina Berg", "merchandising")
MARKETER = _staff("oscar", "Oscar Diaz", "marketing")
