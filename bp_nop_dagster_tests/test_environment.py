"""`BP_NOP_ENV`: local allows the sandbox and SQLite; staging and production demand PostgreSQL and
real https endpoints, say so in words without showing secrets, and the code location refuses to load."""

from __future__ import annotations

import pytest

from bp_nop_dagster.environment import (
    MIN_PASSWORD_CHARS,
    Environment,
    current_environment,
    environment_problems,
    require_brightpearl_oauth_host,
    require_configured_endpoint,
    require_valid_environment,
)
from bp_nop_dagster.transport.errors import ConfigurationError

REAL = {
    "BRIGHTPEARL_BASE_URL": "https://use1.brightpearlconnect.com/public-api/myshop",
    "NOPCOMMERCE_BASE_URL": "https://shop.example.com/api-backend",
    "BP_NOP_LEDGER_URL": "postgresql+psycopg2://ledger:pw-secret-4Kq9Zt7XvB2m@db:5432/bp_nop_ledger",
    "DAGSTER_PG_HOST": "db", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USERNAME": "dagster",
    "DAGSTER_PG_PASSWORD": "pg-secret-8Hd3Lw5RnQ1y", "DAGSTER_PG_DB": "dagster",
}
SANDBOX = {
    "BRIGHTPEARL_BASE_URL": "http://127.0.0.1:8601/public-api/sandbox",
    "NOPCOMMERCE_BASE_URL": "http://127.0.0.1:8602/api-backend",
    "BP_NOP_LEDGER_URL": "sqlite:////tmp/ledger.sqlite",
}


def test_local_is_the_default_and_allows_the_sandbox():
    assert current_environment({}) is Environment.LOCAL
    assert environment_problems(SANDBOX) == []


@pytest.mark.parametrize("name", ["staging", "production", " Production "])
def test_staging_and_production_accept_a_real_configuration(name):
    assert environment_problems({**REAL, "BP_NOP_ENV": name}) == []


def test_production_refuses_the_sandbox_and_sqlite_in_words():
    problems = environment_problems({**SANDBOX, "BP_NOP_ENV": "production"})
    text = "\n".join(problems)
    assert "BRIGHTPEARL_BASE_URL must be an https URL of the real Brightpearl API" in text
    assert "NOPCOMMERCE_BASE_URL must be an https URL of the real nopCommerce API" in text
    assert "BP_NOP_LEDGER_URL must be a PostgreSQL URL" in text and "SQLite is for local use only" in text
    assert "DAGSTER_PG_HOST is not set" in text


def test_https_to_this_machine_or_the_sandbox_host_is_refused_too():
    environ = {**REAL, "BP_NOP_ENV": "staging", "BRIGHTPEARL_BASE_URL": "https://sandbox:8601/public-api/sandbox",
               "NOPCOMMERCE_BASE_URL": "https://localhost/api-backend"}
    problems = environment_problems(environ)
    assert len(problems) == 2
    assert all("points at the sandbox or this machine" in p for p in problems)


def test_problems_never_show_secret_values():
    environ = {**REAL, "BP_NOP_ENV": "production", "BP_NOP_LEDGER_URL": "mysql://ledger:pw-secret@db/ledger", "DAGSTER_PG_HOST": ""}
    text = "\n".join(environment_problems(environ))
    assert "BP_NOP_LEDGER_URL must be a PostgreSQL URL" in text and "DAGSTER_PG_HOST is not set" in text
    assert "pw-secret" not in text and "pg-secret" not in text


def test_an_unknown_environment_is_named_with_the_allowed_ones():
    with pytest.raises(ConfigurationError, match="BP_NOP_ENV must be one of local, staging, production, not 'prod'"):
        require_valid_environment({"BP_NOP_ENV": "prod"})


def test_the_code_location_refuses_to_load_in_production_against_the_sandbox(monkeypatch):
    from bp_nop_dagster.definitions import defs

    for name, value in {**SANDBOX, "BP_NOP_ENV": "production"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match="the configuration does not fit its environment: production: BRIGHTPEARL_BASE_URL"):
        defs()


@pytest.mark.parametrize("password", ["change-me-long-random", "CHANGE-ME-long-random-please", "short-Pw-9"])
def test_staging_and_production_refuse_placeholder_and_short_database_passwords(password):
    """Rule (issue 12, E): the `.env.example` placeholder and passwords under MIN_PASSWORD_CHARS
    never guard a staging or production database, whether the instance's or the ledger's."""
    ledger = f"postgresql+psycopg2://ledger:{password}@db:5432/bp_nop_ledger"
    problems = environment_problems({**REAL, "BP_NOP_ENV": "staging", "DAGSTER_PG_PASSWORD": password, "BP_NOP_LEDGER_URL": ledger})
    assert len(problems) == 2, problems
    assert "DAGSTER_PG_PASSWORD is" in problems[1] and "the password in BP_NOP_LEDGER_URL is" in problems[0]
    assert all(password not in p for p in problems)
    expected = "placeholder" if "change-me" in password.lower() else f"shorter than {MIN_PASSWORD_CHARS} characters"
    assert all(expected in p for p in problems)
    assert environment_problems({"DAGSTER_PG_PASSWORD": password, "BP_NOP_LEDGER_URL": ledger}) == []  # local: the sandbox


def test_staging_and_production_resources_only_call_the_configured_endpoints():
    """Rule (issue 12, C): a run config naming another host is refused outside local."""
    production = {**REAL, "BP_NOP_ENV": "production"}
    configured = REAL["BRIGHTPEARL_BASE_URL"]
    require_configured_endpoint(configured + "/", "BRIGHTPEARL_BASE_URL", "Brightpearl", production)
    for other in ("https://attacker.example/public-api/myshop", "https://use1.brightpearlconnect.com/public-api/other"):
        with pytest.raises(ConfigurationError, match="Brightpearl base URL is not the configured BRIGHTPEARL_BASE_URL"):
            require_configured_endpoint(other, "BRIGHTPEARL_BASE_URL", "Brightpearl", production)
    require_configured_endpoint("http://127.0.0.1:9/x", "BRIGHTPEARL_BASE_URL", "Brightpearl", {})  # local


def test_the_oauth_token_endpoint_must_be_brightpearls_outside_local():
    production = {"BP_NOP_ENV": "production"}
    require_brightpearl_oauth_host("https://oauth.brightpearl.com/token/myshop", production)
    require_brightpearl_oauth_host("https://use1.brightpearlconnect.com/oauth/token", production)
    for url in ("https://oauth.brightpearl.com.attacker.example/token", "http://oauth.brightpearl.com/token/x"):
        with pytest.raises(ConfigurationError, match="oauth_token_url must be https on brightpearl.com"):
            require_brightpearl_oauth_host(url, production)
