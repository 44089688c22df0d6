"""What every service backend of the Brightpearl simulator shares: the error it raises, the wire
formats (dates, money, ID sets), request-body readers that answer the API's own error envelope,
and the options of the behaviours no source settles (`FidelityOptions`).

Nothing here knows about HTTP: the routes (`app.py`) render `BrightpearlApiError` as
`{"errors":[{"code","message"}]}` with its status.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

UTC = timezone.utc
D0 = Decimal(0)
Q2 = Decimal("0.01")
Q4 = Decimal("0.0001")
STAFF_ID = 4  # the API user's staff contact id (createdById, eventOwnerId of automatic events)

if TYPE_CHECKING:
    from bp_nop_dagster.sandbox.brightpearl.backend import BrightpearlBackend


class BrightpearlApiError(Exception):
    """An error the API answers in its `{"errors":[{code,message}]}` envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def bad(code: str, message: str, status: int = 400) -> BrightpearlApiError:
    return BrightpearlApiError(status, code, message)


def not_found(message: str) -> BrightpearlApiError:
    return BrightpearlApiError(404, "CMNC-404", message)


class FidelityOptions(BaseModel):
    """The simulator's inferred behaviours: no source settles them, so each is a switch (set
    through the backend's constructor or `PUT /__sandbox__/fidelity`) and listed as `inferred`
    in `sandbox/brightpearl/fidelity.py`. Defaults are the likeliest reading."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    duplicate_sales_order_reply: Literal["existing_id", "empty"] = Field(
        "existing_id", description="body of the documented 200 to a repeated sales-order POST (same externalRef + "
        "installedIntegrationInstanceId): the existing order's id, or {} (no body)")
    allocate_on_create: dict[int, bool] = Field(
        default_factory=lambda: {2: False}, description="channel id -> whether a new sales order on it allocates "
        "available stock; channels not listed follow allocate_on_create_default (help 211131506: manually entered "
        "orders are not allocated automatically; channel 2 is the phone channel)")
    allocate_on_create_default: bool = True
    allocate_on_create_warehouses: list[int] | None = Field(
        None, description="None: new orders allocate in every warehouse; a list: only orders in these warehouses do")
    non_stock_tracked_availability: Literal["error_if_any", "error_if_all", "drop"] = Field(
        "error_if_any", description="product-availability for an ID set holding non-stock-tracked products: 400 "
        "WHSC-097 if any (or only if all) of them is not tracked, or leave them out of the reply")
    unknown_search_parameter: Literal["error", "ignore"] = Field(
        "error", description="a search column, sort or filter the resource does not have: the recorded search error "
        "envelope (500 CMNC-018), or ignored")
    payment_method_shape: Literal["both", "documented", "recorded"] = Field(
        "both", description="payment-method GET items: documented {name, code, isActive, bankAccounts, "
        "installedIntegrationId}, recorded {id, name}, or both merged")
    contact_flat_emails: Literal["refuse", "store"] = Field(
        "refuse", description="a contact POST with a top-level `emails` (not communication.emails): refused with a 400, "
        "or stored as communication.emails")
    default_country_iso3: str = Field("GBR", description="country of a postal address posted without one (the "
                                                         "account's own country)")
    installed_integration_instance_id: int | None = Field(
        1, description="value of the brightpearl-installed-integration-instance-id header on every API reply "
        "(None: the header is not sent, as in some recordings)")
    order_modified_by: list[Literal["row", "status", "payment", "goods_out", "shipping", "allocation", "close",
                                    "goods_in"]] = Field(
        default_factory=lambda: ["row", "status", "payment", "goods_out", "shipping", "allocation", "close", "goods_in"],
        description="the changes that set an order's updatedOn and version: rows added, status changes, payments, "
        "goods-out notes created or deleted, shipping, reservations made or released later (manual allocation), "
        "a credit closed (invoiced), goods-in notes")
    other_account_code: Literal[401, 404] = Field(
        401, description="valid credentials on another account code's path: 401 'Invalid instance token', or 404")
    default_location_reply: Literal["id", "object"] = Field(
        "id", description="warehouse default location GET: {response: <location id>} or {response: {id, warehouseId}}")
    period_filter_end: Literal["inclusive", "exclusive"] = Field(
        "inclusive", description="whether a PERIOD filter's end bound is inclusive")
    string_filter_case: Literal["insensitive", "sensitive"] = Field(
        "insensitive", description="STRING / STRING_SET search filters compare ignoring case, or not")
    page_size_over_max: Literal["clamp", "error"] = Field(
        "clamp", description="a search pageSize above 500: answered with 500 rows, or refused (400)")
    empty_goods_out_get: Literal["empty_map", "not_found"] = Field(
        "empty_map", description="a goods-out note GET that finds nothing: 200 {\"response\": {}}, or 404 CMNC-404")
    deleted_goods_out_stock: Literal["released", "reserved"] = Field(
        "released", description="the units of a deleted open goods-out note go back on hand, or stay allocated to "
        "the order as a reservation")
    # ---- returns and refunds (docs/reference/returns-refunds.md §1, §2)
    cancel_after_reversal: Literal["allowed", "refused"] = Field(
        "allowed", description="cancelling a sales order whose payments were reversed to a net zero (a RECEIPT "
        "then a PAYMENT of the same amount): allowed (help 211131486, 212648443: reverse the payment, then "
        "cancel), or refused like any order with payments")
    duplicate_sales_credit_reply: Literal["existing_id", "empty", "error"] = Field(
        "existing_id", description="a repeated sales-credit POST (same externalRef + installedIntegrationInstanceId, "
        "a documented unique key; the doc's sentence on the repeat is cut off): 200 with the existing credit's id "
        "(like a sales order), 200 {}, or 400")
    credit_parent: Literal["any_order", "customer_sales_order"] = Field(
        "any_order", description="what a sales credit's parentId may name: any existing order (the POST doc: 'link "
        "your new credit to an existing order'), or only a sales order of the credit's customer")
    credit_reference: Literal["sequence", "credit_id"] = Field(
        "sequence", description="the number n of a closed credit's invoice reference SC-n: an account-wide counter "
        "from 1, or the credit's id")
    sale_payment_total_unknown_order: Literal["omitted", "zeros"] = Field(
        "omitted", description="sale-payment-total for an id that is no order: left out, or zeros like an order "
        "without payments")
    quarantine_location_reply: Literal["id", "object"] = Field(
        "id", description="warehouse quarantine location GET: {response: <location id>} (like the default location) "
        "or {response: {id, warehouseId, groupingA: 'QUARANTINE'}}")
    quarantine_stock: Literal["in_stock_not_on_hand", "excluded"] = Field(
        "in_stock_not_on_hand", description="quarantined units in product-availability: counted in inStock but not "
        "onHand ('present in the warehouse, not available for sale'), or left out of both")
    quarantine_release_short: Literal["refuse", "partial"] = Field(
        "refuse", description="a quarantine release of more units than are in quarantine (but some are): refused "
        "with WHSB-023, or the available units released")
    quarantine_release_movements: bool = Field(
        True, description="a quarantine release (an internal transfer) records goods movements (out of the "
        "quarantine location, into the target location), visible in goods-movement-search")
    goods_in_movement_type: str = Field("GI", description="goodsNoteTypeCode of a goods-in note's goods movements")
    goods_in_note_status: Literal["OPEN", "CLOSED"] = Field(
        "OPEN", description="goodsNoteStatus of a received goods-in note (documented values OPEN, CLOSED, CANCELLED)")
    empty_goods_in_get: Literal["empty_map", "not_found"] = Field(
        "empty_map", description="a goods-in note GET that finds nothing: 200 {\"response\": {}}, or 404 CMNC-404")
    # ---- catalogue, prices, purchase orders, contacts (issue 15)
    product_updated_on_by: list[Literal["put", "price", "stock"]] = Field(
        default_factory=lambda: ["put"], description="the changes that set a product's updatedOn (and version, "
        "recorded equal to updatedOn in ms): a product PUT, a price PUT, a goods movement")
    product_put: Literal["merge", "replace"] = Field(
        "merge", description="a product PUT keeps the fields it does not send (the recorded PUT sends only "
        "salesChannels), or resets them to their defaults")
    # ---- webhook delivery (issue 17; api-docs integration/webhook/post.html documents the QoS rules only)
    webhook_drop_chance: float = Field(
        0.0, ge=0.0, le=1.0, description="chance that a raised event is never delivered to a subscription (webhooks "
        "can be missed: an integrator's note says Brightpearl does not guarantee a notification for every change)")
    webhook_retry_delays_seconds: list[float] = Field(
        default_factory=lambda: [1.0, 2.0, 4.0, 8.0, 16.0, 32.0], description="waits before each retry of a failed "
        "delivery (which failures are retried is documented: QoS 0 only a 503, QoS 1 all but a 4xx; the schedule is not)")
    webhook_id_set_window_seconds: float = Field(
        0.02, gt=0, le=5, description="events raised within one window share one ID set (one request per subscription "
        "with idSetAccepted); also how often the deliverer picks deliveries up")
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="how long a delivery waits for the receiver's reply")
    webhook_on_hand_by: list[Literal["movement", "allocation"]] = Field(
        default_factory=lambda: ["movement", "allocation"], description="what raises product.modified.on-hand-modified: "
        "goods movements, and allocation (which changes on hand without a movement, help 211131266)")
    contact_updated_on_by_address: bool = Field(
        False, description="a postal-address PUT also sets its contact's updatedOn (visible in contact-search)")


# ---------------------------------------------------------------- formatting


@lru_cache(maxsize=262_144)
def fmt_dt(value: datetime) -> str:
    """`2026-11-20T10:39:46.000+00:00`: the recorded format (milliseconds, explicit offset)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    offset = value.strftime("%z")
    return f"{value.strftime('%Y-%m-%dT%H:%M:%S')}.{value.microsecond // 1000:03d}{offset[:3]}:{offset[3:]}"


