"""nopCommerce payment state → Brightpearl customer payments (`POST /accounting-service/customer-payment`,
notes §9). Pure: the payment date is passed in.

The mapping's `payment_status` gives an action per nop payment status:

- `none`: nothing (Pending, Refunded, Voided by default; refunds are booked as sales credits later);
- `auth`: one AUTH for the order total, transactionRef = authorization_transaction_id, else
  `<order_guid>-auth`; every AUTH carries `authorizationExpiry` (required for AUTH by the Customer
  Payment POST doc): `authorization_expiry_days` after the payment date;
- `receipt`: one RECEIPT for the order total, transactionRef = capture_transaction_id, else
  `<order_guid>`. But an order that carries an authorization_transaction_id was (or may have
  been) authorised first, and an AUTH may already be in Brightpearl with that id as its ref:
  transactionRef is unique per payment method, so such an order gets AUTH (ref = the
  authorization id) + CAPTURE (ref = the capture id, or `<authorization id>-capture` when there is
  none or it is the same; transactionCode = the authorization id) instead of a RECEIPT;
- `auth_capture`: always AUTH + CAPTURE with the refs above (without an authorization id:
  `<order_guid>-auth` and the capture id or `<order_guid>-capture`).

Both AUTH + CAPTURE and RECEIPT leave the order PAID in Brightpearl (amountPaid = RECEIPTs +
CAPTUREs). The ledger key of a payment is `payment_key(order_id, paymentType)`, so the AUTH
created while an order was Authorized is not created again when the order is later Paid.
A zero-total order gets no payment. `<order_guid>` falls back to the order's externalRef.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bp_nop_dagster.mapping.config import MappingConfig, MappingError
from bp_nop_dagster.mapping.orders import external_ref, money
from bp_nop_dagster.nopcommerce.models import Order

REF_LIMIT = 64  # transactionRef / transactionCode


def payment_key(order_id: int, payment_type: str) -> str:
    """The ledger key of one customer payment of a nop order, e.g. `123:RECEIPT`."""
    return f"{order_id}:{payment_type}"


def _ref(base: str, suffix: str = "") -> str:
    return f"{base[: REF_LIMIT - len(suffix)]}{suffix}"


def _clean(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def customer_payments(order: Order, *, bp_order_id: int, config: MappingConfig, payment_date: datetime) -> list[dict]:
    """The customer-payment bodies for the order's current payment state, in the order to post
    them. Raises MappingError("validation_error") if the payment status or method has no mapping."""
    action = config.payment_status.get(order.payment_status_id)
    if action is None:
        raise MappingError("validation_error", f"order {order.id}: nop payment status {order.payment_status_id} has no mapping (payment_status)")
    if action == "none":
        return []
    total = money(order.order_total)
    if total <= 0:
        return []
    system_name = order.payment_method_system_name or ""
    method = config.payment_methods.get(system_name)
    if not method:
        raise MappingError("validation_error", f"order {order.id}: no payment method mapped for {system_name or '(none)'!r} (payment_methods)")

    when = payment_date.astimezone(timezone.utc) if payment_date.tzinfo else payment_date.replace(tzinfo=timezone.utc)
    base = {
        "paymentMethodCode": method,
        "orderId": bp_order_id,
        "currencyIsoCode": config.currency_code,
        "paymentDate": when.date().isoformat(),
    }
    amount = str(total)
    fallback = _clean(order.order_guid) or external_ref(order.id, config)
    auth_id = _clean(order.authorization_transaction_id)
    capture_id = _clean(order.capture_transaction_id)

    def auth(ref: str) -> dict:
        # Brightpearl requires authorizationExpiry on an AUTH (Customer Payment POST doc)
        expiry = (when + timedelta(days=config.authorization_expiry_days)).isoformat(timespec="seconds")
        return {**base, "paymentType": "AUTH", "transactionRef": ref, "amountAuthorized": amount, "authorizationExpiry": expiry}

    def auth_and_capture(auth_ref: str, default_capture_ref: str) -> list[dict]:
        capture_ref = _ref(capture_id) if capture_id else default_capture_ref
        if capture_ref == auth_ref:
            capture_ref = _ref(auth_ref, "-capture")
        return [auth(auth_ref), {**base, "paymentType": "CAPTURE", "transactionRef": capture_ref,
                                 "transactionCode": auth_ref, "amountPaid": amount}]

    if action == "auth":
        return [auth(_ref(auth_id) if auth_id else _ref(fallback, "-auth"))]
    if action == "auth_capture":
        if auth_id:
            return auth_and_capture(_ref(auth_id), _ref(auth_id, "-capture"))
        return auth_and_capture(_ref(fallback, "-auth"), _ref(fallback, "-capture"))
    # receipt
    if auth_id:
        return auth_and_capture(_ref(auth_id), _ref(auth_id, "-capture"))
    return [{**base, "paymentType": "RECEIPT", "transactionRef": _ref(capture_id or fallback), "amountPaid": amount}]


__all__ = ["MappingError", "customer_payments", "payment_key"]
