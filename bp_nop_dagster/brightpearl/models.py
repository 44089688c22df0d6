"""Typed views of what Brightpearl answers (pydantic v2).

Every model ignores keys it does not know (the API adds fields freely and omits null ones), and
requires only the fields the integration relies on. Nested wire shapes the code needs flat
(`identity.sku`, `communication.emails.PRI.email`, `quantity.magnitude`) are read with
`AliasPath`, so `Product.sku` is simply there. Money and quantities arrive as strings in GET
replies ("9.0909", "1.0000") and are parsed to `Decimal`, never to float.

Id-keyed objects on the wire (order `orderRows`, goods-out notes, availability `warehouses`) are
turned into ordinary lists / int-keyed dicts with the id carried on the item.

Shapes follow docs/reference/brightpearl-api.md and the recorded responses in
docs/reference/brightpearl-recordings/ (the contract test parses every one of those this
module models).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "Availability",
    "BrightpearlModel",
    "Channel",
    "Contact",
    "ContactSearchRow",
    "CustomerPayment",
    "GoodsInMovement",
    "GoodsInNote",
    "GoodsMovement",
    "GoodsOutLine",
    "GoodsOutNote",
    "GoodsOutNoteEvent",
    "GoodsOutNoteSearchRow",
    "Journal",
    "JournalLine",
    "JournalSearchRow",
    "Order",
    "OrderInvoice",
    "OrderParties",
    "OrderParty",
    "OrderRow",
    "OrderSearchRow",
    "OrderShippingStatus",
    "OrderStatus",
    "OrderSummary",
    "OrderTotals",
    "PaymentMethod",
    "PostalAddress",
    "PriceList",
    "PriceListPrices",
    "Product",
    "ProductPrices",
    "ProductSearchRow",
    "SalePaymentTotal",
    "SalesCredit",
    "SalesCreditDocument",
    "SalesCreditRow",
    "SalesOrder",
    "SalesOrderRow",
    "ShippingMethod",
    "StockLevels",
    "TaxCode",
    "Warehouse",
]


class BrightpearlModel(BaseModel):
    """Base: camelCase on the wire, snake_case in Python, unknown keys ignored, immutable."""

    model_config = ConfigDict(
        extra="ignore",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        frozen=True,
    )


def _id_keyed(value: Any, what: str) -> dict[int, Any]:
    """`{"12": x}` -> `{12: x}`; an empty list (how some replies spell "none") -> `{}`."""
    if value is None or value == []:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object keyed by id")
    return {int(key): item for key, item in value.items()}


# --- reference data -------------------------------------------------------------------------


class Warehouse(BrightpearlModel):
    id: int
    name: str


class Channel(BrightpearlModel):
    id: int
    name: str
    channel_type_id: int | None = None
    default_warehouse_id: int | None = None
    default_price_list_id: int | None = None


class OrderStatus(BrightpearlModel):
    """A per-account order status (`GET /order-service/order-status`)."""

    id: int = Field(validation_alias=AliasChoices("statusId", "id"))
    name: str
    order_type_code: str | None = None
    disabled: bool | None = None
    visible: bool | None = None
    sort_order: int | None = None
    state: str | None = None


class OrderShippingStatus(BrightpearlModel):
    id: int
    code: str
    description: str | None = None


class TaxCode(BrightpearlModel):
    """Order rows refer to tax codes by `code` ("T", "T1", "Z"), not by id. `rate` is omitted for
    zero-rated codes in the recordings."""

    id: int
    code: str
    description: str | None = None
    rate: Decimal | None = None


class PaymentMethod(BrightpearlModel):
    """`GET /accounting-service/payment-method`. `code` is what customer payments carry
    (`paymentMethodCode`). Two shapes are known and both parse: the documented
    `{name, code, isActive, bankAccounts[{paymentMethodId, ...}], installedIntegrationId}` (no `id`:
    it is read from the bank accounts) and the recorded `{id, name}` (no code)."""

    id: int | None = None
    name: str
    code: str | None = None
    is_active: bool | None = None
    installed_integration_id: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _id_from_bank_accounts(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("id") is None:
            accounts = value.get("bankAccounts") or []
            ids = {a.get("paymentMethodId") for a in accounts if isinstance(a, dict) and a.get("paymentMethodId") is not None}
            if len(ids) == 1:
                return {**value, "id": ids.pop()}
        return value


class ShippingMethod(BrightpearlModel):
    id: int
    name: str
    code: str | None = None


class PriceList(BrightpearlModel):
    id: int
    name: str | None = None
    code: str | None = None
    currency_code: str | None = None
    currency_id: int | None = None
    price_list_type_code: str | None = None
    gross: bool | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name_text(cls, value: Any) -> Any:
        # The real API spells the name as a localised text object {"languageCode","text","format"}.
        if isinstance(value, dict):
            return value.get("text")
        return value


# --- products & stock -----------------------------------------------------------------------


class Product(BrightpearlModel):
    """`GET /product-service/product/{idset}`. SKU is `identity.sku`; the name is the first sales
    channel's `productName`."""

    id: int
    sku: str | None = Field(None, validation_alias=AliasChoices(AliasPath("identity", "sku"), "sku"))
    barcode: str | None = Field(None, validation_alias=AliasChoices(AliasPath("identity", "barcode"), "barcode"))
    name: str | None = Field(None, validation_alias=AliasChoices(AliasPath("salesChannels", 0, "productName"), "name"))
    stock_tracked: bool = Field(validation_alias=AliasChoices(AliasPath("stock", "stockTracked"), "stock_tracked"))
    taxable: bool | None = Field(None, validation_alias=AliasChoices(AliasPath("financialDetails", "taxable"), "taxable"))
    tax_code: str | None = Field(
        None, validation_alias=AliasChoices(AliasPath("financialDetails", "taxCode", "code"), "tax_code")
    )
    tax_code_id: int | None = Field(
        None, validation_alias=AliasChoices(AliasPath("financialDetails", "taxCode", "id"), "tax_code_id")
    )
    is_bundle: bool = Field(False, validation_alias=AliasChoices(AliasPath("composition", "bundle"), "is_bundle"))
    brand_id: int | None = None
    product_type_id: int | None = None
    product_group_id: int | None = None
    status: str | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None
    version: int | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class ProductSearchRow(BrightpearlModel):
    """A `product-search` row (column names as in `metaData.columns`; note upper-case `SKU`)."""

    product_id: int
    product_name: str | None = None
    sku: str | None = Field(None, validation_alias=AliasChoices("SKU", "sku"))
    barcode: str | None = None
    ean: str | None = Field(None, validation_alias=AliasChoices("EAN", "ean"))
    upc: str | None = Field(None, validation_alias=AliasChoices("UPC", "upc"))
    isbn: str | None = Field(None, validation_alias=AliasChoices("ISBN", "isbn"))
    mpn: str | None = Field(None, validation_alias=AliasChoices("MPN", "mpn"))
    stock_tracked: bool | None = None
    sales_channel_name: str | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None
    product_group_id: int | None = None
    brand_id: int | None = None
    product_type_id: int | None = None
    product_status: str | None = None
    primary_supplier_id: int | None = None


