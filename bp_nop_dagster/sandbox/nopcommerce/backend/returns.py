"""Return requests and their reason/action lookups (plugin Controllers/Orders/ReturnRequest{,Reason,
Action}Controller.cs over core ReturnRequestService), plus what the storefront and the admin do
with them (Nop.Web ReturnRequestController.ReturnRequestSubmit, admin ReturnRequestController.Edit).

Statuses are informational: nothing links a return request to a refund or to stock, except the
admin raising ReturnedQuantity, which puts that many units back (AdjustInventory). The API's
Update is a raw full replace: no stock, no e-mail, UpdatedOnUtc only as sent.
"""

from __future__ import annotations

from datetime import datetime

from bp_nop_dagster.sandbox.nopcommerce.backend.state import (
    ORDER_COMPLETE,
    RETURN_REQUEST_STATUSES,
    ShopState,
    in_window,
    newest_first,
)
from bp_nop_dagster.sandbox.nopcommerce.wire import new_entity

# OrderSettings defaults at installation (CORE InstallationService / OrderSettings): the names the
# storefront offers and copies, as text, into ReasonForReturn and RequestedAction.
DEFAULT_REASONS = ("Received Wrong Product", "Wrong Product Ordered", "There Was A Problem With The Product")
DEFAULT_ACTIONS = ("Repair", "Replacement", "Store Credit")
CANCELLED = RETURN_REQUEST_STATUSES["Cancelled"]


class ReturnRefused(ValueError):
    """The storefront does not let the shopper file this return request."""


