"""warehouse-service, goods-out notes: POST, GET, PUT, DELETE, events, search.

Sources (api-docs.brightpearl.com/warehouse/goods-out-note/*; recordings goods_out_note__get__*.json):
- POST `/order/{id}/goods-note/goods-out`: one note per `warehouses[]` entry, partial fulfilment
  allowed; the units on a note are allocated (ruby-brightpearl goods_out_note.rb: "stock is
  allocated to the specified Sales Order"); the reply shape (array of ids) is inferred.
- GET `/order/{orderIds|*}/goods-note/goods-out/{noteIds?}` (ID sets <= 500): a map note id ->
  note, `orderRows` keyed by sales-order row id.
- PUT `/goods-note/goods-out/{id}`: priority, shipping {reference, shippingMethodId, boxes,
  weight}, labelUri; blocked after shipped.
- DELETE `/order/{orderId}/goods-note/goods-out/{noteId}` (ruby-brightpearl, doc page delete.html).
- Event POST `/goods-note/goods-out/{id}/event`: "All three fields are required" (eventCode,
  occured, eventOwnerId); SHW adds missing PRI/PIC/PAC first; If-Match lastEventVersion.
  Stock leaves the warehouse (a goods movement) only when shipped.
- goods-out-search (…/goods-out-note/search.html): columns goodsOutNoteId, printed, picked, packed,
  shipped, shippedOn, orderId, shippingMethodId, warehouseId, priority, createdOn, releaseDate,
  createdBy; the page names more columns after `createdBy` (its text breaks off at "labe…"):
  `labelUri`, and `transfer` (named by the usefulapi Brightpearl MCP tool) are inferred.
  There is no `updatedOn` and no `goodsNoteId` column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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
    not_found,
)
from bp_nop_dagster.sandbox.brightpearl.backend.reference import GON_EVENT_CODES, SHIPPING_METHOD_IDS
from bp_nop_dagster.sandbox.brightpearl.backend.search import Col, SearchSpec

FLAG_EVENTS = {"PRI": "printed", "PIC": "picked", "PAC": "packed"}
UNFLAG_EVENTS = {"UPR": "printed", "UPI": "picked", "UPA": "packed"}
# Goods-out note event code -> the webhook event's specifier (help 212644883).
WEBHOOK_SPECIFIERS = {"PRI": "printed", "PIC": "picked", "PAC": "packed", "UPR": "un-printed", "UPI": "un-picked",
                      "UPA": "un-packed", "SHW": "shipped"}


@dataclass(slots=True)
class GoodsOutNote:
    id: int
    order_id: int
    warehouse_id: int
    rows: dict[int, list[dict]]
    created_on: datetime
    release_date: datetime
    sequence: int
    priority: bool = False
    shipping_method_id: int = 0
    reference: str = ""
    boxes: int | None = None
    weight: str | None = None
    label_uri: str | None = None
    flags: dict[str, datetime | None] = field(default_factory=lambda: {"printed": None, "picked": None, "packed": None, "shipped": None})
    by: dict[str, int] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    last_event_version: int = 0

    @property
    def shipped(self) -> bool:
        return self.flags["shipped"] is not None

    @property
    def quantity(self) -> int:
        return sum(line["quantity"] for lines in self.rows.values() for line in lines)


class GoodsOutService(Service):
    """Goods-out notes of sales orders."""

    def __init__(self, account) -> None:
        super().__init__(account)
        self.notes: dict[int, GoodsOutNote] = {}
        self._by_order: dict[int, list[int]] = {}

    def notes_of(self, order_id: int) -> list[GoodsOutNote]:
        return [self.notes[n] for n in self._by_order.get(order_id, ())]

    def row_on_notes(self, order_id: int, row_id: int) -> int:
        return sum(line["quantity"] for note in self.notes_of(order_id) for line in note.rows.get(row_id, ()))

    # ------------------------------------------------------------ create

    def create_goods_out_note(self, order_id: int, body: dict) -> list[int]:
        """Create one note per `warehouses[]` entry. An entry with no `products` takes every
        outstanding stock-tracked row (as much as is reserved or on hand), and is skipped if that
        is nothing: a convenience for the generator; the HTTP endpoint requires products."""
        order = self.account.order_service.order(order_id)
        stock = self.account.warehouse_service
        products = self.account.product_service
        if order.type_code != "SO":
            raise bad("WHSC-030", f"Order {order.id} is not a sales order")
        body = as_object(body, "body")
        entries = body.get("warehouses")
        if not isinstance(entries, list) or not entries:
            raise bad("WHSC-031", "You must supply at least one warehouse")
        priority = bool(body.get("priority", False))
        shipping_method = as_int(body.get("shippingMethodId", order.shipping_method_id or 0), "shippingMethodId", "WHSC-032")
        if shipping_method and shipping_method not in SHIPPING_METHOD_IDS:
            raise bad("WHSC-032", f"Shipping method {shipping_method} does not exist")
        committed: dict[int, int] = {}  # row -> quantity committed within this request
        free: dict[tuple[int, int], int] = {}
        plans = []
        for index, entry in enumerate(entries):
            where = f"warehouses[{index}]"
            if not isinstance(entry, dict):
                raise bad("WHSC-031", f"{where} must be an object")
            wid = as_int(entry.get("warehouseId"), f"{where}.warehouseId", "WHSC-033")
            if wid not in stock.warehouses:
                raise bad("WHSC-033", f"Warehouse {wid} does not exist")
            if entry.get("transfer"):
                raise bad("WHSC-034", "Transfers are not supported by the sandbox")
            release = as_datetime(entry["releaseDate"], f"{where}.releaseDate", "WHSC-035") if entry.get("releaseDate") else None
            reserved_here = stock.reserved_on(order.id).get(wid, {})
            wanted = entry.get("products")
            auto = not wanted
            if auto:
                wanted = [{"productId": row.product_id, "salesOrderRowId": row.id, "quantity": None}
                          for row in order.rows.values() if products.is_stock_tracked(row.product_id)]
            if not isinstance(wanted, list):
                raise bad("WHSC-036", f"{where}.products must be an array")
            lines: dict[int, list[dict]] = {}
            for pindex, item in enumerate(wanted):
                at = f"{where}.products[{pindex}]"
                if not isinstance(item, dict):
                    raise bad("WHSC-036", f"{at} must be an object")
                row_id = as_int(item.get("salesOrderRowId"), f"{at}.salesOrderRowId", "WHSC-037")
                row = order.rows.get(row_id)
                if row is None:
                    raise bad("WHSC-037", f"Row {row_id} is not on order {order.id}")
                product_id = as_int(item.get("productId", row.product_id), f"{at}.productId", "WHSC-038")
                if product_id != row.product_id:
                    raise bad("WHSC-038", f"Product {product_id} does not match row {row_id}")
                if not products.is_stock_tracked(product_id):
                    raise bad("WHSC-038", f"Product {product_id} is not stock tracked")
                reserved = reserved_here.get(row_id, {}).get("quantity", 0)
                outstanding = int(row.quantity) - self.row_on_notes(order.id, row_id) - committed.get(row_id, 0)
                key = (product_id, wid)
                available_free = free.setdefault(key, stock.on_hand(product_id, wid))
                if auto:
                    quantity = max(0, min(outstanding, reserved + available_free))
                    if quantity == 0:
                        continue
                else:
                    quantity = as_int(item.get("quantity"), f"{at}.quantity", "WHSC-039")
                    if quantity <= 0:
                        raise bad("WHSC-039", f"{at}.quantity must be positive")
                    if quantity > outstanding:
                        raise bad("WHSC-040", f"{at}: quantity {quantity} is more than the {outstanding} left to ship on row {row_id}")
                from_reservation = min(reserved, quantity)
                from_free = quantity - from_reservation
                if from_free > available_free:
                    raise bad("WHSC-041", f"Not enough stock of product {product_id} in warehouse {wid} "
                                          f"(needed {from_free} more than reserved, {available_free} on hand)")
                free[key] = available_free - from_free
                committed[row_id] = committed.get(row_id, 0) + quantity
                lines.setdefault(row_id, []).append({"productId": product_id, "quantity": quantity,
                                                     "locationId": stock.default_location(wid), "_from_res": from_reservation})
            if lines:
                plans.append((wid, release, lines))
            elif not auto:
                raise bad("WHSC-036", f"{where}.products must not be empty")
        # ---- commit
        now = self.now()
        note_ids = []
        for wid, release, lines in plans:
            note_id = self.next_id("note")
            reserved_here = stock.reserved_on(order.id).get(wid, {})
            for row_id, row_lines in lines.items():
                for line in row_lines:
                    from_res = line.pop("_from_res")
                    if from_res:  # reserved units move onto the note (still allocated)
                        reserved_here[row_id]["quantity"] -= from_res
                        if reserved_here[row_id]["quantity"] == 0:
                            del reserved_here[row_id]
                    stock.allocate(line["productId"], wid, line["quantity"] - from_res)
            if wid in stock.reserved_on(order.id) and not stock.reserved_on(order.id)[wid]:
                stock.release_reservations(order.id, wid)
            note = GoodsOutNote(id=note_id, order_id=order.id, warehouse_id=wid, rows=lines, created_on=now,
                                release_date=release or now, sequence=len(self._by_order.get(order.id, ())) + 1,
                                priority=priority, shipping_method_id=shipping_method)
            note.last_event_version = self.next_id("event")
            note.events.append({"occured": fmt_dt(now), "eventOwnerId": STAFF_ID, "eventCode": "PLA"})
            self.notes[note_id] = note
            self._by_order.setdefault(order.id, []).append(note_id)
            note_ids.append(note_id)
        if note_ids:
            self.account.order_service.touch(order, "goods_out")
        return note_ids

    def api_create_goods_out_note(self, order_id: str, body: Any) -> dict:
        body = as_object(body, "body")
        entries = body.get("warehouses")
        if isinstance(entries, list):
            for index, entry in enumerate(entries):
                if isinstance(entry, dict) and not entry.get("products"):
                    raise bad("WHSC-036", f"warehouses[{index}].products must not be empty")
        # Inferred reply shape: an array of the new note ids (one per warehouse entry).
        return {"response": self.create_goods_out_note(as_int(order_id, "orderId", "CMNC-011"), body)}

    # ------------------------------------------------------------ read

    def note(self, note_id: Any) -> GoodsOutNote:
        nid = as_int(note_id, "goodsOutNoteId", "CMNC-011")
        note = self.notes.get(nid)
        if note is None:
            raise not_found(f"Goods-out note {nid} not found")
        return note

    def note_dict(self, note: GoodsOutNote) -> dict:
        status: dict[str, Any] = {k: note.flags[k] is not None for k in ("shipped", "packed", "picked", "printed")}
        for key in ("picked", "packed", "shipped", "printed"):
            if note.flags[key] is not None:
                status[f"{key}On"] = fmt_dt(note.flags[key])
        for key in ("picked", "packed", "shipped", "printed"):
            if key in note.by:
                status[f"{key}ById"] = note.by[key]
        shipping: dict[str, Any] = {"reference": note.reference, "shippingMethodId": note.shipping_method_id}
        if note.boxes is not None:
            shipping["boxes"] = note.boxes
        if note.weight is not None:
            shipping["weight"] = note.weight
        data = {
            "orderId": note.order_id, "warehouseId": note.warehouse_id, "transfer": False, "priority": note.priority,
            "status": status, "shipping": shipping, "releaseDate": fmt_dt(note.release_date),
            "createdOn": fmt_dt(note.created_on), "createdBy": STAFF_ID,
            "orderRows": {str(r): [dict(line) for line in lines] for r, lines in note.rows.items()},
            "sequence": note.sequence, "events": [dict(e) for e in note.events], "lastEventVersion": note.last_event_version,
        }
        if note.label_uri:
            data["labelUri"] = note.label_uri
        return data

    def api_get_goods_out_notes(self, order_idset: str, note_idset: str | None) -> dict:
        if note_idset is not None:
            candidates = [i for i in idset_ids(note_idset, 500) if i in self.notes]
        elif order_idset == "*":
            candidates = list(self.notes)
        else:
            candidates = [n for o in idset_ids(order_idset, 200) for n in self._by_order.get(o, ())]
        if order_idset != "*":
            orders = set(idset_ids(order_idset, 200))
            candidates = [n for n in candidates if self.notes[n].order_id in orders]
        if not candidates and self.options.empty_goods_out_get == "not_found":
            raise not_found("No goods-out notes found")
        # Nothing found answers 200 {"response":{}} by default (inferred: `empty_goods_out_get`).
        return {"response": {str(n): self.note_dict(self.notes[n]) for n in candidates}}

    # ------------------------------------------------------------ update, delete

    def api_update_goods_out_note(self, note_id: str, body: Any) -> dict:
        note = self.note(note_id)
        body = as_object(body, "body")
        if note.shipped:
            raise bad("WHSC-050", f"Goods-out note {note.id} has been shipped and cannot be updated")
        shipping = as_object(body.get("shipping"), "shipping")
        reference = as_text(shipping.get("reference"), "shipping.reference", 64, "WHSC-051")
        method = shipping.get("shippingMethodId")
        if method is not None:
            method = as_int(method, "shipping.shippingMethodId", "WHSC-052")
            if method and method not in SHIPPING_METHOD_IDS:
                raise bad("WHSC-052", f"Shipping method {method} does not exist")
        boxes = None if shipping.get("boxes") is None else as_int(shipping["boxes"], "shipping.boxes", "WHSC-053")
        weight = None if shipping.get("weight") is None else str(as_decimal(shipping["weight"], "shipping.weight", "WHSC-053"))
        label = as_text(body.get("labelUri"), "labelUri", 2048, "WHSC-054")
        if "priority" in body:
            note.priority = bool(body["priority"])
        if reference is not None:
            note.reference = reference
        if method is not None:
            note.shipping_method_id = method
        if boxes is not None:
            note.boxes = boxes
        if weight is not None:
            note.weight = weight
        if label is not None:
            note.label_uri = label
        return {}

    def api_delete_goods_out_note(self, order_id: str, note_id: str) -> dict:
        """`DELETE /warehouse-service/order/{orderId}/goods-note/goods-out/{noteId}` -> `{}`. A shipped
        note cannot be deleted (its stock has left); the units of an open one go back on hand or
        stay allocated to the order (inferred: `deleted_goods_out_stock`; the doc page has no details)."""
        oid = as_int(order_id, "orderId", "CMNC-011")
        note = self.note(note_id)
        if note.order_id != oid:
            raise not_found(f"Goods-out note {note.id} not found on order {oid}")
        if note.shipped:
            raise bad("WHSC-065", f"Goods-out note {note.id} has been shipped and cannot be deleted")
        stock = self.account.warehouse_service
        keep = self.options.deleted_goods_out_stock == "reserved"
        for row_id, lines in note.rows.items():
            for line in lines:
                if keep:
                    reserved = stock.reservations.setdefault(oid, {}).setdefault(note.warehouse_id, {})
                    entry = reserved.setdefault(row_id, {"productId": line["productId"], "quantity": 0})
                    entry["quantity"] += line["quantity"]
                else:
                    stock.allocate(line["productId"], note.warehouse_id, -line["quantity"])
        del self.notes[note.id]
        self._by_order[oid].remove(note.id)
        self.account.order_service.touch(self.account.order_service.orders[oid], "goods_out")
        return {}

    # ------------------------------------------------------------ events

    def api_goods_out_events(self, note_id: str, body: Any, if_match: str | None = None) -> dict:
        note = self.note(note_id)
        if if_match is not None and if_match.strip('"') != str(note.last_event_version):
            raise bad("CMNC-412", f"lastEventVersion is {note.last_event_version}, not {if_match}", 412)
        body = as_object(body, "body")
        events = body.get("events")
        if not isinstance(events, list) or not events:
            raise bad("WHSC-060", "You must supply at least one event")
        parsed = []
        for index, event in enumerate(events):
            if not isinstance(event, dict):
                raise bad("WHSC-060", f"events[{index}] must be an object")
            code = event.get("eventCode")
            if code not in GON_EVENT_CODES:
                raise bad("WHSC-061", f"events[{index}].eventCode {code!r} is not one of {', '.join(sorted(GON_EVENT_CODES))}")
            occurred = as_datetime(event.get("occured"), f"events[{index}].occured", "WHSC-062")
            if event.get("eventOwnerId") is None:  # "All three fields are required" (Event POST doc)
                raise bad("WHSC-063", f"events[{index}].eventOwnerId is required")
            owner = as_int(event["eventOwnerId"], f"events[{index}].eventOwnerId", "WHSC-063")
            parsed.append((code, occurred, owner))
        if note.shipped:
            raise bad("WHSC-064", f"Goods-out note {note.id} has been shipped: no further events are allowed")
        shipping = [p for p in parsed if p[0] == "SHW"]
        if shipping and any(p[0] != "SHW" for p in parsed[parsed.index(shipping[0]) + 1 :]):
            raise bad("WHSC-064", "No events are allowed after SHW")
        for code, occurred, owner in parsed:
            self._apply_event(note, code, occurred, owner)
        return {}

    def _apply_event(self, note: GoodsOutNote, code: str, occurred: datetime, owner: int) -> None:
        note.last_event_version = self.next_id("event")
        self.account.integration_service.raise_event(f"goods-out-note.modified.{WEBHOOK_SPECIFIERS[code]}", [note.id])
        note.events.append({"occured": fmt_dt(occurred), "eventOwnerId": owner, "eventCode": code})
        if code in FLAG_EVENTS:
            note.flags[FLAG_EVENTS[code]] = occurred
            note.by[FLAG_EVENTS[code]] = owner
        elif code in UNFLAG_EVENTS:
            note.flags[UNFLAG_EVENTS[code]] = None
            note.by.pop(UNFLAG_EVENTS[code], None)
        else:  # SHW: ships; earlier missing steps are added automatically
            for earlier, flag in FLAG_EVENTS.items():
                if note.flags[flag] is None:
                    note.flags[flag] = occurred
                    note.by[flag] = owner
                    note.events.append({"occured": fmt_dt(occurred), "eventOwnerId": owner, "eventCode": earlier})
            note.flags["shipped"] = occurred
            note.by["shipped"] = owner
            stock = self.account.warehouse_service
            for row_id, lines in note.rows.items():
                for line in lines:
                    stock.allocate(line["productId"], note.warehouse_id, -line["quantity"])
                    # the movement is recorded when it happens (help 211279306: inventory movements
                    # cannot be back-dated), whatever `occured` says
                    stock.add_movement(line["productId"], note.warehouse_id, -line["quantity"], "GO", note.id, self.now(),
                                       order_id=note.order_id, row_id=row_id)
            self.account.order_service.touch(self.account.order_service.orders[note.order_id], "shipping")

    def ship_goods_out_note(self, note_id: int, tracking_reference: str | None = None, at: datetime | None = None) -> None:
        note = self.note(note_id)
        if note.shipped:
            raise bad("WHSC-064", f"Goods-out note {note.id} has already been shipped")
        if tracking_reference is not None:
            note.reference = as_text(tracking_reference, "tracking reference", 64, "WHSC-051") or ""
        self._apply_event(note, "SHW", at or self.now(), STAFF_ID)

    def fulfil_order(self, order_id: int, warehouse_id: int | None, rows: list[dict] | None,
                     tracking_reference: str | None, ship: bool) -> int:
        """Control helper: a goods-out note for the remaining (or given) rows, optionally shipped."""
        order = self.account.order_service.order(order_id)
        wid = warehouse_id or order.warehouse_id
        products = [{"productId": order.rows[int(r["row_id"])].product_id if int(r["row_id"]) in order.rows else 0,
                     "salesOrderRowId": int(r["row_id"]), "quantity": int(r["quantity"])} for r in rows or []]
        notes = self.create_goods_out_note(order.id, {"warehouses": [{"warehouseId": wid, "products": products}]})
        if not notes:
            raise bad("WHSC-041", f"Nothing left to fulfil (or no stock) for order {order.id} in warehouse {wid}")
        if ship:
            self.ship_goods_out_note(notes[0], tracking_reference)
        elif tracking_reference:
            self.notes[notes[0]].reference = tracking_reference
        return notes[0]

    # ------------------------------------------------------------ search

    def search_specs(self) -> dict[str, SearchSpec]:
        cols = [
            Col("goodsOutNoteId", "INTEGER", lambda n: n.id),
            Col("printed", "BOOLEAN", lambda n: n.flags["printed"] is not None),
            Col("picked", "BOOLEAN", lambda n: n.flags["picked"] is not None),
            Col("packed", "BOOLEAN", lambda n: n.flags["packed"] is not None),
            Col("shipped", "BOOLEAN", lambda n: n.flags["shipped"] is not None),
            Col("shippedOn", "PERIOD", lambda n: n.flags["shipped"]),
            Col("orderId", "INTEGER", lambda n: n.order_id),
            Col("shippingMethodId", "IDSET", lambda n: n.shipping_method_id),
            Col("warehouseId", "INTEGER", lambda n: n.warehouse_id),
            Col("priority", "BOOLEAN", lambda n: n.priority),
            Col("createdOn", "PERIOD", lambda n: n.created_on),
            Col("releaseDate", "PERIOD", lambda n: n.release_date),
            Col("createdBy", "INTEGER", lambda n: STAFF_ID),
            Col("labelUri", "STRING", lambda n: n.label_uri),
            Col("transfer", "BOOLEAN", lambda n: False),
        ]
        return {"goods-out": SearchSpec(cols, lambda: list(self.notes.values()))}
