"""A run whose worker died never blocks a flow (issue 12, A), checked here on an instance with
runs in the state a kill -9 leaves them: STARTED, a pid in the worker's "Started process" engine
event, a `brightpearl` pool slot held. The end-to-end proof through `dagster dev` is
`bp_nop_dagster_tests/test_crash_recovery.py`.

Rules (from the issue): a STARTED run whose process is gone is not in flight, is failed through
the instance API and has its slots freed; a live one is left alone; a pid reused by a process
that started after the run reported it is not that run's worker; without a checkable pid, a run
that has logged nothing for SILENT_RUN_LIMIT is dead."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import dagster as dg
import pytest
from dagster._core.events import EngineEventData  # how Dagster's run worker records its pid

from bp_nop_dagster.defs.orders.sensors import new_nopcommerce_orders
from bp_nop_dagster.defs.sensor_support import SILENT_RUN_LIMIT, dead_run_reason, process_running_since
from bp_nop_dagster_tests.defs.test_order_flow import Flow

POOL = "brightpearl"


@dg.op(pool=POOL)
def sync_step() -> None:
    """Stands in for a sync step holding the pool."""


@dg.job(name="order_sync_job")
def order_sync_job() -> None:
    sync_step()


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def started_run(instance: dg.DagsterInstance, pid: int | None) -> dg.DagsterRun:
    """A run as a killed worker leaves it: STARTED, its pid reported, its step holding the slot."""
    run = instance.create_run_for_job(job_def=order_sync_job, status=dg.DagsterRunStatus.STARTED)
    if pid is not None:
        instance.report_engine_event(f"Started process for run (pid: {pid}).", run, EngineEventData.in_process(pid))
    claim = instance.event_log_storage.claim_concurrency_slot(POOL, run.run_id, "sync_step")
    assert claim.is_claimed
    return run


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        instance.event_log_storage.set_concurrency_slots(POOL, 1)
        yield instance


def slot_holders(instance) -> set[str]:
    return {slot.run_id for slot in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots}


def test_a_run_whose_worker_is_gone_is_failed_and_frees_its_slot_so_the_sensor_starts_a_new_run(sandbox, tmp_path, instance):
    flow = Flow(sandbox, tmp_path)
    flow.place(2)
    dead = started_run(instance, dead_pid())
    assert slot_holders(instance) == {dead.run_id}
    request = flow.tick(instance)
    assert isinstance(request, dg.RunRequest), request  # not "a order_sync_job run is already in flight"
    after = instance.get_run_by_id(dead.run_id)
    assert after.status == dg.DagsterRunStatus.FAILURE
    assert slot_holders(instance) == set()
    failure = instance.get_records_for_run(dead.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    assert "is no longer running" in failure[0].event_log_entry.dagster_event.message


def test_a_run_left_starting_by_a_killed_worker_is_failed_too(sandbox, tmp_path, instance):
    """A worker killed after it reported its pid but before its run was STARTED leaves the run
    STARTING; the run queue then holds back every run needing the pool it plans to use, so it
    must be failed as a STARTED one is (seen in test_crash_recovery: the order sync queued behind
    a dead refunds run until run monitoring's start timeout)."""
    flow = Flow(sandbox, tmp_path)
    flow.place(1)
    run = instance.create_run_for_job(job_def=order_sync_job, status=dg.DagsterRunStatus.STARTING)
    pid = dead_pid()
    instance.report_engine_event(f"Started process for run (pid: {pid}).", run, EngineEventData.in_process(pid))
    assert isinstance(flow.tick(instance), dg.RunRequest)
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE


def test_a_live_run_stays_in_flight(sandbox, tmp_path, instance):
    flow = Flow(sandbox, tmp_path)
    flow.place(1)
    live = started_run(instance, os.getpid())  # this process: alive, started before the report
    result = flow.tick(instance)
    assert isinstance(result, dg.SkipReason) and "already in flight" in result.skip_message
    assert instance.get_run_by_id(live.run_id).status == dg.DagsterRunStatus.STARTED
    assert slot_holders(instance) == {live.run_id}


def test_a_reused_pid_is_not_the_runs_worker(instance):
    """The pid now belongs to a process that started after the run reported it (here: this test
    process, started before `now`, against a report dated an hour before it started)."""
    assert process_running_since(os.getpid(), time.time()) is True
    assert process_running_since(os.getpid(), time.time() - 3600 - time.monotonic()) is False
    assert process_running_since(dead_pid(), time.time()) is False


def test_without_a_pid_only_a_long_silence_makes_a_run_dead(instance):
    run = started_run(instance, None)
    instance.report_engine_event("step still working", run)
    last = instance.get_records_for_run(run.run_id, limit=1, ascending=False).records[0].timestamp
    assert dead_run_reason(instance, run.run_id, now=last + 60) is None
    assert "has logged nothing for" in dead_run_reason(instance, run.run_id, now=last + SILENT_RUN_LIMIT.total_seconds() + 60)
