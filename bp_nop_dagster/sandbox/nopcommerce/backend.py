"""In-memory state and behaviour of the simulated nopCommerce shop (no HTTP here).

Entities are plain dicts keyed by their snake_case DTO field names (the Web API Backend's wire
names, notes §2), holding native values (`Decimal` money, naive-UTC `datetime`). `SCHEMAS` lists
every field with its type; `to_wire` turns an entity into JSON-ready values and `from_wire` maps
a request body onto a *fresh* entity, which is how the real plugin's full-replace `Update`
behaves (omitted fields fall back to the C# defaults: 0, false, null, 0001-01-01).

Behaviour follows nopCommerce 4.70 core where the notes or the core source say how:
- inventory (`adjust_inventory`): ProductService.AdjustInventoryAsync, including the
  multi-warehouse reserve / unblock passes (positive changes first unblock reserved quantity,
  then add the rest to the first warehouse record, as ReserveInventoryAsync /
  UnblockReservedInventoryAsync do in the core source);
- order totals (`place_order`): unit prices rounded to 2dp, line = unit x quantity, the
  subtotal discount spread over the tax rates in proportion (OrderTotalCalculationService),
  `tax_rates` formatted as nop does: `"5:0.50;   20:3.33;   "` (ascending rates, three spaces
  after each `;`, zero-tax rates left out);
- order status (`_check_order_status`): OrderProcessingService.CheckOrderStatusAsync with the
  default CompleteOrderWhenDelivered=true (Complete = paid and delivered, or paid and no
  shipping required).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Callable

from bp_nop_dagster.sandbox.world import SandboxCredentials

# ---------------------------------------------------------------------------------------------
# enumerations (notes §3)
ORDER_PENDING, ORDER_PROCESSING, ORDER_COMPLETE, ORDER_CANCELLED = 10, 20, 30, 40
PAY_PENDING, PAY_AUTHORIZED, PAY_PAID, PAY_PARTIALLY_REFUNDED, PAY_REFUNDED, PAY_VOIDED = 10, 20, 30, 35, 40, 50
SHIP_NOT_REQUIRED, SHIP_NOT_YET, SHIP_PARTIAL, SHIP_SHIPPED, SHIP_DELIVERED = 10, 20, 25, 30, 40
RETURN_REQUEST_STATUSES = {
    "Pending": 0,
    "Received": 10,
    "ReturnAuthorized": 20,
    "ItemsRepaired": 30,
    "ItemsRefunded": 40,
    "RequestRejected": 50,
    "Cancelled": 60,
}
INV_NONE, INV_STOCK, INV_BY_ATTRIBUTES = 0, 1, 2

# nop's default customer role ids (installation data)
ROLE_ADMINISTRATORS, ROLE_FORUM_MODERATORS, ROLE_REGISTERED, ROLE_GUESTS, ROLE_VENDORS = 1, 2, 3, 4, 5

# Offline payment methods: no gateway, so no transaction ids. Every other method is "card-like".
OFFLINE_PAYMENT_METHODS = {"Payments.CheckMoneyOrder", "Payments.PurchaseOrder", "Payments.CashOnDelivery", "Payments.BankTransfer"}

MIN_DATE = datetime(1, 1, 1)
INT_MAX = 2_147_483_647
CENT = Decimal("0.01")

# Countries seeded into every shop, with fixed ids (id, name, iso2, iso3, numeric, subject_to_vat, display_order).
COUNTRIES: list[tuple[int, str, str, str, int, bool, int]] = [
    (1, "United States", "US", "USA", 840, False, 100),
    (2, "Canada", "CA", "CAN", 124, False, 100),
    (3, "United Kingdom", "GB", "GBR", 826, True, 1),
    (4, "Germany", "DE", "DEU", 276, True, 100),
    (5, "France", "FR", "FRA", 250, True, 100),
    (6, "Ireland", "IE", "IRL", 372, True, 100),
    (7, "Spain", "ES", "ESP", 724, True, 100),
    (8, "Italy", "IT", "ITA", 380, True, 100),
    (9, "Netherlands", "NL", "NLD", 528, True, 100),
    (10, "Belgium", "BE", "BEL", 56, True, 100),
    (11, "Sweden", "SE", "SWE", 752, True, 100),
    (12, "Australia", "AU", "AUS", 36, False, 100),
]

TAX_CATEGORIES: dict[int, tuple[str, Decimal]] = {
    1: ("Standard", Decimal("20")),
    2: ("Reduced", Decimal("5")),
    3: ("Zero", Decimal("0")),
}

# ---------------------------------------------------------------------------------------------
# schemas: field -> type code. int / int? / bool / str / dec / dec? / dt / dt? / guid
SCHEMAS: dict[str, dict[str, str]] = {
    "address": {
        "id": "int", "first_name": "str", "last_name": "str", "email": "str", "company": "str",
        "country_id": "int?", "state_province_id": "int?", "county": "str", "city": "str",
        "address1": "str", "address2": "str", "zip_postal_code": "str", "phone_number": "str",
        "fax_number": "str", "custom_attributes": "str", "created_on_utc": "dt",
    },
    "customer": {
        "id": "int", "customer_guid": "guid", "username": "str", "email": "str", "first_name": "str",
        "last_name": "str", "gender": "str", "date_of_birth": "dt?", "company": "str",
        "street_address": "str", "street_address2": "str", "zip_postal_code": "str", "city": "str",
        "county": "str", "country_id": "int", "state_province_id": "int", "phone": "str", "fax": "str",
        "vat_number": "str", "vat_number_status_id": "int", "time_zone_id": "str",
        "custom_customer_attributes_xml": "str", "currency_id": "int?", "language_id": "int?",
        "tax_display_type_id": "int?", "email_to_revalidate": "str", "admin_comment": "str",
        "is_tax_exempt": "bool", "affiliate_id": "int", "vendor_id": "int",
        "has_shopping_cart_items": "bool", "require_re_login": "bool", "failed_login_attempts": "int",
        "cannot_login_until_date_utc": "dt?", "active": "bool", "deleted": "bool",
        "is_system_account": "bool", "system_name": "str", "last_ip_address": "str",
        "created_on_utc": "dt", "last_login_date_utc": "dt?", "last_activity_date_utc": "dt",
        "registered_in_store_id": "int", "billing_address_id": "int?", "shipping_address_id": "int?",
    },
    "order": {
        "id": "int", "order_guid": "guid", "store_id": "int", "customer_id": "int",
        "billing_address_id": "int", "shipping_address_id": "int?", "pickup_address_id": "int?",
        "pickup_in_store": "bool", "order_status_id": "int", "shipping_status_id": "int",
        "payment_status_id": "int", "payment_method_system_name": "str", "customer_currency_code": "str",
        "currency_rate": "dec", "customer_tax_display_type_id": "int", "vat_number": "str",
        "order_subtotal_incl_tax": "dec", "order_subtotal_excl_tax": "dec",
        "order_sub_total_discount_incl_tax": "dec", "order_sub_total_discount_excl_tax": "dec",
        "order_shipping_incl_tax": "dec", "order_shipping_excl_tax": "dec",
        "payment_method_additional_fee_incl_tax": "dec", "payment_method_additional_fee_excl_tax": "dec",
        "tax_rates": "str", "order_tax": "dec", "order_discount": "dec", "order_total": "dec",
        "refunded_amount": "dec", "reward_points_history_entry_id": "int?",
        "checkout_attribute_description": "str", "checkout_attributes_xml": "str",
        "customer_language_id": "int", "affiliate_id": "int", "customer_ip": "str",
        "allow_storing_credit_card_number": "bool", "card_type": "str", "card_name": "str",
        "card_number": "str", "masked_credit_card_number": "str", "card_cvv2": "str",
        "card_expiration_month": "str", "card_expiration_year": "str",
        "authorization_transaction_id": "str", "authorization_transaction_code": "str",
        "authorization_transaction_result": "str", "capture_transaction_id": "str",
        "capture_transaction_result": "str", "subscription_transaction_id": "str",
        "paid_date_utc": "dt?", "shipping_method": "str", "shipping_rate_computation_method_system_name": "str",
        "custom_values_xml": "str", "deleted": "bool", "created_on_utc": "dt",
        "custom_order_number": "str", "redeemed_reward_points_entry_id": "int?",
    },
    "order_item": {
        "id": "int", "order_item_guid": "guid", "order_id": "int", "product_id": "int", "quantity": "int",
        "unit_price_incl_tax": "dec", "unit_price_excl_tax": "dec", "price_incl_tax": "dec",
        "price_excl_tax": "dec", "discount_amount_incl_tax": "dec", "discount_amount_excl_tax": "dec",
        "original_product_cost": "dec", "attribute_description": "str", "attributes_xml": "str",
        "download_count": "int", "is_download_activated": "bool", "license_download_id": "int?",
        "item_weight": "dec?", "rental_start_date_utc": "dt?", "rental_end_date_utc": "dt?",
    },
    "order_note": {
        "id": "int", "order_id": "int", "note": "str", "download_id": "int", "display_to_customer": "bool",
        "created_on_utc": "dt",
    },
    # A documented subset of the real ProductDto's ~100 fields (the ones an integration touches,
    # plus the flags that decide inventory, shipping and visibility).
    "product": {
        "id": "int", "product_type_id": "int", "parent_grouped_product_id": "int",
        "visible_individually": "bool", "name": "str", "short_description": "str",
        "full_description": "str", "admin_comment": "str", "product_template_id": "int",
        "vendor_id": "int", "show_on_home_page": "bool", "meta_keywords": "str",
        "meta_description": "str", "meta_title": "str", "allow_customer_reviews": "bool",
        "sku": "str", "manufacturer_part_number": "str", "gtin": "str", "is_gift_card": "bool",
        "is_download": "bool", "is_recurring": "bool", "is_rental": "bool", "is_ship_enabled": "bool",
        "is_free_shipping": "bool", "ship_separately": "bool", "additional_shipping_charge": "dec",
        "delivery_date_id": "int", "is_tax_exempt": "bool", "tax_category_id": "int",
        "manage_inventory_method_id": "int", "product_availability_range_id": "int",
        "use_multiple_warehouses": "bool", "warehouse_id": "int", "stock_quantity": "int",
        "display_stock_availability": "bool", "display_stock_quantity": "bool",
        "min_stock_quantity": "int", "low_stock_activity_id": "int",
        "notify_admin_for_quantity_below": "int", "backorder_mode_id": "int",
        "allow_back_in_stock_subscriptions": "bool", "order_minimum_quantity": "int",
        "order_maximum_quantity": "int", "allowed_quantities": "str",
        "allow_adding_only_existing_attribute_combinations": "bool", "not_returnable": "bool",
        "disable_buy_button": "bool", "disable_wishlist_button": "bool",
        "available_for_pre_order": "bool", "call_for_price": "bool", "price": "dec",
        "old_price": "dec", "product_cost": "dec", "customer_enters_price": "bool",
        "weight": "dec", "length": "dec", "width": "dec", "height": "dec",
        "available_start_date_time_utc": "dt?", "available_end_date_time_utc": "dt?",
        "display_order": "int", "published": "bool", "deleted": "bool", "limited_to_stores": "bool",
        "subject_to_acl": "bool", "created_on_utc": "dt", "updated_on_utc": "dt",
    },
    "product_warehouse_inventory": {
        "id": "int", "product_id": "int", "warehouse_id": "int", "stock_quantity": "int", "reserved_quantity": "int",
    },
    "product_attribute_combination": {
        "id": "int", "product_id": "int", "attributes_xml": "str", "stock_quantity": "int",
        "allow_out_of_stock_orders": "bool", "sku": "str", "manufacturer_part_number": "str", "gtin": "str",
        "overridden_price": "dec?", "notify_admin_for_quantity_below": "int", "min_stock_quantity": "int",
        "picture_id": "int",
    },
    "stock_quantity_history": {
        "id": "int", "product_id": "int", "combination_id": "int?", "warehouse_id": "int?",
        "quantity_adjustment": "int", "stock_quantity": "int", "message": "str", "created_on_utc": "dt",
    },
    "warehouse": {"id": "int", "name": "str", "admin_comment": "str", "address_id": "int"},
    "shipment": {
        "id": "int", "order_id": "int", "tracking_number": "str", "total_weight": "dec?",
        "shipped_date_utc": "dt?", "delivery_date_utc": "dt?", "ready_for_pickup_date_utc": "dt?",
        "admin_comment": "str", "created_on_utc": "dt",
    },
    "shipment_item": {"id": "int", "shipment_id": "int", "order_item_id": "int", "quantity": "int", "warehouse_id": "int"},
    "return_request": {
        "id": "int", "custom_number": "str", "store_id": "int", "order_item_id": "int", "customer_id": "int",
        "quantity": "int", "returned_quantity": "int", "reason_for_return": "str", "requested_action": "str",
        "customer_comments": "str", "uploaded_file_id": "int", "staff_notes": "str",
        "return_request_status_id": "int", "created_on_utc": "dt", "updated_on_utc": "dt",
    },
    "country": {
        "id": "int", "name": "str", "allow_billing": "bool", "allow_shipping": "bool",
        "two_letter_iso_code": "str", "three_letter_iso_code": "str", "numeric_iso_code": "int",
        "subject_to_vat": "bool", "published": "bool", "display_order": "int",
    },
}

_DEFAULTS = {"int": 0, "int?": None, "bool": False, "str": None, "dec": Decimal("0"), "dec?": None, "dt": MIN_DATE, "dt?": None,
             "guid": "00000000-0000-0000-0000-000000000000"}


class NopError(Exception):
    """A nopCommerce `NopException`: the Web API's ErrorHandlerMiddleware answers 400 with
    `{"message","inner_exception_message","stack_trace"}`."""


class NotFound(Exception):
    """A lookup by id that found nothing; the app answers 404 with the message as a JSON string."""


class FieldError(Exception):
    """A body value that cannot be converted to its DTO type (ProblemDetails 400 in the app)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def round_price(value: Decimal) -> Decimal:
    # nop RoundingType.Rounding001 uses Math.Round(value, 2) = banker's rounding (MidpointRounding.ToEven).
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def format_datetime(value: datetime) -> str:
    """Newtonsoft's default ISO form for an Unspecified-kind DateTime: no offset, no `Z`,
    fractional seconds only when non-zero with trailing zeros dropped (`2018-04-04T09:33:39.303`)."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.year < 1000:
        text = f"{value.year:04d}" + text[len(str(value.year)):]
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text


def parse_datetime(text: str) -> datetime:
    """ISO 8601, with or without `Z`/offset; an offset is converted to naive UTC."""
    raw = text.strip()
    if not raw:
        raise ValueError("empty")
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    value = datetime.fromisoformat(raw)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def to_wire(kind: str, entity: dict) -> dict:
    out: dict[str, Any] = {}
    for name, code in SCHEMAS[kind].items():
        value = entity.get(name, _DEFAULTS[code])
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, datetime):
            value = format_datetime(value)
        out[name] = value
    return out


def _convert(field: str, code: str, value: Any) -> Any:
    if value is None:
        if code in ("int?", "str", "dec?", "dt?"):
            return None
        raise FieldError(field, f"Error converting value {{null}} to type '{code}'. Path '{field}'.")
    try:
        if code in ("int", "int?"):
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                value = int(value)
            result = int(value)
            if not -INT_MAX - 1 <= result <= INT_MAX:
                raise ValueError
            return result
        if code == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ValueError
        if code == "str":
            if isinstance(value, (dict, list)):
                raise ValueError
            if isinstance(value, bool):
                return "true" if value else "false"
            return str(value)
        if code in ("dec", "dec?"):
            if isinstance(value, (bool, dict, list)):
                raise ValueError
            return Decimal(str(value))
        if code in ("dt", "dt?"):
            if not isinstance(value, str):
                raise ValueError
            return parse_datetime(value)
        if code == "guid":
            return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, InvalidOperation):
        pass
    raise FieldError(field, f"Error converting value {json.dumps(value)} to type '{code}'. Path '{field}'.")


def from_wire(kind: str, body: Any) -> dict:
    """Map a request body onto a fresh entity (full replace): omitted fields take C# defaults."""
    if not isinstance(body, dict):
        raise FieldError("", f"Cannot deserialize the current JSON value into type '{kind}'.")
    entity: dict[str, Any] = {}
    for name, code in SCHEMAS[kind].items():
        entity[name] = _convert(name, code, body[name]) if name in body else _DEFAULTS[code]
    return entity


