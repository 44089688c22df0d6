"""`bp-nop demo` as a new user runs it: headless, it materializes every source asset and prints a
summary; with `--ui`, Ctrl-C stops everything it started within 10 s."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from bp_nop_dagster.definitions import defs
from bp_nop_dagster.demo import live_group_members
from bp_nop_dagster_tests.clocks import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_command(tmp_path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "bp_nop_dagster.cli", "demo", "--dagster-home", str(tmp_path / "home"),
            "--brightpearl-port", "0", "--nopcommerce-port", "0", *extra]


def ui_answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.mark.slow
@pytest.mark.timeout(660)  # two demo runs, each bounded at 300 s below
def test_headless_demo_materializes_every_asset_prints_a_summary_and_runs_again_in_the_same_home(tmp_path):
    result = subprocess.run(demo_command(tmp_path), capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    every_asset = len(defs().resolve_asset_graph().materializable_asset_keys)
    assert f"assets materialized: {every_asset}" in out
    assert re.search(r"\d+ nopCommerce orders of [\d-]+ queued for the order flow", out)
    assert re.search(r"API calls: Brightpearl \d+ \(throttled 0\), nopCommerce \d+", out)
    assert re.search(r"wall time: [\d.]+ s", out)
    assert re.search(r"nopcommerce/orders\s+\d+", out) and re.search(r"brightpearl/stock\s+\d+", out)
    assert (tmp_path / "home" / "dagster.yaml").exists()
    assert " - DEBUG - " not in out
    # the partitions start at the shop's first order (the generator's history: 35 days up to today's midnight UTC)
    exported = dict(re.findall(r"^export (\w+)=(.*)$", (tmp_path / "home" / "demo.env").read_text(), re.M))
    first = datetime.fromisoformat(exported["BP_NOP_HISTORY_START"]).date()
    assert timedelta(days=34) <= datetime.now(UTC).date() - first <= timedelta(days=36)
    day = re.search(r"nopCommerce orders of ([\d-]+) queued", out).group(1)
    assert (tmp_path / "home" / "reports" / f"order_sync_{day}.csv").exists()
    assert "PreviewWarning" not in out + result.stderr
    again = subprocess.run(demo_command(tmp_path), capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]  # a new sandbox, a new ledger
    assert f"assets materialized: {every_asset}" in again.stdout
    for run in (out + result.stderr, again.stdout + again.stderr):  # each demo's new Brightpearl gets every queued order
        queued, created = map(int, re.search(r"order_sync - (\d+) orders: (\d+) created", run).groups())
        assert created == queued > 0


@pytest.mark.slow
def test_demo_ui_serves_every_asset_materialized_and_ctrl_c_stops_everything_within_10_seconds(tmp_path):
    port = free_port()
    process = subprocess.Popen(demo_command(tmp_path, "--ui", "--ui-port", str(port)), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, cwd=tmp_path, start_new_session=True)
    try:
        wait_until(lambda: ui_answers(port), 120, "the Dagster UI to come up", poll=1)
        query = "{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { timestamp } } }"
        nodes = requests.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=30).json()["data"]["assetNodes"]
        assert len(nodes) == len(defs().resolve_asset_graph().materializable_asset_keys)
        assert [n["assetKey"]["path"] for n in nodes if not n["assetMaterializations"]] == []  # the graph opens materialized
        children = subprocess.run(["pgrep", "-f", f"dagster dev .* -p {port}"], capture_output=True, text=True).stdout.split()
        assert children, "dagster dev is not running"
        dagster_group = os.getpgid(int(children[0]))
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        # Every process of dagster dev's group gone within the same 10 s (polled, not a fixed pause).
        wait_until(lambda: live_group_members(dagster_group) == [], max(0.0, started + 10 - time.monotonic()),
                   "the processes of dagster dev to end after the demo")
        assert "Demo stopped." in process.stdout.read()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_a_busy_ui_port_stops_the_demo_at_once_with_a_clear_message(tmp_path):
    """As the sandbox ports do: nothing is started, the message names the port and how to choose another."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(demo_command(tmp_path, "--ui", "--ui-port", str(port)), capture_output=True, text=True,
                                timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert f"the UI port {port} is not free" in result.stderr and "--ui-port" in result.stderr
    assert time.monotonic() - started < 30 and not (tmp_path / "home").exists()
