"""Catalogue checks; expected values from the stated rules (GS1 check digit: the GTIN examples
below are GS1's own and the EAN-13 on Wikipedia's "International Article Number" page)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bp_nop_dagster.nopcommerce.models import Product
from bp_nop_dagster.quality.common import Severity
from bp_nop_dagster.quality.products import ProductRecord, check_products, gtin_valid, product_records_from_nop

GOOD = dict(gtin="4006381333931", weight=Decimal("0.2"), price=Decimal("10"), cost=Decimal("4"), stock_quantity=3)


def found(*products: ProductRecord, brightpearl=None) -> set[tuple[str, str]]:
    issues = check_products(products, brightpearl)
    return set(zip(issues["record_id"], issues["code"]))


@pytest.mark.parametrize("gtin, valid", [("4006381333931", True), ("4006381333932", False), ("036000291452", True),
                                         ("96385074", True), ("10614141000415", True), ("123", False), ("40063813339a1", False)])
def test_gtin_check_digit(gtin, valid):
    assert gtin_valid(gtin) is valid


def test_a_clean_product_has_no_issue():
    assert found(ProductRecord(1, "BPN-00001", **GOOD), brightpearl=["BPN-00001"]) == set()


def test_skus_that_will_not_match():
    issues = check_products([
        ProductRecord(1, None, **GOOD), ProductRecord(2, " BPN-00002 ", **GOOD), ProductRecord(3, "bpn-00003", **GOOD),
        ProductRecord(4, "BPN\u00a000004", **GOOD), ProductRecord(5, "BPN-00005", **GOOD), ProductRecord(6, "BPN-00005", **GOOD),
        ProductRecord(7, "NEW-1", **GOOD), ProductRecord(8, "BPN-00008", deleted=True),
    ], ["BPN-00002", "BPN-00003", "BPN 00004", "BPN-00005"])
    got = {(r, c): s for r, c, s in zip(issues["record_id"], issues["code"], issues["suggestion"])}
    assert set(got) == {
        ("product:1", "SKU_MISSING"), ("product:2", "SKU_WHITESPACE"), ("product:3", "SKU_NEAR_MATCH"),
        ("product:4", "SKU_WHITESPACE"), ("product:4", "SKU_NOT_IN_BRIGHTPEARL"), ("product:5", "SKU_DUPLICATE"),
        ("product:6", "SKU_DUPLICATE"), ("product:7", "SKU_NOT_IN_BRIGHTPEARL"),
    }
    assert got[("product:2", "SKU_WHITESPACE")] == "BPN-00002" and got[("product:3", "SKU_NEAR_MATCH")] == "BPN-00003"
    assert set(issues.loc[issues["code"] == "SKU_NOT_IN_BRIGHTPEARL", "severity"]) == {Severity.WARN.value}
    assert found(ProductRecord(7, "NEW-1", **GOOD)) == set()  # without Brightpearl's list: not checked against it


def test_gtin_weight_and_prices():
    assert found(ProductRecord(1, "A", **{**GOOD, "gtin": "4006381333932"})) == {("product:1", "GTIN_INVALID")}
    assert found(ProductRecord(1, "A", **{**GOOD, "gtin": None})) == {("product:1", "GTIN_MISSING")}
    assert found(ProductRecord(1, "A", **{**GOOD, "gtin": None}, published=False)) == set()
    assert found(ProductRecord(1, "A", **{**GOOD, "weight": Decimal(0)})) == {("product:1", "WEIGHT_MISSING")}
    assert found(ProductRecord(1, "A", **{**GOOD, "weight": Decimal(0)}, ship_enabled=False)) == set()
    assert found(ProductRecord(1, "A", **{**GOOD, "price": Decimal("3.99")})) == {("product:1", "PRICE_BELOW_COST")}
    assert found(ProductRecord(1, "A", **{**GOOD, "price": Decimal(0), "cost": Decimal(0)})) == {("product:1", "STOCK_WITHOUT_PRICE")}
    assert found(ProductRecord(1, "A", **{**GOOD, "price": Decimal(0), "cost": Decimal(0), "stock_quantity": 0})) == set()
    assert found(ProductRecord(1, "A", **{**GOOD, "price": Decimal(0), "cost": Decimal(0)}, tracked=False)) == set()


def test_from_nopcommerce_products():
    product = Product(id=5, sku=" X ", gtin="123", price=Decimal("2"), product_cost=Decimal("3"), weight=Decimal("1"),
                      manage_inventory_method_id=1, stock_quantity=4)
    records = product_records_from_nop([product])
    assert records[0] == ProductRecord(5, " X ", None, "123", Decimal("1"), Decimal("2"), Decimal("3"), 4, True, True, True, False)
    assert found(*records) == {("product:5", "SKU_WHITESPACE"), ("product:5", "GTIN_INVALID"), ("product:5", "PRICE_BELOW_COST")}
