"""Every endpoint the flows read, as data: what `bp-nop probe` calls, with which sample parameters,
against which contract, and how the client's models parse the reply.

Found by reading `brightpearl/client.py`, `nopcommerce/client.py`, `sync/*.py` and the source
assets under `defs/`. Only reads: GET requests that change nothing. nopCommerce's
`OrderProcessing/*` actions are GETs that DO change state (Ship, Deliver, CancelOrder): never
listed here. The paths are the real APIs' (per the contracts), even where today's client or
simulator still uses another spelling (`Country/GetAllCountries`, plugin source).

Ids for by-id endpoints come from earlier replies in the same probe: an endpoint `provides` named
pools of values (e.g. `product_ids` from product-search's `productId` column), and a later one
`fill`s its placeholders from them (`{"idset": "product_ids"}`, the first `take` values joined
by the system's separator). An endpoint whose pool is empty is skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from bp_nop_dagster.brightpearl import models as bpm
from bp_nop_dagster.brightpearl.client import _search_page
from bp_nop_dagster.nopcommerce import models as nopm

BRIGHTPEARL = "brightpearl"
NOPCOMMERCE = "nopcommerce"
SEPARATOR = {BRIGHTPEARL: ",", NOPCOMMERCE: ";"}  # ID sets: Brightpearl `1,5`; the plugin `1;5`
PAGE_SIZE = 5  # rows per list read: enough to see every shape, little personal data
CATALOGUE_PAGE_SIZE = 50

Extract = Callable[[Any], list[Any]]
Parse = Callable[[Any], Any]


@dataclass(frozen=True)
class Endpoint:
    """One read the flows make. `path` is relative to the API root (`/public-api/{account}` or
    `/api-backend`) with `{placeholders}`; `params` may hold placeholders too."""

    system: str
    path: str
    contracts: tuple[str, ...]
    parse: Parse
    params: Mapping[str, str] = field(default_factory=dict)
    fill: Mapping[str, str] = field(default_factory=dict)
    take: int = 1
    provides: Mapping[str, Extract] = field(default_factory=dict)
    method: str = "GET"

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    def pools(self) -> set[str]:
        return set(self.fill.values())


# ------------------------------------------------------------------------- extracting ids


def _where(item: Any, conditions: Mapping[str, Any]) -> bool:
    return isinstance(item, dict) and all(item.get(k) == v for k, v in conditions.items())


def column(name: str, **where: Any) -> Extract:
    """Values of a Brightpearl search column (rows whose other columns equal `where`)."""

    def extract(body: Any) -> list[Any]:
        response = body["response"]
        names = [c["name"] for c in response["metaData"]["columns"]]
        if name not in names:
            return []
        rows = [dict(zip(names, row)) for row in response.get("results") or []]
        return [row[name] for row in rows if row.get(name) is not None and _where(row, where)]

    return extract


def bp_items(name: str, **where: Any) -> Extract:
    """A field of each item of a Brightpearl `{"response": [...]}` reply."""
    return lambda body: [item[name] for item in body["response"] if _where(item, where) and item.get(name) is not None]


def bp_keys() -> Extract:
    """The keys of a Brightpearl id-keyed reply (`{"response": {"12447605": {...}}}`)."""
    return lambda body: [int(key) for key in body["response"]]


def nop_field(name: str, **where: Any) -> Extract:
    """A field of each nopCommerce DTO in a paged list, a plain list or a single object."""

    def extract(body: Any) -> list[Any]:
        items = body.get("items") if isinstance(body, dict) and "items" in body else body
        items = items if isinstance(items, list) else [items]
        return [item[name] for item in items if _where(item, where) and item.get(name) not in (None, "", 0)]

    return extract


# ------------------------------------------------------------------------- parsing as the client does


def _bp_list(model: type[BaseModel]) -> Parse:
    return lambda body: [model.model_validate(item) for item in body["response"]]


def _bp_search(model: type[BaseModel]) -> Parse:
    def parse(body: Any) -> list[BaseModel]:
        page = _search_page(body["response"], body.get("reference"), "Brightpearl", "probe")
        return [model.model_validate(row) for row in page.rows]

    return parse


def _bp_map(model: type[BaseModel], key_field: str) -> Parse:
    return lambda body: [model.model_validate({**value, key_field: key}) for key, value in body["response"].items()]


def _nop_ids(body: Any) -> list[int]:
    """A plain JSON array of ids (`list<int>` actions), as the client checks it."""
    if not isinstance(body, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in body):
        raise ValueError("expected a JSON array of integers")
    return body


def _nop(model: type[BaseModel], shape: str = "one") -> Parse:
    if shape == "paged":
        return lambda body: nopm.PagedList[model].model_validate(body)  # type: ignore[name-defined]
    if shape == "list":
        return lambda body: [model.model_validate(item) for item in body]
    return model.model_validate


# ------------------------------------------------------------------------- the list

_BP_SEARCH = {"pageSize": str(PAGE_SIZE)}
_NOP_PAGE = {"pageIndex": "0", "pageSize": str(PAGE_SIZE)}

ENDPOINTS: tuple[Endpoint, ...] = (
    # --- Brightpearl: reference data (mapping config, doctor, reference assets)
    Endpoint(BRIGHTPEARL, "/warehouse-service/warehouse", ("recorded:warehouse_get.json",), _bp_list(bpm.Warehouse)),
    Endpoint(BRIGHTPEARL, "/product-service/channel", ("recorded:channel_get.json",), _bp_list(bpm.Channel)),
    Endpoint(BRIGHTPEARL, "/order-service/order-status", ("recorded:order_status_get.json",), _bp_list(bpm.OrderStatus)),
    Endpoint(BRIGHTPEARL, "/order-service/order-shipping-status", ("recorded:order_shipping_status_get.json",),
             _bp_list(bpm.OrderShippingStatus)),
    Endpoint(BRIGHTPEARL, "/accounting-service/tax-code", ("recorded:tax_code_get.json",), _bp_list(bpm.TaxCode)),
    Endpoint(BRIGHTPEARL, "/accounting-service/payment-method", ("recorded:payment_method_get.json", "documented:payment-method"),
             _bp_list(bpm.PaymentMethod)),
    Endpoint(BRIGHTPEARL, "/warehouse-service/shipping-method", ("recorded:shipping_method_get.json",), _bp_list(bpm.ShippingMethod)),
    Endpoint(BRIGHTPEARL, "/product-service/price-list", ("recorded:price_list_get.json",), _bp_list(bpm.PriceList)),
    # --- Brightpearl: products and stock (stock flow, SKU discovery, source assets)
    Endpoint(BRIGHTPEARL, "/product-service/product-search", ("recorded:product_search.json",), _bp_search(bpm.ProductSearchRow),
             params={**_BP_SEARCH, "sort": "productId.ASC"},
             provides={"product_ids": column("productId"), "stock_tracked_product_ids": column("productId", stockTracked=True)}),
    Endpoint(BRIGHTPEARL, "/product-service/product/{idset}", ("recorded:product_get_multiple.json",), _bp_list(bpm.Product),
             fill={"idset": "product_ids"}, take=2),
    Endpoint(BRIGHTPEARL, "/warehouse-service/product-availability/{idset}", ("recorded:product_availability_get.json",),
             _bp_map(bpm.Availability, "productId"), fill={"idset": "stock_tracked_product_ids"}, take=2),
    Endpoint(BRIGHTPEARL, "/warehouse-service/goods-movement-search", ("documented:goods-movement-search",),
             _bp_search(bpm.GoodsMovement), params={**_BP_SEARCH, "sort": "goodsMovementId.DESC"}),
    # --- Brightpearl: contacts, orders, payments (order flow, reconciliation)
    Endpoint(BRIGHTPEARL, "/contact-service/contact-search", ("recorded:customer__search__simple_search.json",),
             _bp_search(bpm.ContactSearchRow), params={**_BP_SEARCH, "sort": "contactId.DESC"}),
    Endpoint(BRIGHTPEARL, "/order-service/order-search", ("recorded:order_search.json",), _bp_search(bpm.OrderSearchRow),
             params={**_BP_SEARCH, "orderTypeId": "1", "sort": "orderId.DESC"}, provides={"sales_order_ids": column("orderId")}),
    Endpoint(BRIGHTPEARL, "/order-service/order/{idset}", ("recorded:order_get_multiple.json",), _bp_list(bpm.Order),
             fill={"idset": "sales_order_ids"}, take=2),
    Endpoint(BRIGHTPEARL, "/order-service/sales-order/{idset}", ("documented:sales-order",), _bp_list(bpm.OrderSummary),
             fill={"idset": "sales_order_ids"}, take=2),
    Endpoint(BRIGHTPEARL, "/accounting-service/customer-payment-search", ("recorded:customer_payment__search__simple_search.json",),
             _bp_search(bpm.CustomerPayment), params={**_BP_SEARCH, "sort": "paymentId.DESC"}),
    # --- Brightpearl: fulfilment
    Endpoint(BRIGHTPEARL, "/warehouse-service/goods-note/goods-out-search", ("documented:goods-out-search",),
             _bp_search(bpm.GoodsOutNoteSearchRow), params={**_BP_SEARCH, "shipped": "true"},
             provides={"goods_out_note_ids": column("goodsOutNoteId"), "goods_out_order_ids": column("orderId")}),
    Endpoint(BRIGHTPEARL, "/warehouse-service/order/*/goods-note/goods-out/{noteIds}", ("recorded:goods_out_note__get__by_gon_id.json",),
             _bp_map(bpm.GoodsOutNote, "id"), fill={"noteIds": "goods_out_note_ids"}, take=2),
    Endpoint(BRIGHTPEARL, "/warehouse-service/order/{orderIds}/goods-note/goods-out", ("recorded:goods_out_note__get__all_for_order.json",),
             _bp_map(bpm.GoodsOutNote, "id"), fill={"orderIds": "goods_out_order_ids"}),
    # --- nopCommerce: orders (order flow, discovery, reconciliation)
    Endpoint(NOPCOMMERCE, "/Order/Search", ("webapi:GET Order/Search",), _nop(nopm.Order, "paged"), params={**_NOP_PAGE, "storeId": "0"},
             provides={"order_ids": nop_field("id"), "address_ids": nop_field("billing_address_id")}),
    Endpoint(NOPCOMMERCE, "/Order/GetByIds/{ids}", ("webapi:GET Order/GetByIds/{ids}",), _nop(nopm.Order, "list"),
             fill={"ids": "order_ids"}, take=2),
    Endpoint(NOPCOMMERCE, "/Order/GetById/{id}", ("webapi:GET Order/GetById/{id}",), _nop(nopm.Order), fill={"id": "order_ids"}),
    Endpoint(NOPCOMMERCE, "/OrderItem/GetOrderItems/{orderId}", ("webapi:GET OrderItem/GetOrderItems/{orderId}",),
             _nop(nopm.OrderItem, "list"), fill={"orderId": "order_ids"}),
    Endpoint(NOPCOMMERCE, "/Address/GetById/{id}", ("webapi:GET Address/GetById/{id}",), _nop(nopm.Address), fill={"id": "address_ids"}),
    Endpoint(NOPCOMMERCE, "/Customer/GetAll", ("webapi:GET Customer/GetAll",), _nop(nopm.Customer, "paged"), params=_NOP_PAGE,
             provides={"customer_ids": nop_field("id")}),
    # --- nopCommerce: customers, registrations, stores (catalogue/customer flows)
    Endpoint(NOPCOMMERCE, "/Customer/GetById/{id}", ("webapi:GET Customer/GetById/{id}",), _nop(nopm.Customer), fill={"id": "customer_ids"}),
    Endpoint(NOPCOMMERCE, "/Customer/GetAddressesByCustomerId/{customerId}", ("webapi:GET Customer/GetAddressesByCustomerId/{customerId}",),
             _nop(nopm.Address, "list"), fill={"customerId": "customer_ids"}),
    Endpoint(NOPCOMMERCE, "/CustomerRole/GetAll", ("webapi:GET CustomerRole/GetAll",), _nop(nopm.CustomerRole, "list"),
             params={"showHidden": "true"}),
    Endpoint(NOPCOMMERCE, "/CustomerRole/GetCustomerRoleBySystemName", ("webapi:GET CustomerRole/GetCustomerRoleBySystemName",),
             _nop(nopm.CustomerRole), params={"systemName": "Registered"}),
    Endpoint(NOPCOMMERCE, "/CustomerRole/GetCustomerRoleIds/{customerId}", ("webapi:GET CustomerRole/GetCustomerRoleIds/{customerId}",),
             _nop_ids, params={"showHidden": "true"}, fill={"customerId": "customer_ids"}),
    Endpoint(NOPCOMMERCE, "/Store/GetAll", ("webapi:GET Store/GetAll",), _nop(nopm.Store, "list"), provides={"store_ids": nop_field("id")}),
    Endpoint(NOPCOMMERCE, "/Store/GetById/{id}", ("webapi:GET Store/GetById/{id}",), _nop(nopm.Store), fill={"id": "store_ids"}),
    Endpoint(NOPCOMMERCE, "/Country/GetAllCountries", ("webapi:GET Country/GetAllCountries",), _nop(nopm.Country, "list"),
             params={"showHidden": "true"}),
    # --- nopCommerce: catalogue and stock (stock flow)
    # Products whose stock lives per warehouse or per attribute combination are rare: a longer
    # page of the catalogue (no personal data) finds some for the reads below.
    Endpoint(NOPCOMMERCE, "/Product/GetAll", ("webapi:GET Product/GetAll",), _nop(nopm.Product, "paged"),
             params={"pageIndex": "0", "pageSize": str(CATALOGUE_PAGE_SIZE), "showHidden": "true"},
             provides={"nop_product_ids": nop_field("id"), "skus": nop_field("sku"),
                       "multi_warehouse_product_ids": nop_field("id", use_multiple_warehouses=True),
                       "combination_product_ids": nop_field("id", manage_inventory_method_id=2)}),
    Endpoint(NOPCOMMERCE, "/Product/GetProductsByIds/{ids}", ("webapi:GET Product/GetProductsByIds/{ids}",), _nop(nopm.Product, "list"),
             fill={"ids": "nop_product_ids"}, take=2),
    Endpoint(NOPCOMMERCE, "/Product/GetProductsBySku", ("webapi:GET Product/GetProductsBySku",), _nop(nopm.Product, "list"),
             params={"skuArray": "{skus}"}, fill={"skus": "skus"}, take=2),
    Endpoint(NOPCOMMERCE, "/Product/GetById/{id}", ("webapi:GET Product/GetById/{id}",), _nop(nopm.Product),
             fill={"id": "nop_product_ids"}),
    Endpoint(NOPCOMMERCE, "/StoreMapping/GetStoresIdsWithAccess/{entityId}", ("webapi:GET StoreMapping/GetStoresIdsWithAccess/{entityId}",),
             _nop_ids, params={"entityTypeName": "Product"}, fill={"entityId": "nop_product_ids"}),
    Endpoint(NOPCOMMERCE, "/ProductWarehouse/GetAllProductWarehouseInventoryRecords/{productId}",
             ("webapi:GET ProductWarehouse/GetAllProductWarehouseInventoryRecords/{productId}",),
             _nop(nopm.ProductWarehouseInventory, "list"), fill={"productId": "multi_warehouse_product_ids"},
             provides={"warehouse_record_ids": nop_field("id")}),
    Endpoint(NOPCOMMERCE, "/ProductWarehouse/GetById/{id}", ("webapi:GET ProductWarehouse/GetById/{id}",),
             _nop(nopm.ProductWarehouseInventory), fill={"id": "warehouse_record_ids"}),
    Endpoint(NOPCOMMERCE, "/ProductAttributeCombination/GetAll/{productId}", ("webapi:GET ProductAttributeCombination/GetAll/{productId}",),
             _nop(nopm.ProductAttributeCombination, "list"), fill={"productId": "combination_product_ids"},
             provides={"combination_ids": nop_field("id"), "combination_skus": nop_field("sku")}),
    Endpoint(NOPCOMMERCE, "/ProductAttributeCombination/GetById/{id}", ("webapi:GET ProductAttributeCombination/GetById/{id}",),
             _nop(nopm.ProductAttributeCombination), fill={"id": "combination_ids"}),
    Endpoint(NOPCOMMERCE, "/ProductAttributeCombination/GetBySku", ("webapi:GET ProductAttributeCombination/GetBySku",),
             _nop(nopm.ProductAttributeCombination), params={"sku": "{sku}"}, fill={"sku": "combination_skus"}),
    # --- nopCommerce: shipments and returns (fulfilment flow, returns asset)
    Endpoint(NOPCOMMERCE, "/Shipment/GetAll", ("webapi:GET Shipment/GetAll",), _nop(nopm.Shipment, "paged"), params=_NOP_PAGE,
             provides={"shipment_ids": nop_field("id")}),
    Endpoint(NOPCOMMERCE, "/Shipment/GetById/{id}", ("webapi:GET Shipment/GetById/{id}",), _nop(nopm.Shipment),
             fill={"id": "shipment_ids"}),
    Endpoint(NOPCOMMERCE, "/ShipmentItem/GetByShipmentId/{id}", ("webapi:GET ShipmentItem/GetByShipmentId/{id}",),
             _nop(nopm.ShipmentItem, "list"), fill={"id": "shipment_ids"}),
    Endpoint(NOPCOMMERCE, "/ReturnRequest/Search", ("webapi:GET ReturnRequest/Search",), _nop(nopm.ReturnRequest, "paged"),
             params={**_NOP_PAGE, "storeId": "0"}, provides={"return_request_ids": nop_field("id")}),
    Endpoint(NOPCOMMERCE, "/ReturnRequest/GetById/{id}", ("webapi:GET ReturnRequest/GetById/{id}",), _nop(nopm.ReturnRequest),
             fill={"id": "return_request_ids"}),
    Endpoint(NOPCOMMERCE, "/ReturnRequestReason/GetAll", ("webapi:GET ReturnRequestReason/GetAll",),
             _nop(nopm.ReturnRequestLookup, "list")),
    Endpoint(NOPCOMMERCE, "/ReturnRequestAction/GetAll", ("webapi:GET ReturnRequestAction/GetAll",),
             _nop(nopm.ReturnRequestLookup, "list")),
)


def endpoints_for(systems: Sequence[str]) -> list[Endpoint]:
    return [e for e in ENDPOINTS if e.system in systems]
