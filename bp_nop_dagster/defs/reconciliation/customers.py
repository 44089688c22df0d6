"""`reconciliation/customers`: every registered nopCommerce customer against Brightpearl, per
person (linked, differing fields with their owner, suspected duplicates, the ledger's state, a
verdict). Daily (`customer_reconciliation_schedule`), CSV in the reports folder. Reads only."""

from datetime import UTC, datetime

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.reconciliation.common import GROUP, KINDS, OWNERS, ReportConfig, actions_markdown, inputs_metadata, safe_url, verdict_counts
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.reporting import DataFrame, escape_markdown, report_files_metadata, table_metadata, write_report
from bp_nop_dagster.sync.customer_reconcile import ACTIONS, COLUMNS, UNEXPLAINED, VERDICTS, reconcile_customers
from bp_nop_dagster.sync.report_table import described
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key

CUSTOMER_RECONCILIATION = asset_key("reconciliation", "customers")
BP_CONTACTS = asset_key("brightpearl", "contacts")
CUSTOMERS_IN_STEP = asset_key("customers", "customers_in_step")
RECONCILED_CHECK = "customers_reconciled"


@dg.asset(
    key=CUSTOMER_RECONCILIATION,
    ins={"contacts": dg.AssetIn(key=BP_CONTACTS)},
    deps=[asset_key("nopcommerce", "customers"), CUSTOMERS_IN_STEP],
    group_name=GROUP,
    owners=OWNERS,
    kinds=KINDS,
    pool=BRIGHTPEARL_POOL,
    check_specs=[dg.AssetCheckSpec(RECONCILED_CHECK, asset=CUSTOMER_RECONCILIATION,
                                   description="No person differs between the systems without an explanation (ERROR otherwise).")],
)
def customer_reconciliation(
    context: dg.AssetExecutionContext,
    config: ReportConfig,
    contacts: DataFrame,
    nopcommerce: NopCommerceResource,
    brightpearl: BrightpearlResource,
    ledger: LedgerResource,
    sync_settings: SyncSettings,
):
    """Each registered nopCommerce customer with its Brightpearl contact: linked or not, the fields
    that differ now and which side owns each, suspected duplicates (never merged), the ledger's
    state and a verdict with what to do. Written as CSV to the reports folder too (one file per
    day, replaced on rerun)."""
    result = reconcile_customers(nopcommerce.get_client(), brightpearl.get_client(), ledger.get_ledger(), sync_settings.mapping(),
                                 contact_rows=contacts)
    frame = result.frame
    day = datetime.now(UTC).date().isoformat()
    paths = write_report(frame, f"customers_{day}", excel=config.excel_copy)
    unexplained = frame[frame["verdict"].isin(UNEXPLAINED)]
    inputs = inputs_metadata(context, {
        "nopCommerce": f"every registered customer and billing address, read now ({result.nopcommerce_calls} requests)",
        "Brightpearl": f"linked contacts and addresses read now, {BP_CONTACTS.to_user_string()} for the rest "
                       f"({result.brightpearl_only} customer contacts linked to no shop customer)",
        "ledger": f"{safe_url(ledger.resolved_url())} (links, last agreed values, flags)",
    })
    return dg.MaterializeResult(
        value=frame,
        metadata={
            "customers": dg.MetadataValue.int(len(frame)),
            "unexplained_differences": dg.MetadataValue.int(len(unexplained)),
            "suspected_duplicates": dg.MetadataValue.int(int((frame["suspected_duplicates"] != "").sum())),
            "brightpearl_only_contacts": dg.MetadataValue.int(result.brightpearl_only),
            "what_to_do": actions_markdown(frame, ACTIONS),
            **table_metadata(frame, described(COLUMNS)),
            **report_files_metadata(paths),
            **inputs,
            "brightpearl_calls": dg.MetadataValue.int(result.brightpearl_calls),
            **verdict_counts(frame, VERDICTS),
        },
        check_results=[dg.AssetCheckResult(
            check_name=RECONCILED_CHECK, passed=unexplained.empty, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"unexplained_differences": dg.MetadataValue.int(len(unexplained)),
                      "customers": dg.MetadataValue.md("\n".join(
                          f"- customer {int(r.nop_customer_id)}: {r.verdict}, {escape_markdown(r.reason)}"
                          for r in unexplained.head(50).itertuples()) or "_none_")},
        )],
    )
