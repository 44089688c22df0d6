"""Brightpearl fulfilment → nopCommerce mapping: shipment lines, the note's natural key, order ids, status actions."""

from __future__ import annotations

import pytest
import yaml

from bp_nop_dagster.brightpearl.models import GoodsOutNote, SalesOrderRow
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE, MappingConfigError, load_mapping_config, parse_mapping_config
from bp_nop_dagster.mapping.fulfilment import (
    FulfilmentMappingError,
    ShipmentLine,
    find_shipment_for_note,
    nop_order_id,
    nop_warehouse_id,
    note_id_in_comment,
    order_status_action,
    shipment_comment,
    shipment_lines,
    tracking_number,
)
from bp_nop_dagster.nopcommerce.models import OrderItem, Shipment

CONFIG = load_mapping_config().with_instance_id(lambda: 1)  # as a run resolves it: the account's header says 1


def note(rows: dict[int, list[int]], reference: str | None = "1Z999") -> GoodsOutNote:
    """A goods-out note as the wire has it: sales-order row id -> lines (quantities)."""
    wire = {
        "orderId": 500, "warehouseId": 1, "status": {"shipped": True},
        "orderRows": {str(row): [{"productId": 7, "quantity": q, "locationId": 1} for q in lines] for row, lines in rows.items()},
    }
    if reference is not None:
        wire["shipping"] = {"reference": reference}
    return GoodsOutNote.model_validate({**wire, "id": 77})


def item(item_id: int, quantity: int, product_id: int = 1) -> OrderItem:
    return OrderItem(id=item_id, order_id=9, product_id=product_id, quantity=quantity)


def row(row_id: int, *, ref: str | None = None, sku: str | None = None) -> SalesOrderRow:
    return SalesOrderRow(id=row_id, sku=sku, external_ref=ref, quantity=1)


def shipment(shipment_id: int, *, tracking: str = "", comment: str = "") -> Shipment:
    return Shipment(id=shipment_id, order_id=9, tracking_number=tracking, admin_comment=comment, created_on_utc="2026-01-01T00:00:00")


ITEMS = [item(11, 2), item(12, 3), item(13, 1)]
BY_REF = {1: row(1, ref="11"), 2: row(2, ref="12"), 3: row(3, ref="13")}
SKUS = {11: "A", 12: "B", 13: "B"}


@pytest.mark.parametrize(
    ("note_rows", "rows", "skus", "elsewhere", "expected"),
    [
        pytest.param({1: [2], 2: [3]}, BY_REF, {}, {}, [ShipmentLine(11, 2), ShipmentLine(12, 3)], id="by-external-ref"),
        pytest.param({1: [1, 1]}, BY_REF, {}, {}, [ShipmentLine(11, 2)], id="several-lines-of-one-row-summed"),
        pytest.param({2: [1]}, BY_REF, {}, {12: 2}, [ShipmentLine(12, 1)], id="partial-after-an-earlier-shipment"),
        pytest.param({5: [4]}, {5: row(5, sku="B")}, SKUS, {}, [ShipmentLine(12, 3), ShipmentLine(13, 1)], id="sku-spread-over-items"),
        pytest.param({5: [1]}, {5: row(5, sku="B")}, SKUS, {12: 3}, [ShipmentLine(13, 1)], id="sku-skips-items-already-shipped"),
        pytest.param({1: [2]}, {1: row(1, ref="999", sku="A")}, SKUS, {}, [ShipmentLine(11, 2)], id="foreign-ref-falls-back-to-sku"),
        pytest.param({1: [0]}, BY_REF, {}, {}, [], id="zero-quantity-ignored"),
    ],
)
def test_shipment_lines(note_rows, rows, skus, elsewhere, expected):
    assert shipment_lines(note(note_rows), rows, ITEMS, skus, elsewhere) == expected