class PriceListPrices(BrightpearlModel):
    """One price list's prices of a product: quantity break -> price (`quantityPrice`, strings on
    the wire); empty when the product has no price on the list."""

    price_list_id: int
    currency_code: str | None = None
    currency_id: int | None = None
    sku: str | None = None
    quantity_price: dict[int, Decimal] = Field(default_factory=dict)

    @field_validator("quantity_price", mode="before")
    @classmethod
    def _break_keys(cls, value: Any) -> Any:
        return _id_keyed(value, "quantityPrice")

    @property
    def unit_price(self) -> Decimal | None:
        """The price of one unit (break 1), None when the list has none."""
        return self.quantity_price.get(1)


class ProductPrices(BrightpearlModel):
    """`GET /product-service/product-price/{idset}`: a product's prices per price list."""

    product_id: int
    price_lists: list[PriceListPrices] = Field(default_factory=list)

    def on(self, price_list_id: int) -> PriceListPrices | None:
        return next((p for p in self.price_lists if p.price_list_id == price_list_id), None)


class StockLevels(BrightpearlModel):
    in_stock: int = 0
    on_hand: int = 0
    allocated: int = 0
    in_transit: int = 0


class Availability(BrightpearlModel):
    """One product's stock: `total` and per warehouse id (`GET /warehouse-service/product-availability`)."""

    product_id: int
    total: StockLevels = Field(default_factory=StockLevels)
    warehouses: dict[int, StockLevels] = Field(default_factory=dict)

    @field_validator("warehouses", mode="before")
    @classmethod
    def _warehouse_keys(cls, value: Any) -> Any:
        return _id_keyed(value, "warehouses")


