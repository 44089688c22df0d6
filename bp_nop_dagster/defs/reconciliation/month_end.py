"""`reconciliation/month_end`: a month's daily order and payment reconciliations on one page an
accountant can sign off (see `sync.month_end`). Reads the month's daily reports that exist (days
not reconciled are listed, never guessed) and the channel names. Reads only."""

from datetime import timedelta
from typing import TYPE_CHECKING

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.partitions import daily_partitions, monthly_partitions
from bp_nop_dagster.defs.reconciliation.common import GROUP, KINDS, OWNERS, ReportConfig, inputs_metadata
from bp_nop_dagster.defs.reconciliation.order_sync import ORDER_SYNC
from bp_nop_dagster.defs.reconciliation.payments import PAYMENTS
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.reporting import escape_markdown, report_files_metadata, reports_dir, table_metadata, write_report
from bp_nop_dagster.sync import month_end as rules
from bp_nop_dagster.sync import payment_reconcile, reconcile
from bp_nop_dagster.sync.report_table import described
from bp_nop_dagster.transport.errors import ApiError
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key

if TYPE_CHECKING:
    import pandas as pd

MONTH_END = asset_key("reconciliation", "month_end")
SIGN_OFF_CHECK = "month_ready_to_sign_off"


def daily_reports(context: dg.AssetExecutionContext, key: dg.AssetKey, days: list[str]) -> "dict[str, pd.DataFrame]":
    """The daily report `key` of each of `days` that has been materialized, as {day: table}."""
    done = context.instance.get_materialized_partitions(key)
    return {day: context.load_asset_value(key, partition_key=day) for day in days if day in done}


@dg.asset(
    key=MONTH_END,
    deps=[ORDER_SYNC, PAYMENTS],
    partitions_def=monthly_partitions,
    group_name=GROUP,
    owners=OWNERS,
    kinds={*KINDS, "markdown"},
    pool=BRIGHTPEARL_POOL,
    check_specs=[dg.AssetCheckSpec(
        SIGN_OFF_CHECK, asset=MONTH_END,
        description="Every day of the month is reconciled and nothing is open. WARN while days are missing or differences are "
                    "named; ERROR when a difference has no specific cause.",
    )],
)
def month_end_summary(
    context: dg.AssetExecutionContext,
    config: ReportConfig,
    brightpearl: BrightpearlResource,
    sync_settings: SyncSettings,
):
    """Per sales channel and currency: orders, revenue, refunds, payments, Sales Receipt journals
    and open differences of the month's orders; daily totals (a bar per day in `sign_off`); the
    open items with what to do; the days not reconciled yet. `month_end_<month>.md` is the page to
    sign off, the CSVs its tables."""
    mapping = sync_settings.mapping()
    window = context.partition_time_window
    month = window.start.strftime("%Y-%m")
    days = [d for d in daily_partitions.get_partition_keys() if window.start.date().isoformat() <= d < window.end.date().isoformat()]
    try:
        channel_names = {c.id: c.name for c in brightpearl.get_client().channels()}
    except ApiError as error:
        context.log.warning(f"channel names not read ({error}): channels are shown by id")
        channel_names = {}
    orders_by_day, payments_by_day = daily_reports(context, ORDER_SYNC, days), daily_reports(context, PAYMENTS, days)
    result = rules.month_end(month, days, orders_by_day, payments_by_day, channel_names=channel_names,
                             default_channel=mapping.channel_id)
    page = rules.sign_off_page(result, escape_markdown)
    page_path = reports_dir() / f"month_end_{month}.md"
    page_path.parent.mkdir(parents=True, exist_ok=True)
    page_path.write_text(page + "\n", encoding="utf-8")
    summary_files = write_report(result.summary, f"month_end_{month}", excel=config.excel_copy)
    daily_files = write_report(result.daily, f"month_end_{month}_daily", excel=config.excel_copy)
    open_files = write_report(result.open_items, f"month_end_{month}_open_items", excel=config.excel_copy)
    unexplained = int(result.open_items["verdict"].isin(reconcile.UNEXPLAINED + payment_reconcile.UNEXPLAINED).sum())
    totals = {
        f"{figure}/{r.currency}": dg.MetadataValue.float(float(result.summary.loc[result.summary["currency"] == r.currency, figure].sum()))
        for r in result.summary.drop_duplicates("currency").itertuples(index=False) for figure in ("revenue", "refunds", "payments")
    }
    inputs = inputs_metadata(context, {
        "daily order reports": f"{ORDER_SYNC.to_user_string()}: {len(orders_by_day)} of {len(days)} days",
        "daily payment reports": f"{PAYMENTS.to_user_string()}: {len(payments_by_day)} of {len(days)} days",
        "time window": f"{window.start.isoformat()} to {(window.end - timedelta(microseconds=1)).isoformat()} (UTC, orders placed)",
    })
    severity = dg.AssetCheckSeverity.ERROR if unexplained else dg.AssetCheckSeverity.WARN
    return dg.MaterializeResult(
        value=result.summary,
        metadata={
            **table_metadata(result.summary, described(rules.SUMMARY_COLUMNS)),
            "sign_off": dg.MetadataValue.md(page),
            "page": dg.MetadataValue.path(str(page_path.resolve())),
            "page_link": dg.MetadataValue.url(page_path.resolve().as_uri()),
            **report_files_metadata(summary_files),
            **report_files_metadata(daily_files, "daily_csv"),
            **report_files_metadata(open_files, "open_items_csv"),
            **inputs,
            "ready_to_sign_off": dg.MetadataValue.bool(result.ready),
            "days_not_reconciled": dg.MetadataValue.int(len(result.missing_days)),
            "open_differences": dg.MetadataValue.int(len(result.open_items)),
            "unexplained_differences": dg.MetadataValue.int(unexplained),
            "orders": dg.MetadataValue.int(int(result.summary["orders"].sum())),
            **totals,
        },
        check_results=[dg.AssetCheckResult(
            check_name=SIGN_OFF_CHECK,
            passed=result.ready,
            severity=severity,
            metadata={
                "days_not_reconciled": dg.MetadataValue.int(len(result.missing_days)),
                "open_differences": dg.MetadataValue.int(len(result.open_items)),
                "unexplained_differences": dg.MetadataValue.int(unexplained),
            },
        )],
    )
