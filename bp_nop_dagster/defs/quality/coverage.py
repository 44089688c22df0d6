"""The blocking check that keeps an order run from sending orders the mapping cannot map: with
`quality.require_mapped_values` (what `bp-nop init` writes), the pending orders' payment methods,
shipping methods and tax rates are compared with the mapping before the sync step, and a value
it does not map fails the check naming it; the sync step then does not run (README, "Data quality")."""


import hashlib
from datetime import datetime, timedelta

import dagster as dg

from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.mapping.config import MappingConfig, MappingConfigError
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.sync.quality import pending_orders, unmapped_values
from bp_nop_dagster.defs.pairing import asset_key

MAPPING_COVERAGE = asset_key("order_flow", "mapping_coverage")
MAPPED_VALUES_CHECK = "pending_orders_are_mapped"
#: After the check failed, the order sensor asks for no run until the mapping changes or this passes
#: (the values of orders do not change by themselves: a run every sensor tick would only fail again).
BLOCKED_RECHECK = timedelta(minutes=10)


def mapping_fingerprint(config: MappingConfig) -> str:
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]


def blocked_by_unmapped_values(instance: dg.DagsterInstance, sync_settings: SyncSettings, now: datetime) -> str | None:
    """Why an order run would only fail the blocking check again (its last evaluation failed, less
    than `BLOCKED_RECHECK` ago, on this same mapping), else None."""
    key = dg.AssetCheckKey(MAPPING_COVERAGE, MAPPED_VALUES_CHECK)
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key]).get(key)
    evaluation = record.event.dagster_event.asset_check_evaluation_data if record and record.event and record.event.dagster_event else None
    if evaluation is None or evaluation.passed or now.timestamp() - record.create_timestamp > BLOCKED_RECHECK.total_seconds():
        return None
    try:
        current = mapping_fingerprint(sync_settings.mapping())
    except MappingConfigError:
        return None  # the run reports the broken file
    seen = evaluation.metadata.get("mapping_fingerprint")
    if seen is None or seen.value != current:
        return None
    return (f"the pending orders carry values the mapping does not map ({evaluation.description or 'see the check'}): "
            f"map them (a new run starts once the mapping changes, or after {BLOCKED_RECHECK} on this one)")


@dg.asset(
    key=MAPPING_COVERAGE, group_name="order_flow", owners=["team:integrations"], kinds={"nopcommerce"},
    deps=[asset_key("nopcommerce", "orders")],
    check_specs=[dg.AssetCheckSpec(MAPPED_VALUES_CHECK, asset=MAPPING_COVERAGE, blocking=True,
                                   description="Every payment method, shipping method and tax rate of the pending orders is mapped.")],
)
def mapping_coverage(nopcommerce: NopCommerceResource, ledger: LedgerResource, sync_settings: SyncSettings):
    """The values of the pending orders the mapping does not map (one Order/GetByIds call per 100
    pending orders; nothing read when `quality.require_mapped_values` is off)."""
    config = sync_settings.mapping()
    if not config.quality.require_mapped_values:
        yield dg.MaterializeResult(metadata={"checked": dg.MetadataValue.bool(False)})
        yield dg.AssetCheckResult(check_name=MAPPED_VALUES_CHECK, passed=True,
                                  metadata={"note": dg.MetadataValue.text("quality.require_mapped_values is off: not checked")})
        return
    orders = pending_orders(nopcommerce.get_client(), ledger.get_ledger(), limit=sync_settings.orders.batch_size)
    missing = unmapped_values(orders, config)
    yield dg.MaterializeResult(metadata={"checked": dg.MetadataValue.bool(True), "pending_orders": dg.MetadataValue.int(len(orders)),
                                         "unmapped_values": dg.MetadataValue.int(len(missing))})
    yield dg.AssetCheckResult(
        check_name=MAPPED_VALUES_CHECK, passed=not missing,
        description=("unmapped: " + "; ".join(f"{m.key}: {m.value!r}" for m in missing)) if missing else None,
        metadata={
            "unmapped": dg.MetadataValue.md("\n".join(
                f"- `{m.key}` has no entry for {m.value!r} (orders {', '.join(map(str, m.orders[:10]))}"
                f"{', ...' if len(m.orders) > 10 else ''})" for m in missing) or "_none_"),
            "pending_orders": dg.MetadataValue.int(len(orders)),
            "mapping_fingerprint": dg.MetadataValue.text(mapping_fingerprint(config)),
        },
    )