@pytest.mark.parametrize(
    ("note_rows", "rows", "skus", "elsewhere", "reason"),
    [
        pytest.param({9: [1]}, BY_REF, SKUS, {}, "unknown_sku", id="row-not-on-the-order"),
        pytest.param({5: [1]}, {5: row(5, sku="Z")}, SKUS, {}, "unknown_sku", id="sku-not-on-the-nop-order"),
        pytest.param({5: [1]}, {5: row(5)}, SKUS, {}, "unknown_sku", id="no-ref-no-sku"),
        pytest.param({1: [3]}, BY_REF, {}, {}, "validation_error", id="more-than-ordered"),
        pytest.param({1: [1]}, BY_REF, {}, {11: 2}, "validation_error", id="already-shipped-elsewhere"),
    ],
)
def test_shipment_lines_refusals(note_rows, rows, skus, elsewhere, reason):
    with pytest.raises(FulfilmentMappingError) as refused:
        shipment_lines(note(note_rows), rows, ITEMS, skus, elsewhere)
    assert refused.value.reason == reason and "goods-out note 77" in refused.value.message


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        (shipment_comment(77), 77),
        ("packed by Jo. " + shipment_comment(123) + " (box 2)", 123),
        ("Brightpearl goods-out note #", None),
        ("", None),
        (None, None),
    ],
)
def test_note_marker_round_trip(comment, expected):
    assert note_id_in_comment(comment) == expected


@pytest.mark.parametrize(
    ("shipments", "tracking", "claimed", "expected"),
    [
        pytest.param([shipment(1, comment=shipment_comment(77))], "", (), 1, id="marker"),
        pytest.param([shipment(1, comment=shipment_comment(777))], "", (), None, id="marker-of-a-longer-id-is-not-ours"),
        pytest.param([shipment(1, tracking="1Z999"), shipment(2, comment=shipment_comment(77), tracking="X")], "1Z999", (), 2,
                     id="marker-wins-over-tracking"),
        pytest.param([shipment(1, tracking=" 1Z999 ")], "1Z999", (), 1, id="hand-made-shipment-with-the-tracking-number"),
        pytest.param([shipment(1, tracking="1Z999", comment=shipment_comment(78))], "1Z999", (), None, id="tracking-of-another-note"),
        pytest.param([shipment(1, tracking="1Z999")], "1Z999", (1,), None, id="tracking-claimed-by-another-note"),
        pytest.param([shipment(1, tracking="")], "", (), None, id="no-tracking-no-match"),
    ],
)
def test_find_shipment_for_note(shipments, tracking, claimed, expected):
    found = find_shipment_for_note(shipments, 77, tracking, claimed_shipment_ids=claimed)
    assert (found.id if found else None) == expected


def test_tracking_number_is_the_note_reference():
    assert tracking_number(note({1: [1]}, reference=" 1Z1 ")) == "1Z1"
    assert tracking_number(note({1: [1]}, reference=None)) == ""


@pytest.mark.parametrize(
    ("external_ref", "instance", "expected"),
    [
        ("nop-42", 1, 42),
        ("nop-42", 2, None),
        ("nop-42", None, None),
        ("nop-x", 1, None),
        ("nop-0", 1, None),
        ("phone-42", 1, None),
        (None, 1, None),
    ],
)
def test_nop_order_id_from_external_ref(external_ref, instance, expected):
    assert nop_order_id(external_ref, instance, CONFIG) == expected


@pytest.mark.parametrize(("bp_warehouse", "expected"), [(1, 1), (3, 2), (2, 0), (99, 0)])
def test_nop_warehouse_of_the_shipment_items_default_mapping(bp_warehouse, expected):
    assert nop_warehouse_id(bp_warehouse, CONFIG) == expected


@pytest.mark.parametrize(("status_id", "expected"), [(5, "cancel"), (2, None), (None, None)])
def test_order_status_action_default_mapping(status_id, expected):
    assert order_status_action(status_id, CONFIG) == expected


def _mapping_with(fulfilment) -> dict:
    data = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text(encoding="utf-8"))
    data["fulfilment"] = fulfilment
    return data


def test_deliver_mapping_and_errors_naming_the_key():
    config = parse_mapping_config(_mapping_with({"on_order_status": {5: "cancel", 8: "deliver"}, "notify_customer": False}))
    assert order_status_action(8, config) == "deliver" and config.fulfilment.notify_customer is False
    with pytest.raises(MappingConfigError, match=r"fulfilment\.on_order_status\.5"):
        parse_mapping_config(_mapping_with({"on_order_status": {5: "refund"}}))
    with pytest.raises(MappingConfigError, match=r"fulfilment\.on_order_status\.0"):
        parse_mapping_config(_mapping_with({"on_order_status": {0: "cancel"}}))
    with pytest.raises(MappingConfigError, match=r"fulfilment\.notify: unknown key"):
        parse_mapping_config(_mapping_with({"notify": True}))
