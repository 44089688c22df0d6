"""warehouse-service, goods-in notes: stock received against a purchase order or a sales credit.

Sources (api-docs.brightpearl.com/warehouse/goods-in-note/post.html, get.html; quarantine-location):
- POST `/warehouse-service/order/{id}/goods-note/goods-in` `{"transfer", "warehouseId",
  "goodsMoved": [{"productId", "purchaseOrderRowId", "quantity", "destinationLocationId",
  "productValue": {"currency", "value"}}], "receivedOn", "userBatchReference"}` -> `{"response": noteId}`.
  One warehouse per request; notes "can be created until all stock on the Purchase Order has been
  added to one or more Goods-In Notes" (part receipts); `userBatchReference` "must be unique across
  all goods-in notes". The same endpoint receives a credit's returned goods: `purchaseOrderRowId`
  then holds the credit's row id (the GET doc: "even if this movement belongs to a sales credit the
  order row ID will still appear in this field"; MAG, LAR). Goods go to the warehouse's default or
  quarantine location ("Stock can be moved into quarantine by using Goods-In Notes").
- GET `/warehouse-service/order/{orderIdSet}/goods-note/goods-in/{noteIdSet?}` (`*` for orders
  only with note ids; ID sets <= 200) -> a map note id -> `{goodsNoteId, orderId, transfer,
  goodsNoteStatus, userBatchReference, receivedOn, createdBy, goodsMoved[{productId,
  purchaseOrderRowId, quantity, warehouseId, destinationLocationId, goodsNoteId, batchGoodsNoteId,
  productValue{currency, value}, cleared, valueConfirmed}]}`.
- Effects: in stock rises by a goods movement per line, recorded when the note is posted (help
  211279306: movements cannot be back-dated; `receivedOn` is kept on the note). Omitted
  `destinationLocationId` means the default location and omitted `productValue` the product's cost
  (both lenient readings: the doc's example sends them). The goods movements' type code, the
  note's status and the reply to a GET that finds nothing are inferred (`FidelityOptions.
  goods_in_movement_type`, `goods_in_note_status`, `empty_goods_in_get`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bp_nop_dagster.sandbox.brightpearl.backend.common import (
    STAFF_ID,
    Service,
    as_datetime,
    as_decimal,
    as_int,
    as_object,
    as_text,
    bad,
    fmt_dt,
    idset_ids,
    m4,
    not_found,
)
from bp_nop_dagster.sandbox.brightpearl.backend.reference import ACCOUNTING_CURRENCY, CURRENCIES


@dataclass(slots=True)
class GoodsInNote:
    id: int
    order_id: int
    warehouse_id: int
    transfer: bool
    received_on: datetime
    batch_reference: str | None
    lines: list[dict] = field(default_factory=list)  # productId, rowId, quantity, locationId, currency, value


class GoodsInService(Service):
    """Goods-in notes of purchase orders and sales credits."""

    def __init__(self, account) -> None:
        super().__init__(account)
        self.notes: dict[int, GoodsInNote] = {}
        self._by_order: dict[int, list[int]] = {}
        self._batch_references: set[str] = set()

    def notes_of(self, order_id: int) -> list[GoodsInNote]:
        return [self.notes[n] for n in self._by_order.get(order_id, ())]

    def received(self, order_id: int, row_id: int) -> int:
        """Units of an order row already received."""
        return sum(line["quantity"] for note in self.notes_of(order_id) for line in note.lines if line["rowId"] == row_id)

    def units_received(self, order_id: int) -> int:
        """Units of the order received so far, every row."""
        return sum(line["quantity"] for note in self.notes_of(order_id) for line in note.lines)

    # ------------------------------------------------------------ create

    def create_goods_in_note(self, order_id: Any, body: Any) -> int:
        """Validate everything, then receive: the new note's id."""
        order = self.account.order_service.order(order_id)
        if order.type_code not in ("PO", "SC"):
            raise bad("WHSC-070", f"Order {order.id} is a {order.type_code}: goods are received against purchase orders "
                                  "and sales credits")
        stock = self.account.warehouse_service
        products = self.account.product_service.products
        body = as_object(body, "body")
        if body.get("warehouseId") is None:
            raise bad("WHSC-071", "You must supply a warehouseId")
        wid = as_int(body["warehouseId"], "warehouseId", "WHSC-071")
        if wid not in stock.warehouses:
            raise bad("WHSC-071", f"Warehouse {wid} does not exist")
        moved = body.get("goodsMoved")
        if not isinstance(moved, list) or not moved:
            raise bad("WHSC-072", "You must supply goodsMoved")
        reference = as_text(body.get("userBatchReference"), "userBatchReference", 64, "WHSC-073")
        if reference and reference in self._batch_references:
            raise bad("WHSC-073", f"userBatchReference {reference} is already used by another goods-in note")
        received_on = as_datetime(body["receivedOn"], "receivedOn", "WHSC-074") if body.get("receivedOn") else self.now()
        locations = {stock.default_location(wid), stock.quarantine_location(wid)}
        taken: dict[int, int] = {}  # row -> units received by this request
        lines = []
        for index, item in enumerate(moved):
            where = f"goodsMoved[{index}]"
            item = as_object(item, where)
            product_id = as_int(item.get("productId"), f"{where}.productId", "WHSC-075")
            product = products.get(product_id)
            if product is None or not product.stock_tracked:
                raise bad("WHSC-075", f"{where}: product {product_id} does not exist or is not stock tracked")
            row_id = as_int(item.get("purchaseOrderRowId"), f"{where}.purchaseOrderRowId", "WHSC-076")
            row = order.rows.get(row_id)
            if row is None or row.product_id != product_id:
                raise bad("WHSC-076", f"{where}: row {row_id} of order {order.id} does not hold product {product_id}")
            quantity = as_int(item.get("quantity"), f"{where}.quantity", "WHSC-077")
            outstanding = int(row.quantity) - self.received(order.id, row_id) - taken.get(row_id, 0)
            if quantity < 1 or quantity > outstanding:
                raise bad("WHSC-077", f"{where}.quantity {quantity}: {outstanding} of row {row_id} left to receive")
            location = item.get("destinationLocationId")
            location_id = stock.default_location(wid) if location is None else as_int(
                location, f"{where}.destinationLocationId", "WHSC-078")
            if location_id not in locations:
                raise bad("WHSC-078", f"{where}: location {location_id} is not in warehouse {wid}")
            value = as_object(item.get("productValue"), f"{where}.productValue")
            currency = value.get("currency", ACCOUNTING_CURRENCY)
            if currency not in CURRENCIES:
                raise bad("WHSC-079", f"{where}.productValue.currency {currency!r} is not set up on this account")
            unit = product.cost if value.get("value") is None else as_decimal(value["value"], f"{where}.productValue.value",
                                                                               "WHSC-079")
            taken[row_id] = taken.get(row_id, 0) + quantity
            lines.append({"productId": product_id, "rowId": row_id, "quantity": quantity, "locationId": location_id,
                          "currency": currency, "value": Decimal(unit)})
        # ---- everything valid: receive
        note = GoodsInNote(id=self.next_id("note"), order_id=order.id, warehouse_id=wid, transfer=bool(body.get("transfer")),
                           received_on=received_on, batch_reference=reference, lines=lines)
        now = self.now()
        for line in lines:
            stock.add_movement(line["productId"], wid, line["quantity"], self.options.goods_in_movement_type, note.id, now,
                               order_id=order.id, purchase_row_id=line["rowId"], location_id=line["locationId"],
                               unit_value=line["value"])
        self.notes[note.id] = note
        self._by_order.setdefault(order.id, []).append(note.id)
        if reference:
            self._batch_references.add(reference)
        self.account.order_service.touch(order, "goods_in")
        return note.id

    def api_create_goods_in_note(self, order_id: str, body: Any) -> dict:
        return {"response": self.create_goods_in_note(order_id, body)}

    # ------------------------------------------------------------ read

    def note_dict(self, note: GoodsInNote) -> dict:
        data: dict[str, Any] = {
            "goodsNoteId": note.id, "orderId": note.order_id, "transfer": note.transfer,
            "goodsNoteStatus": self.options.goods_in_note_status, "receivedOn": fmt_dt(note.received_on),
            "createdBy": STAFF_ID,
            "goodsMoved": [{
                "productId": line["productId"], "purchaseOrderRowId": line["rowId"], "quantity": line["quantity"],
                "warehouseId": note.warehouse_id, "destinationLocationId": line["locationId"], "goodsNoteId": note.id,
                "batchGoodsNoteId": note.id, "productValue": {"currency": line["currency"], "value": m4(line["value"])},
                "cleared": False, "valueConfirmed": True,
            } for line in note.lines],
        }
        if note.batch_reference:
            data["userBatchReference"] = note.batch_reference
        return data

    def api_get_goods_in_notes(self, order_idset: str, note_idset: str | None) -> dict:
        if order_idset == "*" and note_idset is None:
            raise bad("CMNC-011", "You cannot request all goods-in notes for all orders")
        if note_idset is not None:
            candidates = [i for i in idset_ids(note_idset, 200) if i in self.notes]
        else:
            candidates = [n for o in idset_ids(order_idset, 200) for n in self._by_order.get(o, ())]
        if order_idset != "*":
            orders = set(idset_ids(order_idset, 200))
            candidates = [n for n in candidates if self.notes[n].order_id in orders]
        if not candidates and self.options.empty_goods_in_get == "not_found":
            raise not_found("No goods-in notes found")
        return {"response": {str(n): self.note_dict(self.notes[n]) for n in candidates}}
