"""`bp-nop doctor` against the sandbox: a good configuration passes every check; a wrong password
fails in words, exit code 1, without the password anywhere in the output; the PostgreSQL instance
check reads the real instance (pool limit included)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
import requests
import yaml

from bp_nop_dagster import settings
from bp_nop_dagster.doctor import run_doctor
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE
from bp_nop_dagster.settings import BP_NOP_MAPPING_FILE as MAPPING_FILE_ENV
from bp_nop_dagster_tests.postgres import fresh_databases

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHECKS = ["environment", "brightpearl", "nopcommerce", "history start", "ledger", "dagster instance", "mapping", "payment methods"]


@pytest.fixture
def sandbox_env(sandbox, tmp_path, monkeypatch) -> dict[str, str]:
    environ = {**settings.sandbox_environment(sandbox), settings.BP_NOP_LEDGER_URL: f"sqlite:///{tmp_path / 'ledger.sqlite'}"}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    for name in ("BP_NOP_ENV", "BP_NOP_MAPPING_FILE", *settings.DAGSTER_PG_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    return environ


def _doctor() -> tuple[int, dict[str, str]]:
    out = io.StringIO()
    code = run_doctor(out)
    lines = out.getvalue().splitlines()
    return code, {name: next(line for line in lines if line[6:].startswith(name)) for name in CHECKS}


def test_a_good_sandbox_configuration_passes(sandbox_env):
    code, lines = _doctor()
    assert code == 0, lines
    for name in ("environment", "brightpearl", "nopcommerce", "ledger", "mapping", "payment methods"):
        assert lines[name].startswith("OK"), lines[name]
    assert lines["dagster instance"].startswith("SKIP")
    assert "credentials accepted" in lines["brightpearl"] and "credentials accepted" in lines["nopcommerce"]
    assert "fits the Brightpearl account" in lines["mapping"]


def test_an_unknown_payment_method_code_warns_and_does_not_fail(sandbox, sandbox_env, monkeypatch, tmp_path):
    """Brightpearl accepts a payment whose method code it does not list (Customer Payment doc: the
    code "may or may not exist" as a Payment Method): the doctor warns, the run is not refused.
    An account whose payment-method GET has no codes (recorded payment_method_get.json) is skipped."""
    data = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text(encoding="utf-8"))
    data["payment_methods"]["Payments.Manual"] = "STRIPE"
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv(MAPPING_FILE_ENV, str(mapping))
    code, lines = _doctor()
    assert code == 0, lines
    assert lines["mapping"].startswith("OK"), lines["mapping"]
    assert lines["payment methods"].startswith("WARN") and "payment_methods.Payments.Manual" in lines["payment methods"]
    assert "'STRIPE'" in lines["payment methods"]
    requests.put(f"{sandbox.urls.brightpearl_root}/__sandbox__/fidelity", json={"payment_method_shape": "recorded"}, timeout=10).raise_for_status()
    code, lines = _doctor()
    assert code == 0 and lines["payment methods"].startswith("SKIP"), lines


def test_a_wrong_password_fails_in_words_without_showing_it(sandbox_env, monkeypatch):
    wrong = "Wr0ng-Pa55word-xyz"
    result = subprocess.run(
        [str(BIN / "bp-nop"), "doctor"], capture_output=True, text=True, timeout=60,
        env={**os.environ, settings.NOPCOMMERCE_PASSWORD: wrong},
    )
    assert result.returncode == 1
    [line] = [line for line in result.stdout.splitlines() if line[6:].startswith("nopcommerce")]
    assert line.startswith("FAIL") and "credentials refused: check NOPCOMMERCE_EMAIL and NOPCOMMERCE_PASSWORD" in line
    assert wrong not in result.stdout + result.stderr
    assert "1 check(s) failed: nopcommerce" in result.stdout


def test_a_wrong_brightpearl_token_fails_brightpearl_and_the_mapping_check(sandbox_env, monkeypatch):
    monkeypatch.setenv(settings.BRIGHTPEARL_ACCOUNT_TOKEN, "not-the-token-123")
    code, lines = _doctor()
    assert code == 1
    assert lines["brightpearl"].startswith("FAIL") and "credentials refused" in lines["brightpearl"]
    assert lines["mapping"].startswith("FAIL") and "until Brightpearl is OK" in lines["mapping"]
    assert "not-the-token-123" not in "\n".join(lines.values())


def test_an_unreachable_endpoint_and_ledger_are_named(sandbox_env, monkeypatch):
    monkeypatch.setenv(settings.NOPCOMMERCE_BASE_URL, "http://127.0.0.1:9/api-backend")
    monkeypatch.setenv(settings.BP_NOP_LEDGER_URL, "postgresql+psycopg2://ledger@127.0.0.1:9/bp_nop_ledger")
    code, lines = _doctor()
    assert code == 1
    assert lines["nopcommerce"].startswith("FAIL") and "check NOPCOMMERCE_BASE_URL" in lines["nopcommerce"]
    assert lines["ledger"].startswith("FAIL") and "cannot open the postgresql ledger" in lines["ledger"]


def test_production_with_the_placeholder_database_password_fails_the_environment_check(sandbox_env, monkeypatch):
    """The `.env.example` placeholder is refused outside local (issue 12, E), in doctor's words."""
    monkeypatch.setenv(settings.BP_NOP_ENV, "production")
    monkeypatch.setenv(settings.DAGSTER_PG_PASSWORD, "change-me-long-random")
    code, lines = _doctor()
    assert code == 1
    assert lines["environment"].startswith("FAIL")
    assert "DAGSTER_PG_PASSWORD is still the placeholder from .env.example" in lines["environment"]


