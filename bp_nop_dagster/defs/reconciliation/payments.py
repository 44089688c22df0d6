"""`reconciliation/payments`: the money of a day's orders in nopCommerce, in Brightpearl's customer
payments and in its Sales Receipt journals, per payment method and currency (see
`sync.payment_reconcile` for the rules). Computed from nopcommerce/payments and the day's order
reconciliation (which Brightpearl order each nopCommerce order is), plus targeted look-ups of
those orders' credits, payments and journals. Reads only."""

from typing import TYPE_CHECKING

import dagster as dg

from bp_nop_dagster.brightpearl.client import ID_SET_CAP, BrightpearlClient, chunk_ids, compact_id_set
from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.partitions import daily_partitions
from bp_nop_dagster.defs.reconciliation.common import (
    GROUP,
    KINDS,
    OWNERS,
    ReportConfig,
    actions_markdown,
    input_materialization,
    inputs_metadata,
    verdict_counts,
)
from bp_nop_dagster.defs.reconciliation.gateway_journals import GATEWAY_JOURNALS
from bp_nop_dagster.defs.reconciliation.order_sync import ORDER_SYNC
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.reporting import DataFrame, escape_markdown, preview_markdown, report_files_metadata, table_metadata, write_report
from bp_nop_dagster.sync import payment_reconcile as rules
from bp_nop_dagster.sync.journals import posted_journals
from bp_nop_dagster.sync.report_table import described
from bp_nop_dagster.transport.errors import ApiError
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key

if TYPE_CHECKING:
    import pandas as pd

PAYMENTS = asset_key("reconciliation", "payments")
NOP_PAYMENTS = asset_key("nopcommerce", "payments")
RECONCILED_CHECK = "payments_reconciled"
SALES_CREDIT_TYPE_ID = 3
PAYMENT_FIELDS = ["payment_id", "order_id", "payment_type", "payment_method_code", "transaction_ref", "currency_code",
                  "amount_paid", "journal_id"]
JOURNAL_FIELDS = ["journal_id", "journal_type", "order_id", "nominal_code", "transaction_debit", "transaction_credit"]


def read_brightpearl_money(bp: BrightpearlClient, order_ids: list[int]) -> "tuple[dict[int, int], pd.DataFrame, pd.DataFrame]":
    """For these sales orders: their credits (credit id -> order id), the customer payments on
    orders and credits, and the Sales Receipt journal lines on them (ID sets of at most 200)."""
    import pandas as pd
    credits: dict[int, int] = {}
    for chunk in chunk_ids(order_ids, ID_SET_CAP):
        rows = bp.order_search({"parentOrderId": compact_id_set(chunk), "orderTypeId": SALES_CREDIT_TYPE_ID},
                               columns=["orderId", "parentOrderId"])
        credits.update({row.order_id: row.parent_order_id for row in rows if row.parent_order_id is not None})
    holders = sorted(set(order_ids) | set(credits))
    payments = pd.DataFrame([p.model_dump(include=set(PAYMENT_FIELDS)) for p in bp.customer_payment_search(order_ids=holders)],
                            columns=PAYMENT_FIELDS) if holders else pd.DataFrame(columns=PAYMENT_FIELDS)
    journals = pd.DataFrame([j.model_dump(include=set(JOURNAL_FIELDS)) for j in bp.journal_search({"journalType": "SR"}, order_ids=holders)],
                            columns=JOURNAL_FIELDS) if holders else pd.DataFrame(columns=JOURNAL_FIELDS)
    return credits, payments, journals


