"""What the sync sensors share: one run at a time per flow, and an "in step" materialization
when a flow has nothing to do, so an asset's freshness says whether its sync is alive (the
sensor ticks and finds the source and the ledger in step), not whether the shop is busy."""

import time
from collections.abc import Iterable
from datetime import timedelta

import dagster as dg

IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
IN_STEP_EVERY = timedelta(minutes=5)


def run_in_flight(context: dg.SensorEvaluationContext, job_name: str) -> bool:
    """Whether a run of `job_name` is queued or running (that run, or the next tick, does the work)."""
    return bool(context.instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=IN_FLIGHT), limit=1))


def sync_run_request(context, job_name: str, pending: int, reason: str) -> dg.RunRequest | dg.SkipReason:
    """One run of `job_name` for `pending` ledger records, unless one is already queued or running
    (that run, or the next tick, drains them)."""
    if pending == 0:
        return dg.SkipReason(f"{reason}; nothing pending")
    if run_in_flight(context, job_name):
        return dg.SkipReason(f"{reason}; {pending} pending, a {job_name} run is already in flight")
    return dg.RunRequest(tags={"bp_nop/pending": str(pending), "bp_nop/trigger": reason})


def last_run_failed(context: dg.SensorEvaluationContext, key: dg.AssetKey) -> bool:
    """Whether the newest run planned to materialize `key` failed (its work is not done, so no
    "in step" claim until a run succeeds)."""
    planned = context.instance.get_latest_planned_materialization_info(key)
    run = context.instance.get_run_by_id(planned.run_id) if planned is not None else None
    return run is not None and run.status == dg.DagsterRunStatus.FAILURE


def in_step_events(context: dg.SensorEvaluationContext, keys: Iterable[dg.AssetKey], note: str) -> list[dg.AssetMaterialization]:
    """A materialization per asset saying it is in step with its source as of this tick, for
    those not materialized within `IN_STEP_EVERY` (so idle periods add one event per 5 minutes)."""
    now = time.time()
    events = []
    for key in keys:
        latest = context.instance.get_latest_materialization_event(key)
        if latest is None or now - latest.timestamp >= IN_STEP_EVERY.total_seconds():
            events.append(dg.AssetMaterialization(asset_key=key, description=note, metadata={"in_step": dg.MetadataValue.text(note)}))
    return events
