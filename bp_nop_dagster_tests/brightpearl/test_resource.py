"""BrightpearlResource: EnvVar configuration resolved at run time, one client per run, secrets hidden."""

from __future__ import annotations

import dagster as dg
import pytest

from bp_nop_dagster import settings
from bp_nop_dagster.brightpearl import BrightpearlClient
from bp_nop_dagster.brightpearl.resource import BrightpearlResource, brightpearl_resource_from_env
from bp_nop_dagster.transport.errors import ConfigurationError

SECRET = "sandbox-token"


@dg.asset
def warehouse_count(brightpearl: BrightpearlResource) -> int:
    client = brightpearl.get_client()
    assert client is brightpearl.get_client()  # one client per run
    client.warehouses()
    client.warehouses()  # cached reference data
    assert client.call_count == 1
    return len(client.warehouses())


def test_env_var_resource_resolves_in_a_run(sandbox, monkeypatch):
    for name, value in settings.sandbox_environment(sandbox).items():
        monkeypatch.setenv(name, value)
    result = dg.materialize([warehouse_count], resources={"brightpearl": brightpearl_resource_from_env(read_timeout=10.0)})
    assert result.success
    assert result.output_for_node("warehouse_count") == 3
    events = " ".join(repr(event) for event in result.all_events)
    assert SECRET not in events


def test_definitions_are_loadable_without_the_environment(monkeypatch):
    for name in (settings.BRIGHTPEARL_BASE_URL, settings.BRIGHTPEARL_APP_REF, settings.BRIGHTPEARL_ACCOUNT_TOKEN):
        monkeypatch.delenv(name, raising=False)
    resource = brightpearl_resource_from_env()
    defs = dg.Definitions(assets=[warehouse_count], resources={"brightpearl": resource})
    dg.Definitions.validate_loadable(defs)  # raises if loading needed a variable's value
    # the variables are named, not read: they are resolved when a run starts
    assert (resource.base_url, resource.app_ref, resource.account_token) == (
        dg.EnvVar(settings.BRIGHTPEARL_BASE_URL), dg.EnvVar(settings.BRIGHTPEARL_APP_REF), dg.EnvVar(settings.BRIGHTPEARL_ACCOUNT_TOKEN))


def test_missing_env_var_fails_the_run_naming_the_variable(monkeypatch, sandbox):
    env = settings.sandbox_environment(sandbox)
    monkeypatch.setenv(settings.BRIGHTPEARL_BASE_URL, env[settings.BRIGHTPEARL_BASE_URL])
    monkeypatch.setenv(settings.BRIGHTPEARL_APP_REF, env[settings.BRIGHTPEARL_APP_REF])
    monkeypatch.delenv(settings.BRIGHTPEARL_ACCOUNT_TOKEN, raising=False)
    with pytest.raises(dg.DagsterInvalidConfigError, match=settings.BRIGHTPEARL_ACCOUNT_TOKEN):
        dg.materialize([warehouse_count], resources={"brightpearl": brightpearl_resource_from_env()})


def test_missing_token_is_a_configuration_error_naming_the_setting():
    resource = BrightpearlResource(base_url="https://use1.brightpearlconnect.com/public-api/acct", app_ref="acct_app")
    with pytest.raises(ConfigurationError, match="account_token"):
        resource.get_client()
    with pytest.raises(ConfigurationError, match="app_ref"):
        BrightpearlResource(base_url="https://use1.brightpearlconnect.com/public-api/acct", app_ref="", account_token=SECRET).get_client()
    with pytest.raises(ConfigurationError, match="https") as caught:
        BrightpearlResource(base_url="http://bp.example.com/public-api/acct", app_ref="a", account_token=SECRET).get_client()
    assert SECRET not in str(caught.value)


def test_tokens_are_secret_and_never_in_repr():
    resource = BrightpearlResource(
        base_url="https://use1.brightpearlconnect.com/public-api/acct", app_ref="acct_app", account_token=SECRET,
        oauth_refresh_token="refresh-secret",
    )
    assert SECRET not in repr(resource) and SECRET not in str(resource)
    fields = BrightpearlResource.to_config_schema().as_field().config_type.fields
    for name in ("account_token", "staff_token", "oauth_access_token", "oauth_refresh_token", "oauth_client_secret"):
        assert fields[name].is_secret, name
    assert not fields["base_url"].is_secret


def test_settings_reach_the_client():
    resource = BrightpearlResource(
        base_url="https://use1.brightpearlconnect.com/public-api/acct", app_ref="acct_app", staff_token="staff",
        connect_timeout=2.0, read_timeout=7.0, max_attempts=2, quota=100, window_seconds=30.0, headroom=0.2,
    )
    client = resource.get_client()
    assert isinstance(client, BrightpearlClient) and client.auth_mode == "staff"
    assert client.timeout == (2.0, 7.0) and client.retry_settings.max_attempts == 2
    assert (client.pacer.quota, client.pacer.window_seconds, client.pacer.limit) == (100, 30.0, 80)


def test_oauth_refresh_settings(sandbox):
    root = sandbox.urls.brightpearl_root
    resource = BrightpearlResource(
        base_url=sandbox.urls.brightpearl_base_url, app_ref="sandbox_bpnop", oauth_access_token="sandbox-oauth-access-token",
        dev_ref="sandbox_dev", oauth_token_url=f"{root}/oauth/token/sandbox", oauth_refresh_token="sandbox-oauth-refresh-token",
    )
    import requests

    requests.post(f"{root}/__sandbox__/oauth/expire", json={}, timeout=5).raise_for_status()
    client = resource.get_client()
    assert client.auth_mode == "oauth" and client.warehouses()
    with pytest.raises(ConfigurationError, match="together"):
        BrightpearlResource(base_url=sandbox.urls.brightpearl_base_url, app_ref="a", oauth_access_token="t", dev_ref="d",
                            oauth_token_url=f"{root}/oauth/token/sandbox").get_client()
