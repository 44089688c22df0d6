"""`bp-nop webhooks serve` as the `webhooks` service runs it: its own process, the ledger from
BP_NOP_LEDGER_URL, the secret from BP_NOP_WEBHOOK_SECRET, which its output never shows."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import requests

from bp_nop_dagster import settings
from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster_tests.clocks import wait_until

SECRET = "cmd-secret-" + "z" * 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_serve_stores_events_and_never_prints_the_secret(tmp_path):
    port, db = free_port(), f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    env = {**os.environ, settings.BP_NOP_WEBHOOK_SECRET: SECRET, settings.BP_NOP_LEDGER_URL: db}
    process = subprocess.Popen([sys.executable, "-m", "bp_nop_dagster.cli", "webhooks", "serve", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: healthy(url) or process.poll() is not None, 60, "the receiver to listen")
        body = {"fullEvent": "goods-out-note.modified.shipped", "id": "900001,900003", "raisedOn": "2026-12-01T10:00:00.000Z"}
        assert requests.post(f"{url}/brightpearl/{SECRET}", json=body, timeout=10).status_code == 200
        assert requests.post(f"{url}/brightpearl/wrong-{SECRET}", json=body, timeout=10).status_code == 404
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert [r.resource_id for r in Ledger(db).webhook_events(["goods-out-note.modified.shipped"])] == [900001, 900003]
    assert "goods-out-note.modified.shipped: 2 ids, 2 new" in output
    assert SECRET not in output


def test_serve_refuses_a_missing_or_placeholder_secret(tmp_path):
    for secret in ("", "short", "change-me-long-random-webhook-secret"):
        env = {**os.environ, settings.BP_NOP_WEBHOOK_SECRET: secret}
        result = subprocess.run([sys.executable, "-m", "bp_nop_dagster.cli", "webhooks", "serve", "--port", "0"],
                                env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "BP_NOP_WEBHOOK_SECRET" in result.stderr
