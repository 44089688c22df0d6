"""`bp-nop demo`: the sandbox plus Dagster on a local SQLite instance, for a first look.

- `bp-nop demo` starts the sandbox, materializes every asset once against it on the instance in
  `--dagster-home` (with a ledger of its own, new each time, as the sandbox is), prints a summary (rows per asset, API calls per system, wall time) and exits.
- `bp-nop demo --ui` does the same, then keeps the sandbox and `dagster dev` running for the UI
  at http://127.0.0.1:3000 (`--ui-port` for another port; a port in use stops the demo before it
  starts anything, as the sandbox ports do) until Ctrl-C. `dagster dev` runs in its own process
  group, which is sent SIGTERM and then, after a grace period, SIGKILL: nothing the demo started
  outlives it.

The daily partitions start at the sandbox shop's first order (`BP_NOP_HISTORY_START`, unless set),
and `<dagster-home>/demo.env` holds the variables that point Dagster commands in another terminal
at this demo (the sandbox's documented credentials, the demo ledger), so a report materialized
from the command line reads what the UI reads.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bp_nop_dagster.settings import BP_NOP_HISTORY_START, BP_NOP_LEDGER_URL, DAGSTER_HOME, sandbox_environment

STOP_GRACE_SECONDS = 4.0


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ui", action="store_true", help="after materializing everything, keep the sandbox and `dagster dev` running for the web UI")
    parser.add_argument("--dagster-home", default=".dagster_home", help="local Dagster instance folder (default .dagster_home)")
    parser.add_argument("--ui-port", type=int, default=3000, help="web UI port (default 3000)")


def port_problem(port: int) -> str | None:
    """Why the UI cannot listen on 127.0.0.1:`port`, or None when it can."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            return (f"the UI port {port} is not free ({error.strerror or error}): stop what uses it, or choose another "
                    f"port with --ui-port (make demo UI_PORT=3001)")
    return None


def run_demo(args: argparse.Namespace) -> int:
    from bp_nop_dagster.cli import describe_sandbox, start_sandbox

    if args.ui:
        problem = port_problem(args.ui_port)
        if problem:
            print(f"bp-nop demo: {problem}", file=sys.stderr)
            return 2
    dagster_home = Path(args.dagster_home).resolve()
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(DEMO_INSTANCE_YAML)
    # Every demo starts a new in-memory sandbox whose ids start over, so the ledger that links
    # the shop to Brightpearl starts over with it (run history in the instance is kept).
    ledger = dagster_home / "demo-ledger.sqlite"
    for stale in dagster_home.glob(f"{ledger.name}*"):
        stale.unlink()
    started = time.monotonic()
    try:
        sandbox = start_sandbox(args)
    except (OSError, RuntimeError, ValueError) as error:
        print(f"bp-nop demo: {error}", file=sys.stderr)
        return 2
    print(describe_sandbox(sandbox), flush=True)
    demo_vars = {**sandbox_environment(sandbox), DAGSTER_HOME: str(dagster_home), BP_NOP_LEDGER_URL: f"sqlite:///{ledger}"}
    try:
        demo_vars[BP_NOP_HISTORY_START] = os.environ.get(BP_NOP_HISTORY_START) or history_start_of(sandbox)
        env = {**os.environ, **demo_vars}
        write_demo_env(dagster_home / DEMO_ENV, demo_vars)
        os.environ.update(env)
        from bp_nop_dagster.demo_run import materialize_everything

        code = materialize_everything(sandbox, started)
        if not args.ui or code:
            return code
        return _serve_ui(env, args.ui_port)
    finally:
        sandbox.stop()


DEMO_ENV = "demo.env"


def history_start_of(sandbox) -> str:
    """The sandbox shop's first order day, read as from a real shop (one Order/GetByIds)."""
    from bp_nop_dagster.nopcommerce.client import NopCommerceClient
    from bp_nop_dagster.sync.history import shop_first_order_day

    creds = sandbox.world.credentials
    with NopCommerceClient(sandbox.urls.nopcommerce_base_url, creds.nopcommerce_email, creds.nopcommerce_password) as nop:
        first = shop_first_order_day(nop)
    if first is None:
        raise RuntimeError("the sandbox shop has no orders to start the partitions at")
    return first.isoformat()


def write_demo_env(path: Path, variables: dict[str, str]) -> None:
    """`export NAME=value` lines a shell sources to point Dagster commands at this demo (the
    sandbox's documented credentials only; readable by the owner alone)."""
    lines = ["# Written by `bp-nop demo`: `set -a; . " + str(path) + "; set +a` in another terminal,",
             "# then e.g. `.venv/bin/dagster asset materialize -m bp_nop_dagster.definitions --select reconciliation/order_sync --partition <day>`."]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted(variables.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


def dagster_dev_command(dagster_home: Path, port: int) -> list[str]:
    """`dagster dev` serving the code location under the name production gives it
    (`bp_nop_dagster`, as in pyproject's [tool.dg.project] and workspace.yaml)."""
    workspace = dagster_home / "workspace.yaml"
    workspace.write_text(DEMO_WORKSPACE_YAML)
    return [sys.executable, "-m", "dagster", "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)]


def _serve_ui(env: dict[str, str], port: int) -> int:
    problem = port_problem(port)  # taken while everything was being materialized
    if problem:
        print(f"bp-nop demo: {problem}", file=sys.stderr)
        return 2
    process = subprocess.Popen(dagster_dev_command(Path(env[DAGSTER_HOME]), port), env=env, start_new_session=True)
    print(f"Dagster UI starting at http://127.0.0.1:{port} (Ctrl-C stops everything)", flush=True)
    interrupted = False

    def on_signal(*_: object) -> None:
        nonlocal interrupted
        interrupted = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    while not interrupted and process.poll() is None:
        time.sleep(0.2)
    code = process.poll()
    stop_process_group(process)
    print("Demo stopped.", flush=True)
    return 0 if interrupted else (code or 0)


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the whole group, then SIGKILL what is left after the grace period."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None and not _group_alive(process.pid):
            return
        time.sleep(0.1)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(5)


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies awaiting a reaper do not count)."""
    return bool(live_group_members(pgid))


def live_group_members(pgid: int) -> list[int]:
    """Pids of the group's processes that are not zombies (Linux /proc; elsewhere, a signal probe)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [pgid]
    members = []
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(stat.parent.name))
    return members


DEMO_WORKSPACE_YAML = """\
# Written by `bp-nop demo`: the code location, loaded in-process by `dagster dev`.
load_from:
  - python_module:
      module_name: bp_nop_dagster.definitions
      location_name: bp_nop_dagster
"""

DEMO_INSTANCE_YAML = """\
# Written by `bp-nop demo`: a local instance on SQLite files in this folder. It recovers from a
# crash as production does (dagster.yaml): after a kill -9 and a restart, the sync sensors fail
# the runs whose worker is gone and free their pool slots (the default run launcher has no worker
# health check), and run monitoring times out runs that never start or never end.
telemetry:
  enabled: false
# The daemon looks at the run queue every second, as in production (dagster.yaml; Dagster's
# default is 5 s): a sensor's run waits 0.5 s on average instead of 2.5 s.
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
concurrency:
  pools:
    default_limit: 1
run_monitoring:
  enabled: true
  start_timeout_seconds: 90
  cancel_timeout_seconds: 60
  # The default run launcher cannot resume a run on a new worker.
  max_resume_run_attempts: 0
  max_runtime_seconds: 3600
  poll_interval_seconds: 15
  free_slots_after_run_end_seconds: 15
"""
