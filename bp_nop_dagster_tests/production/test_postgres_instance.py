"""The production instance on a real PostgreSQL server, driven the way the deployment drives it.

One fresh database holds the Dagster instance, built from the project's own `dagster.yaml` (copied
into a temporary DAGSTER_HOME, DAGSTER_PG_* pointing at the database); a second holds the ledger
(BP_NOP_LEDGER_URL). The compose file's `instance-setup` command limits the `brightpearl` pool, the code
location is served by the command docker-compose runs (`dagster code-server start -m
bp_nop_dagster.definitions`) and reached through a workspace file shaped like the project's
`workspace.yaml`; runs are launched by Dagster's queued-run daemon logic
and the real run launcher, against the sandbox. Both databases are dropped afterwards.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import requests
import sqlalchemy as sa
import yaml

# Dagster's own daemon loops and workspace loading, run in the test process (no public API runs
# one iteration of them).
from dagster._core.scheduler.instigation import InstigatorStatus
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster._daemon.freshness import FreshnessDaemon
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon
from dagster._daemon.sensor import execute_sensor_iteration
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from bp_nop_dagster import settings
from bp_nop_dagster.defs.orders.assets import SALES_ORDERS
from bp_nop_dagster.defs.orders.jobs import order_sync_job
from bp_nop_dagster.defs.orders.sensors import new_nopcommerce_orders
from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.sync.reference_check import forget as forget_reference_checks

from bp_nop_dagster_tests.clocks import wait_until
from bp_nop_dagster_tests.postgres import fresh_databases

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LOCATION = "bp_nop_dagster"
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
ADDRESS = {"address1": "1 Mill Road", "city": "Leeds", "zip_postal_code": "LS1 4AB", "country_iso2": "GB"}
log = logging.getLogger(__name__)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Deployment:
    """The instance, the code server, a workspace on it, and the two databases."""

    def __init__(self, home: Path, dagster_db, ledger_db, sandbox, environment: dict[str, str]) -> None:
        self.home = home
        self.environment = environment
        self.dagster_db = dagster_db
        self.ledger_db = ledger_db
        self.sandbox = sandbox
        self.instance = dg.DagsterInstance.from_config(str(home))
        self.workspace: WorkspaceProcessContext | None = None
        self.queue = QueuedRunCoordinatorDaemon(interval_seconds=1)

    # -- Dagster side
    def remote_repository(self):
        [repository] = self.workspace.create_request_context().get_code_location(LOCATION).get_repositories().values()
        return repository

    def only_sensor_running(self, name: str) -> None:
        """Stop every sensor but `name` and start `name` (as in the UI; an earlier test may have
        stopped it), so a sensor iteration evaluates that one."""
        for sensor in self.remote_repository().get_sensors():
            if sensor.name != name:
                self.instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
            elif sensor.get_current_instigator_state(self.instance.get_instigator_state(
                    sensor.get_remote_origin_id(), sensor.selector_id)).status != InstigatorStatus.RUNNING:
                self.instance.start_sensor(sensor)

    def sensor_tick(self) -> None:
        list(execute_sensor_iteration(self.workspace, log, threadpool_executor=None, submit_threadpool_executor=None))

    def launch_queued(self) -> None:
        list(self.queue.run_iteration(self.workspace))

    def wait_until_finished(self, run_ids: list[str], timeout: float = 45) -> None:
        """Iterate the queue daemon until every run has finished."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.launch_queued()
            runs = [self.instance.get_run_by_id(run_id) for run_id in run_ids]
            if all(run.status in FINISHED for run in runs):
                return
            time.sleep(0.5)
        raise AssertionError(f"runs not finished after {timeout}s: {[(r.run_id, r.status) for r in runs]}")

    def step_window(self, run_id: str, step_key: str) -> tuple[float, float]:
        records = self.instance.get_records_for_run(run_id).records
        times = {r.event_log_entry.dagster_event.event_type: r.event_log_entry.timestamp
                 for r in records if r.event_log_entry.is_dagster_event and r.event_log_entry.step_key == step_key}
        return times[dg.DagsterEventType.STEP_START], times[dg.DagsterEventType.STEP_SUCCESS]

    def engine_messages(self, run_id: str) -> list[str]:
        return [r.event_log_entry.message for r in self.instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records]

    # -- straight from PostgreSQL, to prove where things are kept
    def sql(self, query: str, **params):
        engine = self.dagster_db.engine()
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(query), params).all()
        finally:
            engine.dispose()

    # -- shop side
    def place_orders(self, n: int) -> list[int]:
        ids = []
        for i in range(n):
            body = {"email": f"pg{i}@prod.test", "first_name": "Ada", "last_name": f"Prod {i}", "address": ADDRESS,
                    "items": [{"sku": "BPN-00001", "quantity": 1}], "payment_method_system_name": "Payments.Manual", "paid": True}
            response = requests.post(f"{self.sandbox.urls.nopcommerce_root}/__sandbox__/orders", json=body, timeout=10)
            response.raise_for_status()
            ids.append(response.json()["id"])
        return ids

    def hold_first_brightpearl_read(self, seconds: float) -> None:
        """Hold the next order-status read (the first Brightpearl read of an order sync step: its
        mapping check) for `seconds` before answering; later reads are not held. A check an earlier
        test's run kept in the ledger (sync/reference_check.py) is forgotten first, so the step
        makes that read whichever tests ran before."""
        with Ledger(self.ledger_db.url) as ledger:
            forget_reference_checks(ledger)
        rule = {"method": "GET", "path": "/order-service/order-status*", "latency_ms": int(seconds * 1000), "max_hits": 1}
        requests.put(f"{self.sandbox.urls.brightpearl_root}/__sandbox__/faults", json={"rules": [rule]}, timeout=10).raise_for_status()

    def step_started(self, run_id: str, step_key: str) -> bool:
        records = self.instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records
        return any(r.event_log_entry.step_key == step_key for r in records)


