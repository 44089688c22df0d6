"""The refund GETs of the nopCommerce simulator over HTTP, each expectation from the plugin or core:

- WAPI `Controllers/Orders/OrderProcessingController.cs` (babysaffron-cubix/babysaffron-be@119b0391):
  Refund and PartiallyRefund `return Ok(errors)`, RefundOffline and PartiallyRefundOffline `return
  Ok()`, every action 400 for `orderId <= 0` and 404 "Order Id={id} not found";
- CORE `Nop.Services/Orders/OrderProcessingService.cs` (same repository): the Can* rules, the
  NopException messages, the notes, RefundedAmount and the payment status after each refund;
- WAPI Framework `ErrorHandlerMiddleware`: a NopException is 400 {message, inner_exception_message,
  stack_trace ""};
- nopSolutions/nopCommerce `ManualPaymentProcessor.cs` (SupportRefund false) and
  `PayPalCommercePaymentMethod.cs` (RefundAsync: errors, or PartiallyRefunded/Refunded).
"""

from __future__ import annotations

from decimal import Decimal

from bp_nop_dagster_tests.sandbox.test_nopcommerce_support import Nop, nop  # noqa: F401

PAID, PARTIALLY_REFUNDED, REFUNDED = 30, 35, 40


def _paid_order(nop: Nop, method: str = "Payments.Manual", quantity: int = 2) -> dict:
    nop.product("RF-1", price=10, stock_quantity=10)
    return nop.order([("RF-1", quantity)], paid=True, payment_method_system_name=method)


def _order(nop: Nop, order_id: int) -> dict:
    return nop.ok("GET", f"/Order/GetById/{order_id}")


def _notes(nop: Nop, order_id: int) -> list[str]:
    return [n["note"] for n in nop.ok("GET", f"/OrderNote/GetOrderNotesByOrderId/{order_id}")]


def _nop_exception(response, message: str) -> None:  # noqa: ANN001
    assert response.status_code == 400, response.text
    assert response.json() == {"message": message, "inner_exception_message": None, "stack_trace": ""}


def test_full_refund_offline_marks_the_total_refunded(nop: Nop) -> None:
    """CORE OrderProcessingService.RefundOfflineAsync: RefundedAmount += OrderTotal, PaymentStatus Refunded, the note "Order has
    been marked as refunded. Amount = {OrderTotal}" (OrderTotal at the database's decimal(18,4)
    scale), order status unchanged; a second one fails CanRefundOffline (RefundedAmount > 0)."""
    order = _paid_order(nop)
    total = Decimal(str(order["order_total"]))
    assert nop.ok("GET", f"/OrderProcessing/CanRefundOffline/{order['id']}") is True
    response = nop.call("GET", f"/OrderProcessing/RefundOffline/{order['id']}")
    assert (response.status_code, response.content) == (200, b"")
    after = _order(nop, order["id"])
    assert Decimal(str(after["refunded_amount"])) == total and after["payment_status_id"] == REFUNDED
    assert after["order_status_id"] == order["order_status_id"]
    assert _notes(nop, order["id"])[-1] == f"Order has been marked as refunded. Amount = {total.quantize(Decimal('0.0001'))}"
    assert nop.ok("GET", f"/OrderProcessing/CanRefundOffline/{order['id']}") is False
    _nop_exception(nop.call("GET", f"/OrderProcessing/RefundOffline/{order['id']}"), "You can't refund this order")


def test_online_refund_needs_a_gateway_that_refunds(nop: Nop) -> None:
    """CORE OrderProcessingService.CanRefundAsync: the Manual method's plugin does not support refunds, so Refund throws
    "Cannot do refund for order." (400) and changes nothing; PayPalCommerce refunds and reports
    Refunded, the note is "Order has been refunded. Amount = X"."""
    manual = _paid_order(nop)
    assert nop.ok("GET", f"/OrderProcessing/CanRefund/{manual['id']}") is False
    _nop_exception(nop.call("GET", f"/OrderProcessing/Refund/{manual['id']}"), "Cannot do refund for order.")
    assert _order(nop, manual["id"])["refunded_amount"] == 0
    paypal = nop.order([("RF-1", 1)], paid=True, payment_method_system_name="Payments.PayPalCommerce")
    assert nop.ok("GET", f"/OrderProcessing/CanRefund/{paypal['id']}") is True
    assert nop.ok("GET", f"/OrderProcessing/Refund/{paypal['id']}") == []  # Ok(errors): empty = refunded
    after = _order(nop, paypal["id"])
    assert after["payment_status_id"] == REFUNDED and after["refunded_amount"] == paypal["order_total"]
    assert _notes(nop, paypal["id"])[-1].startswith("Order has been refunded. Amount = ")


