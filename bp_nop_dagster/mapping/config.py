"""The nopCommerce → Brightpearl mapping as validated data (DESIGN principle 7).

Every per-account choice (statuses, payment and shipping methods, tax codes, channel, warehouse,
price list, nominal codes, ...) lives in one YAML file, parsed here into a frozen pydantic model
with `extra="forbid"` everywhere, so a typo is an error and not a silently ignored key.

- `load_mapping_config(path)` reads `path`, else the file named by `$BP_NOP_MAPPING_FILE`, else the
  packaged `default_mapping.yaml` (which fits the sandbox). Any problem raises `MappingConfigError`
  whose message names the key path (`payment_methods.Payments.Manual`) and, for enum-like values,
  the allowed values.
- `validate_against_reference(config, ...)` compares the ids and codes with one Brightpearl
  account's reference data and returns the problems in words (for `doctor` and at run start);
  `unknown_payment_methods` lists mapped payment codes the account does not know (a warning).

`MappingError` (a single order/contact/payment that cannot be mapped) lives here too, so that
`orders`, `contacts` and `payments` share one class; each of those modules re-exports it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from bp_nop_dagster import settings

DEFAULT_MAPPING_FILE = Path(__file__).with_name("default_mapping.yaml")

# nopCommerce enumerations (reference notes §3); the keys a mapping must cover.
NOP_ORDER_STATUSES = {10: "Pending", 20: "Processing", 30: "Complete", 40: "Cancelled"}
NOP_PAYMENT_STATUSES = {10: "Pending", 20: "Authorized", 30: "Paid", 35: "PartiallyRefunded", 40: "Refunded", 50: "Voided"}
NOP_SHIPPING_STATUSES = {10: "ShippingNotRequired", 20: "NotYetShipped", 25: "PartiallyShipped", 30: "Shipped", 40: "Delivered"}
BRIGHTPEARL_SHIPPING_STATUS_CODES = ("NST", "SNS", "SPS", "ASS")

PaymentAction = Literal["none", "auth", "receipt", "auth_capture"]
PAYMENT_ACTIONS: tuple[str, ...] = ("none", "auth", "receipt", "auth_capture")
ShippingStatusCode = Literal["NST", "SNS", "SPS", "ASS"]
NopOrderStatusId = Literal[10, 20, 30, 40]
NopPaymentStatusId = Literal[10, 20, 30, 35, 40, 50]
NopShippingStatusId = Literal[10, 20, 25, 30, 40]

REASONS = ("malformed_order", "invalid_address", "validation_error", "duplicate", "unknown_store")


class MappingConfigError(ValueError):
    """The mapping file is missing, unreadable or invalid; the message names the key path."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or [message]