def fmt_value(value: Any) -> Any:
    """A search cell: dates in the recorded format, money with 2 decimals, the rest as is."""
    if isinstance(value, datetime):
        return fmt_dt(value)
    if isinstance(value, Decimal):
        return str(value.quantize(Q2))
    return value


def m2(value: Decimal) -> str:
    return str(value.quantize(Q2))


def m4(value: Decimal) -> str:
    return str(value.quantize(Q4))


def day_start(value: datetime) -> datetime:
    return datetime.combine(value.date(), time.min, tzinfo=value.tzinfo or UTC)


# ---------------------------------------------------------------- parsing

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


def in_ranges(value: int, ranges: list[tuple[int, int]]) -> bool:
    return any(a <= value <= b for a, b in ranges)


def idset_ids(text: str, cap: int | None) -> list[int]:
    """The ids of an ID set in order, de-duplicated; 400 if malformed or over `cap`."""
    try:
        ranges = parse_idset(text)
    except ValueError:
        raise bad("CMNC-011", f"The ID set {text} is not valid") from None
    total = sum(b - a + 1 for a, b in ranges)
    if cap is not None and total > cap:
        # Code and text inferred: the docs only state the 200 (500 for goods-out) limit.
        raise bad("CMNC-050", f"ID set exceeds maximum of {cap}")
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
    """`OPTIONS /{resource}/{idset?}`: the existing ids, merged into URIs of at most `per_uri` ids."""
    if text is None:
        chosen = sorted(existing)
    else:
        try:
            ranges = sorted(parse_idset(text))
        except ValueError:
            raise bad("CMNC-011", f"The ID set {text} is not valid") from None
        chosen = sorted(i for i in existing if in_ranges(i, ranges))
    uris = [f"/{resource}/{compress_ids(chosen[i : i + per_uri])}" for i in range(0, len(chosen), per_uri)]
    return {"response": {"getUris": uris}}


