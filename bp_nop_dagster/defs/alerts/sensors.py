"""Alert sensors: every failed run of this code location, and every sync asset that falls out of
its freshness window (evaluated by the daemon; see `bp_nop_dagster/freshness.py`)."""

import json
from datetime import UTC, datetime

import dagster as dg

from bp_nop_dagster.alerts import run_failure_message, stale_asset_message
from bp_nop_dagster.defs.alerts.resources import AlertWebhook
from bp_nop_dagster.freshness import FRESHNESS_WINDOWS, describe_window


def _failure_reason(context: dg.RunFailureSensorContext) -> str:
    """Each failed step with the innermost error (the API's words, not Dagster's wrapper)."""
    steps = context.get_step_failure_events()
    if not steps:
        return context.failure_event.message or "the run failed before any step ran"
    reasons = []
    for event in steps:
        error = event.step_failure_data.error
        while error is not None and error.cause is not None:
            error = error.cause
        reasons.append(f"step {event.step_key}: {error.message.strip() if error else event.message}")
    return "; ".join(reasons)


def _assets_not_materialized(context: dg.RunFailureSensorContext) -> list[str]:
    """The assets the run planned but did not materialize."""
    run_id = context.dagster_run.run_id

    def keys(event_type: dg.DagsterEventType) -> set[dg.AssetKey]:
        records = context.instance.get_records_for_run(run_id, of_type=event_type).records
        return {record.event_log_entry.dagster_event.asset_key for record in records}

    missing = keys(dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED) - keys(dg.DagsterEventType.ASSET_MATERIALIZATION)
    return [key.to_user_string() for key in missing]


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts every failed run of this code location (job, assets, reason, link) to the alert webhook.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, alerts: AlertWebhook) -> None:
    run = context.dagster_run
    if not alerts.enabled:
        context.log.info(f"run {run.run_id} failed; no alert webhook configured")
        return
    alerts.send(
        run_failure_message(
            job_name=run.job_name,
            run_id=run.run_id,
            reason=_failure_reason(context),
            assets=_assets_not_materialized(context),
            ui_base_url=alerts.ui_base_url,
        )
    )


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts a sync asset that fails its freshness window (orders 10 min, stock 15 min) to the alert webhook, once per lapse.",
)
def freshness_alerts(context: dg.SensorEvaluationContext, alerts: AlertWebhook) -> dg.SkipReason:
    """The cursor remembers each asset's last freshness state, so a lapse alerts once and a
    recovery re-arms it."""
    previous = json.loads(context.cursor) if context.cursor else {}
    # The freshness states the daemon records: the same ones the UI shows.
    records = context.instance.get_freshness_state_records(list(FRESHNESS_WINDOWS))
    current = {key.to_user_string(): record.freshness_state.value for key, record in records.items()}
    stale = [key for key in records if current[key.to_user_string()] == "FAIL" and previous.get(key.to_user_string()) != "FAIL"]
    for key in stale:
        latest = context.instance.get_latest_materialization_event(key)
        text = stale_asset_message(
            asset=key.to_user_string(),
            window=describe_window(FRESHNESS_WINDOWS[key]),
            last_update=datetime.fromtimestamp(latest.timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC") if latest else None,
            ui_base_url=alerts.ui_base_url,
        )
        if alerts.enabled:
            alerts.send(text)
    context.update_cursor(json.dumps(current, sort_keys=True))
    if not stale:
        return dg.SkipReason("no sync asset newly stale")
    sent = "alerted" if alerts.enabled else "no alert webhook configured"
    return dg.SkipReason(f"newly stale: {', '.join(k.to_user_string() for k in stale)} ({sent})")

