"""HTTP face of the nopCommerce simulator: the official Web API Backend plugin's routes under
`/api-backend/{Controller}/{Action}` (notes §1a), plus the sandbox control API.

Wire format (notes §1a, §6): snake_case JSON both ways, integer status ids, naive-UTC datetimes
without `Z`, `;`-separated id lists, 0-based paged lists. Errors: 400 with an empty body for an
id ≤ 0; ASP.NET ProblemDetails (`application/problem+json`) for a missing or unparsable
parameter or body; 401 `{"message":"Unauthorized"}`; 403 `{"message":"Access denied."}`;
404 with a JSON string (`"Order Id=5 not found"`); NopException → 400 and anything else → 500,
both as `{"message","inner_exception_message","stack_trace":""}` (ErrorHandlerMiddleware).
An unknown route or method answers 404/405 with an empty body, as ASP.NET routing does.

Control API (not part of nopCommerce; never counted or faulted), besides the shared
`/__sandbox__/reset|stats|faults` routes:

- `POST /__sandbox__/orders` `{"email", "first_name", "last_name", "address": {"address1",
  "address2", "city", "zip_postal_code", "country_iso2", "county", "phone", "company"},
  "items": [{"sku", "quantity"}], "payment_method_system_name", "paid": bool, "guest": bool,
  "shipping_excl_tax", "discount_excl_tax", "payment_fee_excl_tax", "created_on_utc"}` → 201 with
  the OrderDto. A shopper's checkout (customer and address reused by email). Unknown SKU → 400.
- `GET /__sandbox__/orders/{id}` → `{"order", "items", "notes", "shipments"}` (deleted included).
- `POST /__sandbox__/orders/{id}/cancel|delete|paid` → the OrderDto after CancelOrder, the soft
  delete (no restock) or MarkOrderAsPaid.
- `POST /__sandbox__/return-requests` `{"order_id", "order_item_id" (default: the order's first
  item), "quantity" (default 1), "reason", "action", "comments"}` → 201 with the ReturnRequest DTO.
- `POST /__sandbox__/products` `{"sku", "name", "price", "tax_category_id", "stock_quantity",
  "manage_inventory_method_id", "use_multiple_warehouses", "warehouse_id",
  "warehouse_stock": {"<warehouse id>": qty}, "combinations": [{"sku", "attributes_xml",
  "stock_quantity"}], "published"}` → 201 with the ProductDto.
- `POST /__sandbox__/warehouses` `{"name"}` → 201 `{"id", "name"}`.
- `POST /__sandbox__/customers` `{"email", "first_name", "last_name", "address1", "city",
  "zip_postal_code", "country_iso2", "is_guest", …}` → 201 with the CustomerDto.
- `GET /__sandbox__/token-lifetime` → `{"seconds"}`; `PUT` `{"seconds": 5}` sets the lifetime of
  tokens issued from now on (default 7 days).
- `POST /__sandbox__/expire-tokens`: rotates the signing key, so every token issued so far gets 401.
- `GET /__sandbox__/state` → counts (orders, deleted_orders, customers, products, shipments,
  return_requests, …).
"""

from __future__ import annotations

import bisect
import json
import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bp_nop_dagster.sandbox.control import ControlError, control_endpoint, control_json, read_control_body, shared_control_routes
from bp_nop_dagster.sandbox.instrumentation import CONTROL_PREFIX, InstrumentationMiddleware, json_bytes
from bp_nop_dagster.sandbox.nopcommerce.backend import (
    INT_MAX,
    RETURN_REQUEST_STATUSES,
    FieldError,
    NopCommerceBackend,
    NopError,
    NotFound,
    from_wire,
    parse_datetime,
    to_wire,
)
from bp_nop_dagster.sandbox.world import SandboxWorld

API = "/api-backend"
JSON_TYPE = "application/json; charset=utf-8"
PROBLEM_TYPE = "application/problem+json; charset=utf-8"


# ---------------------------------------------------------------------------------------------
# responses
class ApiError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def ok(payload: Any) -> Response:
    return Response(json_bytes(payload), status_code=200, media_type=JSON_TYPE)


def ok_empty() -> Response:
    return Response(b"", status_code=200)


def not_found(message: str) -> Response:
    return Response(json_bytes(message), status_code=404, media_type=JSON_TYPE)


def problem(errors: dict[str, list[str]]) -> Response:
    # ASP.NET [ApiController] validation answer; `type`/`traceId` as ASP.NET Core 8 adds them
    # (the exact shape is UNCONFIRMED in the notes, §6).
    return Response(json_bytes({
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": errors,
        "traceId": "00-00000000000000000000000000000000-0000000000000000-00",
    }), status_code=400, media_type=PROBLEM_TYPE)


def exception_body(message: str, inner: str | None = None) -> bytes:
    return json_bytes({"message": message, "inner_exception_message": inner, "stack_trace": ""})


UNAUTHORIZED = json_bytes({"message": "Unauthorized"})
ACCESS_DENIED = json_bytes({"message": "Access denied."})