# --- contacts -------------------------------------------------------------------------------


class PostalAddress(BrightpearlModel):
    id: int = Field(validation_alias=AliasChoices("addressId", "id"))
    contact_id: int | None = None
    address_line1: str | None = Field(None, validation_alias=AliasChoices("addressLine1", "address_line1"))
    address_line2: str | None = Field(None, validation_alias=AliasChoices("addressLine2", "address_line2"))
    address_line3: str | None = Field(None, validation_alias=AliasChoices("addressLine3", "address_line3"))
    address_line4: str | None = Field(None, validation_alias=AliasChoices("addressLine4", "address_line4"))
    postal_code: str | None = None
    country_iso_code: str | None = None
    country_iso_code2: str | None = Field(None, validation_alias=AliasChoices("countryIsoCode2", "country_iso_code2"))
    country_id: int | None = None


class Contact(BrightpearlModel):
    """`GET /contact-service/contact/{idset}`. Email is `communication.emails.PRI.email`; the
    address ids are `postAddressIds.{DEF,BIL,DEL}` (fetch them with `postal_addresses`)."""

    id: int = Field(validation_alias=AliasChoices("contactId", "id"))
    salutation: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    primary_email: str | None = Field(
        None, validation_alias=AliasChoices(AliasPath("communication", "emails", "PRI", "email"), "primary_email")
    )
    secondary_email: str | None = Field(
        None, validation_alias=AliasChoices(AliasPath("communication", "emails", "SEC", "email"), "secondary_email")
    )
    telephone: str | None = Field(
        None, validation_alias=AliasChoices(AliasPath("communication", "telephones", "PRI"), "telephone")
    )
    mobile: str | None = Field(None, validation_alias=AliasChoices(AliasPath("communication", "telephones", "MOB"), "mobile"))
    newsletter: bool | None = Field(
        None, validation_alias=AliasChoices(AliasPath("marketingDetails", "isReceiveEmailNewsletter"), "newsletter")
    )
    company_name: str | None = Field(
        None, validation_alias=AliasChoices(AliasPath("organisation", "name"), "company_name")
    )
    postal_address_ids: dict[str, int] = Field(
        default_factory=dict, validation_alias=AliasChoices("postAddressIds", "postal_address_ids")
    )
    is_supplier: bool = Field(
        False, validation_alias=AliasChoices(AliasPath("relationshipToAccount", "isSupplier"), "is_supplier")
    )
    is_staff: bool = Field(False, validation_alias=AliasChoices(AliasPath("relationshipToAccount", "isStaff"), "is_staff"))
    price_list_id: int | None = Field(
        None, validation_alias=AliasChoices(AliasPath("financialDetails", "priceListId"), "price_list_id")
    )
    is_primary_contact: bool | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None

    @property
    def default_address_id(self) -> int | None:
        return self.postal_address_ids.get("DEF")

    @property
    def billing_address_id(self) -> int | None:
        return self.postal_address_ids.get("BIL")

    @property
    def delivery_address_id(self) -> int | None:
        return self.postal_address_ids.get("DEL")

    @property
    def is_customer(self) -> bool:
        """Brightpearl's definition: neither supplier nor staff (`isCustomer` is search-only)."""
        return not (self.is_supplier or self.is_staff)


