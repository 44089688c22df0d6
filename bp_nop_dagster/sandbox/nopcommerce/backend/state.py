"""The simulated shop's state, its enumerations and errors, and nopCommerce's paged list.

Every per-controller module of the backend (`customers`, `catalog`, `orders`, ...) is a mixin over
`ShopState`; `NopCommerceBackend` (package `__init__`) combines them.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field

from bp_nop_dagster.sandbox.nopcommerce.wire import INT_MAX
from bp_nop_dagster.sandbox.world import SandboxCredentials

# ---------------------------------------------------------------------------------------------
# enumerations (CORE Nop.Core/Domain; notes §3)
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
PRODUCT_TYPES = {"SimpleProduct": 5, "GroupedProduct": 10}
INV_NONE, INV_STOCK, INV_BY_ATTRIBUTES = 0, 1, 2

# nop's default customer role ids (installation data)
ROLE_ADMINISTRATORS, ROLE_FORUM_MODERATORS, ROLE_REGISTERED, ROLE_GUESTS, ROLE_VENDORS = 1, 2, 3, 4, 5
ROLE_SYSTEM_NAMES = {ROLE_ADMINISTRATORS: "Administrators", ROLE_FORUM_MODERATORS: "ForumModerators",
                     ROLE_REGISTERED: "Registered", ROLE_GUESTS: "Guests", ROLE_VENDORS: "Vendors"}

CENT = Decimal("0.01")


class NopError(Exception):
    """A `NopException` from nopCommerce core: the plugin's ErrorHandlerMiddleware answers 400
    `{"message","inner_exception_message","stack_trace"}`."""


class CoreError(Exception):
    """A plain .NET exception from core (`throw new Exception(...)`, a database error): the
    ErrorHandlerMiddleware answers 500 with the same body as for a NopException."""


class ForeignKeyViolation(CoreError):
    """An insert referencing a row that does not exist: SQL Server refuses it, and the plugin,
    which inserts without checking, answers 500 (ErrorHandlerMiddleware)."""

    def __init__(self, table: str, column: str, referenced: str) -> None:
        super().__init__(f'The INSERT statement conflicted with the FOREIGN KEY constraint "FK_{table}_{column}_{referenced}_Id". '
                         f'The conflict occurred in table "dbo.{referenced}", column \'Id\'.')


class ShopSettings(BaseModel):
    """The shop's own settings the simulated behaviour depends on, at nopCommerce's installation
    defaults (CORE Nop.Services/Installation InstallSettingsAsync, OrderSettings/CatalogSettings;
    message templates InstallMessageTemplatesAsync). A merchant changes them in the admin; the
    sandbox through `PUT /__sandbox__/settings`."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    return_requests_enabled: bool = Field(True, description="OrderSettings.ReturnRequestsEnabled")
    number_of_days_return_request_available: int = Field(
        365, ge=0, description="OrderSettings.NumberOfDaysReturnRequestAvailable (0: no limit), counted from the order's creation")
    ignore_store_limitations: bool = Field(
        True, description="CatalogSettings.IgnoreStoreLimitations: while true, store mappings filter nothing")
    order_refunded_notifications: bool = Field(
        False, description="the OrderRefunded.StoreOwnerNotification and .CustomerNotification message templates are "
        "active (both installed inactive): each refund then queues two e-mails and notes them on the order")


class NotFound(Exception):
    """A lookup by id that found nothing; the app answers 404 with the message as a JSON string."""


@dataclass(frozen=True)
class Page:
    """One page of `Nop.Core.PagedList`: 0-based, `page_size` at least 1, `items` empty when only
    the total was asked for (getOnlyTotalCount)."""

    items: list[Any]
    page_index: int
    page_size: int
    total_count: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total_count / self.page_size) if self.total_count else 0

    @property
    def has_previous_page(self) -> bool:
        return self.page_index > 0

    @property
    def has_next_page(self) -> bool:
        return self.page_index + 1 < self.total_pages


def paginate(items: list, page_index: int = 0, page_size: int = INT_MAX, only_total_count: bool = False) -> Page:
    """`IQueryable.ToPagedListAsync` (Nop.Core/PagedList.cs): pageSize clamped to >= 1, the page
    `pageIndex * pageSize ..`, no items when `getOnlyTotalCount`."""
    page_index = max(page_index, 0)
    page_size = max(page_size, 1)
    start = page_index * page_size
    page = [] if only_total_count else items[start:start + page_size]
    return Page(page, page_index, page_size, len(items))


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def round_price(value: Decimal) -> Decimal:
    # nop RoundingType.Rounding001 uses Math.Round(value, 2) = banker's rounding (MidpointRounding.ToEven).
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def contains(haystack: str | None, needle: str | None) -> bool:
    """SQL `LIKE '%needle%'` under SQL Server's default case-insensitive collation."""
    return needle is None or needle.lower() in (haystack or "").lower()


def in_window(value: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    """`start <= value <= end`, both bounds inclusive and optional (core's createdFromUtc/ToUtc)."""
    if start is not None and (value is None or value < start):
        return False
    if end is not None and (value is None or value > end):
        return False
    return True


def newest_first(entities: list[dict]) -> list[dict]:
    return sorted(entities, key=lambda e: (e["created_on_utc"], e["id"]), reverse=True)


def by_ids(table: dict[int, dict], ids: list[int], *, include_deleted: bool = True) -> list[dict]:
    """`EntityRepository.GetByIdsAsync`: the rows with those ids in the order asked, soft-deleted
    ones left out when `include_deleted` is false."""
    rows = (table.get(i) for i in ids)
    return [row for row in rows if row is not None and (include_deleted or not row.get("deleted"))]


class ShopState:
    """Every table of the simulated shop, id sequences and the clock."""

    def __init__(self, credentials: SandboxCredentials, clock: Callable[[], datetime] | None = None) -> None:
        self.credentials = credentials
        self.clock: Callable[[], datetime] = clock or utcnow
        self.token_lifetime = timedelta(days=7)  # WebApiCommonDefaults.TokenLifeTime
        self.usernames_enabled = False
        self._random = random.Random(0x6E6F70)
        self._next_ids: dict[str, int] = {}

        self.countries: dict[int, dict] = {}
        self.state_provinces: dict[int, dict] = {}
        self.customers: dict[int, dict] = {}
        self.customer_roles: dict[int, set[int]] = {}  # customer id -> role ids (Customer_CustomerRole_Mapping)
        self.role_rows: dict[int, dict] = {}  # CustomerRole rows
        self.customer_addresses: dict[int, list[int]] = {}
        self.passwords: dict[int, str] = {}
        self.api_access: set[int] = set()
        self.addresses: dict[int, dict] = {}
        self.settings = ShopSettings()
        self.stores: dict[int, dict] = {}
        self.store_mappings: dict[int, dict] = {}
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
        self.return_request_reasons: dict[int, dict] = {}
        self.return_request_actions: dict[int, dict] = {}
        # indexes for the per-order lookups clients make once per order (N+1, notes §7.7)
        self._items_by_order: dict[int, list[int]] = {}
        self._notes_by_order: dict[int, list[int]] = {}
        self._pwi_by_product: dict[int, list[int]] = {}
        self._combinations_by_product: dict[int, list[int]] = {}
        self._orders_by_created: tuple[int, list[tuple[datetime, int]]] | None = None
        self.orders_version = 0  # bumped whenever an order is inserted or replaced

    def _next_id(self, kind: str) -> int:
        self._next_ids[kind] = self._next_ids.get(kind, 0) + 1
        return self._next_ids[kind]

    def _guid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def now(self) -> datetime:
        return self.clock()
