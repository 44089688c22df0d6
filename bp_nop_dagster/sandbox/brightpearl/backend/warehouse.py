"""warehouse-service, stock side: warehouses, stock levels, goods movements, stock corrections,
reservations (allocation), product availability. Goods-out notes are in `goods_out.py`.

Stock model (help 211131266 "Understanding Inventory Levels"): in stock = every unit in the
warehouse; allocated = units reserved for orders plus units on open goods-out notes; on hand = in
stock - allocated. Only goods movements (stock corrections, shipped goods-out notes) change in
stock; allocation changes on hand without a goods movement:

- a new sales order allocates what is available of each stock-tracked row in its warehouse
  ("If a customer places a sale on a channel, and there is inventory available, then that
  inventory is allocated to the sales order ... The on-hand quantity is reduced"), except where
  the account does not allocate automatically (help 211131506: manually entered orders are not):
  `FidelityOptions.allocate_on_create` per channel;
- reservations (`/warehouse-service/order/{id}/reservation/warehouse/{wh}`) allocate and release.

Goods movements carry the documented goods-movement-search columns (api-docs.brightpearl.com/
warehouse/goods-movement/search.html) and `updatedOn` (filtered and sorted on by integrators:
Airbyte source-brightpearl, Medusa).

Quarantine (api-docs warehouse/quarantine-location, quarantine-release): every warehouse has a
quarantine location (id `200 + warehouseId`) for stock "present in a particular Warehouse, but ...
not available for sale, allocation or Reservation" (customer returns, damaged stock); stock enters
it only through goods-in notes (or external transfers) and leaves it only through a quarantine
release `POST /warehouse/{id}/quarantine/release {productId, quantity, toLocationId}` -> `{}`; with
nothing to release 400 WHSB-023 "None of the requested products are available in location
<quarantine id>". Quarantined units are never on hand; whether availability counts them in
`inStock` is `FidelityOptions.quarantine_stock` (inferred).

Product availability (docs/reference/brightpearl-api.md section 7; recording
product_availability_get.json): `{"<id>": {"total": {...}, "warehouses": {"<wh>": {...}}}}`. Non-stock-
tracked products answer 400 WHSC-097 "This is a non stock tracked product." / "These are non stock
tracked products." (Airbyte source-brightpearl handles exactly these two bodies); whether one such
id fails the whole ID set is `FidelityOptions.non_stock_tracked_availability` (inferred).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from bp_nop_dagster.sandbox.brightpearl.backend.common import (
    Q4,
    Service,
    as_int,
    as_object,
    as_text,
    bad,
    fmt_dt,
    fmt_value,
    idset_ids,
    not_found,
    reference_reply,
)
from bp_nop_dagster.sandbox.brightpearl.backend.reference import ACCOUNTING_CURRENCY, SHIPPING_METHODS
from bp_nop_dagster.sandbox.brightpearl.backend.search import Col, SearchSpec
from bp_nop_dagster.sandbox.instrumentation import json_bytes

# goods-movement-search columns in documented order (type as documented), then updatedOn
MOVEMENT_COLUMNS = (
    ("goodsMovementId", "IDSET"), ("productId", "INTEGER"), ("salesOrderRowId", "IDSET"), ("purchaseOrderRowId", "IDSET"),
    ("quantity", "INTEGER"), ("destinationLocationId", "INTEGER"), ("warehouseId", "INTEGER"), ("goodsNoteId", "IDSET"),
    ("productValue", "STRING"), ("currencyCode", "STRING"), ("orderId", "INTEGER"), ("isCleared", "BOOLEAN"),
    ("isQuarantine", "BOOLEAN"), ("batchId", "INTEGER"), ("goodsNoteTypeCode", "STRING"), ("updatedOn", "PERIOD"),
)
WHSC_097 = ("This is a non stock tracked product.", "These are non stock tracked products.")


class WarehouseService(Service):
    """Warehouses, stock levels and their changes."""

    def __init__(self, account) -> None:
        super().__init__(account)
        self.warehouses: dict[int, dict] = {}
        self.movements: list[dict] = []  # kept sorted by (updatedOn, id)
        self._movement_keys: list[tuple[datetime, int]] = []
        self._movement_json: dict[int, bytes] = {}
        self.stock_corrections: dict[int, dict] = {}
        self.reservations: dict[int, dict[int, dict[int, dict]]] = {}  # order -> warehouse -> row -> {productId, quantity}
        self._in_stock: dict[tuple[int, int], int] = {}
        self._allocated: dict[tuple[int, int], int] = {}
        self._quarantined: dict[tuple[int, int], int] = {}
        self._stock_warehouses: dict[int, set[int]] = {}

    # ------------------------------------------------------------ warehouses

    def add_warehouse(self, name: str, code: str) -> int:
        warehouse_id = self.next_id("warehouse")
        self.warehouses[warehouse_id] = {"id": warehouse_id, "name": name, "code": code}
        self.account.product_service.invalidate()  # product GETs list per-warehouse settings
        return warehouse_id

    @staticmethod
    def default_location(warehouse_id: int) -> int:
        return 100 + warehouse_id

    @staticmethod
    def quarantine_location(warehouse_id: int) -> int:
        return 200 + warehouse_id

    def api_reference(self, kind: str, idset: str | None) -> dict:
        items = list(self.warehouses.values()) if kind == "warehouse" else SHIPPING_METHODS
        return reference_reply(items, idset, kind.replace("-", " "))

    def api_default_location(self, warehouse_id: str) -> dict:
        wid = as_int(warehouse_id, "warehouseId", "CMNC-011")
        if wid not in self.warehouses:
            raise not_found(f"Warehouse {wid} not found")
        location = self.default_location(wid)  # the reply's shape is inferred: `default_location_reply`
        if self.options.default_location_reply == "object":
            return {"response": {"id": location, "warehouseId": wid}}
        return {"response": location}

    def api_quarantine_location(self, warehouse_id: str) -> dict:
        """`GET /warehouse-service/warehouse/{id}/location/quarantine` (path: the Ruby client
        DatanautsUK/brightpearl-ruby `get_quarantine_location`; the reply's shape is inferred:
        `quarantine_location_reply`)."""
        wid = as_int(warehouse_id, "warehouseId", "CMNC-011")
        if wid not in self.warehouses:
            raise not_found(f"Warehouse {wid} not found")
        location = self.quarantine_location(wid)
        if self.options.quarantine_location_reply == "object":
            return {"response": {"id": location, "warehouseId": wid, "groupingA": "QUARANTINE"}}
        return {"response": location}

    # ------------------------------------------------------------ stock levels

    def on_hand(self, product_id: int, warehouse_id: int) -> int:
        """In stock less allocated less quarantined (quarantined units are not for sale)."""
        key = (product_id, warehouse_id)
        return self._in_stock.get(key, 0) - self._allocated.get(key, 0) - self._quarantined.get(key, 0)

    def quarantined(self, product_id: int, warehouse_id: int) -> int:
        return self._quarantined.get((product_id, warehouse_id), 0)

    def holds_stock(self, product_id: int) -> bool:
        """Whether any warehouse has units of the product in stock (quarantine included)."""
        return any(self._in_stock.get((product_id, w), 0) for w in self._stock_warehouses.get(product_id, ()))

    def allocate(self, product_id: int, warehouse_id: int, delta: int) -> None:
        """Allocated units up (or down, negative delta): on hand changes, in stock does not."""
        key = (product_id, warehouse_id)
        self._allocated[key] = self._allocated.get(key, 0) + delta
        self._stock_warehouses.setdefault(product_id, set()).add(warehouse_id)
        if delta and "allocation" in self.options.webhook_on_hand_by:
            self.account.integration_service.raise_event("product.modified.on-hand-modified", [product_id])

    def add_movement(self, product_id: int, warehouse_id: int, quantity: int, type_code: str, note_id: int, at: datetime,
                     *, order_id: int | None = None, row_id: int | None = None, purchase_row_id: int | None = None,
                     location_id: int | None = None, unit_value: Decimal | None = None) -> None:
        """A goods movement: in stock changes by `quantity` (negative: out); into or out of the
        quarantine location, the quarantined units change with it."""
        products = self.account.product_service
        product = products.products[product_id]
        location = self.default_location(warehouse_id) if location_id is None else location_id
        quarantine = location == self.quarantine_location(warehouse_id)
        value = product.cost if unit_value is None else unit_value
        movement = {
            "goodsMovementId": self.next_id("movement"), "productId": product_id, "salesOrderRowId": row_id,
            "purchaseOrderRowId": purchase_row_id, "quantity": quantity, "destinationLocationId": location,
            "warehouseId": warehouse_id, "goodsNoteId": note_id,
            "productValue": str((value * Decimal(abs(quantity))).quantize(Q4)), "currencyCode": ACCOUNTING_CURRENCY,
            "orderId": order_id, "isCleared": False, "isQuarantine": quarantine, "batchId": None,
            "goodsNoteTypeCode": type_code, "updatedOn": at,
        }
        if quarantine:
            key = (product_id, warehouse_id)
            self._quarantined[key] = self._quarantined.get(key, 0) + quantity
        if "stock" in self.options.product_updated_on_by:
            products.modified(product, "stock")
        key = (at, movement["goodsMovementId"])
        position = bisect_left(self._movement_keys, key)
        self._movement_keys.insert(position, key)
        self.movements.insert(position, movement)
        self._in_stock[(product_id, warehouse_id)] = self._in_stock.get((product_id, warehouse_id), 0) + quantity
        self._stock_warehouses.setdefault(product_id, set()).add(warehouse_id)
        if "movement" in self.options.webhook_on_hand_by:
            self.account.integration_service.raise_event("product.modified.on-hand-modified", [product_id])

    def api_availability(self, idset: str) -> dict:
        """`GET /warehouse-service/product-availability/{idset}` (cap 200 chosen like product GET, inferred)."""
        products = self.account.product_service.products
        wanted = [i for i in idset_ids(idset, 200) if i in products]  # unknown ids are left out
        untracked = [i for i in wanted if not products[i].stock_tracked]
        rule = self.options.non_stock_tracked_availability
        if untracked and (rule == "error_if_any" or (rule == "error_if_all" and len(untracked) == len(wanted))):
            raise bad("WHSC-097", WHSC_097[0] if len(wanted) == 1 else WHSC_097[1])
        result: dict[str, dict] = {}
        for i in wanted:
            if not products[i].stock_tracked:
                continue
            total = {"inStock": 0, "onHand": 0, "allocated": 0, "inTransit": 0}
            per_wh: dict[str, dict] = {}
            for w in sorted(self._stock_warehouses.get(i, ())):
                in_stock = self._in_stock.get((i, w), 0)
                if self.options.quarantine_stock == "excluded":
                    in_stock -= self._quarantined.get((i, w), 0)
                allocated = self._allocated.get((i, w), 0)
                entry = {"inStock": in_stock, "onHand": self.on_hand(i, w), "allocated": allocated, "inTransit": 0}
                per_wh[str(w)] = entry
                for k in total:
                    total[k] += entry[k]
            result[str(i)] = {"total": total, "warehouses": per_wh}
        return {"response": result}

    # ------------------------------------------------------------ stock corrections

    def correct_stock(self, warehouse_id: int, product_id: int, quantity: int, reason: str = "Stock take",
                      at: datetime | None = None) -> int:
        """Generator / control interface: one stock correction, its goods-note id."""
        return self._stock_correction(warehouse_id, [{"productId": product_id, "quantity": quantity, "reason": reason}], at)[0]

    def _stock_correction(self, warehouse_id: int, corrections: Any, at: datetime | None = None) -> list[int]:
        if warehouse_id not in self.warehouses:
            raise not_found(f"Warehouse {warehouse_id} not found")
        if not isinstance(corrections, list) or not corrections:
            raise bad("WHSC-001", "You must supply at least one correction")
        products = self.account.product_service.products
        planned: list[tuple[int, int, str, int]] = []
        delta_by_product: dict[int, int] = {}
        for index, item in enumerate(corrections):
            if not isinstance(item, dict):
                raise bad("WHSC-001", f"corrections[{index}] must be an object")
            product_id = as_int(item.get("productId"), f"corrections[{index}].productId", "WHSC-002")
            product = products.get(product_id)
            if product is None:
                raise bad("WHSC-002", f"Product {product_id} does not exist")
            if not product.stock_tracked:
                raise bad("WHSC-003", f"Product {product_id} is not stock tracked")
            quantity = as_int(item.get("quantity"), f"corrections[{index}].quantity", "WHSC-004")
            if quantity == 0:
                raise bad("WHSC-004", f"corrections[{index}].quantity must not be zero")
            reason = as_text(item.get("reason"), "reason", 255, "WHSC-005")
            if not reason:
                raise bad("WHSC-005", f"corrections[{index}].reason is required")
            location = item.get("locationId")
            location_id = self.default_location(warehouse_id) if location is None else as_int(location, "locationId", "WHSC-006")
            if location_id != self.default_location(warehouse_id):
                raise bad("WHSC-006", f"Location {location_id} is not in warehouse {warehouse_id}")
            delta_by_product[product_id] = delta_by_product.get(product_id, 0) + quantity
            planned.append((product_id, quantity, reason, location_id))
        for product_id, delta in delta_by_product.items():
            # Stock cannot go below zero, and allocated stock cannot be corrected away (on hand >= 0).
            if self.on_hand(product_id, warehouse_id) + delta < 0:
                raise bad("WHSC-007", f"Correction would take on-hand stock of product {product_id} in warehouse "
                                      f"{warehouse_id} below zero (on hand {self.on_hand(product_id, warehouse_id)})")
        when = at or self.now()
        note_ids = []
        for product_id, quantity, reason, location_id in planned:
            note_id = self.next_id("note")
            self.add_movement(product_id, warehouse_id, quantity, "SC", note_id, when)
            self.stock_corrections[note_id] = {
                "id": note_id, "warehouseId": warehouse_id, "reason": reason, "createdOn": when,
                "goodsMoved": [{"productId": product_id, "quantity": quantity, "locationId": location_id}],
            }
            note_ids.append(note_id)
        return note_ids

    def api_stock_correction(self, warehouse_id: str, body: Any) -> dict:
        wid = as_int(warehouse_id, "warehouseId", "CMNC-011")
        body = as_object(body, "body")
        return {"response": self._stock_correction(wid, body.get("corrections"))}

    def api_get_stock_corrections(self, warehouse_id: str, idset: str) -> dict:
        wid = as_int(warehouse_id, "warehouseId", "CMNC-011")
        found = []
        for i in idset_ids(idset, 200):
            sc = self.stock_corrections.get(i)
            if sc and sc["warehouseId"] == wid:
                found.append({**sc, "createdOn": fmt_dt(sc["createdOn"])})
        if not found:
            raise not_found("No stock corrections found")
        return {"response": found}

    # ------------------------------------------------------------ quarantine release

    def api_quarantine_release(self, warehouse_id: str, body: Any) -> dict:
        """`POST /warehouse-service/warehouse/{id}/quarantine/release` -> `{}` (see the module docstring).
        Codes other than the documented WHSB-023 are illustrative."""
        wid = as_int(warehouse_id, "warehouseId", "CMNC-011")
        if wid not in self.warehouses:
            raise not_found(f"Warehouse {wid} not found")
        body = as_object(body, "body")
        product_id = as_int(body.get("productId"), "productId", "WHSB-020")
        if product_id not in self.account.product_service.products:
            raise bad("WHSB-020", f"Product {product_id} does not exist")
        quantity = as_int(body.get("quantity"), "quantity", "WHSB-021")
        if quantity < 1:
            raise bad("WHSB-021", "quantity must be positive")
        target = as_int(body.get("toLocationId"), "toLocationId", "WHSB-022")
        if target != self.default_location(wid):
            raise bad("WHSB-022", f"Location {target} is not a location of warehouse {wid} stock can be released to")
        available = self.quarantined(product_id, wid)
        quarantine = self.quarantine_location(wid)
        if available == 0 or (available < quantity and self.options.quarantine_release_short == "refuse"):
            raise bad("WHSB-023", f"None of the requested products are available in location {quarantine}"
                      if available == 0 else f"Only {available} of the requested products are available in location {quarantine}")
        moved = min(quantity, available)
        now = self.now()
        if self.options.quarantine_release_movements:
            note_id = self.next_id("note")
            self.add_movement(product_id, wid, -moved, "IT", note_id, now, location_id=quarantine)
            self.add_movement(product_id, wid, moved, "IT", note_id, now, location_id=target)
        else:
            self._quarantined[(product_id, wid)] -= moved
        return {}

    # ------------------------------------------------------------ reservations (allocation)

    def reserved_on(self, order_id: int) -> dict[int, dict[int, dict]]:
        """warehouse -> row -> {productId, quantity} reserved for the order."""
        return self.reservations.get(order_id, {})

    def release_reservations(self, order_id: int, warehouse_id: int | None = None) -> None:
        per_order = self.reservations.get(order_id, {})
        for wid in [w for w in per_order if warehouse_id is None or w == warehouse_id]:
            for line in per_order.pop(wid).values():
                self.allocate(line["productId"], wid, -line["quantity"])
        if not per_order:
            self.reservations.pop(order_id, None)

    def allocates_on_create(self, channel_id: int, warehouse_id: int) -> bool:
        options = self.options
        if options.allocate_on_create_warehouses is not None and warehouse_id not in options.allocate_on_create_warehouses:
            return False
        return options.allocate_on_create.get(channel_id, options.allocate_on_create_default)

    def allocate_new_order(self, order: Any, rows: Iterable[Any]) -> None:
        """New rows of a sales order take what is on hand of each stock-tracked product in the
        order's warehouse (partially if short), as a reservation; no goods movement. Nothing when
        the order's channel (or warehouse) does not allocate automatically."""
        if not self.allocates_on_create(order.channel_id, order.warehouse_id):
            return
        wid = order.warehouse_id
        lines = self.reservations.setdefault(order.id, {}).setdefault(wid, {})
        for row in rows:
            if not self.account.product_service.is_stock_tracked(row.product_id):
                continue
            take = min(int(row.quantity), max(0, self.on_hand(row.product_id, wid)))
            if take:
                self.allocate(row.product_id, wid, take)
                lines[row.id] = {"productId": row.product_id, "quantity": take}
        if not lines:
            self.release_reservations(order.id, wid)

    def row_committed(self, order_id: int, row_id: int) -> int:
        """Quantity of a row already reserved or on goods-out notes."""
        total = sum(wh[row_id]["quantity"] for wh in self.reserved_on(order_id).values() if row_id in wh)
        return total + self.account.goods_out_service.row_on_notes(order_id, row_id)

    def api_reserve(self, order_id: str, warehouse_id: str, body: Any, replace: bool = False) -> dict:
        orders = self.account.order_service
        order = orders.order(order_id)
        wid = as_int(warehouse_id, "warehouseId", "CMNC-011")
        if wid not in self.warehouses:
            raise not_found(f"Warehouse {wid} not found")
        body = as_object(body, "body")
        products = body.get("products")
        if not isinstance(products, list) or not products:
            raise bad("WHSC-020", "You must supply products to reserve")
        existing = self.reserved_on(order.id).get(wid)
        if existing is not None and not replace:
            raise bad("WHSC-021", f"Order {order.id} already has a reservation in warehouse {wid}; use PUT to update it")
        if existing is None and replace:
            raise not_found(f"No reservation for order {order.id} in warehouse {wid}")
        wanted: dict[int, tuple[int, int]] = {}
        for index, item in enumerate(products):
            where = f"products[{index}]"
            if not isinstance(item, dict):
                raise bad("WHSC-020", f"{where} must be an object")
            row_id = as_int(item.get("salesOrderRowId"), f"{where}.salesOrderRowId", "WHSC-022")
            row = order.rows.get(row_id)
            if row is None:
                raise bad("WHSC-022", f"Row {row_id} is not on order {order.id}")
            product_id = as_int(item.get("productId", row.product_id), f"{where}.productId", "WHSC-023")
            if product_id != row.product_id:
                raise bad("WHSC-023", f"Product {product_id} does not match row {row_id}")
            if not self.account.product_service.is_stock_tracked(product_id):
                raise bad("WHSC-023", f"Product {product_id} is not stock tracked")
            quantity = as_int(item.get("quantity"), f"{where}.quantity", "WHSC-024")
            if quantity <= 0:
                raise bad("WHSC-024", f"{where}.quantity must be positive")
            # duplicate salesOrderRowId entries are merged (summed), then capped by the row
            previous = wanted.get(row_id, (product_id, 0))[1]
            wanted[row_id] = (product_id, previous + quantity)
        if replace:
            self.release_reservations(order.id, wid)
        lines: dict[int, dict] = {}
        free: dict[int, int] = {}
        for row_id, (product_id, quantity) in wanted.items():
            row = order.rows[row_id]
            outstanding = int(row.quantity) - self.row_committed(order.id, row_id)
            available = free.setdefault(product_id, self.on_hand(product_id, wid))
            take = max(0, min(quantity, outstanding, available))  # partial if short
            if take:
                free[product_id] -= take
                lines[row_id] = {"productId": product_id, "quantity": take}
        if not lines:
            raise bad("WHSC-025", f"No stock available to reserve for order {order.id} in warehouse {wid}")
        for line in lines.values():
            self.allocate(line["productId"], wid, line["quantity"])
        self.reservations.setdefault(order.id, {})[wid] = lines
        orders.touch(order, "allocation")
        return {}

    def api_get_reservations(self, order_id: str) -> dict:
        oid = as_int(order_id, "orderId", "CMNC-011")
        per_order = self.reservations.get(oid)
        if not per_order:
            raise not_found(f"No reservation found for order {oid}")
        return {"response": [{"orderId": oid, "warehouseId": wid,
                              "orderRows": {str(r): dict(line) for r, line in lines.items()}}
                             for wid, lines in per_order.items()]}

    def api_delete_reservation(self, order_id: str, warehouse_id: str) -> dict:
        oid = as_int(order_id, "orderId", "CMNC-011")
        wid = as_int(warehouse_id, "warehouseId", "CMNC-011")
        if wid not in self.reservations.get(oid, {}):
            raise not_found(f"No reservation for order {oid} in warehouse {wid}")
        self.release_reservations(oid, wid)
        self.account.order_service.touch(self.account.order_service.orders[oid], "allocation")
        return {}

    # ------------------------------------------------------------ search

    def _movement_bytes(self, movement: dict) -> bytes:
        cached = self._movement_json.get(movement["goodsMovementId"])
        if cached is None:
            row = [fmt_value(movement[name]) for name, _ in MOVEMENT_COLUMNS]
            cached = self._movement_json[movement["goodsMovementId"]] = json_bytes(row)
        return cached

    def search_specs(self) -> dict[str, SearchSpec]:
        cols = [Col(name, type_, (lambda key: lambda m: m[key])(name)) for name, type_ in MOVEMENT_COLUMNS]
        return {"goods-movement": SearchSpec(
            cols, lambda: sorted(self.movements, key=lambda m: m["goodsMovementId"]), row_json=self._movement_bytes,
            # movements are stored by (updatedOn, id): sorting on updatedOn needs no sort
            presorted={("updatedOn", False): lambda: list(self.movements),
                       ("updatedOn", True): lambda: list(reversed(self.movements))},
        )}
