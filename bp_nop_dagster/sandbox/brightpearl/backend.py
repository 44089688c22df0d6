"""In-memory state and behaviour of one simulated Brightpearl account (no HTTP here).

Public methods named `api_*` take already-parsed request pieces (path strings, query dict, JSON
body) and return the whole JSON body to send with 200; errors are raised as
`BrightpearlApiError(status, code, message)` and rendered as `{"errors":[{"code","message"}]}`.
Nothing here awaits: the HTTP layer reads the body first, then calls one method synchronously,
which keeps state consistent without locks (both simulators share one event loop).

Fixed reference data (ids are what the API answers):

- tax codes (`/accounting-service/tax-code`): 1 `T20` standard 20 %, 2 `T5` reduced 5 %,
  3 `T0` zero rated 0 %, 4 `-` exempt (no rate).
- order statuses (`/order-service/order-status`): sales orders 1 Draft / Quote, 2 New web order,
  3 New phone order, 4 Invoiced, 5 Cancelled, 6 Awaiting payment, 7 Ready to ship, 8 Dispatched;
  sales credits 10 Sales credit, 11 Credit refunded, 12 Credit cancelled. Cancelled = 5 and 12.
- order types: 1 Sales Order (SO), 2 Purchase Order (PO), 3 Sales Credit (SC), 4 Purchase Credit (PC).
- order-search ids (UNCONFIRMED mapping, only 5 NOT_APPLICABLE and 13 Unset are recorded):
  payment status 1 PAID, 2 UNPAID, 3 PARTIALLY_PAID, 5 NOT_APPLICABLE; stock status 1 None (SON),
  2 Partial (SOP), 3 All (SOA), 13 Unset (NON, no stock-tracked rows); shipping status 1 NST,
  2 SNS, 3 SPS, 4 ASS (recorded).
- channels: 1 nopCommerce web store, 2 Phone & mail order.
- price lists: 1 Cost (BUY, net), 2 Retail (SELL, gross/INC); currency GBP.
- currencies: 1 GBP (accounting currency), 2 EUR, 3 USD.
- payment methods: 1 CARD, 2 PAYPAL, 3 CHEQUE, 4 BANK, 5 CASH, 6 GIFTCARD, 7 PURCHASEORDER.
- nominal codes: 1100 Debtors control, 1200 Bank current account, 2200 VAT, 4000 Sales,
  4040 Carriage (shipping income), 5000 Cost of sales.
- shipping methods: 1 Standard, 2 Express, 3 Click & collect.
- countries: GB/GBR 222 (as recorded), US/USA 223, DE/DEU 80, FR/FRA 73, IE/IRL 103, ES/ESP 195,
  NL/NLD 150, SE/SWE 205, IT/ITA 105, BE/BEL 21, CA/CAN 38, AU/AUS 13, CR/CRI 282 (as recorded).
- warehouses are NOT reference data: the generator adds them (`add_warehouse`); each warehouse
  has one default location whose id is `100 + warehouseId`.

Id ranges (distinct per entity so a client mixing ids up fails visibly): products 1001+,
contacts 201+, postal addresses 50001+, orders and credits 300001+, order rows 700001+, goods
notes (goods-out and stock corrections) 900001+, goods movements 1+, payments 935001+,
journals 3000001+.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import count
from typing import Any, Callable, Iterable, Mapping

from bp_nop_dagster.sandbox.brightpearl.throttle import Throttle
from bp_nop_dagster.sandbox.instrumentation import json_bytes
from bp_nop_dagster.sandbox.world import SandboxCredentials

UTC = timezone.utc
D0 = Decimal(0)
Q2 = Decimal("0.01")
Q4 = Decimal("0.0001")


class BrightpearlApiError(Exception):
    """An error the API answers in its `{"errors":[{code,message}]}` envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _bad(code: str, message: str, status: int = 400) -> BrightpearlApiError:
    return BrightpearlApiError(status, code, message)


def _not_found(message: str) -> BrightpearlApiError:
    return BrightpearlApiError(404, "CMNC-404", message)


# ---------------------------------------------------------------- formatting and parsing


@lru_cache(maxsize=262_144)
def fmt_dt(value: datetime) -> str:
    """`2026-11-20T10:39:46.000+00:00`: the recorded format (milliseconds, explicit offset)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    offset = value.strftime("%z")
    return f"{value.strftime('%Y-%m-%dT%H:%M:%S')}.{value.microsecond // 1000:03d}{offset[:3]}:{offset[3:]}"


def _fmt(value: Any) -> Any:
    if isinstance(value, datetime):
        return fmt_dt(value)
    if isinstance(value, Decimal):
        return str(value.quantize(Q2))
    return value


def m2(value: Decimal) -> str:
    return str(value.quantize(Q2))


def m4(value: Decimal) -> str:
    return str(value.quantize(Q4))


_DATE_ONLY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_datetime(value: Any, *, end_of_day: bool = False) -> datetime:
    """ISO-8601 with `Z` or an offset, or a date (`2024-1-5`); naive means UTC. Raises ValueError."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("not a date")
    text = value.strip()
    match = _DATE_ONLY.match(text)
    if match:
        day = date(int(match[1]), int(match[2]), int(match[3]))
        parsed = datetime.combine(day, time.min, tzinfo=UTC)
        return parsed + timedelta(days=1) - timedelta(microseconds=1) if end_of_day else parsed
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text.replace(" ", "+") if re.search(r"\d \d\d:\d\d$", text) else text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_idset(text: str) -> list[tuple[int, int]]:
    """`8`, `1-100`, `1,5,9`, `1-100,205` -> ranges. Raises ValueError (ascending ranges only)."""
    ranges: list[tuple[int, int]] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            raise ValueError("empty id")
        if "-" in part:
            low, _, high = part.partition("-")
            if not (low.isdigit() and high.isdigit()):
                raise ValueError(part)
            a, b = int(low), int(high)
            if a > b:
                raise ValueError(part)
            ranges.append((a, b))
        else:
            if not part.isdigit():
                raise ValueError(part)
            ranges.append((int(part), int(part)))
    return ranges


def idset_ids(text: str, cap: int | None) -> list[int]:
    """The ids of an ID set in order, de-duplicated; 400 if malformed or over `cap`."""
    try:
        ranges = parse_idset(text)
    except ValueError:
        raise _bad("CMNC-011", f"The ID set {text} is not valid") from None
    total = sum(b - a + 1 for a, b in ranges)
    if cap is not None and total > cap:
        # UNCONFIRMED code and text: the docs only state the 200 (500 for goods-out) limit.
        raise _bad("CMNC-050", f"ID set exceeds maximum of {cap}")
    seen: set[int] = set()
    ids: list[int] = []
    for a, b in ranges:
        for value in range(a, b + 1):
            if value not in seen:
                seen.add(value)
                ids.append(value)
    return ids


def compress_ids(ids: Iterable[int]) -> str:
    """Sorted ids -> `1-2,5,8,10-41` (ranges merged), as OPTIONS answers."""
    parts: list[str] = []
    start = prev = None
    for value in ids:
        if start is None:
            start = prev = value
        elif value == prev + 1:
            prev = value
        else:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = prev = value
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ",".join(parts)


def options_uris(resource: str, existing: Iterable[int], text: str | None, per_uri: int = 200) -> dict:
    if text is None:
        chosen = sorted(existing)
    else:
        try:
            ranges = sorted(parse_idset(text))
        except ValueError:
            raise _bad("CMNC-011", f"The ID set {text} is not valid") from None
        chosen = sorted(i for i in existing if _in_ranges(i, ranges))
    uris = [f"/{resource}/{compress_ids(chosen[i : i + per_uri])}" for i in range(0, len(chosen), per_uri)]
    return {"response": {"getUris": uris}}


def _in_ranges(value: int, ranges: list[tuple[int, int]]) -> bool:
    for a, b in ranges:
        if a <= value <= b:
            return True
    return False


def _dec(value: Any, what: str, code: str = "CMNC-012") -> Decimal:
    if isinstance(value, bool) or value is None:
        raise _bad(code, f"{what} must be a number")
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _bad(code, f"{what} must be a number, not {value!r}") from None
    if not result.is_finite():
        raise _bad(code, f"{what} must be a number, not {value!r}")
    return result