class ContactSearchRow(BrightpearlModel):
    """A `contact-search` row. `primaryEmail` filtering is fuzzy: compare exactly yourself
    (`BrightpearlClient.find_contacts_by_email` does)."""

    contact_id: int
    primary_email: str | None = None
    secondary_email: str | None = None
    tertiary_email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_supplier: bool | None = None
    company_name: str | None = None
    is_staff: bool | None = None
    is_customer: bool | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None
    is_primary: bool | None = None
    pri: str | None = None
    mob: str | None = None


# --- orders ---------------------------------------------------------------------------------


class OrderParty(BrightpearlModel):
    """A customer / supplier / delivery / billing block of an order (contact id + address copy)."""

    contact_id: int | None = None
    address_full_name: str | None = None
    company_name: str | None = None
    address_line1: str | None = Field(None, validation_alias=AliasChoices("addressLine1", "address_line1"))
    address_line2: str | None = Field(None, validation_alias=AliasChoices("addressLine2", "address_line2"))
    address_line3: str | None = Field(None, validation_alias=AliasChoices("addressLine3", "address_line3"))
    address_line4: str | None = Field(None, validation_alias=AliasChoices("addressLine4", "address_line4"))
    postal_code: str | None = None
    country: str | None = None
    country_id: int | None = None
    country_iso_code: str | None = None
    country_iso_code3: str | None = Field(None, validation_alias=AliasChoices("countryIsoCode3", "country_iso_code3"))
    telephone: str | None = None
    mobile_telephone: str | None = None
    email: str | None = None


class OrderParties(BrightpearlModel):
    customer: OrderParty | None = None
    supplier: OrderParty | None = None
    delivery: OrderParty | None = None
    billing: OrderParty | None = None


class OrderRow(BrightpearlModel):
    """One row of `orderRows` (the wire keys rows by row-id string; the id is put on the row)."""

    id: int
    sequence: int | None = Field(None, validation_alias=AliasChoices("orderRowSequence", "sequence"))
    product_id: int | None = None
    product_name: str | None = None
    product_sku: str | None = None
    quantity: Decimal = Field(validation_alias=AliasChoices(AliasPath("quantity", "magnitude"), "quantity"))
    item_cost: Decimal | None = Field(None, validation_alias=AliasChoices(AliasPath("itemCost", "value"), "item_cost"))
    product_price: Decimal | None = Field(
        None, validation_alias=AliasChoices(AliasPath("productPrice", "value"), "product_price")
    )
    discount_percentage: Decimal | None = None
    tax_code: str | None = Field(None, validation_alias=AliasChoices(AliasPath("rowValue", "taxCode"), "tax_code"))
    tax_rate: Decimal | None = Field(None, validation_alias=AliasChoices(AliasPath("rowValue", "taxRate"), "tax_rate"))
    row_net: Decimal = Field(validation_alias=AliasChoices(AliasPath("rowValue", "rowNet", "value"), "row_net"))
    row_tax: Decimal = Field(validation_alias=AliasChoices(AliasPath("rowValue", "rowTax", "value"), "row_tax"))
    currency_code: str | None = Field(
        None, validation_alias=AliasChoices(AliasPath("rowValue", "rowNet", "currencyCode"), "currency_code")
    )
    nominal_code: str | None = None
    bundle_parent: bool = Field(
        False, validation_alias=AliasChoices(AliasPath("composition", "bundleParent"), "bundle_parent")
    )
    bundle_child: bool = Field(False, validation_alias=AliasChoices(AliasPath("composition", "bundleChild"), "bundle_child"))
    parent_order_row_id: int | None = Field(
        None, validation_alias=AliasChoices(AliasPath("composition", "parentOrderRowId"), "parent_order_row_id")
    )
    external_ref: str | None = None


class OrderInvoice(BrightpearlModel):
    invoice_reference: str | None = None
    tax_date: datetime | None = None
    due_date: datetime | None = None


class OrderTotals(BrightpearlModel):
    net: Decimal
    tax_amount: Decimal
    total: Decimal
    base_net: Decimal | None = None
    base_tax_amount: Decimal | None = None
    base_total: Decimal | None = None


