"""Refunds: OrderProcessingService.{Can,}{Refund,RefundOffline,PartiallyRefund,PartiallyRefundOffline}
(CORE Nop.Services/Orders/OrderProcessingService.cs, nopCommerce 4.70) and the payment gateways
behind the online ones, per `payment_method_system_name`.

What core does, and the simulator with it:
- there is no refund entity: the order keeps a cumulative `refunded_amount` and its payment
  status; each refund adds an order note (and, with the OrderRefunded templates active, queues two
  e-mails and notes those), and changes nothing else: no order status, no stock, no return request;
- a full refund needs OrderTotal > 0, nothing refunded yet and status Paid; a partial one needs
  OrderTotal > 0, `amount <= OrderTotal - RefundedAmount` (a zero or negative amount is not
  refused) and status Paid or PartiallyRefunded; cancelled (and deleted) orders are not excluded;
  the online variants also need a gateway that supports (partial) refunds;
- a rule that fails throws a NopException (the plugin answers 400 with its message); the online
  variants return the gateway's error strings (an empty list when it refunded), and a refusal
  only adds the note "Unable to (partially) refund order. Error 0: ...";
- the new payment status: the gateway's (Refunded for a full refund, PartiallyRefunded for a
  partial one, as every gateway in nopSolutions/nopCommerce and the plugins using it reports),
  a partial refund reaching the order total becoming Refunded; offline: Refunded for a full
  refund, Refunded or PartiallyRefunded for a partial one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal

from bp_nop_dagster.sandbox.nopcommerce.backend.state import (
    PAY_PAID,
    PAY_PARTIALLY_REFUNDED,
    PAY_REFUNDED,
    NopError,
    ShopState,
)

DB_SCALE = Decimal("0.0001")  # decimal(18, 4): how SQL Server stores and returns every money column


@dataclass
class PaymentGateway:
    """An installed payment method plugin as core sees it: whether it supports (partial) refunds
    online, and, when it should refuse, the errors its RefundAsync returns."""

    system_name: str
    supports_refund: bool
    supports_partial_refund: bool
    refund_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


# The payment plugins the sandbox shop has installed. Manual, CheckMoneyOrder (and the other
# offline methods) report SupportRefund/SupportPartiallyRefund false ("Refund method not
# supported", nopSolutions/nopCommerce src/Plugins/Nop.Plugin.Payments.Manual/ManualPaymentProcessor.cs);
# PayPalCommerce refunds through PayPal (src/Plugins/Nop.Plugin.Payments.PayPalCommerce/PayPalCommercePaymentMethod.cs RefundAsync).
DEFAULT_GATEWAYS: tuple[tuple[str, bool, bool], ...] = (
    ("Payments.Manual", False, False),
    ("Payments.CheckMoneyOrder", False, False),
    ("Payments.PurchaseOrder", False, False),
    ("Payments.CashOnDelivery", False, False),
    ("Payments.PayPalStandard", False, False),
    ("Payments.PayPalCommerce", True, True),
)


def amount_text(value: Decimal) -> str:
    """C# `decimal.ToString()` as the note interpolates it: the value's own scale, no exponent."""
    return format(value, "f")


def errors_text(errors: list[str]) -> str:
    """How core joins a result's errors into its note: "Error 0: a. Error 1: b"."""
    return ". ".join(f"Error {i}: {error}" for i, error in enumerate(errors))


