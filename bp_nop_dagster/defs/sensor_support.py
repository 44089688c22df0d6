"""What the sync sensors share: one run at a time per flow, dead runs failed so they never block
a flow, and an "in step" materialization when a flow has nothing to do, so an asset's freshness
says whether its sync is alive (the sensor ticks and finds the source and the ledger in step),
not whether the shop is busy.

Dead runs. A run whose worker was killed (kill -9, OOM, a host or container restart) stays
STARTED (or STARTING, when the kill came before the worker marked it started) for ever: Dagster's run monitoring cannot see it, because the default run launcher (used
by `dagster dev` and by the compose deployment, where runs execute in the code server's
container) has no worker health check, and its step keeps the `brightpearl` pool slot. So before
deciding, the sync sensors (evaluated in the code server, on the same machine as its runs) fail
every STARTING or STARTED run that is dead through the instance API and free its pool slots; the daemon's
run monitoring (`dagster.yaml`, `run_monitoring`) covers the rest (start and cancel timeouts,
the runtime limit, slots of runs that ended). A run is dead when the process that reported it
started (its engine event's pid) no longer runs here, or, when that cannot be checked (another
run launcher, no pid recorded), when it has logged nothing for SILENT_RUN_LIMIT (a healthy run
logs at least every 5 minutes, even while it waits for a pool slot). Every sync sensor calls
`fail_dead_runs` first, so a dead run of any job stops holding the pool within one tick.
"""

import os
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import dagster as dg

from bp_nop_dagster.defs.pairing import RUN_TAGS

IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
IN_STEP_EVERY = timedelta(minutes=5)
SILENT_RUN_LIMIT = timedelta(minutes=15)
# /proc start times are in clock ticks and whole boot seconds: allow that much rounding.
START_TIME_SLACK_SECONDS = 2.0


def run_in_flight(context: dg.SensorEvaluationContext, job_name: str) -> bool:
    """Whether a run of `job_name` is queued or running (that run, or the next tick, does the
    work). The sensors fail dead runs first (`fail_dead_runs`), so a dead run is not in flight.
    With many pairs, only this pair's runs count (every pair has an `order_sync_job`)."""
    return bool(context.instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=IN_FLIGHT, tags=RUN_TAGS), limit=1))


def fail_dead_runs(context: dg.SensorEvaluationContext) -> list[str]:
    """Fail every STARTING or STARTED run whose worker is dead and free the pool slots it holds;
    the ids. A STARTING run counts too: a worker killed after it reported its pid but before the
    run was STARTED leaves it STARTING, and the run queue holds back every run that needs a pool
    such a run plans to use (the order sync stayed queued behind a dead refunds run until run
    monitoring's start timeout). With many pairs, only this pair's runs: another pair's worker
    runs in another code server's container, where this one cannot see its process."""
    instance = context.instance
    failed = []
    statuses = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
    for record in instance.get_run_records(dg.RunsFilter(statuses=statuses, tags=RUN_TAGS)):
        run = record.dagster_run
        reason = dead_run_reason(instance, run.run_id)
        if reason is None:
            continue
        context.log.warning(f"run {run.run_id} of {run.job_name} is dead ({reason}): marking it failed and freeing its pool slots")
        instance.report_run_failed(run, f"Marked failed by the sync sensors: {reason}. Its pool slots were freed.")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        failed.append(run.run_id)
    return failed


def dead_run_reason(instance: dg.DagsterInstance, run_id: str, now: float | None = None) -> str | None:
    """Why a STARTING or STARTED run is dead, or None while it may be alive (see the module docstring)."""
    now = time.time() if now is None else now
    worker = _worker(instance, run_id)
    if worker is not None and isinstance(instance.run_launcher, dg.DefaultRunLauncher):
        pid, reported_at = worker
        alive = process_running_since(pid, reported_at)
        if alive is not None:
            return None if alive else f"its run worker (pid {pid}) is no longer running"
    latest = instance.get_records_for_run(run_id, limit=1, ascending=False).records
    record = instance.get_run_record_by_id(run_id)
    last_sign = max([r.timestamp for r in latest] + ([record.update_timestamp.timestamp()] if record else []), default=now)
    if now - last_sign > SILENT_RUN_LIMIT.total_seconds():
        return f"it has logged nothing for {int((now - last_sign) // 60)} minutes"
    return None


