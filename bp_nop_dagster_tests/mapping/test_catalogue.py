"""Pure catalogue rules and the mapping's `catalogue:` and `stores:` sections. Expected values
come from the rules stated in mapping/catalogue.py's docstring and default_mapping.yaml, and the
Brightpearl product shape from the recording product_get_one.json."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from bp_nop_dagster.mapping.catalogue import brightpearl_values, changes_for_nop, differences, new_product_fields, nop_values
from bp_nop_dagster.mapping.config import (
    DEFAULT_MAPPING_FILE,
    CatalogueMapping,
    MappingConfigError,
    MappingError,
    load_mapping_config,
    parse_mapping_config,
    validate_against_reference,
)


def recorded_product(**changes) -> dict:
    """product_get_one.json's product (the parts the rules read), with `changes`."""
    product = {
        "id": 1007, "identity": {"sku": "TEST001", "barcode": ""},
        "stock": {"stockTracked": True, "weight": {"magnitude": 0.0}, "dimensions": {"length": 0.0, "height": 0.0, "width": 0.0}},
        "salesChannels": [{"salesChannelName": "Brightpearl", "productName": "Nice Shirt for Summer",
                           "shortDescription": {"languageCode": "en", "text": "", "format": "HTML_FRAGMENT"}}],
        "status": "LIVE",
    }
    product.update(changes)
    return product


def test_recorded_product_sets_name_published_and_price_only():
    # The recording's product has no EAN/MPN, 0.0 weight and dimensions and an empty short
    # description: all "not set", so the shop's values stand.
    values = brightpearl_values(recorded_product(), Decimal("12.5"), CatalogueMapping())
    assert values == {"name": "Nice Shirt for Summer", "published": True, "price": Decimal("12.5000")}


def test_every_field_read_from_its_brightpearl_place():
    product = recorded_product(
        identity={"sku": "TEST001", "ean": "5012345678900", "mpn": "MPN-1"}, status="DISCONTINUED",
        stock={"weight": {"magnitude": 1.25}, "dimensions": {"length": 30.0, "height": 2.0, "width": 20.0}},
        salesChannels=[{"productName": "Shirt", "shortDescription": {"text": "Cotton shirt"}}],
    )
    values = brightpearl_values(product, None, CatalogueMapping())
    assert values == {"name": "Shirt", "gtin": "5012345678900", "manufacturer_part_number": "MPN-1",
                      "weight": Decimal("1.2500"), "length": Decimal("30.0000"), "height": Decimal("2.0000"),
                      "width": Decimal("20.0000"), "published": False, "short_description": "Cotton shirt"}


def test_only_brightpearl_owned_fields_are_written():
    catalogue = CatalogueMapping(owners={"name": "nopcommerce"})
    bp = {"name": "Shirt", "price": Decimal("10.0000"), "published": True}
    nop = nop_values({"name": "Shop's own name", "price": 9.5, "published": True, "weight": 0.5})
    assert changes_for_nop(bp, nop, catalogue) == {"price": 10.0}
    owners = {d.field: d.owner for d in differences(bp, nop, catalogue)}
    assert owners == {"name": "nopcommerce", "price": "brightpearl"}


def test_a_combination_takes_gtin_mpn_and_overridden_price_only():
    bp = {"name": "Shirt S", "gtin": "5012345678900", "price": Decimal("11.0000"), "published": True}
    nop = nop_values({"gtin": None, "manufacturer_part_number": None, "overridden_price": None}, combination=True)
    assert changes_for_nop(bp, nop, CatalogueMapping(), combination=True) == {"gtin": "5012345678900", "overridden_price": 11.0}


def test_equal_at_four_decimals_is_no_change():
    assert changes_for_nop({"price": Decimal("10.0000")}, nop_values({"price": 10.00001}), CatalogueMapping()) == {}


def _default() -> dict:
    return yaml.safe_load(DEFAULT_MAPPING_FILE.read_text())


def test_without_stores_every_store_id_gets_the_top_level_keys():
    config = load_mapping_config()
    assert config.stores == {}
    assert config.for_store(1) is config and config.for_store(99) is config


def test_a_listed_store_gets_its_channel_price_list_warehouse_and_stock():
    data = _default()
    data["stores"] = {1: {"channel_id": 1, "price_list_id": 2, "warehouse_id": 1},
                      2: {"channel_id": 2, "price_list_id": 1, "warehouse_id": 3, "stock": {"brightpearl_warehouses": [3], "buffer": 2}}}
    config = parse_mapping_config(data)
    second = config.for_store(2)
    assert (second.channel_id, second.price_list_id, second.warehouse_id) == (2, 1, 3)
    assert second.stock.brightpearl_warehouses == [3] and second.stock.buffer == 2
    assert config.for_store(1).stock == config.stock
    with pytest.raises(MappingError) as error:
        config.for_store(3)
    assert error.value.reason == "unknown_store"


def test_an_unknown_catalogue_field_is_refused_by_name():
    data = _default()
    data["catalogue"] = {"owners": {"colour": "brightpearl"}}
    with pytest.raises(MappingConfigError) as error:
        parse_mapping_config(data)
    assert "catalogue.owners.colour" in str(error.value)


def test_the_stores_ids_are_checked_against_the_account():
    data = _default()
    data["stores"] = {2: {"channel_id": 7, "price_list_id": 2, "warehouse_id": 1, "stock": {"brightpearl_warehouses": [9]}}}
    problems = validate_against_reference(parse_mapping_config(data), channel_ids={1, 2, 3}, warehouse_ids={1, 2, 3},
                                          price_list_ids={1, 2})
    assert [p.split(":")[0] for p in problems] == ["stores.2.channel_id", "stores.2.stock.brightpearl_warehouses.0"]


def test_a_product_created_from_brightpearl_is_visible_reviewable_and_priced_as_a_json_number():
    """nopCommerce lists only products with VisibleIndividually set (a product hidden this way is
    reachable only as part of another), and its admin's new-product defaults allow customer
    reviews; the ProductDto price is a JSON number, so a Decimal goes out as a float."""
    fields = new_product_fields("SKU-9", {"name": "Scarf", "price": Decimal("12.50")})
    assert (fields["visible_individually"], fields["allow_customer_reviews"]) == (True, True)
    assert fields["price"] == 12.5 and type(fields["price"]) is float
