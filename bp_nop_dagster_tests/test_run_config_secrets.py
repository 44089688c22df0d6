"""Launch rights must not equal a way to send the credentials elsewhere (issue 12, C): in staging
and production, a run config that points a resource at another host while pulling the real
credentials from the code server's environment (`{env: BRIGHTPEARL_ACCOUNT_TOKEN}`) fails before
any request, so the "attacker" host (a capture server here) receives nothing."""

from __future__ import annotations

import dagster as dg
import pytest

from bp_nop_dagster import settings
from bp_nop_dagster.brightpearl.resource import BrightpearlResource, brightpearl_resource_from_env
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource, nopcommerce_resource_from_env
from bp_nop_dagster_tests.capture_server import capture_server

TOKEN = "real-account-token-7f3a9c"
PASSWORD = "real-api-password-2b8e4d"
PRODUCTION = {
    settings.BP_NOP_ENV: "production",
    settings.BRIGHTPEARL_BASE_URL: "https://use1.brightpearlconnect.com/public-api/myshop",
    settings.BRIGHTPEARL_APP_REF: "myshop_bpnop",
    settings.BRIGHTPEARL_ACCOUNT_TOKEN: TOKEN,
    settings.NOPCOMMERCE_BASE_URL: "https://shop.example.com/api-backend",
    settings.NOPCOMMERCE_EMAIL: "api@shop.example.com",
    settings.NOPCOMMERCE_PASSWORD: PASSWORD,
}


@dg.asset
def brightpearl_reader(brightpearl: BrightpearlResource) -> int:
    return len(brightpearl.get_client().warehouses())


@dg.asset
def nopcommerce_reader(nopcommerce: NopCommerceResource) -> int:
    return len(nopcommerce.get_client().countries())


@pytest.fixture
def production(monkeypatch):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    ("asset", "key", "credentials", "base_path", "secret"),
    [
        (brightpearl_reader, "brightpearl", {"app_ref": {"env": settings.BRIGHTPEARL_APP_REF}, "account_token": {"env": settings.BRIGHTPEARL_ACCOUNT_TOKEN}}, "/public-api/myshop", TOKEN),
        (nopcommerce_reader, "nopcommerce", {"email": {"env": settings.NOPCOMMERCE_EMAIL}, "password": {"env": settings.NOPCOMMERCE_PASSWORD}}, "/api-backend", PASSWORD),
    ],
)
def test_run_config_cannot_point_the_credentials_at_another_host(production, asset, key, credentials, base_path, secret):
    resources = {"brightpearl": brightpearl_resource_from_env(), "nopcommerce": nopcommerce_resource_from_env()}
    with capture_server() as attacker:
        run_config = {"resources": {key: {"config": {"base_url": attacker.url + base_path, **credentials}}}}
        result = dg.materialize([asset], resources=resources, run_config=run_config, raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node(asset.op.name).error
    assert f"base URL is not the configured {settings.BRIGHTPEARL_BASE_URL if key == 'brightpearl' else settings.NOPCOMMERCE_BASE_URL}" in str(failure)
    assert attacker.received == []
    assert secret not in str(failure)