def _worker(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The pid the run's worker reported (its latest engine event with a pid) and when."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, ascending=False).records
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        metadata = getattr(event.event_specific_data, "metadata", None) or {}
        pid = metadata.get("pid")
        if pid is not None and str(pid.value).isdigit():
            return int(pid.value), record.timestamp
    return None


def process_running_since(pid: int, reported_at: float) -> bool | None:
    """Whether process `pid` runs on this machine and already ran at `reported_at` (so a pid
    reused by a later process does not count); None when this machine cannot tell."""
    try:
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
    except (OSError, StopIteration, ValueError, IndexError):
        try:  # no Linux /proc: whether the pid exists at all is all this machine can say
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return None
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False  # no such process
    state, start_ticks = fields[0], int(fields[19])
    started = boot + start_ticks / os.sysconf("SC_CLK_TCK")
    return state not in ("Z", "X") and started <= reported_at + START_TIME_SLACK_SECONDS


def sync_run_request(context, job_name: str, pending: int, reason: str) -> dg.RunRequest | dg.SkipReason:
    """One run of `job_name` for `pending` ledger records, unless one is already queued or running
    (that run, or the next tick, drains them)."""
    if pending == 0:
        return dg.SkipReason(f"{reason}; nothing pending")
    if run_in_flight(context, job_name):
        return dg.SkipReason(f"{reason}; {pending} pending, a {job_name} run is already in flight")
    return dg.RunRequest(job_name=job_name, tags={"bp_nop/pending": str(pending), "bp_nop/trigger": reason})


def last_run_failed(context: dg.SensorEvaluationContext, key: dg.AssetKey) -> bool:
    """Whether the newest run planned to materialize `key` failed (its work is not done, so no
    "in step" claim until a run succeeds)."""
    planned = context.instance.get_latest_planned_materialization_info(key)
    run = context.instance.get_run_by_id(planned.run_id) if planned is not None else None
    return run is not None and run.status == dg.DagsterRunStatus.FAILURE


# Tags of a materialization that say which data it holds (data version and its provenance).
_VERSION_TAG_PREFIXES = ("dagster/data_version", "dagster/code_version", "dagster/input_data_version/",
                         "dagster/input_event_pointer/")


def in_step_events(
    context: dg.SensorEvaluationContext, keys: Iterable[dg.AssetKey], note: str
) -> list[dg.AssetMaterialization | dg.AssetCheckEvaluation]:
    """A materialization per asset saying it is in step with its source as of this tick, for
    those not materialized within `IN_STEP_EVERY` (so idle periods add one event per 5 minutes).

    Nothing changed, so each keeps the data version of the asset's last materialization (its
    downstream assets, e.g. the dead-letter table and the drift report, stay in sync instead of
    turning "unsynced"), and the asset's checks restate their last result for it (a check of
    data that did not change still holds; without this the checks would show no result for
    the newest materialization)."""
    now = time.time()
    events: list[dg.AssetMaterialization | dg.AssetCheckEvaluation] = []
    for key in keys:
        latest = context.instance.get_latest_materialization_event(key)
        if latest is None or now - latest.timestamp >= IN_STEP_EVERY.total_seconds():
            tags = {k: v for k, v in ((latest.tags or {}) if latest is not None else {}).items() if k.startswith(_VERSION_TAG_PREFIXES)}
            events.append(dg.AssetMaterialization(
                asset_key=key, description=note, metadata={"in_step": dg.MetadataValue.text(note)}, tags=tags or None))
            events.extend(_restated_checks(context, key, note))
    return events


def _restated_checks(context: dg.SensorEvaluationContext, key: dg.AssetKey, note: str) -> list[dg.AssetCheckEvaluation]:
    """The last completed result of each check of `key`, restated for its in-step materialization."""
    repository = context.repository_def
    if repository is None:
        return []
    check_keys = sorted(repository.asset_graph.get_check_keys_for_assets({key}), key=lambda k: k.name)
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys) if check_keys else {}
    restated = []
    for check_key in check_keys:
        record = latest.get(check_key)
        event = record.event.dagster_event if record is not None and record.event is not None else None
        evaluation = event.event_specific_data if event is not None else None
        if not isinstance(evaluation, dg.AssetCheckEvaluation):
            continue  # never completed: nothing to restate
        restated.append(dg.AssetCheckEvaluation(
            asset_key=key, check_name=check_key.name, passed=evaluation.passed, severity=evaluation.severity,
            metadata={**evaluation.metadata, "in_step": dg.MetadataValue.text(f"{note}; restated from the last evaluation")},
            description=evaluation.description,
        ))
    return restated
