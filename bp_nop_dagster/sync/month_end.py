"""Month-end summary (pure): a month's daily order and payment reconciliations folded into one
page an accountant can sign off.

Per sales channel and currency: orders placed, revenue (nopCommerce totals of orders not
cancelled), refunds (nopCommerce refunded amounts), payments (Brightpearl net: receipts and
captures minus refunds), Sales Receipt journals (bank side) and the open differences (orders not
`synced`, payment items neither `matched` nor `no_money`). A day without both daily reports is
not reconciled; the month is ready to sign off when every day is reconciled and nothing is open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING


from bp_nop_dagster.sync import payment_reconcile, reconcile
from bp_nop_dagster.sync.report_table import Column, cents, typed_frame

if TYPE_CHECKING:
    import pandas as pd

SETTLED_ORDER_VERDICTS = (reconcile.SYNCED,)
SETTLED_PAYMENT_VERDICTS = (payment_reconcile.MATCHED, payment_reconcile.NO_MONEY)
CANCELLED = "Cancelled"

SUMMARY_COLUMNS = [
    Column("month", "str", "the month (UTC), YYYY-MM"),
    Column("channel", "str", "Brightpearl sales channel (id and name)"),
    Column("currency", "str", "currency of the row's amounts (ISO 4217)"),
    Column("orders", "int", "nopCommerce orders placed in the month"),
    Column("cancelled_orders", "int", "of which cancelled"),
    Column("revenue", "float", "nopCommerce order totals of the orders not cancelled"),
    Column("refunds", "float", "nopCommerce refunded amounts of the month's orders"),
    Column("payments", "float", "Brightpearl payments on the month's orders: receipts and captures minus refunds"),
    Column("journals", "float", "Sales Receipt journals of those payments (bank side)"),
    Column("open_order_differences", "int", "orders whose order reconciliation is not `synced`"),
    Column("open_payment_differences", "int", "payment items with a named difference"),
    Column("difference_amount", "float", "nopCommerce net (captured minus refunded) minus Brightpearl payments, over the open items"),
]
DAILY_COLUMNS = [
    Column("day", "str", "the day (UTC)"),
    Column("reconciled", "bool", "whether both daily reports (order_sync, payments) exist for the day"),
    Column("orders", "int", "orders placed"),
    Column("revenue", "float", "order totals of orders not cancelled (all currencies added: see the summary per currency)"),
    Column("payments", "float", "Brightpearl payments on the day's orders (net)"),
    Column("open_differences", "int", "open order and payment differences"),
]
OPEN_COLUMNS = [
    Column("day", "str", "the day of the order (UTC)"),
    Column("report", "str", "order_sync or payments"),
    Column("nop_order_id", "int", "nopCommerce order id"),
    Column("brightpearl_order_id", "int", "Brightpearl order id"),
    Column("currency", "str", "currency of the amount"),
    Column("amount", "float", "the difference (order: Brightpearl minus nopCommerce total; payment: nopCommerce minus Brightpearl net)"),
    Column("verdict", "str", "the daily report's verdict"),
    Column("reason", "str", "why, in words"),
    Column("action", "str", "what to do"),
]


@dataclass(frozen=True)
class MonthEnd:
    month: str
    summary: pd.DataFrame
    daily: pd.DataFrame
    open_items: pd.DataFrame
    missing_days: list[str]

    @property
    def ready(self) -> bool:
        return not self.missing_days and self.open_items.empty


def _channel(channel_id, names: Mapping[int, str]) -> str:
    import pandas as pd
    if channel_id is None or pd.isna(channel_id):
        return "not in Brightpearl"
    return f"{int(channel_id)} {names.get(int(channel_id), '')}".strip()


def month_end(month: str, days: Sequence[str], order_reports: Mapping[str, pd.DataFrame],
              payment_reports: Mapping[str, pd.DataFrame], *, channel_names: Mapping[int, str],
              default_channel: int) -> MonthEnd:
    """Fold the daily reports of `days` (each day's order_sync and payments items, where they
    exist) into the month's summary, daily totals and open items. Orders not in Brightpearl
    count under `default_channel` (the mapping's channel: where they will be booked)."""
    import pandas as pd
    orders = [frame.assign(day=day) for day, frame in order_reports.items() if day in days]
    payments = [frame for day, frame in payment_reports.items() if day in days]
    order_frame = pd.concat(orders, ignore_index=True) if orders else typed_frame([], reconcile.COLUMNS).assign(day=None)
    payment_frame = pd.concat(payments, ignore_index=True) if payments else typed_frame([], payment_reconcile.ITEM_COLUMNS)
    channel_of = {
        int(r.nop_order_id): _channel(r.brightpearl_channel_id if pd.notna(r.brightpearl_channel_id) else default_channel, channel_names)
        for r in order_frame.itertuples(index=False)
    }
    order_frame["channel"] = order_frame["nop_order_id"].map(lambda i: channel_of.get(int(i)))
    payment_frame = payment_frame.assign(
        channel=payment_frame["nop_order_id"].map(lambda i: channel_of.get(int(i)) if pd.notna(i) else None).fillna(
            _channel(default_channel, channel_names)))
    open_orders = order_frame[~order_frame["verdict"].isin(SETTLED_ORDER_VERDICTS)]
    open_payments = payment_frame[~payment_frame["verdict"].isin(SETTLED_PAYMENT_VERDICTS)]

    summary_rows = []
    keys = sorted(set(zip(order_frame["channel"], order_frame["currency"])) | set(zip(payment_frame["channel"], payment_frame["currency"])))
    for channel, currency in keys:
        o = order_frame[(order_frame["channel"] == channel) & (order_frame["currency"] == currency)]
        p = payment_frame[(payment_frame["channel"] == channel) & (payment_frame["currency"] == currency)]
        live = o[o["nop_order_status"] != CANCELLED]
        p_open = p[~p["verdict"].isin(SETTLED_PAYMENT_VERDICTS)]
        summary_rows.append({
            "month": month, "channel": channel, "currency": currency, "orders": len(o),
            "cancelled_orders": int((o["nop_order_status"] == CANCELLED).sum()), "revenue": _sum(live["nop_total"]),
            "refunds": _sum(p["nop_refunded"]), "payments": _sum(p["brightpearl_net"]), "journals": _sum(p["journal_net"]),
            "open_order_differences": int((~o["verdict"].isin(SETTLED_ORDER_VERDICTS)).sum()),
            "open_payment_differences": len(p_open), "difference_amount": _sum(p_open["difference"]),
        })
    reconciled = {day for day in days if day in order_reports and day in payment_reports}
    daily_rows = []
    for day in days:
        o = order_frame[order_frame["day"] == day]
        p = payment_frame[payment_frame["day"] == day]
        daily_rows.append({
            "day": day, "reconciled": day in reconciled, "orders": len(o),
            "revenue": _sum(o.loc[o["nop_order_status"] != CANCELLED, "nop_total"]), "payments": _sum(p["brightpearl_net"]),
            "open_differences": int((~o["verdict"].isin(SETTLED_ORDER_VERDICTS)).sum() + (~p["verdict"].isin(SETTLED_PAYMENT_VERDICTS)).sum()),
        })
    open_rows = [
        {"day": r.day, "report": "order_sync", "nop_order_id": r.nop_order_id, "brightpearl_order_id": r.brightpearl_order_id,
         "currency": r.currency, "amount": r.difference, "verdict": r.verdict, "reason": r.reason, "action": r.action}
        for r in open_orders.itertuples(index=False)
    ] + [
        {"day": r.day, "report": "payments", "nop_order_id": r.nop_order_id, "brightpearl_order_id": r.brightpearl_order_id,
         "currency": r.currency, "amount": r.difference, "verdict": r.verdict, "reason": r.reason, "action": r.action}
        for r in open_payments.itertuples(index=False)
    ]
    return MonthEnd(
        month=month, summary=typed_frame(summary_rows, SUMMARY_COLUMNS), daily=typed_frame(daily_rows, DAILY_COLUMNS),
        open_items=typed_frame(open_rows, OPEN_COLUMNS), missing_days=[d for d in days if d not in reconciled],
    )


def _sum(values) -> Decimal:
    import pandas as pd
    return sum((cents(v) for v in values if pd.notna(v)), cents(0))


def _ranges(days: Sequence[str]) -> str:
    """`2026-03-01..2026-03-04, 2026-03-09` for a sorted list of days."""
    import pandas as pd
    parts, run = [], []
    for day in days:
        if run and (pd.Timestamp(day) - pd.Timestamp(run[-1])).days == 1:
            run.append(day)
            continue
        if run:
            parts.append(run[0] if len(run) == 1 else f"{run[0]}..{run[-1]}")
        run = [day]
    if run:
        parts.append(run[0] if len(run) == 1 else f"{run[0]}..{run[-1]}")
    return ", ".join(parts)


def sign_off_page(result: MonthEnd, escape) -> str:
    """The month on one Markdown page: status, totals per channel and currency, daily totals with
    a bar per day, open items. `escape` makes a value literal Markdown."""
    import pandas as pd
    s = result.summary
    lines = [f"# Month end {result.month}", ""]
    if result.ready:
        lines.append("**Status: ready to sign off.** Every day is reconciled and nothing is open.")
    else:
        problems = []
        if result.missing_days:
            problems.append(f"{len(result.missing_days)} day(s) not reconciled ({_ranges(result.missing_days)}): materialize "
                            "reconciliation/order_sync and reconciliation/payments for them (a backfill)")
        if not result.open_items.empty:
            problems.append(f"{len(result.open_items)} open difference(s), listed below with what to do")
        lines.append("**Status: not ready to sign off.** " + "; ".join(problems) + ".")
    lines += ["", "## Totals", "", "| channel | currency | orders | cancelled | revenue | refunds | payments | journals | open orders | open payments | difference |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in s.itertuples(index=False):
        lines.append(f"| {escape(r.channel)} | {r.currency} | {r.orders} | {r.cancelled_orders} | {r.revenue:.2f} | {r.refunds:.2f} | "
                     f"{r.payments:.2f} | {r.journals:.2f} | {r.open_order_differences} | {r.open_payment_differences} | {r.difference_amount:.2f} |")
    daily = result.daily
    top = max([float(v) for v in daily["revenue"]] + [0.0])
    lines += ["", "## Daily totals", "", "| day | orders | revenue | payments | open | |", "|---|---:|---:|---:|---:|---|"]
    for r in daily.itertuples(index=False):
        bar = "█" * round(20 * float(r.revenue) / top) if top else ""
        mark = "" if r.reconciled else " (not reconciled)"
        lines.append(f"| {r.day}{mark} | {r.orders} | {r.revenue:.2f} | {r.payments:.2f} | {r.open_differences} | {bar} |")
    if not result.open_items.empty:
        lines += ["", "## Open items", "", "| day | report | nop order | Brightpearl order | amount | verdict | reason | action |",
                  "|---|---|---:|---:|---:|---|---|---|"]
        for r in result.open_items.head(200).itertuples(index=False):
            ids = ["" if pd.isna(v) else str(int(v)) for v in (r.nop_order_id, r.brightpearl_order_id)]
            amount = "" if pd.isna(r.amount) else f"{r.amount:.2f} {r.currency}"
            lines.append(f"| {r.day} | {r.report} | {ids[0]} | {ids[1]} | {amount} | {r.verdict} | {escape(r.reason or '')} | {escape(r.action or '')} |")
        if len(result.open_items) > 200:
            lines.append(f"\n_{len(result.open_items) - 200} more in the CSV_")
    lines += ["", "Signed off by: ____________________    Date: ____________"]
    return "\n".join(lines)
