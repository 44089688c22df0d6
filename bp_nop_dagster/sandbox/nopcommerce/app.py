"""HTTP face of the nopCommerce simulator: the official Web API Backend plugin's routes under
`/api-backend/{Controller}/{Action}`, thin (bind, call the backend, render), plus the sandbox
control API (`control.py`).

Each route is registered against the plugin action with the same verb and template in the
vendored contract (`contract.action`: a route the plugin lacks fails at import), and its
request is bound by that action's declared parameters (`binding.Call`). The order of checks is
ASP.NET's: the auth filters (401 `{"message":"Unauthorized"}`, 403 `{"message":"Access denied."}`),
then model binding (ProblemDetails 400), then the action body (an id <= 0: 400 with no body; an
unknown id: 404 with a JSON string; `NotFound` from the backend likewise). Exceptions end in the
plugin's ErrorHandlerMiddleware: NopException 400, KeyNotFoundException 404, anything else 500,
all as `{"message","inner_exception_message","stack_trace":""}`. ASP.NET routing matches paths
case-insensitively; an unknown route answers 404 and a known route with another verb 405, both
with an empty body.

Wire format (notes §1a): snake_case JSON both ways, integer status ids, naive-UTC datetimes
without `Z`, `;`-separated id lists, 0-based paged lists, every DTO property present (nulls too).
"""

from __future__ import annotations

from typing import Any, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bp_nop_dagster.sandbox.control import shared_control_routes
from bp_nop_dagster.sandbox.instrumentation import InstrumentationMiddleware, json_bytes
from bp_nop_dagster.sandbox.nopcommerce.backend import NopCommerceBackend, NopError, NotFound, Page, paginate
from bp_nop_dagster.sandbox.nopcommerce.binding import (
    ACCESS_DENIED,
    JSON_TYPE,
    UNAUTHORIZED,
    ApiError,
    Call,
    UndeclaredParameter,
    bad_request,
    exception_body,
    id_array,
    not_found,
    ok,
    ok_empty,
    ok_or_no_content,
    render_error,
)
from bp_nop_dagster.sandbox.nopcommerce.contract import Action, action
from bp_nop_dagster.sandbox.nopcommerce.control import control_routes
from bp_nop_dagster.sandbox.nopcommerce.wire import to_wire
from bp_nop_dagster.sandbox.world import SandboxWorld

API = "/api-backend"

Handler = Callable[[NopCommerceBackend, Call], Response]


class ApiRoute:
    """A simulator route bound to its plugin action."""

    def __init__(self, action: Action, handler: Handler, auth: bool) -> None:
        self.action = action
        self.handler = handler
        self.auth = auth

    @property
    def method(self) -> str:
        return self.action.verb

    @property
    def path(self) -> str:
        return API + self.action.template


API_ROUTES: list[ApiRoute] = []


def api(method: str, template: str, *, auth: bool = True) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        API_ROUTES.append(ApiRoute(action(method, template), handler, auth))
        return handler

    return register


# ---------------------------------------------------------------------------------------------
# rendering helpers
def dto(kind: str, entity: dict) -> Response:
    return ok(to_wire(kind, entity))


def dtos(kind: str, entities: list[dict]) -> Response:
    return ok([to_wire(kind, e) for e in entities])


def paged(kind: str, page: Page) -> Response:
    """PagedListDto."""
    return ok({
        "page_index": page.page_index, "page_size": page.page_size, "total_count": page.total_count, "total_pages": page.total_pages,
        "has_previous_page": page.has_previous_page, "has_next_page": page.has_next_page,
        "items": [to_wire(kind, item) for item in page.items],
    })


def page_of(items: list, call: Call) -> Page:
    """The page an action's pageIndex/pageSize (and getOnlyTotalCount, where declared) ask for."""
    return paginate(items, call["pageIndex"], call["pageSize"], call.if_declared("getOnlyTotalCount", False))


def positive(call: Call, name: str) -> int:
    """The action body's `if (id <= 0) return BadRequest();`."""
    value = call[name]
    if value <= 0:
        raise ApiError(bad_request())
    return value


def found(entity: dict | None, message: str) -> dict:
    if entity is None:
        raise ApiError(not_found(message))
    return entity


# ---------------------------------------------------------------------------------------------
# Authenticate
@api("POST", "/Authenticate/GetToken", auth=False)
def get_token(nop: NopCommerceBackend, call: Call) -> Response:
    body = call["request"]
    text = lambda key: None if body.get(key) is None else str(body[key])  # noqa: E731
    result = nop.authenticate(text("username"), text("email"), text("password"))
    if result is None:
        return Response(json_bytes("Username or password is incorrect"), status_code=401, media_type=JSON_TYPE)
    return ok(result)


