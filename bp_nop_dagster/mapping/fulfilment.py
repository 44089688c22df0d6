"""Brightpearl fulfilment → nopCommerce, as pure functions (no I/O).

Brightpearl is the master of fulfilment: a shipped goods-out note becomes one nopCommerce
shipment carrying the note's tracking reference and the order items it shipped, and some
Brightpearl order statuses act on the nopCommerce order (`fulfilment.on_order_status`).

- A shipment is tied to its note by a marker in its `admin_comment` ("Brightpearl goods-out note
  #123"), the natural key looked up before any (re)create; a shipment someone made by hand in
  nopCommerce with the note's tracking number is adopted rather than duplicated.
- Goods-out lines are keyed by the *sales-order row id*; the row says which nop order item it
  sold through its `externalRef` (the order flow writes the nop order item id there), else its
  SKU, whose quantity is spread over the nop items selling that SKU in item order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bp_nop_dagster.brightpearl.models import GoodsOutNote, SalesOrderRow
from bp_nop_dagster.mapping.config import MappingConfig
from bp_nop_dagster.nopcommerce.models import OrderItem, Shipment

_MARKER = "Brightpearl goods-out note #{}"
_MARKER_PATTERN = re.compile(r"Brightpearl goods-out note #(\d+)(?!\d)")


class FulfilmentMappingError(Exception):
    """A goods-out note that cannot become a nopCommerce shipment. `reason` is a dead-letter
    reason of the ledger (`unknown_sku`, `validation_error`)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ShipmentLine:
    """One nopCommerce shipment item to create."""

    order_item_id: int
    quantity: int


def shipment_comment(note_id: int) -> str:
    """The shipment's `admin_comment`: names the goods-out note it came from (its natural key)."""
    return _MARKER.format(int(note_id))


def note_id_in_comment(comment: str | None) -> int | None:
    """The goods-out note id a shipment's `admin_comment` names, or None."""
    match = _MARKER_PATTERN.search(comment or "")
    return int(match.group(1)) if match else None


def find_shipment_for_note(
    shipments: Iterable[Shipment], note_id: int, tracking_number: str, *, claimed_shipment_ids: Iterable[int] = ()
) -> Shipment | None:
    """The order's shipment that already stands for this note: the one whose comment names the
    note, else one with the same (non-empty) tracking number that names no note and no other
    note has claimed. None: the shipment must be created."""
    candidates = sorted(shipments, key=lambda s: s.id)
    for shipment in candidates:
        if note_id_in_comment(shipment.admin_comment) == note_id:
            return shipment
    if not tracking_number:
        return None
    claimed = set(claimed_shipment_ids)
    for shipment in candidates:
        if (
            shipment.id not in claimed
            and note_id_in_comment(shipment.admin_comment) is None
            and (shipment.tracking_number or "").strip() == tracking_number
        ):
            return shipment
    return None


def tracking_number(note: GoodsOutNote) -> str:
    return (note.shipping_reference or "").strip()


def nop_order_id(external_ref: str | None, instance_id: int | None, config: MappingConfig) -> int | None:
    """The nop order id behind a Brightpearl sales order created by the order flow (externalRef
    `<prefix><id>` under our installed integration instance), else None."""
    prefix = config.external_ref_prefix
    if not external_ref or not external_ref.startswith(prefix) or (instance_id or 0) != (config.installed_integration_instance_id or 0):
        return None
    number = external_ref[len(prefix):]
    return int(number) if number.isdigit() and int(number) > 0 else None


def shipment_lines(
    note: GoodsOutNote,
    bp_rows: Mapping[int, SalesOrderRow],
    nop_items: Sequence[OrderItem],
    item_skus: Mapping[int, str | None],
    shipped_elsewhere: Mapping[int, int],
) -> list[ShipmentLine]:
    """The nop shipment items for a goods-out note.

    `bp_rows`: the sales order's rows by row id; `item_skus`: nop order item id -> SKU;
    `shipped_elsewhere`: nop order item id -> quantity already in the order's *other* shipments.
    Raises FulfilmentMappingError when a shipped row matches no nop item (`unknown_sku`) or ships
    more than the matching items have left to ship (`validation_error`).

    This is the only guard against over-shipping: `ShipmentItem/Create` is a plain insert that
    checks no quantity (plugin ShipmentItemController.Create), so an item never gets more than
    ordered minus what the order's other shipments already hold."""
    left = {item.id: item.quantity - shipped_elsewhere.get(item.id, 0) for item in nop_items}
    by_id = {item.id: item for item in sorted(nop_items, key=lambda i: i.id)}
    wanted: dict[int, int] = {}
    for row_id in sorted(note.rows):
        quantity = sum(line.quantity for line in note.rows[row_id])
        if quantity <= 0:
            continue
        row = bp_rows.get(row_id)
        candidates = _items_for_row(row, by_id, item_skus)
        if not candidates:
            what = f"SKU {row.sku!r}" if row and row.sku else "no SKU"
            raise FulfilmentMappingError(
                "unknown_sku", f"goods-out note {note.id}: order row {row_id} ({what}) matches no item of the nopCommerce order"
            )
        for item_id in candidates:
            take = min(quantity, max(left[item_id] - wanted.get(item_id, 0), 0))
            if take:
                wanted[item_id] = wanted.get(item_id, 0) + take
                quantity -= take
        if quantity:
            raise FulfilmentMappingError(
                "validation_error",
                f"goods-out note {note.id}: order row {row_id} ships {quantity} more than nopCommerce items {candidates} have left to ship",
            )
    return [ShipmentLine(item_id, quantity) for item_id, quantity in sorted(wanted.items())]


def _items_for_row(row: SalesOrderRow | None, items: Mapping[int, OrderItem], item_skus: Mapping[int, str | None]) -> list[int]:
    if row is None:
        return []
    ref = (row.external_ref or "").strip()
    if ref.isdigit() and int(ref) in items:
        return [int(ref)]
    if not row.sku:
        return []
    return [item_id for item_id in items if item_skus.get(item_id) == row.sku]


def nop_warehouse_id(bp_warehouse_id: int, config: MappingConfig) -> int:
    """The nopCommerce warehouse a note's Brightpearl warehouse stocks (`stock.nop_warehouses`),
    for the shipment items: nopCommerce books a multi-warehouse product's reserved stock out of
    that warehouse on Ship. 0 (none) when the warehouse is not mapped."""
    for nop_id, bp_ids in sorted(config.stock.nop_warehouses.items()):
        if bp_warehouse_id in bp_ids:
            return nop_id
    return 0


def order_status_action(status_id: int | None, config: MappingConfig) -> str | None:
    """What a Brightpearl order status does to the nop order ("cancel", "deliver") or None."""
    if status_id is None:
        return None
    return config.fulfilment.on_order_status.get(int(status_id))
