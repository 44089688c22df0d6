"""product-service: products (GET by ID set, POST, search), prices, brands, channels, price lists.

Shapes: product GET as recorded (product_get_one.json: `identity.sku`, `stock.stockTracked`,
`financialDetails.taxCode{id,code}`, `salesChannels[]`), product-search columns as recorded
(product_search.json), brand GET as recorded (brand_get.json: `{id, name}`). Product GETs and
search rows are cached per product as JSON bytes (the hot path of every benchmark); any change
to a product or to the warehouses invalidates its cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bp_nop_dagster.sandbox.brightpearl.backend.common import (
    D0,
    Service,
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
from bp_nop_dagster.sandbox.brightpearl.backend.reference import BRANDS, CHANNELS, PRICE_LISTS, TAX_CODES, find_tax_code
from bp_nop_dagster.sandbox.brightpearl.backend.search import Col, SearchSpec
from bp_nop_dagster.sandbox.instrumentation import json_bytes


@dataclass(slots=True)
class Product:
    id: int
    sku: str
    name: str
    price: Decimal
    tax_code_id: int
    stock_tracked: bool
    created_on: datetime
    updated_on: datetime
    brand_id: int = 1
    product_type_id: int = 1
    category_code: int = 300
    barcode: str = ""
    ean: str | None = None
    upc: str | None = None
    isbn: str | None = None
    mpn: str | None = None
    description: str = ""
    status: str = "LIVE"
    cost: Decimal = D0

    @property
    def version(self) -> int:
        return int(self.updated_on.timestamp() * 1000)


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
            id=product_id, sku=sku, name=name, price=Decimal(str(price)), tax_code_id=tax["id"],
            stock_tracked=stock_tracked, created_on=when, updated_on=when,
        )
        return product_id

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
            "stock": {"stockTracked": product.stock_tracked, "weight": {"magnitude": 0.0},
                      "dimensions": {"length": 0.0, "height": 0.0, "width": 0.0, "volume": 0.0}},
            "financialDetails": {"taxable": tax.get("rate") is not None, "taxCode": {"id": tax["id"], "code": tax["code"]}},
            "salesChannels": [{
                "salesChannelName": "Brightpearl", "productName": product.name, "productCondition": "new",
                "categories": [{"categoryCode": str(product.category_code)}],
                "description": {"languageCode": "en", "text": product.description, "format": "HTML_FRAGMENT"},
                "shortDescription": {"languageCode": "en", "text": "", "format": "HTML_FRAGMENT"},
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

    def api_product_price(self, idset: str) -> dict:
        found = []
        for i in idset_ids(idset, 200):
            product = self.products.get(i)
            if product is None:
                continue
            found.append({"productId": i, "priceLists": [
                {"priceListId": 1, "currencyCode": "GBP", "currencyId": 1,
                 "quantityPrice": {"1": m4(product.cost)} if product.cost else {}},
                {"priceListId": 2, "currencyCode": "GBP", "currencyId": 1, "quantityPrice": {"1": m4(product.price)}},
            ]})
        if not found:
            raise not_found("No Product Prices Found")
        return {"response": found}

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


def _search_row(product: Product) -> list:
    return [product.id, product.name, product.sku, product.barcode, product.ean, product.upc, product.isbn,
            product.mpn, product.stock_tracked, "Brightpearl", fmt_dt(product.created_on),
            fmt_dt(product.updated_on), product.category_code, None, product.brand_id, product.product_type_id,
            product.status, None]