# -- Order ----------------------------------------------------------------------------------------
@api("GET", "/Order/GetById/{id}")
def order_get_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    order_id = positive(call, "id")
    return dto("order", found(nop.orders.get(order_id), f"Order Id={order_id} not found"))  # soft-deleted ones too


@api("GET", "/Order/GetByIds/{ids}")
def order_get_by_ids(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("order", nop.orders_by_ids(id_array(call["ids"])))  # soft-deleted ones left out


@api("GET", "/Order/GetByGuid")
def order_get_by_guid(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("order", found(nop.order_by_guid(call["guid"]), "Order is not found"))


@api("GET", "/Order/GetByCustomOrderNumber")
def order_get_by_custom_number(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("order", found(nop.order_by_custom_number(call["customOrderNumber"]), "Order is not found"))


@api("GET", "/Order/GetByOrderItem/{orderItemId}")
def order_get_by_order_item(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("order", found(nop.order_by_order_item(positive(call, "orderItemId")), "Order is not found"))


@api("GET", "/Order/Search")
def order_search(nop: NopCommerceBackend, call: Call) -> Response:
    orders = nop.search_orders(
        store_id=call["storeId"], vendor_id=call["vendorId"], customer_id=call["customerId"], product_id=call["productId"],
        affiliate_id=call["affiliateId"], warehouse_id=call["warehouseId"], billing_country_id=call["billingCountryId"],
        payment_method=call["paymentMethodSystemName"], created_from=call["createdFromUtc"], created_to=call["createdToUtc"],
        order_status_ids=id_array(call["osIds"]), payment_status_ids=id_array(call["psIds"]), shipping_status_ids=id_array(call["ssIds"]),
        billing_phone=call["billingPhone"], billing_email=call["billingEmail"], billing_last_name=call["billingLastName"],
        order_notes=call["orderNotes"],
    )
    return paged("order", page_of(orders, call))


@api("POST", "/Order/Create")
def order_create(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("order", nop.insert_order(call["model"]))


@api("PUT", "/Order/Update")
def order_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call["model"]
    found(nop.orders.get(entity["id"]), "Order is not found")
    nop.store_order(entity)  # full replace: omitted fields are reset (§7.2)
    return ok_empty()


@api("DELETE", "/Order/Delete/{id}")
def order_delete(nop: NopCommerceBackend, call: Call) -> Response:
    order_id = positive(call, "id")
    found(nop.orders.get(order_id), f"Order Id={order_id} not found")
    nop.delete_order(order_id)
    return ok_empty()


# -- OrderItem, OrderNote -------------------------------------------------------------------------
@api("GET", "/OrderItem/GetOrderItems/{orderId}")
def order_items(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("order_item", nop.order_items_of(positive(call, "orderId"), not_returnable=call["isNotReturnable"],
                                                  ship_enabled=call["isShipEnabled"], vendor_id=call["vendorId"]))


@api("GET", "/OrderItem/GetById/{id}")
def order_item_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    item_id = positive(call, "id")
    return dto("order_item", found(nop.order_items.get(item_id), f"Order item Id={item_id} not found"))


@api("GET", "/OrderNote/GetOrderNotesByOrderId/{orderId}")
def order_notes(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("order_note", nop.notes_of_order(positive(call, "orderId"), call["displayToCustomer"]))


@api("GET", "/OrderNote/GetById/{id}")
def order_note_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    note_id = positive(call, "id")
    return dto("order_note", found(nop.order_notes.get(note_id), f"Order note Id={note_id} not found"))


@api("POST", "/OrderNote/Create")
def order_note_create(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("order_note", nop.insert_order_note(call["model"]))


@api("DELETE", "/OrderNote/Delete/{id}")
def order_note_delete(nop: NopCommerceBackend, call: Call) -> Response:
    note_id = positive(call, "id")
    found(nop.order_notes.get(note_id), f"Order note Id={note_id} not found")
    nop.delete_order_note(note_id)
    return ok_empty()


# -- OrderProcessing (GETs that change state, notes §7.8) ----------------------------------------
@api("GET", "/OrderProcessing/Ship/{shipmentId}")
def processing_ship(nop: NopCommerceBackend, call: Call) -> Response:
    shipment_id = positive(call, "shipmentId")
    found(nop.shipments.get(shipment_id), f"Shipment Id={shipment_id} not found")
    nop.ship(shipment_id, call["notifyCustomer"])
    return ok_empty()


@api("GET", "/OrderProcessing/Deliver/{shipmentId}")
def processing_deliver(nop: NopCommerceBackend, call: Call) -> Response:
    shipment_id = positive(call, "shipmentId")
    found(nop.shipments.get(shipment_id), f"Shipment Id={shipment_id} not found")
    nop.deliver(shipment_id, call["notifyCustomer"])
    return ok_empty()


@api("GET", "/OrderProcessing/CancelOrder/{orderId}")
def processing_cancel(nop: NopCommerceBackend, call: Call) -> Response:
    order_id = positive(call, "orderId")
    found(nop.orders.get(order_id), f"Order Id={order_id} not found")
    nop.cancel_order(order_id)
    return ok_empty()


@api("GET", "/OrderProcessing/CanCancelOrder/{orderId}")
def processing_can_cancel(nop: NopCommerceBackend, call: Call) -> Response:
    order_id = positive(call, "orderId")
    return ok(nop.can_cancel_order(found(nop.orders.get(order_id), f"Order Id={order_id} not found")))


@api("GET", "/OrderProcessing/MarkOrderAsPaid/{orderId}")
def processing_mark_paid(nop: NopCommerceBackend, call: Call) -> Response:
    order_id = positive(call, "orderId")
    found(nop.orders.get(order_id), f"Order Id={order_id} not found")
    nop.mark_order_paid(order_id)
    return ok_empty()


@api("GET", "/OrderProcessing/CanMarkOrderAsPaid/{orderId}")
def processing_can_mark_paid(nop: NopCommerceBackend, call: Call) -> Response:
    order_id = positive(call, "orderId")
    return ok(nop.can_mark_order_paid(found(nop.orders.get(order_id), f"Order Id={order_id} not found")))


def _refund_order(nop: NopCommerceBackend, call: Call) -> dict:
    """The refund actions' common start: `orderId <= 0` is 400, an unknown order 404 (deleted ones
    are found: GetOrderByIdAsync)."""
    order_id = positive(call, "orderId")
    return found(nop.orders.get(order_id), f"Order Id={order_id} not found")


@api("GET", "/OrderProcessing/CanRefund/{orderId}")
def processing_can_refund(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(nop.can_refund(_refund_order(nop, call)))


@api("GET", "/OrderProcessing/Refund/{orderId}")
def processing_refund(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(nop.refund(_refund_order(nop, call)["id"]))  # the gateway's errors, [] when refunded


@api("GET", "/OrderProcessing/CanRefundOffline/{orderId}")
def processing_can_refund_offline(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(nop.can_refund_offline(_refund_order(nop, call)))


@api("GET", "/OrderProcessing/RefundOffline/{orderId}")
def processing_refund_offline(nop: NopCommerceBackend, call: Call) -> Response:
    nop.refund_offline(_refund_order(nop, call)["id"])
    return ok_empty()


@api("GET", "/OrderProcessing/CanPartiallyRefund/{orderId}")
def processing_can_partially_refund(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(nop.can_partially_refund(_refund_order(nop, call), call["amountToRefund"]))


@api("GET", "/OrderProcessing/PartiallyRefund/{orderId}")
def processing_partially_refund(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(nop.partially_refund(_refund_order(nop, call)["id"], call["amountToRefund"]))


@api("GET", "/OrderProcessing/CanPartiallyRefundOffline/{orderId}")
def processing_can_partially_refund_offline(nop: NopCommerceBackend, call: Call) -> Response:
    return ok(nop.can_partially_refund_offline(_refund_order(nop, call), call["amountToRefund"]))


@api("GET", "/OrderProcessing/PartiallyRefundOffline/{orderId}")
def processing_partially_refund_offline(nop: NopCommerceBackend, call: Call) -> Response:
    nop.partially_refund_offline(_refund_order(nop, call)["id"], call["amountToRefund"])
    return ok_empty()  # declared bool, returns Ok() (contract returns_declared)


# -- Address --------------------------------------------------------------------------------------
@api("GET", "/Address/GetById/{id}")
def address_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    address_id = positive(call, "id")
    return dto("address", found(nop.addresses.get(address_id), f"Address Id={address_id} not found"))


@api("POST", "/Address/Create")
def address_create(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("address", nop.insert_address(call["model"]))


@api("PUT", "/Address/Update")
def address_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call["model"]
    found(nop.addresses.get(entity["id"]), f"Address Id={entity['id']} is not found")
    nop.replace_address(entity)
    return ok_empty()


@api("DELETE", "/Address/Delete/{id}")
def address_delete(nop: NopCommerceBackend, call: Call) -> Response:
    address_id = positive(call, "id")
    found(nop.addresses.get(address_id), f"Address Id={address_id} not found")
    nop.delete_address(address_id)
    return ok_empty()


# -- Customer -------------------------------------------------------------------------------------
@api("GET", "/Customer/GetAll")
def customer_get_all(nop: NopCommerceBackend, call: Call) -> Response:
    customers = nop.search_customers(
        created_from=call["createdFromUtc"], created_to=call["createdToUtc"], last_activity_from=call["lastActivityFromUtc"],
        last_activity_to=call["lastActivityToUtc"], affiliate_id=call["affiliateId"], vendor_id=call["vendorId"],
        role_ids=id_array(call["customerRoleIds"]) or None, email=call["email"], username=call["username"],
        first_name=call["firstName"], last_name=call["lastName"], day_of_birth=call["dayOfBirth"], month_of_birth=call["monthOfBirth"],
        company=call["company"], phone=call["phone"], zip_postal_code=call["zipPostalCode"], ip_address=call["ipAddress"],
    )
    return paged("customer", page_of(customers, call))


@api("GET", "/Customer/GetById/{id}")
def customer_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    customer_id = positive(call, "id")
    return dto("customer", found(nop.customers.get(customer_id), f"Customer Id={customer_id} not found"))


@api("GET", "/Customer/GetCustomersByIds/{ids}")
def customers_by_ids(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("customer", nop.customers_by_ids(id_array(call["ids"])))


@api("GET", "/Customer/GetCustomerByGuid")
def customer_by_guid(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("customer", found(nop.customer_by_guid(call["guid"]), f"Customer guid={call['guid']} not found"))


@api("GET", "/Customer/GetCustomerByEmail")
def customer_by_email(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("customer", found(nop.customer_by_email(call["email"]), f"Customer email={call['email']} not found"))


@api("GET", "/Customer/GetAddressesByCustomerId/{customerId}")
def customer_addresses(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("address", nop.addresses_of_customer(call["customerId"]))


def _customer_address(nop: NopCommerceBackend, call: Call, field: str) -> Response:
    """GetCustomerBilling|ShippingAddressAsync go through GetCustomerAddressAsync: an address id
    no longer mapped to the customer gives null."""
    customer_id = positive(call, "customerId")
    customer = found(nop.customers.get(customer_id), f"Customer Id={customer_id} not found")
    address = nop.customer_address(customer_id, customer[field])
    return ok_or_no_content(to_wire("address", address) if address else None)


@api("GET", "/Customer/GetCustomerBillingAddress/{customerId}")
def customer_billing_address(nop: NopCommerceBackend, call: Call) -> Response:
    return _customer_address(nop, call, "billing_address_id")


@api("GET", "/Customer/GetCustomerShippingAddress/{customerId}")
def customer_shipping_address(nop: NopCommerceBackend, call: Call) -> Response:
    return _customer_address(nop, call, "shipping_address_id")


@api("POST", "/Customer/Create")
def customer_create(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("customer", nop.insert_customer(call["model"]))


@api("PUT", "/Customer/Update")
def customer_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call["model"]
    found(nop.customers.get(entity["id"]), f"Customer Id={entity['id']} is not found")
    nop.replace_customer(entity)  # full replace
    return ok_empty()


def _customer_and_address(nop: NopCommerceBackend, call: Call) -> tuple[int, int]:
    """InsertCustomerAddress / RemoveCustomerAddress: both ids > 0, the customer and the address
    exist (the address's 404 names the customer id, as the plugin's message does)."""
    customer_id, address_id = call["customerId"], call["addressId"]
    if customer_id <= 0 or address_id <= 0:
        raise ApiError(bad_request())
    found(nop.customers.get(customer_id), f"Customer Id={customer_id} not found")
    found(nop.addresses.get(address_id), f"Address Id={customer_id} not found")
    return customer_id, address_id


@api("GET", "/Customer/InsertCustomerAddress/{customerId}/{addressId}")
def customer_insert_address(nop: NopCommerceBackend, call: Call) -> Response:
    nop.insert_customer_address(*_customer_and_address(nop, call))
    return ok_empty()


@api("GET", "/Customer/RemoveCustomerAddress/{customerId}/{addressId}")
def customer_remove_address(nop: NopCommerceBackend, call: Call) -> Response:
    nop.remove_customer_address(*_customer_and_address(nop, call))
    return ok_empty()


# -- CustomerRole ---------------------------------------------------------------------------------
@api("GET", "/CustomerRole/GetAll")
def customer_role_get_all(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("customer_role", nop.all_customer_roles(call["showHidden"]))


@api("GET", "/CustomerRole/GetCustomerRoleBySystemName")
def customer_role_by_system_name(nop: NopCommerceBackend, call: Call) -> Response:
    system_name = call["systemName"]
    return dto("customer_role", found(nop.customer_role_by_system_name(system_name), f"Customer system name = {system_name} not found"))


@api("GET", "/CustomerRole/GetCustomerRoleIds/{customerId}")
def customer_role_ids(nop: NopCommerceBackend, call: Call) -> Response:
    customer_id = positive(call, "customerId")
    found(nop.customers.get(customer_id), f"Customer Id={customer_id} not found")
    return ok(nop.customer_role_ids(customer_id, call["showHidden"]))


# -- Country, Warehouse ---------------------------------------------------------------------------
@api("GET", "/Country/GetAllCountries")
def countries_all(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("country", nop.all_countries(call["showHidden"]))  # languageId only sorts by localized names


@api("GET", "/Country/GetAllCountriesForBilling")
def countries_for_billing(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("country", nop.all_countries(call["showHidden"], billing=True))


@api("GET", "/Country/GetAllCountriesForShipping")
def countries_for_shipping(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("country", nop.all_countries(call["showHidden"], shipping=True))


@api("GET", "/Country/GetById/{id}")
def country_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    country_id = positive(call, "id")
    return dto("country", found(nop.countries.get(country_id), f"Country Id={country_id} not found"))


@api("GET", "/StateProvince/GetById/{id}")
def state_province_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    state_id = positive(call, "id")
    return dto("state_province", found(nop.state_provinces.get(state_id), f"State province Id={state_id} not found"))


@api("GET", "/StateProvince/GetStateProvincesByCountryId/{countryId}")
def state_provinces_by_country(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("state_province", nop.state_provinces_of(call["countryId"], call["showHidden"]))  # languageId only sorts


@api("GET", "/Country/GetCountriesByIds/{ids}")
def countries_by_ids(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("country", nop.countries_by_ids(id_array(call["ids"])))


@api("GET", "/Country/GetCountryByTwoLetterIsoCode")
def country_by_iso2(nop: NopCommerceBackend, call: Call) -> Response:
    code = call["twoLetterIsoCode"]
    return dto("country", found(nop.country_by_iso_code(code, letters=2), f"Country two letter ISO code={code} not found"))


@api("GET", "/Country/GetCountryByThreeLetterIsoCode")
def country_by_iso3(nop: NopCommerceBackend, call: Call) -> Response:
    code = call["threeLetterIsoCode"]
    return dto("country", found(nop.country_by_iso_code(code, letters=3), f"Country three letter ISO code={code} not found"))


@api("GET", "/Warehouse/GetAll")
def warehouse_get_all(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("warehouse", nop.all_warehouses(call["name"]))


@api("GET", "/Warehouse/GetById/{id}")
def warehouse_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    warehouse_id = positive(call, "id")
    return dto("warehouse", found(nop.warehouses.get(warehouse_id), f"Warehouse Id={warehouse_id} not found"))


# -- Product --------------------------------------------------------------------------------------
@api("GET", "/Product/GetAll")
def product_get_all(nop: NopCommerceBackend, call: Call) -> Response:
    products = nop.search_products(
        category_ids=call["categoryIds"], manufacturer_ids=call["manufacturerIds"], store_id=call["storeId"], vendor_id=call["vendorId"],
        warehouse_id=call["warehouseId"], product_type_id=call["productType"], visible_individually_only=call["visibleIndividuallyOnly"],
        price_min=call["priceMin"], price_max=call["priceMax"], keywords=call["keywords"], search_descriptions=call["searchDescriptions"],
        search_manufacturer_part_number=call["searchManufacturerPartNumber"], search_sku=call["searchSku"],
        show_hidden=call["showHidden"], override_published=call["overridePublished"],
    )
    return paged("product", page_of(products, call))


@api("GET", "/Product/GetById/{id}")
def product_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    product_id = positive(call, "id")
    return dto("product", found(nop.products.get(product_id), f"Product Id={product_id} not found"))  # soft-deleted ones too


@api("GET", "/Product/GetProductsByIds/{ids}")
def products_by_ids(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("product", nop.products_by_ids(id_array(call["ids"])))  # soft-deleted ones left out


@api("GET", "/Product/GetProductBySku")
def product_by_sku(nop: NopCommerceBackend, call: Call) -> Response:
    sku = call["sku"]
    return dto("product", found(nop.product_by_sku(sku), f"Product sku={sku} not found"))


@api("GET", "/Product/GetProductsBySku")
def products_by_sku(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("product", nop.products_by_skus(call["skuArray"].split(";"), call["vendorId"]))


@api("POST", "/Product/Create")
def product_create(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("product", nop.insert_product(call["model"]))


@api("GET", "/Product/UpdateProductStoreMappings/{productId}/{storesIds}")
def product_update_store_mappings(nop: NopCommerceBackend, call: Call) -> Response:
    product_id = positive(call, "productId")
    product = found(nop.products.get(product_id), f"Product Id={product_id} not found")
    nop.update_product_store_mappings(product, id_array(call["storesIds"]))
    return ok_empty()


@api("PUT", "/Product/Update")
def product_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call["model"]
    found(nop.products.get(entity["id"]), f"Product Id={entity['id']} is not found")
    nop.replace_product(entity)  # full replace: e.g. an omitted stock_quantity becomes 0 (§7.2)
    return ok_empty()


@api("DELETE", "/Product/Delete/{id}")
def product_delete(nop: NopCommerceBackend, call: Call) -> Response:
    product_id = positive(call, "id")
    nop.delete_product(found(nop.products.get(product_id), f"Product Id={product_id} not found"))
    return ok_empty()


@api("POST", "/Product/AdjustInventory/{productId}")
def product_adjust_inventory(nop: NopCommerceBackend, call: Call) -> Response:
    product_id = positive(call, "productId")
    found(nop.products.get(product_id), f"Product Id={product_id} is not found")
    nop.adjust_inventory(product_id, call["quantityToChange"], call["attributesXml"] or "", call["message"] or "")
    return ok_empty()


@api("GET", "/Product/GetTotalStockQuantity/{productId}")
def product_total_stock(nop: NopCommerceBackend, call: Call) -> Response:
    product_id = positive(call, "productId")
    found(nop.products.get(product_id), f"Product Id={product_id} not found")
    return ok(nop.total_stock_quantity(product_id, call["useReservedQuantity"], call["warehouseId"]))


@api("GET", "/Product/GetStockQuantityHistory/{productId}")
def product_stock_history(nop: NopCommerceBackend, call: Call) -> Response:
    product_id = positive(call, "productId")
    found(nop.products.get(product_id), f"Product Id={product_id} is not found")
    return paged("stock_quantity_history", page_of(nop.stock_history_of(product_id, call["warehouseId"], call["combinationId"]), call))


# -- ProductWarehouse, ProductAttributeCombination -----------------------------------------------
@api("GET", "/ProductWarehouse/GetAllProductWarehouseInventoryRecords/{productId}")
def pwi_all(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("product_warehouse_inventory", nop.warehouse_records(call["productId"]))


@api("GET", "/ProductWarehouse/GetById/{id}")
def pwi_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    record_id = positive(call, "id")
    return dto("product_warehouse_inventory",
               found(nop.product_warehouses.get(record_id), f"Product warehouse inventory Id={record_id} not found"))


@api("POST", "/ProductWarehouse/Create")
def pwi_create(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("product_warehouse_inventory", nop.insert_product_warehouse(call["model"]))


@api("PUT", "/ProductWarehouse/Update")
def pwi_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call["model"]
    found(nop.product_warehouses.get(entity["id"]), f"Product warehouse inventory Id={entity['id']} is not found")
    nop.replace_product_warehouse(entity)
    return ok_empty()


@api("DELETE", "/ProductWarehouse/Delete/{id}")
def pwi_delete(nop: NopCommerceBackend, call: Call) -> Response:
    record_id = positive(call, "id")
    found(nop.product_warehouses.get(record_id), f"Product warehouse inventory Id={record_id} not found")
    nop.delete_product_warehouse(record_id)
    return ok_empty()


@api("GET", "/ProductAttributeCombination/GetAll/{productId}")
def combinations_all(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("product_attribute_combination", nop.product_combinations(call["productId"]))


@api("GET", "/ProductAttributeCombination/GetBySku")
def combination_by_sku(nop: NopCommerceBackend, call: Call) -> Response:
    sku = call["sku"]
    return dto("product_attribute_combination", found(nop.combination_by_sku(sku), f"Product attribute combination sku={sku} not found"))


@api("GET", "/ProductAttributeCombination/GetById/{id}")
def combination_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    combination_id = positive(call, "id")
    return dto("product_attribute_combination",
               found(nop.combinations.get(combination_id), f"Product attribute combination Id={combination_id} not found"))


@api("POST", "/ProductAttributeCombination/Create")
def combination_create(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("product_attribute_combination", nop.insert_combination(call["model"]))


@api("PUT", "/ProductAttributeCombination/Update")
def combination_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call["model"]
    found(nop.combinations.get(entity["id"]), f"Product attribute combination Id={entity['id']} is not found")
    nop.replace_combination(entity)
    return ok_empty()


# -- Shipment, ShipmentItem -----------------------------------------------------------------------
@api("GET", "/Shipment/GetAll")
def shipment_get_all(nop: NopCommerceBackend, call: Call) -> Response:
    shipments = nop.search_shipments(
        vendor_id=call["vendorId"], warehouse_id=call["warehouseId"], shipping_country_id=call["shippingCountryId"],
        shipping_state_id=call["shippingStateId"], shipping_county=call["shippingCounty"], shipping_city=call["shippingCity"],
        tracking_number=call["trackingNumber"], load_not_shipped=call["loadNotShipped"],
        load_not_ready_for_pickup=call["loadNotReadyForPickup"], load_not_delivered=call["loadNotDelivered"],
        order_id=call["orderId"], created_from=call["createdFromUtc"], created_to=call["createdToUtc"],
    )
    return paged("shipment", page_of(shipments, call))


@api("GET", "/Shipment/GetById/{id}")
def shipment_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    shipment_id = positive(call, "id")
    return dto("shipment", found(nop.shipments.get(shipment_id), f"Shipment Id={shipment_id} not found"))


@api("GET", "/Shipment/GetByIds/{ids}")
def shipments_by_ids(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("shipment", nop.shipments_by_ids(id_array(call["ids"])))


@api("GET", "/Shipment/GetByOrderId/{orderId}")
def shipments_by_order(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("shipment", nop.shipments_of_order(call["orderId"], shipped=call["shipped"], ready_for_pickup=call["readyForPickup"],
                                                   vendor_id=call["vendorId"]))


@api("POST", "/Shipment/Create")
def shipment_create(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("shipment", nop.insert_shipment(call["model"]))


@api("PUT", "/Shipment/Update")
def shipment_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call["model"]
    found(nop.shipments.get(entity["id"]), "Shipment is not found")
    nop.replace_shipment(entity)  # full replace
    return ok_empty()


@api("DELETE", "/Shipment/Delete/{id}")
def shipment_delete(nop: NopCommerceBackend, call: Call) -> Response:
    shipment_id = positive(call, "id")
    found(nop.shipments.get(shipment_id), f"Shipment Id={shipment_id} not found")
    nop.delete_shipment(shipment_id)
    return ok_empty()


@api("GET", "/ShipmentItem/GetByShipmentId/{id}")
def shipment_items_by_shipment(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("shipment_item", nop.items_of_shipment(positive(call, "id")))


@api("GET", "/ShipmentItem/GetById/{id}")
def shipment_item_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    item_id = positive(call, "id")
    return dto("shipment_item", found(nop.shipment_items.get(item_id), f"Shipment item Id={item_id} not found"))


@api("POST", "/ShipmentItem/Create")
def shipment_item_create(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("shipment_item", nop.insert_shipment_item(call["model"]))


@api("PUT", "/ShipmentItem/Update")
def shipment_item_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call["model"]
    found(nop.shipment_items.get(entity["id"]), "Shipment item is not found")
    nop.replace_shipment_item(entity)
    return ok_empty()


@api("DELETE", "/ShipmentItem/Delete/{id}")
def shipment_item_delete(nop: NopCommerceBackend, call: Call) -> Response:
    item_id = positive(call, "id")
    found(nop.shipment_items.get(item_id), f"Shipment item Id={item_id} not found")
    nop.delete_shipment_item(item_id)
    return ok_empty()


# -- ReturnRequest --------------------------------------------------------------------------------
@api("GET", "/ReturnRequest/Search")
def return_request_search(nop: NopCommerceBackend, call: Call) -> Response:
    requests = nop.search_return_requests(
        store_id=call["storeId"], customer_id=call["customerId"], order_item_id=call["orderItemId"], custom_number=call["customNumber"],
        status_id=call["rs"], created_from=call["createdFromUtc"], created_to=call["createdToUtc"],
    )
    return paged("return_request", page_of(requests, call))


@api("GET", "/ReturnRequest/GetById/{id}")
def return_request_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    request_id = positive(call, "id")
    return dto("return_request", found(nop.return_requests.get(request_id), f"Return request Id={request_id} not found"))


@api("POST", "/ReturnRequest/Create")
def return_request_create(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("return_request", nop.insert_return_request(call["model"]))


@api("PUT", "/ReturnRequest/Update")
def return_request_update(nop: NopCommerceBackend, call: Call) -> Response:
    entity = call["model"]
    found(nop.return_requests.get(entity["id"]), "Return request is not found")
    nop.replace_return_request(entity)  # full replace
    return ok_empty()


@api("DELETE", "/ReturnRequest/Delete/{id}")
def return_request_delete(nop: NopCommerceBackend, call: Call) -> Response:
    request_id = positive(call, "id")
    found(nop.return_requests.get(request_id), f"Return request Id={request_id} not found")
    nop.delete_return_request(request_id)
    return ok_empty()


@api("GET", "/ReturnRequestReason/GetAll")
def return_request_reasons(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("return_request_reason", nop.lookup_list(nop.return_request_reasons))


@api("GET", "/ReturnRequestReason/GetById/{id}")
def return_request_reason_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    reason_id = positive(call, "id")
    return dto("return_request_reason", found(nop.return_request_reasons.get(reason_id), f"Return request reason Id={reason_id} not found"))


@api("GET", "/ReturnRequestAction/GetAll")
def return_request_actions(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("return_request_action", nop.lookup_list(nop.return_request_actions))


@api("GET", "/ReturnRequestAction/GetById/{id}")
def return_request_action_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    action_id = positive(call, "id")
    return dto("return_request_action", found(nop.return_request_actions.get(action_id), f"Return request action Id={action_id} not found"))


# -- Store, StoreMapping --------------------------------------------------------------------------
@api("GET", "/Store/GetAll")
def store_get_all(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("store", nop.all_stores())


@api("GET", "/Store/GetById/{id}")
def store_by_id(nop: NopCommerceBackend, call: Call) -> Response:
    store_id = positive(call, "id")
    return dto("store", found(nop.stores.get(store_id), f"Store Id={store_id} not found"))  # deleted ones too


@api("GET", "/StoreMapping/GetStoreMappings/{entityId}")
def store_mappings(nop: NopCommerceBackend, call: Call) -> Response:
    return dtos("store_mapping", nop.store_mappings_of(call["entityId"], call["entityTypeName"]))


@api("GET", "/StoreMapping/GetStoresIdsWithAccess/{entityId}")
def store_ids_with_access(nop: NopCommerceBackend, call: Call) -> Response:
    return ok([m["store_id"] for m in nop.store_mappings_of(call["entityId"], call["entityTypeName"])])


@api("POST", "/StoreMapping/Create")
def store_mapping_create(nop: NopCommerceBackend, call: Call) -> Response:
    return dto("store_mapping", nop.insert_store_mapping(call["model"]))


@api("DELETE", "/StoreMapping/Delete/{id}")
def store_mapping_delete(nop: NopCommerceBackend, call: Call) -> Response:
    mapping_id = positive(call, "id")
    found(nop.store_mappings.get(mapping_id), f"Store mapping Id={mapping_id} not found")
    nop.delete_store_mapping(mapping_id)
    return ok_empty()


# ---------------------------------------------------------------------------------------------
# endpoint wrapper
def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header or not header.strip():
        return None
    return header.strip().split(" ")[-1]  # JwtMiddleware keeps the last space-separated part


def _endpoint(world: SandboxWorld, route: ApiRoute):
    async def endpoint(request: Request) -> Response:
        body = await request.body()  # the only await: state is touched synchronously below
        nop: NopCommerceBackend = world.nopcommerce
        try:
            if route.auth:
                customer = nop.customer_for_token(_bearer(request))
                if customer is None:
                    return Response(UNAUTHORIZED, status_code=401, media_type=JSON_TYPE)
                if not nop.has_api_access(customer["id"]):
                    return Response(ACCESS_DENIED, status_code=403, media_type=JSON_TYPE)
                nop.record_activity(customer)
            call = Call(route.action, request.path_params, request.query_params.multi_items(), body)
            return route.handler(nop, call)
        except ApiError as error:
            return error.response
        except UndeclaredParameter:
            raise  # a simulator bug, never an answer the real plugin gives
        except NotFound as error:
            return not_found(str(error))
        except NopError as error:
            return Response(exception_body(str(error)), status_code=400, media_type=JSON_TYPE)
        except KeyError as error:  # KeyNotFoundException -> 404 in ErrorHandlerMiddleware
            return Response(exception_body(f"The given key '{error.args[0] if error.args else ''}' was not present in the dictionary."),
                            status_code=404, media_type=JSON_TYPE)
        except Exception as error:  # noqa: BLE001 - ErrorHandlerMiddleware: 500, no stack trace
            cause = error.__cause__ or error.__context__
            return Response(exception_body(str(error) or type(error).__name__, str(cause) if cause else None),
                            status_code=500, media_type=JSON_TYPE)

    return endpoint


class CaseInsensitiveRoutes:
    """ASP.NET routing matches `/api-backend/{controller}/{action}` case-insensitively: a path in
    any casing is rewritten to the registered casing before routing and counting."""

    def __init__(self, app: ASGIApp, templates: list[str]) -> None:
        self.app = app
        self.canonical: dict[str, str] = {}
        for template in templates:
            prefix = "/".join(template.split("/")[:4])  # "", "api-backend", controller, action
            self.canonical[prefix.lower()] = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            parts = scope["path"].split("/")
            prefix = "/".join(parts[:4])
            canonical = self.canonical.get(prefix.lower())
            if canonical is not None and canonical != prefix:
                path = canonical + scope["path"][len(prefix):]
                scope = dict(scope, path=path, raw_path=path.encode())
        await self.app(scope, receive, send)


async def _empty_404(request: Request, exc: Exception) -> Response:
    return Response(b"", status_code=404)


async def _empty_405(request: Request, exc: Exception) -> Response:
    return Response(b"", status_code=405)


def build_nopcommerce_app(world: SandboxWorld) -> Any:
    """The simulator as an ASGI app; `world.nopcommerce` is looked up per request (reset replaces it)."""
    api_routes = [Route(route.path, _endpoint(world, route), methods=[route.method]) for route in API_ROUTES]
    routes = api_routes + shared_control_routes(world, "nopcommerce") + control_routes(world)
    app = Starlette(routes=routes, exception_handlers={404: _empty_404, 405: _empty_405})
    instrumented = InstrumentationMiddleware(
        app,
        routes=api_routes,
        stats=world.nopcommerce_stats,
        faults=world.nopcommerce_faults,
        render_error=render_error,
        api_prefix=lambda path: API if path.startswith(API) else "",
    )
    return CaseInsensitiveRoutes(instrumented, [route.path for route in API_ROUTES])
