"""`brightpearl/gateway_journals`: the day's gateway fee and clearing transfer journals, per
Brightpearl payment method, posted once each (`sync/journals.py`; rules in `mapping/journals.py`).
Off unless the mapping's `journals.enabled` is true: then nothing is read or written."""

import dagster as dg

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.partitions import daily_partitions
from bp_nop_dagster.defs.reconciliation.common import GROUP, OWNERS
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.sync.fate import SystemicOutage
from bp_nop_dagster.sync.journals import GatewayJournalSync
from bp_nop_dagster.defs.pairing import BRIGHTPEARL_POOL, asset_key
from bp_nop_dagster.reporting import DataFrame

GATEWAY_JOURNALS = asset_key("brightpearl", "gateway_journals")
NOP_PAYMENTS = asset_key("nopcommerce", "payments")


@dg.asset(
    key=GATEWAY_JOURNALS,
    ins={"nop_payments": dg.AssetIn(key=NOP_PAYMENTS)},
    partitions_def=daily_partitions,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"brightpearl", "pandas"},
    pool=BRIGHTPEARL_POOL,
)
def gateway_journals(
    context: dg.AssetExecutionContext,
    nop_payments: DataFrame,
    brightpearl: BrightpearlResource,
    ledger: LedgerResource,
    sync_settings: SyncSettings,
) -> dg.MaterializeResult:
    """Per payment method of the day's captured orders: the gateway fee journal (fee nominal
    debited, clearing credited) and the clearing transfer journal (bank debited, clearing
    credited, captures minus refunds minus fees), each posted to Brightpearl exactly once
    (ledger kind `gateway_journal`, key `<kind>:<day>:<method>`). Disabled by default."""
    import pandas as pd
    mapping = sync_settings.mapping()
    if not mapping.journals.enabled:
        return dg.MaterializeResult(metadata={"enabled": False, "posted": 0,
                                              "note": "journals.enabled is false in the mapping: nothing posted"})
    bp = brightpearl.get_client()
    calls_before = bp.call_count
    engine = GatewayJournalSync(bp=bp, ledger=ledger.get_ledger(), config=sync_settings.mapping(bp, flow="orders", ledger=ledger.get_ledger()),
                                owner=context.run.run_id)
    try:
        report = engine.run(context.partition_key, nop_payments.to_dict("records"))
    except SystemicOutage as outage:
        context.log.warning(f"stopped early: {outage}")
        raise
    rows = [{"key": due.key, "kind": due.kind, "payment_method_code": due.method_code, "amount": float(due.amount),
             "journal_id": report.journals.get(due.key)} for due in report.due]
    return dg.MaterializeResult(metadata={
        "enabled": True,
        "due": len(report.due),
        "posted": report.posted,
        "already_posted": report.already_posted,
        "fates": dg.MetadataValue.json(dict(report.fates)),
        "journals": dg.MetadataValue.md(pd.DataFrame(rows).to_markdown(index=False) if rows else "_none due_"),
        "brightpearl_calls": bp.call_count - calls_before,
    })