class Order(BrightpearlModel):
    """`GET /order-service/order/{idset}` (the low-level order shape, any order type)."""

    id: int
    order_type_code: str
    parent_order_id: int | None = None
    reference: str | None = None
    external_ref: str | None = None
    installed_integration_instance_id: int | None = None
    version: int | None = None
    status_id: int = Field(validation_alias=AliasChoices(AliasPath("orderStatus", "orderStatusId"), "status_id"))
    status_name: str | None = Field(None, validation_alias=AliasChoices(AliasPath("orderStatus", "name"), "status_name"))
    order_payment_status: str | None = None
    stock_status_code: str | None = None
    allocation_status_code: str | None = None
    shipping_status_code: str | None = None
    placed_on: datetime | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None
    closed_on: datetime | None = None
    created_by_id: int | None = None
    price_list_id: int | None = None
    price_mode_code: str | None = None
    delivery_date: datetime | None = Field(
        None, validation_alias=AliasChoices(AliasPath("delivery", "deliveryDate"), "delivery_date")
    )
    shipping_method_id: int | None = Field(
        None, validation_alias=AliasChoices(AliasPath("delivery", "shippingMethodId"), "shipping_method_id")
    )
    currency_code: str | None = Field(
        None, validation_alias=AliasChoices(AliasPath("currency", "orderCurrencyCode"), "currency_code")
    )
    accounting_currency_code: str | None = Field(
        None, validation_alias=AliasChoices(AliasPath("currency", "accountingCurrencyCode"), "accounting_currency_code")
    )
    exchange_rate: Decimal | None = Field(
        None, validation_alias=AliasChoices(AliasPath("currency", "exchangeRate"), "exchange_rate")
    )
    totals: OrderTotals | None = Field(None, validation_alias=AliasChoices("totalValue", "totals"))
    channel_id: int | None = Field(
        None, validation_alias=AliasChoices(AliasPath("assignment", "current", "channelId"), "channel_id")
    )
    staff_owner_contact_id: int | None = Field(
        None,
        validation_alias=AliasChoices(AliasPath("assignment", "current", "staffOwnerContactId"), "staff_owner_contact_id"),
    )
    parties: OrderParties = Field(default_factory=OrderParties)
    invoices: list[OrderInvoice] = Field(default_factory=list)
    rows: list[OrderRow] = Field(default_factory=list, validation_alias=AliasChoices("orderRows", "rows"))
    warehouse_id: int | None = None
    historical_order: bool | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)

    @field_validator("rows", mode="before")
    @classmethod
    def _rows_from_id_keyed(cls, value: Any) -> Any:
        if isinstance(value, dict):
            rows = [{**row, "id": row_id} for row_id, row in _id_keyed(value, "orderRows").items()]
            return sorted(rows, key=lambda row: (int(row.get("orderRowSequence") or 0), row["id"]))
        return value

    @property
    def customer_contact_id(self) -> int | None:
        return self.parties.customer.contact_id if self.parties.customer else None

    @property
    def invoice_reference(self) -> str | None:
        """The invoice (or, for a closed credit, credit) reference, None until invoiced."""
        return next((i.invoice_reference for i in self.invoices if i.invoice_reference), None)

    def row(self, row_id: int) -> OrderRow:
        for row in self.rows:
            if row.id == row_id:
                return row
        raise KeyError(row_id)


class SalesCredit(Order):
    """A sales credit: an `Order` whose `orderTypeCode` is SC (its parent is the sales order)."""

    @model_validator(mode="after")
    def _is_sales_credit(self) -> SalesCredit:
        if self.order_type_code != "SC":
            raise ValueError(f"order {self.id} is a {self.order_type_code}, not a sales credit (SC)")
        return self


class SalesCreditRow(BrightpearlModel):
    """A row of the sales-credit shape: `net` and `tax` are row totals; a free-text row has a name
    and no product."""

    id: int
    product_id: int | None = None
    name: str | None = None
    sku: str | None = None
    quantity: Decimal = Decimal("0")
    tax_code: str | None = None
    net: Decimal = Decimal("0")
    tax: Decimal = Decimal("0")
    nominal_code: str | None = None
    external_ref: str | None = None