@dg.asset(
    key=PAYMENTS,
    ins={"nop_payments": dg.AssetIn(key=NOP_PAYMENTS), "orders_report": dg.AssetIn(key=ORDER_SYNC)},
    deps=[GATEWAY_JOURNALS],  # the day's gateway journals (when enabled) are posted before they are read
    partitions_def=daily_partitions,
    group_name=GROUP,
    owners=OWNERS,
    kinds=KINDS,
    pool=BRIGHTPEARL_POOL,
    check_specs=[dg.AssetCheckSpec(
        RECONCILED_CHECK, asset=PAYMENTS,
        description="Every payment method balances: nopCommerce captures minus refunds = Brightpearl receipts minus refunds = "
                    "Sales Receipt journals. WARN for named differences (e.g. a refund not booked yet), ERROR for a difference "
                    "without a specific cause or Brightpearl unreadable.",
    )],
)
def payments_reconciliation(
    context: dg.AssetExecutionContext,
    config: ReportConfig,
    nop_payments: DataFrame,
    orders_report: DataFrame,
    brightpearl: BrightpearlResource,
    sync_settings: SyncSettings,
):
    """The day's orders (placed that day, UTC), one row each: the payment method and its Brightpearl
    code, the currency, what nopCommerce took (captured minus refunded), what Brightpearl
    recorded (RECEIPT + CAPTURE - PAYMENT on the order and its credits), the Sales Receipt
    journals of those payments, and a verdict naming every difference with what to do; plus a
    row per journal no payment names. Totals per payment method and currency in `summary` and
    `payments_summary_<day>.csv`. Every payment, refund and journal of the day's orders counts,
    whenever it happened, so a day settles as its orders are paid and refunded."""
    import pandas as pd
    mapping = sync_settings.mapping()
    bp = brightpearl.get_client()
    calls_before = bp.call_count
    day = context.partition_key
    links = {int(r.nop_order_id): (int(r.brightpearl_order_id) if pd.notna(r.brightpearl_order_id) else None)
             for r in orders_report.itertuples(index=False)}
    so_ids = sorted({so for so in links.values() if so is not None})
    unreadable = None
    try:
        credits, bp_payments, journal_lines = read_brightpearl_money(bp, so_ids)
    except ApiError as error:
        unreadable = f"Brightpearl could not be read ({error})"
        credits, bp_payments, journal_lines = {}, pd.DataFrame(columns=PAYMENT_FIELDS), pd.DataFrame(columns=JOURNAL_FIELDS)
    gateway = []
    if unreadable is None and mapping.journals.enabled:
        try:
            gateway = posted_journals(bp, mapping, day)
        except ApiError as error:
            unreadable = f"Brightpearl could not be read ({error})"
    gateway_totals = {f"gateway_{j['kind']}/{j['payment_method_code']}": 0.0 for j in gateway}
    for journal in gateway:
        gateway_totals[f"gateway_{journal['kind']}/{journal['payment_method_code']}"] += float(journal["amount"])
    items = rules.payment_items(
        day, nop_payments, brightpearl_orders=links, credits=credits, bp_payments=bp_payments, journal_lines=journal_lines,
        method_codes=mapping.payment_methods, currency=mapping.currency_code, unreadable=unreadable,
    )
    summary = rules.payment_summary(day, items)
    item_files = write_report(items, f"payments_{day}", excel=config.excel_copy)
    summary_files = write_report(summary, f"payments_summary_{day}", excel=config.excel_copy)
    differing = items[~items["verdict"].isin((rules.MATCHED, rules.NO_MONEY))]
    unexplained = items[items["verdict"].isin(rules.UNEXPLAINED)]
    totals = {
        f"{figure}/{r.payment_method_code}/{r.currency}": dg.MetadataValue.float(float(getattr(r, figure)))
        for r in summary.itertuples(index=False) for figure in ("nop_net", "brightpearl_net", "journal_net")
    }
    inputs = inputs_metadata(context, {
        "nopCommerce payments": f"{NOP_PAYMENTS.to_user_string()} {day}: {len(nop_payments)} orders, "
                                + input_materialization(context, NOP_PAYMENTS, day),
        "Brightpearl orders": f"{ORDER_SYNC.to_user_string()} {day}: {len(so_ids)} of the day's orders are in Brightpearl, "
                              + input_materialization(context, ORDER_SYNC, day),
        "look-ups": f"{len(credits)} sales credits, {len(bp_payments)} customer payments, "
                    f"{journal_lines['journal_id'].nunique() if not journal_lines.empty else 0} Sales Receipt journals"
                    + (f"; {unreadable}" if unreadable else ""),
        "Brightpearl": brightpearl.base_url,
    })
    severity = dg.AssetCheckSeverity.ERROR if not unexplained.empty else dg.AssetCheckSeverity.WARN
    return dg.MaterializeResult(
        value=items,
        metadata={  # what an analyst reads first, then the table
            "summary": dg.MetadataValue.md(preview_markdown(summary.drop(columns=["day", "action"]), rows=50)),
            "orders": dg.MetadataValue.int(int(items["nop_order_id"].notna().sum())),
            "differences": dg.MetadataValue.int(len(differing)),
            "unexplained_differences": dg.MetadataValue.int(len(unexplained)),
            "what_to_do": actions_markdown(items, rules.ACTIONS),
            **table_metadata(items, described(rules.ITEM_COLUMNS)),
            **report_files_metadata(item_files),
            **report_files_metadata(summary_files, "summary_csv"),
            **inputs,
            "brightpearl_calls": dg.MetadataValue.int(bp.call_count - calls_before),
            **totals,
            # the day's gateway fee and clearing transfer journals (brightpearl/gateway_journals), when enabled
            "gateway_journals": dg.MetadataValue.int(len(gateway)),
            **{name: dg.MetadataValue.float(value) for name, value in gateway_totals.items()},
            **verdict_counts(items, (v for v in rules.ACTIONS)),
        },
        check_results=[dg.AssetCheckResult(
            check_name=RECONCILED_CHECK,
            passed=differing.empty,
            severity=severity,
            metadata={
                "differences": dg.MetadataValue.int(len(differing)),
                "unexplained_differences": dg.MetadataValue.int(len(unexplained)),
                "items": dg.MetadataValue.md("\n".join(
                    f"- {r.verdict}: {escape_markdown(r.reason or '')}" for r in differing.head(50).itertuples()) or "_none_"),
            },
        )],
    )
