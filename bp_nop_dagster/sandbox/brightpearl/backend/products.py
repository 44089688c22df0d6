"""product-service: products (GET by ID set, POST, PUT, search), prices (GET, PUT), brands,
channels, price lists.

Shapes: product GET as recorded (product_get_one.json: `identity.sku`, `stock.stockTracked`,
`financialDetails.taxCode{id,code}`, `salesChannels[]`; `version` equals `updatedOn` in
milliseconds), product-search columns as recorded (product_search.json), brand GET as recorded
(brand_get.json: `{id, name}`). Product GETs and search rows are cached per product as JSON bytes
(the hot path of every benchmark); any change to a product or to the warehouses invalidates its
cache.

Product PUT (api-docs.brightpearl.com/product/product/put.html; product_put.json): "Brightpearl" is
the only supported sales channel; an `If-Match` header holding another version than the product's
answers 412; the reply is `{}`. Which fields an omitted key resets is inferred
(`FidelityOptions.product_put`). Status LIVE / DISCONTINUED / ARCHIVED (help 212647683: archiving
needs no stock in any warehouse and none in quarantine).

Product prices (…/product/product-price/get.html, put.html; product_price_get.json,
product_price_put.json): per product, one entry per price list with `quantityPrice` mapping
quantity breaks to prices (strings, 4 decimals as recorded; `{}` when the list has no price);
`GET /product-price/{ids}/price-list/{listIds}` narrows the lists; PUT
`/product-price/{id}/price-list` `{"priceLists":[{"priceListId","quantityPrice"}]}` replaces the
breaks of the lists it names and answers `{}`. Which changes set `updatedOn` beyond a product PUT
is inferred (`FidelityOptions.product_updated_on_by`; a goods movement does not by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bp_nop_dagster.sandbox.brightpearl.backend.common import (
    D0,
    BrightpearlApiError,
    Service,
    as_decimal,
    as_int,
    as_object,
    as_text,
    bad,
    fmt_dt,
    idset_ids,
    m4,
    not_found,
    reference_reply,
)
from bp_nop_dagster.sandbox.brightpearl.backend.reference import (
    BRANDS,
    CHANNELS,
    COST_PRICE_LIST,
    PRICE_LIST_IDS,
    PRICE_LISTS,
    PRODUCT_STATUSES,
    RETAIL_PRICE_LIST,
    TAX_CODES,
    find_tax_code,
)
from bp_nop_dagster.sandbox.brightpearl.backend.search import Col, SearchSpec
from bp_nop_dagster.sandbox.instrumentation import json_bytes


@dataclass(slots=True)
class Product:
    id: int
    sku: str
    name: str
    tax_code_id: int
    stock_tracked: bool
    created_on: datetime
    updated_on: datetime
    # price list id -> quantity break -> price (net for EXC lists, as entered for INC ones)
    prices: dict[int, dict[int, Decimal]] = field(default_factory=dict)
    brand_id: int = 1
    product_type_id: int = 1
    category_code: int = 300
    barcode: str = ""
    ean: str | None = None
    upc: str | None = None
    isbn: str | None = None
    mpn: str | None = None
    description: str = ""
    short_description: str = ""
    weight: Decimal = D0
    length: Decimal = D0
    height: Decimal = D0
    width: Decimal = D0
    status: str = "LIVE"

    @property
    def version(self) -> int:
        return int(self.updated_on.timestamp() * 1000)

    def unit_price(self, price_list_id: int) -> Decimal:
        """The price of one unit on a price list (its break 1), 0 when the list has none."""
        return self.prices.get(price_list_id, {}).get(1, D0)

    @property
    def price(self) -> Decimal:
        return self.unit_price(RETAIL_PRICE_LIST)

    @property
    def cost(self) -> Decimal:
        return self.unit_price(COST_PRICE_LIST)


class ProductService(Service):
    """Products and the product-service reference data."""

    def __init__(self, account) -> None:
        super().__init__(account)
        self.products: dict[int, Product] = {}
        self._cache: dict[int, tuple[dict, list]] = {}
        self._json: dict[int, bytes] = {}
        self._row_json: dict[int, bytes] = {}

    # ------------------------------------------------------------ generator interface

    def add_product(self, sku: str, name: str, *, price: Decimal, tax_code: str = "T1", stock_tracked: bool = True,
                    created_on: datetime | None = None) -> int:
        tax = find_tax_code(tax_code, "product", "PRDC-016")
        when = created_on or self.now()
        product_id = self.next_id("product")
        self.products[product_id] = Product(
            id=product_id, sku=sku, name=name, tax_code_id=tax["id"], stock_tracked=stock_tracked, created_on=when,
            updated_on=when, prices={RETAIL_PRICE_LIST: {1: Decimal(str(price))}},
        )
        return product_id

    def modified(self, product: Product, cause: str) -> None:
        """A product changed by `cause` (a `FidelityOptions.product_updated_on_by` kind): its cached
        JSON is dropped, and updatedOn (hence version) moves when the account's rule says so."""
        if cause in self.options.product_updated_on_by:
            product.updated_on = self.now()
        self.invalidate(product.id)

    def sku_to_product_id(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for product in self.products.values():
            result.setdefault(product.sku, product.id)
        return result

    def is_stock_tracked(self, product_id: int | None) -> bool:
        product = self.products.get(product_id) if product_id else None
        return product is not None and product.stock_tracked

    # ------------------------------------------------------------ reads

    def api_reference(self, kind: str, idset: str | None) -> dict:
        items = {"channel": CHANNELS, "price-list": PRICE_LISTS, "brand": BRANDS}[kind]
        return reference_reply(items, idset, kind.replace("-", " "))

    def _product_dict(self, product: Product) -> dict:
        cached = self._cache.get(product.id)
        if cached is not None:
            return cached[0]
        tax = TAX_CODES[product.tax_code_id - 1]
        warehouse = self.account.warehouse_service
        warehouses = {str(w): {"defaultLocationId": warehouse.default_location(w), "overflowLocationId": 0, "reorderLevel": 0,
                               "reorderQuantity": 0} for w in warehouse.warehouses}
        data = {
            "id": product.id, "brandId": product.brand_id, "productTypeId": product.product_type_id,
            "identity": {"sku": product.sku, "barcode": product.barcode},
            "featured": False,
            "stock": {"stockTracked": product.stock_tracked, "weight": {"magnitude": float(product.weight)},
                      "dimensions": {"length": float(product.length), "height": float(product.height),
                                     "width": float(product.width),
                                     "volume": float(product.length * product.height * product.width)}},
            "financialDetails": {"taxable": tax.get("rate") is not None, "taxCode": {"id": tax["id"], "code": tax["code"]}},
            "salesChannels": [{
                "salesChannelName": "Brightpearl", "productName": product.name, "productCondition": "new",
                "categories": [{"categoryCode": str(product.category_code)}],
                "description": {"languageCode": "en", "text": product.description, "format": "HTML_FRAGMENT"},
                "shortDescription": {"languageCode": "en", "text": product.short_description, "format": "HTML_FRAGMENT"},
            }],
            "composition": {"bundle": False},
            "variations": [],
            "createdOn": fmt_dt(product.created_on), "updatedOn": fmt_dt(product.updated_on),
            "warehouses": warehouses,
            "nominalCodeStock": "1001", "nominalCodePurchases": "5000", "nominalCodeSales": "4000",
            "seasonIds": [], "reporting": {}, "status": product.status, "salesPopupMessage": "",
            "warehousePopupMessage": "", "version": product.version,
        }
        for key, value in (("ean", product.ean), ("upc", product.upc), ("isbn", product.isbn), ("mpn", product.mpn)):
            if value:
                data["identity"][key] = value
        self._cache[product.id] = (data, _search_row(product))
        return data

    def _cached_row(self, product: Product) -> list:
        cached = self._cache.get(product.id)
        if cached is None:
            self._product_dict(product)
            cached = self._cache[product.id]
        return cached[1]

    def invalidate(self, product_id: int | None = None) -> None:
        """Forget cached GET / search JSON of one product (None: of every product)."""
        for cache in (self._cache, self._json, self._row_json):
            if product_id is None:
                cache.clear()
            else:
                cache.pop(product_id, None)

    def _product_bytes(self, product: Product) -> bytes:
        cached = self._json.get(product.id)
        if cached is None:
            cached = self._json[product.id] = json_bytes(self._product_dict(product))
        return cached

    def _row_bytes(self, product: Product) -> bytes:
        cached = self._row_json.get(product.id)
        if cached is None:
            cached = self._row_json[product.id] = json_bytes(self._cached_row(product))
        return cached

    def api_get_products_json(self, idset: str) -> bytes:
        """`GET /product-service/product/{idset}` serialized from per-product cached JSON."""
        products = self.products
        found = [self._product_bytes(products[i]) for i in idset_ids(idset, 200) if i in products]
        if not found:
            raise not_found("No products found")
        return b'{"response":[' + b",".join(found) + b"]}"

    def api_product_price(self, idset: str, price_list_idset: str | None = None) -> dict:
        """`GET /product-service/product-price/{idset}[/price-list/{listIdset}]`."""
        lists = [p for p in PRICE_LISTS if price_list_idset is None or p["id"] in set(idset_ids(price_list_idset, 200))]
        found = []
        for i in idset_ids(idset, 200):
            product = self.products.get(i)
            if product is None:
                continue
            found.append({"productId": i, "priceLists": [
                {"priceListId": plist["id"], "currencyCode": plist["currencyCode"], "currencyId": plist["currencyId"],
                 "quantityPrice": {str(q): m4(v) for q, v in sorted(product.prices.get(plist["id"], {}).items())}}
                for plist in lists]})
        if not found or not lists:
            raise not_found("No Product Prices Found")
        return {"response": found}

    def api_put_product_price(self, product_id: str, body: Any) -> dict:
        """`PUT /product-service/product-price/{id}/price-list` -> `{}` (product_price_put.json). Every
        list and break is checked before any is stored; codes of the refusals are illustrative."""
        product = self._product(product_id)
        body = as_object(body, "body")
        lists = body.get("priceLists")
        if not isinstance(lists, list) or not lists:
            raise bad("PRDC-030", "You must supply priceLists")
        planned: dict[int, dict[int, Decimal]] = {}
        for index, entry in enumerate(lists):
            where = f"priceLists[{index}]"
            entry = as_object(entry, where)
            list_id = as_int(entry.get("priceListId"), f"{where}.priceListId", "PRDC-031")
            if list_id not in PRICE_LIST_IDS:
                raise bad("PRDC-031", f"Price list {list_id} does not exist")
            breaks: dict[int, Decimal] = {}
            for quantity, value in as_object(entry.get("quantityPrice"), f"{where}.quantityPrice").items():
                step = as_int(quantity, f"{where}.quantityPrice break", "PRDC-032")
                price = as_decimal(value, f"{where}.quantityPrice[{quantity}]", "PRDC-032")
                if step < 1 or price < 0:
                    raise bad("PRDC-032", f"{where}: breaks start at 1 and prices are not negative")
                breaks[step] = price
            planned[list_id] = breaks
        product.prices.update(planned)
        self.modified(product, "price")
        return {}

    def set_prices(self, product_id: int, prices: dict[int, dict[int, Decimal]]) -> None:
        """Generator / control interface: price lists of a product, through the PUT's rules."""
        body = {"priceLists": [{"priceListId": list_id, "quantityPrice": {str(q): str(v) for q, v in breaks.items()}}
                               for list_id, breaks in prices.items()]}
        self.api_put_product_price(str(product_id), body)

    # ------------------------------------------------------------ writes

    def api_create_product(self, body: Any) -> dict:
        """`POST /product-service/product` (recorded product_post.json, product_post_error_missing_required.json)."""
        body = as_object(body, "body")
        if not body.get("brandId"):
            raise bad("PRDC-014", "You must supply a brand ID.")
        as_int(body["brandId"], "brandId", "PRDC-014")
        channels = body.get("salesChannels")
        if not isinstance(channels, list) or not channels or not isinstance(channels[0], dict) or not channels[0].get("productName"):
            raise bad("PRDC-015", "You must supply a product name in salesChannels.")
        name = as_text(channels[0]["productName"], "productName", 255, "PRDC-015")
        financial = as_object(body.get("financialDetails"), "financialDetails")
        tax_ref = as_object(financial.get("taxCode"), "financialDetails.taxCode")
        tax = find_tax_code(tax_ref.get("code") or tax_ref.get("id") or "T1", "financialDetails.taxCode", "PRDC-016")
        identity = as_object(body.get("identity"), "identity")
        stock = as_object(body.get("stock"), "stock")
        tracked = stock.get("stockTracked", True)
        if not isinstance(tracked, bool):
            raise bad("PRDC-017", "stock.stockTracked must be a boolean")
        sku = as_text(identity.get("sku"), "identity.sku", 64, "PRDC-018") or ""
        product_id = self.add_product(sku, name or "", price=D0, tax_code=tax["code"], stock_tracked=tracked)
        product = self.products[product_id]
        self.invalidate(product_id)
        product.brand_id = int(body["brandId"])
        product.barcode = as_text(identity.get("barcode"), "identity.barcode", 64, "PRDC-018") or ""
        product.ean = as_text(identity.get("ean"), "identity.ean", 64, "PRDC-018")
        product.mpn = as_text(identity.get("mpn"), "identity.mpn", 64, "PRDC-018")
        categories = channels[0].get("categories") or []
        if categories and isinstance(categories[0], dict) and str(categories[0].get("categoryCode", "")).isdigit():
            product.category_code = int(categories[0]["categoryCode"])
        return {"response": product_id}

    def _product(self, product_id: Any) -> Product:
        pid = as_int(product_id, "productId", "CMNC-011")
        product = self.products.get(pid)
        if product is None:
            raise not_found(f"Product {pid} not found")
        return product

    def api_update_product(self, product_id: str, body: Any, if_match: str | None) -> dict:
        """`PUT /product-service/product/{id}` -> `{}` (see the module docstring). Everything is
        checked before anything changes; codes of the refusals other than 412 are illustrative."""
        product = self._product(product_id)
        if if_match is not None and if_match.strip().strip('"') != str(product.version):
            raise BrightpearlApiError(412, "CMNC-412", f"Product {product.id} has version {product.version}, not {if_match}")
        body = as_object(body, "body")
        replace = self.options.product_put == "replace"
        changes: dict[str, Any] = {}
        if "brandId" in body or replace:
            changes["brand_id"] = as_int(body.get("brandId", 1), "brandId", "PRDC-014")
            if changes["brand_id"] not in {b["id"] for b in BRANDS}:
                raise bad("PRDC-014", f"Brand {changes['brand_id']} does not exist")
        identity = as_object(body.get("identity"), "identity")
        for key, attr in (("sku", "sku"), ("barcode", "barcode"), ("ean", "ean"), ("upc", "upc"), ("isbn", "isbn"),
                          ("mpn", "mpn")):
            if key in identity or (replace and key != "sku"):
                value = as_text(identity.get(key), f"identity.{key}", 64, "PRDC-018")
                changes[attr] = (value or "") if attr in ("sku", "barcode") else value
        channels = body.get("salesChannels")
        if channels is not None:
            if not isinstance(channels, list) or not channels or not isinstance(channels[0], dict):
                raise bad("PRDC-015", "salesChannels must be a non-empty array")
            channel = channels[0]
            if channel.get("salesChannelName", "Brightpearl") != "Brightpearl":
                raise bad("PRDC-019", "Brightpearl is the only supported sales channel")
            if "productName" in channel:
                name = as_text(channel["productName"], "productName", 255, "PRDC-015")
                if not name:
                    raise bad("PRDC-015", "You must supply a product name in salesChannels.")
                changes["name"] = name
            description = as_object(channel.get("description"), "salesChannels[0].description")
            if "text" in description or replace:
                changes["description"] = as_text(description.get("text"), "description.text", 10_000, "PRDC-015") or ""
            short = as_object(channel.get("shortDescription"), "salesChannels[0].shortDescription")
            if "text" in short or replace:
                changes["short_description"] = as_text(short.get("text"), "shortDescription.text", 10_000, "PRDC-015") or ""
        stock = as_object(body.get("stock"), "stock")
        weight = as_object(stock.get("weight"), "stock.weight")
        if "magnitude" in weight:
            changes["weight"] = _measure(weight["magnitude"], "stock.weight.magnitude")
        dimensions = as_object(stock.get("dimensions"), "stock.dimensions")
        for key in ("length", "height", "width"):
            if key in dimensions:
                changes[key] = _measure(dimensions[key], f"stock.dimensions.{key}")
        financial = as_object(body.get("financialDetails"), "financialDetails")
        if financial.get("taxCode") is not None:
            tax_ref = as_object(financial["taxCode"], "financialDetails.taxCode")
            changes["tax_code_id"] = find_tax_code(tax_ref.get("code") or tax_ref.get("id"), "financialDetails.taxCode",
                                                   "PRDC-016")["id"]
        if "status" in body:
            status = body["status"]
            if status not in PRODUCT_STATUSES:
                raise bad("PRDC-020", f"status must be one of {', '.join(PRODUCT_STATUSES)}")
            if status == "ARCHIVED" and self.account.warehouse_service.holds_stock(product.id):
                raise bad("PRDC-021", f"Product {product.id} cannot be archived: it has stock in a warehouse or in quarantine")
            changes["status"] = status
        for attr, value in changes.items():
            setattr(product, attr, value)
        self.modified(product, "put")
        return {}

    # ------------------------------------------------------------ search

    def search_specs(self) -> dict[str, SearchSpec]:
        cols = [
            Col("productId", "IDSET", lambda p: p.id, ref=("productCategoryMembership",)),
            Col("productName", "SEARCH_STRING", lambda p: p.name),
            Col("SKU", "STRING", lambda p: p.sku),
            Col("barcode", "STRING", lambda p: p.barcode),
            Col("EAN", "STRING", lambda p: p.ean),
            Col("UPC", "STRING", lambda p: p.upc),
            Col("ISBN", "STRING", lambda p: p.isbn),
            Col("MPN", "STRING", lambda p: p.mpn),
            Col("stockTracked", "BOOLEAN", lambda p: p.stock_tracked),
            Col("salesChannelName", "STRING", lambda p: "Brightpearl", filterable=False),
            Col("createdOn", "PERIOD", lambda p: p.created_on),
            Col("updatedOn", "PERIOD", lambda p: p.updated_on),
            Col("brightpearlCategoryCode", "IDSET", lambda p: p.category_code, sortable=False),
            Col("productGroupId", "INTEGER", lambda p: None),
            Col("brandId", "IDSET", lambda p: p.brand_id),
            Col("productTypeId", "IDSET", lambda p: p.product_type_id),
            Col("productStatus", "STRING", lambda p: p.status),
            Col("primarySupplierId", "IDSET", lambda p: None),
        ]

        def reference(page: list) -> dict:
            return {"productCategoryMembership": {str(p.id): [p.category_code] for p in page}}

        return {"product": SearchSpec(cols, lambda: list(self.products.values()), reference=reference,
                                      row=self._cached_row, row_json=self._row_bytes)}


def _measure(value: Any, where: str) -> Decimal:
    """A weight or dimension of a product PUT: a number, not negative (the code is illustrative)."""
    measure = as_decimal(value, where, "PRDC-022")
    if measure < 0:
        raise bad("PRDC-022", f"{where} must not be negative")
    return measure


def _search_row(product: Product) -> list:
    return [product.id, product.name, product.sku, product.barcode, product.ean, product.upc, product.isbn,
            product.mpn, product.stock_tracked, "Brightpearl", fmt_dt(product.created_on),
            fmt_dt(product.updated_on), product.category_code, None, product.brand_id, product.product_type_id,
            product.status, None]