def _int(value: Any, what: str, code: str = "CMNC-012") -> int:
    if isinstance(value, bool) or value is None:
        raise _bad(code, f"{what} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise _bad(code, f"{what} must be an integer, not {value!r}")


def _obj(value: Any, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad("CMNC-012", f"{what} must be a JSON object")
    return value


def _str(value: Any, what: str, max_len: int | None = None, code: str = "CMNC-012") -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise _bad(code, f"{what} must be a string")
    text = str(value)
    if max_len is not None and len(text) > max_len:
        raise _bad(code, f"{what} must be {max_len} characters or fewer")
    return text


def _date(value: Any, what: str, code: str = "CMNC-013") -> datetime:
    try:
        return parse_datetime(value)
    except (ValueError, TypeError):
        raise _bad(code, f"{what} is not a valid ISO-8601 date: {value!r}") from None


# ---------------------------------------------------------------- reference data

TAX_CODES = [
    {"id": 1, "code": "T20", "description": "Standard rate 20%", "rate": 20.0},
    {"id": 2, "code": "T5", "description": "Reduced rate 5%", "rate": 5.0},
    {"id": 3, "code": "T0", "description": "Zero rated 0%"},  # rate 0 omitted, as recorded
    {"id": 4, "code": "-", "description": "Exempt"},
]
ORDER_TYPES = [
    {"id": 1, "name": "Sales Order", "code": "SO"},
    {"id": 2, "name": "Purchase Order", "code": "PO"},
    {"id": 3, "name": "Sales Credit", "code": "SC"},
    {"id": 4, "name": "Purchase Credit", "code": "PC"},
]
ORDER_TYPE_IDS = {"SO": 1, "PO": 2, "SC": 3, "PC": 4}
ORDER_TYPE_NAMES = {"1": "SALES_ORDER", "2": "PURCHASE_ORDER", "3": "SALES_CREDIT", "4": "PURCHASE_CREDIT"}


def _status(status_id, name, type_code, sort, color, state):
    return {
        "statusId": status_id, "name": name, "orderTypeCode": type_code, "sortOrder": sort, "disabled": False,
        "visible": True, "color": color, "remindAfterDays": 0, "alertEmails": [], "emailContent": "",
        "batchProcess": False, "state": state,
    }


ORDER_STATUSES = [
    _status(1, "Draft / Quote", "SO", 0, "#E7E6E4", "draft"),
    _status(2, "New web order", "SO", 1, "#60A0FF", "open"),
    _status(3, "New phone order", "SO", 2, "#60A0FF", "open"),
    _status(4, "Invoiced", "SO", 3, "#8FD16A", "invoiced"),
    _status(5, "Cancelled", "SO", 9, "#FF6060", "cancelled"),
    _status(6, "Awaiting payment", "SO", 4, "#FFD060", "open"),
    _status(7, "Ready to ship", "SO", 5, "#A0E0A0", "open"),
    _status(8, "Dispatched", "SO", 6, "#40B040", "completed"),
    _status(10, "Sales credit", "SC", 0, "#E7E6E4", "open"),
    _status(11, "Credit refunded", "SC", 1, "#40B040", "completed"),
    _status(12, "Credit cancelled", "SC", 9, "#FF6060", "cancelled"),
]
CANCELLED_STATUSES = {5, 12}
DEFAULT_STATUS = {"SO": 2, "SC": 10}
SHIPPING_STATUSES = [
    {"id": 1, "code": "NST", "description": "No stock tracked products on order"},
    {"id": 2, "code": "SNS", "description": "Stock not shipped"},
    {"id": 3, "code": "SPS", "description": "Stock part shipped"},
    {"id": 4, "code": "ASS", "description": "All stock shipped"},
]
SHIPPING_STATUS_IDS = {s["code"]: s["id"] for s in SHIPPING_STATUSES}
STOCK_STATUSES = [
    {"id": 1, "name": "None", "code": "SON"},
    {"id": 2, "name": "Partial", "code": "SOP"},
    {"id": 3, "name": "All", "code": "SOA"},
    {"id": 13, "name": "Unset", "code": "NON"},
]
STOCK_STATUS_IDS = {"N": 1, "P": 2, "A": 3, "NON": 13}
PAYMENT_STATUS_IDS = {"PAID": 1, "UNPAID": 2, "PARTIALLY_PAID": 3, "NOT_APPLICABLE": 5}
CHANNELS = [
    {"id": 1, "name": "nopCommerce web store", "channelTypeId": 1, "defaultPriceListId": 2, "defaultWarehouseId": None},
    {"id": 2, "name": "Phone & mail order", "channelTypeId": 2, "defaultPriceListId": 2, "defaultWarehouseId": None},
]
PRICE_LISTS = [
    {"id": 1, "name": {"languageCode": "en", "text": "Cost", "format": "PLAINTEXT"}, "code": "COST", "currencyCode": "GBP",
     "currencySymbol": "£", "currencyId": 1, "priceListTypeCode": "BUY", "gross": False, "priceModeCode": "EXC"},
    {"id": 2, "name": {"languageCode": "en", "text": "Retail", "format": "PLAINTEXT"}, "code": "RETAIL", "currencyCode": "GBP",
     "currencySymbol": "£", "currencyId": 1, "priceListTypeCode": "SELL", "gross": True, "priceModeCode": "INC"},
]
CURRENCIES = {"GBP": 1, "EUR": 2, "USD": 3}
ACCOUNTING_CURRENCY = "GBP"
PAYMENT_METHODS = [
    {"id": 1, "code": "CARD", "name": "Credit / debit card"},
    {"id": 2, "code": "PAYPAL", "name": "PayPal"},
    {"id": 3, "code": "CHEQUE", "name": "Cheque"},
    {"id": 4, "code": "BANK", "name": "Bank transfer"},
    {"id": 5, "code": "CASH", "name": "Cash"},
    {"id": 6, "code": "GIFTCARD", "name": "Gift card"},
    {"id": 7, "code": "PURCHASEORDER", "name": "Purchase order (on account)"},
]
PAYMENT_METHOD_CODES = {m["code"] for m in PAYMENT_METHODS}
PAYMENT_TYPES = {"AUTH", "CAPTURE", "PAYMENT", "RECEIPT", "VOID"}
NOMINAL_CODES = [
    {"id": 1100, "code": "1100", "name": "Debtors control"},
    {"id": 1200, "code": "1200", "name": "Bank current account"},
    {"id": 2200, "code": "2200", "name": "VAT"},
    {"id": 4000, "code": "4000", "name": "Sales"},
    {"id": 4040, "code": "4040", "name": "Carriage"},
    {"id": 5000, "code": "5000", "name": "Cost of sales"},
]
NOMINAL_CODE_SET = {n["code"] for n in NOMINAL_CODES}
SHIPPING_METHODS = [
    {"id": 1, "name": "Standard", "code": "STD"},
    {"id": 2, "name": "Express", "code": "EXP"},
    {"id": 3, "name": "Click & collect", "code": "CNC"},
]
COUNTRIES = [  # iso2, iso3, id, name
    ("GB", "GBR", 222, "United Kingdom"), ("US", "USA", 223, "United States"), ("DE", "DEU", 80, "Germany"),
    ("FR", "FRA", 73, "France"), ("IE", "IRL", 103, "Ireland"), ("ES", "ESP", 195, "Spain"),
    ("NL", "NLD", 150, "Netherlands"), ("SE", "SWE", 205, "Sweden"), ("IT", "ITA", 105, "Italy"),
    ("BE", "BEL", 21, "Belgium"), ("CA", "CAN", 38, "Canada"), ("AU", "AUS", 13, "Australia"),
    ("CR", "CRI", 282, "Costa Rica"),
]
_COUNTRY_BY_KEY: dict[Any, tuple[str, str, int, str]] = {}
for _c in COUNTRIES:
    _COUNTRY_BY_KEY[_c[0]] = _c
    _COUNTRY_BY_KEY[_c[1]] = _c
    _COUNTRY_BY_KEY[_c[2]] = _c
GON_EVENT_CODES = {"PRI", "UPR", "PIC", "UPI", "PAC", "UPA", "SHW"}
STAFF_ID = 4  # the API user's staff contact id (createdById etc.)


def _country(value: Any, what: str, code: str) -> tuple[str, str, int, str]:
    key = value.strip().upper() if isinstance(value, str) else value
    found = _COUNTRY_BY_KEY.get(key)
    if found is None:
        raise _bad(code, f"{what}: unknown country {value!r}")
    return found


# ---------------------------------------------------------------- entities


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


@dataclass(slots=True)
class Contact:
    id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    created_on: datetime
    updated_on: datetime
    addresses: dict[str, int] = field(default_factory=dict)
    salutation: str = ""
    company: str = ""
    is_supplier: bool = False
    is_staff: bool = False
    email2: str = ""
    email3: str = ""
    phone2: str = ""
    mobile: str = ""
    price_list_id: int = 2
    newsletter: bool = False


@dataclass(slots=True)
class OrderRow:
    id: int
    sequence: int
    product_id: int | None
    name: str
    sku: str
    quantity: Decimal
    net: Decimal
    tax: Decimal
    tax_code: str
    tax_rate: Decimal
    tax_class_id: int
    nominal_code: str
    external_ref: str | None
    price: Decimal
    cost: Decimal


@dataclass(slots=True)
class Order:
    id: int
    type_code: str
    reference: str
    external_ref: str | None
    integration_instance_id: int | None
    parent_id: int
    customer_id: int
    billing_contact_id: int
    status_id: int
    placed_on: datetime
    created_on: datetime
    updated_on: datetime
    tax_date: datetime
    warehouse_id: int
    channel_id: int
    price_list_id: int
    price_mode: str
    currency: str
    exchange_rate: Decimal
    delivery_date: datetime | None
    shipping_method_id: int
    parties: dict[str, dict]
    rows: dict[int, OrderRow] = field(default_factory=dict)
    version: int = 1
    staff_owner_id: int = 0
    lead_source_id: int = 0
    team_id: int = 0
    project_id: int = 0
    notes: list[dict] = field(default_factory=list)


@dataclass(slots=True)
class GoodsOutNote:
    id: int
    order_id: int
    warehouse_id: int
    rows: dict[int, list[dict]]
    created_on: datetime
    updated_on: datetime
    release_date: datetime
    sequence: int
    priority: bool = False
    shipping_method_id: int = 0
    reference: str = ""
    boxes: int | None = None
    weight: str | None = None
    label_uri: str | None = None
    flags: dict[str, datetime | None] = field(default_factory=lambda: {"printed": None, "picked": None, "packed": None, "shipped": None})
    by: dict[str, int] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    last_event_version: int = 0

    @property
    def shipped(self) -> bool:
        return self.flags["shipped"] is not None


@dataclass(slots=True)
class Payment:
    id: int
    transaction_ref: str | None
    transaction_code: str | None
    method: str
    type: str
    order_id: int
    currency: str
    amount_authorized: Decimal
    amount_paid: Decimal
    expires: datetime | None
    payment_date: datetime
    created_on: datetime
    journal_id: int | None
    journal_ref: str | None = None


# ---------------------------------------------------------------- search engine


class Col:
    __slots__ = ("name", "type", "get", "sortable", "filterable", "meta")

    def __init__(self, name: str, type_: str, get: Callable[[Any], Any], *, sortable: bool = True,
                 filterable: bool = True, ref: tuple[str, ...] = ()) -> None:
        self.name = name
        self.type = type_
        self.get = get
        self.sortable = sortable
        self.filterable = filterable
        self.meta = {"name": name, "sortable": sortable, "filterable": filterable, "reportDataType": type_,
                     "referenceData": list(ref), "isFreeTextSearchable": False, "required": False}


class SearchSpec:
    def __init__(self, cols: list[Col], items: Callable[[], list], *, reference: Callable[[list], dict] | None = None,
                 row: Callable[[Any], list] | None = None,
                 extra_filters: dict[str, tuple[str, Callable[[Any, Any], bool]]] | None = None,
                 row_json: Callable[[Any], bytes] | None = None) -> None:
        self.cols = cols
        self.by_name = {c.name: c for c in cols}
        self.items = items
        self.reference = reference
        self.row = row or (lambda item: [_fmt(c.get(item)) for c in cols])
        self.extra_filters = extra_filters or {}
        self.row_json = row_json  # cached serialized rows (immutable or versioned items)


_RESERVED = {"columns", "sort", "pageSize", "firstResult", "includeOptional"}
MAX_PAGE = 500


def _filter_error(name: str, raw: str, type_: str) -> BrightpearlApiError:
    return BrightpearlApiError(500, "CMNC-018", f"The filter {name}={raw} cannot be parsed as: {type_}")


def _predicate(name: str, type_: str, raw: str) -> Callable[[Any], bool]:
    """Value predicate for a filter; unparsable -> 500 CMNC-018 (as recorded)."""
    if type_ == "IDSET":
        try:
            ranges = parse_idset(raw)
        except ValueError:
            raise _filter_error(name, raw, type_) from None
        return lambda v: v is not None and _in_ranges(v, ranges)
    if type_ == "INTEGER":
        text = raw.strip()
        if not text.lstrip("-").isdigit():
            raise _filter_error(name, raw, type_)
        target = int(text)
        return lambda v: v == target
    if type_ == "BOOLEAN":
        low = raw.strip().lower()
        if low not in ("true", "false"):
            raise _filter_error(name, raw, type_)
        flag = low == "true"
        return lambda v: bool(v) == flag
    if type_ == "PERIOD":
        text = raw.strip()
        try:
            if "/" in text:
                start_s, _, end_s = text.partition("/")
                start = parse_datetime(start_s) if start_s.strip() else None
                end = parse_datetime(end_s, end_of_day=True) if end_s.strip() else None
                if start is None and end is None:
                    raise ValueError
            else:  # a single day/instant: that day (or exactly that instant)
                start = parse_datetime(text)
                end = parse_datetime(text, end_of_day=True)
        except (ValueError, TypeError):
            raise _filter_error(name, raw, type_) from None
        # Both ends inclusive (UNCONFIRMED; inclusive is the safe reading for incremental polling:
        # a client re-reading its last timestamp sees a duplicate, never a gap).
        return lambda v: v is not None and (start is None or v >= start) and (end is None or v <= end)
    if type_ == "SEARCH_STRING":
        needle = raw.strip().lower()
        return lambda v: v is not None and needle in str(v).lower()
    if type_ == "STRING_SET":
        wanted = {part.strip().lower() for part in raw.split(",")}
        return lambda v: v is not None and str(v).lower() in wanted
    # STRING: exact match, case-insensitive (UNCONFIRMED: the real collation is case-insensitive).
    target = raw.strip().lower()
    return lambda v: v is not None and str(v).lower() == target


def run_search(spec: SearchSpec, query: Mapping[str, str], *, raw: bool = False,
               presorted: tuple[list, list[tuple[Col, bool]]] | None = None) -> Any:
    """The search body as a dict, or (raw=True) as JSON bytes built from cached row bytes."""
    # columns
    selected: list[int] | None = None
    if query.get("columns"):
        selected = []
        index = {c.name: i for i, c in enumerate(spec.cols)}
        for name in query["columns"].split(","):
            name = name.strip()
            if name not in index:
                raise _bad("CMNC-019", f"Unknown column {name} in columns")
            selected.append(index[name])
    # sort
    sorts: list[tuple[Col, bool]] = []
    if query.get("sort"):
        for part in query["sort"].split(","):
            name, _, direction = part.strip().rpartition(".")
            if not name:
                name, direction = direction, "ASC"
            direction = direction.upper()
            col = spec.by_name.get(name)
            if col is None or direction not in ("ASC", "DESC"):
                raise _bad("CMNC-019", f"Invalid sort {part}: unknown column or direction")
            if not col.sortable:
                raise _bad("CMNC-019", f"Column {name} is not sortable")
            sorts.append((col, direction == "DESC"))
    # paging: pageSize above 500 is clamped to 500 (UNCONFIRMED; clamping keeps a client that
    # paginates on morePagesAvailable correct either way).
    try:
        page_size = int(query.get("pageSize", MAX_PAGE))
        first = int(query.get("firstResult", 1))
    except ValueError:
        raise _bad("CMNC-020", "pageSize and firstResult must be integers") from None
    if page_size < 1 or first < 1:
        raise _bad("CMNC-020", "pageSize and firstResult must be at least 1")
    page_size = min(page_size, MAX_PAGE)
    # filters (unknown parameters are ignored, as the real API does with unknown query params)
    predicates: list[Callable[[Any], bool]] = []
    for name, raw in query.items():
        if name in _RESERVED:
            continue
        col = spec.by_name.get(name)
        if col is not None and col.filterable:
            check = _predicate(name, col.type, raw)
            get = col.get
            predicates.append(lambda item, check=check, get=get: check(get(item)))
        elif name in spec.extra_filters:
            type_, fn = spec.extra_filters[name]
            check = _predicate(name, type_, raw) if type_ != "RAW" else raw
            predicates.append(lambda item, check=check, fn=fn: fn(item, check))
    if presorted is not None:  # items already in the order of `sorts` (and no `sort` in query)
        items, sorts = presorted
    else:
        items = spec.items()
    if predicates:
        items = [item for item in items if all(p(item) for p in predicates)]
    for col, desc in reversed(sorts if presorted is None else []):
        get = col.get
        present = [item for item in items if get(item) is not None]
        missing = [item for item in items if get(item) is None]
        present.sort(key=get, reverse=desc)
        items = present + missing
    total = len(items)
    page = items[first - 1 : first - 1 + page_size]
    fast = raw and spec.row_json is not None and selected is None
    rows = [] if fast else [spec.row(item) for item in page]
    cols = spec.cols
    if selected is not None:
        rows = [[row[i] for i in selected] for row in rows]
        cols = [spec.cols[i] for i in selected]
    meta: dict[str, Any] = {
        "morePagesAvailable": first - 1 + len(page) < total,
        "resultsAvailable": total,
        "resultsReturned": len(page),
    }
    if page:
        meta["firstResult"] = first
        meta["lastResult"] = first + len(page) - 1
    meta["columns"] = [c.meta for c in cols]
    meta["sorting"] = [{"filterable": c.meta, "direction": "DESC" if d else "ASC"} for c, d in sorts] or [
        {"filterable": spec.cols[0].meta, "direction": "ASC"}
    ]
    body: dict[str, Any] = {"response": {"results": rows, "metaData": meta}}
    body["reference"] = spec.reference(page) if spec.reference else {}
    if not raw:
        return body
    encoded = json_bytes(body)
    if fast and page:
        row_json = spec.row_json
        assert spec.row_json is not None
        encoded = encoded.replace(b'"results":[]', b'"results":[' + b",".join([row_json(item) for item in page]) + b"]", 1)
    return encoded


# ---------------------------------------------------------------- the backend


class BrightpearlBackend:
    """One Brightpearl account in memory. See the module docstring for reference data ids."""

    def __init__(self, credentials: SandboxCredentials, clock: Callable[[], datetime] | None = None) -> None:
        self.credentials = credentials
        # Public so the generator may swap it while building history.
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.throttle = Throttle()
        self._ids = {
            "warehouse": count(1), "product": count(1001), "contact": count(201), "address": count(50001),
            "order": count(300001), "row": count(700001), "note": count(900001), "movement": count(1),
            "payment": count(935001), "journal": count(3000001), "event": count(3131001), "token": count(1),
        }
        self.warehouses: dict[int, dict] = {}
        self.products: dict[int, Product] = {}
        self.contacts: dict[int, Contact] = {}
        self.addresses: dict[int, dict] = {}
        self.orders: dict[int, Order] = {}
        self.notes: dict[int, GoodsOutNote] = {}
        self.payments: dict[int, Payment] = {}
        self.movements: list[dict] = []  # kept sorted by (updatedOn, id)
        self._movement_keys: list[tuple[datetime, int]] = []
        self.stock_corrections: dict[int, dict] = {}
        self.reservations: dict[int, dict[int, dict[int, dict]]] = {}  # order -> warehouse -> row -> {productId, quantity}
        self._in_stock: dict[tuple[int, int], int] = {}
        self._allocated: dict[tuple[int, int], int] = {}
        self._stock_warehouses: dict[int, set[int]] = {}
        self._notes_by_order: dict[int, list[int]] = {}
        self._payments_by_order: dict[int, list[int]] = {}
        self._payment_refs: dict[tuple[str, str], int] = {}
        self._external_refs: dict[tuple[str, int | None], int] = {}
        self._product_cache: dict[int, tuple[dict, list]] = {}
        self._product_json: dict[int, bytes] = {}
        self._product_row_json: dict[int, bytes] = {}
        self._movement_json: dict[int, bytes] = {}
        self._derived_memo: dict[int, tuple] | None = None
        # OAuth: access token -> {"expired": bool}; refresh tokens; authorization codes
        self.access_tokens: dict[str, dict] = {credentials.brightpearl_oauth_access_token: {"expired": False}}
        self.refresh_tokens: set[str] = {"sandbox-oauth-refresh-token"}
        self.auth_codes: set[str] = {"sandbox-auth-code"}
        self._searches = self._build_search_specs()

    # ------------------------------------------------------------ helpers

    def _next(self, kind: str) -> int:
        return next(self._ids[kind])

    def _now(self) -> datetime:
        value = self.clock()
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def _tax(self, code: Any, what: str, error_code: str) -> dict:
        for tax in TAX_CODES:
            if tax["code"] == code or (isinstance(code, int) and not isinstance(code, bool) and tax["id"] == code):
                return tax
        raise _bad(error_code, f"{what}: tax code {code!r} does not exist")

    def on_hand(self, product_id: int, warehouse_id: int) -> int:
        key = (product_id, warehouse_id)
        return self._in_stock.get(key, 0) - self._allocated.get(key, 0)

    def _alloc(self, product_id: int, warehouse_id: int, delta: int) -> None:
        key = (product_id, warehouse_id)
        self._allocated[key] = self._allocated.get(key, 0) + delta
        self._stock_warehouses.setdefault(product_id, set()).add(warehouse_id)

    def _add_movement(self, product_id: int, warehouse_id: int, quantity: int, type_code: str, note_id: int, at: datetime) -> None:
        movement = {
            "goodsMovementId": self._next("movement"), "productId": product_id, "quantity": quantity,
            "destinationLocationId": self.default_location(warehouse_id), "warehouseId": warehouse_id,
            "currencyCode": ACCOUNTING_CURRENCY, "goodsNoteTypeCode": type_code, "goodsNoteId": note_id, "updatedOn": at,
        }
        key = (at, movement["goodsMovementId"])
        position = bisect_left(self._movement_keys, key)
        self._movement_keys.insert(position, key)
        self.movements.insert(position, movement)
        self._in_stock[(product_id, warehouse_id)] = self._in_stock.get((product_id, warehouse_id), 0) + quantity
        self._stock_warehouses.setdefault(product_id, set()).add(warehouse_id)

    @staticmethod
    def default_location(warehouse_id: int) -> int:
        return 100 + warehouse_id

    def sku_to_product_id(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for product in self.products.values():
            result.setdefault(product.sku, product.id)
        return result

    def state_counts(self) -> dict:
        return {
            "warehouses": len(self.warehouses), "products": len(self.products), "contacts": len(self.contacts),
            "postal_addresses": len(self.addresses),
            "orders": sum(1 for o in self.orders.values() if o.type_code == "SO"),
            "credits": sum(1 for o in self.orders.values() if o.type_code == "SC"),
            "payments": len(self.payments), "goods_out_notes": len(self.notes),
            "shipped_goods_out_notes": sum(1 for n in self.notes.values() if n.shipped),
            "reservations": sum(len(v) for v in self.reservations.values()),
            "goods_movements": len(self.movements), "stock_corrections": len(self.stock_corrections),
        }

    # ------------------------------------------------------------ OAuth (tokens are opaque strings)

    def issue_tokens(self) -> dict:
        number = self._next("token")
        access = f"sandbox-access-{number:06d}"
        refresh = f"sandbox-refresh-{number:06d}"
        self.access_tokens[access] = {"expired": False}
        self.refresh_tokens.add(refresh)
        return {"access_token": access, "refresh_token": refresh, "installation_instance_id": "1",
                "api_domain": "sandbox", "token_type": "Bearer", "expires_in": 604800}

    def expire_tokens(self, token: str | None = None) -> list[str]:
        targets = [token] if token else [t for t, s in self.access_tokens.items() if not s["expired"]]
        for t in targets:
            if t in self.access_tokens:
                self.access_tokens[t]["expired"] = True
        return [t for t in targets if t in self.access_tokens]

    def oauth_token(self, form: Mapping[str, str]) -> tuple[int, dict]:
        """`POST /oauth/token/{account}` (form fields). Returns (status, body) as recorded."""
        if form.get("client_id") != self.credentials.brightpearl_app_ref:
            return 400, {"error": "invalid_client"}
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = form.get("code", "")
            if code not in self.auth_codes:
                return 400, {"error_description": "The auth token has either expired or does not exist", "error": "invalid_grant"}
            if not form.get("redirect_uri"):
                return 400, {"error_description": "Redirect uri does not match that used to request auth token", "error": "invalid_grant"}
            self.auth_codes.discard(code)
            return 200, self.issue_tokens()
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self.refresh_tokens:
                return 400, {"error_description": "The auth token has either expired or does not exist", "error": "invalid_grant"}
            self.refresh_tokens.discard(refresh)  # refresh tokens rotate
            tokens = self.issue_tokens()
            tokens.pop("installation_instance_id")  # the recorded refresh reply lacks it
            return 200, tokens
        return 400, {"error": "unsupported_grant_type"}

    # ------------------------------------------------------------ generator interface

    def add_warehouse(self, name: str, code: str) -> int:
        warehouse_id = self._next("warehouse")
        self.warehouses[warehouse_id] = {"id": warehouse_id, "name": name, "code": code}
        self._invalidate_products()  # product GETs list per-warehouse settings
        return warehouse_id

    def add_product(self, sku: str, name: str, *, price: Decimal, tax_code: str = "T20", stock_tracked: bool = True,
                    created_on: datetime | None = None) -> int:
        tax = self._tax(tax_code, "product", "PRDC-016")
        when = created_on or self._now()
        product_id = self._next("product")
        self.products[product_id] = Product(
            id=product_id, sku=sku, name=name, price=Decimal(str(price)), tax_code_id=tax["id"],
            stock_tracked=stock_tracked, created_on=when, updated_on=when,
        )
        return product_id

    def correct_stock(self, warehouse_id: int, product_id: int, quantity: int, reason: str = "Stock take",
                      at: datetime | None = None) -> int:
        return self._stock_correction(warehouse_id, [{"productId": product_id, "quantity": quantity, "reason": reason}], at)[0]

    def add_contact(self, *, first_name: str, last_name: str, email: str | None, phone: str | None = None,
                    address: dict | None = None, created_on: datetime | None = None) -> int:
        body: dict[str, Any] = {"firstName": first_name, "lastName": last_name,
                                "communication": {"emails": {"PRI": {"email": email}} if email else {},
                                                  "telephones": {"PRI": phone} if phone else {}}}
        if address:
            address_id = self.create_postal_address(address)
            body["postAddressIds"] = {"DEF": address_id, "BIL": address_id, "DEL": address_id}
        return self.create_contact(body, created_on=created_on)

    # ------------------------------------------------------------ reference data

    def api_reference(self, kind: str, idset: str | None) -> dict:
        items: list[dict]
        key = "id"
        if kind == "tax-code":
            items = TAX_CODES
        elif kind == "order-status":
            items, key = ORDER_STATUSES, "statusId"
        elif kind == "order-type":
            items = [{"id": t["id"], "name": t["name"]} for t in ORDER_TYPES]
        elif kind == "order-stock-status":
            items = STOCK_STATUSES
        elif kind == "order-shipping-status":
            items = SHIPPING_STATUSES
        elif kind == "channel":
            items = CHANNELS
        elif kind == "price-list":
            items = PRICE_LISTS
        elif kind == "payment-method":
            items = PAYMENT_METHODS
        elif kind == "nominal-code":
            items = NOMINAL_CODES
        elif kind == "shipping-method":
            items = SHIPPING_METHODS
        elif kind == "warehouse":
            items = list(self.warehouses.values())
        else:  # pragma: no cover - routes only pass known kinds
            raise _not_found(f"Unknown resource {kind}")
        if idset is None:
            return {"response": list(items)}
        wanted = idset_ids(idset, 200)
        by_id = {item[key]: item for item in items}
        found = [by_id[i] for i in wanted if i in by_id]
        if not found:
            raise _not_found(f"No {kind.replace('-', ' ')} found")
        return {"response": found}

    def api_default_location(self, warehouse_id: str) -> dict:
        wid = _int(warehouse_id, "warehouseId", "CMNC-011")
        if wid not in self.warehouses:
            raise _not_found(f"Warehouse {wid} not found")
        # UNCONFIRMED shape: the id of the default location.
        return {"response": self.default_location(wid)}

    # ------------------------------------------------------------ products

    def _product_dict(self, product: Product) -> dict:
        cached = self._product_cache.get(product.id)
        if cached is not None:
            return cached[0]
        tax = TAX_CODES[product.tax_code_id - 1]
        warehouses = {str(w): {"defaultLocationId": self.default_location(w), "overflowLocationId": 0, "reorderLevel": 0,
                               "reorderQuantity": 0} for w in self.warehouses}
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
        self._product_cache[product.id] = (data, self._product_row(product))
        return data

    def _product_row(self, product: Product) -> list:
        return [product.id, product.name, product.sku, product.barcode, product.ean, product.upc, product.isbn,
                product.mpn, product.stock_tracked, "Brightpearl", fmt_dt(product.created_on),
                fmt_dt(product.updated_on), product.category_code, None, product.brand_id, product.product_type_id,
                product.status, None]

    def _cached_product_row(self, product: Product) -> list:
        cached = self._product_cache.get(product.id)
        if cached is None:
            self._product_dict(product)
            cached = self._product_cache[product.id]
        return cached[1]

    def _invalidate_products(self, product_id: int | None = None) -> None:
        for cache in (self._product_cache, self._product_json, self._product_row_json):
            if product_id is None:
                cache.clear()
            else:
                cache.pop(product_id, None)

    def _product_bytes(self, product: Product) -> bytes:
        cached = self._product_json.get(product.id)
        if cached is None:
            cached = self._product_json[product.id] = json_bytes(self._product_dict(product))
        return cached

    def _product_row_bytes(self, product: Product) -> bytes:
        cached = self._product_row_json.get(product.id)
        if cached is None:
            cached = self._product_row_json[product.id] = json_bytes(self._cached_product_row(product))
        return cached

    def api_get_products_json(self, idset: str) -> bytes:
        """`api_get_products` serialized, from per-product cached JSON (the hot path)."""
        products = self.products
        found = [self._product_bytes(products[i]) for i in idset_ids(idset, 200) if i in products]
        if not found:
            raise _not_found("No products found")
        return b'{"response":[' + b",".join(found) + b"]}"

    def api_get_products(self, idset: str) -> dict:
        products = self.products
        found = [self._product_dict(products[i]) for i in idset_ids(idset, 200) if i in products]
        if not found:
            raise _not_found("No products found")
        return {"response": found}

    def api_create_product(self, body: Any) -> dict:
        body = _obj(body, "body")
        if not body.get("brandId"):
            raise _bad("PRDC-014", "You must supply a brand ID.")
        _int(body["brandId"], "brandId", "PRDC-014")
        channels = body.get("salesChannels")
        if not isinstance(channels, list) or not channels or not isinstance(channels[0], dict) or not channels[0].get("productName"):
            raise _bad("PRDC-015", "You must supply a product name in salesChannels.")
        name = _str(channels[0]["productName"], "productName", 255, "PRDC-015")
        financial = _obj(body.get("financialDetails"), "financialDetails")
        tax_ref = _obj(financial.get("taxCode"), "financialDetails.taxCode")
        tax = self._tax(tax_ref.get("code") or tax_ref.get("id") or "T20", "financialDetails.taxCode", "PRDC-016")
        identity = _obj(body.get("identity"), "identity")
        stock = _obj(body.get("stock"), "stock")
        tracked = stock.get("stockTracked", True)
        if not isinstance(tracked, bool):
            raise _bad("PRDC-017", "stock.stockTracked must be a boolean")
        sku = _str(identity.get("sku"), "identity.sku", 64, "PRDC-018") or ""
        product_id = self.add_product(sku, name or "", price=D0, tax_code=tax["code"], stock_tracked=tracked)
        product = self.products[product_id]
        self._invalidate_products(product_id)
        product.brand_id = int(body["brandId"])
        product.barcode = _str(identity.get("barcode"), "identity.barcode", 64, "PRDC-018") or ""
        product.ean = _str(identity.get("ean"), "identity.ean", 64, "PRDC-018")
        product.mpn = _str(identity.get("mpn"), "identity.mpn", 64, "PRDC-018")
        categories = channels[0].get("categories") or []
        if categories and isinstance(categories[0], dict) and str(categories[0].get("categoryCode", "")).isdigit():
            product.category_code = int(categories[0]["categoryCode"])
        return {"response": product_id}

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
            raise _not_found("No Product Prices Found")
        return {"response": found}

    def api_availability(self, idset: str) -> dict:
        result: dict[str, dict] = {}
        for i in idset_ids(idset, 200):  # cap 200 chosen like product GET (UNCONFIRMED)
            product = self.products.get(i)
            if product is None or not product.stock_tracked:
                continue  # non-stock-tracked (and unknown) ids are silently dropped, as documented
            total = {"inStock": 0, "onHand": 0, "allocated": 0, "inTransit": 0}
            per_wh: dict[str, dict] = {}
            for w in sorted(self._stock_warehouses.get(i, ())):
                in_stock = self._in_stock.get((i, w), 0)
                allocated = self._allocated.get((i, w), 0)
                entry = {"inStock": in_stock, "onHand": in_stock - allocated, "allocated": allocated, "inTransit": 0}
                per_wh[str(w)] = entry
                for k in total:
                    total[k] += entry[k]
            result[str(i)] = {"total": total, "warehouses": per_wh}
        return {"response": result}

    # ------------------------------------------------------------ stock corrections

    def _stock_correction(self, warehouse_id: int, corrections: Any, at: datetime | None = None) -> list[int]:
        if warehouse_id not in self.warehouses:
            raise _not_found(f"Warehouse {warehouse_id} not found")
        if not isinstance(corrections, list) or not corrections:
            raise _bad("WHSC-001", "You must supply at least one correction")
        planned: list[tuple[int, int, str, int]] = []
        delta_by_product: dict[int, int] = {}
        for index, item in enumerate(corrections):
            if not isinstance(item, dict):
                raise _bad("WHSC-001", f"corrections[{index}] must be an object")
            product_id = _int(item.get("productId"), f"corrections[{index}].productId", "WHSC-002")
            product = self.products.get(product_id)
            if product is None:
                raise _bad("WHSC-002", f"Product {product_id} does not exist")
            if not product.stock_tracked:
                raise _bad("WHSC-003", f"Product {product_id} is not stock tracked")
            quantity = _int(item.get("quantity"), f"corrections[{index}].quantity", "WHSC-004")
            if quantity == 0:
                raise _bad("WHSC-004", f"corrections[{index}].quantity must not be zero")
            reason = _str(item.get("reason"), "reason", 255, "WHSC-005")
            if not reason:
                raise _bad("WHSC-005", f"corrections[{index}].reason is required")
            location = item.get("locationId")
            location_id = self.default_location(warehouse_id) if location is None else _int(location, "locationId", "WHSC-006")
            if location_id != self.default_location(warehouse_id):
                raise _bad("WHSC-006", f"Location {location_id} is not in warehouse {warehouse_id}")
            delta_by_product[product_id] = delta_by_product.get(product_id, 0) + quantity
            planned.append((product_id, quantity, reason, location_id))
        for product_id, delta in delta_by_product.items():
            # Stock cannot go below zero, and allocated stock cannot be corrected away (on hand >= 0).
            if self.on_hand(product_id, warehouse_id) + delta < 0:
                raise _bad("WHSC-007", f"Correction would take on-hand stock of product {product_id} in warehouse "
                                       f"{warehouse_id} below zero (on hand {self.on_hand(product_id, warehouse_id)})")
        when = at or self._now()
        note_ids = []
        for product_id, quantity, reason, location_id in planned:
            note_id = self._next("note")
            self._add_movement(product_id, warehouse_id, quantity, "SC", note_id, when)
            self.stock_corrections[note_id] = {
                "id": note_id, "warehouseId": warehouse_id, "reason": reason, "createdOn": when,
                "goodsMoved": [{"productId": product_id, "quantity": quantity, "locationId": location_id}],
            }
            note_ids.append(note_id)
        return note_ids

    def api_stock_correction(self, warehouse_id: str, body: Any) -> dict:
        wid = _int(warehouse_id, "warehouseId", "CMNC-011")
        body = _obj(body, "body")
        return {"response": self._stock_correction(wid, body.get("corrections"))}

    def api_get_stock_corrections(self, warehouse_id: str, idset: str) -> dict:
        wid = _int(warehouse_id, "warehouseId", "CMNC-011")
        found = []
        for i in idset_ids(idset, 200):
            sc = self.stock_corrections.get(i)
            if sc and sc["warehouseId"] == wid:
                found.append({**sc, "createdOn": fmt_dt(sc["createdOn"])})
        if not found:
            raise _not_found("No stock corrections found")
        return {"response": found}

    # ------------------------------------------------------------ contacts

    def create_postal_address(self, body: Any) -> int:
        body = _obj(body, "body")
        line1 = _str(body.get("addressLine1"), "addressLine1", 100, "CONC-010")
        if not line1:
            raise _bad("CONC-010", "addressLine1 is required")
        if body.get("countryIsoCode") is not None:
            country = _country(body["countryIsoCode"], "countryIsoCode", "CONC-011")
        elif body.get("countryId") is not None:
            country = _country(_int(body["countryId"], "countryId", "CONC-011"), "countryId", "CONC-011")
        else:
            raise _bad("CONC-011", "countryIsoCode or countryId is required")
        address_id = self._next("address")
        self.addresses[address_id] = {
            "addressId": address_id, "contactId": 0, "addressLine1": line1,
            "addressLine2": _str(body.get("addressLine2"), "addressLine2", 100, "CONC-010") or "",
            "addressLine3": _str(body.get("addressLine3"), "addressLine3", 100, "CONC-010") or "",
            "addressLine4": _str(body.get("addressLine4"), "addressLine4", 100, "CONC-010") or "",
            "postalCode": _str(body.get("postalCode"), "postalCode", 20, "CONC-010") or "",
            "countryId": country[2], "countryIsoCode": country[1], "countryIsoCode2": country[0],
        }
        return address_id

    def api_get_addresses(self, idset: str) -> dict:
        found = [dict(self.addresses[i]) for i in idset_ids(idset, 200) if i in self.addresses]
        if not found:
            raise _not_found("No Postal Addresses Found")
        return {"response": found}

    def create_contact(self, body: Any, created_on: datetime | None = None) -> int:
        body = _obj(body, "body")
        first = _str(body.get("firstName"), "firstName", 32, "CONC-004") or ""
        last = _str(body.get("lastName"), "lastName", 32, "CONC-004") or ""
        organisation = _obj(body.get("organisation"), "organisation")
        company = _str(organisation.get("name"), "organisation.name", 100, "CONC-004") or ""
        if not (first or last or company):
            raise _bad("CONC-003", "You must supply a first name, last name or company name")
        addresses = _obj(body.get("postAddressIds"), "postAddressIds")
        address_ids: dict[str, int] = {}
        for key in ("DEF", "BIL", "DEL"):
            if addresses.get(key) is None:
                continue
            address_id = _int(addresses[key], f"postAddressIds.{key}", "CONC-005")
            if address_id not in self.addresses:
                raise _bad("CONC-005", f"Postal address {address_id} does not exist")
            address_ids[key] = address_id
        if address_ids:
            default = address_ids.get("DEF") or next(iter(address_ids.values()))
            for key in ("DEF", "BIL", "DEL"):
                address_ids.setdefault(key, default)
        communication = _obj(body.get("communication"), "communication")
        emails = _obj(communication.get("emails"), "communication.emails")
        phones = _obj(communication.get("telephones"), "communication.telephones")

        def email(key: str) -> str:
            entry = _obj(emails.get(key), f"communication.emails.{key}")
            return _str(entry.get("email"), f"communication.emails.{key}.email", 255, "CONC-006") or ""

        relationship = _obj(body.get("relationshipToAccount"), "relationshipToAccount")
        financial = _obj(body.get("financialDetails"), "financialDetails")
        when = created_on or self._now()
        contact_id = self._next("contact")
        contact = Contact(
            id=contact_id, first_name=first, last_name=last, email=email("PRI") or None,
            phone=_str(phones.get("PRI"), "telephones.PRI", 50, "CONC-007") or None,
            created_on=when, updated_on=when, addresses=address_ids,
            salutation=_str(body.get("salutation"), "salutation", 20, "CONC-004") or "", company=company,
            is_supplier=bool(relationship.get("isSupplier", False)), is_staff=bool(relationship.get("isStaff", False)),
            email2=email("SEC"), email3=email("TER"),
            phone2=_str(phones.get("SEC"), "telephones.SEC", 50, "CONC-007") or "",
            mobile=_str(phones.get("MOB"), "telephones.MOB", 50, "CONC-007") or "",
            price_list_id=_int(financial.get("priceListId", 2), "financialDetails.priceListId", "CONC-008"),
            newsletter=bool(_obj(body.get("marketingDetails"), "marketingDetails").get("isReceiveEmailNewsletter", False)),
        )
        self.contacts[contact_id] = contact
        for address_id in set(address_ids.values()):
            if not self.addresses[address_id]["contactId"]:
                self.addresses[address_id]["contactId"] = contact_id
        return contact_id

    def _contact_dict(self, c: Contact) -> dict:
        emails = {}
        if c.email:
            emails["PRI"] = {"email": c.email}
        if c.email2:
            emails["SEC"] = {"email": c.email2}
        if c.email3:
            emails["TER"] = {"email": c.email3}
        phones = {k: v for k, v in (("PRI", c.phone), ("SEC", c.phone2), ("MOB", c.mobile)) if v}
        organisation: dict[str, Any] = {"organisationId": c.id}
        if c.company:
            organisation["name"] = c.company
        return {
            "contactId": c.id, "isPrimaryContact": True, "salutation": c.salutation, "firstName": c.first_name,
            "lastName": c.last_name, "postAddressIds": dict(c.addresses),
            "communication": {"emails": emails, "telephones": phones, "messagingVoips": {}, "websites": {}},
            "contactStatus": {"current": {"contactStatusId": 0}},
            "relationshipToAccount": {"isSupplier": c.is_supplier, "isStaff": c.is_staff},
            "marketingDetails": {"isReceiveEmailNewsletter": c.newsletter},
            "financialDetails": {"priceListId": c.price_list_id, "nominalCode": "4000", "creditLimit": 0,
                                 "creditTermDays": 0, "currencyId": 1, "discountPercentage": 0.0, "creditTermTypeId": 1},
            "assignment": {"current": {}}, "organisation": organisation, "tradeStatus": "RETAIL",
            "createdByid": STAFF_ID, "createdOn": fmt_dt(c.created_on), "updatedOn": fmt_dt(c.updated_on),
            "contactTags": "", "aliases": {}, "companyId": 0,
        }

    def api_get_contacts(self, idset: str | None, query: Mapping[str, str]) -> dict:
        if idset is None:  # no ID set: pages of 200 by firstResult / pageSize
            try:
                first = int(query.get("firstResult", 1))
                size = min(int(query.get("pageSize", 200)), 200)
            except ValueError:
                raise _bad("CMNC-020", "pageSize and firstResult must be integers") from None
            if first < 1 or size < 1:
                raise _bad("CMNC-020", "pageSize and firstResult must be at least 1")
            ids = list(self.contacts)
            chosen = ids[first - 1 : first - 1 + size]
            more = first - 1 + len(chosen) < len(ids)
        else:
            chosen = [i for i in idset_ids(idset, 200) if i in self.contacts]
            first, more = 1, False
        if not chosen:
            raise _not_found("No Contact Found")
        return {
            "response": [self._contact_dict(self.contacts[i]) for i in chosen],
            "pagination": {"morePagesAvailable": more, "resultsReturned": len(chosen), "firstResult": first,
                           "lastResult": first + len(chosen) - 1},
            "sorting": [{"field": "contactId", "direction": "ASC"}],
        }

    def _party(self, contact: Contact | None, address: dict | None, what: str, error_code: str) -> dict:
        """An order party (customer / delivery / billing) from a body address or the contact's."""
        source: dict[str, Any] = {}
        if contact is not None:
            role = {"customer": "DEF", "delivery": "DEL", "billing": "BIL"}.get(what, "DEF")
            stored = self.addresses.get(contact.addresses.get(role, 0))
            if stored:
                source.update(stored)
            source["addressFullName"] = f"{contact.first_name} {contact.last_name}".strip()
            source["companyName"] = contact.company
            source["telephone"] = contact.phone or ""
            source["mobileTelephone"] = contact.mobile
            source["email"] = contact.email or ""
        if address:
            given = _obj(address, f"{what}.address")
            for key in ("addressFullName", "companyName", "addressLine1", "addressLine2", "addressLine3", "addressLine4",
                        "postalCode", "telephone", "mobileTelephone", "fax", "email"):
                if key in given and given[key] is not None:
                    source[key] = _str(given[key], f"{what}.address.{key}", 255, error_code)
            if given.get("countryIsoCode") is not None:
                source["countryIsoCode"] = _country(given["countryIsoCode"], f"{what}.address.countryIsoCode", error_code)[1]
            elif given.get("countryId") is not None:
                source["countryIsoCode"] = _country(_int(given["countryId"], "countryId", error_code), "countryId", error_code)[1]
        party = {key: source.get(key) or "" for key in (
            "addressFullName", "companyName", "addressLine1", "addressLine2", "addressLine3", "addressLine4", "postalCode")}
        country = _COUNTRY_BY_KEY.get(source.get("countryIsoCode") or "GBR")
        party["country"] = country[3]
        party["telephone"] = source.get("telephone") or ""
        party["mobileTelephone"] = source.get("mobileTelephone") or ""
        party["fax"] = source.get("fax") or ""
        party["email"] = source.get("email") or ""
        party["countryId"] = country[2]
        party["countryIsoCode"] = country[0]
        party["countryIsoCode3"] = country[1]
        return party

    # ------------------------------------------------------------ orders

    def _validate_rows(self, rows: Any, price_mode: str, error_prefix: str = "ORDC") -> list[dict]:
        if rows is None:
            return []
        if not isinstance(rows, list):
            raise _bad(f"{error_prefix}-016", "rows must be an array")
        planned = []
        for index, row in enumerate(rows):
            where = f"rows[{index}]"
            if not isinstance(row, dict):
                raise _bad(f"{error_prefix}-016", f"{where} must be an object")
            product = None
            if row.get("productId") is not None:
                product_id = _int(row["productId"], f"{where}.productId", "ORDC-013")
                product = self.products.get(product_id)
                if product is None:
                    raise _bad("ORDC-013", f"{where}: product {product_id} does not exist")
            name = _str(row.get("name"), f"{where}.name", 255, "ORDC-017")
            if product is None and not name:
                raise _bad("ORDC-017", f"{where}: a row needs a productId or a name")
            quantity = _dec(row.get("quantity"), f"{where}.quantity", "ORDC-015")
            if quantity <= 0:
                raise _bad("ORDC-015", f"{where}.quantity must be positive")
            if product is not None and product.stock_tracked and quantity != quantity.to_integral_value():
                raise _bad("ORDC-015", f"{where}.quantity must be a whole number for stock-tracked products")
            tax_code = row.get("taxCode")
            tax = self._tax(tax_code, where, "ORDC-014") if tax_code is not None else (
                TAX_CODES[product.tax_code_id - 1] if product else TAX_CODES[0])
            rate = Decimal(str(tax.get("rate") or 0))
            if row.get("net") is not None:
                net = _dec(row["net"], f"{where}.net", "ORDC-016").quantize(Q4)
            elif product is not None:
                gross = product.price * quantity
                net = (gross / (1 + rate / 100) if price_mode == "INC" else gross).quantize(Q4)
            else:
                raise _bad("ORDC-016", f"{where}.net is required for a row without a product")
            if row.get("tax") is not None:
                tax_value = _dec(row["tax"], f"{where}.tax", "ORDC-016").quantize(Q2)
            else:
                tax_value = (net * rate / 100).quantize(Q2)
            nominal = row.get("nominalCode")
            nominal_code = "4000" if nominal is None else _str(nominal, f"{where}.nominalCode", 10, "ORDC-018")
            if nominal_code not in NOMINAL_CODE_SET:
                raise _bad("ORDC-018", f"{where}: nominal code {nominal_code} does not exist")
            planned.append({
                "product": product, "name": name or (product.name if product else ""), "quantity": quantity,
                "net": net, "tax": tax_value, "tax_code": tax["code"], "rate": rate, "tax_id": tax["id"],
                "nominal": nominal_code, "external_ref": _str(row.get("externalRef"), f"{where}.externalRef", 64, "ORDC-016"),
            })
        return planned

    def _add_row(self, order: Order, planned: dict) -> int:
        row_id = self._next("row")
        product: Product | None = planned["product"]
        quantity = planned["quantity"]
        order.rows[row_id] = OrderRow(
            id=row_id, sequence=10 * (len(order.rows) + 1), product_id=product.id if product else None,
            name=planned["name"], sku=product.sku if product else "", quantity=quantity, net=planned["net"],
            tax=planned["tax"], tax_code=planned["tax_code"], tax_rate=planned["rate"], tax_class_id=planned["tax_id"],
            nominal_code=planned["nominal"], external_ref=planned["external_ref"],
            price=product.price if product else (planned["net"] / quantity if quantity else D0),
            cost=product.cost if product else D0,
        )
        return row_id

    def create_sales_order(self, body: dict) -> int:
        return self._create_order_document(body, "SO")

    def create_sales_credit(self, body: dict) -> int:
        return self._create_order_document(body, "SC")

    def _create_order_document(self, body: Any, type_code: str) -> int:
        """`POST /order-service/sales-order` (and sales-credit): validate everything, then commit."""
        body = _obj(body, "body")
        customer = _obj(body.get("customer"), "customer")
        raw_customer = customer.get("id", body.get("customerId"))
        if raw_customer is None:
            raise _bad("ORDC-010", "You must supply a customer (customer.id)")
        customer_id = _int(raw_customer, "customer.id", "ORDC-011")
        contact = self.contacts.get(customer_id)
        if contact is None:
            raise _bad("ORDC-011", f"Customer {customer_id} does not exist")
        billing = _obj(body.get("billing"), "billing")
        billing_id = _int(billing.get("contactId", customer_id), "billing.contactId", "ORDC-011")
        billing_contact = self.contacts.get(billing_id)
        if billing_contact is None:
            raise _bad("ORDC-011", f"Billing contact {billing_id} does not exist")
        status_id = _int(body.get("statusId", DEFAULT_STATUS[type_code]), "statusId", "ORDC-012")
        status = next((s for s in ORDER_STATUSES if s["statusId"] == status_id), None)
        if status is None or status["orderTypeCode"] != type_code:
            raise _bad("ORDC-012", f"Order status {status_id} does not exist for order type {type_code}")
        parent_id = 0
        if body.get("parentId") is not None:
            parent_id = _int(body["parentId"], "parentId", "ORDC-019")
            if parent_id not in self.orders:
                raise _bad("ORDC-019", f"Parent order {parent_id} does not exist")
        warehouses = self.warehouses
        warehouse_id = _int(body.get("warehouseId", next(iter(warehouses), 0)), "warehouseId", "ORDC-020")
        if warehouse_id not in warehouses:
            raise _bad("ORDC-020", f"Warehouse {warehouse_id} does not exist")
        channel_id = _int(body.get("channelId", 1), "channelId", "ORDC-021")
        if channel_id not in {c["id"] for c in CHANNELS}:
            raise _bad("ORDC-021", f"Channel {channel_id} does not exist")
        price_list_id = _int(body.get("priceListId", contact.price_list_id), "priceListId", "ORDC-023")
        price_list = next((p for p in PRICE_LISTS if p["id"] == price_list_id), None)
        if price_list is None:
            raise _bad("ORDC-023", f"Price list {price_list_id} does not exist")
        price_mode = body.get("priceModeCode", price_list["priceModeCode"])
        if price_mode not in ("INC", "EXC"):
            raise _bad("ORDC-024", "priceModeCode must be INC or EXC")
        currency_body = _obj(body.get("currency"), "currency")
        currency = currency_body.get("code", ACCOUNTING_CURRENCY)
        if currency not in CURRENCIES:
            raise _bad("ORDC-025", f"Currency {currency!r} is not set up on this account")
        exchange_rate = _dec(currency_body.get("exchangeRate", 1), "currency.exchangeRate", "ORDC-025")
        now = self._now()
        placed_on = _date(body["placedOn"], "placedOn", "ORDC-026") if body.get("placedOn") else now
        tax_date = _date(body["taxDate"], "taxDate", "ORDC-026") if body.get("taxDate") else placed_on
        delivery = _obj(body.get("delivery"), "delivery")
        delivery_date = _date(delivery["date"], "delivery.date", "ORDC-026") if delivery.get("date") else None
        shipping_method_id = _int(delivery.get("shippingMethodId", 0), "delivery.shippingMethodId", "ORDC-027")
        if shipping_method_id and shipping_method_id not in {m["id"] for m in SHIPPING_METHODS}:
            raise _bad("ORDC-027", f"Shipping method {shipping_method_id} does not exist")
        external_ref = _str(body.get("externalRef"), "externalRef", 64, "ORDC-028")
        instance = body.get("installedIntegrationInstanceId")
        instance_id = None if instance is None else _int(instance, "installedIntegrationInstanceId", "ORDC-028")
        if external_ref:
            existing = self._external_refs.get((external_ref, instance_id))
            if existing is not None:
                # UNCONFIRMED code/text: the docs say the pair is a unique key; the answer is a 400.
                raise _bad("ORDC-124", f"An order with externalRef {external_ref} already exists for installed "
                                       f"integration instance {instance_id}: {existing}")
        reference = _str(body.get("ref"), "ref", 64, "ORDC-029") or ""
        parties = {
            "customer": self._party(contact, customer.get("address"), "customer", "ORDC-030"),
            "delivery": self._party(contact, delivery.get("address"), "delivery", "ORDC-030"),
            "billing": self._party(billing_contact, billing.get("address"), "billing", "ORDC-030"),
        }
        planned = self._validate_rows(body.get("rows"), price_mode)
        # ---- everything valid: commit (no exception can happen past this point)
        order = Order(
            id=self._next("order"), type_code=type_code, reference=reference, external_ref=external_ref,
            integration_instance_id=instance_id, parent_id=parent_id, customer_id=customer_id,
            billing_contact_id=billing_id, status_id=status_id, placed_on=placed_on, created_on=now, updated_on=now,
            tax_date=tax_date, warehouse_id=warehouse_id, channel_id=channel_id, price_list_id=price_list_id,
            price_mode=price_mode, currency=currency, exchange_rate=exchange_rate, delivery_date=delivery_date,
            shipping_method_id=shipping_method_id, parties=parties,
            staff_owner_id=_int(body.get("staffOwnerId", 0), "staffOwnerId"),
        )
        for item in planned:
            self._add_row(order, item)
        self.orders[order.id] = order
        if external_ref:
            self._external_refs[(external_ref, instance_id)] = order.id
        return order.id

    def api_create_order(self, body: Any) -> dict:
        """Legacy `POST /order-service/order`: the header only (rows are posted one by one)."""
        body = _obj(body, "body")
        type_code = body.get("orderTypeCode")
        if not type_code:
            raise _bad("ORDC-005", "You have not supplied an order type code")
        if type_code not in ORDER_TYPE_IDS:
            raise _bad("ORDC-006", "You have supplied an invalid order type code")
        parties = _obj(body.get("parties"), "parties")
        if type_code in ("PO", "PC"):
            if not _obj(parties.get("supplier"), "parties.supplier").get("contactId"):
                raise _bad("ORDC-022", "Suppllier ID Required.")
            raise _bad("ORDC-007", "Purchase orders and credits are not supported by the sandbox")
        customer = _obj(parties.get("customer"), "parties.customer")
        if customer.get("contactId") is None:
            raise _bad("ORDC-010", "Customer ID Required.")
        status = _obj(body.get("orderStatus"), "orderStatus")
        delivery = _obj(body.get("delivery"), "delivery")
        currency = _obj(body.get("currency"), "currency")
        assignment = _obj(_obj(body.get("assignment"), "assignment").get("current"), "assignment.current")
        invoices = body.get("invoices") if isinstance(body.get("invoices"), list) else []
        translated: dict[str, Any] = {
            "customer": {"id": customer["contactId"], "address": {k: v for k, v in customer.items() if k != "contactId"} or None},
            "ref": body.get("reference"),
            "placedOn": body.get("placedOn"),
            "statusId": status.get("orderStatusId", DEFAULT_STATUS[type_code]),
            "currency": {"code": currency.get("orderCurrencyCode", ACCOUNTING_CURRENCY),
                         "exchangeRate": currency.get("exchangeRate", 1)},
            "delivery": {"date": delivery.get("deliveryDate"), "shippingMethodId": delivery.get("shippingMethodId", 0),
                         "address": _obj(parties.get("delivery"), "parties.delivery") or None},
            "billing": {"address": _obj(parties.get("billing"), "parties.billing") or None},
        }
        for source, target in (("priceListId", "priceListId"), ("priceModeCode", "priceModeCode"),
                               ("warehouseId", "warehouseId"), ("parentOrderId", "parentId")):
            if body.get(source) is not None and not (source == "parentOrderId" and body[source] == 0):
                translated[target] = body[source]
        if assignment.get("channelId"):
            translated["channelId"] = assignment["channelId"]
        if invoices and isinstance(invoices[0], dict) and invoices[0].get("taxDate"):
            translated["taxDate"] = invoices[0]["taxDate"]
        return {"response": self._create_order_document(translated, type_code)}

    def api_add_order_row(self, order_id: str, body: Any) -> dict:
        order = self._order(order_id)
        body = _obj(body, "body")
        quantity = _obj(body.get("quantity"), "quantity")
        row_value = _obj(body.get("rowValue"), "rowValue")
        row = {
            "productId": body.get("productId"), "name": body.get("productName"),
            "quantity": quantity.get("magnitude"), "taxCode": row_value.get("taxCode"),
            "net": _obj(row_value.get("rowNet"), "rowValue.rowNet").get("value"),
            "tax": _obj(row_value.get("rowTax"), "rowValue.rowTax").get("value"),
            "nominalCode": body.get("nominalCode"),
        }
        planned = self._validate_rows([row], order.price_mode)[0]
        row_id = self._add_row(order, planned)
        self._touch(order)
        return {"response": row_id}

    def _order(self, order_id: Any) -> Order:
        oid = _int(order_id, "orderId", "CMNC-011")
        order = self.orders.get(oid)
        if order is None:
            raise _not_found(f"Order {oid} not found")
        return order

    def _touch(self, order: Order) -> None:
        order.updated_on = self._now()
        order.version += 1

    # derived order state

    def _derived(self, order: Order) -> tuple:
        memo = self._derived_memo
        if memo is not None and order.id in memo:
            return memo[order.id]
        net = sum((r.net for r in order.rows.values()), D0)
        tax = sum((r.tax for r in order.rows.values()), D0)
        gross = net + tax
        paid = D0
        for pid in self._payments_by_order.get(order.id, ()):
            p = self.payments[pid]
            if p.type in ("RECEIPT", "CAPTURE"):
                paid += p.amount_paid
            elif p.type == "PAYMENT":
                paid -= p.amount_paid
        if order.type_code == "SC":
            paid = -paid  # a credit is settled by money going out (PAYMENT)
        if gross == 0:
            payment_status = "NOT_APPLICABLE"
        elif paid >= gross:
            payment_status = "PAID"
        elif paid > 0:
            payment_status = "PARTIALLY_PAID"
        else:
            payment_status = "UNPAID"
        required = D0
        tracked_rows = []
        for row in order.rows.values():
            product = self.products.get(row.product_id) if row.product_id else None
            if product is not None and product.stock_tracked:
                required += row.quantity
                tracked_rows.append(row.id)
        noted = shipped = D0
        for note_id in self._notes_by_order.get(order.id, ()):
            note = self.notes[note_id]
            quantity = sum(line["quantity"] for lines in note.rows.values() for line in lines)
            noted += quantity
            if note.shipped:
                shipped += quantity
        reserved = sum(line["quantity"] for wh in self.reservations.get(order.id, {}).values() for line in wh.values())
        covered = noted + reserved
        prefix = order.type_code
        if required == 0:
            stock_code, allocation, shipping = "NON", "ANR", "NST"
        else:
            level = "A" if covered >= required else "P" if covered > 0 else "N"
            stock_code = f"{prefix}{level}"
            allocation = {"A": "AAA", "P": "APA", "N": "ANA"}[level]
            shipping = "ASS" if shipped >= required else "SPS" if shipped > 0 else "SNS"
        result = (net, tax, gross, paid, payment_status, stock_code, allocation, shipping)
        if memo is not None:
            memo[order.id] = result
        return result

    def _order_dict(self, order: Order) -> dict:
        net, tax, gross, _, payment_status, stock_code, allocation, shipping = self._derived(order)
        status = next(s for s in ORDER_STATUSES if s["statusId"] == order.status_id)
        currency = order.currency
        rate = order.exchange_rate
        rows = {}
        for row in order.rows.values():
            rows[str(row.id)] = {
                "orderRowSequence": str(row.sequence), "productId": row.product_id or 0, "productName": row.name,
                "productSku": row.sku, "quantity": {"magnitude": m4(row.quantity)},
                "itemCost": {"currencyCode": currency, "value": m4(row.cost)},
                "productPrice": {"currencyCode": currency, "value": m4(row.price)},
                "discountPercentage": "0.00",
                "rowValue": {"taxRate": m4(row.tax_rate), "taxCode": row.tax_code, "taxCalculator": "brightpearl",
                             "rowNet": {"currencyCode": currency, "value": m4(row.net)},
                             "rowTax": {"currencyCode": currency, "value": m2(row.tax)}, "taxClassId": row.tax_class_id},
                "nominalCode": row.nominal_code,
                "composition": {"bundleParent": False, "bundleChild": False, "parentOrderRowId": 0},
                "clonedFromId": 0,
            }
        parties = {
            "customer": {"contactId": order.customer_id, **order.parties["customer"]},
            "delivery": dict(order.parties["delivery"]),
            "billing": {"contactId": order.billing_contact_id, **order.parties["billing"]},
        }
        delivery: dict[str, Any] = {"shippingMethodId": order.shipping_method_id}
        if order.delivery_date:
            delivery = {"deliveryDate": fmt_dt(order.delivery_date), **delivery}
        tax_day = datetime.combine(order.tax_date.date(), time.min, tzinfo=order.tax_date.tzinfo or UTC)
        return {
            "id": order.id, "parentOrderId": order.parent_id, "orderTypeCode": order.type_code,
            "reference": order.reference, "version": order.version,
            "state": {"tax": "INVOICED" if order.status_id == 4 else "READY"},
            "orderStatus": {"orderStatusId": status["statusId"], "name": status["name"]},
            "tax": {"errors": []}, "orderPaymentStatus": payment_status, "stockStatusCode": stock_code,
            "allocationStatusCode": allocation, "shippingStatusCode": shipping,
            "placedOn": fmt_dt(order.placed_on), "createdOn": fmt_dt(order.created_on),
            "updatedOn": fmt_dt(order.updated_on), "createdById": STAFF_ID, "priceListId": order.price_list_id,
            "priceModeCode": order.price_mode, "delivery": delivery,
            "invoices": [{"invoiceReference": f"SI-{order.id}" if order.status_id == 4 else "", "taxDate": fmt_dt(tax_day),
                          "dueDate": fmt_dt(tax_day + timedelta(days=30))}],
            "currency": {"accountingCurrencyCode": ACCOUNTING_CURRENCY, "orderCurrencyCode": currency,
                         "exchangeRate": f"{rate:.6f}", "fixedExchangeRate": currency != ACCOUNTING_CURRENCY},
            "totalValue": {"net": m2(net), "taxAmount": m2(tax), "baseNet": m2(net / rate), "baseTaxAmount": m2(tax / rate),
                           "baseTotal": m2(gross / rate), "total": m2(gross)},
            "assignment": {"current": {"staffOwnerContactId": order.staff_owner_id, "projectId": order.project_id,
                                       "channelId": order.channel_id, "leadSourceId": order.lead_source_id,
                                       "teamId": order.team_id}},
            "parties": parties, "orderRows": rows, "warehouseId": order.warehouse_id, "acknowledged": 0,
            "costPriceListId": 1, "historicalOrder": False, "orderWeighting": 100,
        }

    def api_get_orders(self, idset: str) -> dict:
        # Missing ids are simply left out: an order GET with nothing found is 200 {"response":[]}.
        self._derived_memo = {}
        try:
            return {"response": [self._order_dict(self.orders[i]) for i in idset_ids(idset, 200) if i in self.orders]}
        finally:
            self._derived_memo = None

    def _sales_document_dict(self, order: Order) -> dict:
        net, tax, gross, _, payment_status, stock_code, allocation, shipping = self._derived(order)
        rate = order.exchange_rate

        def address(party: dict) -> dict:
            return {k: party[k] for k in ("addressFullName", "companyName", "addressLine1", "addressLine2", "addressLine3",
                                          "addressLine4", "postalCode", "countryIsoCode", "telephone", "mobileTelephone",
                                          "fax", "email")}

        rows = [{
            "id": row.id, "productId": row.product_id, "name": row.name, "sku": row.sku,
            "quantity": str(row.quantity.normalize() if row.quantity == row.quantity.to_integral_value() else row.quantity),
            "taxCode": row.tax_code, "net": m2(row.net), "tax": m2(row.tax), "nominalCode": row.nominal_code,
            "externalRef": row.external_ref, "bundleChild": False, "bundleParent": False, "parentRowId": None,
        } for row in order.rows.values()]
        for row in rows:  # nulls are omitted
            for key in [k for k, v in row.items() if v is None]:
                del row[key]
        data = {
            "id": order.id, "customer": {"id": order.customer_id, "address": address(order.parties["customer"])},
            "billing": {"contactId": order.billing_contact_id, "address": address(order.parties["billing"])},
            "ref": order.reference, "externalRef": order.external_ref,
            "installedIntegrationInstanceId": order.integration_instance_id,
            "placedOn": fmt_dt(order.placed_on), "taxDate": fmt_dt(order.tax_date),
            "parentId": order.parent_id or None, "statusId": order.status_id, "warehouseId": order.warehouse_id,
            "channelId": order.channel_id, "staffOwnerId": order.staff_owner_id, "priceListId": order.price_list_id,
            "priceModeCode": order.price_mode,
            "currency": {"code": order.currency, "fixedExchangeRate": order.currency != ACCOUNTING_CURRENCY,
                         "exchangeRate": f"{rate:.6f}"},
            "delivery": {"date": fmt_dt(order.delivery_date) if order.delivery_date else None,
                         "address": address(order.parties["delivery"]), "shippingMethodId": order.shipping_method_id},
            "rows": rows, "createdOn": fmt_dt(order.created_on), "createdBy": STAFF_ID,
            "updatedOn": fmt_dt(order.updated_on),
            "total": {"net": m2(net), "tax": m2(tax), "gross": m2(gross), "baseNet": m2(net / rate),
                      "baseTax": m2(tax / rate), "baseGross": m2(gross / rate)},
            "isCanceled": order.status_id in CANCELLED_STATUSES, "orderPaymentStatus": payment_status,
            "stockStatusCode": stock_code, "allocationStatusCode": allocation, "shippingStatusCode": shipping,
        }
        if data["delivery"]["date"] is None:
            del data["delivery"]["date"]
        return {k: v for k, v in data.items() if v is not None}

    def api_get_sales_documents(self, idset: str, type_code: str) -> dict:
        self._derived_memo = {}
        try:
            found = [self._sales_document_dict(self.orders[i]) for i in idset_ids(idset, 200)
                     if i in self.orders and self.orders[i].type_code == type_code]
        finally:
            self._derived_memo = None
        return {"response": found}

    def api_order_options(self, type_code: str | None, resource: str, idset: str | None) -> dict:
        ids = self.orders if type_code is None else [i for i, o in self.orders.items() if o.type_code == type_code]
        return options_uris(resource, ids, idset)

    def api_set_order_status(self, order_id: str, body: Any) -> dict:
        order = self._order(order_id)
        body = _obj(body, "body")
        if body.get("orderStatusId") is None:
            raise _bad("ORDC-012", "You must supply an orderStatusId")
        status_id = _int(body["orderStatusId"], "orderStatusId", "ORDC-012")
        status = next((s for s in ORDER_STATUSES if s["statusId"] == status_id), None)
        if status is None or status["orderTypeCode"] != order.type_code:
            raise _bad("ORDC-012", f"Order status {status_id} does not exist for order type {order.type_code}")
        note = _obj(body.get("orderNote"), "orderNote")
        if status_id in CANCELLED_STATUSES and status_id != order.status_id:
            if self._notes_by_order.get(order.id):
                raise _bad("ORDC-032", "The order cannot be cancelled: it has goods-out notes")
            if any(self.payments[p].amount_paid or self.payments[p].amount_authorized
                   for p in self._payments_by_order.get(order.id, ())):
                raise _bad("ORDC-033", "The order cannot be cancelled: it has payments")
            if order.status_id == 4:
                raise _bad("ORDC-034", "The order cannot be cancelled: it is invoiced")
            self._release_reservations(order.id)
        if note.get("text") is not None:
            order.notes.append({"text": _str(note["text"], "orderNote.text", 10_000, "ORDC-035"),
                                "isPublic": bool(note.get("isPublic", False)), "addedOn": fmt_dt(self._now())})
        order.status_id = status_id
        self._touch(order)
        return {}

    # ------------------------------------------------------------ reservations

    def _release_reservations(self, order_id: int, warehouse_id: int | None = None) -> None:
        per_order = self.reservations.get(order_id, {})
        for wid in [w for w in per_order if warehouse_id is None or w == warehouse_id]:
            for line in per_order.pop(wid).values():
                self._alloc(line["productId"], wid, -line["quantity"])
        if not per_order:
            self.reservations.pop(order_id, None)

    def _row_committed(self, order_id: int, row_id: int) -> int:
        """Quantity of a row already reserved or on goods-out notes."""
        total = 0
        for wh in self.reservations.get(order_id, {}).values():
            if row_id in wh:
                total += wh[row_id]["quantity"]
        for note_id in self._notes_by_order.get(order_id, ()):
            for line in self.notes[note_id].rows.get(row_id, ()):
                total += line["quantity"]
        return total

    def api_reserve(self, order_id: str, warehouse_id: str, body: Any, replace: bool = False) -> dict:
        order = self._order(order_id)
        wid = _int(warehouse_id, "warehouseId", "CMNC-011")
        if wid not in self.warehouses:
            raise _not_found(f"Warehouse {wid} not found")
        body = _obj(body, "body")
        products = body.get("products")
        if not isinstance(products, list) or not products:
            raise _bad("WHSC-020", "You must supply products to reserve")
        existing = self.reservations.get(order.id, {}).get(wid)
        if existing is not None and not replace:
            raise _bad("WHSC-021", f"Order {order.id} already has a reservation in warehouse {wid}; use PUT to update it")
        if existing is None and replace:
            raise _not_found(f"No reservation for order {order.id} in warehouse {wid}")
        wanted: dict[int, tuple[int, int]] = {}
        for index, item in enumerate(products):
            where = f"products[{index}]"
            if not isinstance(item, dict):
                raise _bad("WHSC-020", f"{where} must be an object")
            row_id = _int(item.get("salesOrderRowId"), f"{where}.salesOrderRowId", "WHSC-022")
            row = order.rows.get(row_id)
            if row is None:
                raise _bad("WHSC-022", f"Row {row_id} is not on order {order.id}")
            product_id = _int(item.get("productId", row.product_id), f"{where}.productId", "WHSC-023")
            if product_id != row.product_id:
                raise _bad("WHSC-023", f"Product {product_id} does not match row {row_id}")
            product = self.products.get(product_id)
            if product is None or not product.stock_tracked:
                raise _bad("WHSC-023", f"Product {product_id} is not stock tracked")
            quantity = _int(item.get("quantity"), f"{where}.quantity", "WHSC-024")
            if quantity <= 0:
                raise _bad("WHSC-024", f"{where}.quantity must be positive")
            # duplicate salesOrderRowId entries are merged (summed), then capped by the row
            previous = wanted.get(row_id, (product_id, 0))[1]
            wanted[row_id] = (product_id, previous + quantity)
        if replace:
            self._release_reservations(order.id, wid)
        lines: dict[int, dict] = {}
        free: dict[int, int] = {}
        for row_id, (product_id, quantity) in wanted.items():
            row = order.rows[row_id]
            outstanding = int(row.quantity) - self._row_committed(order.id, row_id)
            available = free.setdefault(product_id, self.on_hand(product_id, wid))
            take = max(0, min(quantity, outstanding, available))  # partial if short
            if take:
                free[product_id] -= take
                lines[row_id] = {"productId": product_id, "quantity": take}
        if not lines:
            raise _bad("WHSC-025", f"No stock available to reserve for order {order.id} in warehouse {wid}")
        for line in lines.values():
            self._alloc(line["productId"], wid, line["quantity"])
        self.reservations.setdefault(order.id, {})[wid] = lines
        self._touch(order)
        return {}

    def api_get_reservations(self, order_id: str) -> dict:
        oid = _int(order_id, "orderId", "CMNC-011")
        per_order = self.reservations.get(oid)
        if not per_order:
            raise _not_found(f"No reservation found for order {oid}")
        return {"response": [{"orderId": oid, "warehouseId": wid,
                              "orderRows": {str(r): dict(line) for r, line in lines.items()}}
                             for wid, lines in per_order.items()]}

    def api_delete_reservation(self, order_id: str, warehouse_id: str) -> dict:
        oid = _int(order_id, "orderId", "CMNC-011")
        wid = _int(warehouse_id, "warehouseId", "CMNC-011")
        if wid not in self.reservations.get(oid, {}):
            raise _not_found(f"No reservation for order {oid} in warehouse {wid}")
        self._release_reservations(oid, wid)
        self._touch(self.orders[oid])
        return {}

    # ------------------------------------------------------------ goods-out notes

    def create_goods_out_note(self, order_id: int, body: dict) -> list[int]:
        """Create one note per `warehouses[]` entry. An entry with no `products` takes every
        outstanding stock-tracked row (as much as is reserved or on hand), and is skipped if that
        is nothing: a convenience for the generator; the HTTP endpoint requires products."""
        order = self._order(order_id)
        if order.type_code != "SO":
            raise _bad("WHSC-030", f"Order {order.id} is not a sales order")
        body = _obj(body, "body")
        entries = body.get("warehouses")
        if not isinstance(entries, list) or not entries:
            raise _bad("WHSC-031", "You must supply at least one warehouse")
        priority = bool(body.get("priority", False))
        shipping_method = _int(body.get("shippingMethodId", order.shipping_method_id or 0), "shippingMethodId", "WHSC-032")
        if shipping_method and shipping_method not in {m["id"] for m in SHIPPING_METHODS}:
            raise _bad("WHSC-032", f"Shipping method {shipping_method} does not exist")
        committed: dict[int, int] = {}  # row -> quantity committed within this request
        free: dict[tuple[int, int], int] = {}
        plans = []
        for index, entry in enumerate(entries):
            where = f"warehouses[{index}]"
            if not isinstance(entry, dict):
                raise _bad("WHSC-031", f"{where} must be an object")
            wid = _int(entry.get("warehouseId"), f"{where}.warehouseId", "WHSC-033")
            if wid not in self.warehouses:
                raise _bad("WHSC-033", f"Warehouse {wid} does not exist")
            if entry.get("transfer"):
                raise _bad("WHSC-034", "Transfers are not supported by the sandbox")
            release = _date(entry["releaseDate"], f"{where}.releaseDate", "WHSC-035") if entry.get("releaseDate") else None
            reserved_here = self.reservations.get(order.id, {}).get(wid, {})
            products = entry.get("products")
            auto = not products
            if auto:
                products = []
                for row in order.rows.values():
                    product = self.products.get(row.product_id) if row.product_id else None
                    if product is not None and product.stock_tracked:
                        products.append({"productId": row.product_id, "salesOrderRowId": row.id, "quantity": None})
            if not isinstance(products, list):
                raise _bad("WHSC-036", f"{where}.products must be an array")
            lines: dict[int, list[dict]] = {}
            for pindex, item in enumerate(products):
                at = f"{where}.products[{pindex}]"
                if not isinstance(item, dict):
                    raise _bad("WHSC-036", f"{at} must be an object")
                row_id = _int(item.get("salesOrderRowId"), f"{at}.salesOrderRowId", "WHSC-037")
                row = order.rows.get(row_id)
                if row is None:
                    raise _bad("WHSC-037", f"Row {row_id} is not on order {order.id}")
                product_id = _int(item.get("productId", row.product_id), f"{at}.productId", "WHSC-038")
                if product_id != row.product_id:
                    raise _bad("WHSC-038", f"Product {product_id} does not match row {row_id}")
                product = self.products[product_id]
                if not product.stock_tracked:
                    raise _bad("WHSC-038", f"Product {product_id} is not stock tracked")
                reserved = reserved_here.get(row_id, {}).get("quantity", 0)
                on_notes = self._row_committed(order.id, row_id) - sum(
                    w.get(row_id, {}).get("quantity", 0) for w in self.reservations.get(order.id, {}).values())
                outstanding = int(row.quantity) - on_notes - committed.get(row_id, 0)
                key = (product_id, wid)
                available_free = free.setdefault(key, self.on_hand(product_id, wid))
                if auto:
                    quantity = max(0, min(outstanding, reserved + available_free))
                    if quantity == 0:
                        continue
                else:
                    quantity = _int(item.get("quantity"), f"{at}.quantity", "WHSC-039")
                    if quantity <= 0:
                        raise _bad("WHSC-039", f"{at}.quantity must be positive")
                    if quantity > outstanding:
                        raise _bad("WHSC-040", f"{at}: quantity {quantity} is more than the {outstanding} left to ship on row {row_id}")
                from_reservation = min(reserved, quantity)
                from_free = quantity - from_reservation
                if from_free > available_free:
                    raise _bad("WHSC-041", f"Not enough stock of product {product_id} in warehouse {wid} "
                                           f"(needed {from_free} more than reserved, {available_free} on hand)")
                free[key] = available_free - from_free
                committed[row_id] = committed.get(row_id, 0) + quantity
                lines.setdefault(row_id, []).append({"productId": product_id, "quantity": quantity,
                                                     "locationId": self.default_location(wid), "_from_res": from_reservation})
            if lines:
                plans.append((wid, release, lines))
            elif not auto:
                raise _bad("WHSC-036", f"{where}.products must not be empty")
        # ---- commit
        now = self._now()
        note_ids = []
        for wid, release, lines in plans:
            note_id = self._next("note")
            reserved_here = self.reservations.get(order.id, {}).get(wid, {})
            for row_id, row_lines in lines.items():
                for line in row_lines:
                    from_res = line.pop("_from_res")
                    if from_res:
                        reserved_here[row_id]["quantity"] -= from_res
                        if reserved_here[row_id]["quantity"] == 0:
                            del reserved_here[row_id]
                        self._alloc(line["productId"], wid, -from_res)
                    self._alloc(line["productId"], wid, line["quantity"])  # on the note: allocated until shipped
            if order.id in self.reservations and wid in self.reservations[order.id] and not self.reservations[order.id][wid]:
                del self.reservations[order.id][wid]
                if not self.reservations[order.id]:
                    del self.reservations[order.id]
            sequence = len(self._notes_by_order.get(order.id, ())) + 1
            note = GoodsOutNote(id=note_id, order_id=order.id, warehouse_id=wid, rows=lines, created_on=now,
                                updated_on=now, release_date=release or now, sequence=sequence, priority=priority,
                                shipping_method_id=shipping_method)
            note.last_event_version = self._next("event")
            note.events.append({"occured": fmt_dt(now), "eventOwnerId": STAFF_ID, "eventCode": "PLA"})
            self.notes[note_id] = note
            self._notes_by_order.setdefault(order.id, []).append(note_id)
            note_ids.append(note_id)
        if note_ids:
            self._touch(order)
        return note_ids

    def api_create_goods_out_note(self, order_id: str, body: Any) -> dict:
        body = _obj(body, "body")
        entries = body.get("warehouses")
        if isinstance(entries, list):
            for index, entry in enumerate(entries):
                if isinstance(entry, dict) and not entry.get("products"):
                    raise _bad("WHSC-036", f"warehouses[{index}].products must not be empty")
        # UNCONFIRMED reply shape: an array of the new note ids (one per warehouse entry).
        return {"response": self.create_goods_out_note(_int(order_id, "orderId", "CMNC-011"), body)}

    def _note(self, note_id: Any) -> GoodsOutNote:
        nid = _int(note_id, "goodsOutNoteId", "CMNC-011")
        note = self.notes.get(nid)
        if note is None:
            raise _not_found(f"Goods-out note {nid} not found")
        return note

    def note_dict(self, note: GoodsOutNote) -> dict:
        status: dict[str, Any] = {k: note.flags[k] is not None for k in ("shipped", "packed", "picked", "printed")}
        for key in ("picked", "packed", "shipped", "printed"):
            if note.flags[key] is not None:
                status[f"{key}On"] = fmt_dt(note.flags[key])
        for key in ("picked", "packed", "shipped", "printed"):
            if key in note.by:
                status[f"{key}ById"] = note.by[key]
        shipping: dict[str, Any] = {"reference": note.reference, "shippingMethodId": note.shipping_method_id}
        if note.boxes is not None:
            shipping["boxes"] = note.boxes
        if note.weight is not None:
            shipping["weight"] = note.weight
        data = {
            "orderId": note.order_id, "warehouseId": note.warehouse_id, "transfer": False, "priority": note.priority,
            "status": status, "shipping": shipping, "releaseDate": fmt_dt(note.release_date),
            "createdOn": fmt_dt(note.created_on), "createdBy": STAFF_ID,
            "orderRows": {str(r): [dict(line) for line in lines] for r, lines in note.rows.items()},
            "sequence": note.sequence, "events": [dict(e) for e in note.events], "lastEventVersion": note.last_event_version,
        }
        if note.label_uri:
            data["labelUri"] = note.label_uri
        return data

    def api_get_goods_out_notes(self, order_idset: str, note_idset: str | None) -> dict:
        if note_idset is not None:
            candidates = [i for i in idset_ids(note_idset, 500) if i in self.notes]
        elif order_idset == "*":
            candidates = list(self.notes)
        else:
            candidates = [n for o in idset_ids(order_idset, 200) for n in self._notes_by_order.get(o, ())]
        if order_idset != "*":
            orders = set(idset_ids(order_idset, 200))
            candidates = [n for n in candidates if self.notes[n].order_id in orders]
        # Nothing found answers 200 {"response":{}} (UNCONFIRMED; an empty map is the safe reading).
        return {"response": {str(n): self.note_dict(self.notes[n]) for n in candidates}}

    def api_update_goods_out_note(self, note_id: str, body: Any) -> dict:
        note = self._note(note_id)
        body = _obj(body, "body")
        if note.shipped:
            raise _bad("WHSC-050", f"Goods-out note {note.id} has been shipped and cannot be updated")
        shipping = _obj(body.get("shipping"), "shipping")
        reference = _str(shipping.get("reference"), "shipping.reference", 64, "WHSC-051")
        method = shipping.get("shippingMethodId")
        if method is not None:
            method = _int(method, "shipping.shippingMethodId", "WHSC-052")
            if method and method not in {m["id"] for m in SHIPPING_METHODS}:
                raise _bad("WHSC-052", f"Shipping method {method} does not exist")
        boxes = None if shipping.get("boxes") is None else _int(shipping["boxes"], "shipping.boxes", "WHSC-053")
        weight = None if shipping.get("weight") is None else str(_dec(shipping["weight"], "shipping.weight", "WHSC-053"))
        label = _str(body.get("labelUri"), "labelUri", 2048, "WHSC-054")
        if "priority" in body:
            note.priority = bool(body["priority"])
        if reference is not None:
            note.reference = reference
        if method is not None:
            note.shipping_method_id = method
        if boxes is not None:
            note.boxes = boxes
        if weight is not None:
            note.weight = weight
        if label is not None:
            note.label_uri = label
        note.updated_on = self._now()
        return {}

    def api_goods_out_events(self, note_id: str, body: Any, if_match: str | None = None) -> dict:
        note = self._note(note_id)
        if if_match is not None and if_match.strip('"') != str(note.last_event_version):
            raise _bad("CMNC-412", f"lastEventVersion is {note.last_event_version}, not {if_match}", 412)
        body = _obj(body, "body")
        events = body.get("events")
        if not isinstance(events, list) or not events:
            raise _bad("WHSC-060", "You must supply at least one event")
        parsed = []
        for index, event in enumerate(events):
            if not isinstance(event, dict):
                raise _bad("WHSC-060", f"events[{index}] must be an object")
            code = event.get("eventCode")
            if code not in GON_EVENT_CODES:
                raise _bad("WHSC-061", f"events[{index}].eventCode {code!r} is not one of {', '.join(sorted(GON_EVENT_CODES))}")
            occurred = _date(event.get("occured"), f"events[{index}].occured", "WHSC-062")
            owner = _int(event.get("eventOwnerId", STAFF_ID), f"events[{index}].eventOwnerId", "WHSC-063")
            parsed.append((code, occurred, owner))
        if note.shipped:
            raise _bad("WHSC-064", f"Goods-out note {note.id} has been shipped: no further events are allowed")
        shipping = [p for p in parsed if p[0] == "SHW"]
        if shipping and any(p[0] != "SHW" for p in parsed[parsed.index(shipping[0]) + 1 :]):
            raise _bad("WHSC-064", "No events are allowed after SHW")
        for code, occurred, owner in parsed:
            self._apply_event(note, code, occurred, owner)
        return {}

    def _apply_event(self, note: GoodsOutNote, code: str, occurred: datetime, owner: int) -> None:
        flag = {"PRI": "printed", "PIC": "picked", "PAC": "packed"}
        unflag = {"UPR": "printed", "UPI": "picked", "UPA": "packed"}
        note.last_event_version = self._next("event")
        note.events.append({"occured": fmt_dt(occurred), "eventOwnerId": owner, "eventCode": code})
        note.updated_on = self._now()
        if code in flag:
            note.flags[flag[code]] = occurred
            note.by[flag[code]] = owner
        elif code in unflag:
            note.flags[unflag[code]] = None
            note.by.pop(unflag[code], None)
        else:  # SHW: ships; earlier missing steps are added automatically
            for earlier in ("PRI", "PIC", "PAC"):
                if note.flags[flag[earlier]] is None:
                    note.flags[flag[earlier]] = occurred
                    note.by[flag[earlier]] = owner
                    note.events.append({"occured": fmt_dt(occurred), "eventOwnerId": owner, "eventCode": earlier})
            note.flags["shipped"] = occurred
            note.by["shipped"] = owner
            for lines in note.rows.values():
                for line in lines:
                    self._alloc(line["productId"], note.warehouse_id, -line["quantity"])
                    self._add_movement(line["productId"], note.warehouse_id, -line["quantity"], "GO", note.id, occurred)
            self._touch(self.orders[note.order_id])

    def ship_goods_out_note(self, note_id: int, tracking_reference: str | None = None, at: datetime | None = None) -> None:
        note = self._note(note_id)
        if note.shipped:
            raise _bad("WHSC-064", f"Goods-out note {note.id} has already been shipped")
        if tracking_reference is not None:
            note.reference = _str(tracking_reference, "tracking reference", 64, "WHSC-051") or ""
        self._apply_event(note, "SHW", at or self._now(), STAFF_ID)

    def fulfil_order(self, order_id: int, warehouse_id: int | None, rows: list[dict] | None,
                     tracking_reference: str | None, ship: bool) -> int:
        """Control helper: a goods-out note for the remaining (or given) rows, optionally shipped."""
        order = self._order(order_id)
        wid = warehouse_id or order.warehouse_id
        if rows:
            products = [{"productId": order.rows[int(r["row_id"])].product_id if int(r["row_id"]) in order.rows else 0,
                         "salesOrderRowId": int(r["row_id"]), "quantity": int(r["quantity"])} for r in rows]
        else:
            products = []
        notes = self.create_goods_out_note(order.id, {"warehouses": [{"warehouseId": wid, "products": products}]})
        if not notes:
            raise _bad("WHSC-041", f"Nothing left to fulfil (or no stock) for order {order.id} in warehouse {wid}")
        if ship:
            self.ship_goods_out_note(notes[0], tracking_reference)
        elif tracking_reference:
            self.notes[notes[0]].reference = tracking_reference
        return notes[0]

    # ------------------------------------------------------------ payments

    def create_customer_payment(self, body: dict) -> int:
        body = _obj(body, "body")
        method = body.get("paymentMethodCode")
        if not method:
            raise _bad("PYMC-001", "You must supply a paymentMethodCode")
        method = _str(method, "paymentMethodCode", 36, "PYMC-001")
        if method not in PAYMENT_METHOD_CODES:
            raise _bad("PYMC-002", f"Payment method {method} does not exist")
        payment_type = body.get("paymentType")
        if payment_type not in PAYMENT_TYPES:
            raise _bad("PYMC-003", f"paymentType must be one of {', '.join(sorted(PAYMENT_TYPES))}")
        if body.get("orderId") is None:
            raise _bad("PYMC-004", "You must supply an orderId")
        order_id = _int(body["orderId"], "orderId", "PYMC-004")
        order = self.orders.get(order_id)
        if order is None:
            raise _bad("PYMC-004", f"Order {order_id} does not exist")
        if body.get("paymentDate") is None:
            raise _bad("PYMC-005", "You must supply a paymentDate")
        payment_date = _date(body["paymentDate"], "paymentDate", "PYMC-005")
        ref = _str(body.get("transactionRef"), "transactionRef", 64, "PYMC-006")
        code = _str(body.get("transactionCode"), "transactionCode", 64, "PYMC-006")
        currency = body.get("currencyIsoCode", order.currency)
        if currency not in CURRENCIES:
            raise _bad("PYMC-007", f"Currency {currency!r} is not set up on this account")
        authorized = paid = D0
        expires = None
        if payment_type in ("AUTH", "VOID"):
            authorized = _dec(body.get("amountAuthorized"), "amountAuthorized", "PYMC-008")
            if body.get("authorizationExpiry"):
                expires = _date(body["authorizationExpiry"], "authorizationExpiry", "PYMC-005")
        else:
            paid = _dec(body.get("amountPaid"), "amountPaid", "PYMC-008")
        if authorized < 0 or paid < 0:
            raise _bad("PYMC-008", "Amounts must not be negative")
        if ref:
            existing = self._payment_refs.get((method, ref))
            if existing is not None:
                # UNCONFIRMED code/text: transactionRef is documented unique per paymentMethodCode.
                raise _bad("PYMC-010", f"A payment with transactionRef {ref} already exists for payment method {method}: {existing}")
        payment_id = self._next("payment")
        journal_id = self._next("journal") if payment_type in ("RECEIPT", "CAPTURE", "PAYMENT") else None
        self.payments[payment_id] = Payment(
            id=payment_id, transaction_ref=ref, transaction_code=code, method=method, type=payment_type,
            order_id=order_id, currency=currency, amount_authorized=authorized.quantize(Q2), amount_paid=paid.quantize(Q2),
            expires=expires, payment_date=payment_date, created_on=self._now(), journal_id=journal_id,
            journal_ref=_str(body.get("journalRef"), "journalRef", 255, "PYMC-006"),
        )
        self._payments_by_order.setdefault(order_id, []).append(payment_id)
        if ref:
            self._payment_refs[(method, ref)] = payment_id
        self._touch(order)
        return payment_id

    def api_delete_payment(self, payment_id: str) -> dict:
        pid = _int(payment_id, "paymentId", "CMNC-011")
        payment = self.payments.pop(pid, None)
        if payment is None:
            raise _not_found(f"Customer payment {pid} not found")
        self._payments_by_order[payment.order_id].remove(pid)
        if payment.transaction_ref:
            self._payment_refs.pop((payment.method, payment.transaction_ref), None)
        if payment.order_id in self.orders:
            self._touch(self.orders[payment.order_id])
        return {}

    # ------------------------------------------------------------ searches

    def _build_search_specs(self) -> dict[str, SearchSpec]:
        d = self._derived

        def order_reference(page: list) -> dict:
            statuses = {str(o.status_id): next(s["name"] for s in ORDER_STATUSES if s["statusId"] == o.status_id) for o in page}
            stock, payment, shipping = {}, {}, {}
            for o in page:
                derived = d(o)
                stock_id = STOCK_STATUS_IDS["NON" if derived[5] == "NON" else derived[5][-1]]
                stock[str(stock_id)] = next(s["name"] for s in STOCK_STATUSES if s["id"] == stock_id)
                payment[str(PAYMENT_STATUS_IDS[derived[4]])] = derived[4]
                shipping[str(SHIPPING_STATUS_IDS[derived[7]])] = next(s["description"] for s in SHIPPING_STATUSES if s["code"] == derived[7])
            return {"orderShippingStatusNames": shipping, "orderTypeNames": dict(ORDER_TYPE_NAMES),
                    "orderPaymentStatusNames": payment, "orderStockStatusNames": stock, "orderStatusNames": statuses}

        def stock_id(o: Order) -> int:
            code = d(o)[5]
            return STOCK_STATUS_IDS["NON" if code == "NON" else code[-1]]

        orders = lambda: list(self.orders.values())  # noqa: E731
        order_cols = [
            Col("orderId", "IDSET", lambda o: o.id),
            Col("orderTypeId", "IDSET", lambda o: ORDER_TYPE_IDS[o.type_code], ref=("orderTypeNames",)),
            Col("contactId", "INTEGER", lambda o: o.customer_id),
            Col("orderStatusId", "INTEGER", lambda o: o.status_id, ref=("orderStatusNames",)),
            Col("orderStockStatusId", "INTEGER", stock_id, ref=("orderStockStatusNames",)),
            Col("createdOn", "PERIOD", lambda o: o.created_on),
            Col("createdById", "INTEGER", lambda o: STAFF_ID),
            Col("customerRef", "STRING", lambda o: o.reference),
            Col("orderPaymentStatusId", "INTEGER", lambda o: PAYMENT_STATUS_IDS[d(o)[4]], ref=("orderPaymentStatusNames",)),
            Col("updatedOn", "PERIOD", lambda o: o.updated_on),
            Col("parentOrderId", "IDSET", lambda o: o.parent_id),
            Col("orderShippingStatusId", "INTEGER", lambda o: SHIPPING_STATUS_IDS[d(o)[7]], ref=("orderShippingStatusNames",)),
            Col("externalRef", "STRING", lambda o: o.external_ref),
            Col("installedIntegrationInstanceId", "INTEGER", lambda o: o.integration_instance_id),
            Col("warehouseId", "IDSET", lambda o: o.warehouse_id),
            Col("staffOwnerContactId", "INTEGER", lambda o: o.staff_owner_id),
            Col("taxDate", "PERIOD", lambda o: datetime.combine(o.tax_date.date(), time.min, tzinfo=UTC)),
            Col("departmentId", "INTEGER", lambda o: 0),
            Col("deliveryDate", "PERIOD", lambda o: o.delivery_date),
        ]
        product_ids = lambda o, check: any(check(r.product_id) for r in o.rows.values())  # noqa: E731
        sales_order_cols = [
            Col("salesOrderId", "IDSET", lambda o: o.id),
            Col("customerId", "IDSET", lambda o: o.customer_id),
            Col("orderStatusId", "IDSET", lambda o: o.status_id, ref=("orderStatusNames",)),
            Col("orderStockStatus", "STRING", lambda o: d(o)[5]),
            Col("orderPaymentStatus", "STRING", lambda o: d(o)[4]),
            Col("orderShippingStatus", "STRING", lambda o: d(o)[7]),
            Col("createdOn", "PERIOD", lambda o: o.created_on),
            Col("updatedOn", "PERIOD", lambda o: o.updated_on),
            Col("placedOn", "PERIOD", lambda o: o.placed_on),
            Col("customerRef", "STRING", lambda o: o.reference),
            Col("externalRef", "STRING", lambda o: o.external_ref),
            Col("installedIntegrationInstanceId", "INTEGER", lambda o: o.integration_instance_id),
            Col("parentOrderId", "IDSET", lambda o: o.parent_id),
            Col("warehouseId", "IDSET", lambda o: o.warehouse_id),
            Col("staffOwnerId", "INTEGER", lambda o: o.staff_owner_id),
            Col("channelId", "IDSET", lambda o: o.channel_id),
            Col("taxDate", "PERIOD", lambda o: o.tax_date),
            Col("deliveryDate", "PERIOD", lambda o: o.delivery_date),
        ]
        product_cols = [
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
        last_ordered: Callable[[Contact], datetime | None] = lambda c: None  # noqa: E731
        contact_cols = [
            Col("contactId", "IDSET", lambda c: c.id),
            Col("primaryEmail", "SEARCH_STRING", lambda c: c.email or ""),
            Col("secondaryEmail", "SEARCH_STRING", lambda c: c.email2),
            Col("tertiaryEmail", "SEARCH_STRING", lambda c: c.email3),
            Col("firstName", "SEARCH_STRING", lambda c: c.first_name),
            Col("lastName", "SEARCH_STRING", lambda c: c.last_name),
            Col("isSupplier", "BOOLEAN", lambda c: c.is_supplier, sortable=False),
            Col("companyName", "SEARCH_STRING", lambda c: c.company),
            Col("isStaff", "BOOLEAN", lambda c: c.is_staff, sortable=False),
            Col("isCustomer", "BOOLEAN", lambda c: not (c.is_supplier or c.is_staff), sortable=False),
            Col("createdOn", "PERIOD", lambda c: c.created_on),
            Col("updatedOn", "PERIOD", lambda c: c.updated_on),
            Col("lastContactedOn", "PERIOD", lambda c: None),
            Col("lastOrderedOn", "PERIOD", last_ordered),
            Col("nominalCode", "INTEGER", lambda c: 4000),
            Col("isPrimary", "BOOLEAN", lambda c: True),
            Col("pri", "STRING", lambda c: c.phone or "", sortable=False),
            Col("sec", "STRING", lambda c: c.phone2, sortable=False),
            Col("mob", "STRING", lambda c: c.mobile, sortable=False),
            Col("exactCompanyName", "STRING", lambda c: c.company),
            Col("title", "STRING", lambda c: c.salutation or None),
        ]
        payment_cols = [
            Col("paymentId", "IDSET", lambda p: p.id),
            Col("transactionRef", "STRING", lambda p: p.transaction_ref, sortable=False),
            Col("transactionCode", "STRING", lambda p: p.transaction_code, sortable=False),
            Col("paymentMethodCode", "STRING", lambda p: p.method, sortable=False),
            Col("paymentType", "STRING", lambda p: p.type, sortable=False),
            Col("orderId", "IDSET", lambda p: p.order_id, sortable=False),
            Col("currencyId", "IDSET", lambda p: CURRENCIES[p.currency], sortable=False),
            Col("currencyCode", "STRING", lambda p: p.currency, sortable=False),
            Col("amountAuthorized", "STRING", lambda p: m2(p.amount_authorized), sortable=False),
            Col("amountPaid", "STRING", lambda p: m2(p.amount_paid), sortable=False),
            Col("expires", "PERIOD", lambda p: p.expires, sortable=False),
            Col("paymentDate", "PERIOD", lambda p: p.payment_date),
            Col("createdOn", "PERIOD", lambda p: p.created_on),
            Col("journalId", "IDSET", lambda p: p.journal_id),
        ]
        movement_cols = [Col(name, type_, (lambda key: lambda m: m[key])(name)) for name, type_ in (
            ("goodsMovementId", "IDSET"), ("productId", "IDSET"), ("quantity", "INTEGER"), ("destinationLocationId", "IDSET"),
            ("warehouseId", "IDSET"), ("currencyCode", "STRING"), ("goodsNoteTypeCode", "STRING"), ("goodsNoteId", "IDSET"),
            ("updatedOn", "PERIOD"))]
        # UNCONFIRMED column list for goods-note/goods-out-search (not in the notes nor recordings).
        note_cols = [
            Col("goodsNoteId", "IDSET", lambda n: n.id),
            Col("orderId", "IDSET", lambda n: n.order_id),
            Col("warehouseId", "IDSET", lambda n: n.warehouse_id),
            Col("transfer", "BOOLEAN", lambda n: False),
            Col("priority", "BOOLEAN", lambda n: n.priority),
            Col("printed", "BOOLEAN", lambda n: n.flags["printed"] is not None),
            Col("picked", "BOOLEAN", lambda n: n.flags["picked"] is not None),
            Col("packed", "BOOLEAN", lambda n: n.flags["packed"] is not None),
            Col("shipped", "BOOLEAN", lambda n: n.flags["shipped"] is not None),
            Col("createdOn", "PERIOD", lambda n: n.created_on),
            Col("shippedOn", "PERIOD", lambda n: n.flags["shipped"]),
            Col("updatedOn", "PERIOD", lambda n: n.updated_on),
            Col("shippingMethodId", "INTEGER", lambda n: n.shipping_method_id),
            Col("shippingReference", "STRING", lambda n: n.reference),
        ]

        def product_reference(page: list) -> dict:
            return {"productCategoryMembership": {str(p.id): [p.category_code] for p in page}}

        return {
            "order": SearchSpec(order_cols, orders, reference=order_reference),
            "sales-order": SearchSpec(sales_order_cols, lambda: [o for o in self.orders.values() if o.type_code == "SO"],
                                      reference=lambda page: {"orderStatusNames": {
                                          str(o.status_id): next(s["name"] for s in ORDER_STATUSES if s["statusId"] == o.status_id)
                                          for o in page}},
                                      extra_filters={"productIds": ("IDSET", product_ids),
                                                     "customerRefs": ("STRING_SET", lambda o, check: check(o.reference)),
                                                     "isHistoricalOrder": ("BOOLEAN", lambda o, check: check(False))}),
            "product": SearchSpec(product_cols, lambda: list(self.products.values()), reference=product_reference,
                                  row=self._cached_product_row, row_json=self._product_row_bytes),
            "contact": SearchSpec(contact_cols, lambda: list(self.contacts.values())),
            "customer-payment": SearchSpec(payment_cols, lambda: list(self.payments.values())),
            "goods-movement": SearchSpec(movement_cols, self._movements_by_id, row_json=self._movement_bytes),
            "goods-out": SearchSpec(note_cols, lambda: list(self.notes.values())),
        }

    def _movement_bytes(self, movement: dict) -> bytes:
        cached = self._movement_json.get(movement["goodsMovementId"])
        if cached is None:
            row = [_fmt(movement[k]) for k in ("goodsMovementId", "productId", "quantity", "destinationLocationId",
                                               "warehouseId", "currencyCode", "goodsNoteTypeCode", "goodsNoteId", "updatedOn")]
            cached = self._movement_json[movement["goodsMovementId"]] = json_bytes(row)
        return cached

    def _movements_by_id(self) -> list[dict]:
        # movements are stored by (updatedOn, id); the default sort is goodsMovementId ASC
        return sorted(self.movements, key=lambda m: m["goodsMovementId"])

    def search(self, resource: str, query: Mapping[str, str], *, raw: bool = False) -> Any:
        """A search body (dict), or its JSON bytes with `raw=True` (faster: cached rows)."""
        spec = self._searches[resource]
        self._derived_memo = {}
        try:
            sort = query.get("sort", "")
            if resource == "goods-movement" and sort.upper() in ("UPDATEDON.ASC", "UPDATEDON.DESC", "UPDATEDON"):
                # fast path: the movement list is kept in (updatedOn, id) order
                desc = sort.upper().endswith(".DESC")
                items = list(reversed(self.movements)) if desc else list(self.movements)
                rest = {k: v for k, v in query.items() if k != "sort"}
                return run_search(spec, rest, raw=raw, presorted=(items, [(spec.by_name["updatedOn"], desc)]))
            return run_search(spec, query, raw=raw)
        finally:
            self._derived_memo = None

    def search_meta(self, resource: str) -> dict:
        spec = self._searches[resource]
        return {"response": {"columns": [c.meta for c in spec.cols],
                             "sorting": [{"filterable": spec.cols[0].meta, "direction": "ASC"}]}}