def _wait_for_port(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"code server exited with {server.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"code server not listening on {port} after {timeout}s")


def _wait_for_code_location(workspace: WorkspaceProcessContext, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"code server exited with {server.returncode}")
        if not workspace.create_request_context().has_code_location_error(LOCATION):
            return
        time.sleep(0.5)
        workspace.reload_code_location(LOCATION)
    raise AssertionError(f"code location did not load: {workspace.create_request_context().get_code_location_error(LOCATION)}")


@pytest.fixture(scope="module")
def deployment(private_sandbox, tmp_path_factory) -> Iterator[Deployment]:
    """The production deployment, on the module's own sandbox (a test holds a read past its end)."""
    requests.post(f"{private_sandbox.urls.brightpearl_root}/__sandbox__/reset", json={"seed": 42, "scale": "small"}, timeout=30).raise_for_status()
    with fresh_databases("dagster", "ledger") as (dagster_db, ledger_db), pytest.MonkeyPatch.context() as env:
        home = tmp_path_factory.mktemp("dagster_home")
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        port = _free_port()
        workspace_file = home / "workspace.yaml"
        workspace_config = yaml.safe_load((ROOT / "workspace.yaml").read_text())
        workspace_config["load_from"][0]["grpc_server"].update(host="127.0.0.1", port=port)
        workspace_file.write_text(yaml.safe_dump(workspace_config))
        environment = {
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USERNAME": dagster_db.user,
            "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_DB": dagster_db.name,
            settings.BP_NOP_LEDGER_URL: ledger_db.url,
            settings.BP_NOP_ENV: "local",
            "BP_NOP_REPORTS_DIR": str(home / "reports"),
            **settings.sandbox_environment(private_sandbox),
        }
        for name, value in environment.items():
            env.setenv(name, value)
        env.delenv(settings.BP_NOP_ALERT_WEBHOOK_URL, raising=False)

        deployment = Deployment(home, dagster_db, ledger_db, private_sandbox, environment)
        compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
        setup_command = compose["instance-setup"]["command"]
        setup = subprocess.Popen([str(BIN / setup_command[0]), *setup_command[1:]], cwd=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        server = subprocess.Popen(
            [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(port), "-m", "bp_nop_dagster.definitions",
             "--location-name", "bp_nop_dagster"],
            cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            setup_output, _ = setup.communicate(timeout=60)
            assert setup.returncode == 0, f"instance-setup ({' '.join(setup_command)}) failed: {setup_output}"
            _wait_for_port(port, server)
            with WorkspaceProcessContext(deployment.instance, WorkspaceFileTarget(paths=[str(workspace_file)])) as workspace:
                deployment.workspace = workspace
                _wait_for_code_location(workspace, server)
                yield deployment
        finally:
            setup.kill()
            server.terminate()
            server.wait(timeout=20)
            deployment.instance.dispose()
            requests.delete(f"{private_sandbox.urls.brightpearl_root}/__sandbox__/faults", timeout=10)


@pytest.fixture(autouse=True)
def each_test_on_the_deployment(deployment, own_dagster_home, monkeypatch) -> Iterator[None]:
    """Each test, in any order: the deployment's environment (over the per-test DAGSTER_HOME of
    conftest: the CLI a test starts must find this instance), and no sandbox fault left behind."""
    for name, value in deployment.environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(settings.BP_NOP_ALERT_WEBHOOK_URL, raising=False)
    yield
    requests.delete(f"{deployment.sandbox.urls.brightpearl_root}/__sandbox__/faults", timeout=10).raise_for_status()


def new_runs(deployment: Deployment, before: set[str], **filters) -> list[dg.DagsterRun]:
    """The order-sync runs created since `before` (run ids), oldest first: what this test made."""
    runs = deployment.instance.get_runs(dg.RunsFilter(job_name=order_sync_job.name, **filters))
    return [run for run in reversed(runs) if run.run_id not in before]


def run_ids(deployment: Deployment) -> set[str]:
    return {run.run_id for run in deployment.instance.get_runs(dg.RunsFilter(job_name=order_sync_job.name))}


def test_the_instance_from_dagster_yaml_keeps_everything_in_postgres(deployment):
    instance = deployment.instance
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert instance.global_op_concurrency_default_limit == 1
    assert instance.event_log_storage.get_concurrency_info("brightpearl").slot_count == 1, "set by compose's instance-setup"
    tables = {row[0] for row in deployment.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"runs", "event_logs", "instigators", "job_ticks", "concurrency_limits"} <= tables


def test_the_sensor_queues_a_sync_whose_run_events_and_freshness_land_in_postgres(deployment):
    before = run_ids(deployment)
    placed = deployment.place_orders(3)
    deployment.only_sensor_running(new_nopcommerce_orders.name)
    deployment.sensor_tick()

    [queued] = new_runs(deployment, before)
    assert queued.status == dg.DagsterRunStatus.QUEUED
    sensor = deployment.remote_repository().get_sensor(new_nopcommerce_orders.name)
    state = deployment.instance.get_instigator_state(sensor.get_remote_origin_id(), sensor.selector_id)
    cursor = state.instigator_data.cursor
    assert cursor and '"watermark"' in cursor
    assert deployment.sql("SELECT count(*) FROM instigators WHERE selector_id = :s", s=sensor.selector_id) == [(1,)]

    deployment.wait_until_finished([queued.run_id])
    assert deployment.instance.get_run_by_id(queued.run_id).status == dg.DagsterRunStatus.SUCCESS
    [(status,)] = deployment.sql("SELECT status FROM runs WHERE run_id = :r", r=queued.run_id)
    assert status == "SUCCESS"
    materialized = deployment.sql(
        "SELECT asset_key FROM event_logs WHERE run_id = :r AND dagster_event_type = 'ASSET_MATERIALIZATION'", r=queued.run_id
    )
    assert (SALES_ORDERS.to_string(),) in materialized
    ledger = Ledger(deployment.ledger_db.url)
    try:
        assert {str(i) for i in placed} <= {link.nop_key for link in ledger.links("order")}
    finally:
        ledger.close()

    list(FreshnessDaemon().run_iteration(deployment.workspace))
    fresh = deployment.instance.get_freshness_state_records([SALES_ORDERS])[SALES_ORDERS]
    assert fresh.freshness_state.value == "PASS", "the daemon evaluates the 10-minute window on the fresh sync"

    [tick] = deployment.instance.get_ticks(sensor.get_remote_origin_id(), sensor.selector_id)
    assert tick.status.value == "SUCCESS" and tick.run_ids == [queued.run_id]
    with dg.DagsterInstance.from_config(str(deployment.home)) as restarted:
        kept = restarted.get_instigator_state(sensor.get_remote_origin_id(), sensor.selector_id)
        assert kept.instigator_data.cursor == cursor, "a restarted daemon resumes from the stored cursor"


def _launch_from_cli(deployment: Deployment) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "dagster"), "job", "launch", "-j", order_sync_job.name, "-w", str(deployment.home / "workspace.yaml"), "-l", LOCATION],
        cwd=deployment.home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_two_runs_launched_at_once_never_call_brightpearl_at_the_same_time(deployment):
    """Two runs submitted together: the queue launches one and holds the other, since the
    `brightpearl` pool (limit 1, dagster.yaml) has no free slot. Once the first run's sync step
    has started (so it holds the slot), the held run is launched past the queue: its sync step
    must wait for the slot (Dagster's step-level claim). The first step's first Brightpearl read is
    held 20 s, far longer than a run worker takes to start, so the second step asks for the slot
    while the first still holds it, on a slow machine too; without the pool the two steps would
    overlap."""
    before = run_ids(deployment)
    deployment.hold_first_brightpearl_read(seconds=20)
    launches = [_launch_from_cli(deployment), _launch_from_cli(deployment)]
    for launch in launches:
        output, _ = launch.communicate(timeout=60)
        assert launch.returncode == 0, output
    runs = new_runs(deployment, before)
    assert [run.status for run in runs] == [dg.DagsterRunStatus.QUEUED] * 2, "both runs go through the queue"

    deployment.launch_queued()
    held = [run for run in runs if deployment.instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.QUEUED]
    assert len(held) == 1, "the queue holds the second run back while the pool's slot is taken"
    [launched] = [run for run in runs if run.run_id != held[0].run_id]
    wait_until(lambda: deployment.step_started(launched.run_id, "order_sync"), 60, "the first run's sync step to start")
    deployment.instance.launch_run(held[0].run_id, deployment.workspace.create_request_context())
    deployment.wait_until_finished([run.run_id for run in runs], timeout=60)

    assert [deployment.instance.get_run_by_id(run.run_id).status for run in runs] == [dg.DagsterRunStatus.SUCCESS] * 2
    waited = [run.run_id for run in runs if any("blocked by limit for pool brightpearl" in m for m in deployment.engine_messages(run.run_id))]
    assert waited == [held[0].run_id], "the held run's step waited for the brightpearl slot"
    first, second = sorted(deployment.step_window(run.run_id, "order_sync") for run in runs)
    assert second[0] >= first[1], f"order_sync steps overlapped: {first} and {second}"
    info = deployment.instance.event_log_storage.get_concurrency_info("brightpearl")
    assert info.slot_count == 1 and not info.claimed_slots


def test_a_brightpearl_webhook_becomes_a_stock_run_through_the_daemons(deployment):
    """Issue 17, end to end as deployed: `bp-nop webhooks sync` subscribes, the sandbox calls the
    receiver, the daemon's sensor iteration evaluates `brightpearl_webhooks` in the code server,
    the queue daemon launches the run with the real run launcher, and the run pushes exactly the
    product Brightpearl announced."""
    import argparse
    import io

    from bp_nop_dagster.defs.stock.jobs import stock_sync_job
    from bp_nop_dagster.defs.webhooks.sensors import STOCK_OP, brightpearl_webhooks
    from bp_nop_dagster.webhooks.command import run_webhooks_command
    from bp_nop_dagster.webhooks.receiver import RunningReceiver
    from bp_nop_dagster.webhooks.subscriptions import ON_HAND_MODIFIED

    secret = "prod-webhook-" + "w" * 32
    ledger = Ledger(deployment.ledger_db.url)
    stock_runs = lambda: deployment.instance.get_runs(dg.RunsFilter(job_name=stock_sync_job.name))  # noqa: E731
    with RunningReceiver(ledger, secret) as receiver:
        environ = {**deployment.environment, settings.BP_NOP_WEBHOOK_SECRET: secret,
                   settings.BP_NOP_WEBHOOK_PUBLIC_URL: receiver.public_url}
        assert run_webhooks_command(argparse.Namespace(action="sync"), io.StringIO(), environ) == 0
        try:
            reply = requests.post(f"{deployment.sandbox.urls.brightpearl_root}/__sandbox__/stock",
                                  json={"sku": "BPN-00004", "warehouse_id": 1, "quantity": 3}, timeout=10)
            product_id = reply.json()["product_id"]
            wait_until(lambda: ledger.webhook_received(ON_HAND_MODIFIED, [product_id]), 15, "the webhook in the ledger")
            before = {run.run_id for run in stock_runs()}
            deployment.only_sensor_running(brightpearl_webhooks.name)
            deployment.sensor_tick()
            [run] = [run for run in stock_runs() if run.run_id not in before]
            assert run.tags["bp_nop/trigger"] == "webhook"
            assert run.run_config["ops"][STOCK_OP]["config"]["product_ids"] == [product_id]
            deployment.wait_until_finished([run.run_id], timeout=120)
            assert deployment.instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.SUCCESS
            [materialization] = deployment.instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
            assert materialization.event_log_entry.asset_materialization.metadata["checked"].value == 1
        finally:
            run_webhooks_command(argparse.Namespace(action="remove"), io.StringIO(), environ)
            for sensor in deployment.remote_repository().get_sensors():  # as the other tests expect them
                deployment.instance.start_sensor(sensor)
            ledger.close()
