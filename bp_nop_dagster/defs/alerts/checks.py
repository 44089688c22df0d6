"""`dead_letters_not_growing`: runs after every refresh of `order_flow/dead_letters` (it is part
of `order_sync_job`) and alerts when the queue holds more records than at the previous refresh."""

import dagster as dg

from bp_nop_dagster.alerts import dead_letter_growth_message
from bp_nop_dagster.defs.alerts.resources import AlertWebhook
from bp_nop_dagster.defs.orders.dead_letters import DEAD_LETTERS

COUNT = "dead_letters"
REASON_PREFIX = "reason/"


def _counts(materialization: dg.AssetMaterialization | None) -> tuple[int, dict[str, int]]:
    """Total and per-reason counts a dead-letter refresh recorded (zero before the first one)."""
    if materialization is None:
        return 0, {}
    metadata = materialization.metadata
    by_reason = {name.removeprefix(REASON_PREFIX): int(value.value) for name, value in metadata.items() if name.startswith(REASON_PREFIX)}
    return int(metadata[COUNT].value), by_reason


@dg.asset_check(
    asset=DEAD_LETTERS,
    description="Fails (WARN) and alerts when the dead-letter queue grew since its previous refresh.",
)
def dead_letters_not_growing(context: dg.AssetCheckExecutionContext, alerts: AlertWebhook) -> dg.AssetCheckResult:
    latest_two = context.instance.fetch_materializations(DEAD_LETTERS, limit=2).records
    current, current_by_reason = _counts(latest_two[0].asset_materialization if latest_two else None)
    previous, previous_by_reason = _counts(latest_two[1].asset_materialization if len(latest_two) > 1 else None)
    new_by_reason = {reason: count - previous_by_reason.get(reason, 0) for reason, count in current_by_reason.items()}
    grew = current > previous
    if grew and alerts.enabled:
        alerts.send(
            dead_letter_growth_message(
                asset=DEAD_LETTERS.to_user_string(),
                previous=previous,
                current=current,
                new_by_reason=new_by_reason,
                run_id=context.run.run_id,
                ui_base_url=alerts.ui_base_url,
            )
        )
    return dg.AssetCheckResult(
        passed=not grew,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "dead_letters": dg.MetadataValue.int(current),
            "previous": dg.MetadataValue.int(previous),
            "growth": dg.MetadataValue.int(current - previous),
            "alerted": dg.MetadataValue.bool(grew and alerts.enabled),
        },
    )
