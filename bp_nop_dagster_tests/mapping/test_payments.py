from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bp_nop_dagster.mapping.config import load_mapping_config
from bp_nop_dagster.mapping.payments import MappingError, customer_payments, payment_key
from bp_nop_dagster_tests.mapping.nop_orders import Line, build_order

CONFIG = load_mapping_config()
WHEN = datetime(2024, 3, 6, 23, 30, tzinfo=timezone.utc)
GUID = "6f1c2a9e-2d7c-4a57-9b0e-3a1e5e0c9d11"


def _order(**fields):
    return build_order([Line("10.00", 2)], shipping="4.95", **fields).order  # total 29.94


def _payments(order, config=CONFIG):
    return customer_payments(order, bp_order_id=77, config=config, payment_date=WHEN)


def _summary(bodies):
    return [(b["paymentType"], b["transactionRef"], b.get("transactionCode"), b.get("amountAuthorized"), b.get("amountPaid"))
            for b in bodies]


CASES = {
    "pending": (dict(payment_status_id=10), []),
    "refunded": (dict(payment_status_id=40), []),
    "voided": (dict(payment_status_id=50), []),
    "paid, no ids": (dict(payment_status_id=30), [("RECEIPT", GUID, None, None, "29.94")]),
    "paid, capture id": (dict(payment_status_id=30, capture_transaction_id="CAP-1"), [("RECEIPT", "CAP-1", None, None, "29.94")]),
    "paid, no guid": (dict(payment_status_id=30, order_guid=None), [("RECEIPT", "nop-1001", None, None, "29.94")]),
    "partially refunded": (dict(payment_status_id=35, capture_transaction_id="CAP-1"), [("RECEIPT", "CAP-1", None, None, "29.94")]),
    "authorized, auth id": (dict(payment_status_id=20, authorization_transaction_id="AUTH-1"), [("AUTH", "AUTH-1", None, "29.94", None)]),
    "authorized, no ids": (dict(payment_status_id=20), [("AUTH", f"{GUID}-auth", None, "29.94", None)]),
    "authorized then paid": (
        dict(payment_status_id=30, authorization_transaction_id="AUTH-1", capture_transaction_id="CAP-1"),
        [("AUTH", "AUTH-1", None, "29.94", None), ("CAPTURE", "CAP-1", "AUTH-1", None, "29.94")],
    ),
    "paid, capture id equals auth id": (
        dict(payment_status_id=30, authorization_transaction_id="TX-9", capture_transaction_id="TX-9"),
        [("AUTH", "TX-9", None, "29.94", None), ("CAPTURE", "TX-9-capture", "TX-9", None, "29.94")],
    ),
    "paid, auth id only": (
        dict(payment_status_id=30, authorization_transaction_id="AUTH-1"),
        [("AUTH", "AUTH-1", None, "29.94", None), ("CAPTURE", "AUTH-1-capture", "AUTH-1", None, "29.94")],
    ),
    "long ids are cut to 64": (
        dict(payment_status_id=30, capture_transaction_id="C" * 80), [("RECEIPT", "C" * 64, None, None, "29.94")],
    ),
    "zero total": (dict(payment_status_id=30, order_total=Decimal("0")), []),
}


@pytest.mark.parametrize("fields, expected", CASES.values(), ids=CASES.keys())
def test_payments_by_status(fields, expected):
    order = _order(**{k: v for k, v in fields.items() if k != "order_total"})
    if "order_total" in fields:
        order = order.model_copy(update={"order_total": fields["order_total"]})
    bodies = _payments(order)
    assert _summary(bodies) == expected
    refs = [b["transactionRef"] for b in bodies]
    assert len(refs) == len(set(refs))
    for body in bodies:
        assert body["orderId"] == 77 and body["currencyIsoCode"] == "GBP" and body["paymentDate"] == "2024-03-06"
        assert body["paymentMethodCode"] == "CARD" and len(body["transactionRef"]) <= 64


def test_every_auth_carries_its_expiry_and_no_other_payment_does():
    """Customer Payment POST doc: authorizationExpiry is "Required when payment type is AUTH,
    ignored otherwise"; the mapping's authorization_expiry_days (7 by default) after the payment date."""
    bodies = _payments(_order(payment_status_id=30, authorization_transaction_id="AUTH-1"))
    auth, capture = bodies
    assert auth["paymentType"] == "AUTH" and auth["authorizationExpiry"] == (WHEN + timedelta(days=7)).isoformat(timespec="seconds")
    assert "authorizationExpiry" not in capture
    shorter = CONFIG.model_copy(update={"authorization_expiry_days": 3})
    assert _payments(_order(payment_status_id=20), shorter)[0]["authorizationExpiry"] == "2024-03-09T23:30:00+00:00"


@pytest.mark.parametrize(
    "system_name, code",
    [("Payments.Manual", "CARD"), ("Payments.PayPalStandard", "PAYPAL"), ("Payments.CheckMoneyOrder", "CHEQUE"), ("Payments.PurchaseOrder", "BANK")],
)
@pytest.mark.parametrize("status", [10, 20, 30, 35, 40, 50])
def test_every_method_and_status(system_name, code, status):
    bodies = _payments(_order(payment_method_system_name=system_name, payment_status_id=status))
    expected_types = {10: [], 20: ["AUTH"], 30: ["RECEIPT"], 35: ["RECEIPT"], 40: [], 50: []}[status]
    assert [b["paymentType"] for b in bodies] == expected_types
    assert all(b["paymentMethodCode"] == code for b in bodies)


@pytest.mark.parametrize("system_name", ["Payments.Stripe", None, ""])
def test_unmapped_payment_method(system_name):
    with pytest.raises(MappingError) as caught:
        _payments(_order(payment_method_system_name=system_name, payment_status_id=30))
    assert caught.value.reason == "validation_error" and "no payment method mapped for" in caught.value.message


def test_unmapped_method_does_not_matter_without_payments():
    assert _payments(_order(payment_method_system_name="Payments.Stripe", payment_status_id=10)) == []


@pytest.mark.parametrize(
    "fields, expected",
    [
        (dict(), [("AUTH", f"{GUID}-auth", None, "29.94", None), ("CAPTURE", f"{GUID}-capture", f"{GUID}-auth", None, "29.94")]),
        (dict(authorization_transaction_id="A", capture_transaction_id="C"),
         [("AUTH", "A", None, "29.94", None), ("CAPTURE", "C", "A", None, "29.94")]),
    ],
)
def test_auth_capture_action(fields, expected):
    config = CONFIG.model_copy(update={"payment_status": {**CONFIG.payment_status, 30: "auth_capture"}})
    assert _summary(_payments(_order(payment_status_id=30, **fields), config)) == expected


def test_payment_date_is_the_utc_date():
    local = WHEN.astimezone(timezone(timedelta(hours=5)))  # 2024-03-07 04:30 +05:00
    body = customer_payments(_order(payment_status_id=30), bp_order_id=1, config=CONFIG, payment_date=local)[0]
    assert body["paymentDate"] == "2024-03-06"


@pytest.mark.parametrize("order_id, payment_type, key", [(123, "RECEIPT", "123:RECEIPT"), (7, "AUTH", "7:AUTH"), (7, "CAPTURE", "7:CAPTURE")])
def test_payment_key(order_id, payment_type, key):
    assert payment_key(order_id, payment_type) == key