class MappingError(Exception):
    """One record cannot be mapped. `reason` is one of `REASONS` (a stable code for the dead-letter
    table); `message` says what is wrong in words."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown MappingError reason {reason!r}; allowed: {', '.join(REASONS)}")
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


# ---------------------------------------------------------------------------------------------
# the model


class _KeyProblem(ValueError):
    """A problem with one entry of a dict-valued key: the error path gets `key` appended."""

    def __init__(self, key: Any, message: str) -> None:
        super().__init__(message)
        self.key = key


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _names(mapping: dict[int, str]) -> str:
    return ", ".join(f"{key} ({name})" for key, name in mapping.items())


def _require_all(given: Iterable[int], wanted: dict[int, str], what: str) -> None:
    missing = [key for key in wanted if key not in set(given)]
    if missing:
        raise ValueError(
            f"missing {what} {', '.join(str(m) for m in missing)}; every one of {_names(wanted)} needs a mapping"
        )


class OrderStatusMapping(_Strict):
    """nop order status → Brightpearl order status id, with an 'awaiting payment' override."""

    by_order_status: dict[NopOrderStatusId, int]
    awaiting_payment_status_id: int | None = None
    awaiting_payment_when_payment_status: list[NopPaymentStatusId] = Field(default_factory=list)
    awaiting_payment_for_order_status: list[NopOrderStatusId] = Field(default_factory=list)

    @field_validator("by_order_status")
    @classmethod
    def _complete(cls, value: dict[int, int]) -> dict[int, int]:
        _require_all(value, NOP_ORDER_STATUSES, "nop order status")
        return value

    @model_validator(mode="after")
    def _override_complete(self) -> OrderStatusMapping:
        if (self.awaiting_payment_when_payment_status or self.awaiting_payment_for_order_status) and self.awaiting_payment_status_id is None:
            raise ValueError("awaiting_payment_status_id is required when awaiting_payment_* lists are set")
        return self


class ShippingStatusMapping(_Strict):
    """Both directions between nop shipping_status_id and Brightpearl shippingStatusCode."""

    to_brightpearl: dict[NopShippingStatusId, ShippingStatusCode]
    from_brightpearl: dict[ShippingStatusCode, NopShippingStatusId]

    @field_validator("to_brightpearl")
    @classmethod
    def _complete_to(cls, value: dict[int, str]) -> dict[int, str]:
        _require_all(value, NOP_SHIPPING_STATUSES, "nop shipping status")
        return value

    @field_validator("from_brightpearl")
    @classmethod
    def _complete_from(cls, value: dict[str, int]) -> dict[str, int]:
        missing = [code for code in BRIGHTPEARL_SHIPPING_STATUS_CODES if code not in value]
        if missing:
            raise ValueError(f"missing Brightpearl shipping status {', '.join(missing)}; "
                             f"every one of {', '.join(BRIGHTPEARL_SHIPPING_STATUS_CODES)} needs a mapping")
        return value


FulfilmentAction = Literal["cancel", "deliver"]


class FulfilmentMapping(_Strict):
    """Brightpearl → nopCommerce: which Brightpearl order statuses act on the nop order, and
    whether nopCommerce emails the customer about it."""

    on_order_status: dict[int, FulfilmentAction] = Field(default_factory=dict)
    notify_customer: bool = True

    @field_validator("on_order_status")
    @classmethod
    def _positive_status_ids(cls, value: dict[int, str]) -> dict[int, str]:
        for status_id in value:
            if status_id <= 0:
                raise _KeyProblem(status_id, f"a Brightpearl order status id is a positive integer, not {status_id}")
        return value


class ShippingMethodMapping(_Strict):
    default: int = Field(gt=0)
    by_name: dict[str, int] = Field(default_factory=dict)

    @field_validator("by_name")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        for name, method_id in value.items():
            if method_id <= 0:
                raise _KeyProblem(name, f"shipping method id must be a positive integer, not {method_id}")
        return value



def _nominal_code(value: Any) -> Any:
    # written unquoted in YAML a nominal code arrives as an int
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not text.isdigit() or len(text) > 10:
        raise ValueError(f"a nominal code is 1 to 10 digits (e.g. \"4000\"), not {value!r}")
    return text


NominalCode = Annotated[str, BeforeValidator(_nominal_code)]


class NominalCodes(_Strict):
    sales: NominalCode
    shipping: NominalCode
    discount: NominalCode
    payment_fee: NominalCode


class GatewayJournals(_Strict):
    """One payment method's gateway journals (`journals.by_payment_method`): where its Sales
    Receipts land (`clearing_nominal`, the method's bank account nominal in Brightpearl), where the
    gateway pays out (`bank_nominal`), and its fee, estimated per captured order as
    `fee_percent` % of the order total plus `fee_fixed` (the gateway's own statement is not read)."""

    clearing_nominal: NominalCode
    bank_nominal: NominalCode
    fee_nominal: NominalCode
    fee_percent: Decimal = Field(default=Decimal(0), ge=0, le=100)
    fee_fixed: Decimal = Field(default=Decimal(0), ge=0)


class JournalsMapping(_Strict):
    """Optional journals per day and payment method (off unless `enabled`): the gateway's fees
    (`fee_journal_type`, debit the fee nominal, credit clearing) and the clearing transfer of what
    is left (`transfer_journal_type`, debit the bank, credit clearing). Every line carries
    `tax_code` (the Journal Entry POST doc: a line on a bank nominal needs a tax code)."""

    enabled: bool = False
    fee_journal_type: str = Field(default="JJ", pattern=r"^[A-Z]{2}$")
    transfer_journal_type: str = Field(default="BT", pattern=r"^[A-Z]{2}$")
    tax_code: str = Field(default="T0", min_length=1, max_length=16)
    by_payment_method: dict[str, GatewayJournals] = Field(default_factory=dict)

    @field_validator("by_payment_method")
    @classmethod
    def _own_clearing(cls, value: dict[str, GatewayJournals]) -> dict[str, GatewayJournals]:
        # a journal is found again by (type, clearing nominal, day): each method needs its own clearing nominal
        seen: dict[str, str] = {}
        for code, gateway in value.items():
            if gateway.clearing_nominal in seen:
                raise _KeyProblem(code, f"clearing_nominal {gateway.clearing_nominal} is also {seen[gateway.clearing_nominal]}'s: "
                                        "each payment method needs its own clearing nominal")
            seen[gateway.clearing_nominal] = code
        return value


class StockMapping(_Strict):
    """Which Brightpearl stock nopCommerce may sell (DESIGN principle 6)."""

    brightpearl_warehouses: list[int] = Field(min_length=1)
    nop_warehouses: dict[int, list[int]] = Field(default_factory=dict)
    buffer: int = Field(default=0, ge=0)

    @field_validator("brightpearl_warehouses")
    @classmethod
    def _distinct_warehouses(cls, value: list[int]) -> list[int]:
        if any(w <= 0 for w in value) or len(set(value)) != len(value):
            raise ValueError(f"Brightpearl warehouse ids must be distinct positive integers, not {value}")
        return value

    @model_validator(mode="after")
    def _nop_warehouses_counted(self) -> StockMapping:
        claimed: dict[int, int] = {}
        for nop_warehouse, bp_warehouses in self.nop_warehouses.items():
            for bp_warehouse in bp_warehouses:
                if bp_warehouse not in self.brightpearl_warehouses:
                    raise _KeyProblem(f"nop_warehouses.{nop_warehouse}", f"Brightpearl warehouse {bp_warehouse} is not in stock.brightpearl_warehouses")
                if bp_warehouse in claimed:
                    raise _KeyProblem(f"nop_warehouses.{nop_warehouse}", f"Brightpearl warehouse {bp_warehouse} is already mapped to nopCommerce warehouse {claimed[bp_warehouse]}")
                claimed[bp_warehouse] = nop_warehouse
        return self


class QualityMapping(_Strict):
    """Data-quality options of the flows (issue 16; README, "Data quality"). Everything is off or
    advisory by default: nothing is held, and anomalies are only noted."""

    #: Hold a new order whose billing or shipping contact has an ERROR-level issue (bad postcode,
    #: postcode of another state, unknown country, broken email): dead-lettered `invalid_address`
    #: with the suggestion instead of being sent; replayed after the address is corrected.
    hold_invalid_contacts: bool = False
    #: Accept reserved email domains (`.test`, ...): sandboxes and fixtures only.
    allow_test_domains: bool = False
    #: Before each order run, read the pending orders and fail a blocking check naming any payment
    #: method, shipping method or tax rate the mapping does not map (the run then sends nothing).
    require_mapped_values: bool = False
    #: Orders scoring at least this (0-100, `quality.anomalies`) are flagged in Brightpearl.
    anomaly_flag_at: int = Field(default=50, ge=1, le=100)
    #: How a flagged order is marked in Brightpearl: a private order note, the status
    #: `anomaly_status_id` (with the note), or not at all.
    anomaly_flag: Literal["none", "note", "status"] = "note"
    anomaly_status_id: int | None = Field(default=None, gt=0)
    #: Days of recent orders the quality assets look at (anomalies use 180 days of history).
    lookback_days: int = Field(default=7, ge=1, le=365)

    @model_validator(mode="after")
    def _status_named(self) -> QualityMapping:
        if self.anomaly_flag == "status" and self.anomaly_status_id is None:
            raise ValueError("anomaly_status_id is required when anomaly_flag is status")
        return self


class ReturnsMapping(_Strict):
    """Returns and refunds (sync/refunds.py, README "Returns and refunds")."""

    location: Literal["default", "quarantine"] = "default"  # where returned goods are received
    lookback_days: int = Field(default=60, ge=1, le=3650)  # orders (by creation) watched for refunds
    recheck_minutes: float = Field(default=60, ge=0)  # how often a return request not received yet is re-read
    refund_unpaid_credits_online: bool = False  # a staff credit without a PAYMENT is refunded through the gateway
FieldOwner = Literal["nopcommerce", "brightpearl", "both"]


class CustomerMapping(_Strict):
    """The customer flow (`mapping/customers.py`): which system owns each person field. `both`:
    either side may edit it, and the last writer wins (by the change's timestamp: nopCommerce's
    LastActivityDateUtc, Brightpearl's updatedOn)."""

    sync_registrations: bool = True
    email: FieldOwner = "both"
    first_name: FieldOwner = "both"
    last_name: FieldOwner = "both"
    phone: FieldOwner = "both"
    address: FieldOwner = "both"

    def owner(self, field: str) -> str:
        return getattr(self, field)


class PurchaseOrderMapping(_Strict):
    """Incoming stock from Brightpearl purchase orders (`mapping/purchase_orders.py`)."""

    backorders_in_nopcommerce: bool = False
    available_from_dates: bool = False
    cover_days: int = Field(default=28, ge=1, le=365)
    sales_window_days: int = Field(default=28, ge=1, le=365)


CatalogueOwner = Literal["brightpearl", "nopcommerce"]
#: Product fields the catalogue flow compares (nopCommerce ProductDto names). `sku` is the
#: natural key, never a field with an owner.
CATALOGUE_FIELDS: tuple[str, ...] = (
    "name", "gtin", "manufacturer_part_number", "weight", "length", "width", "height", "published", "short_description",
    "price",
)


class CatalogueMapping(_Strict):
    """Brightpearl products -> nopCommerce products (the catalogue flow). `owners`: which system
    owns each field (a field left out is Brightpearl's); only Brightpearl-owned fields are
    written to nopCommerce, nopCommerce-owned ones are left as the shop has them."""

    owners: dict[str, CatalogueOwner] = Field(default_factory=dict)
    create_in_nop: bool = False
    published_statuses: list[str] = Field(default_factory=lambda: ["LIVE"])
    # Brightpearl tax code -> nopCommerce tax_category_id, for products created in the shop.
    tax_categories: dict[str, int] = Field(default_factory=dict)

    @field_validator("owners")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name not in CATALOGUE_FIELDS:
                raise _KeyProblem(name, f"unknown catalogue field {name!r}; allowed: {', '.join(CATALOGUE_FIELDS)}")
        return value

    def owner(self, name: str) -> str:
        return self.owners.get(name, "brightpearl")


class StoreMappingEntry(_Strict):
    """One nopCommerce store: its Brightpearl channel, price list, default warehouse, and the
    warehouses and buffer its stock comes from (`stock`, default: the top-level `stock:`)."""

    channel_id: int = Field(gt=0)
    price_list_id: int = Field(gt=0)
    warehouse_id: int = Field(gt=0)
    stock: StockMapping | None = None


class MappingConfig(_Strict):
    """The whole mapping. See default_mapping.yaml for what each key means."""

    order_status: OrderStatusMapping
    payment_status: dict[NopPaymentStatusId, PaymentAction]
    shipping_status: ShippingStatusMapping
    channel_id: int = Field(gt=0)
    warehouse_id: int = Field(gt=0)
    price_list_id: int = Field(gt=0)
    price_mode: Literal["EXC", "INC"] = "EXC"
    currency_code: str = Field(pattern=r"^[A-Z]{3}$")
    tax_codes: dict[Decimal, str]
    exempt_tax_code: str = Field(min_length=1, max_length=16)
    shipping_methods: ShippingMethodMapping
    payment_methods: dict[str, str]
    authorization_expiry_days: int = Field(default=7, ge=1, le=365)
    nominal_codes: NominalCodes
    discount_allocation: Literal["spread", "rows"] = "spread"
    placeholder_sku: str = Field(min_length=1, max_length=64)
    countries: dict[str, str] = Field(default_factory=dict)
    # None: the one Brightpearl names in its replies (`with_instance_id`); a number wins over it.
    installed_integration_instance_id: int | None = Field(default=None, ge=0)
    external_ref_prefix: str = Field(default="nop-", max_length=32)
    fulfilment: FulfilmentMapping = Field(default_factory=FulfilmentMapping)
    stock: StockMapping
    quality: QualityMapping = Field(default_factory=QualityMapping)
    returns: ReturnsMapping = Field(default_factory=ReturnsMapping)
    customers: CustomerMapping = Field(default_factory=CustomerMapping)
    purchase_orders: PurchaseOrderMapping = Field(default_factory=PurchaseOrderMapping)
    catalogue: CatalogueMapping = Field(default_factory=CatalogueMapping)
    # nopCommerce store id -> its Brightpearl side. Empty: one store, the top-level keys serve
    # every store id (as before stores existed). Set: a store not listed is refused, never guessed.
    stores: dict[int, StoreMappingEntry] = Field(default_factory=dict)
    journals: JournalsMapping = Field(default_factory=JournalsMapping)

    @model_validator(mode="after")
    def _journals_name_mapped_methods(self) -> MappingConfig:
        mapped = set(self.payment_methods.values())
        for code in self.journals.by_payment_method:
            if code not in mapped:
                raise _KeyProblem(f"journals.by_payment_method.{code}",
                                  f"{code!r} is no Brightpearl payment method code of payment_methods (mapped: {_known(mapped)})")
        return self

    @field_validator("payment_status")
    @classmethod
    def _all_payment_statuses(cls, value: dict[int, str]) -> dict[int, str]:
        _require_all(value, NOP_PAYMENT_STATUSES, "nop payment status")
        return value

    @field_validator("tax_codes")
    @classmethod
    def _tax_codes(cls, value: dict[Decimal, str]) -> dict[Decimal, str]:
        if not value:
            raise ValueError("at least one tax rate → tax code is required")
        for rate, code in value.items():
            if not rate.is_finite() or rate < 0 or rate > 100:
                raise _KeyProblem(rate, "a tax rate is a percentage between 0 and 100")
            if not code or len(code) > 16:
                raise _KeyProblem(rate, f"tax code must be 1 to 16 characters, not {code!r}")
        return value

    @field_validator("payment_methods")
    @classmethod
    def _payment_methods(cls, value: dict[str, str]) -> dict[str, str]:
        for name, code in value.items():
            if not isinstance(code, str) or not code.strip() or len(code) > 36:
                # Brightpearl paymentMethodCode is required and at most 36 characters (notes §9).
                raise _KeyProblem(name, f"paymentMethodCode must be 1 to 36 characters, not {code!r}")
        return value

    @field_validator("countries")
    @classmethod
    def _countries(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for iso2, iso3 in value.items():
            if not (len(iso2) == 2 and iso2.isalpha()) or not (len(iso3) == 3 and iso3.isalpha()):
                raise _KeyProblem(iso2, f"countries maps a 2-letter ISO code to a 3-letter one, not {iso2!r} → {iso3!r}")
            out[iso2.upper()] = iso3.upper()
        return out

    # helpers used by the mapping functions
    def for_store(self, store_id: int) -> MappingConfig:
        """This mapping as seen by nopCommerce store `store_id`: its channel, price list,
        warehouse and stock section in place of the top-level ones. Without `stores:` the mapping
        itself, whatever the id. Raises MappingError("unknown_store") for a store not listed."""
        if not self.stores:
            return self
        entry = self.stores.get(store_id)
        if entry is None:
            listed = ", ".join(str(s) for s in sorted(self.stores))
            raise MappingError("unknown_store", f"nopCommerce store {store_id} is not in the mapping's stores ({listed})")
        return self.model_copy(update={"channel_id": entry.channel_id, "price_list_id": entry.price_list_id,
                                       "warehouse_id": entry.warehouse_id, "stock": entry.stock or self.stock})

    def with_instance_id(self, from_brightpearl: Callable[[], int | None]) -> MappingConfig:
        """This mapping with the installed integration instance id every order write and lookup
        uses: the mapping's own when set (it wins), else `from_brightpearl()` (the
        `brightpearl-installed-integration-instance-id` header of the account's replies), asked
        only then."""
        if self.installed_integration_instance_id is not None:
            return self
        return self.model_copy(update={"installed_integration_instance_id": from_brightpearl()})

    def tax_code_for(self, rate: Decimal) -> str | None:
        return self.tax_codes.get(Decimal(rate))

    def shipping_method_id(self, name: str | None) -> int:
        if name:
            if name in self.shipping_methods.by_name:
                return self.shipping_methods.by_name[name]
            folded = {k.strip().casefold(): v for k, v in self.shipping_methods.by_name.items()}
            if name.strip().casefold() in folded:
                return folded[name.strip().casefold()]
        return self.shipping_methods.default


# ---------------------------------------------------------------------------------------------
# loading


def _path_text(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part != "[key]"]
    return ".".join(parts) or "(top level)"


def _error_text(error: dict[str, Any]) -> str:
    loc = tuple(error.get("loc", ()))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _KeyProblem):
        loc = (*loc, cause.key)
    path = _path_text(loc)
    message = error.get("msg", "invalid")
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if error.get("type") == "extra_forbidden":
        message = "unknown key (not allowed here; check its spelling)"
    if error.get("type") == "missing":
        message = "required key is missing"
    if "[key]" in [str(p) for p in error.get("loc", ())]:
        message = f"bad key: {message}"
    return f"{path}: {message}"


def parse_mapping_config(data: Any, *, source: str = "mapping") -> MappingConfig:
    """Validate already-parsed YAML/JSON data; raise MappingConfigError naming each bad key."""
    if not isinstance(data, dict):
        raise MappingConfigError(f"{source}: the mapping must be a YAML mapping (key: value), not {type(data).__name__}")
    try:
        return MappingConfig.model_validate(data)
    except ValidationError as error:
        problems = [_error_text(e) for e in error.errors()]
        raise MappingConfigError(f"{source} is invalid: " + "; ".join(problems), problems) from None


def load_mapping_config(path: str | os.PathLike[str] | None = None) -> MappingConfig:
    """The mapping from `path`, else `$BP_NOP_MAPPING_FILE`, else the packaged default."""
    chosen = path or os.environ.get(settings.BP_NOP_MAPPING_FILE) or DEFAULT_MAPPING_FILE
    file = Path(chosen)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise MappingConfigError(f"cannot read mapping file {file}: {error.strerror or error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise MappingConfigError(f"mapping file {file} is not valid YAML: {error}") from None
    return parse_mapping_config(data, source=f"mapping file {file}")


# ---------------------------------------------------------------------------------------------
# against one Brightpearl account


def _known(values: Iterable[Any]) -> str:
    listed = sorted(values, key=lambda v: (str(type(v)), v))
    return ", ".join(str(v) for v in listed) or "none"


def validate_against_reference(
    config: MappingConfig,
    *,
    order_status_ids: Iterable[int] | None = None,
    channel_ids: Iterable[int] | None = None,
    warehouse_ids: Iterable[int] | None = None,
    price_list_ids: Iterable[int] | None = None,
    tax_codes: Iterable[str] | None = None,
    shipping_method_ids: Iterable[int] | None = None,
    nominal_codes: Iterable[str] | None = None,
) -> list[str]:
    """Every id or code in `config` that this Brightpearl account does not have, in words.
    A reference set passed as None is not checked (e.g. when it could not be fetched). Payment
    method codes are not among them: Brightpearl accepts any (see `unknown_payment_methods`)."""
    problems: list[str] = []

    def check(values: Iterable[tuple[str, Any]], known: Iterable[Any] | None, what: str) -> None:
        if known is None:
            return
        known_set = set(known)
        for path, value in values:
            if value not in known_set:
                problems.append(f"{path}: Brightpearl {what} {value!r} does not exist (known: {_known(known_set)})")

    statuses = [(f"order_status.by_order_status.{k}", v) for k, v in config.order_status.by_order_status.items()]
    if config.order_status.awaiting_payment_status_id is not None:
        statuses.append(("order_status.awaiting_payment_status_id", config.order_status.awaiting_payment_status_id))
    statuses += [(f"fulfilment.on_order_status.{k}", k) for k in config.fulfilment.on_order_status]
    if config.quality.anomaly_status_id is not None:
        statuses.append(("quality.anomaly_status_id", config.quality.anomaly_status_id))
    check(statuses, order_status_ids, "order status")
    check([("channel_id", config.channel_id)], channel_ids, "channel")
    check([("warehouse_id", config.warehouse_id)], warehouse_ids, "warehouse")
    check([(f"stock.brightpearl_warehouses.{i}", w) for i, w in enumerate(config.stock.brightpearl_warehouses)], warehouse_ids, "warehouse")
    check([("price_list_id", config.price_list_id)], price_list_ids, "price list")
    for store_id, entry in config.stores.items():
        check([(f"stores.{store_id}.channel_id", entry.channel_id)], channel_ids, "channel")
        check([(f"stores.{store_id}.warehouse_id", entry.warehouse_id)]
              + [(f"stores.{store_id}.stock.brightpearl_warehouses.{i}", w)
                 for i, w in enumerate(entry.stock.brightpearl_warehouses if entry.stock else [])], warehouse_ids, "warehouse")
        check([(f"stores.{store_id}.price_list_id", entry.price_list_id)], price_list_ids, "price list")
    codes = [(f"tax_codes.{rate}", code) for rate, code in config.tax_codes.items()]
    codes.append(("exempt_tax_code", config.exempt_tax_code))
    check(codes, tax_codes, "tax code")
    methods = [("shipping_methods.default", config.shipping_methods.default)]
    methods += [(f"shipping_methods.by_name.{k}", v) for k, v in config.shipping_methods.by_name.items()]
    check(methods, shipping_method_ids, "shipping method")
    check([(f"nominal_codes.{k}", v) for k, v in config.nominal_codes.model_dump().items()], nominal_codes, "nominal code")
    if config.journals.enabled:
        check([(f"journals.by_payment_method.{m}.{k}", v) for m, g in config.journals.by_payment_method.items()
               for k, v in g.model_dump(include={"clearing_nominal", "bank_nominal", "fee_nominal"}).items()],
              nominal_codes, "nominal code")
        check([("journals.tax_code", config.journals.tax_code)], tax_codes, "tax code")
    return problems


def unknown_payment_methods(config: MappingConfig, account_codes: Iterable[str]) -> list[str]:
    """Mapped payment method codes the account's payment-method list does not have, in words: a
    warning, not an error. Brightpearl records a customer payment with any code (the Customer
    Payment doc: the code "may or may not exist" as a Payment Method), but only a known one gets its
    Sales Receipt journal. Nothing to say when the account lists no codes at all (the recorded
    payment-method GET answers `{id, name}` only)."""
    known = {code for code in account_codes if code}
    if not known:
        return []
    return [
        f"payment_methods.{name}: Brightpearl has no payment method {code!r} (known: {_known(known)}); payments are "
        "recorded, but without a Sales Receipt journal"
        for name, code in config.payment_methods.items() if code not in known
    ]


__all__ = [
    "CATALOGUE_FIELDS",
    "CatalogueMapping",
    "DEFAULT_MAPPING_FILE",
    "StoreMappingEntry",
    "FulfilmentMapping",
    "MappingConfig",
    "MappingConfigError",
    "MappingError",
    "NOP_ORDER_STATUSES",
    "NOP_PAYMENT_STATUSES",
    "NOP_SHIPPING_STATUSES",
    "PAYMENT_ACTIONS",
    "QualityMapping",
    "StockMapping",
    "load_mapping_config",
    "parse_mapping_config",
    "unknown_payment_methods",
    "validate_against_reference",
]
