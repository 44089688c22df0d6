"""Payment reconciliation (pure). Rules, as the module states them: nopCommerce net = the order
total if the payment status is Paid/PartiallyRefunded/Refunded, minus refunded_amount; Brightpearl
net = RECEIPT + CAPTURE - PAYMENT on the order and its credits (AUTH/VOID move no money); journals =
each payment's SR journal, bank side (lines off debtors 1100, debit minus credit). Expected amounts
below are computed from those rules and the amounts each test writes."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from bp_nop_dagster.sync.payment_reconcile import payment_items, payment_summary

DAY = "2026-03-02"
PAYMENT_COLUMNS = ["payment_id", "order_id", "payment_type", "payment_method_code", "transaction_ref", "currency_code",
                   "amount_paid", "journal_id"]
JOURNAL_COLUMNS = ["journal_id", "journal_type", "order_id", "nominal_code", "transaction_debit", "transaction_credit"]


def nop(order_id: int, total: str, *, status: int = 30, refunded: str = "0", method: str = "Payments.Manual") -> dict:
    return {"order_id": order_id, "payment_method_system_name": method, "payment_status_id": status,
            "order_total": float(total), "refunded_amount": float(refunded)}


def pay(payment_id: int, order_id: int, kind: str, amount: str, *, journal: int | None = None, code: str = "CARD",
        currency: str = "GBP") -> dict:
    return {"payment_id": payment_id, "order_id": order_id, "payment_type": kind, "payment_method_code": code,
            "transaction_ref": f"T{payment_id}", "currency_code": currency, "amount_paid": float(amount), "journal_id": journal}


def sr(journal_id: int, order_id: int, amount: str, *, money_in: bool = True) -> list[dict]:
    """An SR journal as the accounting-for-sales page describes it: bank (1200) against debtors (1100)."""
    bank = {"journal_id": journal_id, "journal_type": "SR", "order_id": order_id, "nominal_code": "1200",
            "transaction_debit": float(amount) if money_in else 0.0, "transaction_credit": 0.0 if money_in else float(amount)}
    debtors = {**bank, "nominal_code": "1100", "transaction_debit": bank["transaction_credit"],
               "transaction_credit": bank["transaction_debit"]}
    return [bank, debtors]


def items(nop_rows, links, payments=(), journals=(), credits=None, **kwargs) -> pd.DataFrame:
    return payment_items(
        DAY, pd.DataFrame(nop_rows), brightpearl_orders=links, credits=credits or {},
        bp_payments=pd.DataFrame(list(payments), columns=PAYMENT_COLUMNS),
        journal_lines=pd.DataFrame([line for j in journals for line in j], columns=JOURNAL_COLUMNS),
        method_codes={"Payments.Manual": "CARD", "Payments.PayPalStandard": "PAYPAL"}, currency="GBP", **kwargs,
    )


def by_order(frame: pd.DataFrame) -> dict:
    """The order rows (journals no payment names are items of their own)."""
    return {int(r["nop_order_id"]): r for r in frame.to_dict("records") if r["verdict"] != "journal_without_payment"}


def test_receipts_and_auth_capture_with_their_journals_match_and_the_method_balances():
    frame = items([nop(1, "24.50"), nop(2, "10.00")], {1: 301, 2: 302},
                  [pay(1, 301, "RECEIPT", "24.50", journal=91), pay(2, 302, "AUTH", "10.00"), pay(3, 302, "CAPTURE", "10.00", journal=92)],
                  [sr(91, 301, "24.50"), sr(92, 302, "10.00")])
    rows = by_order(frame)
    assert rows[1]["verdict"] == rows[2]["verdict"] == "matched"
    assert rows[2]["brightpearl_net"] == 10.00 and rows[2]["journal_net"] == 10.00  # the AUTH moved no money
    [summary] = payment_summary(DAY, frame).to_dict("records")
    assert (summary["payment_method_code"], summary["currency"], summary["orders"]) == ("CARD", "GBP", 2)
    assert summary["nop_net"] == summary["brightpearl_net"] == summary["journal_net"] == 34.50
    assert (summary["verdict"], summary["differences"], summary["unexplained"]) == ("balanced", 0, 0)


def test_a_refund_only_in_nopcommerce_is_named_and_explains_the_whole_difference():
    frame = items([nop(1, "30.00", status=35, refunded="5.00")], {1: 301}, [pay(1, 301, "RECEIPT", "30.00", journal=91)],
                  [sr(91, 301, "30.00")])
    row = by_order(frame)[1]
    assert row["verdict"] == "refund_not_in_brightpearl" and "refunded 5.00 GBP" in row["reason"]
    assert row["difference"] == 25.00 - 30.00
    [summary] = payment_summary(DAY, frame).to_dict("records")
    assert (summary["nop_vs_brightpearl"], summary["differences"], summary["unexplained"]) == (-5.00, 1, 0)


def test_a_refund_paid_on_the_sales_credit_matches_the_shops_refund():
    frame = items([nop(1, "30.00", status=35, refunded="5.00")], {1: 301},
                  [pay(1, 301, "RECEIPT", "30.00", journal=91), pay(2, 401, "PAYMENT", "5.00", journal=92)],
                  [sr(91, 301, "30.00"), sr(92, 401, "5.00", money_in=False)], credits={401: 301})
    row = by_order(frame)[1]
    assert row["verdict"] == "matched"
    assert (row["brightpearl_net"], row["journal_net"]) == (25.00, 25.00)


@pytest.mark.parametrize("nop_row, payments, verdict, words", [
    (nop(1, "9.00", status=30), [], "missing_receipt", "captured 9.00 GBP"),
    (nop(1, "9.00", status=10), [pay(1, 301, "RECEIPT", "9.00", journal=91)], "receipt_without_capture", "received 9.00"),
    (nop(1, "9.00"), [pay(1, 301, "RECEIPT", "9.00", journal=91), pay(2, 301, "PAYMENT", "2.00", journal=92)],
     "refund_only_in_brightpearl", "paid out 2.00"),
    (nop(1, "9.00"), [pay(1, 301, "RECEIPT", "8.50", journal=91)], "amount_differs", "0.50 GBP not explained"),
    (nop(1, "9.00"), [pay(1, 301, "RECEIPT", "9.00", journal=91, code="PAYPAL")], "method_differs", "booked under PAYPAL"),
    (nop(1, "9.00"), [pay(1, 301, "RECEIPT", "9.00")], "no_journal", "has no Sales Receipt journal"),
    (nop(1, "9.00"), [pay(1, 301, "RECEIPT", "9.00", journal=99)], "journal_missing", "names journal 99"),
])
def test_each_difference_is_named_with_its_amount(nop_row, payments, verdict, words):
    journals = [sr(91, 301, "9.00"), sr(92, 301, "2.00", money_in=False)]
    row = by_order(items([nop_row], {1: 301}, payments, journals))[1]
    assert row["verdict"] == verdict and words in row["reason"], row["reason"]


def test_orders_without_money_and_orders_not_in_brightpearl():
    rows = by_order(items([nop(1, "9.00", status=10), nop(2, "7.00", status=30), nop(3, "4.00", status=20)], {1: 301, 2: None, 3: 303},
                          [pay(1, 303, "AUTH", "4.00")]))
    assert rows[1]["verdict"] == "no_money"
    assert rows[3]["verdict"] == "no_money" and rows[3]["nop_net"] == 0  # authorized only: no money taken on either side
    assert rows[2]["verdict"] == "order_not_in_brightpearl" and rows[2]["nop_net"] == 7.00


def test_a_journal_no_payment_names_is_listed_as_its_own_item():
    frame = items([nop(1, "9.00")], {1: 301}, [pay(1, 301, "RECEIPT", "9.00", journal=91)], [sr(91, 301, "9.00"), sr(93, 301, "4.00")])
    extra = frame[frame["verdict"] == "journal_without_payment"].to_dict("records")
    assert [(e["journal_ids"], e["journal_net"], e["nop_order_id"]) for e in extra] == [("93", 4.00, 1)]
    [summary] = payment_summary(DAY, frame[frame["payment_method_code"] == "CARD"]).to_dict("records")
    assert summary["verdict"] == "balanced"


def test_brightpearl_unreadable_is_cannot_tell_and_unexplained():
    frame = items([nop(1, "9.00")], {1: 301}, unreadable="Brightpearl could not be read (503)")
    assert by_order(frame)[1]["verdict"] == "cannot_tell"
    [summary] = payment_summary(DAY, frame).to_dict("records")
    assert (summary["unexplained"], summary["verdict"]) == (1, "differences")


def test_amounts_are_exact_to_the_cent():
    """0.1 + 0.2 in floats is not 0.3; the report computes in Decimal."""
    frame = items([nop(1, "0.30")], {1: 301}, [pay(1, 301, "RECEIPT", "0.10", journal=91), pay(2, 301, "RECEIPT", "0.20", journal=92)],
                  [sr(91, 301, "0.10"), sr(92, 301, "0.20")])
    assert by_order(frame)[1]["verdict"] == "matched"
    assert Decimal(str(by_order(frame)[1]["difference"])) == 0