_BLANK = {kind: {name: _DEFAULTS[code] for name, code in fields.items()} for kind, fields in SCHEMAS.items()}


def new_entity(kind: str, **values: Any) -> dict:
    entity = dict(_BLANK[kind])
    entity.update(values)
    return entity


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---------------------------------------------------------------------------------------------
class NopCommerceBackend:
    """The whole simulated shop: catalogue, customers, orders, shipments, returns, API users."""

    def __init__(self, credentials: SandboxCredentials, clock: Callable[[], datetime] | None = None) -> None:
        self.credentials = credentials
        self.clock: Callable[[], datetime] = clock or utcnow
        self.token_lifetime = timedelta(days=7)  # WebApiCommonDefaults.TokenLifeTime
        self.usernames_enabled = False
        # The secret derives from the credentials so tokens survive a world reset (the admin is
        # always customer 1); `expire_tokens` rotates it, invalidating every token issued so far.
        self._secret_base = f"bp-nop-sandbox:{credentials.nopcommerce_email}:{credentials.nopcommerce_password}"
        self._secret_generation = 0
        self._random = random.Random(0x6E6F70)
        self._next_ids: dict[str, int] = {}

        self.countries: dict[int, dict] = {}
        self.customers: dict[int, dict] = {}
        self.customer_roles: dict[int, set[int]] = {}
        self.customer_addresses: dict[int, list[int]] = {}
        self.passwords: dict[int, str] = {}
        self.api_access: set[int] = set()
        self.addresses: dict[int, dict] = {}
        self.tax_categories = dict(TAX_CATEGORIES)
        self.stores = {1: {"id": 1, "name": "Sandbox Store", "url": "http://localhost/"}}
        self.warehouses: dict[int, dict] = {}
        self.products: dict[int, dict] = {}
        self.product_warehouses: dict[int, dict] = {}
        self.combinations: dict[int, dict] = {}
        self.stock_history: dict[int, dict] = {}
        self.orders: dict[int, dict] = {}
        self.order_items: dict[int, dict] = {}
        self.order_notes: dict[int, dict] = {}
        self.shipments: dict[int, dict] = {}
        self.shipment_items: dict[int, dict] = {}
        self.return_requests: dict[int, dict] = {}
        # indexes for the per-order lookups clients make once per order (N+1, notes §7.7)
        self._items_by_order: dict[int, list[int]] = {}
        self._notes_by_order: dict[int, list[int]] = {}
        self._pwi_by_product: dict[int, list[int]] = {}
        self._orders_by_created: tuple[int, list[tuple[datetime, int]]] | None = None
        self.orders_version = 0  # bumped whenever an order is inserted or replaced
        self._combinations_by_product: dict[int, list[int]] = {}

        for cid, name, iso2, iso3, numeric, vat, order in COUNTRIES:
            self.countries[cid] = new_entity(
                "country", id=cid, name=name, allow_billing=True, allow_shipping=True, two_letter_iso_code=iso2,
                three_letter_iso_code=iso3, numeric_iso_code=numeric, subject_to_vat=vat, published=True, display_order=order,
            )
        self._next_ids["country"] = max(self.countries)
        start = datetime(2020, 1, 1)
        admin = self._create_customer(email=credentials.nopcommerce_email, first_name="Sandbox", last_name="Admin",
                                      roles={ROLE_ADMINISTRATORS, ROLE_REGISTERED}, created_on=start)
        self.passwords[admin] = credentials.nopcommerce_password
        self.api_access.add(admin)
        clerk = self._create_customer(email="clerk@sandbox.test", first_name="Sandbox", last_name="Clerk",
                                      roles={ROLE_REGISTERED}, created_on=start)
        self.passwords[clerk] = "sandbox"

    # ----------------------------------------------------------------------------- utilities
    def _next_id(self, kind: str) -> int:
        self._next_ids[kind] = self._next_ids.get(kind, 0) + 1
        return self._next_ids[kind]

    def _guid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def now(self) -> datetime:
        return self.clock()

    def country_id_by_iso2(self, iso2: str) -> int:
        for country in self.countries.values():
            if country["two_letter_iso_code"].lower() == iso2.strip().lower():
                return country["id"]
        raise ValueError(f"unknown country {iso2!r}")

    def tax_rate(self, tax_category_id: int) -> Decimal:
        entry = self.tax_categories.get(tax_category_id)
        return entry[1] if entry else Decimal("0")

    # ----------------------------------------------------------------------------- auth
    def _secret(self) -> bytes:
        return hashlib.sha256(f"{self._secret_base}:{self._secret_generation}".encode()).digest()

    def expire_tokens(self) -> None:
        self._secret_generation += 1

    def authenticate(self, username: str | None, email: str | None, password: str | None) -> dict | None:
        """Authenticate/GetToken: returns the AuthenticateResponse dict, or None for bad credentials."""
        login = username if self.usernames_enabled else email
        if not login or password is None:
            return None
        customer = self.customer_by_email(login) if not self.usernames_enabled else next(
            (c for c in self.customers.values() if (c["username"] or "").lower() == login.lower() and not c["deleted"]), None)
        if customer is None or not customer["active"] or customer["deleted"]:
            return None
        stored = self.passwords.get(customer["id"])
        if stored is None or not hmac.compare_digest(stored.encode(), password.encode()):
            return None
        customer["last_login_date_utc"] = self.now()
        return {"username": customer["username"] or customer["email"], "customer_id": customer["id"],
                "customer_guid": customer["customer_guid"], "token": self.issue_token(customer["id"])}

    def issue_token(self, customer_id: int) -> str:
        customer = self.customers[customer_id]
        now = self.now().replace(tzinfo=timezone.utc)
        issued = int(now.timestamp())
        expires = int((now + self.token_lifetime).timestamp())
        header = {"alg": "HS256", "typ": "JWT"}
        payload = {"CustomerId": str(customer_id), "nameid": customer["customer_guid"], "nbf": issued, "exp": expires, "iat": issued}
        signing_input = _b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + _b64url(json.dumps(payload, separators=(",", ":")).encode())
        signature = hmac.new(self._secret(), signing_input.encode("ascii"), hashlib.sha256).digest()
        return signing_input + "." + _b64url(signature)

    def customer_for_token(self, token: str | None) -> dict | None:
        """The customer a valid token belongs to; None when invalid, expired (ClockSkew 0) or unknown."""
        if not token:
            return None
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            expected = hmac.new(self._secret(), f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _b64url_decode(parts[2])):
                return None
            header = json.loads(_b64url_decode(parts[0]))
            payload = json.loads(_b64url_decode(parts[1]))
            if header.get("alg") != "HS256":
                return None
            now = self.now().replace(tzinfo=timezone.utc).timestamp()
            if now < float(payload["nbf"]) or now >= float(payload["exp"]):
                return None
            customer = self.customers.get(int(payload["CustomerId"]))
        except (ValueError, KeyError, TypeError, UnicodeEncodeError):
            return None
        if customer is None or customer["deleted"] or not customer["active"]:
            return None
        return customer

    def has_api_access(self, customer_id: int) -> bool:
        return customer_id in self.api_access

    # ----------------------------------------------------------------------------- addresses, customers
    def create_address(self, *, first_name: str | None, last_name: str | None, email: str | None, company: str | None = None,
                       country_id: int | None = None, county: str | None = None, city: str | None = None,
                       address1: str | None = None, address2: str | None = None, zip_postal_code: str | None = None,
                       phone_number: str | None = None, created_on: datetime | None = None) -> int:
        address_id = self._next_id("address")
        self.addresses[address_id] = new_entity(
            "address", id=address_id, first_name=first_name, last_name=last_name, email=email, company=company,
            country_id=country_id, county=county, city=city, address1=address1, address2=address2,
            zip_postal_code=zip_postal_code, phone_number=phone_number, created_on_utc=created_on or self.now(),
        )
        return address_id

    def insert_address(self, entity: dict) -> dict:
        entity["id"] = self._next_id("address")
        if entity["created_on_utc"] == MIN_DATE:
            entity["created_on_utc"] = self.now()
        self.addresses[entity["id"]] = entity
        return entity

    def _create_customer(self, *, email: str | None, first_name: str, last_name: str, roles: set[int],
                         created_on: datetime | None = None, phone: str | None = None, company: str | None = None) -> int:
        customer_id = self._next_id("customer")
        created = created_on or self.now()
        self.customers[customer_id] = new_entity(
            "customer", id=customer_id, customer_guid=self._guid(),
            username=None if ROLE_GUESTS in roles else email, email=email,
            first_name=first_name, last_name=last_name, company=company, phone=phone, active=True,
            created_on_utc=created, last_activity_date_utc=created, registered_in_store_id=1,
            last_ip_address=f"10.0.{customer_id // 250 % 250}.{customer_id % 250 + 1}",
        )
        self.customer_roles[customer_id] = set(roles)
        self.customer_addresses[customer_id] = []
        return customer_id

    def add_customer(self, *, email: str | None, first_name: str, last_name: str, phone: str | None = None,
                     company: str | None = None, address1: str, address2: str | None = None, city: str, zip_postal_code: str,
                     country_iso2: str, county: str | None = None, is_guest: bool = False, created_on: datetime | None = None) -> int:
        country_id = self.country_id_by_iso2(country_iso2)
        customer_id = self._create_customer(email=email, first_name=first_name, last_name=last_name,
                                            roles={ROLE_GUESTS} if is_guest else {ROLE_REGISTERED},
                                            created_on=created_on, phone=phone, company=company)
        customer = self.customers[customer_id]
        customer.update(street_address=address1, street_address2=address2, city=city, zip_postal_code=zip_postal_code,
                        country_id=country_id, county=county)
        address_id = self.create_address(first_name=first_name, last_name=last_name, email=email, company=company,
                                          country_id=country_id, county=county, city=city, address1=address1,
                                          address2=address2, zip_postal_code=zip_postal_code, phone_number=phone,
                                          created_on=customer["created_on_utc"])
        self.customer_addresses[customer_id].append(address_id)
        customer["billing_address_id"] = address_id
        customer["shipping_address_id"] = address_id
        return customer_id

    def customer_by_email(self, email: str) -> dict | None:
        """CustomerService.GetCustomerByEmailAsync: first match by id. Case-insensitive, as under
        SQL Server's default (CI) collation."""
        wanted = email.strip().lower()
        for customer_id in sorted(self.customers):
            customer = self.customers[customer_id]
            if (customer["email"] or "").lower() == wanted:
                return customer
        return None

    def is_guest(self, customer_id: int) -> bool:
        return ROLE_GUESTS in self.customer_roles.get(customer_id, set())

    # ----------------------------------------------------------------------------- catalogue
    def add_warehouse(self, name: str) -> int:
        warehouse_id = self._next_id("warehouse")
        self.warehouses[warehouse_id] = new_entity("warehouse", id=warehouse_id, name=name)
        return warehouse_id

    def add_product(self, sku: str, name: str, *, price: Decimal, tax_category_id: int = 1, stock_quantity: int = 0,
                    manage_inventory_method_id: int = 1, use_multiple_warehouses: bool = False, warehouse_id: int = 0,
                    warehouse_stock: dict[int, int] | None = None, combinations: list[dict] | None = None,
                    published: bool = True, created_on: datetime | None = None) -> int:
        # Duplicate SKUs are allowed, as in nop (the generator seeds one on purpose).
        product_id = self._next_id("product")
        created = created_on or self.now()
        price = money(price)
        self.products[product_id] = new_entity(
            "product", id=product_id, product_type_id=5, visible_individually=True, name=name,
            short_description=name, sku=sku, is_ship_enabled=True, tax_category_id=tax_category_id,
            manage_inventory_method_id=manage_inventory_method_id, use_multiple_warehouses=use_multiple_warehouses,
            warehouse_id=warehouse_id, stock_quantity=stock_quantity, display_stock_availability=True,
            low_stock_activity_id=0, order_minimum_quantity=1, order_maximum_quantity=10000,
            allow_customer_reviews=True, price=price, product_cost=round_price(price * Decimal("0.4")),
            weight=Decimal("0.5"), published=published, created_on_utc=created, updated_on_utc=created,
            product_template_id=1,
        )
        for wid, quantity in (warehouse_stock or {}).items():
            self.insert_product_warehouse(product_id, wid, quantity, 0)
        for combination in combinations or []:
            combination_id = self._next_id("combination")
            self.combinations[combination_id] = new_entity(
                "product_attribute_combination", id=combination_id, product_id=product_id,
                attributes_xml=combination.get("attributes_xml") or "", stock_quantity=int(combination.get("stock_quantity", 0)),
                sku=combination.get("sku"), allow_out_of_stock_orders=bool(combination.get("allow_out_of_stock_orders", False)),
            )
            self.combinations[combination_id]["_attribute_description"] = combination.get("attribute_description")
            self._combinations_by_product.setdefault(product_id, []).append(combination_id)
        return product_id

    def insert_product_warehouse(self, product_id: int, warehouse_id: int, stock_quantity: int, reserved_quantity: int) -> dict:
        record_id = self._next_id("pwi")
        record = new_entity("product_warehouse_inventory", id=record_id, product_id=product_id, warehouse_id=warehouse_id,
                            stock_quantity=stock_quantity, reserved_quantity=reserved_quantity)
        self.product_warehouses[record_id] = record
        self._pwi_by_product.setdefault(product_id, []).append(record_id)
        return record

    def replace_product_warehouse(self, record: dict) -> None:
        """ProductWarehouse/Update: full replace (the product id may change)."""
        self.product_warehouses[record["id"]] = record
        ids = self._pwi_by_product.setdefault(record["product_id"], [])
        if record["id"] not in ids:
            ids.append(record["id"])

    def replace_combination(self, combination: dict) -> None:
        """ProductAttributeCombination/Update: full replace (the product id may change)."""
        self.combinations[combination["id"]] = combination
        ids = self._combinations_by_product.setdefault(combination["product_id"], [])
        if combination["id"] not in ids:
            ids.append(combination["id"])

    def product_id_by_sku(self, sku: str) -> int | None:
        product = self.product_by_sku(sku)
        return product["id"] if product else None

    def product_by_sku(self, sku: str) -> dict | None:
        """ProductService.GetProductBySkuAsync: the argument trimmed, not deleted, first by id.
        Compared case-insensitively and ignoring the stored value's trailing spaces, as SQL
        Server's default (CI) collation and ANSI padding do; a stored leading space still counts."""
        wanted = (sku or "").strip().lower()
        if not wanted:
            return None
        for product_id in sorted(self.products):
            product = self.products[product_id]
            if not product["deleted"] and (product["sku"] or "").rstrip().lower() == wanted:
                return product
        return None

    def combination_by_sku(self, sku: str) -> dict | None:
        wanted = (sku or "").strip().lower()
        for combination_id in sorted(self.combinations):
            combination = self.combinations[combination_id]
            if (combination["sku"] or "").lower() == wanted:
                return combination
        return None

    def warehouse_records(self, product_id: int) -> list[dict]:
        records = (self.product_warehouses.get(i) for i in self._pwi_by_product.get(product_id, ()))
        return [r for r in records if r is not None and r["product_id"] == product_id]

    def product_combinations(self, product_id: int) -> list[dict]:
        combinations = (self.combinations.get(i) for i in self._combinations_by_product.get(product_id, ()))
        return [c for c in combinations if c is not None and c["product_id"] == product_id]

    def find_combination(self, product_id: int, attributes_xml: str) -> dict | None:
        # nop compares parsed attribute mappings/values; a whitespace-insensitive string compare
        # is the simulator's stand-in.
        wanted = "".join((attributes_xml or "").split())
        for combination in self.product_combinations(product_id):
            if "".join((combination["attributes_xml"] or "").split()) == wanted:
                return combination
        return None

    def total_stock_quantity(self, product_id: int, use_reserved_quantity: bool = True, warehouse_id: int = 0) -> int:
        """ProductService.GetTotalStockQuantityAsync."""
        product = self.products[product_id]
        if product["manage_inventory_method_id"] != INV_STOCK:
            return 0
        if not product["use_multiple_warehouses"]:
            return product["stock_quantity"]
        records = [r for r in self.warehouse_records(product_id) if not warehouse_id or r["warehouse_id"] == warehouse_id]
        total = sum(r["stock_quantity"] for r in records)
        if use_reserved_quantity:
            total -= sum(r["reserved_quantity"] for r in records)
        return total

    def _history(self, product_id: int, adjustment: int, stock_quantity: int, message: str, *,
                 warehouse_id: int | None = None, combination_id: int | None = None) -> None:
        entry_id = self._next_id("stock_history")
        self.stock_history[entry_id] = new_entity(
            "stock_quantity_history", id=entry_id, product_id=product_id, combination_id=combination_id,
            warehouse_id=warehouse_id or None, quantity_adjustment=adjustment, stock_quantity=stock_quantity,
            message=message, created_on_utc=self.now(),
        )

    def adjust_inventory(self, product_id: int, quantity_to_change: int, attributes_xml: str = "", message: str = "") -> None:
        """ProductService.AdjustInventoryAsync (notes §7.3)."""
        product = self.products.get(product_id)
        if product is None:
            raise NotFound(f"Product Id={product_id} not found")
        if quantity_to_change == 0:
            return
        method = product["manage_inventory_method_id"]
        if method == INV_STOCK:
            if product["use_multiple_warehouses"]:
                if quantity_to_change < 0:
                    self._reserve_inventory(product, quantity_to_change, message)
                else:
                    self._unblock_reserved_inventory(product, quantity_to_change, message)
            else:
                product["stock_quantity"] += quantity_to_change
                self._history(product_id, quantity_to_change, product["stock_quantity"], message, warehouse_id=product["warehouse_id"])
            self._apply_low_stock_activity(product)
            product["updated_on_utc"] = self.now()
        elif method == INV_BY_ATTRIBUTES:
            combination = self.find_combination(product_id, attributes_xml)
            if combination is not None:
                combination["stock_quantity"] += quantity_to_change
                self._history(product_id, quantity_to_change, combination["stock_quantity"], message, combination_id=combination["id"])
                product["updated_on_utc"] = self.now()
        # method 0 (DontManageStock): nothing to do.

    def _reserve_inventory(self, product: dict, quantity: int, message: str) -> None:
        records = sorted(self.warehouse_records(product["id"]), key=lambda r: -(r["stock_quantity"] - r["reserved_quantity"]))
        if not records:
            return
        qty = -quantity
        changes: dict[int, int] = {}
        for record in records:
            select = min(max(0, record["stock_quantity"] - record["reserved_quantity"]), qty)
            if select:
                record["reserved_quantity"] += select
                changes[record["id"]] = changes.get(record["id"], 0) + select
                qty -= select
            if qty <= 0:
                break
        if qty > 0:  # "Booking negative stock!"
            records[0]["reserved_quantity"] += qty
            changes[records[0]["id"]] = changes.get(records[0]["id"], 0) + qty
        for record_id, reserved in changes.items():
            record = self.product_warehouses[record_id]
            self._history(product["id"], -reserved, record["stock_quantity"] - record["reserved_quantity"], message,
                          warehouse_id=record["warehouse_id"])

    def _unblock_reserved_inventory(self, product: dict, quantity: int, message: str) -> None:
        records = sorted(self.warehouse_records(product["id"]), key=lambda r: (-r["reserved_quantity"], -r["stock_quantity"]))
        if not records:
            return
        qty = quantity
        changes: dict[int, int] = {}
        for record in records:
            select = min(record["reserved_quantity"], qty)
            if select > 0:
                record["reserved_quantity"] -= select
                changes[record["id"]] = changes.get(record["id"], 0) + select
                qty -= select
            if qty <= 0:
                break
        if qty > 0:
            records[0]["stock_quantity"] += qty
            changes[records[0]["id"]] = changes.get(records[0]["id"], 0) + qty
        for record_id, added in changes.items():
            record = self.product_warehouses[record_id]
            self._history(product["id"], added, record["stock_quantity"] - record["reserved_quantity"], message,
                          warehouse_id=record["warehouse_id"])

    def _book_reserved_inventory(self, product: dict, warehouse_id: int, quantity: int, message: str) -> None:
        """ProductService.BookReservedInventoryAsync (on Ship): stock and reserved both drop."""
        if product["manage_inventory_method_id"] != INV_STOCK or not product["use_multiple_warehouses"]:
            return
        record = next((r for r in self.warehouse_records(product["id"]) if r["warehouse_id"] == warehouse_id), None)
        if record is None:
            return
        record["reserved_quantity"] = max(record["reserved_quantity"] - quantity, 0)
        record["stock_quantity"] -= quantity
        self._history(product["id"], -quantity, record["stock_quantity"], message, warehouse_id=warehouse_id)

    def _apply_low_stock_activity(self, product: dict) -> None:
        total = self.total_stock_quantity(product["id"])
        reached = total <= product["min_stock_quantity"]
        if product["low_stock_activity_id"] == 1:
            product["disable_buy_button"] = reached
            product["disable_wishlist_button"] = reached
        elif product["low_stock_activity_id"] == 2 and reached:
            product["published"] = False

    # ----------------------------------------------------------------------------- orders
    def _clone_address(self, address_id: int) -> int:
        source = self.addresses[address_id]
        clone = dict(source)
        clone["id"] = self._next_id("address")
        self.addresses[clone["id"]] = clone
        return clone["id"]

    def place_order(self, *, customer_id: int, items: list[tuple[int, int]], payment_method_system_name: str = "Payments.Manual",
                    payment_status_id: int = 10, created_on: datetime | None = None, shipping_method: str = "Ground",
                    shipping_excl_tax: Decimal = Decimal("0"), shipping_tax_category_id: int = 1,
                    discount_excl_tax: Decimal = Decimal("0"), payment_fee_excl_tax: Decimal = Decimal("0"),
                    billing_address_id: int | None = None, shipping_address_id: int | None = None,
                    decrement_stock: bool = True, currency_code: str = "GBP") -> int:
        """Place an order as nop's checkout would. `items` are (product_id, quantity) or
        (product_id, quantity, attributes_xml); a by-attributes product without attributes_xml
        gets its first combination."""
        customer = self.customers.get(customer_id)
        if customer is None:
            raise ValueError(f"unknown customer {customer_id}")
        if not items:
            raise ValueError("an order needs at least one item")
        created = created_on or self.now()
        billing_source = billing_address_id or customer["billing_address_id"]
        shipping_source = shipping_address_id or customer["shipping_address_id"] or billing_source
        if billing_source is None or billing_source not in self.addresses:
            raise ValueError(f"customer {customer_id} has no billing address")

        rates: dict[Decimal, Decimal] = {}
        lines: list[dict] = []
        subtotal_excl = subtotal_incl = Decimal("0")
        for entry in items:
            product_id, quantity = int(entry[0]), int(entry[1])
            attributes_xml = entry[2] if len(entry) > 2 else ""
            product = self.products.get(product_id)
            if product is None or product["deleted"]:
                raise ValueError(f"unknown product {product_id}")
            if quantity <= 0:
                raise ValueError("quantity must be positive")
            description = ""
            if product["manage_inventory_method_id"] == INV_BY_ATTRIBUTES:
                combination = self.find_combination(product_id, attributes_xml) if attributes_xml else None
                if combination is None and not attributes_xml:
                    combos = sorted(self.product_combinations(product_id), key=lambda c: c["id"])
                    combination = combos[0] if combos else None
                if combination is not None:
                    attributes_xml = combination["attributes_xml"]
                    description = combination.get("_attribute_description") or ""
            rate = self.tax_rate(product["tax_category_id"])
            unit_excl = round_price(product["price"])
            unit_incl = round_price(unit_excl * (1 + rate / 100))
            line_excl, line_incl = unit_excl * quantity, unit_incl * quantity
            subtotal_excl += line_excl
            subtotal_incl += line_incl
            if rate > 0 and line_incl - line_excl > 0:
                rates[rate] = rates.get(rate, Decimal("0")) + (line_incl - line_excl)
            lines.append({"product": product, "quantity": quantity, "attributes_xml": attributes_xml, "description": description,
                          "unit_excl": unit_excl, "unit_incl": unit_incl, "line_excl": line_excl, "line_incl": line_incl})

        # subtotal discount: spread over the tax rates in proportion (OrderTotalCalculationService)
        discount_excl = min(money(discount_excl_tax), subtotal_excl)
        discount_incl = discount_excl
        if discount_excl > 0 and subtotal_excl > 0:
            for rate in sorted(rates):
                discount_tax = round_price(rates[rate] * discount_excl / subtotal_excl)
                rates[rate] -= discount_tax
                discount_incl += discount_tax
        shipping_excl = money(shipping_excl_tax)
        shipping_rate = self.tax_rate(shipping_tax_category_id)
        shipping_incl = round_price(shipping_excl * (1 + shipping_rate / 100))
        if shipping_rate > 0 and shipping_incl > shipping_excl:
            rates[shipping_rate] = rates.get(shipping_rate, Decimal("0")) + (shipping_incl - shipping_excl)
        fee_excl = money(payment_fee_excl_tax)
        fee_rate = self.tax_rate(1)  # PaymentMethodAdditionalFeeTaxClassId: the standard category
        fee_incl = round_price(fee_excl * (1 + fee_rate / 100))
        if fee_rate > 0 and fee_incl > fee_excl:
            rates[fee_rate] = rates.get(fee_rate, Decimal("0")) + (fee_incl - fee_excl)
        order_tax = sum(rates.values(), Decimal("0"))
        order_total = subtotal_incl - discount_incl + shipping_incl + fee_incl
        tax_rates = "".join(f"{_dec_text(rate)}:{_dec_text(value.quantize(CENT))};   " for rate, value in sorted(rates.items()))

        order_id = self._next_id("order")
        card_like = payment_method_system_name not in OFFLINE_PAYMENT_METHODS
        paid = payment_status_id == PAY_PAID
        name = f"{customer['first_name'] or ''} {customer['last_name'] or ''}".strip()
        order = new_entity(
            "order", id=order_id, order_guid=self._guid(), store_id=1, customer_id=customer_id,
            billing_address_id=self._clone_address(billing_source),
            shipping_address_id=self._clone_address(shipping_source) if shipping_source else None,
            order_status_id=ORDER_PENDING, shipping_status_id=SHIP_NOT_YET, payment_status_id=payment_status_id,
            payment_method_system_name=payment_method_system_name, customer_currency_code=currency_code,
            currency_rate=Decimal("1"), customer_tax_display_type_id=0,
            order_subtotal_incl_tax=subtotal_incl, order_subtotal_excl_tax=subtotal_excl,
            order_sub_total_discount_incl_tax=discount_incl, order_sub_total_discount_excl_tax=discount_excl,
            order_shipping_incl_tax=shipping_incl, order_shipping_excl_tax=shipping_excl,
            payment_method_additional_fee_incl_tax=fee_incl, payment_method_additional_fee_excl_tax=fee_excl,
            tax_rates=tax_rates, order_tax=order_tax, order_discount=Decimal("0"), order_total=order_total,
            refunded_amount=Decimal("0"), customer_language_id=1, customer_ip=customer["last_ip_address"],
            shipping_method=shipping_method, shipping_rate_computation_method_system_name="Shipping.FixedByWeightByTotal",
            created_on_utc=created, custom_order_number=str(order_id), checkout_attribute_description="",
        )
        if card_like:
            token = uuid.UUID(order["order_guid"]).hex[:12].upper()
            if payment_status_id in (PAY_AUTHORIZED, PAY_PAID):
                order.update(authorization_transaction_id=f"AUTH-{token}", authorization_transaction_code="00",
                             authorization_transaction_result="Approved")
            if paid:
                order.update(capture_transaction_id=f"CAP-{token}", capture_transaction_result="Captured")
            if payment_method_system_name == "Payments.Manual":
                # Never a full card number: card_number and card_cvv2 stay null.
                order.update(card_type="Visa", card_name=name, masked_credit_card_number="************1111",
                             card_expiration_month="12", card_expiration_year=str(created.year + 3))
        if paid:
            order["paid_date_utc"] = created
        self.store_order(order)
        for line in lines:
            item_id = self._next_id("order_item")
            product = line["product"]
            self.order_items[item_id] = new_entity(
                "order_item", id=item_id, order_item_guid=self._guid(), order_id=order_id, product_id=product["id"],
                quantity=line["quantity"], unit_price_incl_tax=line["unit_incl"], unit_price_excl_tax=line["unit_excl"],
                price_incl_tax=line["line_incl"], price_excl_tax=line["line_excl"], original_product_cost=product["product_cost"],
                attribute_description=line["description"], attributes_xml=line["attributes_xml"],
                item_weight=product["weight"] * line["quantity"],
            )
            self._items_by_order.setdefault(order_id, []).append(item_id)
        self.add_order_note(order_id, "Order placed", created_on=created)
        if paid:
            self.add_order_note(order_id, "Order has been marked as paid", created_on=created)
        self._check_order_status(order)
        if decrement_stock:
            for line in lines:
                self.adjust_inventory(line["product"]["id"], -line["quantity"], line["attributes_xml"],
                                      f"The stock quantity has been reduced by placing the order #{order_id}")
        return order_id

    def shopper_checkout(self, *, email: str | None, first_name: str, last_name: str, address: dict, items: list[dict],
                         payment_method_system_name: str = "Payments.Manual", paid: bool = False, guest: bool = False,
                         shipping_excl_tax: Decimal = Decimal("4.95"), created_on: datetime | None = None, **extra: Any) -> int:
        """A shopper's checkout: reuse the registered customer with that email (case-insensitive)
        or create one (a guest always gets a new guest customer, whose email may be null or shared
        with a registered account), reuse an identical address or add one, then place the order."""
        lines: list[tuple] = []
        for item in items:
            sku = str(item.get("sku", ""))
            quantity = int(item.get("quantity", 1))
            product = self.product_by_sku(sku)
            if product is not None:
                lines.append((product["id"], quantity, item.get("attributes_xml", "") or ""))
                continue
            combination = self.combination_by_sku(sku)
            if combination is not None and not self.products[combination["product_id"]]["deleted"]:
                lines.append((combination["product_id"], quantity, combination["attributes_xml"]))
                continue
            raise ValueError(f"unknown SKU {sku!r}")
        if not lines:
            raise ValueError("no items")
        created = created_on or self.now()
        fields = {
            "address1": address.get("address1"), "address2": address.get("address2"), "city": address.get("city"),
            "zip_postal_code": address.get("zip_postal_code"), "country_iso2": address.get("country_iso2", "GB"),
            "county": address.get("county"),
        }
        phone = address.get("phone") or address.get("phone_number")
        company = address.get("company")
        customer = None
        if not guest and email:
            customer = self.customer_by_email(email)
            if customer is not None and (self.is_guest(customer["id"]) or customer["deleted"]):
                customer = next((c for c in self.customers.values() if (c["email"] or "").lower() == email.lower()
                                 and not self.is_guest(c["id"]) and not c["deleted"]), None)
        if customer is None:
            customer_id = self.add_customer(email=email, first_name=first_name, last_name=last_name, phone=phone, company=company,
                                            is_guest=guest, created_on=created, **fields)
            address_id = self.customers[customer_id]["billing_address_id"]
        else:
            customer_id = customer["id"]
            country_id = self.country_id_by_iso2(fields["country_iso2"])
            wanted = {"first_name": first_name, "last_name": last_name, "email": email, "company": company, "country_id": country_id,
                      "county": fields["county"], "city": fields["city"], "address1": fields["address1"],
                      "address2": fields["address2"], "zip_postal_code": fields["zip_postal_code"], "phone_number": phone}
            address_id = next((aid for aid in self.customer_addresses[customer_id]
                               if all(self.addresses[aid].get(k) == v for k, v in wanted.items())), None)
            if address_id is None:
                address_id = self.create_address(created_on=created, **wanted)
                self.customer_addresses[customer_id].append(address_id)
            customer["billing_address_id"] = customer["shipping_address_id"] = address_id
            customer["last_activity_date_utc"] = max(customer["last_activity_date_utc"], created)
        options: dict[str, Any] = {"payment_status_id": PAY_PAID if paid else PAY_PENDING}
        options.update(extra)
        return self.place_order(customer_id=customer_id, items=lines, payment_method_system_name=payment_method_system_name,
                                shipping_excl_tax=shipping_excl_tax, created_on=created, billing_address_id=address_id,
                                shipping_address_id=address_id, **options)

    def order(self, order_id: int) -> dict:
        order = self.orders.get(order_id)
        if order is None:
            raise NotFound(f"Order Id={order_id} not found")
        return order

    def store_order(self, order: dict) -> None:
        """Insert or replace an order (keeps the created-on index current)."""
        self.orders[order["id"]] = order
        self.orders_version += 1

    def orders_by_created(self) -> list[tuple[datetime, int]]:
        """(created_on_utc, id) of every order, ascending; cached until an order is stored."""
        if self._orders_by_created is None or self._orders_by_created[0] != self.orders_version:
            self._orders_by_created = (self.orders_version, sorted((o["created_on_utc"], o["id"]) for o in self.orders.values()))
        return self._orders_by_created[1]

    def first_order_item_id(self, order_id: int) -> int | None:
        items = self.items_of_order(order_id)
        return min(item["id"] for item in items) if items else None

    def items_of_order(self, order_id: int) -> list[dict]:
        return [self.order_items[i] for i in self._items_by_order.get(order_id, ()) if i in self.order_items]

    def notes_of_order(self, order_id: int) -> list[dict]:
        return [self.order_notes[i] for i in self._notes_by_order.get(order_id, ()) if i in self.order_notes]

    def add_order_note(self, order_id: int, note: str, *, display_to_customer: bool = False, created_on: datetime | None = None) -> dict:
        note_id = self._next_id("order_note")
        entity = new_entity("order_note", id=note_id, order_id=order_id, note=note, display_to_customer=display_to_customer,
                            created_on_utc=created_on or self.now())
        self.order_notes[note_id] = entity
        self._notes_by_order.setdefault(order_id, []).append(note_id)
        return entity

    def _check_order_status(self, order: dict) -> None:
        """OrderProcessingService.CheckOrderStatusAsync (CompleteOrderWhenDelivered = true)."""
        if order["order_status_id"] == ORDER_PENDING and (
            order["payment_status_id"] in (PAY_AUTHORIZED, PAY_PAID)
            or order["shipping_status_id"] in (SHIP_PARTIAL, SHIP_SHIPPED, SHIP_DELIVERED)
        ):
            order["order_status_id"] = ORDER_PROCESSING
        if order["order_status_id"] not in (ORDER_CANCELLED, ORDER_COMPLETE) and order["payment_status_id"] == PAY_PAID and \
                order["shipping_status_id"] in (SHIP_NOT_REQUIRED, SHIP_DELIVERED):
            order["order_status_id"] = ORDER_COMPLETE

    def can_cancel_order(self, order_id: int) -> bool:
        return self.order(order_id)["order_status_id"] != ORDER_CANCELLED

    def cancel_order(self, order_id: int) -> None:
        """OrderProcessingService.CancelOrderAsync: status Cancelled, stock returned."""
        order = self.order(order_id)
        if not self.can_cancel_order(order_id):
            raise NopError("Cannot do cancel for order.")
        order["order_status_id"] = ORDER_CANCELLED
        self.add_order_note(order_id, "Order has been cancelled")
        shipped: dict[int, int] = {}
        for shipment in self.shipments.values():
            if shipment["order_id"] == order_id and shipment["shipped_date_utc"] is not None:
                for item in self.shipment_items.values():
                    if item["shipment_id"] == shipment["id"]:
                        shipped[item["order_item_id"]] = shipped.get(item["order_item_id"], 0) + item["quantity"]
                        # ReverseBookedInventoryAsync: booked (shipped) multi-warehouse stock goes back
                        product = self.products.get(self.order_items[item["order_item_id"]]["product_id"])
                        if product and product["manage_inventory_method_id"] == INV_STOCK and product["use_multiple_warehouses"]:
                            record = next((r for r in self.warehouse_records(product["id"]) if r["warehouse_id"] == item["warehouse_id"]), None)
                            if record is not None:
                                record["stock_quantity"] += item["quantity"]
                                record["reserved_quantity"] += item["quantity"]
        for item in sorted(self.items_of_order(order_id), key=lambda i: i["id"]):
            self.adjust_inventory(item["product_id"], item["quantity"], item["attributes_xml"] or "",
                                  f"The stock quantity has been increased by cancelling the order #{order_id}")

    def delete_order(self, order_id: int) -> None:
        """Order/Delete: soft delete only, no restock (notes §7.1)."""
        self.order(order_id)["deleted"] = True

    def can_mark_order_paid(self, order_id: int) -> bool:
        order = self.order(order_id)
        return order["order_status_id"] != ORDER_CANCELLED and order["payment_status_id"] not in (
            PAY_PAID, PAY_REFUNDED, PAY_VOIDED, PAY_PARTIALLY_REFUNDED)

    def mark_order_paid(self, order_id: int) -> None:
        order = self.order(order_id)
        if not self.can_mark_order_paid(order_id):
            raise NopError("You can't mark this order as paid")
        order["payment_status_id"] = PAY_PAID
        order["paid_date_utc"] = self.now()
        self.add_order_note(order_id, "Order has been marked as paid")
        self._check_order_status(order)

    # ----------------------------------------------------------------------------- shipments
    def shipment(self, shipment_id: int) -> dict:
        shipment = self.shipments.get(shipment_id)
        if shipment is None:
            raise NotFound(f"Shipment Id={shipment_id} not found")
        return shipment

    def items_of_shipment(self, shipment_id: int) -> list[dict]:
        return [item for item in self.shipment_items.values() if item["shipment_id"] == shipment_id]

    def quantity_in_shipments(self, order_item_id: int, *, exclude_item: int | None = None) -> int:
        return sum(i["quantity"] for i in self.shipment_items.values() if i["order_item_id"] == order_item_id and i["id"] != exclude_item)

    def insert_shipment(self, entity: dict) -> dict:
        self.order(entity["order_id"])
        entity["id"] = self._next_id("shipment")
        if entity["created_on_utc"] == MIN_DATE:
            entity["created_on_utc"] = self.now()
        self.shipments[entity["id"]] = entity
        return entity

    def insert_shipment_item(self, entity: dict) -> dict:
        self.shipment(entity["shipment_id"])
        order_item = self.order_items.get(entity["order_item_id"])
        if order_item is None:
            raise NotFound(f"Order item Id={entity['order_item_id']} not found")
        if entity["quantity"] <= 0:
            raise NopError("Quantity must be positive")
        left = order_item["quantity"] - self.quantity_in_shipments(order_item["id"])
        if entity["quantity"] > left:
            raise NopError(f"Quantity {entity['quantity']} exceeds the quantity left to ship ({left}) for order item {order_item['id']}")
        entity["id"] = self._next_id("shipment_item")
        self.shipment_items[entity["id"]] = entity
        return entity

    def _has_items_to_add_to_shipment(self, order_id: int) -> bool:
        return any(item["quantity"] > self.quantity_in_shipments(item["id"]) for item in self.items_of_order(order_id))

    def _order_shipments(self, order_id: int) -> list[dict]:
        return [s for s in self.shipments.values() if s["order_id"] == order_id]

    def ship(self, shipment_id: int, notify_customer: bool = False) -> None:
        """OrderProcessingService.ShipAsync."""
        shipment = self.shipment(shipment_id)
        order = self.order(shipment["order_id"])
        if shipment["shipped_date_utc"] is not None:
            raise NopError("This shipment is already shipped")
        shipment["shipped_date_utc"] = self.now()
        for item in self.items_of_shipment(shipment_id):
            order_item = self.order_items.get(item["order_item_id"])
            if order_item and order_item["product_id"] in self.products:
                self._book_reserved_inventory(self.products[order_item["product_id"]], item["warehouse_id"], item["quantity"],
                                              f"The stock quantity has been reduced when an order item of the order #{order['id']} was shipped")
        self.add_order_note(order["id"], f"Shipment #{shipment_id} has been sent")
        not_shipped = any(s["shipped_date_utc"] is None for s in self._order_shipments(order["id"]))
        if not self._has_items_to_add_to_shipment(order["id"]) and not not_shipped:
            order["shipping_status_id"] = SHIP_SHIPPED
        else:
            order["shipping_status_id"] = SHIP_PARTIAL
        self._check_order_status(order)

    def deliver(self, shipment_id: int, notify_customer: bool = False) -> None:
        """OrderProcessingService.DeliverAsync."""
        shipment = self.shipment(shipment_id)
        order = self.order(shipment["order_id"])
        if shipment["shipped_date_utc"] is None:
            raise NopError("This shipment is not shipped yet")
        if shipment["delivery_date_utc"] is not None:
            raise NopError("This shipment is already delivered")
        shipment["delivery_date_utc"] = self.now()
        self.add_order_note(order["id"], f"Shipment #{shipment_id} has been delivered")
        shipments = self._order_shipments(order["id"])
        if not self._has_items_to_add_to_shipment(order["id"]) and all(s["shipped_date_utc"] is not None for s in shipments) \
                and all(s["delivery_date_utc"] is not None for s in shipments):
            order["shipping_status_id"] = SHIP_DELIVERED
        self._check_order_status(order)

    # ----------------------------------------------------------------------------- returns
    def create_return_request(self, *, order_item_id: int, quantity: int, reason: str = "Wrong size", action: str = "Refund",
                              comments: str = "", created_on: datetime | None = None) -> int:
        item = self.order_items.get(order_item_id)
        if item is None:
            raise ValueError(f"unknown order item {order_item_id}")
        if quantity <= 0 or quantity > item["quantity"]:
            raise ValueError(f"quantity must be between 1 and {item['quantity']}")
        order = self.orders[item["order_id"]]
        created = created_on or self.now()
        request_id = self._next_id("return_request")
        self.return_requests[request_id] = new_entity(
            "return_request", id=request_id, custom_number=str(request_id), store_id=order["store_id"], order_item_id=order_item_id,
            customer_id=order["customer_id"], quantity=quantity, reason_for_return=reason, requested_action=action,
            customer_comments=comments, staff_notes="", return_request_status_id=0, created_on_utc=created, updated_on_utc=created,
        )
        return request_id

    def insert_return_request(self, entity: dict) -> dict:
        entity["id"] = self._next_id("return_request")
        now = self.now()
        if entity["created_on_utc"] == MIN_DATE:
            entity["created_on_utc"] = now
        if entity["updated_on_utc"] == MIN_DATE:
            entity["updated_on_utc"] = now
        if not entity["custom_number"]:
            entity["custom_number"] = str(entity["id"])
        self.return_requests[entity["id"]] = entity
        return entity

    # ----------------------------------------------------------------------------- state summary
    def state(self) -> dict:
        return {
            "orders": sum(1 for o in self.orders.values() if not o["deleted"]),
            "deleted_orders": sum(1 for o in self.orders.values() if o["deleted"]),
            "order_items": len(self.order_items),
            "customers": len(self.customers),
            "addresses": len(self.addresses),
            "products": sum(1 for p in self.products.values() if not p["deleted"]),
            "warehouses": len(self.warehouses),
            "shipments": len(self.shipments),
            "return_requests": len(self.return_requests),
            "token_lifetime_seconds": self.token_lifetime.total_seconds(),
        }


def _dec_text(value: Decimal) -> str:
    """C# decimal.ToString(InvariantCulture) of a rate like 20 or 17.5 (no exponent)."""
    text = format(value, "f")
    if "." in text and value == value.to_integral_value():
        text = text.split(".")[0]
    return text
