"""Typed views of the nopCommerce Web API Backend's DTOs (reference notes §2, §3, §5, §7).

The wire format is snake_case JSON (Newtonsoft `SnakeCaseNamingStrategy`), statuses are integer
`*_id` fields, money is a JSON number with the database scale (`105.0000`) and every `*_utc`
value is UTC serialized **without** `Z` (`"2018-04-04T09:33:39.303"`). The models here:

- ignore fields they do not name (`extra="ignore"`), so a newer plugin version does not break reads;
- turn every datetime into an *aware* UTC `datetime` (naive values are UTC by contract; the C#
  `DateTime.MinValue` `0001-01-01T00:00:00` of an optional field means "not set" and becomes None);
- keep money as `Decimal`;
- keep status ints as sent (`order_status_id`, ...) and offer the enums of §3 as properties
  (`order.order_status`), which are None for a value the enum does not know;
- never hold card data: `card_number`, `card_cvv2`, `card_name`, `card_type` and the expiry are
  not modelled, so they are dropped on parse even when a server sends them. Only
  `masked_credit_card_number` is kept, and it is re-masked if it ever carries more than 4 digits.

These are read models. The API's `Update` endpoints are full replaces of the whole DTO (notes
§7.2), so a write must GET the raw JSON, change it and PUT all of it back, not send a model
dumped from here (it lacks the fields it ignores): the client's update methods do exactly that.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

# ---------------------------------------------------------------------------------------------
# enumerations (notes §3)


class OrderStatus(IntEnum):
    PENDING = 10
    PROCESSING = 20
    COMPLETE = 30
    CANCELLED = 40


class PaymentStatus(IntEnum):
    PENDING = 10
    AUTHORIZED = 20
    PAID = 30
    PARTIALLY_REFUNDED = 35
    REFUNDED = 40
    VOIDED = 50


class ShippingStatus(IntEnum):
    SHIPPING_NOT_REQUIRED = 10
    NOT_YET_SHIPPED = 20
    PARTIALLY_SHIPPED = 25
    SHIPPED = 30
    DELIVERED = 40


class ReturnRequestStatus(IntEnum):
    PENDING = 0
    RECEIVED = 10
    RETURN_AUTHORIZED = 20
    ITEMS_REPAIRED = 30
    ITEMS_REFUNDED = 40
    REQUEST_REJECTED = 50
    CANCELLED = 60


class ManageInventoryMethod(IntEnum):
    DONT_MANAGE_STOCK = 0
    MANAGE_STOCK = 1
    MANAGE_STOCK_BY_ATTRIBUTES = 2


class BackorderMode(IntEnum):
    NO_BACKORDERS = 0
    ALLOW_QTY_BELOW_0 = 1
    ALLOW_QTY_BELOW_0_AND_NOTIFY_CUSTOMER = 2


class LowStockActivity(IntEnum):
    NOTHING = 0
    DISABLE_BUY_BUTTON = 1
    UNPUBLISH = 2


class ProductType(IntEnum):
    SIMPLE_PRODUCT = 5
    GROUPED_PRODUCT = 10


class TaxDisplayType(IntEnum):
    INCLUDING_TAX = 0
    EXCLUDING_TAX = 10


E = TypeVar("E", bound=IntEnum)


def _enum_or_none(enum: type[E], value: int | None) -> E | None:
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# field types


def _utc(value: Any) -> Any:
    """Naive datetimes (and ISO strings without an offset) are UTC; aware ones are converted."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        value = _parse_iso(text)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    return value


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _parse_iso(text: str) -> datetime | str:
    # .NET writes up to 7 fractional digits; Python takes at most 6.
    try:
        return datetime.fromisoformat(_FRACTION.sub(r"\1", text))
    except ValueError:
        return text  # let pydantic report it


def _utc_or_none(value: Any) -> Any:
    """As `_utc`, but C#'s `DateTime.MinValue` (a non-nullable field left unset) means None."""
    if value is None or value == "":
        return None
    value = _utc(value)
    if isinstance(value, datetime) and value.year == 1:
        return None
    return value


def parse_utc(value: Any) -> datetime | None:
    """A `*_utc` value as the API sends it, as an aware UTC datetime (None for null or C#'s
    DateTime.MinValue); ValueError when it is no date."""
    parsed = _utc_or_none(value)
    if parsed is not None and not isinstance(parsed, datetime):
        raise ValueError(f"not a date: {value!r}")
    return parsed


