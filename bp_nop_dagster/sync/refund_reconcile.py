"""`reconciliation/refunds`, without Dagster: per nopCommerce order with a refund or a credit, what
the shop refunded against what Brightpearl credited and paid out, with a verdict and its reason.

Verdicts (the rule, in cents):

- `dead_lettered`: a refund, return or staff credit of the order is in the dead-letter queue
  (whatever the amounts say: a person must look at the letter first);
- `matched`: refunded in nop == credited in Brightpearl == paid out in Brightpearl;
- `missing_credit`: nop refunded money, Brightpearl has neither credit nor reversal for it;
- `missing_refund`: Brightpearl credited or paid out, nop refunded nothing;
- `amount_differs`: anything else (a credit not paid out, a refund booked for another amount).

Credited = the gross of the order's sales credits + the reversal of a full refund before shipping
(the sales order cancelled after a PAYMENT on it); paid out = PAYMENTs on the credits (minus any
RECEIPT on them, sale-payment-total) + that reversal. In progress work (a refund whose steps are
not all done yet) is said in the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bp_nop_dagster.mapping.orders import money_text

VERDICTS = ("matched", "amount_differs", "missing_credit", "missing_refund", "dead_lettered")
UNEXPLAINED = ("amount_differs", "missing_credit", "missing_refund", "dead_lettered")
ACTIONS = {
    "matched": "Nothing: the shop's refunds are credited and paid out in Brightpearl.",
    "amount_differs": "Open the order in both systems: book the missing payment on the credit in Brightpearl, or "
                      "correct the refund in the shop; if the flow is still working on it (see reason), wait for the next run.",
    "missing_credit": "The shop refunded money Brightpearl does not know of: wait one run if the reason says the refund "
                      "is in progress, else create the sales credit and its payment in Brightpearl by hand.",
    "missing_refund": "Brightpearl credited or paid out money the shop has not refunded: refund it in nopCommerce (offline "
                      "if the money already went back), or delete the credit if it was a mistake.",
    "dead_lettered": "Read the dead letter (its reason says what failed, e.g. the gateway's refusal), fix the cause, "
                     "then replay it from the dead-letter job.",
}
COLUMNS = {
    "nop_order_id": "nopCommerce order id",
    "brightpearl_order_id": "Brightpearl sales order id (the ledger's link)",
    "nop_refunded": "nopCommerce refunded_amount (primary currency)",
    "bp_credited": "Gross of the order's Brightpearl sales credits, plus a reversal before cancellation",
    "bp_paid_out": "Money Brightpearl paid out for them (PAYMENTs)",
    "credits": "Brightpearl sales credit ids of the order",
    "verdict": "matched / amount_differs / missing_credit / missing_refund / dead_lettered",
    "reason": "Why, in words",
}


@dataclass
class OrderRefunds:
    """What both systems and the ledger say about one order's refunds (amounts in cents)."""

    nop_order_id: int
    brightpearl_order_id: int | None
    nop_refunded: int
    bp_credited: int = 0
    bp_paid_out: int = 0
    credits: list[int] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)


def verdict(row: OrderRefunds) -> tuple[str, str]:
    """(verdict, reason) by the module's rule."""
    amounts = (f"nopCommerce refunded {money_text(row.nop_refunded)}, Brightpearl credited {money_text(row.bp_credited)} "
               f"and paid out {money_text(row.bp_paid_out)}")
    progress = f"; in progress: {', '.join(row.in_progress)}" if row.in_progress else ""
    if row.dead_letters:
        return "dead_lettered", f"{'; '.join(row.dead_letters)} ({amounts})"
    if row.nop_refunded == row.bp_credited == row.bp_paid_out:
        return "matched", amounts + progress
    if row.nop_refunded > 0 and row.bp_credited == 0 and row.bp_paid_out == 0:
        return "missing_credit", amounts + progress
    if row.nop_refunded == 0:
        return "missing_refund", amounts + progress
    return "amount_differs", amounts + progress


def report_rows(rows: list[OrderRefunds]) -> list[dict]:
    out = []
    for row in sorted(rows, key=lambda r: r.nop_order_id):
        name, reason = verdict(row)
        out.append({"nop_order_id": row.nop_order_id, "brightpearl_order_id": row.brightpearl_order_id,
                    "nop_refunded": money_text(row.nop_refunded), "bp_credited": money_text(row.bp_credited),
                    "bp_paid_out": money_text(row.bp_paid_out), "credits": " ".join(map(str, row.credits)),
                    "verdict": name, "reason": reason})
    return out