class SalesCreditDocument(BrightpearlModel):
    """`GET /order-service/sales-credit/{idset}` (api-docs order/sales-credit/get.html): the POST's
    fields plus the read-only `createdOn`, `updatedOn`, `total`, `orderPaymentStatus`, ... and rows
    with ids."""

    id: int
    customer_id: int | None = Field(
        None, validation_alias=AliasChoices(AliasPath("customer", "id"), "customerId", "customer_id")
    )
    parent_id: int | None = None
    ref: str | None = None
    external_ref: str | None = None
    installed_integration_instance_id: int | None = None
    status_id: int | None = None
    warehouse_id: int | None = None
    channel_id: int | None = None
    currency_code: str | None = Field(None, validation_alias=AliasChoices(AliasPath("currency", "code"), "currency_code"))
    total_net: Decimal | None = Field(None, validation_alias=AliasChoices(AliasPath("total", "net"), "total_net"))
    total_tax: Decimal | None = Field(None, validation_alias=AliasChoices(AliasPath("total", "tax"), "total_tax"))
    total_gross: Decimal | None = Field(None, validation_alias=AliasChoices(AliasPath("total", "gross"), "total_gross"))
    order_payment_status: str | None = None
    is_canceled: bool | None = None
    placed_on: datetime | None = None
    tax_date: datetime | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None
    rows: list[SalesCreditRow] = Field(default_factory=list)


class OrderSearchRow(BrightpearlModel):
    """An `order-search` row. The order reference column is `customerRef` (there is no `reference`)."""

    order_id: int
    order_type_id: int | None = None
    contact_id: int | None = None
    order_status_id: int | None = None
    order_stock_status_id: int | None = None
    created_on: datetime | None = None
    created_by_id: int | None = None
    customer_ref: str | None = None
    order_payment_status_id: int | None = None
    updated_on: datetime | None = None
    parent_order_id: int | None = None
    order_shipping_status_id: int | None = None
    external_ref: str | None = None
    installed_integration_instance_id: int | None = None
    warehouse_id: int | None = None
    staff_owner_contact_id: int | None = None
    tax_date: datetime | None = None
    department_id: int | None = None
    delivery_date: datetime | None = None


class SalesOrderRow(BrightpearlModel):
    """A row of the sales-order shape (`GET /order-service/sales-order/{idset}` `rows`): the
    fulfilment flow matches goods-out lines to nopCommerce order items by its `externalRef` (the
    order flow writes the nop order item id there) or its SKU."""

    id: int
    product_id: int | None = None
    sku: str | None = None
    name: str | None = None
    quantity: Decimal = Decimal("0")
    net: Decimal | None = None
    tax: Decimal | None = None
    tax_code: str | None = None
    nominal_code: str | None = None
    external_ref: str | None = None


class OrderSummary(BrightpearlModel):
    """What the sync engine and the reconciliation need of an existing order, read in ID sets.

    Parsed from the `GET /order-service/sales-order/{idset}` shape (`statusId`, `total.gross`,
    `externalRef`) and, for the same fields, from the low-level `GET /order-service/order/{idset}`
    shape (`orderStatus.orderStatusId`, `totalValue.total`; that shape has no `externalRef`)."""

    id: int = Field(validation_alias=AliasChoices("id", "orderId", "salesOrderId"))
    status_id: int = Field(
        validation_alias=AliasChoices("statusId", AliasPath("orderStatus", "orderStatusId"), "status_id")
    )
    payment_status: str | None = Field(None, validation_alias=AliasChoices("orderPaymentStatus", "payment_status"))
    shipping_status_code: str | None = Field(
        None, validation_alias=AliasChoices("shippingStatusCode", "shipping_status_code")
    )
    total: Decimal | None = Field(
        None, validation_alias=AliasChoices(AliasPath("total", "gross"), AliasPath("totalValue", "total"), "total")
    )
    external_ref: str | None = Field(None, validation_alias=AliasChoices("externalRef", "external_ref"))
    installed_integration_instance_id: int | None = Field(
        None, validation_alias=AliasChoices("installedIntegrationInstanceId", "installed_integration_instance_id")
    )
    rows: list[SalesOrderRow] = Field(default_factory=list)  # sales-order shape only

    @property
    def order_id(self) -> int:
        return self.id