UtcDatetime = Annotated[datetime, BeforeValidator(_utc)]
OptionalUtcDatetime = Annotated[datetime | None, BeforeValidator(_utc_or_none)]


def parse_tax_rates(value: Any) -> dict[Decimal, Decimal]:
    """nopCommerce's `Order.TaxRates`: `"rate:amount;"` pairs, invariant culture, as written by
    OrderProcessingService (`"20:3.3333;5:0.5;"`, or `"5:0.50;   20:3.33;   "` with the three
    spaces nop puts after each `;`). Empty or None → {}. A malformed pair raises ValueError:
    tax must never be silently dropped."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {Decimal(str(k)): Decimal(str(v)) for k, v in value.items()}
    if not isinstance(value, str):
        raise ValueError(f"tax_rates must be a string, not {type(value).__name__}")
    rates: dict[Decimal, Decimal] = {}
    for part in value.split(";"):
        part = part.strip()
        if not part:
            continue
        rate_text, sep, amount_text = part.partition(":")
        if not sep:
            raise ValueError(f"tax_rates entry {part!r} is not 'rate:amount'")
        try:
            rate, amount = Decimal(rate_text.strip()), Decimal(amount_text.strip())
        except InvalidOperation:
            raise ValueError(f"tax_rates entry {part!r} is not 'rate:amount'") from None
        if not rate.is_finite() or not amount.is_finite():
            raise ValueError(f"tax_rates entry {part!r} is not finite")
        rates[rate] = rates.get(rate, Decimal("0")) + amount
    return rates


TaxRates = Annotated[dict[Decimal, Decimal], BeforeValidator(parse_tax_rates)]


def _mask_card(value: Any) -> Any:
    """Keep at most the last 4 digits of a 'masked' card number, whatever the server sent."""
    if not isinstance(value, str):
        return value
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    if len(digits) <= 4:
        return value
    keep = set(digits[-4:])
    return "".join("*" if ch.isdigit() and i not in keep else ch for i, ch in enumerate(value))


# ---------------------------------------------------------------------------------------------
# base


class NopModel(BaseModel):
    """Base of every nopCommerce DTO: unknown fields ignored, ids always present."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


T = TypeVar("T", bound=BaseModel)


class PagedList(BaseModel, Generic[T]):
    """`PagedListDto` (notes §1a): 0-based `page_index`; `has_next_page = page_index+1 < total_pages`."""

    model_config = ConfigDict(extra="ignore")

    page_index: int = 0
    page_size: int = 0
    total_count: int = 0
    total_pages: int = 0
    has_previous_page: bool = False
    has_next_page: bool = False
    items: list[T] = Field(default_factory=list)


class TokenResponse(NopModel):
    """`AuthenticateResponse` of `Authenticate/GetToken`; the token is a SecretStr (hidden in repr)."""

    username: str | None = None
    customer_id: int | None = None
    customer_guid: str | None = None
    token: SecretStr


# ---------------------------------------------------------------------------------------------
# orders


