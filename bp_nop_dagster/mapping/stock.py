"""Stock arithmetic (pure): what nopCommerce may sell, from Brightpearl's stock (DESIGN principle 6).

Brightpearl is the master of stock. Per product, in units:

    target = max(0, on_hand - in_flight - buffer)

- `on_hand`: Brightpearl `onHand` (= inStock - allocated) summed over the counted warehouses.
  `onHand`, not `inStock`: allocated units are promised to orders Brightpearl already holds, so
  selling them again would oversell. `allocated` alone is no sellable quantity at all.
- `in_flight`: units of nopCommerce orders Brightpearl does not hold yet, or holds but has not
  allocated (sold in the shop, not yet taken out of Brightpearl's on-hand).
- `buffer`: units held back per product (or per combination), configured.

How each nopCommerce inventory method receives it (notes §7.3):
- 0 DontManageStock: skipped, nothing to write.
- 1 ManageStock, one warehouse: `product.stock_quantity = target`.
- 1 ManageStock with `use_multiple_warehouses`: each mapped nopCommerce warehouse gets the on-hand
  of its Brightpearl warehouses; in-flight units and the buffer are taken from the largest shares
  first. nopCommerce sells `stock_quantity - reserved_quantity` per warehouse and reserves (not
  decrements) on checkout, so `stock_quantity = share + reserved_quantity`.
- 2 ManageStockByAttributes: each attribute combination is its own Brightpearl product (by its
  SKU): `combination.stock_quantity = target` of that SKU.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bp_nop_dagster.mapping.config import StockMapping


def on_hand(warehouse_on_hand: Mapping[int, int], warehouses: Iterable[int]) -> int:
    """Brightpearl on-hand summed over `warehouses` (absent warehouses hold nothing). Negative
    on-hand (over-allocated) counts as it is: it lowers what the other warehouses can give."""
    return sum(int(warehouse_on_hand.get(w, 0)) for w in warehouses)


def target_stock(on_hand_units: int, in_flight: int, buffer: int) -> int:
    """What nopCommerce may sell: on-hand minus in-flight orders minus the buffer, never below 0."""
    return max(0, on_hand_units - in_flight - buffer)


def split_across_warehouses(on_hand_by_warehouse: Mapping[int, int], deduction: int) -> dict[int, int]:
    """Each nopCommerce warehouse's sellable units: its on-hand share (floored at 0) minus
    `deduction` (in-flight + buffer) taken from the largest shares first (ties: lower id first),
    so the total equals `target_stock` of the summed shares."""
    shares = {w: max(0, int(q)) for w, q in on_hand_by_warehouse.items()}
    left = max(0, deduction)
    for warehouse in sorted(shares, key=lambda w: (-shares[w], w)):
        taken = min(shares[warehouse], left)
        shares[warehouse] -= taken
        left -= taken
    return shares


def nop_warehouse_on_hand(warehouse_on_hand: Mapping[int, int], stock: StockMapping) -> dict[int, int]:
    """nopCommerce warehouse id -> on-hand of the Brightpearl warehouses mapped to it."""
    return {nop_w: on_hand(warehouse_on_hand, bp_ws) for nop_w, bp_ws in stock.nop_warehouses.items()}


def attributes_key(attributes_xml: str | None) -> str:
    """Comparison key of an attribute selection: the XML without whitespace."""
    return "".join((attributes_xml or "").split())


@dataclass(frozen=True)
class WarehouseWrite:
    """One ProductWarehouseInventory record's new `stock_quantity` (absolute)."""

    record_id: int
    warehouse_id: int
    current: int
    reserved: int
    wanted: int


def warehouse_writes(
    records: Iterable[tuple[int, int, int, int]], sellable_by_warehouse: Mapping[int, int]
) -> list[WarehouseWrite]:
    """For records `(record_id, warehouse_id, stock_quantity, reserved_quantity)` of a
    multi-warehouse product: `stock_quantity = sellable + reserved` for mapped warehouses.
    Records of unmapped nopCommerce warehouses are left alone (not in the result)."""
    writes = []
    for record_id, warehouse_id, current, reserved in records:
        if warehouse_id in sellable_by_warehouse:
            wanted = sellable_by_warehouse[warehouse_id] + max(0, reserved)
            writes.append(WarehouseWrite(record_id, warehouse_id, current, reserved, wanted))
    return writes