class SalesOrder(OrderSummary):
    """A whole `GET /order-service/sales-order/{idset}` item: the POST fields plus createdOn,
    updatedOn, total, orderPaymentStatus, shippingStatusCode (Sales Order GET doc, notes section 5)."""

    ref: str | None = None
    customer_id: int | None = Field(None, validation_alias=AliasChoices(AliasPath("customer", "id"), "customerId", "customer_id"))
    placed_on: datetime | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None
    channel_id: int | None = None
    warehouse_id: int | None = None
    currency_code: str | None = Field(None, validation_alias=AliasChoices(AliasPath("currency", "code"), "currency_code"))
    net: Decimal | None = Field(None, validation_alias=AliasChoices(AliasPath("total", "net"), "net"))
    tax: Decimal | None = Field(None, validation_alias=AliasChoices(AliasPath("total", "tax"), "tax"))


# --- fulfilment -----------------------------------------------------------------------------


class GoodsOutLine(BrightpearlModel):
    product_id: int
    quantity: int
    location_id: int | None = None


class GoodsOutNoteEvent(BrightpearlModel):
    event_code: str
    occurred: datetime | None = Field(None, validation_alias=AliasChoices("occured", "occurred"))  # sic on the wire
    event_owner_id: int | None = None


class GoodsOutNote(BrightpearlModel):
    """A goods-out note. The wire is a map note id -> note, and `orderRows` maps the *sales-order
    row id* to a list of lines; both become int-keyed here and the note id is put on the note."""

    id: int
    order_id: int
    warehouse_id: int
    transfer: bool = False
    target_warehouse_id: int | None = None
    priority: bool = False
    shipped: bool = Field(False, validation_alias=AliasChoices(AliasPath("status", "shipped"), "shipped"))
    shipped_on: datetime | None = Field(None, validation_alias=AliasChoices(AliasPath("status", "shippedOn"), "shipped_on"))
    packed: bool = Field(False, validation_alias=AliasChoices(AliasPath("status", "packed"), "packed"))
    picked: bool = Field(False, validation_alias=AliasChoices(AliasPath("status", "picked"), "picked"))
    printed: bool = Field(False, validation_alias=AliasChoices(AliasPath("status", "printed"), "printed"))
    shipping_reference: str | None = Field(
        None, validation_alias=AliasChoices(AliasPath("shipping", "reference"), "shipping_reference")
    )
    shipping_method_id: int | None = Field(
        None, validation_alias=AliasChoices(AliasPath("shipping", "shippingMethodId"), "shipping_method_id")
    )
    release_date: datetime | None = None
    created_on: datetime | None = None
    created_by: int | None = None
    rows: dict[int, list[GoodsOutLine]] = Field(default_factory=dict, validation_alias=AliasChoices("orderRows", "rows"))
    sequence: int | None = None
    events: list[GoodsOutNoteEvent] = Field(default_factory=list)
    last_event_version: int | None = None

    @field_validator("rows", mode="before")
    @classmethod
    def _rows_keys(cls, value: Any) -> Any:
        return _id_keyed(value, "orderRows")


class GoodsInMovement(BrightpearlModel):
    """A line of a goods-in note. `purchase_order_row_id` is the row of the purchase order, or of
    the sales credit whose goods came back (api-docs warehouse/goods-in-note/get.html)."""

    product_id: int
    purchase_order_row_id: int | None = None
    quantity: int
    warehouse_id: int | None = None
    destination_location_id: int | None = None
    goods_note_id: int | None = None
    batch_goods_note_id: int | None = None
    currency: str | None = Field(None, validation_alias=AliasChoices(AliasPath("productValue", "currency"), "currency"))
    value: Decimal | None = Field(None, validation_alias=AliasChoices(AliasPath("productValue", "value"), "value"))


class GoodsInNote(BrightpearlModel):
    """A goods-in note (the wire is a map note id -> note; the id is also `goodsNoteId`)."""

    id: int = Field(validation_alias=AliasChoices("goodsNoteId", "id"))
    order_id: int
    transfer: bool = False
    goods_note_status: str | None = None
    user_batch_reference: str | None = None
    received_on: datetime | None = None
    created_by: int | None = None
    goods_moved: list[GoodsInMovement] = Field(default_factory=list)