class RefundsMixin(ShopState):
    payment_gateways: dict[str, PaymentGateway]

    def _seed_payment_gateways(self) -> None:
        self.payment_gateways = {name: PaymentGateway(name, refund, partial) for name, refund, partial in DEFAULT_GATEWAYS}

    def gateway(self, system_name: str | None) -> PaymentGateway | None:
        """PaymentPluginManager.LoadPluginBySystemNameAsync: None for a method no plugin provides
        (core then treats refunds as unsupported)."""
        return self.payment_gateways.get(system_name or "")

    # ----------------------------------------------------------------------------- rules (Can*)
    def can_refund(self, order: dict) -> bool:
        """CanRefundAsync."""
        gateway = self.gateway(order["payment_method_system_name"])
        return (order["order_total"] != 0 and order["refunded_amount"] <= 0 and order["payment_status_id"] == PAY_PAID
                and gateway is not None and gateway.supports_refund)

    def can_refund_offline(self, order: dict) -> bool:
        """CanRefundOffline."""
        return order["order_total"] != 0 and order["refunded_amount"] <= 0 and order["payment_status_id"] == PAY_PAID

    def can_partially_refund_offline(self, order: dict, amount: Decimal) -> bool:
        """CanPartiallyRefundOffline: the amount's sign is not checked."""
        if order["order_total"] == 0:
            return False
        refundable = order["order_total"] - order["refunded_amount"]
        if refundable <= 0 or amount > refundable:
            return False
        return order["payment_status_id"] in (PAY_PAID, PAY_PARTIALLY_REFUNDED)

    def can_partially_refund(self, order: dict, amount: Decimal) -> bool:
        """CanPartiallyRefundAsync."""
        gateway = self.gateway(order["payment_method_system_name"])
        return self.can_partially_refund_offline(order, amount) and gateway is not None and gateway.supports_partial_refund

    # ----------------------------------------------------------------------------- actions
    def refund(self, order_id: int) -> list[str]:
        """RefundAsync: the gateway refunds OrderTotal; its errors are returned (empty: refunded)."""
        order = self.order(order_id)  # type: ignore[attr-defined]
        if not self.can_refund(order):
            raise NopError("Cannot do refund for order.")
        amount = order["order_total"].quantize(DB_SCALE)
        errors = list(self.gateway(order["payment_method_system_name"]).refund_errors)  # type: ignore[union-attr]
        if errors:
            self.add_order_note(order_id, f"Unable to refund order. {errors_text(errors)}")  # type: ignore[attr-defined]
            return errors
        self._record_refund(order, amount, PAY_REFUNDED, f"Order has been refunded. Amount = {amount_text(amount)}")
        return []

    def refund_offline(self, order_id: int) -> None:
        """RefundOfflineAsync: marks OrderTotal refunded, status Refunded."""
        order = self.order(order_id)  # type: ignore[attr-defined]
        if not self.can_refund_offline(order):
            raise NopError("You can't refund this order")
        amount = order["order_total"].quantize(DB_SCALE)
        self._record_refund(order, amount, PAY_REFUNDED, f"Order has been marked as refunded. Amount = {amount_text(amount)}")

    def partially_refund(self, order_id: int, amount: Decimal) -> list[str]:
        """PartiallyRefundAsync: the gateway refunds `amount`; its errors are returned."""
        order = self.order(order_id)  # type: ignore[attr-defined]
        if not self.can_partially_refund(order, amount):
            raise NopError("Cannot do partial refund for order.")
        errors = list(self.gateway(order["payment_method_system_name"]).refund_errors)  # type: ignore[union-attr]
        if errors:
            self.add_order_note(order_id, f"Unable to partially refund order. {errors_text(errors)}")  # type: ignore[attr-defined]
            return errors
        # the gateway reports PartiallyRefunded; core turns it into Refunded once the total is reached
        total = order["refunded_amount"] + amount
        status = PAY_REFUNDED if order["order_total"] == total else PAY_PARTIALLY_REFUNDED
        self._record_refund(order, amount, status, f"Order has been partially refunded. Amount = {amount_text(amount)}")
        return []

    def partially_refund_offline(self, order_id: int, amount: Decimal) -> None:
        """PartiallyRefundOfflineAsync: Refunded once the total is reached, else PartiallyRefunded."""
        order = self.order(order_id)  # type: ignore[attr-defined]
        if not self.can_partially_refund_offline(order, amount):
            raise NopError("You can't partially refund (offline) this order")
        total = order["refunded_amount"] + amount
        status = PAY_REFUNDED if order["order_total"] == total else PAY_PARTIALLY_REFUNDED
        self._record_refund(order, amount, status, f"Order has been marked as partially refunded. Amount = {amount_text(amount)}")

    def _record_refund(self, order: dict, amount: Decimal, status: int, note: str) -> None:
        """What every successful refund does to the order: RefundedAmount += amount (stored at the
        database's scale), the payment status, the note, CheckOrderStatus and, with the templates
        active, the two e-mail notes. Nothing else: no stock, no return request, no order status."""
        order["refunded_amount"] = (order["refunded_amount"] + amount).quantize(DB_SCALE)
        order["payment_status_id"] = status
        self.orders_version += 1
        self.add_order_note(order["id"], note)  # type: ignore[attr-defined]
        self._check_order_status(order)  # type: ignore[attr-defined]
        if self.settings.order_refunded_notifications:
            self._queue_email(order["id"], "Order refunded", to="store owner")  # type: ignore[attr-defined]
            self._queue_email(order["id"], "Order refunded", to="customer")  # type: ignore[attr-defined]
