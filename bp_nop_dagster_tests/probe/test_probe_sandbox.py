"""`bp-nop probe` against the sandbox: the faithful profile conforms except the known findings,
and the drifted profile (`sandbox/profiles.py`) shows each old wrong guess as `differs`.

The expectations come from the contracts (vendored recordings, api-docs.brightpearl.com pages in
`contracts/brightpearl/documented.json`, the plugin contract), never from the simulator: a row
that differs here is either a simulator that is wrong (listed below, with the branch fixing it)
or a probe that is wrong.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from bp_nop_dagster.cli import build_parser
from bp_nop_dagster.probe.command import run_probe_command
from bp_nop_dagster.probe.runner import DIFFERS, OK, SKIPPED, Pace
from bp_nop_dagster.sandbox.profiles import DRIFTED
from bp_nop_dagster.sandbox.server import RunningSandbox
from bp_nop_dagster.sandbox.world import SandboxWorld
from bp_nop_dagster.settings import sandbox_environment
from bp_nop_dagster_tests.probe.conftest import populate, probe

# Known findings: where today's simulators still answer otherwise than the contracts. Each is being
# fixed on a simulator branch (brightpearl / nopcommerce rewrite); after merging, the lead removes
# the entries that turned `ok` (this test fails on any row that is not as listed, either way).
# endpoint -> (result, text in its details, why)
KNOWN_FINDINGS: dict[str, tuple[str, str, str]] = {
}

# Each drift of the drifted profile: the row that must show it, and the text it must show.
DRIFT_EXPECTED: dict[str, tuple[str, str]] = {
    "goods-out-note search id column goodsNoteId": ("GET /warehouse-service/goods-note/goods-out-search", "column goodsOutNoteId: missing"),
    "payment methods with only id and name": ("GET /accounting-service/payment-method", "code: missing (documented as required)"),
    "CountryDto allow_billing / allow_shipping": ("GET /Country/GetAllCountries", "not properties of CountryDto: allow_billing, allow_shipping"),
    "ProductDto show_on_home_page": ("GET /Product/GetAll", "not properties of ProductDto: show_on_home_page"),
    "ReturnRequest/Search served as ReturnRequest/List": ("GET /ReturnRequest/Search", "HTTP 404"),
}
# Drifts the faithful simulator still has today (so the faithful run shows them too), and drifts
# the probe cannot reach today (what it sees instead). Emptied by the lead after the simulator
# branches merge; the test fails when an entry no longer holds.
DRIFT_ALREADY_IN_FAITHFUL: set[str] = set()
DRIFT_PENDING: dict[str, str] = {}


@pytest.fixture(scope="module")
def drifted_sandbox():
    with RunningSandbox(SandboxWorld(seed=42, scale="small"), profile="drifted") as sandbox:
        populate(sandbox)
        yield sandbox


def _describe(rows) -> str:
    return "\n".join(f"{r.result:<8} {name}: {r.details}" for name, r in rows.items())


def test_faithful_sandbox_conforms_except_known_findings(populated):
    rows = probe(populated)
    not_ok = {name for name, row in rows.items() if row.result != OK}
    assert not_ok - set(KNOWN_FINDINGS) == set(), f"new findings:\n{_describe(rows)}"
    assert set(KNOWN_FINDINGS) - not_ok == set(), f"now ok, remove from KNOWN_FINDINGS: {sorted(set(KNOWN_FINDINGS) - not_ok)}"
    for name, (result, text, why) in KNOWN_FINDINGS.items():
        row = rows[name]
        assert row.result == result and any(text in line for line in row.details), (name, why, row.details)
    # every endpoint was called or skipped for a stated reason, never silently
    assert all(row.details for row in rows.values() if row.result == SKIPPED)


def test_drifted_profile_shows_every_drift_as_differs(populated, drifted_sandbox):
    faithful = probe(populated)
    drifted = probe(drifted_sandbox)
    assert {d.description for d in DRIFTED} == set(DRIFT_EXPECTED), "every drift needs an expectation"
    for description, (endpoint, text) in DRIFT_EXPECTED.items():
        row = drifted[endpoint]
        wanted = DRIFT_PENDING.get(description, text)
        assert row.result == DIFFERS, (description, row.result, row.details)
        assert any(wanted in line for line in row.details), (description, row.details)
        seen_in_faithful = any(wanted in line for line in faithful[endpoint].details)
        assert seen_in_faithful == (description in DRIFT_ALREADY_IN_FAITHFUL or description in DRIFT_PENDING), (
            description, faithful[endpoint].details)


def _probe_command(sandbox, *extra: str) -> subprocess.CompletedProcess:
    """`bp-nop probe` as a user runs it, in a process of its own with the code location's variables."""
    env = {**os.environ, **sandbox_environment(sandbox)}
    return subprocess.run(
        [sys.executable, "-m", "bp_nop_dagster.cli", "probe", "--interval", "0", "--brightpearl-per-minute", "20", *extra],
        env=env, capture_output=True, text=True, timeout=120,
    )


def test_probe_command_against_the_faithful_sandbox_records_and_exits_0(populated, tmp_path):
    cassettes = tmp_path / "cassettes"
    result = _probe_command(populated, "--record", str(cassettes))
    out = result.stdout
    assert result.returncode == (1 if KNOWN_FINDINGS else 0), out + result.stderr  # exit 1 means something differs
    assert "Traceback" not in result.stderr
    for name, (outcome, _, _) in KNOWN_FINDINGS.items():
        assert any(line.split()[:2] == [outcome, name.split()[0]] and name in line for line in out.splitlines()), name
    assert "ok       GET /order-service/order-search" in out
    assert populated.world.credentials.brightpearl_account_token not in out
    assert len(list(cassettes.glob("*/*.json"))) >= 30


def test_probe_command_exits_1_when_a_reply_differs(drifted_sandbox):
    result = _probe_command(drifted_sandbox)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "differs  GET /Country/GetAllCountries" in result.stdout and "Traceback" not in result.stderr


def test_refused_credentials_are_error_rows_without_secrets(sandbox):
    env = {**sandbox_environment(sandbox), "BRIGHTPEARL_ACCOUNT_TOKEN": "wrong-token-5e1f", "NOPCOMMERCE_PASSWORD": "wrong-password-77c2"}
    out = io.StringIO()
    code = run_probe_command(build_parser().parse_args(["probe"]), out, env, pace=Pace(0.0, 20, sleep=lambda _: None))
    text = out.getvalue()
    assert code == 1
    assert "wrong-token-5e1f" not in text and "wrong-password-77c2" not in text
    assert "error    GET /warehouse-service/warehouse" in text and "credentials refused" in text
    assert "error    GET /Order/Search" in text
    assert "skipped  GET /product-service/product/{idset}" in text  # its ids would have come from a failed search


def test_nothing_configured_exits_2():
    out = io.StringIO()
    assert run_probe_command(build_parser().parse_args(["probe"]), out, {}) == 2
    assert "not configured: set BRIGHTPEARL_BASE_URL" in out.getvalue()