class ReturnsMixin(ShopState):
    def _seed_return_lookups(self) -> None:
        for table, kind, names in ((self.return_request_reasons, "return_request_reason", DEFAULT_REASONS),
                                   (self.return_request_actions, "return_request_action", DEFAULT_ACTIONS)):
            for order, name in enumerate(names, start=1):
                table[order] = new_entity(kind, id=order, name=name, display_order=order)

    @staticmethod
    def lookup_list(table: dict[int, dict]) -> list[dict]:
        """GetAllReturnRequestReasons|ActionsAsync: by DisplayOrder, then Id."""
        return sorted(table.values(), key=lambda row: (row["display_order"], row["id"]))

    # ----------------------------------------------------------------------------- storefront and admin
    def create_return_request(self, *, order_item_id: int, quantity: int, reason: str = "Wrong size", action: str = "Refund",
                              comments: str = "", created_on: datetime | None = None, storefront_rules: bool = False) -> int:
        """A return request as the storefront files one: Pending, dated now (created and updated),
        numbered by its id (ReturnRequestNumberMask "{ID}"), in the order's store, staff notes empty.

        With `storefront_rules`, only what the storefront allows (IsReturnRequestAllowedAsync and
        GetReturnRequestAvailabilityAsync): return requests enabled, the order Complete and not
        deleted, fewer days since its creation than NumberOfDaysReturnRequestAvailable (0: no
        limit), a returnable product, and no more than the item's quantity minus every request not
        Cancelled (rejected ones still count). Without, any quantity up to the item's (the
        generator's history and older tests)."""
        item = self.order_items.get(order_item_id)
        if item is None:
            raise ValueError(f"unknown order item {order_item_id}")
        order = self.orders[item["order_id"]]
        created = created_on or self.now()
        if storefront_rules:
            available = self.returnable_quantity(item, at=created)
            if quantity <= 0 or quantity > available:
                raise ReturnRefused(f"order item {order_item_id}: {available} unit(s) can be returned, not {quantity}")
        elif quantity <= 0 or quantity > item["quantity"]:
            raise ValueError(f"quantity must be between 1 and {item['quantity']}")
        request_id = self._next_id("return_request")
        self.return_requests[request_id] = new_entity(
            "return_request", id=request_id, custom_number=str(request_id), store_id=order["store_id"], order_item_id=order_item_id,
            customer_id=order["customer_id"], quantity=quantity, reason_for_return=reason, requested_action=action,
            customer_comments=comments, staff_notes="", return_request_status_id=0, created_on_utc=created, updated_on_utc=created,
        )
        return request_id

    def returnable_quantity(self, item: dict, *, at: datetime) -> int:
        """Units of an order item the storefront still offers for return (0 when the order allows none)."""
        order = self.orders[item["order_id"]]
        settings = self.settings
        if not settings.return_requests_enabled or order["deleted"] or order["order_status_id"] != ORDER_COMPLETE:
            return 0
        days = settings.number_of_days_return_request_available
        if days > 0 and (at - order["created_on_utc"]).total_seconds() / 86_400 >= days:
            return 0
        if self.products.get(item["product_id"], {}).get("not_returnable"):
            return 0
        requested = sum(r["quantity"] for r in self.return_requests.values()
                        if r["order_item_id"] == item["id"] and r["return_request_status_id"] != CANCELLED)
        return max(item["quantity"] - requested, 0)

    def staff_edit_return_request(self, request_id: int, *, status_id: int | None = None, returned_quantity: int | None = None,
                                  staff_notes: str | None = None) -> dict:
        """The admin's Edit of a return request: the fields changed, UpdatedOnUtc = now, and a
        ReturnedQuantity raised puts the difference back in stock through AdjustInventory (it
        cannot be lowered). The e-mail about a status change is optional and adds no order note."""
        request = self.return_requests[request_id]
        if returned_quantity is not None:
            added = returned_quantity - request["returned_quantity"]
            if added < 0:
                raise ReturnRefused(f"returned quantity cannot go below the {request['returned_quantity']} already returned")
            item = self.order_items.get(request["order_item_id"])
            if added and item is not None and item["product_id"] in self.products:
                self.adjust_inventory(item["product_id"], added, item["attributes_xml"] or "",  # type: ignore[attr-defined]
                                      f"The stock quantity has been increased by the return request #{request_id}")
            request["returned_quantity"] = returned_quantity
        if status_id is not None:
            request["return_request_status_id"] = status_id
        if staff_notes is not None:
            request["staff_notes"] = staff_notes
        request["updated_on_utc"] = self.now()
        return request

    # ----------------------------------------------------------------------------- the API's CRUD
    def insert_return_request(self, entity: dict) -> dict:
        """ReturnRequest/Create: InsertReturnRequestAsync of the mapped DTO, a plain insert."""
        entity["id"] = self._next_id("return_request")
        self.return_requests[entity["id"]] = entity
        return entity

    def replace_return_request(self, entity: dict) -> None:
        """ReturnRequest/Update: UpdateReturnRequestAsync of the mapped DTO, a raw full replace
        (no stock, no e-mail, UpdatedOnUtc as sent)."""
        self.return_requests[entity["id"]] = entity

    def delete_return_request(self, request_id: int) -> None:
        del self.return_requests[request_id]

    def search_return_requests(self, *, store_id: int = 0, customer_id: int = 0, order_item_id: int = 0, custom_number: str | None = None,
                               status_id: int | None = None, created_from: datetime | None = None,
                               created_to: datetime | None = None) -> list[dict]:
        """ReturnRequestService.SearchReturnRequestsAsync: ids > 0 filter, CustomNumber equal, both
        date bounds inclusive, CreatedOnUtc DESC then Id DESC."""
        found = [r for r in self.return_requests.values()
                 if (store_id <= 0 or r["store_id"] == store_id) and (customer_id <= 0 or r["customer_id"] == customer_id)
                 and (order_item_id <= 0 or r["order_item_id"] == order_item_id)
                 and (not custom_number or r["custom_number"] == custom_number)
                 and (status_id is None or r["return_request_status_id"] == status_id)
                 and in_window(r["created_on_utc"], created_from, created_to)]
        return newest_first(found)
