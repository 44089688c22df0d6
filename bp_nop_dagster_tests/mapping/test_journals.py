"""The gateway journal rules (mapping/journals.py), expected values computed here from the rule
stated in default_mapping.yaml (`journals`): per captured order (payment status 30, 35, 40) fee =
round-half-up-to-the-penny(total × fee_percent % + fee_fixed), on the total rounded to the penny;
transfer = Σ (rounded total − rounded refund) − Σ fees; zero posts nothing; a negative transfer
swaps the sides. Journal body: the Journal POST doc example
(api-docs.brightpearl.com/accounting/journal/post(deprecated).html)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
import yaml

from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE, MappingConfigError, load_mapping_config, parse_mapping_config
from bp_nop_dagster.mapping.journals import FEE, TRANSFER, journal_body, journals_due

BASE = load_mapping_config()
CARD = {"clearing_nominal": "1200", "bank_nominal": "1201", "fee_nominal": "7900", "fee_percent": "2.5", "fee_fixed": "0.30"}


def config(**journals):
    data = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text())
    data["journals"] = {"enabled": True, "by_payment_method": {"CARD": CARD}, **journals}
    return parse_mapping_config(data)


def row(total, status=30, refunded="0", method="Payments.Manual"):
    return {"payment_method_system_name": method, "payment_status_id": status, "order_total": Decimal(total),
            "refunded_amount": Decimal(refunded)}


def penny(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_fees_and_transfer_of_a_day_from_the_rule():
    rows = [row("19.9950"), row("7.0049", status=35, refunded="2.0000"), row("5.00", status=20), row("9.99", method="Payments.PayPalStandard")]
    mapping = config()
    due = {d.kind: d.amount for d in journals_due("2026-11-30", rows, mapping.payment_methods, mapping.journals)}
    totals = [penny(Decimal("19.9950")), penny(Decimal("7.0049"))]  # the authorised (20) and unmapped-method orders do not count
    fee = sum(penny(t * Decimal("2.5") / 100 + Decimal("0.30")) for t in totals)
    assert due == {FEE: fee, TRANSFER: sum(totals) - Decimal("2.00") - fee}
    (fee_due, _) = journals_due("2026-11-30", rows, mapping.payment_methods, mapping.journals)
    line = {"taxCode": "T0", "change": {"currency": "GBP", "value": f"{fee:.2f}"}}
    assert journal_body(fee_due, mapping.journals, "GBP") == {  # the Journal POST doc example's shape
        "journalTypeCode": "JJ", "taxDate": "2026-11-30", "description": "nopCommerce gateway fees CARD 2026-11-30",
        "credits": [{"nominalCode": "1200", **line}], "debits": [{"nominalCode": "7900", **line}]}


def test_disabled_means_nothing_due_and_a_negative_transfer_swaps_the_sides():
    assert journals_due("2026-11-30", [row("10")], BASE.payment_methods, BASE.journals) == []
    mapping = config()
    (fee, transfer) = journals_due("2026-11-30", [row("1.00", status=40, refunded="3.00")], mapping.payment_methods, mapping.journals)
    assert transfer.amount == Decimal("1.00") - Decimal("3.00") - fee.amount < 0
    body = journal_body(transfer, mapping.journals, "GBP")
    assert body["journalTypeCode"] == "BT" and body["taxDate"] == "2026-11-30"
    assert body["debits"] == [{"nominalCode": "1200", "taxCode": "T0", "change": {"currency": "GBP", "value": f"{-transfer.amount:.2f}"}}]
    assert body["credits"][0]["nominalCode"] == "1201"


def test_the_mapping_refuses_a_shared_clearing_nominal_and_an_unmapped_method():
    with pytest.raises(MappingConfigError, match="own clearing nominal"):
        config(by_payment_method={"CARD": CARD, "PAYPAL": CARD})
    with pytest.raises(MappingConfigError, match="journals.by_payment_method.STRIPE"):
        config(by_payment_method={"STRIPE": CARD})