class GoodsOutNoteSearchRow(BrightpearlModel):
    """A `goods-note/goods-out-search` row (documented columns: api-docs warehouse/goods-out-note/search.html)."""

    goods_out_note_id: int
    order_id: int
    shipped: bool | None = None
    shipped_on: datetime | None = None
    created_on: datetime | None = None


class GoodsMovement(BrightpearlModel):
    """A `goods-movement-search` row (columns as documented: api-docs warehouse/goods-movement/search.html,
    plus `updatedOn`)."""

    goods_movement_id: int
    product_id: int
    quantity: Decimal
    sales_order_row_id: int | None = None
    purchase_order_row_id: int | None = None
    warehouse_id: int | None = None
    destination_location_id: int | None = None
    goods_note_id: int | None = None
    product_value: Decimal | None = None
    currency_code: str | None = None
    order_id: int | None = None
    is_cleared: bool | None = None
    is_quarantine: bool | None = None
    batch_id: int | None = None
    goods_note_type_code: str | None = None
    updated_on: datetime | None = None


# --- payments -------------------------------------------------------------------------------


class SalePaymentTotal(BrightpearlModel):
    """`GET /accounting-service/sale-payment-total/{ids}`: amountPaid = RECEIPT + CAPTURE - PAYMENT
    (negative for a refunded credit), amountAuthorized = AUTH - VOID, amountCaptured = CAPTURE;
    no paymentCurrency when the order has no payments."""

    order_id: int
    payment_currency: str | None = None
    amount_paid: Decimal = Decimal("0")
    amount_authorized: Decimal = Decimal("0")
    amount_captured: Decimal = Decimal("0")


class CustomerPayment(BrightpearlModel):
    """A `customer-payment-search` row. Amounts are strings on the wire -> Decimal."""

    payment_id: int
    transaction_ref: str | None = None
    transaction_code: str | None = None
    payment_method_code: str | None = None
    payment_type: str
    order_id: int | None = None
    currency_id: int | None = None
    currency_code: str | None = None
    amount_authorized: Decimal | None = None
    amount_paid: Decimal | None = None
    expires: datetime | None = None
    payment_date: datetime | None = None
    created_on: datetime | None = None
    journal_id: int | None = None


# --- journals -------------------------------------------------------------------------------


class JournalSearchRow(BrightpearlModel):
    """A `journal-search` row: one line of a journal (Journal Search doc, columns as listed there).
    `journal_*` amounts are in the base currency, `transaction_*` in the journal's own."""

    journal_id: int
    journal_type: str | None = None
    order_id: int | None = None
    invoice_reference: str | None = None
    channel_id: int | None = None
    nominal_code: str | None = None
    journal_date: datetime | None = None
    journal_debit: Decimal | None = None
    journal_credit: Decimal | None = None
    journal_ref: str | None = None
    currency_id: int | None = None
    exchange_rate: Decimal | None = None
    transaction_debit: Decimal | None = None
    transaction_credit: Decimal | None = None

    @field_validator("journal_ref", mode="before")
    @classmethod
    def _ref_as_text(cls, value: Any) -> Any:
        # documented as INTEGER, but it also carries a non-numeric orderId (the doc's own words)
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class JournalLine(BrightpearlModel):
    """One credit or debit of a journal GET (`change.value` in the journal's currency)."""

    nominal_code: str
    value: Decimal = Field(validation_alias=AliasChoices(AliasPath("change", "value"), "value"))
    order_id: int | None = None
    tax_code: str | None = None
    transaction_amount: Decimal | None = None


class Journal(BrightpearlModel):
    """`GET /accounting-service/journal/{idset}` item (Journal GET doc example)."""

    id: int
    contact_id: int | None = None
    journal_type_code: str
    tax_date: datetime | None = None
    created_on: datetime | None = None
    credits: list[JournalLine] = Field(default_factory=list)
    debits: list[JournalLine] = Field(default_factory=list)
    currency_id: int | None = None
    exchange_rate: Decimal | None = None