def test_a_gateway_that_refuses_returns_its_errors_and_changes_nothing(nop: Nop) -> None:
    """CORE OrderProcessingService.RefundAsync/PartiallyRefundAsync: the gateway's errors are returned as the 200 reply's list;
    on failure only the note "Unable to (partially) refund order. Error 0: a. Error 1: b" is added."""
    order = _paid_order(nop, method="Payments.PayPalCommerce")
    nop.controlled("PUT", "/payment-gateways", {"system_name": "Payments.PayPalCommerce", "refund_errors": ["Declined", "Try later"]})
    assert nop.ok("GET", f"/OrderProcessing/Refund/{order['id']}") == ["Declined", "Try later"]
    assert nop.ok("GET", f"/OrderProcessing/PartiallyRefund/{order['id']}", params={"amountToRefund": "5"}) == ["Declined", "Try later"]
    after = _order(nop, order["id"])
    assert (after["refunded_amount"], after["payment_status_id"]) == (0, PAID)
    assert _notes(nop, order["id"])[-2:] == ["Unable to refund order. Error 0: Declined. Error 1: Try later",
                                             "Unable to partially refund order. Error 0: Declined. Error 1: Try later"]


def test_partial_refunds_until_the_total_then_refunded(nop: Nop) -> None:
    """CORE OrderProcessingService.PartiallyRefundOfflineAsync: PartiallyRefunded (35) while below OrderTotal, Refunded (40)
    when RefundedAmount reaches it; the note carries the amount as sent; an amount above OrderTotal
    - RefundedAmount fails; a full refund is refused once anything was refunded (CanRefundOffline)."""
    order = _paid_order(nop)
    total = Decimal(str(order["order_total"]))
    nop.ok("GET", f"/OrderProcessing/PartiallyRefundOffline/{order['id']}", params={"amountToRefund": "10.5"})
    after = _order(nop, order["id"])
    assert (Decimal(str(after["refunded_amount"])), after["payment_status_id"]) == (Decimal("10.5"), PARTIALLY_REFUNDED)
    assert _notes(nop, order["id"])[-1] == "Order has been marked as partially refunded. Amount = 10.5"
    _nop_exception(nop.call("GET", f"/OrderProcessing/RefundOffline/{order['id']}"), "You can't refund this order")
    rest = total - Decimal("10.5")
    over = str(rest + Decimal("0.01"))
    assert nop.ok("GET", f"/OrderProcessing/CanPartiallyRefundOffline/{order['id']}", params={"amountToRefund": over}) is False
    _nop_exception(nop.call("GET", f"/OrderProcessing/PartiallyRefundOffline/{order['id']}", params={"amountToRefund": over}),
                   "You can't partially refund (offline) this order")
    nop.ok("GET", f"/OrderProcessing/PartiallyRefundOffline/{order['id']}", params={"amountToRefund": str(rest)})
    after = _order(nop, order["id"])
    assert (Decimal(str(after["refunded_amount"])), after["payment_status_id"]) == (total, REFUNDED)
    assert nop.ok("GET", f"/OrderProcessing/CanPartiallyRefundOffline/{order['id']}", params={"amountToRefund": "0.01"}) is False


def test_online_partial_refund_reaching_the_total_is_refunded(nop: Nop) -> None:
    """CORE OrderProcessingService.PartiallyRefundAsync: the gateway reports PartiallyRefunded; core makes it Refunded when
    RefundedAmount == OrderTotal. Note "Order has been partially refunded. Amount = X"."""
    order = _paid_order(nop, method="Payments.PayPalCommerce")
    total = Decimal(str(order["order_total"]))
    assert nop.ok("GET", f"/OrderProcessing/PartiallyRefund/{order['id']}", params={"amountToRefund": "5"}) == []
    assert _order(nop, order["id"])["payment_status_id"] == PARTIALLY_REFUNDED
    assert nop.ok("GET", f"/OrderProcessing/CanRefund/{order['id']}") is False  # a partial refund was made
    nop.controlled("POST", f"/orders/{order['id']}/paid")  # CanMarkOrderAsPaid allows PartiallyRefunded: Paid again
    assert nop.ok("GET", f"/OrderProcessing/CanRefund/{order['id']}") is False  # RefundedAmount > 0 still refuses it
    nop.controlled("POST", f"/orders/{order['id']}/refund", {"amount": "0.01", "offline": True})  # PartiallyRefunded again
    assert nop.ok("GET", f"/OrderProcessing/PartiallyRefund/{order['id']}", params={"amountToRefund": str(total - 5 - Decimal("0.01"))}) == []
    assert _order(nop, order["id"])["payment_status_id"] == REFUNDED
    assert _notes(nop, order["id"])[-1] == f"Order has been partially refunded. Amount = {total - 5 - Decimal('0.01')}"