class Order(NopModel):
    """`OrderDto`: flat, with no items, addresses or customer (notes §7.7). No `updated_on_utc` exists."""

    id: int
    order_guid: str | None = None
    store_id: int = 0
    customer_id: int
    billing_address_id: int | None = None
    shipping_address_id: int | None = None
    pickup_address_id: int | None = None
    pickup_in_store: bool = False
    order_status_id: int
    shipping_status_id: int
    payment_status_id: int
    payment_method_system_name: str | None = None
    customer_currency_code: str | None = None
    currency_rate: Decimal = Decimal("1")
    customer_tax_display_type_id: int = 0
    vat_number: str | None = None
    order_subtotal_incl_tax: Decimal = Decimal("0")
    order_subtotal_excl_tax: Decimal = Decimal("0")
    order_sub_total_discount_incl_tax: Decimal = Decimal("0")
    order_sub_total_discount_excl_tax: Decimal = Decimal("0")
    order_shipping_incl_tax: Decimal = Decimal("0")
    order_shipping_excl_tax: Decimal = Decimal("0")
    payment_method_additional_fee_incl_tax: Decimal = Decimal("0")
    payment_method_additional_fee_excl_tax: Decimal = Decimal("0")
    tax_rates: TaxRates = Field(default_factory=dict)
    order_tax: Decimal = Decimal("0")
    order_discount: Decimal = Decimal("0")
    order_total: Decimal
    refunded_amount: Decimal = Decimal("0")
    reward_points_history_entry_id: int | None = None
    redeemed_reward_points_entry_id: int | None = None
    checkout_attribute_description: str | None = None
    customer_language_id: int = 0
    affiliate_id: int = 0
    customer_ip: str | None = None
    masked_credit_card_number: Annotated[str | None, BeforeValidator(_mask_card)] = None
    authorization_transaction_id: str | None = None
    authorization_transaction_code: str | None = None
    authorization_transaction_result: str | None = None
    capture_transaction_id: str | None = None
    capture_transaction_result: str | None = None
    subscription_transaction_id: str | None = None
    paid_date_utc: OptionalUtcDatetime = None
    shipping_method: str | None = None
    shipping_rate_computation_method_system_name: str | None = None
    deleted: bool = False
    created_on_utc: UtcDatetime
    custom_order_number: str | None = None

    @field_validator("custom_order_number", mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def order_status(self) -> OrderStatus | None:
        return _enum_or_none(OrderStatus, self.order_status_id)

    @property
    def payment_status(self) -> PaymentStatus | None:
        return _enum_or_none(PaymentStatus, self.payment_status_id)

    @property
    def shipping_status(self) -> ShippingStatus | None:
        return _enum_or_none(ShippingStatus, self.shipping_status_id)

    @property
    def customer_tax_display_type(self) -> TaxDisplayType | None:
        return _enum_or_none(TaxDisplayType, self.customer_tax_display_type_id)

    @property
    def address_ids(self) -> tuple[int, ...]:
        """Billing and shipping address ids (distinct, set ones only)."""
        ids = [i for i in (self.billing_address_id, self.shipping_address_id) if i]
        return tuple(dict.fromkeys(ids))


class OrderItem(NopModel):
    """`OrderItemDto`. `price_*` are line totals; `unit_price_*` per unit."""

    id: int
    order_item_guid: str | None = None
    order_id: int
    product_id: int
    quantity: int
    unit_price_incl_tax: Decimal = Decimal("0")
    unit_price_excl_tax: Decimal = Decimal("0")
    price_incl_tax: Decimal = Decimal("0")
    price_excl_tax: Decimal = Decimal("0")
    discount_amount_incl_tax: Decimal = Decimal("0")
    discount_amount_excl_tax: Decimal = Decimal("0")
    original_product_cost: Decimal = Decimal("0")
    attribute_description: str | None = None
    attributes_xml: str | None = None
    download_count: int = 0
    is_download_activated: bool = False
    license_download_id: int | None = None
    item_weight: Decimal | None = None
    rental_start_date_utc: OptionalUtcDatetime = None
    rental_end_date_utc: OptionalUtcDatetime = None


class Address(NopModel):
    id: int
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    company: str | None = None
    country_id: int | None = None
    state_province_id: int | None = None
    county: str | None = None
    city: str | None = None
    address1: str | None = None
    address2: str | None = None
    zip_postal_code: str | None = None
    phone_number: str | None = None
    fax_number: str | None = None
    custom_attributes: str | None = None
    created_on_utc: OptionalUtcDatetime = None


class OrderRef(NopModel):
    """The least of an `OrderDto` that finding work needs (id, created time, status, deleted),
    so one order whose other fields do not parse (a malformed `tax_rates`) never stops a sensor
    or a sweep: it is handed on by id and the sync parks it."""

    id: int
    created_on_utc: OptionalUtcDatetime = None
    order_status_id: int | None = None
    deleted: bool = False


class OrderLookup(BaseModel):
    """Orders asked for by id: the live ones (`found`, in the order asked), for each id with no
    live order why not (`absent`), and the ones nopCommerce returned but our model rejects
    (`malformed`: order id -> the validation problem)."""

    model_config = ConfigDict(frozen=True)

    found: dict[int, Order]
    absent: dict[int, str]
    malformed: dict[int, str] = {}


class OrderDetails(BaseModel):
    """An order with what the flat OrderDto leaves out: its items and addresses."""

    model_config = ConfigDict(frozen=True)

    order: Order
    items: list[OrderItem]
    billing_address: Address | None = None
    shipping_address: Address | None = None


# ---------------------------------------------------------------------------------------------
# customers


class Customer(NopModel):
    """`CustomerDto` (4.60+: names are columns). Guests often have a null email (notes §7.6)."""

    id: int
    customer_guid: str | None = None
    username: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    gender: str | None = None
    date_of_birth: OptionalUtcDatetime = None
    company: str | None = None
    street_address: str | None = None
    street_address2: str | None = None
    zip_postal_code: str | None = None
    city: str | None = None
    county: str | None = None
    country_id: int | None = None
    state_province_id: int | None = None
    phone: str | None = None
    fax: str | None = None
    vat_number: str | None = None
    currency_id: int | None = None
    language_id: int | None = None
    is_tax_exempt: bool = False
    affiliate_id: int = 0
    vendor_id: int = 0
    active: bool = True
    deleted: bool = False
    is_system_account: bool = False
    system_name: str | None = None
    created_on_utc: OptionalUtcDatetime = None
    last_login_date_utc: OptionalUtcDatetime = None
    last_activity_date_utc: OptionalUtcDatetime = None
    registered_in_store_id: int = 0
    billing_address_id: int | None = None
    shipping_address_id: int | None = None


# ---------------------------------------------------------------------------------------------
# catalogue and stock


class Product(NopModel):
    """The part of `ProductDto` (about 100 fields) an integration uses. Where stock lives
    depends on `manage_inventory_method_id` (notes §7.3)."""

    id: int
    product_type_id: int = int(ProductType.SIMPLE_PRODUCT)
    parent_grouped_product_id: int = 0
    visible_individually: bool = True
    name: str | None = None
    short_description: str | None = None
    sku: str | None = None
    manufacturer_part_number: str | None = None
    gtin: str | None = None
    vendor_id: int = 0
    is_gift_card: bool = False
    is_download: bool = False
    is_recurring: bool = False
    is_rental: bool = False
    is_ship_enabled: bool = True
    is_tax_exempt: bool = False
    tax_category_id: int = 0
    manage_inventory_method_id: int = 0
    use_multiple_warehouses: bool = False
    warehouse_id: int = 0
    stock_quantity: int = 0
    min_stock_quantity: int = 0
    low_stock_activity_id: int = 0
    backorder_mode_id: int = 0
    order_minimum_quantity: int = 1
    order_maximum_quantity: int = 10000
    allow_adding_only_existing_attribute_combinations: bool = False
    not_returnable: bool = False
    disable_buy_button: bool = False
    price: Decimal = Decimal("0")
    old_price: Decimal = Decimal("0")
    product_cost: Decimal = Decimal("0")
    weight: Decimal = Decimal("0")
    length: Decimal = Decimal("0")
    width: Decimal = Decimal("0")
    height: Decimal = Decimal("0")
    limited_to_stores: bool = False
    published: bool = True
    deleted: bool = False
    display_order: int = 0
    created_on_utc: OptionalUtcDatetime = None
    updated_on_utc: OptionalUtcDatetime = None

    @property
    def manage_inventory_method(self) -> ManageInventoryMethod | None:
        return _enum_or_none(ManageInventoryMethod, self.manage_inventory_method_id)

    @property
    def backorder_mode(self) -> BackorderMode | None:
        return _enum_or_none(BackorderMode, self.backorder_mode_id)

    @property
    def low_stock_activity(self) -> LowStockActivity | None:
        return _enum_or_none(LowStockActivity, self.low_stock_activity_id)

    @property
    def product_type(self) -> ProductType | None:
        return _enum_or_none(ProductType, self.product_type_id)


class Warehouse(NopModel):
    """`WarehouseDto` (id and name: what the mapping names)."""

    id: int
    name: str | None = None


class ProductWarehouseInventory(NopModel):
    id: int
    product_id: int
    warehouse_id: int
    stock_quantity: int = 0
    reserved_quantity: int = 0

    @property
    def available_quantity(self) -> int:
        """Stock minus reserved: what GetTotalStockQuantity(useReservedQuantity=true) sums."""
        return self.stock_quantity - self.reserved_quantity


class ProductAttributeCombination(NopModel):
    id: int
    product_id: int
    attributes_xml: str | None = None
    stock_quantity: int = 0
    allow_out_of_stock_orders: bool = False
    sku: str | None = None
    manufacturer_part_number: str | None = None
    gtin: str | None = None
    overridden_price: Decimal | None = None
    notify_admin_for_quantity_below: int = 0
    min_stock_quantity: int = 0


# ---------------------------------------------------------------------------------------------
# shipping, returns, lookups


class Shipment(NopModel):
    """`ShipmentDto`. `Shipment/Create` stamps no date, so a shipment made by a client that sent
    none is dated 0001-01-01: `created_on_utc` is None then."""

    id: int
    order_id: int
    tracking_number: str | None = None
    total_weight: Decimal | None = None
    shipped_date_utc: OptionalUtcDatetime = None
    delivery_date_utc: OptionalUtcDatetime = None
    ready_for_pickup_date_utc: OptionalUtcDatetime = None
    admin_comment: str | None = None
    created_on_utc: OptionalUtcDatetime = None


class ShipmentItem(NopModel):
    id: int
    shipment_id: int
    order_item_id: int
    quantity: int
    warehouse_id: int = 0


class ReturnRequest(NopModel):
    """`ReturnRequestDto`. The number field is `custom_number` (not CustomRequestNumber).
    `ReturnRequest/Create` stamps no date: 0001-01-01 (unset) reads as None."""

    id: int
    custom_number: str | None = None
    store_id: int = 0
    order_item_id: int
    customer_id: int = 0
    quantity: int
    returned_quantity: int = 0
    reason_for_return: str | None = None
    requested_action: str | None = None
    customer_comments: str | None = None
    uploaded_file_id: int = 0
    staff_notes: str | None = None
    return_request_status_id: int = 0
    created_on_utc: OptionalUtcDatetime = None
    updated_on_utc: OptionalUtcDatetime = None

    @property
    def return_request_status(self) -> ReturnRequestStatus | None:
        return _enum_or_none(ReturnRequestStatus, self.return_request_status_id)


class ReturnRequestLookup(NopModel):
    """`ReturnRequestReasonDto` / `ReturnRequestActionDto`: the names the storefront offers, which a
    return request then carries as text (`reason_for_return`, `requested_action`)."""

    id: int
    name: str | None = None
    display_order: int = 0


class Store(NopModel):
    """`StoreDto` (the properties an integration reads)."""

    id: int
    name: str | None = None
    url: str | None = None
    ssl_enabled: bool = False
    hosts: str | None = None
    default_language_id: int = 0
    display_order: int = 0
    company_name: str | None = None
    deleted: bool = False


class CustomerRole(NopModel):
    """`CustomerRoleDto`. Role ids are installation data: look roles up by `system_name`
    ("Registered", "Guests", ...), never by a fixed id."""

    id: int
    name: str | None = None
    active: bool = True
    is_system_role: bool = False
    system_name: str | None = None


class Country(NopModel):
    """`CountryDto` (plugin Dto/Directory/CountryDto.cs): `allows_billing`/`allows_shipping`."""

    id: int
    name: str | None = None
    allows_billing: bool = True
    allows_shipping: bool = True
    two_letter_iso_code: str | None = None
    three_letter_iso_code: str | None = None
    numeric_iso_code: int = 0
    subject_to_vat: bool = False
    published: bool = True
    display_order: int = 0
    limited_to_stores: bool = False


class StateProvince(NopModel):
    """`StateProvinceDto` (plugin Dto/Directory/StateProvinceDto.cs): what an address's
    `state_province_id` names; `abbreviation` is the postal one (USPS "CA", Canada Post "ON")."""

    id: int
    country_id: int = 0
    name: str | None = None
    abbreviation: str | None = None
    published: bool = True
    display_order: int = 0


__all__ = [
    "StateProvince",
    "Address",
    "BackorderMode",
    "Country",
    "Customer",
    "CustomerRole",
    "LowStockActivity",
    "ManageInventoryMethod",
    "NopModel",
    "Order",
    "OrderDetails",
    "OrderItem",
    "OrderLookup",
    "OrderRef",
    "OrderStatus",
    "PagedList",
    "PaymentStatus",
    "Product",
    "ProductAttributeCombination",
    "ProductType",
    "ProductWarehouseInventory",
    "ReturnRequest",
    "ReturnRequestLookup",
    "ReturnRequestStatus",
    "Shipment",
    "ShipmentItem",
    "ShippingStatus",
    "Store",
    "Warehouse",
    "TaxDisplayType",
    "TaxRates",
    "TokenResponse",
    "UtcDatetime",
    "parse_tax_rates",
    "parse_utc",
]
