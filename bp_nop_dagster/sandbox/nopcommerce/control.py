"""The sandbox control API of the nopCommerce simulator (not part of nopCommerce; never counted or
faulted), besides the shared `/__sandbox__/reset|stats|faults` routes:

- `POST /__sandbox__/orders` `{"email", "first_name", "last_name", "address": {"address1",
  "address2", "city", "zip_postal_code", "country_iso2", "county", "phone", "company"},
  "items": [{"sku", "quantity"}], "payment_method_system_name", "paid": bool, "guest": bool,
  "shipping_excl_tax", "discount_excl_tax", "payment_fee_excl_tax", "created_on_utc"}` -> 201 with
  the OrderDto. A shopper's checkout (customer and address reused by email). Unknown SKU -> 400.
- `GET /__sandbox__/orders/{id}` -> `{"order", "items", "notes", "shipments"}` (deleted included).
- `POST /__sandbox__/orders/{id}/cancel|delete|paid` -> the OrderDto after CancelOrder, the soft
  delete (no restock) or MarkOrderAsPaid.
- `POST /__sandbox__/return-requests` `{"order_id", "order_item_id" (default: the order's first
  item), "quantity" (default 1), "reason", "action", "comments"}` -> 201 with the ReturnRequest DTO.
- `POST /__sandbox__/products` `{"sku", "name", "price", "tax_category_id", "stock_quantity",
  "manage_inventory_method_id", "use_multiple_warehouses", "warehouse_id",
  "warehouse_stock": {"<warehouse id>": qty}, "combinations": [{"sku", "attributes_xml",
  "stock_quantity"}], "published"}` -> 201 with the ProductDto.
- `POST /__sandbox__/warehouses` `{"name"}` -> 201 with the WarehouseDto.
- `POST /__sandbox__/customers` `{"email", "first_name", "last_name", "address1", "city",
  "zip_postal_code", "country_iso2", "is_guest", ...}` -> 201 with the CustomerDto.
- `GET /__sandbox__/token-lifetime` -> `{"seconds"}`; `PUT` `{"seconds": 5}` sets the lifetime of
  tokens issued from now on (default 7 days).
- `POST /__sandbox__/expire-tokens`: rotates the signing key, so every token issued so far gets 401.
- `GET /__sandbox__/state` -> counts (orders, deleted_orders, customers, products, shipments,
  return_requests, ...).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bp_nop_dagster.sandbox.control import ControlError, control_endpoint, control_json, read_control_body
from bp_nop_dagster.sandbox.instrumentation import CONTROL_PREFIX
from bp_nop_dagster.sandbox.nopcommerce.backend import NopCommerceBackend, NopError
from bp_nop_dagster.sandbox.nopcommerce.wire import parse_datetime, to_wire
from bp_nop_dagster.sandbox.world import SandboxWorld


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


def control_routes(world: SandboxWorld) -> list[Route]:
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
