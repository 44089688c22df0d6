"""The sandbox control API of the nopCommerce simulator (not part of nopCommerce; never counted or
faulted), besides the shared `/__sandbox__/reset|stats|faults` routes:

- `POST /__sandbox__/orders` `{"email", "first_name", "last_name", "address": {"address1",
  "address2", "city", "zip_postal_code", "country_iso2", "county", "phone", "company"},
  "items": [{"sku", "quantity"}], "payment_method_system_name", "paid": bool, "guest": bool,
  "shipping_excl_tax", "discount_excl_tax", "payment_fee_excl_tax", "created_on_utc", "store_id"}`
  -> 201 with the OrderDto. A shopper's checkout in a store (default 1; customer and address
  reused by email). Unknown SKU or store -> 400.
- `GET /__sandbox__/orders/{id}` -> `{"order", "items", "notes", "shipments"}` (deleted included).
- `POST /__sandbox__/orders/{id}/cancel|delete|paid` -> the OrderDto after CancelOrder, the soft
  delete (no restock) or MarkOrderAsPaid.
- `POST /__sandbox__/orders/{id}/refund` `{"amount": null (full) or "12.50" (partial), "offline":
  false}` -> `{"errors": [...], "order"}`: a refund made in the shop's admin, through the same
  OrderProcessingService calls as the API (online ones go to the order's payment gateway; a rule
  that fails -> 400 with core's message).
- `GET /__sandbox__/payment-gateways` -> the installed payment plugins; `PUT` `{"system_name",
  "supports_refund", "supports_partial_refund", "refund_errors": ["Refund declined"]}` installs or
  changes one (`refund_errors` non-empty: the gateway refuses every refund with those errors).
- `GET /__sandbox__/settings` -> the shop settings (`ShopSettings`); `PUT` changes some of them.
- `POST /__sandbox__/return-requests` `{"order_id", "order_item_id" (default: the order's first
  item), "quantity" (default 1), "reason", "action", "comments", "storefront": false}` -> 201 with
  the ReturnRequest DTO; with `"storefront": true` only what the storefront allows a shopper (400
  otherwise).
- `POST /__sandbox__/return-requests/{id}/staff` `{"status": "Received" or 10, "returned_quantity",
  "staff_notes"}` -> the ReturnRequest DTO after the admin's Edit (UpdatedOnUtc now; a raised
  returned quantity restocks).
- `POST /__sandbox__/products` `{"sku", "name", "price", "tax_category_id", "stock_quantity",
  "manage_inventory_method_id", "use_multiple_warehouses", "warehouse_id",
  "warehouse_stock": {"<warehouse id>": qty}, "combinations": [{"sku", "attributes_xml",
  "stock_quantity"}], "published", "store_ids": [2]}` -> 201 with the ProductDto.
- `POST /__sandbox__/products/{id}/admin-edit` `{"changes": {"name": "...", "price": 9.5}}` -> the
  ProductDto after an edit in the shop's admin (UpdatedOnUtc now).
- `POST /__sandbox__/warehouses` `{"name"}` -> 201 with the WarehouseDto.
- `POST /__sandbox__/stores` `{"name", "url", "hosts"}` -> 201 with the StoreDto of a new store.
- `POST /__sandbox__/customers` `{"email", "first_name", "last_name", "address1", "city",
  "zip_postal_code", "country_iso2", "is_guest", "store_id", ...}` -> 201 with the CustomerDto.
- `POST /__sandbox__/customers/register` `{"email", "first_name", "last_name", "phone", "password",
  "first_visit_on_utc", "store_id", "address": {"address1", "city", "zip_postal_code",
  "country_iso2", ...} or null}` -> 201 with the CustomerDto: a visitor registering in the shop.
- `POST /__sandbox__/customers/{id}/edit` `{"changes": {"email", "first_name", "last_name",
  "phone", ...}, "address": {"address1", "city", ...}, "address_id": null}` -> `{"customer",
  "address"}`: a customer changing their details and (billing, or `address_id`) address in My
  account.
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

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bp_nop_dagster.sandbox.control import ControlError, control_endpoint, control_json, read_control_body
from bp_nop_dagster.sandbox.instrumentation import CONTROL_PREFIX
from bp_nop_dagster.sandbox.nopcommerce.backend import NopCommerceBackend, NopError
from bp_nop_dagster.sandbox.nopcommerce.backend.refunds import PaymentGateway
from bp_nop_dagster.sandbox.nopcommerce.backend.state import RETURN_REQUEST_STATUSES, ShopSettings
from bp_nop_dagster.sandbox.nopcommerce.wire import FieldError, fields_from_wire, parse_datetime, to_wire
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
    store_id: int = 1


class ReturnControlBody(BaseModel):
    order_id: int
    order_item_id: int | None = None
    quantity: int = 1
    reason: str = "Wrong size"
    action: str = "Refund"
    comments: str = ""
    storefront: bool = False


class StaffReturnBody(BaseModel):
    status: int | str | None = None
    returned_quantity: int | None = Field(None, ge=0)
    staff_notes: str | None = None


class RefundControlBody(BaseModel):
    amount: Decimal | None = None
    offline: bool = False


class GatewayBody(BaseModel):
    system_name: str = Field(min_length=1)
    supports_refund: bool | None = None
    supports_partial_refund: bool | None = None
    refund_errors: list[str] | None = None


class RegisterBody(BaseModel):
    email: str = Field(min_length=3)
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    password: str = "sandbox"
    first_visit_on_utc: str | None = None
    store_id: int = 1
    address: dict[str, Any] | None = None


class CustomerEditBody(BaseModel):
    changes: dict[str, Any] = Field(default_factory=dict)
    address: dict[str, Any] | None = None
    address_id: int | None = None


class AdminEditBody(BaseModel):
    changes: dict[str, Any]


class StoreBody(BaseModel):
    name: str = Field(min_length=1)
    url: str = "http://localhost/"
    hosts: str | None = None


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
    store_ids: list[int] | None = None


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
    store_id: int = 1


class LifetimeBody(BaseModel):
    seconds: float = Field(gt=0)


def _control_datetime(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        return parse_datetime(raw)
    except ValueError as error:
        raise ControlError(f"bad datetime {raw!r}") from error


def _wire_fields(kind: str, changes: Any) -> dict:
    try:
        return fields_from_wire(kind, changes)
    except FieldError as error:
        raise ControlError(error.message) from error


def _path_int(request: Request) -> int:
    try:
        return int(request.path_params["id"])
    except ValueError:
        raise ControlError("id must be an integer") from None


def control_routes(world: SandboxWorld) -> list[Route]:
    def order_id(request: Request) -> int:
        return _path_int(request)

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
                shipping_method=body.shipping_method, store_id=body.store_id,
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
                                            comments=body.comments, storefront_rules=body.storefront)
        except ValueError as error:
            raise ControlError(str(error)) from error
        return control_json(to_wire("return_request", nop.return_requests[rid]), 201)

    async def staff_return(request: Request) -> Response:
        body = await read_control_body(request, StaffReturnBody)
        nop = world.nopcommerce
        request_id = _path_int(request)
        if request_id not in nop.return_requests:
            raise KeyError(f"return request {request_id}")
        status = body.status
        if isinstance(status, str):
            names = {name.lower(): value for name, value in RETURN_REQUEST_STATUSES.items()}
            if status.lower() not in names:
                raise ControlError(f"unknown return request status {status!r}")
            status = names[status.lower()]
        elif status is not None and status not in RETURN_REQUEST_STATUSES.values():
            raise ControlError(f"unknown return request status {status!r}")
        try:
            updated = nop.staff_edit_return_request(request_id, status_id=status, returned_quantity=body.returned_quantity,
                                                    staff_notes=body.staff_notes)
        except ValueError as error:
            raise ControlError(str(error)) from error
        return control_json(to_wire("return_request", updated))

    async def refund_order(request: Request) -> Response:
        body = await read_control_body(request, RefundControlBody)
        nop = world.nopcommerce
        order = known_order(nop, order_id(request))
        errors: list[str] = []
        try:
            if body.amount is None:
                if body.offline:
                    nop.refund_offline(order["id"])
                else:
                    errors = nop.refund(order["id"])
            elif body.offline:
                nop.partially_refund_offline(order["id"], body.amount)
            else:
                errors = nop.partially_refund(order["id"], body.amount)
        except NopError as error:
            raise ControlError(str(error)) from error
        return control_json({"errors": errors, "order": to_wire("order", order)})

    async def get_gateways(request: Request) -> Response:
        return control_json([g.as_dict() for g in world.nopcommerce.payment_gateways.values()])

    async def put_gateway(request: Request) -> Response:
        body = await read_control_body(request, GatewayBody)
        gateways = world.nopcommerce.payment_gateways
        gateway = gateways.setdefault(body.system_name, PaymentGateway(body.system_name, False, False))
        for name in ("supports_refund", "supports_partial_refund", "refund_errors"):
            value = getattr(body, name)
            if value is not None:
                setattr(gateway, name, value)
        return control_json(gateway.as_dict())

    async def get_settings(request: Request) -> Response:
        return control_json(world.nopcommerce.settings.model_dump())

    async def put_settings(request: Request) -> Response:
        changes = await read_control_body(request)
        if not isinstance(changes, dict):
            raise ControlError("body must be an object of ShopSettings fields")
        nop = world.nopcommerce
        try:
            nop.settings = ShopSettings.model_validate({**nop.settings.model_dump(), **changes})
        except ValidationError as error:
            raise ControlError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())) from error
        return control_json(nop.settings.model_dump())

    async def create_product(request: Request) -> Response:
        body = await read_control_body(request, ProductControlBody)
        nop = world.nopcommerce
        try:
            pid = nop.add_product(body.sku, body.name or body.sku, price=body.price, tax_category_id=body.tax_category_id,
                                  stock_quantity=body.stock_quantity, manage_inventory_method_id=body.manage_inventory_method_id,
                                  use_multiple_warehouses=body.use_multiple_warehouses, warehouse_id=body.warehouse_id,
                                  warehouse_stock=body.warehouse_stock, combinations=body.combinations, published=body.published,
                                  created_on=_control_datetime(body.created_on_utc), store_ids=body.store_ids)
        except ValueError as error:
            raise ControlError(str(error)) from error
        return control_json(to_wire("product", nop.products[pid]), 201)

    async def admin_edit_product(request: Request) -> Response:
        body = await read_control_body(request, AdminEditBody)
        nop = world.nopcommerce
        product_id = _path_int(request)
        if product_id not in nop.products:
            raise KeyError(f"product {product_id}")
        try:
            product = nop.admin_edit_product(product_id, _wire_fields("product", body.changes))
        except ValueError as error:
            raise ControlError(str(error)) from error
        return control_json(to_wire("product", product))

    async def create_store(request: Request) -> Response:
        body = await read_control_body(request, StoreBody)
        nop = world.nopcommerce
        return control_json(to_wire("store", nop.stores[nop.add_store(body.name, url=body.url, hosts=body.hosts)]), 201)

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

    async def register_customer(request: Request) -> Response:
        body = await read_control_body(request, RegisterBody)
        nop = world.nopcommerce
        if body.store_id not in nop.stores:
            raise ControlError(f"unknown store {body.store_id}")
        try:
            cid = nop.register_customer(email=body.email, first_name=body.first_name, last_name=body.last_name, phone=body.phone,
                                        password=body.password, first_visit_on=_control_datetime(body.first_visit_on_utc),
                                        store_id=body.store_id, address=body.address)
        except (ValueError, TypeError) as error:
            raise ControlError(str(error)) from error
        return control_json(to_wire("customer", nop.customers[cid]), 201)

    async def edit_customer(request: Request) -> Response:
        body = await read_control_body(request, CustomerEditBody)
        nop = world.nopcommerce
        customer_id = _path_int(request)
        if customer_id not in nop.customers:
            raise KeyError(f"customer {customer_id}")
        try:
            customer = nop.edit_customer_info(customer_id, _wire_fields("customer", body.changes))
            address = None
            if body.address is not None:
                address_id = body.address_id or customer["billing_address_id"]
                if address_id not in nop.customer_addresses.get(customer_id, []):
                    raise ControlError(f"address {address_id} is not one of customer {customer_id}'s addresses")
                changes = dict(body.address)
                if "country_iso2" in changes:
                    changes["country_id"] = nop.country_id_by_iso2(changes.pop("country_iso2"))
                address = nop.edit_address(address_id, _wire_fields("address", changes))
        except ValueError as error:
            raise ControlError(str(error)) from error
        return control_json({"customer": to_wire("customer", customer), "address": to_wire("address", address) if address else None})

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
        Route(p + "/orders/{id}/refund", control_endpoint(refund_order), methods=["POST"]),
        Route(f"{p}/payment-gateways", control_endpoint(get_gateways), methods=["GET"]),
        Route(f"{p}/payment-gateways", control_endpoint(put_gateway), methods=["PUT"]),
        Route(f"{p}/settings", control_endpoint(get_settings), methods=["GET"]),
        Route(f"{p}/settings", control_endpoint(put_settings), methods=["PUT"]),
        Route(f"{p}/return-requests", control_endpoint(create_return), methods=["POST"]),
        Route(p + "/return-requests/{id}/staff", control_endpoint(staff_return), methods=["POST"]),
        Route(f"{p}/products", control_endpoint(create_product), methods=["POST"]),
        Route(p + "/products/{id}/admin-edit", control_endpoint(admin_edit_product), methods=["POST"]),
        Route(f"{p}/warehouses", control_endpoint(create_warehouse), methods=["POST"]),
        Route(f"{p}/stores", control_endpoint(create_store), methods=["POST"]),
        Route(f"{p}/customers", control_endpoint(create_customer), methods=["POST"]),
        Route(f"{p}/customers/register", control_endpoint(register_customer), methods=["POST"]),
        Route(p + "/customers/{id}/edit", control_endpoint(edit_customer), methods=["POST"]),
        Route(f"{p}/token-lifetime", control_endpoint(get_lifetime), methods=["GET"]),
        Route(f"{p}/token-lifetime", control_endpoint(put_lifetime), methods=["PUT"]),
        Route(f"{p}/expire-tokens", control_endpoint(expire_tokens), methods=["POST"]),
        Route(f"{p}/state", control_endpoint(state), methods=["GET"]),
    ]
