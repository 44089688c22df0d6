"""Order reconciliation: every nopCommerce order of a day against Brightpearl.

The truth is looked up in both systems; the ledger only explains. For each nopCommerce order the
Brightpearl order is the one whose `externalRef` is the order's (`nop-<id>`): first among the
Brightpearl orders created that day (the source table), then by targeted look-ups
(`find_brightpearl_orders`: the ledger's linked ids by ID set, the rest by externalRef). The
verdict comes from what Brightpearl holds; the ledger's state explains what Brightpearl lacks
(pending, dead-lettered) and is flagged where it disagrees with Brightpearl.

Verdicts (first that applies):
- `cannot_tell`: Brightpearl could not be read for this order (the reason says why);
- `synced`: Brightpearl holds it, same total to the cent, no placeholder row;
- `needs_review`: Brightpearl holds it with placeholder rows (the reason names the shop's SKUs);
- `total_mismatch`: Brightpearl holds it with another total (the reason gives both);
- `dead_lettered`, `pending`: not in Brightpearl, and the ledger says why;
- `missing`: not in Brightpearl and nothing explains it: the one that needs a person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING


from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.nopcommerce.models import OrderStatus, PaymentStatus
from bp_nop_dagster.sync.report_table import Column, cents, typed_frame
from bp_nop_dagster.sync.source_tables import SALES_ORDER_COLUMNS, sales_order_rows
from bp_nop_dagster.transport.errors import ApiError

if TYPE_CHECKING:
    import pandas as pd

SYNCED, NEEDS_REVIEW, TOTAL_MISMATCH = "synced", "needs_review", "total_mismatch"
DEAD_LETTERED, PENDING, MISSING, CANNOT_TELL = "dead_lettered", "pending", "missing", "cannot_tell"
VERDICTS = (SYNCED, NEEDS_REVIEW, TOTAL_MISMATCH, DEAD_LETTERED, PENDING, MISSING, CANNOT_TELL)
# What a person should do, per verdict.
ACTIONS = {
    SYNCED: "nothing",
    NEEDS_REVIEW: "create the SKU in Brightpearl (or correct it in nopCommerce), then replace the placeholder row on the order",
    TOTAL_MISMATCH: "compare lines, shipping and discounts in both systems; correct the Brightpearl order or credit the difference",
    DEAD_LETTERED: "fix the cause in the reason (address, mapping, product), then run the replay_dead_letters job",
    PENDING: "nothing yet: the order flow retries it; if it is still pending tomorrow, read the last error and the run logs",
    MISSING: "the order never reached the order flow: check the new_nopcommerce_orders sensor, then queue the order",
    CANNOT_TELL: "materialize the report again once Brightpearl answers",
}
# Verdicts that are differences nobody has explained yet (a person must look).
UNEXPLAINED = (TOTAL_MISMATCH, MISSING, CANNOT_TELL)

COLUMNS = [
    Column("nop_order_id", "int", "nopCommerce order id"),
    Column("custom_order_number", "str", "the order number the shopper sees"),
    Column("verdict", "str", "synced, needs_review, total_mismatch, dead_lettered, pending, missing or cannot_tell"),
    Column("created_on_utc", "datetime", "when the shopper placed the order (UTC); the report's day"),
    Column("currency", "str", "currency of both totals (ISO 4217): the store's primary currency in nopCommerce, the order's in Brightpearl"),
    Column("nop_total", "float", "nopCommerce order total, in `currency`"),
    Column("nop_order_status_id", "int", "nopCommerce order status code"),
    Column("nop_order_status", "str", "nopCommerce order status: Pending, Processing, Complete, Cancelled"),
    Column("nop_payment_status_id", "int", "nopCommerce payment status code"),
    Column("nop_payment_status", "str", "nopCommerce payment status: Pending, Authorized, Paid, PartiallyRefunded, Refunded, Voided"),
    Column("external_ref", "str", "the externalRef the Brightpearl order carries (how it was found)"),
    Column("brightpearl_order_id", "int", "Brightpearl sales order id (empty: Brightpearl holds no order with this externalRef)"),
    Column("brightpearl_currency", "str", "the Brightpearl order's currency"),
    Column("brightpearl_total", "float", "Brightpearl order total, in `brightpearl_currency`"),
    Column("difference", "float", "Brightpearl total minus nopCommerce total (0 when they agree)"),
    Column("brightpearl_status_id", "int", "Brightpearl order status id (per account)"),
    Column("brightpearl_status", "str", "Brightpearl order status name"),
    Column("brightpearl_payment_status", "str", "Brightpearl payment status: PAID, PARTIALLY_PAID, UNPAID, NOT_APPLICABLE"),
    Column("brightpearl_channel_id", "int", "Brightpearl sales channel of the order"),
    Column("ledger_status", "str", "the integration's ledger: synced, pending, failed, dead_lettered, skipped (empty: no record)"),
    Column("ledger_agrees", "bool", "whether the ledger's link matches what Brightpearl holds (false: the inputs disagree, see reason)"),
    Column("reason", "str", "why, in words (which SKU, which error, which total)"),
    Column("action", "str", "what a person should do about this verdict"),
]


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger says about one nopCommerce order (explanations only)."""

    status: str | None
    bp_id: int | None = None
    needs_review: bool = False
    last_error: str | None = None
    attempts: int = 0


