"""``EcommerceClient``: the store's events, each a pre-filled ``TraceBuilder``.

Every method checks its arguments at once (``TraceValidationError`` saying
what to pass), then returns a builder with the event type, description, the
affected objects (with their state before and after where the arguments give
it), data, tags, risk and reasoning already set. The caller adds who acted and
anything else, and calls ``.record()``; nothing is written before that.

The client records wherever its ``DecisionTraceClient`` base does: over HTTP
(``EcommerceClient(base_url=..., token=...)`` or the environment variables)
or, inside the Django project, in-process (``ecommerce.EcommerceClient``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from decision_trace.builder import TraceBuilder
from decision_trace.client import DecisionTraceClient
from decision_trace.ecommerce.event_types import EcommerceEventType
from decision_trace.ecommerce.exceptions import (
    NOT_AN_ANOMALY,
    PRICE_BOUNDS,
    PRICE_UNCHANGED,
    REFUND_ABOVE_TOTAL,
    RESERVED_ORDER_DATA,
    STOCK_ABOVE_THRESHOLD,
    STOCK_UNCHANGED,
    TIER_UNCHANGED,
    WRONG_OBJECT,
)
from decision_trace.ecommerce.risk import (
    anomaly_risk,
    confidence_risk,
    low_stock_risk,
    payment_failure_risk,
    price_change_percent,
    price_change_risk,
    stock_adjustment_risk,
)
from decision_trace.ecommerce.validation import (
    check_currency,
    check_email,
    check_id,
    check_items,
    check_label,
    check_money,
    check_number,
    check_quantity,
    check_when,
    money_text,
)
from decision_trace.enums import ObjectType, RiskLevel
from decision_trace.exceptions import TraceValidationError
from decision_trace.validation import (
    TAG_LENGTH,
    check_choice,
    check_confidence,
    check_event_id,
    check_mapping,
    check_text,
)
from decision_trace.values import Actor, TraceEvent, TrackedObject

__all__ = [
    "APPROVAL_EVENT_TYPES",
    "DEFAULT_APPROVAL_RISK_LEVEL",
    "TIERS",
    "EcommerceClient",
    "EcommerceTraceBuilder",
]

DEFAULT_APPROVAL_RISK_LEVEL = RiskLevel.MEDIUM

# The event types that go to a person when their risk reaches ECOMMERCE_APPROVAL_RISK_LEVEL.
APPROVAL_EVENT_TYPES = frozenset(
    {EcommerceEventType.AI_RECOMMENDATION.value, EcommerceEventType.PRICE_DYNAMIC_ADJUSTED.value}
)
# Loyalty tiers from lowest to highest; other names are accepted without a direction.
TIERS = ("bronze", "silver", "gold", "platinum")
_OBJECT_FIELDS = frozenset(f.name for f in fields(TrackedObject))
# Keys of order_data that would overwrite what order_created() computes.
_RESERVED_ORDER_KEYS = frozenset({"subtotal"})

Money = Decimal | int | str | float


class EcommerceTraceBuilder(TraceBuilder):
    """A ``TraceBuilder`` that applies the store's approval rule when the event is built.

    An AI recommendation or a dynamic price change whose risk is at or above
    the client's ``approval_risk_level`` (in the Django project,
    ``ECOMMERCE_APPROVAL_RISK_LEVEL``) is recorded with ``requires_approval``,
    whatever the caller set: the rule is checked in ``build()`` (and so in
    ``record()``), after every ``.with_risk(...)`` the caller added. Below
    that level the caller may still ask for approval with
    ``.requires_approval()``.
    """

    def build(self, *, now: datetime | None = None) -> TraceEvent:
        event = super().build(now=now)
        decision = event.decision
        if (
            event.event_type in APPROVAL_EVENT_TYPES
            and decision is not None
            and decision.risk_level is not None
            and not decision.requires_approval
        ):
            client = self._client
            level = (
                client.approval_risk_level
                if isinstance(client, EcommerceClient)
                else DEFAULT_APPROVAL_RISK_LEVEL
            )
            if level is not None and decision.risk_level.rank >= level.rank:
                event = replace(event, decision=replace(decision, requires_approval=True))
        return event


class EcommerceClient(DecisionTraceClient):
    """``DecisionTraceClient`` with one method per store event.

    Args:
        base_url, token: the server, as for ``DecisionTraceClient`` (default
            the environment variables, or in-process inside the project).
        currency: the ISO 4217 code stored with every amount (default ``"USD"``).
        approval_risk_level: from this risk on, AI recommendations and dynamic
            price changes are recorded with ``requires_approval`` (``None``
            switches the rule off). Default medium, the server's default.
        **options: the other ``DecisionTraceClient`` options (``default_actor``,
            ``batch``, ``timeout``, ...).

    Amounts (``total``, ``refund_amount``, prices, costs) take a ``Decimal``,
    an ``int``, text such as ``"149.99"``, or a float that is an exact amount
    of cents; they are stored as exact text (``"149.99"``), never as floats.

    The AI methods (``ai_recommendation``, ``anomaly_detected``,
    ``dynamic_price_adjusted``) name the model as the actor and
    ``automation_triggered`` the automation; a later ``.by_...()`` replaces
    it. The others leave the actor to the caller (or ``default_actor``).
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        currency: str = "USD",
        approval_risk_level: RiskLevel | str | None = DEFAULT_APPROVAL_RISK_LEVEL,
        **options: Any,
    ) -> None:
        self.currency = check_currency(currency)
        self._approval_risk_level = (
            None
            if approval_risk_level is None
            else check_choice("approval_risk_level", approval_risk_level, RiskLevel)
        )
        super().__init__(base_url=base_url, token=token, **options)

    @property
    def approval_risk_level(self) -> RiskLevel | None:
        """The risk from which AI recommendations and dynamic prices need approval (or ``None``)."""
        return self._approval_risk_level

    def trace(self, event_type: str, description: str = "") -> EcommerceTraceBuilder:
        """Start describing any event; the approval rule applies to it too."""
        return EcommerceTraceBuilder(
            event_type, description, actor=self._default_actor, client=self
        )

    def _order_trace(
        self, order_id: str, event_type: str, description: str
    ) -> EcommerceTraceBuilder:
        # An order's events share its id as their correlation id.
        return self.trace(event_type, description).with_correlation(order_id)

    def _amount(self, amount: Decimal) -> str:
        return f"{money_text(amount)} {self.currency}"

    # Orders --------------------------------------------------------------

    def order_created(
        self,
        order_id: str,
        customer_id: str,
        total: Money,
        items: Iterable[Mapping[str, Any]],
        **order_data: Any,
    ) -> EcommerceTraceBuilder:
        """A customer placed an order.

        ``items`` are dicts with ``sku``, ``qty`` (or ``quantity``) and
        ``price``. ``order_data`` (channel, coupon, shipping method, ...) goes
        into the event data; ``currency=`` there overrides the client's for
        this order. Objects: the order (created, with its total), the
        customer and one product per SKU (quantity and price).
        """
        order_id = check_id("order_id", order_id)
        customer_id = check_id("customer_id", customer_id)
        total_amount = check_money("total", total)
        lines = check_items("items", items, priced=True)
        reserved = sorted(_RESERVED_ORDER_KEYS & set(order_data))
        if reserved:
            raise TraceValidationError(RESERVED_ORDER_DATA.format(names=", ".join(reserved)))
        currency = check_currency(order_data.pop("currency", self.currency))
        extra = check_mapping("order_data", order_data)
        units = sum(line["qty"] for line in lines)
        subtotal = sum((Decimal(line["price"]) * line["qty"] for line in lines), Decimal(0))
        builder = self._order_trace(
            order_id,
            EcommerceEventType.ORDER_CREATED,
            f"Order {order_id} placed: {units} item(s), {money_text(total_amount)} {currency}",
        )
        builder.affecting_order(
            order_id,
            {
                "status": "created",
                "total": money_text(total_amount),
                "currency": currency,
                "lines": len(lines),
                "units": units,
                "customer_id": customer_id,
            },
        ).affecting_customer(customer_id)
        quantities: dict[str, int] = {}
        for line in lines:
            quantities[line["sku"]] = quantities.get(line["sku"], 0) + line["qty"]
        for sku, qty in quantities.items():
            builder.affecting_product(sku, qty=qty)
        return builder.with_data(
            order_id=order_id,
            customer_id=customer_id,
            total=money_text(total_amount),
            subtotal=money_text(subtotal),
            currency=currency,
            items=lines,
            **extra,
        ).with_tags("order")

    def order_cancelled(
        self, order_id: str, reason: str, refund_amount: Money | None = None
    ) -> EcommerceTraceBuilder:
        """An order was cancelled; ``reason`` is the reasoning. A refund, if any, is recorded."""
        order_id = check_id("order_id", order_id)
        reason = check_text("reason", reason, required=True)
        state: dict[str, Any] = {"status": "cancelled"}
        tags = ["order", "cancellation"]
        description = f"Order {order_id} cancelled"
        if refund_amount is not None:
            refund = check_money("refund_amount", refund_amount)
            state["refund_amount"] = money_text(refund)
            if refund > 0:
                tags.append("refund")
                description += f", {self._amount(refund)} refunded"
        return (
            self._order_trace(order_id, EcommerceEventType.ORDER_CANCELLED, description)
            .affecting_order(order_id, state)
            .because(reason)
            .with_data(order_id=order_id, **state)
            .with_tags(*tags)
        )

    def order_refunded(
        self,
        order_id: str,
        refund_amount: Money,
        reason: str,
        payment_id: str | None = None,
        *,
        order_total: Money | None = None,
    ) -> EcommerceTraceBuilder:
        """Money went back to the customer; ``reason`` is the reasoning.

        With ``order_total`` a refund below it is recorded as
        ``order.partially_refunded`` (and one above it is refused).
        """
        order_id = check_id("order_id", order_id)
        refund = check_money("refund_amount", refund_amount, allow_zero=False)
        reason = check_text("reason", reason, required=True)
        event_type = EcommerceEventType.ORDER_REFUNDED
        status = "refunded"
        tags = ["order", "refund"]
        data: dict[str, Any] = {"order_id": order_id, "refund_amount": money_text(refund)}
        if order_total is not None:
            total = check_money("order_total", order_total)
            if refund > total:
                raise TraceValidationError(
                    REFUND_ABOVE_TOTAL.format(refund=money_text(refund), total=money_text(total))
                )
            data["order_total"] = money_text(total)
            if refund < total:
                event_type = EcommerceEventType.ORDER_PARTIALLY_REFUNDED
                status = "partially_refunded"
                tags.append("partial-refund")
        builder = self._order_trace(
            order_id,
            event_type,
            f"Order {order_id} {status.replace('_', ' ')}: {self._amount(refund)}",
        ).affecting_order(order_id, {"status": status, "refund_amount": money_text(refund)})
        if payment_id is not None:
            payment_id = check_id("payment_id", payment_id)
            data["payment_id"] = payment_id
            builder.affecting_payment(
                payment_id, {"status": "refunded", "refunded_amount": money_text(refund)}
            )
        return builder.because(reason).with_data(**data, currency=self.currency).with_tags(*tags)

    # Payments ------------------------------------------------------------

    def payment_captured(
        self,
        payment_id: str,
        order_id: str,
        amount: Money,
        payment_method: str,
        processor: str | None = None,
    ) -> EcommerceTraceBuilder:
        """The money of an order was captured."""
        payment_id = check_id("payment_id", payment_id)
        order_id = check_id("order_id", order_id)
        captured = check_money("amount", amount, allow_zero=False)
        payment_method = check_label("payment_method", payment_method)
        data: dict[str, Any] = {
            "payment_id": payment_id,
            "order_id": order_id,
            "amount": money_text(captured),
            "currency": self.currency,
            "payment_method": payment_method,
        }
        if processor is not None:
            data["processor"] = check_label("processor", processor)
        return (
            self._order_trace(
                order_id,
                EcommerceEventType.PAYMENT_CAPTURED,
                f"Payment {payment_id} captured: {self._amount(captured)} by {payment_method}",
            )
            .affecting_payment(
                payment_id,
                {"status": "captured", "amount": money_text(captured), "method": payment_method},
            )
            .affecting_order(order_id, {"payment_status": "paid"})
            .with_data(**data)
            .with_tags("payment")
        )

    def payment_failed(
        self,
        payment_id: str,
        order_id: str,
        amount: Money,
        error_code: str,
        error_message: str,
    ) -> EcommerceTraceBuilder:
        """A payment attempt failed: outcome failure, the code and message as the error.

        Risk is high for declines that suggest fraud
        (``decision_trace.ecommerce.risk.FRAUD_ERROR_CODES``).
        """
        payment_id = check_id("payment_id", payment_id)
        order_id = check_id("order_id", order_id)
        attempted = check_money("amount", amount, allow_zero=False)
        error_code = check_label("error_code", error_code)
        error_message = check_text("error_message", error_message, required=True)
        risk = payment_failure_risk(error_code)
        tags = ["payment", "payment-failure"]
        if risk is RiskLevel.HIGH:
            tags.append("suspected-fraud")
        return (
            self._order_trace(
                order_id,
                EcommerceEventType.PAYMENT_FAILED,
                f"Payment {payment_id} of {self._amount(attempted)} failed: {error_code}",
            )
            .affecting_payment(
                payment_id,
                {"status": "failed", "amount": money_text(attempted), "error_code": error_code},
            )
            .affecting_order(order_id, {"payment_status": "failed"})
            .failed(f"{error_code}: {error_message}", {"error_code": error_code})
            .with_risk(risk)
            .with_data(
                payment_id=payment_id,
                order_id=order_id,
                amount=money_text(attempted),
                currency=self.currency,
                error_code=error_code,
                error_message=error_message,
            )
            .with_tags(*tags)
        )

    # Inventory -----------------------------------------------------------

    def inventory_adjusted(
        self,
        sku: str,
        quantity_before: int,
        quantity_after: int,
        reason: str,
        location: str | None = None,
    ) -> EcommerceTraceBuilder:
        """Stock of a SKU changed; the inventory object carries both quantities.

        Risk: down to zero is high, losing half or more at once medium.
        """
        sku = check_id("sku", sku)
        before = check_quantity("quantity_before", quantity_before)
        after = check_quantity("quantity_after", quantity_after)
        reason = check_text("reason", reason, required=True)
        if before == after:
            raise TraceValidationError(STOCK_UNCHANGED.format(quantity=before))
        delta = after - before
        metadata: dict[str, Any] = {}
        data: dict[str, Any] = {"sku": sku, "delta": delta}
        if location is not None:
            metadata["location"] = data["location"] = check_label("location", location)
        tags = ["inventory", "stock-increase" if delta > 0 else "stock-decrease"]
        if after == 0:
            tags.append("out-of-stock")
        return (
            self.trace(
                EcommerceEventType.INVENTORY_ADJUSTED,
                f"Stock of {sku} {'+' if delta > 0 else ''}{delta}: {before} → {after}",
            )
            .affecting_inventory(sku, quantity_before=before, quantity_after=after, **metadata)
            .because(reason)
            .with_risk(stock_adjustment_risk(before, after))
            .with_data(**data)
            .with_tags(*tags)
        )

    def inventory_low_stock(
        self,
        sku: str,
        current_quantity: int,
        threshold: int,
        recommended_action: str | None = None,
    ) -> EcommerceTraceBuilder:
        """Stock of a SKU is at or below its reorder threshold.

        Risk: out of stock is high, at most half the threshold medium, else low.
        """
        sku = check_id("sku", sku)
        current = check_quantity("current_quantity", current_quantity)
        threshold = check_quantity("threshold", threshold)
        if current > threshold:
            raise TraceValidationError(
                STOCK_ABOVE_THRESHOLD.format(current=current, threshold=threshold)
            )
        action = None
        if recommended_action is not None:
            action = check_label("recommended_action", recommended_action)
        tags = ["inventory", "low-stock"]
        if current == 0:
            tags.append("out-of-stock")
        return (
            self.trace(
                EcommerceEventType.INVENTORY_LOW_STOCK,
                f"Low stock: {sku} has {current} left (threshold {threshold})",
            )
            .affecting_object(
                ObjectType.INVENTORY,
                sku,
                state_after={"quantity": current, "threshold": threshold},
            )
            .because(
                f"Stock of {sku} is {current}, at or below the reorder threshold of {threshold}",
                action=action,
                context={"current_quantity": current, "threshold": threshold},
            )
            .with_risk(low_stock_risk(current, threshold))
            .with_data(sku=sku, current_quantity=current, threshold=threshold)
            .with_tags(*tags)
        )

    def inventory_restock_ordered(
        self,
        sku: str,
        quantity_ordered: int,
        supplier: str,
        expected_arrival: date | datetime | None = None,
        cost: Money | None = None,
    ) -> EcommerceTraceBuilder:
        """A purchase order went to a supplier; objects: the SKU's inventory and the supplier."""
        sku = check_id("sku", sku)
        quantity = check_quantity("quantity_ordered", quantity_ordered, minimum=1)
        supplier = check_id("supplier", supplier)
        data: dict[str, Any] = {"sku": sku, "quantity_ordered": quantity, "supplier": supplier}
        description = f"Restock ordered: {quantity} units of {sku} from {supplier}"
        if expected_arrival is not None:
            data["expected_arrival"] = check_when("expected_arrival", expected_arrival)
        if cost is not None:
            data["cost"] = money_text(check_money("cost", cost))
            data["currency"] = self.currency
            description += f" for {data['cost']} {self.currency}"
        return (
            self.trace(EcommerceEventType.INVENTORY_RESTOCK_ORDERED, description)
            .affecting_object(
                ObjectType.INVENTORY, sku, state_after={"on_order": quantity}, supplier=supplier
            )
            .affecting_object(ObjectType.SUPPLIER, supplier)
            .with_data(**data)
            .with_tags("inventory", "restock")
        )

    # Shipping ------------------------------------------------------------

    def shipment_created(
        self,
        shipment_id: str,
        order_id: str,
        carrier: str,
        tracking_number: str | None = None,
        items: Iterable[Mapping[str, Any]] | None = None,
    ) -> EcommerceTraceBuilder:
        """A shipment was created for an order (``items``: dicts with ``sku`` and ``qty``)."""
        shipment_id = check_id("shipment_id", shipment_id)
        order_id = check_id("order_id", order_id)
        carrier = check_label("carrier", carrier)
        state: dict[str, Any] = {"status": "created", "carrier": carrier}
        if tracking_number is not None:
            state["tracking_number"] = check_id("tracking_number", tracking_number)
        data: dict[str, Any] = {"shipment_id": shipment_id, "order_id": order_id, **state}
        if items is not None:
            data["items"] = check_items("items", items, priced=False)
        return (
            self._order_trace(
                order_id,
                EcommerceEventType.SHIPMENT_CREATED,
                f"Shipment {shipment_id} created for order {order_id} with {carrier}",
            )
            .affecting_shipment(shipment_id, state)
            .affecting_order(order_id, {"fulfillment_status": "processing"})
            .with_data(**data)
            .with_tags("shipment")
        )

    def shipment_shipped(
        self,
        shipment_id: str,
        order_id: str,
        tracking_number: str,
        carrier: str,
        estimated_delivery: date | datetime | None = None,
    ) -> EcommerceTraceBuilder:
        """A shipment left the warehouse with its carrier."""
        shipment_id = check_id("shipment_id", shipment_id)
        order_id = check_id("order_id", order_id)
        tracking_number = check_id("tracking_number", tracking_number)
        carrier = check_label("carrier", carrier)
        state: dict[str, Any] = {
            "status": "shipped",
            "carrier": carrier,
            "tracking_number": tracking_number,
        }
        if estimated_delivery is not None:
            state["estimated_delivery"] = check_when("estimated_delivery", estimated_delivery)
        return (
            self._order_trace(
                order_id,
                EcommerceEventType.SHIPMENT_SHIPPED,
                f"Shipment {shipment_id} shipped with {carrier} ({tracking_number})",
            )
            .affecting_shipment(shipment_id, state)
            .affecting_order(order_id, {"fulfillment_status": "shipped"})
            .with_data(shipment_id=shipment_id, order_id=order_id, **state)
            .with_tags("shipment")
        )

    def shipment_delivered(
        self,
        shipment_id: str,
        order_id: str,
        delivery_time: datetime | None = None,
        signature: str | None = None,
    ) -> EcommerceTraceBuilder:
        """A shipment reached the customer; ``delivery_time`` becomes the event's time."""
        shipment_id = check_id("shipment_id", shipment_id)
        order_id = check_id("order_id", order_id)
        state: dict[str, Any] = {"status": "delivered"}
        if signature is not None:
            state["signed_by"] = check_label("signature", signature)
        builder = self._order_trace(
            order_id,
            EcommerceEventType.SHIPMENT_DELIVERED,
            f"Shipment {shipment_id} of order {order_id} delivered",
        )
        if delivery_time is not None:
            if not isinstance(delivery_time, datetime):
                raise TraceValidationError(
                    f"delivery_time must be a datetime; got {delivery_time!r}."
                )
            builder.at(delivery_time)
        return (
            builder.affecting_shipment(shipment_id, state)
            .affecting_order(order_id, {"fulfillment_status": "delivered"})
            .with_data(shipment_id=shipment_id, order_id=order_id, **state)
            .with_tags("shipment", "delivered")
        )

    # Returns -------------------------------------------------------------

    def return_requested(
        self,
        return_id: str,
        order_id: str,
        customer_id: str,
        items: Iterable[Mapping[str, Any]],
        reason: str,
    ) -> EcommerceTraceBuilder:
        """A customer asked to return items (dicts with ``sku`` and ``qty``); ``reason`` is why."""
        return_id = check_id("return_id", return_id)
        order_id = check_id("order_id", order_id)
        customer_id = check_id("customer_id", customer_id)
        lines = check_items("items", items, priced=False)
        reason = check_text("reason", reason, required=True)
        units = sum(line["qty"] for line in lines)
        return (
            self._order_trace(
                order_id,
                EcommerceEventType.RETURN_REQUESTED,
                f"Return {return_id} requested for order {order_id}: {units} item(s)",
            )
            .affecting_object(
                ObjectType.RETURN, return_id, state_after={"status": "requested", "units": units}
            )
            .affecting_order(order_id, {"return_status": "requested"})
            .affecting_customer(customer_id)
            .because(reason)
            .with_data(return_id=return_id, order_id=order_id, customer_id=customer_id, items=lines)
            .with_tags("return")
        )

    def return_approved(
        self, return_id: str, order_id: str, refund_amount: Money, approval_reason: str
    ) -> EcommerceTraceBuilder:
        """A return was accepted; ``approval_reason`` is the reasoning."""
        return_id = check_id("return_id", return_id)
        order_id = check_id("order_id", order_id)
        refund = check_money("refund_amount", refund_amount)
        approval_reason = check_text("approval_reason", approval_reason, required=True)
        return (
            self._order_trace(
                order_id,
                EcommerceEventType.RETURN_APPROVED,
                f"Return {return_id} approved: {self._amount(refund)} to refund",
            )
            .affecting_object(
                ObjectType.RETURN,
                return_id,
                state_before={"status": "requested"},
                state_after={"status": "approved", "refund_amount": money_text(refund)},
            )
            .affecting_order(order_id, {"return_status": "approved"})
            .because(approval_reason)
            .with_data(
                return_id=return_id,
                order_id=order_id,
                refund_amount=money_text(refund),
                currency=self.currency,
            )
            .with_tags("return")
        )

    # Customers -----------------------------------------------------------

    def customer_created(
        self, customer_id: str, email: str, source: str | None = None, **profile: Any
    ) -> EcommerceTraceBuilder:
        """A customer registered; ``profile`` (name, country, ...) is their initial state."""
        customer_id = check_id("customer_id", customer_id)
        email = check_email(email)
        state: dict[str, Any] = {"status": "active", "email": email}
        tags = ["customer", "new-customer"]
        if source is not None:
            state["source"] = check_label("source", source)
        state.update(check_mapping("profile", profile))
        return (
            self.trace(
                EcommerceEventType.CUSTOMER_CREATED,
                f"Customer {customer_id} registered"
                + (f" via {state['source']}" if source is not None else ""),
            )
            .affecting_customer(customer_id, state)
            .with_data(customer_id=customer_id, **state)
            .with_tags(*tags)
        )

    def customer_tier_changed(
        self, customer_id: str, old_tier: str, new_tier: str, reason: str
    ) -> EcommerceTraceBuilder:
        """A customer's loyalty tier changed; tagged ``tier-upgrade`` or ``tier-downgrade``.

        The direction is known for the tiers in ``TIERS`` (bronze, silver,
        gold, platinum); other tier names are accepted and tagged ``tier-change``.
        """
        customer_id = check_id("customer_id", customer_id)
        old_tier = check_label("old_tier", old_tier)
        new_tier = check_label("new_tier", new_tier)
        reason = check_text("reason", reason, required=True)
        if old_tier == new_tier:
            raise TraceValidationError(TIER_UNCHANGED.format(tier=old_tier))
        direction = "tier-change"
        if old_tier.lower() in TIERS and new_tier.lower() in TIERS:
            upgrade = TIERS.index(new_tier.lower()) > TIERS.index(old_tier.lower())
            direction = "tier-upgrade" if upgrade else "tier-downgrade"
        return (
            self.trace(
                EcommerceEventType.CUSTOMER_TIER_CHANGED,
                f"Customer {customer_id}: {old_tier} → {new_tier}",
            )
            .affecting_object(
                ObjectType.CUSTOMER,
                customer_id,
                state_before={"tier": old_tier},
                state_after={"tier": new_tier},
            )
            .because(reason, context={"old_tier": old_tier, "new_tier": new_tier})
            .with_data(customer_id=customer_id, old_tier=old_tier, new_tier=new_tier)
            .with_tags("customer", direction)
        )

    # AI and automation ---------------------------------------------------

    def ai_recommendation(
        self,
        recommendation_type: str,
        recommendation: Mapping[str, Any],
        context: Mapping[str, Any],
        confidence: float,
        model: str,
        affected_objects: Iterable[TrackedObject | Mapping[str, Any]] | None = None,
    ) -> EcommerceTraceBuilder:
        """An AI model recommends an action; the model is the actor.

        The risk follows the confidence (``decision_trace.ecommerce.risk.confidence_risk``)
        until ``.with_risk(...)`` sets it; at or above
        ``ECOMMERCE_APPROVAL_RISK_LEVEL`` the event needs approval. The
        reasoning is ``recommendation["reasoning"]`` (or ``"reason"``) when
        given; add alternatives with ``.because(...)``.
        """
        recommendation_type = check_text(
            "recommendation_type", recommendation_type, max_length=TAG_LENGTH, required=True
        )
        recommended = check_mapping("recommendation", recommendation)
        known = check_mapping("context", context)
        certainty = _required_confidence(confidence)
        model = check_label("model", model)
        objects = _objects(affected_objects)
        stated = recommended.get("reasoning") or recommended.get("reason")
        reasoning = (
            stated
            if isinstance(stated, str) and stated.strip()
            else f"{model} recommends {recommendation_type} with {certainty:.0%} confidence"
        )
        builder = self.trace(
            EcommerceEventType.AI_RECOMMENDATION,
            f"AI recommendation ({recommendation_type}) from {model}",
        ).by(Actor.ai_agent(model, model, model=model))
        for obj in objects:
            builder.affecting(obj)
        return (
            builder.because(reasoning, action=recommendation_type, context=known)
            .with_confidence(certainty)
            .with_risk(confidence_risk(certainty))
            .with_data(recommendation_type=recommendation_type, recommendation=recommended)
            .with_tags("ai", "ai-recommendation", recommendation_type)
        )

    def anomaly_detected(
        self,
        anomaly_type: str,
        metric: str,
        observed: Decimal | int | float,
        expected: Decimal | int | float,
        detector: str,
        *,
        confidence: float | None = None,
        window: str | None = None,
        context: Mapping[str, Any] | None = None,
        affected_objects: Iterable[TrackedObject | Mapping[str, Any]] | None = None,
    ) -> EcommerceTraceBuilder:
        """A detector (an AI model; the actor) saw a metric far from what it expected.

        Args:
            anomaly_type: what kind, e.g. ``"payment_failure_spike"`` (also a tag).
            metric: what was measured, e.g. ``"payment_failure_rate"``.
            observed: the measured value (int, float or ``Decimal``).
            expected: the value the detector expected; must differ from ``observed``.
            detector: the detecting model's id, e.g. ``"anomaly-watch"``.
            confidence: how sure the detector is, 0 to 1.
            window: the period measured, e.g. ``"2024-06-01T14:00/15:00"``.
            context: anything else the detector knew.
            affected_objects: ``TrackedObject``s or their dicts.

        Risk follows the relative deviation (``decision_trace.ecommerce.risk.anomaly_risk``):
        under 25 % low, under 50 % medium, under 100 % high, else critical.
        """
        anomaly_type = check_text(
            "anomaly_type", anomaly_type, max_length=TAG_LENGTH, required=True
        )
        metric = check_label("metric", metric)
        observed_value = check_number("observed", observed)
        expected_value = check_number("expected", expected)
        detector = check_label("detector", detector)
        if observed_value == expected_value:
            raise TraceValidationError(NOT_AN_ANOMALY.format(value=observed_value))
        facts: dict[str, Any] = {
            **check_mapping("context", context),
            "metric": metric,
            "observed": observed_value,
            "expected": expected_value,
        }
        deviation = ""
        if expected_value != 0:
            percent = ((observed_value - expected_value) * 100 / abs(expected_value)).quantize(
                Decimal("0.1")
            )
            facts["deviation_percent"] = percent
            deviation = f" ({'+' if percent > 0 else ''}{percent} %)"
        if window is not None:
            facts["window"] = check_label("window", window)
        objects = _objects(affected_objects)
        summary = f"{metric} was {observed_value}, expected {expected_value}{deviation}"
        builder = self.trace(
            EcommerceEventType.AI_ANOMALY_DETECTED, f"Anomaly ({anomaly_type}): {summary}"
        ).by(Actor.ai_agent(detector, detector))
        for obj in objects:
            builder.affecting(obj)
        builder.because(summary, context=facts).with_risk(
            anomaly_risk(observed_value, expected_value)
        )
        if confidence is not None:
            builder.with_confidence(confidence)
        return builder.with_data(**{**facts, "anomaly_type": anomaly_type}).with_tags(
            "ai", "anomaly", anomaly_type
        )

    def automation_triggered(
        self,
        automation_id: str,
        trigger: str,
        action: str,
        *,
        name: str | None = None,
        rule: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        trigger_event_id: str | None = None,
        affected_objects: Iterable[TrackedObject | Mapping[str, Any]] | None = None,
    ) -> EcommerceTraceBuilder:
        """An automation (a compute job; the actor) ran an action because something happened.

        Args:
            automation_id: the automation's id, e.g. ``"cart-abandonment"``.
            trigger: what set it off, e.g. ``"cart idle for 1 hour"``.
            action: what it did, e.g. ``"send_recovery_email"``.
            name: a display name for the automation (default: its id).
            rule: the rule that matched, e.g. ``"idle > 60 min and value > 20"``.
            parameters: the action's parameters.
            trigger_event_id: the id of the event that set it off.
            affected_objects: ``TrackedObject``s or their dicts.
        """
        automation_id = check_id("automation_id", automation_id)
        trigger = check_label("trigger", trigger)
        action = check_label("action", action)
        display = automation_id if name is None else check_label("name", name)
        data: dict[str, Any] = {"automation_id": automation_id, "action": action}
        if rule is not None:
            data["rule"] = check_text("rule", rule, required=True)
        if parameters is not None:
            data["parameters"] = check_mapping("parameters", parameters)
        objects = _objects(affected_objects)
        builder = self.trace(
            EcommerceEventType.AUTOMATION_TRIGGERED, f"Automation {display}: {action}"
        ).by(Actor.compute(automation_id, display))
        for obj in objects:
            builder.affecting(obj)
        reasoning = f"{display} ran {action} because {trigger}"
        if rule is not None:
            reasoning += f" (rule: {data['rule']})"
        builder.because(reasoning, action=action, context=data.get("parameters"))
        if trigger_event_id is not None:
            builder.triggered_by(trigger, check_event_id("trigger_event_id", trigger_event_id))
        else:
            builder.triggered_by(trigger)
        return builder.with_data(**data).with_tags("automation")

    # Pricing -------------------------------------------------------------

    def price_updated(
        self,
        sku: str,
        old_price: Money,
        new_price: Money,
        reason: str,
        *,
        product_id: str | None = None,
    ) -> EcommerceTraceBuilder:
        """A price was changed by hand or by a rule; ``reason`` is the reasoning.

        Args:
            sku: the product's SKU (the product object's external id).
            old_price: the price before; ``new_price`` the price after (must differ).
            reason: why, e.g. ``"Supplier cost up 8 %"``.
            product_id: the product's id when it is not its SKU.

        Risk follows the size of the change (``decision_trace.ecommerce.risk.price_change_risk``):
        under 5 % low, under 15 % medium, under 30 % high, else critical.
        """
        sku = check_id("sku", sku)
        before, after = _prices(old_price, new_price)
        reason = check_text("reason", reason, required=True)
        product = sku if product_id is None else check_id("product_id", product_id)
        return self._price_change(
            EcommerceEventType.PRICE_UPDATED, sku, product, before, after
        ).because(reason, context=self._price_context(before, after))

    def dynamic_price_adjusted(
        self,
        sku: str,
        old_price: Money,
        new_price: Money,
        *,
        model: str,
        confidence: float,
        factors: Mapping[str, Any],
        reasoning: str | None = None,
        min_price: Money | None = None,
        max_price: Money | None = None,
        product_id: str | None = None,
    ) -> EcommerceTraceBuilder:
        """A pricing model moved a price; the model is the actor.

        Args:
            sku: the product's SKU.
            old_price: the price before; ``new_price`` the price proposed (must differ).
            model: the pricing model's id, e.g. ``"pricing-rl-2"``.
            confidence: how sure the model is, 0 to 1.
            factors: what drove it, e.g. ``{"competitor_price": "17.99", "demand_index": 1.3}``.
            reasoning: why, in words (default: a sentence naming the factors).
            min_price, max_price: the guardrails; a price outside them is critical.
            product_id: the product's id when it is not its SKU.

        Risk follows the size of the change (as ``price_updated``) and is
        critical outside the guardrails; at or above
        ``ECOMMERCE_APPROVAL_RISK_LEVEL`` the change needs approval.
        """
        sku = check_id("sku", sku)
        before, after = _prices(old_price, new_price)
        model = check_label("model", model)
        certainty = _required_confidence(confidence)
        drivers = check_mapping("factors", factors)
        product = sku if product_id is None else check_id("product_id", product_id)
        context = {**self._price_context(before, after), "factors": drivers}
        risk = price_change_risk(before, after)
        tags = ["ai", "dynamic-pricing"]
        lower = None if min_price is None else check_money("min_price", min_price)
        upper = None if max_price is None else check_money("max_price", max_price)
        if lower is not None and upper is not None and lower > upper:
            raise TraceValidationError(
                PRICE_BOUNDS.format(minimum=money_text(lower), maximum=money_text(upper))
            )
        if lower is not None:
            context["min_price"] = money_text(lower)
        if upper is not None:
            context["max_price"] = money_text(upper)
        if (lower is not None and after < lower) or (upper is not None and after > upper):
            risk = RiskLevel.CRITICAL
            tags.append("guardrail-breach")
        if reasoning is None:
            named = ", ".join(drivers) or "no stated factors"
            reasoning = (
                f"{model} moves {sku} from {money_text(before)} to {money_text(after)} "
                f"given {named}"
            )
        else:
            reasoning = check_text("reasoning", reasoning, required=True)
        change = self._price_change(
            EcommerceEventType.PRICE_DYNAMIC_ADJUSTED, sku, product, before, after
        )
        return (
            change.by(Actor.ai_agent(model, model, model=model))
            .because(reasoning, action="adjust_price", context=context)
            .with_confidence(certainty)
            .with_risk(risk)
            .with_tags(*tags)
        )

    def _price_context(self, before: Decimal, after: Decimal) -> dict[str, Any]:
        percent = price_change_percent(before, after)
        return {
            "old_price": money_text(before),
            "new_price": money_text(after),
            "change_percent": None if percent is None else str(percent),
            "currency": self.currency,
        }

    def _price_change(
        self,
        event_type: EcommerceEventType,
        sku: str,
        product_id: str,
        before: Decimal,
        after: Decimal,
    ) -> EcommerceTraceBuilder:
        percent = price_change_percent(before, after)
        shown = "" if percent is None else f" ({'+' if percent > 0 else ''}{percent} %)"
        return (
            self.trace(
                event_type,
                f"Price of {sku}: {money_text(before)} → {money_text(after)} "
                f"{self.currency}{shown}",
            )
            .affecting_object(
                ObjectType.PRODUCT,
                product_id,
                external_id=None if product_id == sku else sku,
                state_before={"price": money_text(before)},
                state_after={"price": money_text(after)},
            )
            .with_risk(price_change_risk(before, after))
            .with_data(
                sku=sku,
                old_price=money_text(before),
                new_price=money_text(after),
                change=money_text(abs(after - before)),
                direction="increase" if after > before else "decrease",
                currency=self.currency,
            )
            .with_tags("pricing", "price-increase" if after > before else "price-decrease")
        )


