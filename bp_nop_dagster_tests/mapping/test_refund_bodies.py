"""The refund flow's Brightpearl bodies (mapping/refunds.py) written out in full: the sales-credit
POST (fields as the order flow's sales-order POST names them; prices excluding tax, as the rows
carry net and tax), the refund PAYMENT (Customer Payment POST), and a plan kept as JSON in the
ledger reading back as itself."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bp_nop_dagster.mapping.config import MappingError, load_mapping_config
from bp_nop_dagster.mapping.refunds import (
    OrderRow,
    RefundPlan,
    ReturnLine,
    credit_rows,
    prorated,
    refund_payment_body,
    sales_credit_body,
)

CONFIG = load_mapping_config()
PLACED = datetime(2026, 4, 2, 9, 30, tzinfo=UTC)
ROWS = [
    OrderRow("11", 1001, None, Decimal("1"), Decimal("10.00"), Decimal("2.00"), "T1", None),
    OrderRow("shipping", None, "Shipping: Ground", Decimal("1"), Decimal("4.00"), Decimal("0.80"), "T1", "4040"),
]


def test_a_full_refund_credit_body():
    config = CONFIG.with_instance_id(lambda: 4)
    body = sales_credit_body(order_id=42, n=1, plan=RefundPlan(1680, full=True, shipping=True), order_rows=ROWS,
                             sales_order_id=900, customer_id=55, config=config, placed_on=PLACED)
    assert body == {
        "customer": {"id": 55}, "parentId": 900, "ref": "42-R1", "externalRef": "nop-42-refund-1",
        "placedOn": "2026-04-02T09:30:00+00:00", "channelId": config.channel_id, "warehouseId": config.warehouse_id,
        "priceListId": config.price_list_id, "priceModeCode": "EXC", "currency": {"code": config.currency_code},
        "installedIntegrationInstanceId": 4,
        "rows": [
            # a row without its own nominal code takes the mapping's sales code
            {"quantity": "1", "net": "10.00", "tax": "2.00", "taxCode": "T1", "nominalCode": CONFIG.nominal_codes.sales,
             "externalRef": "row-11", "productId": 1001},
            # the shipping row keeps its name (it has no product)
            {"quantity": "1", "net": "4.00", "tax": "0.80", "taxCode": "T1", "nominalCode": "4040", "externalRef": "shipping",
             "name": "Shipping: Ground"},
        ],
    }
    without = sales_credit_body(order_id=42, n=1, plan=RefundPlan(1680, full=True), order_rows=ROWS, sales_order_id=900,
                                customer_id=55, config=CONFIG.model_copy(update={"installed_integration_instance_id": None}),
                                placed_on=PLACED)
    assert "installedIntegrationInstanceId" not in without


def test_a_partial_refund_credits_the_shipping_row_by_its_own_codes():
    rows = credit_rows(RefundPlan(480, shipping=True), ROWS, CONFIG).rows
    assert rows == [{"quantity": "1", "net": "4.00", "tax": "0.80", "taxCode": "T1", "nominalCode": "4040",
                     "externalRef": "shipping", "name": "Shipping: Ground"}]


def test_the_refund_payment_body():
    assert refund_payment_body(order_id=42, n=2, amount=1234, bp_order_id=900, payment_system_name="Payments.Manual",
                               config=CONFIG, paid_on=PLACED) == {
        "paymentMethodCode": CONFIG.payment_methods["Payments.Manual"], "paymentType": "PAYMENT", "orderId": 900,
        "currencyIsoCode": CONFIG.currency_code, "amountPaid": "12.34", "transactionRef": "nop-42-refund-2", "paymentDate": "2026-04-02",
    }
    with pytest.raises(MappingError) as caught:
        refund_payment_body(order_id=42, n=2, amount=1, bp_order_id=900, payment_system_name=None, config=CONFIG, paid_on=PLACED)
    assert (caught.value.reason, caught.value.message) == ("validation_error", "order 42: no payment method mapped for '(none)' (payment_methods)")


@pytest.mark.parametrize("plan", [RefundPlan(500), RefundPlan(1680, (ReturnLine(3, 11, 1),), shipping=True, full=True)])
def test_a_plan_reads_back_from_its_json(plan):
    assert RefundPlan.from_json(plan.as_json()) == plan
    assert RefundPlan.from_json({"amount": 7}) == RefundPlan(7)


def test_a_credit_row_is_named_only_when_it_has_no_product_or_is_shipping():
    """Brightpearl names a product row after its product; a row without one (a discount row) or
    the shipping row carries the order row's name. A shipping row without a nominal code takes
    the sales code, as every row does."""
    rows = [
        OrderRow("11", 1001, "NOPE-1 Merino Scarf", Decimal("1"), Decimal("10.00"), Decimal("2.00"), "T1", "4000"),
        OrderRow("discount-20", None, "Discount (20% VAT)", Decimal("1"), Decimal("-1.00"), Decimal("0.00"), "T1", "4000"),
        OrderRow("shipping", None, "Shipping: Ground", Decimal("1"), Decimal("4.00"), Decimal("0.80"), "T1", None),
    ]
    full = credit_rows(RefundPlan(1580, full=True), rows, CONFIG).rows
    assert [r.get("name") for r in full] == [None, "Discount (20% VAT)", "Shipping: Ground"]
    (shipping,) = credit_rows(RefundPlan(480, shipping=True), rows, CONFIG).rows
    assert (shipping["externalRef"], shipping["nominalCode"]) == ("shipping", CONFIG.nominal_codes.sales)


def test_a_difference_on_exempt_rows_is_all_net_and_one_without_taxed_rows_is_refused():
    """tax_rate_of: the exempt code is 0 %, so the whole difference is net. A sales order with
    no taxed row leaves nothing to reverse a difference at."""
    exempt = [OrderRow("11", 1001, None, Decimal("1"), Decimal("10.00"), Decimal("0.00"), CONFIG.exempt_tax_code, "4000")]
    (row,) = credit_rows(RefundPlan(100), exempt, CONFIG).rows
    assert (row["net"], row["tax"], row["taxCode"]) == ("1.00", "0.00", CONFIG.exempt_tax_code)
    untaxed = [OrderRow("11", 1001, None, Decimal("1"), Decimal("10.00"), Decimal("0.00"), None, "4000")]
    with pytest.raises(MappingError) as caught:
        credit_rows(RefundPlan(100), untaxed, CONFIG)
    assert (caught.value.reason, caught.value.message) == ("validation_error", "the sales order has no taxed rows to reverse a refund difference at")


def test_a_row_of_quantity_zero_cannot_be_prorated():
    row = OrderRow("11", 1001, None, Decimal("0"), Decimal("10.00"), Decimal("2.00"), "T1", "4000")
    with pytest.raises(MappingError) as caught:
        prorated(row, 1)
    assert caught.value.message == "sales order row 11 has quantity 0"
