"""`reconciliation/order_sync`: every nopCommerce order of a day against Brightpearl.

Computed from the source tables of the same day (nopcommerce/orders, brightpearl/sales_orders)
plus targeted look-ups for the orders Brightpearl created on another day (by the ledger's link,
else by externalRef); the ledger only explains (see `sync.reconcile`). Reads only."""

from datetime import timedelta

import dagster as dg

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
    safe_url,
    verdict_counts,
)
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.mapping.orders import external_ref
from bp_nop_dagster.reporting import DataFrame, escape_markdown, report_files_metadata, table_metadata, write_report
from bp_nop_dagster.sync.reconcile import ACTIONS, COLUMNS, UNEXPLAINED, VERDICTS, LedgerEntry, find_brightpearl_orders, order_verdicts
from bp_nop_dagster.sync.report_table import described
from bp_nop_dagster.transport.errors import ApiError
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key

ORDER_SYNC = asset_key("reconciliation", "order_sync")
NOP_ORDERS = asset_key("nopcommerce", "orders")
BP_SALES_ORDERS = asset_key("brightpearl", "sales_orders")
RECONCILED_CHECK = "orders_reconciled"


@dg.asset(
    key=ORDER_SYNC,
    ins={"nop_orders": dg.AssetIn(key=NOP_ORDERS), "bp_orders": dg.AssetIn(key=BP_SALES_ORDERS)},
    partitions_def=daily_partitions,
    group_name=GROUP,
    owners=OWNERS,
    kinds=KINDS,
    pool=BRIGHTPEARL_POOL,
    check_specs=[dg.AssetCheckSpec(
        RECONCILED_CHECK, asset=ORDER_SYNC,
        description="Every order of the day is in Brightpearl with the same total, or explained (pending, dead-lettered, "
                    "needs review); fails (ERROR) on a total mismatch, a missing order or one Brightpearl could not be read for.",
    )],
)
def order_sync_reconciliation(
    context: dg.AssetExecutionContext,
    config: ReportConfig,
    nop_orders: DataFrame,
    bp_orders: DataFrame,
    brightpearl: BrightpearlResource,
    ledger: LedgerResource,
    sync_settings: SyncSettings,
):
    """Each nopCommerce order placed on the day (UTC) with the Brightpearl order carrying its
    externalRef, both totals with their currency, both statuses by name, and a verdict with its
    reason and what to do: synced, needs_review, total_mismatch, dead_lettered, pending, missing
    (nothing explains it: the one that needs a person) or cannot_tell (Brightpearl could not be
    read). The ledger only explains; where it disagrees with Brightpearl the row says so.
    Written as CSV to the reports folder too (one file per day, replaced on rerun)."""
    import pandas as pd
    mapping = sync_settings.mapping()
    bp = brightpearl.get_client()
    calls_before = bp.call_count
    book = ledger.get_ledger()
    nop_ids = sorted({int(i) for i in nop_orders["order_id"].dropna()})
    keys = [str(i) for i in nop_ids]
    entries = {
        r.nop_key: LedgerEntry(r.status, bp_id=r.bp_id, needs_review=r.needs_review, last_error=r.last_error, attempts=r.attempts)
        for r in book.statuses("order", keys)
    }
    known_ids = [int(r.nop_key) for r in book.statuses("order") if r.nop_key.isdigit()]
    refs = {external_ref(i, mapping): i for i in nop_ids}
    in_table = bp_orders[bp_orders["external_ref"].isin(refs)]
    unfound = [ref for ref in refs if ref not in set(in_table["external_ref"])]
    linked = {external_ref(int(k), mapping): bp_id for k, bp_id in book.bp_ids("order", keys).items()}
    try:
        instance_id = mapping.installed_integration_instance_id or bp.installed_integration_instance_id()
        status_names = {s.id: s.name for s in bp.order_statuses()}
    except ApiError:
        instance_id, status_names = None, {}  # the look-ups below fail the same way and say so per order
    lookup = find_brightpearl_orders(bp, unfound, linked, instance_id, status_names)
    frame = order_verdicts(
        nop_orders, pd.concat([in_table, lookup.orders], ignore_index=True), external_ref=lambda i: external_ref(i, mapping),
        ledger=entries, placeholder_sku=mapping.placeholder_sku, currency=mapping.currency_code,
        unreadable=lookup.unreadable, first_followed=min(known_ids) if known_ids else None,
    )
    paths = write_report(frame, f"order_sync_{context.partition_key}", excel=config.excel_copy)
    window = context.partition_time_window
    unexplained = frame[frame["verdict"].isin(UNEXPLAINED)]
    disagree = int((frame["ledger_agrees"] == False).sum())  # noqa: E712 - nullable boolean column
    inputs = inputs_metadata(context, {
        "nopCommerce orders": f"{NOP_ORDERS.to_user_string()} {context.partition_key}: {len(nop_ids)} orders, "
                              + input_materialization(context, NOP_ORDERS, context.partition_key),
        "Brightpearl orders": f"{BP_SALES_ORDERS.to_user_string()} {context.partition_key}: {int(bp_orders['order_id'].nunique())} "
                              f"orders created that day, {input_materialization(context, BP_SALES_ORDERS, context.partition_key)}",
        "look-ups": f"{int(lookup.orders['order_id'].nunique()) if not lookup.orders.empty else 0} orders found by ledger link or "
                    f"externalRef among {len(unfound)} not created that day; {len(lookup.unreadable)} could not be read",
        "ledger": f"{safe_url(ledger.resolved_url())} (explains only)",
        "time window": f"{window.start.isoformat()} to {(window.end - timedelta(microseconds=1)).isoformat()} (UTC, orders created)",
        "Brightpearl": brightpearl.base_url,
    })
    return dg.MaterializeResult(
        value=frame,
        metadata={  # what an analyst reads first, then the table
            "orders": dg.MetadataValue.int(len(frame)),
            "unexplained_differences": dg.MetadataValue.int(len(unexplained)),
            "inputs_disagree": dg.MetadataValue.int(disagree),
            "what_to_do": actions_markdown(frame, ACTIONS),
            **table_metadata(frame, described(COLUMNS)),
            **report_files_metadata(paths),
            **inputs,
            "brightpearl_calls": dg.MetadataValue.int(bp.call_count - calls_before),
            **verdict_counts(frame, VERDICTS),
        },
        check_results=[dg.AssetCheckResult(
            check_name=RECONCILED_CHECK,
            passed=unexplained.empty,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "unexplained_differences": dg.MetadataValue.int(len(unexplained)),
                "orders": dg.MetadataValue.md(
                    "\n".join(f"- nopCommerce order {int(r.nop_order_id)}: {r.verdict}, {escape_markdown(r.reason)}"
                              for r in unexplained.head(50).itertuples())
                    or "_none_"),
            },
        )],
    )