def _required_confidence(value: object) -> float:
    confidence = check_confidence(value)
    if confidence is None:
        raise TraceValidationError("confidence is required: a number from 0 to 1 (e.g. 0.85).")
    return confidence


def _prices(old_price: object, new_price: object) -> tuple[Decimal, Decimal]:
    before = check_money("old_price", old_price)
    after = check_money("new_price", new_price)
    if before == after:
        raise TraceValidationError(PRICE_UNCHANGED.format(price=money_text(before)))
    return before, after


def _objects(
    items: Iterable[TrackedObject | Mapping[str, Any]] | None,
) -> list[TrackedObject]:
    if items is None:
        return []
    if isinstance(items, str | bytes | Mapping | TrackedObject) or not isinstance(items, Iterable):
        raise TraceValidationError(WRONG_OBJECT.format(index=0, got=type(items).__name__))
    objects = []
    for index, item in enumerate(items):
        if isinstance(item, TrackedObject):
            objects.append(item)
            continue
        if (
            not isinstance(item, Mapping)
            or not {"type", "id"} <= set(item)
            or not set(item) <= _OBJECT_FIELDS
        ):
            got = type(item).__name__ if not isinstance(item, Mapping) else sorted(map(str, item))
            raise TraceValidationError(WRONG_OBJECT.format(index=index, got=got))
        objects.append(TrackedObject(**item))
    return objects