# ---------------------------------------------------------------- request-body readers


def as_decimal(value: Any, what: str, code: str = "CMNC-012") -> Decimal:
    if isinstance(value, bool) or value is None:
        raise bad(code, f"{what} must be a number")
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise bad(code, f"{what} must be a number, not {value!r}") from None
    if not result.is_finite():
        raise bad(code, f"{what} must be a number, not {value!r}")
    return result


def as_int(value: Any, what: str, code: str = "CMNC-012") -> int:
    if isinstance(value, bool) or value is None:
        raise bad(code, f"{what} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise bad(code, f"{what} must be an integer, not {value!r}")


def as_object(value: Any, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad("CMNC-012", f"{what} must be a JSON object")
    return value


def as_text(value: Any, what: str, max_len: int | None = None, code: str = "CMNC-012") -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise bad(code, f"{what} must be a string")
    text = str(value)
    if max_len is not None and len(text) > max_len:
        raise bad(code, f"{what} must be {max_len} characters or fewer")
    return text


def as_datetime(value: Any, what: str, code: str = "CMNC-013") -> datetime:
    try:
        return parse_datetime(value)
    except (ValueError, TypeError):
        raise bad(code, f"{what} is not a valid ISO-8601 date: {value!r}") from None


def reference_reply(items: list[dict], idset: str | None, what: str, key: str = "id") -> dict:
    """A reference-data GET (`/{kind}` or `/{kind}/{idset}`): all items, or those of the ID set;
    404 CMNC-404 when none of the ID set exists."""
    if idset is None:
        return {"response": list(items)}
    wanted = idset_ids(idset, 200)
    by_id = {item[key]: item for item in items}
    found = [by_id[i] for i in wanted if i in by_id]
    if not found:
        raise not_found(f"No {what} found")
    return {"response": found}


class Service:
    """One service of the account (order, warehouse, product, ...): its state and behaviour.
    Other services are reached through `self.account` (the composing `BrightpearlBackend`)."""

    def __init__(self, account: BrightpearlBackend) -> None:
        self.account = account

    def now(self) -> datetime:
        return self.account.now()

    def next_id(self, kind: str) -> int:
        return self.account.next_id(kind)

    @property
    def options(self) -> FidelityOptions:
        return self.account.options
