"""Return requests (plugin Controllers/Orders/ReturnRequestController.cs over core ReturnRequestService)."""

from __future__ import annotations

from datetime import datetime

from bp_nop_dagster.sandbox.nopcommerce.backend.state import ShopState, in_window, newest_first
from bp_nop_dagster.sandbox.nopcommerce.wire import new_entity


class ReturnsMixin(ShopState):
    def create_return_request(self, *, order_item_id: int, quantity: int, reason: str = "Wrong size", action: str = "Refund",
                              comments: str = "", created_on: datetime | None = None) -> int:
        """A return request as the storefront files one (dated now, numbered by its id)."""
        item = self.order_items.get(order_item_id)
        if item is None:
            raise ValueError(f"unknown order item {order_item_id}")
        if quantity <= 0 or quantity > item["quantity"]:
            raise ValueError(f"quantity must be between 1 and {item['quantity']}")
        order = self.orders[item["order_id"]]
        created = created_on or self.now()
        request_id = self._next_id("return_request")
        self.return_requests[request_id] = new_entity(
            "return_request", id=request_id, custom_number=str(request_id), store_id=order["store_id"], order_item_id=order_item_id,
            customer_id=order["customer_id"], quantity=quantity, reason_for_return=reason, requested_action=action,
            customer_comments=comments, staff_notes="", return_request_status_id=0, created_on_utc=created, updated_on_utc=created,
        )
        return request_id

    def insert_return_request(self, entity: dict) -> dict:
        """ReturnRequest/Create: InsertReturnRequestAsync of the mapped DTO, a plain insert."""
        entity["id"] = self._next_id("return_request")
        self.return_requests[entity["id"]] = entity
        return entity

    def replace_return_request(self, entity: dict) -> None:
        """ReturnRequest/Update: full replace."""
        self.return_requests[entity["id"]] = entity

    def delete_return_request(self, request_id: int) -> None:
        del self.return_requests[request_id]

    def search_return_requests(self, *, store_id: int = 0, customer_id: int = 0, order_item_id: int = 0, custom_number: str | None = None,
                               status_id: int | None = None, created_from: datetime | None = None,
                               created_to: datetime | None = None) -> list[dict]:
        """ReturnRequestService.SearchReturnRequestsAsync: CreatedOnUtc DESC, inclusive window."""
        found = [r for r in self.return_requests.values()
                 if (not store_id or r["store_id"] == store_id) and (not customer_id or r["customer_id"] == customer_id)
                 and (not order_item_id or r["order_item_id"] == order_item_id)
                 and (not custom_number or r["custom_number"] == custom_number)
                 and (status_id is None or r["return_request_status_id"] == status_id)
                 and in_window(r["created_on_utc"], created_from, created_to)]
        return newest_first(found)
