"""`bp-nop sandbox` as a user runs it: prints both base URLs and credentials, serves both APIs
with the default credentials, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from bp_nop_dagster.cli import build_parser


def _start(*extra: str) -> tuple[subprocess.Popen, str]:
    """Start `bp-nop sandbox` and return it with its banner, once it says it is ready. Its output
    is read by a thread into a queue, so a silent or hung process fails after 60 s instead of
    blocking the test in `readline()`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bp_nop_dagster.cli", "sandbox", "--brightpearl-port", "0", "--nopcommerce-port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    banner: list[str] = []

    def read_until_ready() -> None:
        for line in process.stdout:
            lines.put(line)
            if "press Ctrl-C" in line:
                return  # the rest is read by communicate() when the test stops the process
        lines.put("")  # end of output

    threading.Thread(target=read_until_ready, daemon=True).start()
    deadline = time.monotonic() + 60
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if not line:
            break
        banner.append(line)
        if "press Ctrl-C" in line:
            return process, "".join(banner)
    process.kill()
    pytest.fail("sandbox did not report ready within 60 s:\n" + "".join(banner))


def test_sandbox_command_serves_both_apis_and_stops_on_ctrl_c():
    process, banner = _start("--seed", "7")
    try:
        bp_url = re.search(r"Brightpearl simulator\s+(\S+)", banner).group(1)
        nop_url = re.search(r"nopCommerce simulator\s+(\S+)", banner).group(1)
        assert bp_url.endswith("/public-api/sandbox")
        assert nop_url.endswith("/api-backend")
        for credential in ("sandbox_bpnop", "sandbox-token", "admin@sandbox.test", "password sandbox", "seed 7"):
            assert credential in banner

        warehouses = requests.get(
            f"{bp_url}/warehouse-service/warehouse",
            headers={"brightpearl-app-ref": "sandbox_bpnop", "brightpearl-account-token": "sandbox-token"},
            timeout=10,
        )
        assert warehouses.status_code == 200 and warehouses.json()["response"]
        token = requests.post(
            f"{nop_url}/Authenticate/GetToken", json={"email": "admin@sandbox.test", "password": "sandbox"}, timeout=10
        )
        assert token.status_code == 200 and token.json()["token"]
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Sandbox stopped." in out


def test_sandbox_command_overrides_credentials():
    process, banner = _start("--brightpearl-account-code", "acme", "--brightpearl-account-token", "t0ken", "--nopcommerce-password", "pw")
    try:
        bp_url = re.search(r"Brightpearl simulator\s+(\S+)", banner).group(1)
        assert bp_url.endswith("/public-api/acme")
        ok = requests.get(f"{bp_url}/warehouse-service/warehouse",
                          headers={"brightpearl-app-ref": "sandbox_bpnop", "brightpearl-account-token": "t0ken"}, timeout=10)
        refused = requests.get(f"{bp_url}/warehouse-service/warehouse",
                               headers={"brightpearl-app-ref": "sandbox_bpnop", "brightpearl-account-token": "sandbox-token"}, timeout=10)
        assert ok.status_code == 200
        assert refused.status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sandbox", "--scale", "huge"], "invalid choice"),
        (["sandbox", "--brightpearl-port", "70000"], "between 0 and 65535"),
        (["sandbox", "--seed", "x"], "invalid int value"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_port_in_use_is_reported_in_words():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bp_nop_dagster.cli", "sandbox", "--brightpearl-port", str(port), "--nopcommerce-port", "0"],
            capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