@dataclass(frozen=True)
class Lookup:
    """Brightpearl orders found by targeted look-ups, and the externalRefs that could not be read."""

    orders: pd.DataFrame
    unreadable: Mapping[str, str]  # externalRef -> why Brightpearl could not be read for it


def find_brightpearl_orders(bp: BrightpearlClient, refs: Iterable[str], linked_ids: Mapping[str, int],
                            instance_id: int | None, status_names: Mapping[int, str]) -> Lookup:
    """The Brightpearl orders carrying `refs`, in the brightpearl/sales_orders table's shape: the
    ledger's linked ids first (one sales-order GET per 200 ids; a linked id whose order carries
    another externalRef does not count), then one externalRef search per ref still unfound. A
    failure leaves the refs it concerns unreadable, never missing."""
    import pandas as pd
    wanted = list(dict.fromkeys(refs))
    found = pd.DataFrame(columns=SALES_ORDER_COLUMNS)
    unreadable: dict[str, str] = {}
    ids = sorted({linked_ids[r] for r in wanted if r in linked_ids})
    if ids:
        try:
            found = sales_order_rows((o for o in bp.sales_orders(ids) if o.external_ref in wanted), status_names)
        except ApiError as error:
            reason = f"Brightpearl could not be read ({error})"
            unreadable.update({r: reason for r in wanted if r in linked_ids})
    held = set(found["external_ref"].dropna())
    frames = [found]
    for ref in wanted:
        if ref in held or ref in unreadable:
            continue
        try:
            order_ids = bp.find_sales_orders_by_external_ref(ref, instance_id)
            if order_ids:
                frames.append(sales_order_rows(bp.sales_orders(order_ids), status_names))
        except ApiError as error:
            unreadable[ref] = f"Brightpearl could not be read ({error})"
    frames = [f for f in frames if not f.empty]
    orders = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SALES_ORDER_COLUMNS)
    return Lookup(orders=orders, unreadable=unreadable)


def _name(enum, code) -> str | None:
    import pandas as pd
    if code is None or pd.isna(code):
        return None
    try:
        return "".join(part.capitalize() for part in enum(int(code)).name.split("_"))
    except ValueError:
        return f"unknown ({int(code)})"


def _placeholder_rows(rows: pd.DataFrame, placeholder_sku: str) -> list[str]:
    flagged = rows[rows["sku"] == placeholder_sku]
    return [
        f"'{name}'" + (f" (nopCommerce item {item})" if isinstance(item, str) and item else "")
        for name, item in zip(flagged["row_name"].fillna(placeholder_sku), flagged["row_external_ref"])
    ]


def order_verdicts(
    nop_orders: pd.DataFrame,
    bp_orders: pd.DataFrame,
    *,
    external_ref: Callable[[int], str],
    ledger: Mapping[str, LedgerEntry],
    placeholder_sku: str,
    currency: str,
    unreadable: Mapping[str, str] | None = None,
    first_followed: int | None = None,
) -> pd.DataFrame:
    """One row per nopCommerce order of `nop_orders` (the nopcommerce/orders table, one row per
    line) with its Brightpearl order from `bp_orders` (the brightpearl/sales_orders table shape,
    any orders) and a verdict. `ledger` (nop order id as text -> entry) explains; `unreadable`
    (externalRef -> why) marks orders Brightpearl could not be read for; `first_followed` is the
    lowest nopCommerce order id the ledger knows (nopCommerce numbers orders as they come), so an
    order below it is said to predate the integration."""
    unreadable = unreadable or {}
    headers = nop_orders.drop_duplicates("order_id").sort_values(["created_on_utc", "order_id"])
    by_ref = {ref: group for ref, group in bp_orders.groupby("external_ref", sort=False)} if not bp_orders.empty else {}
    rows = []
    for order in headers.itertuples(index=False):
        ref = external_ref(int(order.order_id))
        entry = ledger.get(str(order.order_id))
        bp_rows = by_ref.get(ref)
        nop_total = cents(order.order_total)
        row = {
            "nop_order_id": order.order_id, "custom_order_number": order.custom_order_number,
            "created_on_utc": order.created_on_utc, "currency": currency, "nop_total": nop_total,
            "nop_order_status_id": order.order_status_id, "nop_order_status": _name(OrderStatus, order.order_status_id),
            "nop_payment_status_id": order.payment_status_id,
            "nop_payment_status": _name(PaymentStatus, order.payment_status_id), "external_ref": ref,
            "ledger_status": entry.status if entry else None,
        }
        if bp_rows is not None:
            row.update(_held(bp_rows, nop_total, currency, entry, placeholder_sku))
        elif ref in unreadable:
            row.update(verdict=CANNOT_TELL, reason=unreadable[ref], ledger_agrees=None)
        else:
            row.update(_not_held(entry, int(order.order_id), first_followed))
        row["action"] = ACTIONS[row["verdict"]]
        rows.append(row)
    return typed_frame(rows, COLUMNS)


