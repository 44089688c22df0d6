"""Payment reconciliation (pure): for the nopCommerce orders of a day, the money each system
recorded, per order and then per payment method and currency.

Three figures per order, each by a stated rule:
- nopCommerce: captured minus refunded. Captured = the order total when the payment status is
  Paid (30), PartiallyRefunded (35) or Refunded (40) (the money was taken), else 0; refunded =
  `refunded_amount` (nopCommerce keeps payments on the order, amounts in the store's primary
  currency).
- Brightpearl payments: RECEIPT + CAPTURE - PAYMENT (`amountPaid`) of the customer payments on
  the order and on its sales credits (refunds are PAYMENTs on a credit); AUTH and VOID move no
  money (customer-payment-search notes, section 9).
- Sales Receipt journals: per payment's `journalId`, the SR journal's bank-side amount (its lines
  on any nominal but debtors control 1100: debit minus credit).

The day is the day the orders were placed (the nopcommerce/orders partition), so the figures of
a day settle as its orders are paid and refunded, whenever that happens.

Item verdicts, every cause named (several causes: the first is the verdict, all are in the reason):
`matched`, `no_money` (nothing taken anywhere), `cannot_tell`, `order_not_in_brightpearl`,
`refund_not_in_brightpearl`, `refund_only_in_brightpearl`, `missing_receipt`,
`receipt_without_capture`, `method_differs`, `currency_differs`, `amount_differs`, `no_journal`,
`journal_missing`, `journal_differs`, `journal_without_payment`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING


from bp_nop_dagster.nopcommerce.models import PaymentStatus
from bp_nop_dagster.sync.report_table import Column, cents, typed_frame

if TYPE_CHECKING:
    import pandas as pd

CAPTURED_STATUSES = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
MONEY_IN, MONEY_OUT = ("RECEIPT", "CAPTURE"), ("PAYMENT",)
DEBTORS_NOMINAL = "1100"
MATCHED, NO_MONEY, CANNOT_TELL = "matched", "no_money", "cannot_tell"
NOT_IN_BRIGHTPEARL = "order_not_in_brightpearl"
REFUND_NOT_IN_BRIGHTPEARL, REFUND_ONLY_IN_BRIGHTPEARL = "refund_not_in_brightpearl", "refund_only_in_brightpearl"
MISSING_RECEIPT, RECEIPT_WITHOUT_CAPTURE = "missing_receipt", "receipt_without_capture"
METHOD_DIFFERS, CURRENCY_DIFFERS, AMOUNT_DIFFERS = "method_differs", "currency_differs", "amount_differs"
NO_JOURNAL, JOURNAL_MISSING, JOURNAL_DIFFERS, JOURNAL_WITHOUT_PAYMENT = (
    "no_journal", "journal_missing", "journal_differs", "journal_without_payment")
ACTIONS = {
    MATCHED: "nothing",
    NO_MONEY: "nothing: no money was taken for this order in either system",
    CANNOT_TELL: "materialize the report again once Brightpearl answers",
    NOT_IN_BRIGHTPEARL: "the order is not in Brightpearl yet: see reconciliation/order_sync for why",
    REFUND_NOT_IN_BRIGHTPEARL: "book the refund in Brightpearl (a sales credit and its PAYMENT); the refunds flow will do this once it exists",
    REFUND_ONLY_IN_BRIGHTPEARL: "check the refund with the payment gateway; mark the order refunded in nopCommerce or reverse the PAYMENT in Brightpearl",
    MISSING_RECEIPT: "the shop took the money but Brightpearl has no receipt: check the order flow's dead letters, then book the payment",
    RECEIPT_WITHOUT_CAPTURE: "Brightpearl has money the shop did not take: check the gateway and delete or reverse the Brightpearl payment",
    METHOD_DIFFERS: "the payment is booked under another payment method: correct the payment_methods mapping, then move the payment",
    CURRENCY_DIFFERS: "the payment is in another currency than the shop's: check the mapping's currency_code",
    AMOUNT_DIFFERS: "compare the amounts with the gateway; correct the Brightpearl payment (delete and re-enter, or reverse)",
    NO_JOURNAL: "set the payment method up in Brightpearl with a bank account in this currency (bp-nop doctor warns), then re-enter the payment",
    JOURNAL_MISSING: "the payment names a journal Brightpearl does not list: check the journal was not cancelled",
    JOURNAL_DIFFERS: "the Sales Receipt journal does not carry the payment's amount: correct the journal in Brightpearl",
    JOURNAL_WITHOUT_PAYMENT: "a Sales Receipt journal on this order has no payment: check whether it was entered by hand",
}
UNEXPLAINED = (CANNOT_TELL, AMOUNT_DIFFERS, JOURNAL_DIFFERS)  # a difference without a specific cause
BALANCED, DIFFERENCES = "balanced", "differences"

ITEM_COLUMNS = [
    Column("day", "str", "the day the orders were placed (UTC): every payment, refund and journal of those orders counts, whenever it happened"),
    Column("payment_method", "str", "nopCommerce payment method (system name)"),
    Column("payment_method_code", "str", "the Brightpearl payment method code it maps to (payment_methods in the mapping)"),
    Column("currency", "str", "currency of every amount on the row (ISO 4217)"),
    Column("nop_order_id", "int", "nopCommerce order id (empty for a Brightpearl-only item)"),
    Column("brightpearl_order_id", "int", "the Brightpearl sales order of the nopCommerce order"),
    Column("verdict", "str", "matched, no_money or the first named difference"),
    Column("nop_payment_status", "str", "nopCommerce payment status: Pending, Authorized, Paid, PartiallyRefunded, Refunded, Voided"),
    Column("nop_captured", "float", "nopCommerce: the order total if the money was taken (Paid, PartiallyRefunded, Refunded), else 0"),
    Column("nop_refunded", "float", "nopCommerce: refunded amount"),
    Column("nop_net", "float", "nopCommerce: captured minus refunded"),
    Column("brightpearl_received", "float", "Brightpearl: RECEIPT + CAPTURE payments on the order and its credits"),
    Column("brightpearl_refunded", "float", "Brightpearl: PAYMENT (refund) payments on the order and its credits"),
    Column("brightpearl_net", "float", "Brightpearl: received minus refunded"),
    Column("journal_net", "float", "Sales Receipt journals of those payments: bank-side amount (money in minus money out)"),
    Column("difference", "float", "nopCommerce net minus Brightpearl net"),
    Column("transaction_refs", "str", "Brightpearl payments (type and transactionRef) found for the order"),
    Column("journal_ids", "str", "Sales Receipt journal ids found for the order"),
    Column("reason", "str", "every difference on the order, in words"),
    Column("action", "str", "what a person should do about the verdict"),
]
SUMMARY_COLUMNS = [
    Column("day", "str", "the day the orders were placed (UTC)"),
    Column("payment_method_code", "str", "Brightpearl payment method code"),
    Column("currency", "str", "currency of the row's amounts (ISO 4217)"),
    Column("orders", "int", "orders of the day paid (or to be paid) with this method"),
    Column("nop_captured", "float", "nopCommerce captures"),
    Column("nop_refunded", "float", "nopCommerce refunds"),
    Column("nop_net", "float", "nopCommerce captures minus refunds"),
    Column("brightpearl_received", "float", "Brightpearl RECEIPT + CAPTURE"),
    Column("brightpearl_refunded", "float", "Brightpearl PAYMENT (refunds)"),
    Column("brightpearl_net", "float", "Brightpearl received minus refunded"),
    Column("journal_net", "float", "Sales Receipt journals, bank side"),
    Column("nop_vs_brightpearl", "float", "nopCommerce net minus Brightpearl net"),
    Column("brightpearl_vs_journals", "float", "Brightpearl net minus the journals"),
    Column("differences", "int", "items with a named difference (see the items table)"),
    Column("unexplained", "int", "items whose difference has no specific cause (amount_differs, journal_differs, cannot_tell)"),
    Column("verdict", "str", "balanced (all three agree, no differences) or differences"),
    Column("action", "str", "what a person should do"),
]


def _payment_status_name(code) -> str | None:
    try:
        return "".join(p.capitalize() for p in PaymentStatus(int(code)).name.split("_"))
    except (ValueError, TypeError):
        return None


def _journal_amounts(journal_lines: pd.DataFrame) -> dict[int, Decimal]:
    """Journal id -> bank-side amount: debit minus credit over its lines off debtors control."""
    amounts: dict[int, Decimal] = {}
    for line in journal_lines.itertuples(index=False):
        if str(line.nominal_code) == DEBTORS_NOMINAL:
            continue
        amount = cents(line.transaction_debit) - cents(line.transaction_credit)
        amounts[int(line.journal_id)] = amounts.get(int(line.journal_id), cents(0)) + amount
    return amounts


def payment_items(
    day: str,
    nop_payments: pd.DataFrame,
    *,
    brightpearl_orders: Mapping[int, int | None],
    credits: Mapping[int, int],
    bp_payments: pd.DataFrame,
    journal_lines: pd.DataFrame,
    method_codes: Mapping[str, str],
    currency: str,
    unreadable: str | None = None,
) -> pd.DataFrame:
    """One row per nopCommerce order of the day (the nopcommerce/payments table), plus one per
    Sales Receipt journal on those orders that no payment names.

    `brightpearl_orders`: nop order id -> its Brightpearl sales order id (None: not there);
    `credits`: sales credit id -> the sales order it credits; `bp_payments`: customer-payment
    rows (payment_id, order_id, payment_type, payment_method_code, transaction_ref,
    currency_code, amount_paid, journal_id) of those orders and credits; `journal_lines`:
    journal-search rows (journal_id, journal_type, order_id, nominal_code, transaction_debit,
    transaction_credit) of type SR on them; `unreadable`: why Brightpearl could not be read."""
    import pandas as pd
    orders_of = {so: {so} for so in brightpearl_orders.values() if so is not None}
    for credit, parent in credits.items():
        if parent in orders_of:
            orders_of[parent].add(credit)
    journals = _journal_amounts(journal_lines)
    named = {int(j) for j in bp_payments["journal_id"].dropna()} if not bp_payments.empty else set()
    rows = []
    for order in nop_payments.drop_duplicates("order_id").sort_values("order_id").itertuples(index=False):
        code = method_codes.get(order.payment_method_system_name or "")
        status = int(order.payment_status_id) if pd.notna(order.payment_status_id) else None
        captured = cents(order.order_total) if status in CAPTURED_STATUSES else cents(0)
        refunded = cents(order.refunded_amount)
        so = brightpearl_orders.get(int(order.order_id))
        mine = bp_payments[bp_payments["order_id"].isin(orders_of.get(so, set()))] if so is not None and not bp_payments.empty else bp_payments.iloc[0:0]
        received = sum((cents(p) for p in mine.loc[mine["payment_type"].isin(MONEY_IN), "amount_paid"]), cents(0))
        paid_out = sum((cents(p) for p in mine.loc[mine["payment_type"].isin(MONEY_OUT), "amount_paid"]), cents(0))
        moving = mine[mine["payment_type"].isin(MONEY_IN + MONEY_OUT)]
        journal_net = sum((journals.get(int(j), cents(0)) for j in moving["journal_id"].dropna()), cents(0))
        causes = _causes(order, code, currency, so, captured, refunded, received, paid_out, moving, journals, unreadable)
        verdict = causes[0][0] if causes else (MATCHED if (captured or refunded or received or paid_out) else NO_MONEY)
        rows.append({
            "day": day, "payment_method": order.payment_method_system_name, "payment_method_code": code or "(unmapped)",
            "currency": currency, "nop_order_id": order.order_id, "brightpearl_order_id": so,
            "nop_payment_status": _payment_status_name(status), "nop_captured": captured, "nop_refunded": refunded,
            "nop_net": captured - refunded, "brightpearl_received": received, "brightpearl_refunded": paid_out,
            "brightpearl_net": received - paid_out, "journal_net": journal_net,
            "difference": (captured - refunded) - (received - paid_out),
            "transaction_refs": ", ".join(f"{p.payment_type} {p.transaction_ref}" for p in moving.itertuples(index=False)) or None,
            "journal_ids": ", ".join(str(int(j)) for j in moving["journal_id"].dropna()) or None,
            "verdict": verdict, "reason": "; ".join(text for _, text in causes) or None, "action": ACTIONS[verdict],
        })
    for journal_id in sorted(set(journals) - named):
        lines = journal_lines[journal_lines["journal_id"] == journal_id]
        order_id = int(lines["order_id"].iloc[0]) if not lines.empty and pd.notna(lines["order_id"].iloc[0]) else None
        so = credits.get(order_id, order_id)
        rows.append({
            "day": day, "payment_method": None, "payment_method_code": "(no payment)", "currency": currency,
            "nop_order_id": next((n for n, s in brightpearl_orders.items() if s == so), None), "brightpearl_order_id": so,
            "nop_captured": cents(0), "nop_refunded": cents(0), "nop_net": cents(0), "brightpearl_received": cents(0),
            "brightpearl_refunded": cents(0), "brightpearl_net": cents(0), "journal_net": journals[journal_id],
            "difference": cents(0), "journal_ids": str(journal_id), "verdict": JOURNAL_WITHOUT_PAYMENT,
            "reason": f"Sales Receipt journal {journal_id} ({journals[journal_id]} {currency}) on Brightpearl order {order_id} "
                      "is named by no customer payment",
            "action": ACTIONS[JOURNAL_WITHOUT_PAYMENT],
        })
    return typed_frame(rows, ITEM_COLUMNS)


def _causes(order, code, currency, so, captured, refunded, received, paid_out, moving, journals, unreadable) -> list[tuple[str, str]]:
    """Every difference on one order, most specific first, each with its words."""
    import pandas as pd
    if unreadable:
        return [(CANNOT_TELL, unreadable)]
    causes: list[tuple[str, str]] = []
    if so is None:
        if captured or refunded:
            causes.append((NOT_IN_BRIGHTPEARL, f"nopCommerce took {captured - refunded} {currency}; the order is not in Brightpearl"))
        return causes
    # Each named cause explains part of (nopCommerce net - Brightpearl net); what is left is an amount difference.
    residual = (captured - refunded) - (received - paid_out)
    if refunded and not paid_out:
        causes.append((REFUND_NOT_IN_BRIGHTPEARL, f"nopCommerce refunded {refunded} {currency}; Brightpearl has no PAYMENT for it"))
        residual += refunded
    if paid_out and not refunded:
        causes.append((REFUND_ONLY_IN_BRIGHTPEARL, f"Brightpearl paid out {paid_out} {currency}; nopCommerce refunded nothing"))
        residual -= paid_out
    if captured and not received:
        causes.append((MISSING_RECEIPT, f"nopCommerce captured {captured} {currency}; Brightpearl has no RECEIPT or CAPTURE"))
        residual -= captured
    if received and not captured:
        causes.append((RECEIPT_WITHOUT_CAPTURE, f"Brightpearl received {received} {currency}; nopCommerce took no money"))
        residual += received
    other_methods = sorted({m for m in moving["payment_method_code"].dropna() if code and m != code})
    if other_methods:
        causes.append((METHOD_DIFFERS, f"booked under {', '.join(other_methods)}, the mapping says {code}"))
    other_currencies = sorted({c for c in moving["currency_code"].dropna() if c != currency})
    if other_currencies:
        causes.append((CURRENCY_DIFFERS, f"Brightpearl payments in {', '.join(other_currencies)}, the shop's amounts are in {currency}"))
    if residual:
        causes.append((AMOUNT_DIFFERS, f"nopCommerce net {captured - refunded} {currency}, Brightpearl net {received - paid_out}: "
                                       f"{residual} {currency} not explained by the causes above"))
    for payment in moving.itertuples(index=False):
        amount = cents(payment.amount_paid) * (-1 if payment.payment_type in MONEY_OUT else 1)
        if pd.isna(payment.journal_id):
            causes.append((NO_JOURNAL, f"{payment.payment_type} {payment.transaction_ref} ({payment.payment_method_code}) has no Sales "
                                       "Receipt journal: the method has no bank account in this currency, or does not exist"))
        elif int(payment.journal_id) not in journals:
            causes.append((JOURNAL_MISSING, f"{payment.payment_type} {payment.transaction_ref} names journal "
                                            f"{int(payment.journal_id)}, which journal-search does not list"))
        elif journals[int(payment.journal_id)] != amount:
            causes.append((JOURNAL_DIFFERS, f"journal {int(payment.journal_id)} carries {journals[int(payment.journal_id)]}, "
                                            f"{payment.payment_type} {payment.transaction_ref} {amount}"))
    return causes


def payment_summary(day: str, items: pd.DataFrame) -> pd.DataFrame:
    """Per Brightpearl payment method and currency: the three figures, their differences, how
    many items differ and how many without a specific cause."""
    rows = []
    for (code, currency), group in items.groupby(["payment_method_code", "currency"], sort=True):
        def total(column: str) -> Decimal:
            return sum((cents(v) for v in group[column]), cents(0))

        differing = group[~group["verdict"].isin((MATCHED, NO_MONEY))]
        unexplained = int(group["verdict"].isin(UNEXPLAINED).sum())
        nop_vs_bp = total("nop_net") - total("brightpearl_net")
        bp_vs_journals = total("brightpearl_net") - total("journal_net")
        balanced = differing.empty and not nop_vs_bp and not bp_vs_journals
        rows.append({
            "day": day, "payment_method_code": code, "currency": currency, "orders": int(group["nop_order_id"].notna().sum()),
            "nop_captured": total("nop_captured"), "nop_refunded": total("nop_refunded"), "nop_net": total("nop_net"),
            "brightpearl_received": total("brightpearl_received"), "brightpearl_refunded": total("brightpearl_refunded"),
            "brightpearl_net": total("brightpearl_net"), "journal_net": total("journal_net"),
            "nop_vs_brightpearl": nop_vs_bp, "brightpearl_vs_journals": bp_vs_journals, "differences": len(differing),
            "unexplained": unexplained, "verdict": BALANCED if balanced else DIFFERENCES,
            "action": "nothing: ready to sign off" if balanced else "work through the items table: each item names its cause and what to do",
        })
    return typed_frame(rows, SUMMARY_COLUMNS)
