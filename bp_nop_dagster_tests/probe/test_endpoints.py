"""The probe's endpoint list: reads only, aimed at the real APIs' routes (per the contracts), each
with a contract that exists, ids only from endpoints probed before."""

from __future__ import annotations

import pytest

from bp_nop_dagster import contracts
from bp_nop_dagster.probe.cassettes import cassette_name, endpoint_for
from bp_nop_dagster.probe.endpoints import BRIGHTPEARL, ENDPOINTS, NOPCOMMERCE, Endpoint
from bp_nop_dagster.probe.runner import Pace, run_probe


def test_only_reads_and_never_a_state_changing_get():
    assert {e.method for e in ENDPOINTS} == {"GET"}
    # the plugin's OrderProcessing actions are GETs that change state (notes section 1a, 7.8)
    assert not [e.name for e in ENDPOINTS if "/OrderProcessing/" in e.path]
    with pytest.raises(ValueError, match="only reads"):
        run_probe([Endpoint(BRIGHTPEARL, "/x", (), lambda body: body, method="POST")], {}, Pace(0.0, 1))


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.system == NOPCOMMERCE], ids=lambda e: e.name)
def test_nopcommerce_endpoints_are_plugin_actions(endpoint):
    (contract,) = endpoint.contracts
    assert contract == f"webapi:GET {endpoint.path.lstrip('/')}"
    assert contracts.nopcommerce_action("GET", endpoint.path)["verb"] == "GET"


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.system == BRIGHTPEARL], ids=lambda e: e.name)
def test_brightpearl_contracts_exist(endpoint):
    documented = contracts.brightpearl_documented()
    for contract in endpoint.contracts:
        kind, _, name = contract.partition(":")
        if kind == "recorded":
            assert any(i["method"] == "GET" and i["status"] == 200 for i in contracts.recording(name)["interactions"])
        else:
            assert kind == "documented" and (name in documented["searches"] or name in documented["objects"])
            spec = documented["searches"].get(name) or documented["objects"][name]
            assert spec["path"] == endpoint.path and spec["source"].startswith("https://api-docs.brightpearl.com/")


def test_ids_come_from_endpoints_probed_before():
    provided: set[str] = set()
    for endpoint in ENDPOINTS:
        assert endpoint.pools() <= provided, (endpoint.name, endpoint.pools() - provided)
        provided |= set(endpoint.provides)
        for placeholder in endpoint.fill:
            assert "{" + placeholder + "}" in endpoint.path + "".join(endpoint.params.values()), endpoint.name


def test_names_and_cassettes_are_unique_and_found_again():
    assert len({e.name for e in ENDPOINTS}) == len(ENDPOINTS)
    assert len({cassette_name(e) for e in ENDPOINTS}) == len(ENDPOINTS)
    root = {BRIGHTPEARL: "/public-api/acme", NOPCOMMERCE: "/api-backend"}
    for endpoint in ENDPOINTS:
        path = root[endpoint.system] + endpoint.path.replace("{", "").replace("}", "")
        assert endpoint_for("GET", path) is endpoint, endpoint.name
