"""The engines are pure: they import where Dagster cannot be imported, and they run with the
network switched off (no DNS or MX lookups, no data downloads, no model hubs)."""

from __future__ import annotations

import pkgutil
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

import bp_nop_dagster.quality
from bp_nop_dagster.mapping.config import parse_mapping_config
from bp_nop_dagster_tests.test_layers import BLOCK_DAGSTER


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    """Every way to open a connection or resolve a name raises."""

    def refuse(*args, **kwargs):
        raise NetworkUsed(f"network used: {args[:2]}")

    for name in ("socket", "create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        monkeypatch.setattr(socket, name, refuse)
    yield


def test_the_guard_refuses_a_socket(no_network):
    with pytest.raises(NetworkUsed):
        socket.create_connection(("example.com", 80))
    with pytest.raises(NetworkUsed):
        socket.getaddrinfo("example.com", 25)


def test_every_engine_runs_without_a_network(no_network):
    from bp_nop_dagster.quality.anomalies import score_orders
    from bp_nop_dagster.quality.contacts import ContactRecord, validate_contacts
    from bp_nop_dagster.quality.duplicates import NOPCOMMERCE, CustomerRecord, find_duplicates
    from bp_nop_dagster.quality.mapping_suggestions import suggest_mapping
    from bp_nop_dagster.quality.mapping_yaml import render_mapping_yaml
    from bp_nop_dagster.quality.products import ProductRecord, check_products
    from bp_nop_dagster.quality.resolution import suggest
    from bp_nop_dagster.sandbox.quality_fixtures import order_fixture, sandbox_profile

    checked = validate_contacts([ContactRecord("1", "US", "CA", "94043", None, "(650) 253-0000", "Jo@Gmial.com"),
                                 ContactRecord("2", "DE", None, "10115", None, "+49 151 23456789", "x@mailinator.com")])
    assert {i.code for i in checked.issues().itertuples()} == {"EMAIL_DOMAIN_TYPO", "EMAIL_DISPOSABLE"}
    assert checked.frame()["phone_e164"].tolist() == ["+16502530000", "+4915123456789"]
    fixture = order_fixture(orders=2_000)
    assert len(score_orders(fixture.orders, fixture.lines, now=fixture.now).scores) > 1_000
    people = [CustomerRecord(str(n), NOPCOMMERCE, email="ada@example.com", first_name="Ada", last_name="Lovelace", phone="07911 123456",
                             country_iso2="GB") for n in range(2)]
    assert find_duplicates(people).queue["band"].tolist() == ["strong"]
    profile = sandbox_profile()
    parse_mapping_config(yaml.safe_load(render_mapping_yaml(suggest_mapping(profile.nop, profile.bp, profile.linked))))
    assert check_products([ProductRecord(1, "A", gtin="4006381333931", weight=Decimal(1), price=Decimal(2))]).empty

    class Letter:
        id, kind, nop_key, reason, error_code, message, payload, attempts = 1, "order", "1", "unknown_sku", None, "SKU 'A'", {}, 1

    assert "'A'" in suggest(Letter()).action


def test_the_engines_import_without_dagster():
    root = Path(bp_nop_dagster.quality.__file__).parent
    modules = ["bp_nop_dagster.quality", "bp_nop_dagster.sandbox.quality_fixtures"]
    modules += [f"bp_nop_dagster.quality.{info.name}" for info in pkgutil.iter_modules([str(root)])]
    assert "bp_nop_dagster.quality.resolution" in modules and len(modules) >= 12
    result = subprocess.run([sys.executable, "-c", BLOCK_DAGSTER, *modules], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def test_fixtures_are_deterministic():
    from bp_nop_dagster.sandbox.quality_fixtures import contact_fixture, customer_fixture, order_fixture

    now = datetime(2026, 1, 1, tzinfo=UTC)
    a, b = order_fixture(3, orders=1_000, now=now), order_fixture(3, orders=1_000, now=now)
    assert a.orders.equals(b.orders) and a.lines.equals(b.lines) and a.planted == b.planted
    assert a.orders["created"].max() <= now and a.orders["created"].min() >= now - timedelta(days=180)
    assert contact_fixture(3).records == contact_fixture(3).records
    assert customer_fixture(3, people=300).records == customer_fixture(3, people=300).records
    assert contact_fixture(3).records != contact_fixture(4).records
