"""The catalogue flow end to end through Dagster against the sandbox: a Brightpearl product edit
reaching the shop through the sensor (under faults), a product created from Brightpearl exactly
once though its reply is lost, a variant, a price-list change on its own run, an admin edit made in
the shop during the update kept, a store missing from the mapping reported, and a catalogue
reconciliation with nothing unexplained afterwards.

Expected values are the ones the test sets in Brightpearl (Brightpearl owns those fields, rule of
mapping/catalogue.py) or in the shop's admin (fields the flow does not map must survive)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pytest
import requests
import yaml

from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.defs.catalogue.assets import prices_from_brightpearl, products_from_brightpearl
from bp_nop_dagster.defs.catalogue.sensors import brightpearl_product_changes
from bp_nop_dagster.defs.reconciliation.catalogue import catalogue_reconciliation
from bp_nop_dagster.defs.sync_settings import SyncSettings
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.sync.cursor import SensorCursor

RETAIL = 2  # the default mapping's price_list_id


class CatalogueFlow:
    def __init__(self, sandbox, tmp_path, mapping: dict | None = None) -> None:
        creds = sandbox.world.credentials
        self.world = sandbox.world
        self.bp_root, self.nop_root = sandbox.urls.brightpearl_root, sandbox.urls.nopcommerce_root
        data = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text())
        data.update(mapping or {})
        mapping_file = tmp_path / "mapping.yaml"
        mapping_file.write_text(yaml.safe_dump(data))
        self.resources = {
            "brightpearl": BrightpearlResource(base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                                               account_token=creds.brightpearl_account_token),
            "nopcommerce": NopCommerceResource(base_url=sandbox.urls.nopcommerce_base_url, email=creds.nopcommerce_email,
                                               password=creds.nopcommerce_password),
            "ledger": LedgerResource(url=f"sqlite:///{tmp_path / 'ledger.sqlite'}"),
            "sync_settings": SyncSettings(mapping_file=str(mapping_file)),
        }
        self.cursor = SensorCursor(watermark=datetime.now(UTC) - timedelta(seconds=1)).dumps()

    # ---- the world
    def bp_id(self, sku: str) -> int:
        return self.world.brightpearl.sku_to_product_id()[sku]

    def edit_in_brightpearl(self, sku: str, **body) -> None:
        requests.put(f"{self.bp_root}/__sandbox__/products/{self.bp_id(sku)}", json=body, timeout=10).raise_for_status()

    def nop_product(self, sku: str) -> dict:
        return self.world.nopcommerce.product_by_sku(sku)

    def admin_edit(self, product_id: int, changes: dict) -> None:
        requests.post(f"{self.nop_root}/__sandbox__/products/{product_id}/admin-edit", json={"changes": changes},
                      timeout=10).raise_for_status()

    def faults(self, root: str, *rules: dict) -> None:
        requests.put(f"{root}/__sandbox__/faults", json={"rules": list(rules), "seed": 5}, timeout=10).raise_for_status()

    def simple_skus(self, count: int) -> list[str]:
        bp = self.world.brightpearl.sku_to_product_id()
        return sorted(p["sku"] for p in self.world.nopcommerce.products.values()
                      if p["sku"] in bp and p["manage_inventory_method_id"] == 1 and p["sku"] != "BPN-00011")[:count]

    # ---- Dagster
    def tick(self, instance):
        with dg.build_sensor_context(instance=instance, cursor=self.cursor, resources=self.resources) as context:
            result = brightpearl_product_changes(context)
            self.cursor = context.cursor
        return result

    def sync_changed(self, instance) -> dict:
        request = self.tick(instance)
        assert isinstance(request, dg.RunRequest), request
        result = dg.materialize([products_from_brightpearl], resources=self.resources, instance=instance,
                                run_config=request.run_config)
        assert result.success
        return result.asset_materializations_for_node("nopcommerce__products_from_brightpearl")[0].metadata

    def sync_prices(self, instance) -> dict:
        result = dg.materialize([prices_from_brightpearl], resources=self.resources, instance=instance)
        assert result.success
        return result.asset_materializations_for_node("nopcommerce__prices_from_brightpearl")[0].metadata

    def reconcile(self, instance) -> tuple[dict, object]:
        result = dg.materialize([catalogue_reconciliation], resources=self.resources, instance=instance)
        node = "reconciliation__catalogue"
        return result.asset_materializations_for_node(node)[0].metadata, result.output_for_node(node)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def make_flow(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("BP_NOP_REPORTS_DIR", str(tmp_path / "reports"))
    return lambda mapping=None: CatalogueFlow(sandbox, tmp_path, mapping)


def test_a_brightpearl_edit_reaches_the_shop_through_the_sensor_under_faults(make_flow, instance):
    flow = make_flow()
    sku = flow.simple_skus(1)[0]
    before = flow.nop_product(sku)
    flow.admin_edit(before["id"], {"full_description": "<p>Written in the shop</p>", "stock_quantity": 17})
    flow.edit_in_brightpearl(sku, name="Linen shirt", ean="5012345678900", mpn="LS-1", short_description="Pure linen",
                             weight="1.25", dimensions={"length": "30", "height": "2", "width": "20"})
    # The first two full-replace writes answer 503 (retried by the transport policy).
    flow.faults(flow.nop_root, {"method": "PUT", "path": "/Product/Update", "error_rate": 1.0, "error_status": 503, "max_hits": 2})
    flow.faults(flow.bp_root, {"method": "GET", "path": "/product-service/product/*", "error_rate": 1.0, "error_status": 503,
                               "max_hits": 1})
    metadata = flow.sync_changed(instance)
    assert metadata["written"].value == 1 and metadata["failed"].value == 0
    for root in (flow.bp_root, flow.nop_root):  # the faults were met
        assert sum(requests.get(f"{root}/__sandbox__/faults", timeout=10).json()["injected"].values()) >= 1
    after = flow.nop_product(sku)
    assert (after["name"], after["gtin"], after["manufacturer_part_number"], after["short_description"]) == (
        "Linen shirt", "5012345678900", "LS-1", "Pure linen")
    assert (after["weight"], after["length"], after["height"], after["width"]) == (
        Decimal("1.25"), Decimal("30"), Decimal("2"), Decimal("20"))
    # Everything the flow does not map is as the shop had it (Product/Update replaces the whole product).
    assert after["full_description"] == "<p>Written in the shop</p>" and after["stock_quantity"] == 17
    assert after["price"] == before["price"] and after["published"] is True
    assert not isinstance(flow.tick(instance), dg.RunRequest)  # handed on once


def test_discontinued_unpublishes_and_a_variant_gets_its_own_fields(make_flow, instance):
    flow = make_flow()
    sku = flow.simple_skus(1)[0]
    flow.edit_in_brightpearl(sku, status="DISCONTINUED")
    flow.edit_in_brightpearl("BPN-00011-M", ean="5000000000011", prices={RETAIL: "44.10"})
    metadata = flow.sync_changed(instance)
    assert metadata["written"].value == 2
    assert flow.nop_product(sku)["published"] is False  # only LIVE is published (catalogue.published_statuses)
    combination = flow.world.nopcommerce.combination_by_sku("BPN-00011-M")
    assert combination["gtin"] == "5000000000011" and combination["overridden_price"] == Decimal("44.1")


def test_a_product_only_in_brightpearl_is_created_once_though_the_reply_is_lost(make_flow, instance):
    # The sandbox's nopCommerce tax category 2 is "Reduced" (5 %), Brightpearl's T5 the reduced code.
    flow = make_flow({"catalogue": {"create_in_nop": True, "tax_categories": {"T5": 2}}})
    product_id = flow.world.brightpearl.product_service.add_product("NEW-SKU-1", "Wool scarf", price=Decimal("19.99"),
                                                                    tax_code="T5")
    flow.world.brightpearl.product_service.add_product("NEW-SKU-2", "Gift card", price=Decimal("10"), tax_code="T1")
    # The create is committed but its reply replaced by a 502: the SKU lookup finds it.
    flow.faults(flow.nop_root, {"method": "POST", "path": "/Product/Create", "drop_reply_rate": 1.0, "drop_reply_mode": "502",
                                "max_hits": 1})
    metadata = flow.sync_changed(instance)
    assert metadata["created"].value == 1 and metadata["failed"].value == 1
    created = [p for p in flow.world.nopcommerce.products.values() if p["sku"] == "NEW-SKU-1" and not p["deleted"]]
    assert len(created) == 1
    assert (created[0]["name"], created[0]["price"], created[0]["published"], created[0]["tax_category_id"]) == (
        "Wool scarf", Decimal("19.99"), True, 2)
    # T1 has no tax category in this mapping: not created (never sold untaxed), dead-lettered.
    assert not [p for p in flow.world.nopcommerce.products.values() if p["sku"] == "NEW-SKU-2"]
    letters = flow.resources["ledger"].get_ledger().dead_letters()
    assert [(d.nop_key, d.reason) for d in letters] == [("NEW-SKU-2", "validation_error")] and "'T1'" in letters[0].message
    assert flow.resources["ledger"].get_ledger().bp_id("catalogue_product", "NEW-SKU-1") == created[0]["id"]
    assert product_id in flow.world.brightpearl.products


def test_a_price_list_change_is_synced_by_its_own_run(make_flow, instance):
    flow = make_flow()
    sku = flow.simple_skus(1)[0]
    flow.sync_prices(instance)  # the shop in step first (the seed has some prices drifted)
    flow.edit_in_brightpearl(sku, prices={RETAIL: "123.45", 1: "1.00"})  # retail is mapped, cost (1) is not
    # A price PUT does not move the product's updatedOn: the product sensor sees nothing...
    assert not isinstance(flow.tick(instance), dg.RunRequest)
    # ...the price-list run (nightly, or launched by hand) writes it.
    metadata = flow.sync_prices(instance)
    assert metadata["written"].value == 1
    assert flow.nop_product(sku)["price"] == Decimal("123.45")
    assert flow.sync_prices(instance)["written"].value == 0  # nothing left to write
    report, frame = flow.reconcile(instance)
    assert report["unexplained_differences"].value == 0


def test_an_admin_edit_during_the_product_update_is_kept(make_flow, instance, monkeypatch):
    flow = make_flow({"catalogue": {"owners": {"published": "nopcommerce"}}})
    sku = flow.simple_skus(1)[0]
    product_id = flow.nop_product(sku)["id"]
    flow.edit_in_brightpearl(sku, name="Renamed in Brightpearl", status="DISCONTINUED")
    original = NopCommerceClient.update_product
    edits = []

    def admin_edits_first(self, pid, changes, **kwargs):
        # The shop's admin saves the product after the flow read it and before its write.
        if not edits:
            edits.append(pid)
            flow.admin_edit(pid, {"full_description": "Staff copy", "meta_keywords": "linen", "published": True})
        return original(self, pid, changes, **kwargs)

    monkeypatch.setattr(NopCommerceClient, "update_product", admin_edits_first)
    metadata = flow.sync_changed(instance)
    assert edits == [product_id] and metadata["written"].value == 1
    after = flow.nop_product(sku)
    assert after["name"] == "Renamed in Brightpearl"  # Brightpearl owns the name
    assert (after["full_description"], after["meta_keywords"]) == ("Staff copy", "linen")  # the admin's edit kept
    assert after["published"] is True  # the shop owns published in this mapping
    flow.sync_prices(instance)  # the nightly price run: the seed's drifted prices
    report, frame = flow.reconcile(instance)
    row = frame[frame["sku"] == sku].iloc[0]
    assert row["verdict"] == "owned_by_nop" and "published [nopcommerce]" in row["differing_fields"]
    assert report["unexplained_differences"].value == 0


def test_a_product_in_a_store_missing_from_the_mapping_is_reported_not_written(make_flow, instance):
    flow = make_flow({"stores": {1: {"channel_id": 1, "price_list_id": RETAIL, "warehouse_id": 1}}})
    mapped, unmapped = flow.simple_skus(2)
    nop = flow.world.nopcommerce
    nop.update_product_store_mappings(flow.nop_product(unmapped), [2])  # the Outlet store (2) is not in stores:
    nop.products[flow.nop_product(unmapped)["id"]]["limited_to_stores"] = True
    nop.update_product_store_mappings(flow.nop_product(mapped), [1])
    nop.products[flow.nop_product(mapped)["id"]]["limited_to_stores"] = True
    flow.edit_in_brightpearl(unmapped, name="Should not arrive")
    flow.edit_in_brightpearl(mapped, name="Should arrive")
    metadata = flow.sync_changed(instance)
    assert metadata["unmapped_store"].value == 1 and metadata["written"].value == 1
    assert flow.nop_product(unmapped)["name"] != "Should not arrive"
    assert flow.nop_product(mapped)["name"] == "Should arrive"
    flow.sync_prices(instance)  # the nightly price run: the seed's drifted prices
    report, frame = flow.reconcile(instance)
    row = frame[frame["sku"] == unmapped].iloc[0]
    assert row["verdict"] == "unmapped_store" and "store 2" in row["note"]
    assert report["verdict/unmapped_store"].value == 1 and report["unexplained_differences"].value == 0


@pytest.mark.slow
def test_after_a_full_run_the_reconciliation_has_nothing_unexplained(make_flow, instance):
    flow = make_flow()
    before, _ = flow.reconcile(instance)
    result = dg.materialize([products_from_brightpearl], resources=flow.resources, instance=instance)
    assert result.success
    after, frame = flow.reconcile(instance)
    assert after["unexplained_differences"].value == 0
    # SKUs on one side only are reported with their verdict, never created (create_in_nop is off).
    assert after["verdict/brightpearl_only"].value == before["verdict/brightpearl_only"].value > 0
    assert after["verdict/nop_only"].value > 0


def test_a_price_list_missing_from_brightpearl_fails_the_run_naming_the_key(make_flow, instance):
    flow = make_flow({"price_list_id": 9})  # the sandbox account has price lists 1 (cost) and 2 (retail)
    result = dg.materialize([prices_from_brightpearl], resources=flow.resources, instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "price list 9 does not exist" in str(failure.event_specific_data.error) and "price_list_id" in str(
        failure.event_specific_data.error)


@pytest.mark.slow
def test_a_write_failing_on_every_try_is_retried_by_the_sensor_and_a_refusal_is_dead_lettered(make_flow, instance):
    flow = make_flow()
    # Two tries per request instead of the default six: both fail, so every try still fails, without
    # the default's 15-20 s of backoff on the real clock (the transport's retries are held by transport/).
    nop = flow.resources["nopcommerce"]
    flow.resources["nopcommerce"] = NopCommerceResource(base_url=nop.base_url, email=nop.email, password=nop.password,
                                                        max_attempts=2)
    refused, flaky = flow.simple_skus(2)
    ledger = flow.resources["ledger"].get_ledger()
    flow.edit_in_brightpearl(refused, name="Refused by the shop")
    flow.faults(flow.nop_root, {"method": "PUT", "path": "/Product/Update", "error_rate": 1.0, "error_status": 400})
    assert flow.sync_changed(instance)["failed"].value == 1
    assert [(d.nop_key, d.reason) for d in ledger.dead_letters()] == [(refused, "validation_error")]

    flow.edit_in_brightpearl(flaky, name="Arrives on the retry")
    flow.faults(flow.nop_root, {"method": "PUT", "path": "/Product/Update", "error_rate": 1.0, "error_status": 503})
    assert flow.sync_changed(instance)["failed"].value == 1
    assert ledger.unsettled("catalogue_product") == [flaky]  # kept for a retry, not dead-lettered
    flow.faults(flow.nop_root)
    ledger.requeue("catalogue_product", [flaky])  # due now (the policy's wait is tested with a fake clock elsewhere)
    metadata = flow.sync_changed(instance)  # the sensor asks for the failed SKU's product again
    assert metadata["written"].value == 1
    assert flow.nop_product(flaky)["name"] == "Arrives on the retry"
    assert ledger.unsettled("catalogue_product") == []
