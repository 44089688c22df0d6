"""After kill -9 and a restart, syncing resumes by itself (issue 12, A), through `dagster dev` on
the instance `bp-nop demo` writes (`DEMO_INSTANCE_YAML`), against the sandbox:

1. `dagster dev` starts; the new-order sensor queues the seeded orders of the last 24 h and asks
   for an `order_sync_job` run. The first Brightpearl run's first read of order statuses (every
   flow's mapping check reads them) is held by an injected 120 s latency, so that run is mid-run,
   its step holding the `brightpearl` pool slot (the order sync, or another flow's run that the
   order sync then waits behind).
2. The whole `dagster dev` process group is killed with SIGKILL (the run worker included): the run
   stays STARTED and keeps the slot, as after a power cut.
3. The fault is cleared and `dagster dev` restarted. With no operator action, a new
   `order_sync_job` run must succeed within two minutes of the restart (the issue's bound), and
   the dead run must be FAILURE with its slot freed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest
import requests

from bp_nop_dagster import settings
from bp_nop_dagster.demo import DEMO_INSTANCE_YAML, dagster_dev_command, live_group_members, stop_process_group
from bp_nop_dagster_tests.test_demo import free_port

RECOVERY_BOUND_SECONDS = 120
POOL = "brightpearl"
HOLD_FIRST_RUN = {"method": "GET", "path": "/order-service/order-status*", "latency_ms": 120_000}


def sync_runs(home: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return list(instance.get_runs(dg.RunsFilter(job_name="order_sync_job")))


def all_runs(home: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return list(instance.get_runs())


def slot_holders(home: Path) -> set[str]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return {slot.run_id for slot in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots}


def worker_pid(home: Path, run_id: str) -> int | None:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records:
            metadata = getattr(record.event_log_entry.dagster_event.event_specific_data, "metadata", None) or {}
            if "pid" in metadata:
                return int(metadata["pid"].value)
    return None


def wait_for(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n--- dagster dev log (tail) ---\n{tail}")


def start_dagster(home: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(dagster_dev_command(home, free_port()), env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=home)


def set_faults(sandbox, *rules: dict) -> None:
    response = requests.put(f"{sandbox.urls.brightpearl_root}/__sandbox__/faults", json={"rules": list(rules)}, timeout=10)
    response.raise_for_status()


@pytest.fixture
def sandbox(private_sandbox):
    """This module's own sandbox: the killed run's read stays held for two minutes after the test."""
    return private_sandbox


@pytest.mark.slow
@pytest.mark.timeout(600)  # its own bounds add up to 240 + 30 + 30 + 120 s
def test_after_kill_9_and_a_restart_a_new_sync_run_succeeds_within_two_minutes(sandbox, tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DEMO_INSTANCE_YAML)
    sync_runs(home)  # creates the instance's storage here, before dagster dev and this test race to
    log = tmp_path / "dagster-dev.log"
    env = {**os.environ, **settings.sandbox_environment(sandbox), settings.DAGSTER_HOME: str(home),
           settings.BP_NOP_LEDGER_URL: f"sqlite:///{tmp_path / 'ledger.sqlite'}", settings.BP_NOP_ENV: "local"}
    env.pop(settings.BP_NOP_MAPPING_FILE, None)
    set_faults(sandbox, HOLD_FIRST_RUN)

    first = start_dagster(home, env, log)
    try:
        # The run holding the slot is whichever Brightpearl run reached the held read first: the
        # order sync, or another flow's run (refunds, catalogue, ...) that the order sync then
        # waits behind. Either way the killed run holds the one slot the order sync needs.
        def mid_run():
            started = [r for r in all_runs(home) if r.status == dg.DagsterRunStatus.STARTED]
            return next((r for r in started if r.run_id in slot_holders(home) and worker_pid(home, r.run_id)), None)

        dead = wait_for(mid_run, 240, "a Brightpearl run mid-run, holding the brightpearl slot", log)
        pid = worker_pid(home, dead.run_id)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(30)
        wait_for(lambda: not live_group_members(first.pid), 30, "every dagster dev process to be gone", log)
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    assert {r.run_id: r.status for r in all_runs(home)}[dead.run_id] == dg.DagsterRunStatus.STARTED
    assert slot_holders(home) == {dead.run_id}  # nothing recovers without a restart

    set_faults(sandbox)
    restarted = time.monotonic()
    second = start_dagster(home, env, log)
    try:
        def resumed():
            return next((r for r in sync_runs(home) if r.run_id != dead.run_id and r.status == dg.DagsterRunStatus.SUCCESS), None)

        wait_for(resumed, RECOVERY_BOUND_SECONDS, "a new order_sync_job run to succeed after the restart", log)
        recovery = time.monotonic() - restarted
    finally:
        stop_process_group(second)
    assert {r.run_id: r.status for r in all_runs(home)}[dead.run_id] == dg.DagsterRunStatus.FAILURE
    assert dead.run_id not in slot_holders(home)
    with capsys.disabled():
        print(f"\nkill -9 recovery: a new order_sync_job run succeeded {recovery:.1f} s after the restart")