def _held(bp_rows: pd.DataFrame, nop_total, currency: str, entry: LedgerEntry | None, placeholder_sku: str) -> dict:
    ids = sorted({int(i) for i in bp_rows["order_id"].dropna()})
    chosen = entry.bp_id if entry and entry.bp_id in ids else ids[0]
    rows = bp_rows[bp_rows["order_id"] == chosen]
    head = rows.iloc[0]
    bp_total = cents(head["total"])
    bp_currency = head["currency"] if isinstance(head["currency"], str) else None
    notes = []
    if len(ids) > 1:
        notes.append(f"Brightpearl holds {len(ids)} orders with this externalRef ({', '.join(map(str, ids))}); compared with {chosen}")
    agrees = entry is not None and entry.status == "synced" and entry.bp_id == chosen
    if not agrees:
        said = "no record of it" if entry is None else f"{entry.status}" + (f", linked to {entry.bp_id}" if entry.bp_id else ", no link")
        notes.append(f"the ledger disagrees: it has {said}, but Brightpearl holds order {chosen}")
    placeholders = _placeholder_rows(rows, placeholder_sku)
    if placeholders:
        verdict = NEEDS_REVIEW
        reason = f"booked with the placeholder {placeholder_sku} for SKUs Brightpearl did not know: " + ", ".join(placeholders)
    elif bp_total != nop_total or (bp_currency and bp_currency != currency):
        verdict = TOTAL_MISMATCH
        reason = (f"Brightpearl total {bp_total} {bp_currency or '?'} vs nopCommerce {nop_total} {currency} "
                  f"(difference {bp_total - nop_total})")
    else:
        verdict, reason = SYNCED, f"Brightpearl order {chosen}, same total"
    return {
        "brightpearl_order_id": chosen, "brightpearl_currency": bp_currency, "brightpearl_total": bp_total,
        "difference": bp_total - nop_total, "brightpearl_status_id": head["status_id"],
        "brightpearl_status": head["status_name"], "brightpearl_payment_status": head["payment_status"],
        "brightpearl_channel_id": head["channel_id"], "ledger_agrees": agrees, "verdict": verdict,
        "reason": "; ".join([reason, *notes]),
    }


def _not_held(entry: LedgerEntry | None, order_id: int, first_followed: int | None) -> dict:
    if entry is not None and entry.status == "dead_lettered":
        return {"verdict": DEAD_LETTERED, "ledger_agrees": True,
                "reason": f"dead-lettered after {entry.attempts} attempts: {entry.last_error or 'no error recorded'}"}
    if entry is not None and entry.status in ("pending", "failed"):
        error = f"; last error: {entry.last_error}" if entry.last_error else ""
        return {"verdict": PENDING, "ledger_agrees": True,
                "reason": f"queued for the order flow ({entry.status}, {entry.attempts} failed attempts){error}"}
    if entry is not None and entry.status == "synced":
        return {"verdict": MISSING, "ledger_agrees": False,
                "reason": f"the ledger disagrees: it says synced as Brightpearl order {entry.bp_id}, but Brightpearl holds "
                          "no order with this externalRef (deleted in Brightpearl, or another ledger)"}
    if entry is not None:  # skipped
        return {"verdict": MISSING, "ledger_agrees": True, "reason": f"skipped by the order flow: {entry.last_error or 'no reason recorded'}"}
    if first_followed is None:
        why = "the ledger has never seen an order: the integration has not synced this shop yet (or reads another ledger)"
    elif order_id < first_followed:
        why = (f"the order predates the integration: its ledger starts at nopCommerce order {first_followed}, "
               "so this one was never queued")
    else:
        why = "the order flow never saw it (no ledger record): a missed poll older than the 24 h catch-up sweep"
    return {"verdict": MISSING, "ledger_agrees": True, "reason": f"not in Brightpearl; {why}"}
