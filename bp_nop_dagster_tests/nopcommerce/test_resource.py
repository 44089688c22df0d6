"""NopCommerceResource: configuration, secrets, one client per run, and a real run against the sandbox."""

from __future__ import annotations

import dagster as dg
import pytest

from bp_nop_dagster import settings
from bp_nop_dagster.nopcommerce import NopCommerceClient
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource, nopcommerce_resource_from_env
from bp_nop_dagster.transport.errors import ConfigurationError

SECRET = "Zz-resource-Secret-pw!"


def resource(**overrides) -> NopCommerceResource:
    values = {"base_url": "https://shop.example.com/api-backend", "email": "api@shop.test", "password": SECRET, **overrides}
    return NopCommerceResource(**values)


def test_password_is_a_secret_config_field():
    fields = NopCommerceResource.to_config_schema().as_field().config_type.fields
    assert fields["password"].is_secret is True
    assert not fields["base_url"].is_secret and not fields["email"].is_secret
    assert fields["page_size"].default_value == 250 and fields["max_concurrency"].default_value == 8


def test_password_not_in_repr():
    res = resource()
    assert SECRET not in repr(res) and SECRET not in str(res)
    assert SECRET not in repr(res.get_client())


def test_get_client_is_cached_and_configured():
    res = resource(page_size=50, max_concurrency=3, connect_timeout=2.0, read_timeout=9.0, max_attempts=2)
    client = res.get_client()
    assert isinstance(client, NopCommerceClient) and res.get_client() is client
    assert client.page_size == 50 and client.max_concurrency == 3
    assert client.timeout == (2.0, 9.0) and client.retry_settings.max_attempts == 2


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"base_url": "http://shop.example.com/api-backend"}, "base_url"),
        ({"base_url": "not a url"}, "base_url"),
        ({"base_url": ""}, "base_url"),
        ({"email": " "}, "email"),
        ({"password": ""}, "password"),
        ({"page_size": 0}, "page_size"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_concurrency": 500}, "max_concurrency"),
        ({"read_timeout": 0}, "read_timeout"),
        ({"connect_timeout": -1}, "connect_timeout"),
        ({"max_attempts": 0}, "max_attempts"),
    ],
)
def test_bad_config_names_the_setting_without_the_secret(overrides, setting):
    with pytest.raises(ConfigurationError) as raised:
        resource(**overrides).get_client()
    assert setting in str(raised.value)
    assert SECRET not in str(raised.value)


def test_from_env_reads_env_vars_at_run_time(sandbox, monkeypatch):
    creds = sandbox.world.credentials
    monkeypatch.setenv(settings.NOPCOMMERCE_BASE_URL, sandbox.urls.nopcommerce_base_url)
    monkeypatch.setenv(settings.NOPCOMMERCE_EMAIL, creds.nopcommerce_email)
    monkeypatch.setenv(settings.NOPCOMMERCE_PASSWORD, creds.nopcommerce_password)
    seen: dict = {}

    @dg.asset
    def nop_countries(nopcommerce: NopCommerceResource) -> dg.MaterializeResult:
        client = nopcommerce.get_client()
        seen["same_client"] = nopcommerce.get_client() is client
        seen["codes"] = client.country_iso_codes()
        seen["orders"] = len(client.orders_with_details(client.search_orders()[:3]))
        return dg.MaterializeResult(metadata={"countries": len(seen["codes"])})

    res = nopcommerce_resource_from_env(page_size=100, max_concurrency=2)
    assert creds.nopcommerce_password not in repr(res)  # only the env var's name is held
    result = dg.materialize([nop_countries], resources={"nopcommerce": res})
    assert result.success
    assert seen["same_client"] is True
    assert seen["codes"][3] == ("GB", "GBR")
    assert seen["orders"] == 3


def test_from_env_missing_password_fails_clearly(sandbox, monkeypatch):
    monkeypatch.setenv(settings.NOPCOMMERCE_BASE_URL, sandbox.urls.nopcommerce_base_url)
    monkeypatch.setenv(settings.NOPCOMMERCE_EMAIL, "admin@sandbox.test")
    monkeypatch.setenv(settings.NOPCOMMERCE_PASSWORD, "")

    @dg.asset
    def needs_nop(nopcommerce: NopCommerceResource) -> None:
        nopcommerce.get_client()

    with pytest.raises(ConfigurationError, match=settings.NOPCOMMERCE_PASSWORD):
        dg.materialize([needs_nop], resources={"nopcommerce": nopcommerce_resource_from_env()})