def render_error(status: int, message: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Bodies for injected faults, as the real stack would send each status."""
    json_header = [(b"content-type", JSON_TYPE.encode())]
    if status == 401:
        return UNAUTHORIZED, json_header
    if status == 403:
        return ACCESS_DENIED, json_header
    if status in (502, 503, 504):
        title = {502: "502 Bad Gateway", 503: "503 Service Unavailable", 504: "504 Gateway Time-out"}[status]
        return f"<html><body><h1>{title}</h1></body></html>".encode(), [(b"content-type", b"text/html")]
    if status == 429:
        return b"", [(b"retry-after", b"1")]
    return exception_body(message), json_header


# ---------------------------------------------------------------------------------------------
# request parsing
class Call:
    """One API request after its body was read: typed access to path, query and body."""

    def __init__(self, request: Request, body: bytes) -> None:
        self.path_params = request.path_params
        self.query: dict[str, str] = {}
        for key, value in request.query_params.multi_items():
            self.query.setdefault(key.lower(), value)  # ASP.NET binds query names case-insensitively
        self.body = body

    # -- path
    def path_int(self, name: str, *, positive: bool = True) -> int:
        raw = self.path_params[name]
        value = _parse_int(raw)
        if value is None:
            raise ApiError(problem({name: [f"The value '{raw}' is not valid."]}))
        if positive and value <= 0:
            raise ApiError(Response(b"", status_code=400))
        return value

    def path_ids(self, name: str) -> list[int]:
        return _parse_ids(name, self.path_params[name])

    # -- query (an empty value counts as absent: the safe reading for optional parameters)
    def raw(self, name: str) -> str | None:
        value = self.query.get(name.lower())
        return value if value not in (None, "") else None

    def q_int(self, name: str, default: int | None = 0, *, required: bool = False) -> int | None:
        raw = self.raw(name)
        if raw is None:
            if required:
                raise ApiError(problem({name: [f"The {name} field is required."]}))
            return default
        value = _parse_int(raw)
        if value is None:
            raise ApiError(problem({name: [f"The value '{raw}' is not valid for {name}."]}))
        return value

    def q_bool(self, name: str, default: bool | None = False) -> bool | None:
        raw = self.raw(name)
        if raw is None:
            return default
        if raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise ApiError(problem({name: [f"The value '{raw}' is not valid for {name}."]}))

    def q_dt(self, name: str) -> datetime | None:
        # Accepted with or without `Z`/offset; an offset is converted to UTC (ASP.NET would convert
        # a `Z` value to server-local time, which is UTC on a typical host).
        raw = self.raw(name)
        if raw is None:
            return None
        try:
            return parse_datetime(raw)
        except ValueError:
            raise ApiError(problem({name: [f"The value '{raw}' is not valid for {name}."]})) from None

    def q_str(self, name: str, *, required: bool = False) -> str | None:
        raw = self.raw(name)
        if raw is None and required:
            raise ApiError(problem({name: [f"The {name} field is required."]}))
        return raw

    def q_ids(self, name: str) -> list[int] | None:
        raw = self.raw(name)
        return None if raw is None else _parse_ids(name, raw)

    # -- body
    def json(self, name: str = "model") -> Any:
        if not self.body.strip():
            raise ApiError(problem({"": ["A non-empty request body is required."], name: [f"The {name} field is required."]}))
        try:
            return json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            message = getattr(error, "msg", str(error))
            raise ApiError(problem({"": [f"Unexpected character encountered while parsing value: {message}. Path '', line 1."]})) from None

    def entity(self, kind: str, name: str = "model") -> dict:
        data = self.json(name)
        try:
            return from_wire(kind, data)
        except FieldError as error:
            raise ApiError(problem({error.field: [error.message]})) from None


def _parse_int(raw: str) -> int | None:
    text = raw.strip()
    if not text or not (text.isdigit() or (text[0] in "+-" and text[1:].isdigit())):
        return None
    value = int(text)
    return value if -INT_MAX - 1 <= value <= INT_MAX else None


def _parse_ids(name: str, raw: str) -> list[int]:
    ids = []
    for part in raw.split(";"):
        if not part.strip():
            continue
        value = _parse_int(part)
        if value is None:
            raise ApiError(problem({name: [f"The value '{raw}' is not valid."]}))
        ids.append(value)
    return ids


def paged(items: list, call: Call, render: Callable[[Any], dict]) -> Response:
    """PagedList semantics (Nop.Core/PagedList.cs): 0-based, pageSize ≥ 1, default int.MaxValue."""
    page_index = max(call.q_int("pageIndex", 0) or 0, 0)
    page_size = max(call.q_int("pageSize", INT_MAX) or 1, 1)
    only_count = call.q_bool("getOnlyTotalCount", False)
    total = len(items)
    total_pages = math.ceil(total / page_size) if total else 0
    start = page_index * page_size
    page = [] if only_count else items[start : start + page_size]
    return ok({
        "page_index": page_index,
        "page_size": page_size,
        "total_count": total,
        "total_pages": total_pages,
        "has_previous_page": page_index > 0,
        "has_next_page": page_index + 1 < total_pages,
        "items": [render(item) for item in page],
    })


def in_window(value: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    if start is not None and (value is None or value < start):
        return False
    if end is not None and (value is None or value > end):
        return False
    return True


def contains(haystack: str | None, needle: str | None) -> bool:
    return needle is None or needle.lower() in (haystack or "").lower()


def newest_first(entities: list[dict]) -> list[dict]:
    return sorted(entities, key=lambda e: (e["created_on_utc"], e["id"]), reverse=True)


def w(kind: str) -> Callable[[dict], dict]:
    return lambda entity: to_wire(kind, entity)


# ---------------------------------------------------------------------------------------------
# routes
Handler = Callable[[NopCommerceBackend, Call], Response]
_API_ROUTES: list[tuple[str, str, Handler, bool]] = []


def api(method: str, path: str, *, auth: bool = True) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _API_ROUTES.append((method, API + path, handler, auth))
        return handler

    return register


def _get(mapping: dict[int, dict], entity_id: int, label: str) -> dict:
    entity = mapping.get(entity_id)
    if entity is None:
        raise ApiError(not_found(f"{label} Id={entity_id} not found"))
    return entity


# -- Authenticate -------------------------------------------------------------------------------
@api("POST", "/Authenticate/GetToken", auth=False)
def get_token(nop: NopCommerceBackend, call: Call) -> Response:
    body = call.json("model")
    if not isinstance(body, dict):
        raise ApiError(problem({"": ["Cannot deserialize the current JSON value into type 'AuthenticateRequest'."]}))
    result = nop.authenticate(_opt_str(body.get("username")), _opt_str(body.get("email")), _opt_str(body.get("password")))
    if result is None:
        return Response(json_bytes("Username or password is incorrect"), status_code=401, media_type=JSON_TYPE)
    return ok(result)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


# -- Orders -------------------------------------------------------------------------------------
@api("GET", "/Order/GetById/{id}")
def order_get_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("order", _get(nop.orders, call.path_int("id"), "Order")))  # deleted orders too (§7.1)


@api("GET", "/Order/GetByIds/{ids}")
def order_get_by_ids(nop: NopCommerceBackend, call: Call) -> Response:
    ids = call.path_ids("ids")
    return ok([to_wire("order", nop.orders[i]) for i in ids if i in nop.orders])


@api("GET", "/Order/GetByGuid")
def order_get_by_guid(nop: NopCommerceBackend, call: Call) -> Response:
    guid = call.q_str("guid", required=True).strip().lower()
    order = next((o for o in nop.orders.values() if o["order_guid"] == guid), None)
    if order is None:
        return not_found(f"Order Guid={guid} not found")
    return ok(to_wire("order", order))


@api("GET", "/Order/GetByCustomOrderNumber")
def order_get_by_custom_number(nop: NopCommerceBackend, call: Call) -> Response:
    number = call.q_str("customOrderNumber", required=True)
    order = next((o for o in sorted(nop.orders.values(), key=lambda o: o["id"]) if o["custom_order_number"] == number), None)
    if order is None:
        return not_found(f"Order CustomOrderNumber={number} not found")
    return ok(to_wire("order", order))


@api("GET", "/Order/GetByOrderItem/{orderItemId}")
def order_get_by_order_item(nop: NopCommerceBackend, call: Call) -> Response:
    item = _get(nop.order_items, call.path_int("orderItemId"), "Order item")
    return ok(to_wire("order", _get(nop.orders, item["order_id"], "Order")))


@api("GET", "/Order/Search")
def order_search(nop: NopCommerceBackend, call: Call) -> Response:
    """OrderService.SearchOrdersAsync: deleted always excluded, CreatedOnUtc DESC, inclusive window."""
    store_id = call.q_int("storeId")
    customer_id = call.q_int("customerId")
    product_id = call.q_int("productId")
    warehouse_id = call.q_int("warehouseId")
    billing_country_id = call.q_int("billingCountryId")
    payment_method = call.q_str("paymentMethodSystemName")
    created_from, created_to = call.q_dt("createdFromUtc"), call.q_dt("createdToUtc")
    os_ids, ps_ids, ss_ids = call.q_ids("osIds"), call.q_ids("psIds"), call.q_ids("ssIds")
    billing_email, billing_last_name = call.q_str("billingEmail"), call.q_str("billingLastName")
    billing_phone, order_notes = call.q_str("billingPhone"), call.q_str("orderNotes")
    call.q_int("vendorId"), call.q_int("affiliateId")  # accepted and validated; no vendors/affiliates simulated

    items_by_order: dict[int, list[dict]] = {}
    if product_id or warehouse_id:
        for item in nop.order_items.values():
            items_by_order.setdefault(item["order_id"], []).append(item)

    def item_in_warehouse(item: dict) -> bool:
        product = nop.products.get(item["product_id"])
        if product is None:
            return False
        if product["manage_inventory_method_id"] == 1 and product["use_multiple_warehouses"]:
            return any(r["warehouse_id"] == warehouse_id for r in nop.warehouse_records(product["id"]))
        return product["warehouse_id"] == warehouse_id

    index = nop.orders_by_created()
    low = bisect.bisect_left(index, (created_from,)) if created_from else 0
    high = bisect.bisect_right(index, (created_to, INT_MAX)) if created_to else len(index)
    orders = nop.orders
    result = []
    for _, oid in reversed(index[low:high]):  # newest first, ties by id DESC
        order = orders[oid]
        if order["deleted"]:
            continue
        if store_id and order["store_id"] != store_id:
            continue
        if customer_id and order["customer_id"] != customer_id:
            continue
        if payment_method and order["payment_method_system_name"] != payment_method:
            continue
        if os_ids and order["order_status_id"] not in os_ids:
            continue
        if ps_ids and order["payment_status_id"] not in ps_ids:
            continue
        if ss_ids and order["shipping_status_id"] not in ss_ids:
            continue
        if product_id and not any(i["product_id"] == product_id for i in items_by_order.get(order["id"], [])):
            continue
        if warehouse_id and not any(item_in_warehouse(i) for i in items_by_order.get(order["id"], [])):
            continue
        if billing_email or billing_last_name or billing_phone or billing_country_id:
            address = nop.addresses.get(order["billing_address_id"], {})
            if not (contains(address.get("email"), billing_email) and contains(address.get("last_name"), billing_last_name)
                    and contains(address.get("phone_number"), billing_phone)
                    and (not billing_country_id or address.get("country_id") == billing_country_id)):
                continue
        if order_notes and not any(n["order_id"] == order["id"] and contains(n["note"], order_notes) for n in nop.order_notes.values()):
            continue
        result.append(order)
    return paged(result, call, w("order"))


@api("POST", "/Order/Create")
def order_create(nop: NopCommerceBackend, call: Call) -> Response:
    """A raw insert, as in the plugin: no totals, no inventory."""
    entity = call.entity("order", "model")
    entity["id"] = nop._next_id("order")
    entity["card_number"] = entity["card_cvv2"] = None  # the sandbox never stores card numbers
    if entity["order_guid"] == "00000000-0000-0000-0000-000000000000":
        entity["order_guid"] = nop._guid()
    if not entity["custom_order_number"]:
        entity["custom_order_number"] = str(entity["id"])
    nop.store_order(entity)
    return ok(to_wire("order", entity))


@api("PUT", "/Order/Update")
def order_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call.entity("order", "model")
    _get(nop.orders, entity["id"], "Order")
    entity["card_number"] = entity["card_cvv2"] = None  # never store a full card number
    nop.store_order(entity)  # full replace: omitted fields are reset (§7.2)
    return ok_empty()


@api("DELETE", "/Order/Delete/{id}")
def order_delete(nop: NopCommerceBackend, call: Call) -> Response:
    order = _get(nop.orders, call.path_int("id"), "Order")
    nop.delete_order(order["id"])
    return ok_empty()


# -- Order items and notes ------------------------------------------------------------------------
@api("GET", "/OrderItem/GetOrderItems/{orderId}")
def order_items(nop: NopCommerceBackend, call: Call) -> Response:
    order = _get(nop.orders, call.path_int("orderId"), "Order")
    ship_enabled = call.q_bool("isShipEnabled", None)
    not_returnable = call.q_bool("isNotReturnable", None)
    call.q_int("vendorId")
    items = sorted(nop.items_of_order(order["id"]), key=lambda i: i["id"])
    if ship_enabled is not None:
        items = [i for i in items if nop.products.get(i["product_id"], {}).get("is_ship_enabled", True) == ship_enabled]
    if not_returnable is not None:
        items = [i for i in items if nop.products.get(i["product_id"], {}).get("not_returnable", False) == not_returnable]
    return ok([to_wire("order_item", i) for i in items])


@api("GET", "/OrderItem/GetById/{id}")
def order_item_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("order_item", _get(nop.order_items, call.path_int("id"), "Order item")))


@api("GET", "/OrderItem/GetOrderItemsByCustomer/{customerId}")
def order_items_by_customer(nop: NopCommerceBackend, call: Call) -> Response:
    customer_id = call.path_int("customerId")
    orders = {o["id"] for o in nop.orders.values() if o["customer_id"] == customer_id and not o["deleted"]}
    return ok([to_wire("order_item", i) for i in sorted(nop.order_items.values(), key=lambda i: i["id"]) if i["order_id"] in orders])


@api("GET", "/OrderNote/GetOrderNotesByOrderId/{orderId}")
def order_notes(nop: NopCommerceBackend, call: Call) -> Response:
    order_id = call.path_int("orderId")
    display = call.q_bool("displayToCustomer", None)
    notes = [n for n in nop.notes_of_order(order_id) if display is None or n["display_to_customer"] == display]
    return ok([to_wire("order_note", n) for n in sorted(notes, key=lambda n: (n["created_on_utc"], n["id"]))])


@api("GET", "/OrderNote/GetById/{id}")
def order_note_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("order_note", _get(nop.order_notes, call.path_int("id"), "Order note")))


@api("POST", "/OrderNote/Create")
def order_note_create(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call.entity("order_note", "model")
    _get(nop.orders, entity["order_id"], "Order")
    note = nop.add_order_note(entity["order_id"], entity["note"] or "", display_to_customer=entity["display_to_customer"],
                              created_on=None if entity["created_on_utc"].year == 1 else entity["created_on_utc"])
    note["download_id"] = entity["download_id"]
    return ok(to_wire("order_note", note))


@api("DELETE", "/OrderNote/Delete/{id}")
def order_note_delete(nop: NopCommerceBackend, call: Call) -> Response:
    note = _get(nop.order_notes, call.path_int("id"), "Order note")
    del nop.order_notes[note["id"]]
    return ok_empty()


# -- Addresses ------------------------------------------------------------------------------------
@api("GET", "/Address/GetById/{id}")
def address_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("address", _get(nop.addresses, call.path_int("id"), "Address")))


@api("POST", "/Address/Create")
def address_create(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("address", nop.insert_address(call.entity("address", "model"))))


@api("PUT", "/Address/Update")
def address_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call.entity("address", "model")
    _get(nop.addresses, entity["id"], "Address")
    nop.addresses[entity["id"]] = entity
    return ok_empty()


@api("DELETE", "/Address/Delete/{id}")
def address_delete(nop: NopCommerceBackend, call: Call) -> Response:
    address = _get(nop.addresses, call.path_int("id"), "Address")
    del nop.addresses[address["id"]]
    return ok_empty()


# -- Customers ------------------------------------------------------------------------------------
@api("GET", "/Customer/GetAll")
def customer_get_all(nop: NopCommerceBackend, call: Call) -> Response:
    """CustomerService.GetAllCustomersAsync: deleted excluded, CreatedOnUtc DESC."""
    created_from, created_to = call.q_dt("createdFromUtc"), call.q_dt("createdToUtc")
    role_ids = call.q_ids("customerRoleIds")
    email, username = call.q_str("email"), call.q_str("username")
    first_name, last_name = call.q_str("firstName"), call.q_str("lastName")
    company, phone = call.q_str("company"), call.q_str("phone")
    result = []
    for customer in nop.customers.values():
        if customer["deleted"] or not in_window(customer["created_on_utc"], created_from, created_to):
            continue
        if role_ids and not (nop.customer_roles.get(customer["id"], set()) & set(role_ids)):
            continue
        if not (contains(customer["email"], email) and contains(customer["username"], username) and contains(customer["first_name"], first_name)
                and contains(customer["last_name"], last_name) and contains(customer["company"], company) and contains(customer["phone"], phone)):
            continue
        result.append(customer)
    return paged(newest_first(result), call, w("customer"))


@api("GET", "/Customer/GetById/{id}")
def customer_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("customer", _get(nop.customers, call.path_int("id"), "Customer")))


@api("GET", "/Customer/GetCustomersByIds/{ids}")
def customers_by_ids(nop: NopCommerceBackend, call: Call) -> Response:
    return ok([to_wire("customer", nop.customers[i]) for i in call.path_ids("ids") if i in nop.customers])


@api("GET", "/Customer/GetCustomerByGuid")
def customer_by_guid(nop: NopCommerceBackend, call: Call) -> Response:
    guid = call.q_str("guid", required=True).strip().lower()
    customer = next((c for c in nop.customers.values() if c["customer_guid"] == guid), None)
    return ok(to_wire("customer", customer)) if customer else not_found(f"Customer Guid={guid} not found")


@api("GET", "/Customer/GetCustomerByEmail")
def customer_by_email(nop: NopCommerceBackend, call: Call) -> Response:
    email = call.q_str("email", required=True)
    customer = nop.customer_by_email(email)
    return ok(to_wire("customer", customer)) if customer else not_found(f"Customer Email={email} not found")


@api("GET", "/Customer/GetAddressesByCustomerId/{customerId}")
def customer_addresses(nop: NopCommerceBackend, call: Call) -> Response:
    customer = _get(nop.customers, call.path_int("customerId"), "Customer")
    ids = nop.customer_addresses.get(customer["id"], [])
    return ok([to_wire("address", nop.addresses[a]) for a in ids if a in nop.addresses])


def _customer_address(nop: NopCommerceBackend, call: Call, field: str, label: str) -> Response:
    customer = _get(nop.customers, call.path_int("customerId"), "Customer")
    address_id = customer[field]
    if address_id is None or address_id not in nop.addresses:
        return not_found(f"{label} address for customer Id={customer['id']} not found")
    return ok(to_wire("address", nop.addresses[address_id]))


@api("GET", "/Customer/GetCustomerBillingAddress/{customerId}")
def customer_billing_address(nop: NopCommerceBackend, call: Call) -> Response:
    return _customer_address(nop, call, "billing_address_id", "Billing")


@api("GET", "/Customer/GetCustomerShippingAddress/{customerId}")
def customer_shipping_address(nop: NopCommerceBackend, call: Call) -> Response:
    return _customer_address(nop, call, "shipping_address_id", "Shipping")


# -- Countries and warehouses ---------------------------------------------------------------------
# UNCONFIRMED: the notes do not list the Country and Warehouse controllers; the routes follow the
# plugin's `{Controller}/{Action}` pattern (Country/GetAll, Country/GetById/{id}, Warehouse/GetAll).
# Seeded country ids: 1 US, 2 CA, 3 GB, 4 DE, 5 FR, 6 IE, 7 ES, 8 IT, 9 NL, 10 BE, 11 SE, 12 AU.
@api("GET", "/Country/GetAll")
def country_get_all(nop: NopCommerceBackend, call: Call) -> Response:
    show_hidden = call.q_bool("showHidden", False)
    call.q_int("languageId")
    countries = [c for c in nop.countries.values() if show_hidden or c["published"]]
    return ok([to_wire("country", c) for c in sorted(countries, key=lambda c: (c["display_order"], c["name"]))])


@api("GET", "/Country/GetById/{id}")
def country_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("country", _get(nop.countries, call.path_int("id"), "Country")))


@api("GET", "/Warehouse/GetAll")
def warehouse_get_all(nop: NopCommerceBackend, call: Call) -> Response:
    return ok([to_wire("warehouse", wh) for wh in sorted(nop.warehouses.values(), key=lambda wh: (wh["name"] or "", wh["id"]))])


@api("GET", "/Warehouse/GetById/{id}")
def warehouse_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("warehouse", _get(nop.warehouses, call.path_int("id"), "Warehouse")))


# -- Products -------------------------------------------------------------------------------------
@api("GET", "/Product/GetAll")
def product_get_all(nop: NopCommerceBackend, call: Call) -> Response:
    """ProductService.SearchProductsAsync: deleted excluded; unpublished only with showHidden;
    ordered by display_order, id (the Position sort without a category)."""
    keywords = call.q_str("keywords")
    search_sku = call.q_bool("searchSku", True)
    show_hidden = call.q_bool("showHidden", False)
    override_published = call.q_bool("overridePublished", None)
    warehouse_id = call.q_int("warehouseId")
    call.q_int("storeId"), call.q_int("vendorId"), call.q_ids("categoryIds"), call.q_ids("manufacturerIds")
    result = []
    for product in nop.products.values():
        if product["deleted"]:
            continue
        if override_published is not None:
            if product["published"] != override_published:
                continue
        elif not show_hidden and not product["published"]:
            continue
        if keywords:
            by_name = keywords.lower() in (product["name"] or "").lower()
            by_sku = search_sku and (product["sku"] or "").lower() == keywords.strip().lower()
            if not (by_name or by_sku):
                continue
        if warehouse_id:
            if product["use_multiple_warehouses"]:
                if not any(r["warehouse_id"] == warehouse_id for r in nop.warehouse_records(product["id"])):
                    continue
            elif product["warehouse_id"] != warehouse_id:
                continue
        result.append(product)
    result.sort(key=lambda p: (p["display_order"], p["id"]))
    return paged(result, call, w("product"))


@api("GET", "/Product/GetById/{id}")
def product_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("product", _get(nop.products, call.path_int("id"), "Product")))


@api("GET", "/Product/GetProductsByIds/{ids}")
def products_by_ids(nop: NopCommerceBackend, call: Call) -> Response:
    return ok([to_wire("product", nop.products[i]) for i in call.path_ids("ids") if i in nop.products])


@api("GET", "/Product/GetProductBySku")
def product_by_sku(nop: NopCommerceBackend, call: Call) -> Response:
    # Case-insensitive and trimmed, as SQL Server's default CI collation compares (comment in backend).
    sku = call.q_str("sku", required=True)
    product = nop.product_by_sku(sku)
    return ok(to_wire("product", product)) if product else not_found(f"Product SKU={sku} not found")


@api("GET", "/Product/GetProductsBySku")
def products_by_sku(nop: NopCommerceBackend, call: Call) -> Response:
    raw = call.q_str("skuArray", required=True)
    wanted = {s.strip().lower() for s in raw.split(";") if s.strip()}
    call.q_int("vendorId")
    products = [p for p in sorted(nop.products.values(), key=lambda p: p["id"]) if not p["deleted"] and (p["sku"] or "").rstrip().lower() in wanted]
    return ok([to_wire("product", p) for p in products])


@api("PUT", "/Product/Update")
def product_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call.entity("product", "model")
    _get(nop.products, entity["id"], "Product")
    entity["updated_on_utc"] = nop.now()
    nop.products[entity["id"]] = entity  # full replace: e.g. an omitted stock_quantity becomes 0 (§7.2)
    return ok_empty()


@api("DELETE", "/Product/Delete/{id}")
def product_delete(nop: NopCommerceBackend, call: Call) -> Response:
    product = _get(nop.products, call.path_int("id"), "Product")
    product["deleted"] = True  # soft delete (ISoftDeletedEntity)
    return ok_empty()


@api("POST", "/Product/AdjustInventory/{productId}")
def product_adjust_inventory(nop: NopCommerceBackend, call: Call) -> Response:
    product = _get(nop.products, call.path_int("productId"), "Product")
    quantity = call.q_int("quantityToChange", required=True)
    message = call.q_str("message") or ""
    # The body is a JSON string holding attributesXml (`""` for a simple product). UNCONFIRMED how
    # an empty body binds; the simulator reads it as "" and refuses any non-string JSON.
    attributes_xml = ""
    if call.body.strip():
        value = call.json("attributesXml")
        if value is not None and not isinstance(value, str):
            raise ApiError(problem({"": ["Error converting value to type 'System.String'. Path '', line 1."]}))
        attributes_xml = value or ""
    nop.adjust_inventory(product["id"], quantity, attributes_xml, message)
    return ok_empty()


@api("GET", "/Product/GetTotalStockQuantity/{productId}")
def product_total_stock(nop: NopCommerceBackend, call: Call) -> Response:
    product = _get(nop.products, call.path_int("productId"), "Product")
    use_reserved = call.q_bool("useReservedQuantity", True)
    warehouse_id = call.q_int("warehouseId")
    return ok(nop.total_stock_quantity(product["id"], use_reserved, warehouse_id))


@api("GET", "/Product/GetStockQuantityHistory/{productId}")
def product_stock_history(nop: NopCommerceBackend, call: Call) -> Response:
    product = _get(nop.products, call.path_int("productId"), "Product")
    combination_id, warehouse_id = call.q_int("combinationId"), call.q_int("warehouseId")
    entries = [h for h in nop.stock_history.values() if h["product_id"] == product["id"]
               and (not combination_id or h["combination_id"] == combination_id)
               and (not warehouse_id or h["warehouse_id"] == warehouse_id)]
    return paged(newest_first(entries), call, w("stock_quantity_history"))


# -- Product warehouse inventory and attribute combinations --------------------------------------
@api("GET", "/ProductWarehouse/GetAllProductWarehouseInventoryRecords/{productId}")
def pwi_all(nop: NopCommerceBackend, call: Call) -> Response:
    product_id = call.path_int("productId")
    return ok([to_wire("product_warehouse_inventory", r) for r in sorted(nop.warehouse_records(product_id), key=lambda r: r["id"])])


@api("GET", "/ProductWarehouse/GetById/{id}")
def pwi_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("product_warehouse_inventory", _get(nop.product_warehouses, call.path_int("id"), "Product warehouse inventory")))


@api("POST", "/ProductWarehouse/Create")
def pwi_create(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call.entity("product_warehouse_inventory", "model")
    _get(nop.products, entity["product_id"], "Product")
    _get(nop.warehouses, entity["warehouse_id"], "Warehouse")
    record = nop.insert_product_warehouse(entity["product_id"], entity["warehouse_id"], entity["stock_quantity"], entity["reserved_quantity"])
    return ok(to_wire("product_warehouse_inventory", record))


@api("PUT", "/ProductWarehouse/Update")
def pwi_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call.entity("product_warehouse_inventory", "model")
    _get(nop.product_warehouses, entity["id"], "Product warehouse inventory")
    nop.replace_product_warehouse(entity)
    return ok_empty()


@api("DELETE", "/ProductWarehouse/Delete/{id}")
def pwi_delete(nop: NopCommerceBackend, call: Call) -> Response:
    record = _get(nop.product_warehouses, call.path_int("id"), "Product warehouse inventory")
    del nop.product_warehouses[record["id"]]
    return ok_empty()


@api("GET", "/ProductAttributeCombination/GetAll/{productId}")
def combinations_all(nop: NopCommerceBackend, call: Call) -> Response:
    product_id = call.path_int("productId")
    return ok([to_wire("product_attribute_combination", c) for c in sorted(nop.product_combinations(product_id), key=lambda c: c["id"])])


@api("GET", "/ProductAttributeCombination/GetBySku")
def combination_by_sku(nop: NopCommerceBackend, call: Call) -> Response:
    sku = call.q_str("sku", required=True)
    combination = nop.combination_by_sku(sku)
    return ok(to_wire("product_attribute_combination", combination)) if combination else not_found(f"Combination SKU={sku} not found")


@api("GET", "/ProductAttributeCombination/GetById/{id}")
def combination_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("product_attribute_combination", _get(nop.combinations, call.path_int("id"), "Product attribute combination")))


@api("PUT", "/ProductAttributeCombination/Update")
def combination_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call.entity("product_attribute_combination", "model")
    current = _get(nop.combinations, entity["id"], "Product attribute combination")
    entity["_attribute_description"] = current.get("_attribute_description")
    nop.replace_combination(entity)
    return ok_empty()


# -- Shipments ------------------------------------------------------------------------------------
@api("GET", "/Shipment/GetAll")
def shipment_get_all(nop: NopCommerceBackend, call: Call) -> Response:
    """ShipmentService.GetAllShipmentsAsync: shipments of deleted orders left out, CreatedOnUtc DESC."""
    order_id = call.q_int("orderId")
    tracking = call.q_str("trackingNumber")
    not_shipped = call.q_bool("loadNotShipped", False)
    not_delivered = call.q_bool("loadNotDelivered", False)
    created_from, created_to = call.q_dt("createdFromUtc"), call.q_dt("createdToUtc")
    warehouse_id = call.q_int("warehouseId")
    call.q_int("vendorId"), call.q_int("shippingCountryId"), call.q_int("shippingStateId")
    result = []
    for shipment in nop.shipments.values():
        order = nop.orders.get(shipment["order_id"])
        if order is None or order["deleted"]:
            continue
        if order_id and shipment["order_id"] != order_id:
            continue
        if not contains(shipment["tracking_number"], tracking):
            continue
        if not_shipped and shipment["shipped_date_utc"] is not None:
            continue
        if not_delivered and shipment["delivery_date_utc"] is not None:
            continue
        if not in_window(shipment["created_on_utc"], created_from, created_to):
            continue
        if warehouse_id and not any(i["warehouse_id"] == warehouse_id for i in nop.items_of_shipment(shipment["id"])):
            continue
        result.append(shipment)
    return paged(newest_first(result), call, w("shipment"))


@api("GET", "/Shipment/GetById/{id}")
def shipment_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("shipment", _get(nop.shipments, call.path_int("id"), "Shipment")))


@api("GET", "/Shipment/GetByIds/{ids}")
def shipments_by_ids(nop: NopCommerceBackend, call: Call) -> Response:
    return ok([to_wire("shipment", nop.shipments[i]) for i in call.path_ids("ids") if i in nop.shipments])


@api("GET", "/Shipment/GetByOrderId/{orderId}")
def shipments_by_order(nop: NopCommerceBackend, call: Call) -> Response:
    order_id = call.path_int("orderId")
    shipped = call.q_bool("shipped", None)
    ready = call.q_bool("readyForPickup", None)
    call.q_int("vendorId")
    result = [s for s in nop.shipments.values() if s["order_id"] == order_id
              and (shipped is None or (s["shipped_date_utc"] is not None) == shipped)
              and (ready is None or (s["ready_for_pickup_date_utc"] is not None) == ready)]
    return ok([to_wire("shipment", s) for s in sorted(result, key=lambda s: s["id"])])


@api("POST", "/Shipment/Create")
def shipment_create(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call.entity("shipment", "model")
    _get(nop.orders, entity["order_id"], "Order")
    return ok(to_wire("shipment", nop.insert_shipment(entity)))


@api("PUT", "/Shipment/Update")
def shipment_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call.entity("shipment", "model")
    _get(nop.shipments, entity["id"], "Shipment")
    nop.shipments[entity["id"]] = entity  # full replace
    return ok_empty()


@api("DELETE", "/Shipment/Delete/{id}")
def shipment_delete(nop: NopCommerceBackend, call: Call) -> Response:
    shipment = _get(nop.shipments, call.path_int("id"), "Shipment")
    for item in nop.items_of_shipment(shipment["id"]):
        del nop.shipment_items[item["id"]]
    del nop.shipments[shipment["id"]]
    return ok_empty()


@api("GET", "/ShipmentItem/GetByShipmentId/{shipmentId}")
def shipment_items_by_shipment(nop: NopCommerceBackend, call: Call) -> Response:
    shipment_id = call.path_int("shipmentId")
    return ok([to_wire("shipment_item", i) for i in sorted(nop.items_of_shipment(shipment_id), key=lambda i: i["id"])])


@api("GET", "/ShipmentItem/GetById/{id}")
def shipment_item_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("shipment_item", _get(nop.shipment_items, call.path_int("id"), "Shipment item")))


@api("POST", "/ShipmentItem/Create")
def shipment_item_create(nop: NopCommerceBackend, call: Call) -> Response:
    # A quantity beyond what is left to ship is refused with a NopException-style 400 (a sandbox
    # guard; the plugin itself is UNCONFIRMED to check it).
    entity = call.entity("shipment_item", "model")
    _get(nop.shipments, entity["shipment_id"], "Shipment")
    _get(nop.order_items, entity["order_item_id"], "Order item")
    return ok(to_wire("shipment_item", nop.insert_shipment_item(entity)))


@api("PUT", "/ShipmentItem/Update")
def shipment_item_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call.entity("shipment_item", "model")
    _get(nop.shipment_items, entity["id"], "Shipment item")
    item = _get(nop.order_items, entity["order_item_id"], "Order item")
    left = item["quantity"] - nop.quantity_in_shipments(item["id"], exclude_item=entity["id"])
    if entity["quantity"] > left:
        raise NopError(f"Quantity {entity['quantity']} exceeds the quantity left to ship ({left}) for order item {item['id']}")
    nop.shipment_items[entity["id"]] = entity
    return ok_empty()


@api("DELETE", "/ShipmentItem/Delete/{id}")
def shipment_item_delete(nop: NopCommerceBackend, call: Call) -> Response:
    item = _get(nop.shipment_items, call.path_int("id"), "Shipment item")
    del nop.shipment_items[item["id"]]
    return ok_empty()


# -- OrderProcessing (GETs that change state, notes §7.8) ----------------------------------------
# Ship/Deliver on a shipment in the wrong state: the core throws; the simulator answers it as a
# NopException (400 `{"message": "This shipment is already shipped", ...}`). UNCONFIRMED: the core
# may throw a plain Exception, which the plugin's middleware would turn into a 500.
@api("GET", "/OrderProcessing/Ship/{shipmentId}")
def processing_ship(nop: NopCommerceBackend, call: Call) -> Response:
    shipment = _get(nop.shipments, call.path_int("shipmentId"), "Shipment")
    nop.ship(shipment["id"], bool(call.q_bool("notifyCustomer", True)))
    return ok_empty()


@api("GET", "/OrderProcessing/CanShip/{shipmentId}")
def processing_can_ship(nop: NopCommerceBackend, call: Call) -> Response:
    shipment = _get(nop.shipments, call.path_int("shipmentId"), "Shipment")
    return ok(shipment["shipped_date_utc"] is None)


@api("GET", "/OrderProcessing/Deliver/{shipmentId}")
def processing_deliver(nop: NopCommerceBackend, call: Call) -> Response:
    shipment = _get(nop.shipments, call.path_int("shipmentId"), "Shipment")
    nop.deliver(shipment["id"], bool(call.q_bool("notifyCustomer", True)))
    return ok_empty()


@api("GET", "/OrderProcessing/CanDeliver/{shipmentId}")
def processing_can_deliver(nop: NopCommerceBackend, call: Call) -> Response:
    shipment = _get(nop.shipments, call.path_int("shipmentId"), "Shipment")
    return ok(shipment["shipped_date_utc"] is not None and shipment["delivery_date_utc"] is None)


@api("GET", "/OrderProcessing/MarkOrderAsPaid/{id}")
def processing_mark_paid(nop: NopCommerceBackend, call: Call) -> Response:
    order = _get(nop.orders, call.path_int("id"), "Order")
    nop.mark_order_paid(order["id"])
    return ok_empty()


@api("GET", "/OrderProcessing/CanMarkOrderAsPaid/{id}")
def processing_can_mark_paid(nop: NopCommerceBackend, call: Call) -> Response:
    order = _get(nop.orders, call.path_int("id"), "Order")
    return ok(nop.can_mark_order_paid(order["id"]))


@api("GET", "/OrderProcessing/CancelOrder/{orderId}")
def processing_cancel(nop: NopCommerceBackend, call: Call) -> Response:
    order = _get(nop.orders, call.path_int("orderId"), "Order")
    call.q_bool("notifyCustomer", True)
    nop.cancel_order(order["id"])
    return ok_empty()


@api("GET", "/OrderProcessing/CanCancelOrder/{orderId}")
def processing_can_cancel(nop: NopCommerceBackend, call: Call) -> Response:
    order = _get(nop.orders, call.path_int("orderId"), "Order")
    return ok(nop.can_cancel_order(order["id"]))


# -- Return requests ------------------------------------------------------------------------------
@api("GET", "/ReturnRequest/Search")
def return_request_search(nop: NopCommerceBackend, call: Call) -> Response:
    """ReturnRequestService.SearchReturnRequestsAsync: CreatedOnUtc DESC, inclusive window."""
    store_id, customer_id, order_item_id = call.q_int("storeId"), call.q_int("customerId"), call.q_int("orderItemId")
    custom_number = call.q_str("customNumber")
    created_from, created_to = call.q_dt("createdFromUtc"), call.q_dt("createdToUtc")
    status = _return_status(call.q_str("rs"))
    result = [r for r in nop.return_requests.values()
              if (not store_id or r["store_id"] == store_id) and (not customer_id or r["customer_id"] == customer_id)
              and (not order_item_id or r["order_item_id"] == order_item_id)
              and (custom_number is None or r["custom_number"] == custom_number)
              and (status is None or r["return_request_status_id"] == status)
              and in_window(r["created_on_utc"], created_from, created_to)]
    return paged(newest_first(result), call, w("return_request"))


def _return_status(raw: str | None) -> int | None:
    """`rs` binds to ReturnRequestStatus: a name (case-insensitive) or an int."""
    if raw is None:
        return None
    value = _parse_int(raw)
    if value is not None:
        return value
    for name, number in RETURN_REQUEST_STATUSES.items():
        if name.lower() == raw.strip().lower():
            return number
    raise ApiError(problem({"rs": [f"The value '{raw}' is not valid for rs."]}))


@api("GET", "/ReturnRequest/GetById/{id}")
def return_request_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(to_wire("return_request", _get(nop.return_requests, call.path_int("id"), "Return request")))


@api("POST", "/ReturnRequest/Create")
def return_request_create(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call.entity("return_request", "model")
    _get(nop.order_items, entity["order_item_id"], "Order item")
    return ok(to_wire("return_request", nop.insert_return_request(entity)))


@api("PUT", "/ReturnRequest/Update")
def return_request_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call.entity("return_request", "model")
    _get(nop.return_requests, entity["id"], "Return request")
    nop.return_requests[entity["id"]] = entity  # full replace
    return ok_empty()


@api("DELETE", "/ReturnRequest/Delete/{id}")
def return_request_delete(nop: NopCommerceBackend, call: Call) -> Response:
    request = _get(nop.return_requests, call.path_int("id"), "Return request")
    del nop.return_requests[request["id"]]
    return ok_empty()


# ---------------------------------------------------------------------------------------------
# endpoint wrapper
def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header or not header.strip():
        return None
    return header.strip().split(" ")[-1]  # JwtMiddleware keeps the last space-separated part


def _endpoint(world: SandboxWorld, handler: Handler, auth: bool):
    async def endpoint(request: Request) -> Response:
        body = await request.body()  # the only await: state is touched synchronously below
        nop: NopCommerceBackend = world.nopcommerce
        try:
            if auth:
                customer = nop.customer_for_token(_bearer(request))
                if customer is None:
                    return Response(UNAUTHORIZED, status_code=401, media_type=JSON_TYPE)
                if not nop.has_api_access(customer["id"]):
                    return Response(ACCESS_DENIED, status_code=403, media_type=JSON_TYPE)
                customer["last_activity_date_utc"] = nop.now()
            return handler(nop, Call(request, body))
        except ApiError as error:
            return error.response
        except NotFound as error:
            return not_found(str(error))
        except NopError as error:
            return Response(exception_body(str(error)), status_code=400, media_type=JSON_TYPE)
        except KeyError as error:  # KeyNotFoundException → 404 in ErrorHandlerMiddleware
            return Response(exception_body(f"The given key '{error.args[0] if error.args else ''}' was not present in the dictionary."),
                            status_code=404, media_type=JSON_TYPE)
        except Exception as error:  # noqa: BLE001 - ErrorHandlerMiddleware: 500, no stack trace
            cause = error.__cause__ or error.__context__
            return Response(exception_body(str(error) or type(error).__name__, str(cause) if cause else None),
                            status_code=500, media_type=JSON_TYPE)

    return endpoint


# ---------------------------------------------------------------------------------------------
# control routes
class OrderControlBody(BaseModel):
    email: str | None = None
    first_name: str = "Sandbox"
    last_name: str = "Shopper"
    address: dict[str, Any] = Field(default_factory=dict)
    items: list[dict[str, Any]]
    payment_method_system_name: str = "Payments.Manual"
    paid: bool = False
    guest: bool = False
    shipping_excl_tax: Decimal = Decimal("4.95")
    discount_excl_tax: Decimal = Decimal("0")
    payment_fee_excl_tax: Decimal = Decimal("0")
    shipping_method: str = "Ground"
    created_on_utc: str | None = None


class ReturnControlBody(BaseModel):
    order_id: int
    order_item_id: int | None = None
    quantity: int = 1
    reason: str = "Wrong size"
    action: str = "Refund"
    comments: str = ""


class ProductControlBody(BaseModel):
    sku: str
    name: str = ""
    price: Decimal = Decimal("10")
    tax_category_id: int = 1
    stock_quantity: int = 0
    manage_inventory_method_id: int = 1
    use_multiple_warehouses: bool = False
    warehouse_id: int = 0
    warehouse_stock: dict[int, int] | None = None
    combinations: list[dict[str, Any]] | None = None
    published: bool = True
    created_on_utc: str | None = None


class CustomerControlBody(BaseModel):
    email: str | None = None
    first_name: str = "Sandbox"
    last_name: str = "Customer"
    phone: str | None = None
    company: str | None = None
    address1: str = "1 High Street"
    address2: str | None = None
    city: str = "London"
    zip_postal_code: str = "SW1A 1AA"
    country_iso2: str = "GB"
    county: str | None = None
    is_guest: bool = False


class LifetimeBody(BaseModel):
    seconds: float = Field(gt=0)


def _control_datetime(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        return parse_datetime(raw)
    except ValueError as error:
        raise ControlError(f"bad datetime {raw!r}") from error


def _control_routes(world: SandboxWorld) -> list[Route]:
    def order_id(request: Request) -> int:
        try:
            return int(request.path_params["id"])
        except ValueError:
            raise ControlError("order id must be an integer") from None

    def known_order(nop: NopCommerceBackend, oid: int) -> dict:
        if oid not in nop.orders:
            raise KeyError(f"order {oid}")
        return nop.orders[oid]

    async def create_order(request: Request) -> Response:
        body = await read_control_body(request, OrderControlBody)
        nop = world.nopcommerce
        try:
            oid = nop.shopper_checkout(
                email=body.email, first_name=body.first_name, last_name=body.last_name, address=body.address, items=body.items,
                payment_method_system_name=body.payment_method_system_name, paid=body.paid, guest=body.guest,
                shipping_excl_tax=body.shipping_excl_tax, created_on=_control_datetime(body.created_on_utc),
                discount_excl_tax=body.discount_excl_tax, payment_fee_excl_tax=body.payment_fee_excl_tax,
                shipping_method=body.shipping_method,
            )
        except ValueError as error:
            raise ControlError(str(error)) from error
        return control_json(to_wire("order", nop.orders[oid]), 201)

    async def get_order(request: Request) -> Response:
        nop = world.nopcommerce
        order = known_order(nop, order_id(request))
        oid = order["id"]
        return control_json({
            "order": to_wire("order", order),
            "items": [to_wire("order_item", i) for i in sorted(nop.items_of_order(oid), key=lambda i: i["id"])],
            "notes": [to_wire("order_note", n) for n in nop.notes_of_order(oid)],
            "shipments": [to_wire("shipment", s) for s in nop.shipments.values() if s["order_id"] == oid],
        })

    def order_action(action: str):
        async def handler(request: Request) -> Response:
            await request.body()
            nop = world.nopcommerce
            order = known_order(nop, order_id(request))
            try:
                {"cancel": nop.cancel_order, "delete": nop.delete_order, "paid": nop.mark_order_paid}[action](order["id"])
            except NopError as error:
                raise ControlError(str(error)) from error
            return control_json(to_wire("order", order))

        return handler

    async def create_return(request: Request) -> Response:
        body = await read_control_body(request, ReturnControlBody)
        nop = world.nopcommerce
        known_order(nop, body.order_id)
        items = sorted(nop.items_of_order(body.order_id), key=lambda i: i["id"])
        item_id = body.order_item_id or (items[0]["id"] if items else None)
        if item_id is None or item_id not in {i["id"] for i in items}:
            raise ControlError(f"order item {item_id} is not on order {body.order_id}")
        try:
            rid = nop.create_return_request(order_item_id=item_id, quantity=body.quantity, reason=body.reason, action=body.action,
                                            comments=body.comments)
        except ValueError as error:
            raise ControlError(str(error)) from error
        return control_json(to_wire("return_request", nop.return_requests[rid]), 201)

    async def create_product(request: Request) -> Response:
        body = await read_control_body(request, ProductControlBody)
        nop = world.nopcommerce
        try:
            pid = nop.add_product(body.sku, body.name or body.sku, price=body.price, tax_category_id=body.tax_category_id,
                                  stock_quantity=body.stock_quantity, manage_inventory_method_id=body.manage_inventory_method_id,
                                  use_multiple_warehouses=body.use_multiple_warehouses, warehouse_id=body.warehouse_id,
                                  warehouse_stock=body.warehouse_stock, combinations=body.combinations, published=body.published,
                                  created_on=_control_datetime(body.created_on_utc))
        except ValueError as error:
            raise ControlError(str(error)) from error
        return control_json(to_wire("product", nop.products[pid]), 201)

    async def create_warehouse(request: Request) -> Response:
        body = await read_control_body(request)
        name = body.get("name") if isinstance(body, dict) else None
        if not name:
            raise ControlError("name is required")
        nop = world.nopcommerce
        return control_json(to_wire("warehouse", nop.warehouses[nop.add_warehouse(str(name))]), 201)

    async def create_customer(request: Request) -> Response:
        body = await read_control_body(request, CustomerControlBody)
        nop = world.nopcommerce
        try:
            cid = nop.add_customer(**body.model_dump())
        except ValueError as error:
            raise ControlError(str(error)) from error
        return control_json(to_wire("customer", nop.customers[cid]), 201)

    async def get_lifetime(request: Request) -> Response:
        return control_json({"seconds": world.nopcommerce.token_lifetime.total_seconds()})

    async def put_lifetime(request: Request) -> Response:
        body = await read_control_body(request, LifetimeBody)
        world.nopcommerce.token_lifetime = timedelta(seconds=body.seconds)
        return control_json({"seconds": body.seconds})

    async def expire_tokens(request: Request) -> Response:
        await request.body()
        world.nopcommerce.expire_tokens()
        return control_json({"expired": True})

    async def state(request: Request) -> Response:
        return control_json(world.nopcommerce.state())

    p = CONTROL_PREFIX
    return [
        Route(f"{p}/orders", control_endpoint(create_order), methods=["POST"]),
        Route(p + "/orders/{id}", control_endpoint(get_order), methods=["GET"]),
        Route(p + "/orders/{id}/cancel", control_endpoint(order_action("cancel")), methods=["POST"]),
        Route(p + "/orders/{id}/delete", control_endpoint(order_action("delete")), methods=["POST"]),
        Route(p + "/orders/{id}/paid", control_endpoint(order_action("paid")), methods=["POST"]),
        Route(f"{p}/return-requests", control_endpoint(create_return), methods=["POST"]),
        Route(f"{p}/products", control_endpoint(create_product), methods=["POST"]),
        Route(f"{p}/warehouses", control_endpoint(create_warehouse), methods=["POST"]),
        Route(f"{p}/customers", control_endpoint(create_customer), methods=["POST"]),
        Route(f"{p}/token-lifetime", control_endpoint(get_lifetime), methods=["GET"]),
        Route(f"{p}/token-lifetime", control_endpoint(put_lifetime), methods=["PUT"]),
        Route(f"{p}/expire-tokens", control_endpoint(expire_tokens), methods=["POST"]),
        Route(f"{p}/state", control_endpoint(state), methods=["GET"]),
    ]


# ---------------------------------------------------------------------------------------------
async def _empty_404(request: Request, exc: Exception) -> Response:
    return Response(b"", status_code=404)


async def _empty_405(request: Request, exc: Exception) -> Response:
    return Response(b"", status_code=405)


def build_nopcommerce_app(world: SandboxWorld) -> InstrumentationMiddleware:
    """The simulator as an ASGI app; `world.nopcommerce` is looked up per request (reset replaces it)."""
    api_routes = [Route(path, _endpoint(world, handler, auth), methods=[method]) for method, path, handler, auth in _API_ROUTES]
    routes = api_routes + shared_control_routes(world, "nopcommerce") + _control_routes(world)
    app = Starlette(routes=routes, exception_handlers={404: _empty_404, 405: _empty_405})
    return InstrumentationMiddleware(
        app,
        routes=api_routes,
        stats=world.nopcommerce_stats,
        faults=world.nopcommerce_faults,
        render_error=render_error,
        api_prefix=lambda path: API if path.startswith(API) else "",
    )
