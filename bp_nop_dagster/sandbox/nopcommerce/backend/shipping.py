"""Shipments and shipment items (plugin Controllers/Shipping/{Shipment,ShipmentItem}Controller.cs
over core ShipmentService) and OrderProcessingService.ShipAsync / DeliverAsync (nopCommerce 4.70).

Creates are plain inserts of the mapped DTO: no date stamped, no quantity checked. The only guard
is the database's: Shipment.OrderId references Order and ShipmentItem.ShipmentId references
Shipment (Nop.Data Mapping/Builders/Shipping/Shipment[Item]Builder.cs), so a dangling id fails
the insert (500); ShipmentItem.OrderItemId has no foreign key.
"""

from __future__ import annotations

from datetime import datetime

from bp_nop_dagster.sandbox.nopcommerce.backend.state import (
    SHIP_DELIVERED,
    SHIP_PARTIAL,
    SHIP_SHIPPED,
    CoreError,
    ForeignKeyViolation,
    NotFound,
    ShopState,
    by_ids,
    contains,
    in_window,
    newest_first,
)


class ShippingMixin(ShopState):
    queued_emails = 0  # QueuedEmail ids handed out by the (simulated) workflow messages

    # ----------------------------------------------------------------------------- storage and lookups
    def shipment(self, shipment_id: int) -> dict:
        shipment = self.shipments.get(shipment_id)
        if shipment is None:
            raise NotFound(f"Shipment Id={shipment_id} not found")
        return shipment

    def insert_shipment(self, entity: dict) -> dict:
        """Shipment/Create: InsertShipmentAsync of the mapped DTO (CreatedOnUtc as sent)."""
        if entity["order_id"] not in self.orders:
            raise ForeignKeyViolation("Shipment", "OrderId", "Order")
        entity["id"] = self._next_id("shipment")
        self.shipments[entity["id"]] = entity
        return entity

    def insert_shipment_item(self, entity: dict) -> dict:
        """ShipmentItem/Create: InsertShipmentItemAsync of the mapped DTO (any quantity)."""
        if entity["shipment_id"] not in self.shipments:
            raise ForeignKeyViolation("ShipmentItem", "ShipmentId", "Shipment")
        entity["id"] = self._next_id("shipment_item")
        self.shipment_items[entity["id"]] = entity
        return entity

    def replace_shipment(self, entity: dict) -> None:
        self.shipments[entity["id"]] = entity

    def replace_shipment_item(self, entity: dict) -> None:
        self.shipment_items[entity["id"]] = entity

    def delete_shipment(self, shipment_id: int) -> None:
        """DeleteShipmentAsync; the items go with it (ON DELETE CASCADE of ShipmentItem.ShipmentId)."""
        for item in self.items_of_shipment(shipment_id):
            del self.shipment_items[item["id"]]
        del self.shipments[shipment_id]

    def delete_shipment_item(self, item_id: int) -> None:
        del self.shipment_items[item_id]

    def items_of_shipment(self, shipment_id: int) -> list[dict]:
        return sorted((i for i in self.shipment_items.values() if i["shipment_id"] == shipment_id), key=lambda i: i["id"])

    def shipments_by_ids(self, ids: list[int]) -> list[dict]:
        return by_ids(self.shipments, ids)

    def shipments_of_order(self, order_id: int, *, shipped: bool | None = None, ready_for_pickup: bool | None = None,
                           vendor_id: int = 0) -> list[dict]:
        """ShipmentService.GetShipmentsByOrderIdAsync."""
        found = [s for s in self.shipments.values() if s["order_id"] == order_id
                 and (shipped is None or (s["shipped_date_utc"] is not None) == shipped)
                 and (ready_for_pickup is None or (s["ready_for_pickup_date_utc"] is not None) == ready_for_pickup)
                 and (not vendor_id or self._has_vendor_items(s["id"], vendor_id))]
        return sorted(found, key=lambda s: s["id"])

    def _has_vendor_items(self, shipment_id: int, vendor_id: int) -> bool:
        for item in self.items_of_shipment(shipment_id):
            order_item = self.order_items.get(item["order_item_id"])
            if order_item and self.products.get(order_item["product_id"], {}).get("vendor_id") == vendor_id:
                return True
        return False

    def search_shipments(self, *, vendor_id: int = 0, warehouse_id: int = 0, shipping_country_id: int = 0, shipping_state_id: int = 0,
                         shipping_county: str | None = None, shipping_city: str | None = None, tracking_number: str | None = None,
                         load_not_shipped: bool = False, load_not_ready_for_pickup: bool = False, load_not_delivered: bool = False,
                         order_id: int = 0, created_from: datetime | None = None, created_to: datetime | None = None) -> list[dict]:
        """ShipmentService.GetAllShipmentsAsync: shipments of deleted orders left out, shipping
        address filters on the order's shipping address, CreatedOnUtc DESC."""
        result = []
        for shipment in self.shipments.values():
            order = self.orders.get(shipment["order_id"])
            if order is None or order["deleted"] or (order_id and shipment["order_id"] != order_id):
                continue
            if not contains(shipment["tracking_number"], tracking_number):
                continue
            if (load_not_shipped and shipment["shipped_date_utc"] is not None) \
                    or (load_not_ready_for_pickup and shipment["ready_for_pickup_date_utc"] is not None) \
                    or (load_not_delivered and shipment["delivery_date_utc"] is not None):
                continue
            if not in_window(shipment["created_on_utc"], created_from, created_to):
                continue
            if warehouse_id and not any(i["warehouse_id"] == warehouse_id for i in self.items_of_shipment(shipment["id"])):
                continue
            if vendor_id and not self._has_vendor_items(shipment["id"], vendor_id):
                continue
            if shipping_country_id or shipping_state_id or shipping_county or shipping_city:
                address = self.addresses.get(order["shipping_address_id"] or 0, {})
                if (shipping_country_id and address.get("country_id") != shipping_country_id) \
                        or (shipping_state_id and address.get("state_province_id") != shipping_state_id) \
                        or not contains(address.get("county"), shipping_county) or not contains(address.get("city"), shipping_city):
                    continue
            result.append(shipment)
        return newest_first(result)

    # ----------------------------------------------------------------------------- quantities (OrderService)
    def quantity_in_shipments(self, order_item_id: int, *, shipped: bool | None = None, delivered: bool | None = None) -> int:
        """Units of an order item in the order's shipments (optionally only (not) shipped or
        (not) delivered ones): GetTotalNumberOfItemsInAllShipmentsAsync and its siblings."""
        total = 0
        for item in self.shipment_items.values():
            if item["order_item_id"] != order_item_id:
                continue
            shipment = self.shipments.get(item["shipment_id"])
            if shipment is None:
                continue
            if shipped is not None and (shipment["shipped_date_utc"] is not None) != shipped:
                continue
            if delivered is not None and (shipment["delivery_date_utc"] is not None) != delivered:
                continue
            total += item["quantity"]
        return total

    def _shippable_items(self, order_id: int) -> list[dict]:
        return self.order_items_of(order_id, ship_enabled=True)  # type: ignore[attr-defined]

    def has_items_to_add_to_shipment(self, order_id: int) -> bool:
        return any(item["quantity"] - self.quantity_in_shipments(item["id"]) > 0 for item in self._shippable_items(order_id))

    def has_items_to_ship(self, order_id: int) -> bool:
        return any(self.quantity_in_shipments(item["id"], shipped=False) > 0 for item in self._shippable_items(order_id))

    def has_items_to_deliver(self, order_id: int) -> bool:
        return any(self.quantity_in_shipments(item["id"], shipped=True) > self.quantity_in_shipments(item["id"], delivered=True)
                   for item in self._shippable_items(order_id))

    # ----------------------------------------------------------------------------- Ship / Deliver (OrderProcessingService)
    def ship(self, shipment_id: int, notify_customer: bool) -> None:
        """ShipAsync. A shipment already shipped (or of a pickup-in-store order) makes core throw a
        plain Exception, which the plugin answers with 500."""
        shipment = self.shipment(shipment_id)
        order = self.orders.get(shipment["order_id"])
        if order is None:
            raise CoreError("Order cannot be loaded")
        if order["pickup_in_store"]:
            raise CoreError("This shipment is can't be shipped. The order has been placed with 'pickup in store' shipping option.")
        if shipment["shipped_date_utc"] is not None:
            raise CoreError("This shipment is already shipped")
        shipment["shipped_date_utc"] = self.now()
        for item in self.items_of_shipment(shipment_id):
            order_item = self.order_items.get(item["order_item_id"])
            product = self.products.get(order_item["product_id"]) if order_item else None
            if product is not None:
                self.book_reserved_inventory(product, item["warehouse_id"], item["quantity"],  # type: ignore[attr-defined]
                                             f"The stock quantity has been reduced when an order item of the order #{order['id']} was shipped")
        order["shipping_status_id"] = SHIP_PARTIAL if self.has_items_to_add_to_shipment(order["id"]) or self.has_items_to_ship(order["id"]) \
            else SHIP_SHIPPED
        self.add_order_note(order["id"], f"Shipment# {shipment_id} has been sent")  # type: ignore[attr-defined]
        if notify_customer:
            self._queue_email(order["id"], "Shipped")
        self._check_order_status(order)  # type: ignore[attr-defined]

    def deliver(self, shipment_id: int, notify_customer: bool) -> None:
        """DeliverAsync. A shipment not shipped yet (not ready for pickup) or already delivered
        makes core throw a plain Exception: 500."""
        shipment = self.shipment(shipment_id)
        order = self.orders.get(shipment["order_id"])
        if order is None:
            raise CoreError("Order cannot be loaded")
        if not order["pickup_in_store"] and shipment["shipped_date_utc"] is None:
            raise CoreError("This shipment is not shipped yet")
        if order["pickup_in_store"] and shipment["ready_for_pickup_date_utc"] is None:
            raise CoreError("This shipment is not yet ready for pickup")
        if shipment["delivery_date_utc"] is not None:
            raise CoreError("This shipment is already delivered")
        shipment["delivery_date_utc"] = self.now()
        oid = order["id"]
        if not (self.has_items_to_add_to_shipment(oid) or self.has_items_to_ship(oid) or self.has_items_to_deliver(oid)):
            order["shipping_status_id"] = SHIP_DELIVERED
        self.add_order_note(oid, f"Shipment# {shipment_id} has been delivered")  # type: ignore[attr-defined]
        if notify_customer:
            self._queue_email(oid, "Delivered")
        self._check_order_status(order)  # type: ignore[attr-defined]

    def _queue_email(self, order_id: int, what: str, *, to: str = "customer") -> None:
        """A workflow notification (Ship/Deliver with notifyCustomer=true, a refund with the
        OrderRefunded templates active): a queued email and the order note core adds about it."""
        self.queued_emails += 1
        self.add_order_note(order_id, f'"{what}" email (to {to}) has been queued. Queued email identifiers: {self.queued_emails}.')  # type: ignore[attr-defined]