@pytest.mark.postgres
def test_the_postgres_instance_and_ledger_are_checked(sandbox_env, monkeypatch, tmp_path):
    with fresh_databases("dagster", "ledger") as (dagster_db, ledger_db):
        shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
        for name, value in {"DAGSTER_HOME": str(tmp_path), "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432",
                            "DAGSTER_PG_USERNAME": dagster_db.user, "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_DB": dagster_db.name,
                            settings.BP_NOP_LEDGER_URL: ledger_db.url}.items():
            monkeypatch.setenv(name, value)
        code, lines = _doctor()
        assert code == 1
        assert "pool is not limited to 1: run `dagster instance concurrency set brightpearl 1`" in lines["dagster instance"]
        assert lines["ledger"].startswith("OK") and "postgresql" in lines["ledger"]

        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            instance.event_log_storage.set_concurrency_slots("brightpearl", 1)
        code, lines = _doctor()
        assert code == 0, lines
        assert lines["dagster instance"].startswith("OK") and "PostgreSQL" in lines["dagster instance"]


def test_history_start_is_compared_with_the_shops_first_order(sandbox, sandbox_env, monkeypatch):
    """The shop's first order: the oldest of its first 50 order ids (nopCommerce numbers orders from 1)."""
    seeded = sandbox.world.nopcommerce.orders
    first = min(o["created_on_utc"] for i, o in seeded.items() if i <= 50 and not o["deleted"]).date()
    monkeypatch.delenv(settings.BP_NOP_HISTORY_START, raising=False)
    code, lines = _doctor()
    assert code == 0 and lines["history start"].startswith("WARN") and f"{settings.BP_NOP_HISTORY_START}={first}" in lines["history start"]
    monkeypatch.setenv(settings.BP_NOP_HISTORY_START, (first + timedelta(days=3)).isoformat())
    assert _doctor()[1]["history start"].startswith("WARN")
    monkeypatch.setenv(settings.BP_NOP_HISTORY_START, first.isoformat())
    assert _doctor()[1]["history start"].startswith("OK")


def test_the_doctor_writes_nothing_into_the_current_folder(sandbox_env, tmp_path):
    """Run as a newcomer would, from an empty folder without DAGSTER_HOME or a ledger URL: the default SQLite
    ledger is reported as not created yet, and nothing appears in the folder."""
    folder = tmp_path / "empty"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in (settings.DAGSTER_HOME, settings.BP_NOP_LEDGER_URL)}
    result = subprocess.run([str(BIN / "bp-nop"), "doctor"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert "not created yet" in result.stdout, result.stdout + result.stderr
    assert list(folder.iterdir()) == []