def test_refund_rules_and_binding(nop: Nop) -> None:
    """CORE OrderProcessingService Can* rules: an unpaid order cannot be refunded; a cancelled paid order can (the check is
    commented out in core); the amount's sign is not checked; `amountToRefund` is [Required]
    (ProblemDetails 400 before the action); orderId <= 0 is 400 with no body, an unknown one 404."""
    nop.product("RF-1", price=10, stock_quantity=10)
    unpaid = nop.order([("RF-1", 1)])
    assert nop.ok("GET", f"/OrderProcessing/CanRefundOffline/{unpaid['id']}") is False
    assert nop.ok("GET", f"/OrderProcessing/CanPartiallyRefundOffline/{unpaid['id']}", params={"amountToRefund": "1"}) is False
    cancelled = nop.order([("RF-1", 1)], paid=True)
    nop.controlled("POST", f"/orders/{cancelled['id']}/cancel")
    assert nop.ok("GET", f"/OrderProcessing/CanRefundOffline/{cancelled['id']}") is True
    assert nop.ok("GET", f"/OrderProcessing/CanPartiallyRefundOffline/{cancelled['id']}", params={"amountToRefund": "-5"}) is True
    missing = nop.call("GET", f"/OrderProcessing/PartiallyRefundOffline/{cancelled['id']}")
    assert missing.status_code == 400 and "amountToRefund" in missing.json()["errors"]
    assert nop.get(f"/OrderProcessing/CanPartiallyRefund/{cancelled['id']}", amountToRefund="ten").status_code == 400
    assert (nop.call("GET", "/OrderProcessing/Refund/0").status_code, nop.call("GET", "/OrderProcessing/Refund/0").content) == (400, b"")
    unknown = nop.call("GET", "/OrderProcessing/RefundOffline/999")
    assert unknown.status_code == 404 and unknown.json() == "Order Id=999 not found"


def test_a_refund_never_restocks_nor_touches_return_requests(nop: Nop) -> None:
    """Nothing in RefundOfflineAsync adjusts inventory or reads return requests (returns-refunds §4)."""
    order = _paid_order(nop)
    product = nop.ok("GET", "/Product/GetProductBySku", params={"sku": "RF-1"})
    item = nop.ok("GET", f"/OrderItem/GetOrderItems/{order['id']}")[0]
    request = nop.ok("POST", "/ReturnRequest/Create", json={"order_item_id": item["id"], "quantity": 1, "return_request_status_id": 10})
    nop.ok("GET", f"/OrderProcessing/RefundOffline/{order['id']}")
    assert nop.ok("GET", f"/Product/GetById/{product['id']}")["stock_quantity"] == product["stock_quantity"]
    assert nop.ok("GET", f"/ReturnRequest/GetById/{request['id']}") == request


def test_refund_in_the_shop_and_refund_emails(nop: Nop) -> None:
    """FIDELITY 'refund effects' (CORE OrderProcessingService). The control API refunds as the admin does (the same calls); with the
    OrderRefunded message templates active (installed inactive) core queues two e-mails and notes
    them: store owner first, then customer."""
    order = _paid_order(nop)
    refused = nop.control("POST", f"/orders/{order['id']}/refund", {})
    assert refused.status_code == 400 and refused.json() == {"error": "Cannot do refund for order."}
    nop.controlled("PUT", "/settings", {"order_refunded_notifications": True})
    result = nop.controlled("POST", f"/orders/{order['id']}/refund", {"amount": "1.25", "offline": True})
    assert result["errors"] == [] and result["order"]["refunded_amount"] == 1.25
    notes = _notes(nop, order["id"])
    assert notes[-3] == "Order has been marked as partially refunded. Amount = 1.25"
    assert notes[-2].startswith('"Order refunded" email (to store owner) has been queued. Queued email identifiers: ')
    assert notes[-1].startswith('"Order refunded" email (to customer) has been queued. Queued email identifiers: ')
