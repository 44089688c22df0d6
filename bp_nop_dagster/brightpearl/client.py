"""The typed Brightpearl API client: auth, error mapping, pacing, ID sets, search paging, reads,
and the writes of the order flow with their natural-key lookups (see "writes" below).

Built on the shared `Transport` (one session, timeouts, THE retry policy, one re-authentication
on 401); this module only says how Brightpearl spells things. Wire facts come from
docs/reference/brightpearl-api.md (section numbers below refer to it).

    client = BrightpearlClient("https://use1.brightpearlconnect.com/public-api/myshop",
                               app_ref="myshop_bpnop", account_token=...)
    products = client.products([1007, 1532])
    for row in client.order_search({"customerRef": "#0001"}): ...

Lists are parsed item by item (`transport/parsing.py`): a row or record the models reject is left
out of the result and named, with its id, in the result's `malformed`, so the flows park that
record and carry on with the rest.

Every method issues as few requests as the API allows: ID-set GETs chunked at the resource's
cap (200, goods-out 500) with compact ranges, searches paged at 500, reference data cached for
the life of the client (one client per Dagster run, see `resource.py`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from bp_nop_dagster.brightpearl import models as m
from bp_nop_dagster.brightpearl.pacing import NEXT_PERIOD_HEADER, QuotaPacer
from bp_nop_dagster.transport.errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    NotFoundError,
    OutcomeUnknownError,
    ThrottledError,
    TransientError,
    ValidationError,
)
from bp_nop_dagster.transport.limits import PageGuard, server_wait
from bp_nop_dagster.transport.parsing import ById, Items, Malformed, describe, item_id, parse_items
from bp_nop_dagster.transport.retry import RetrySettings
from bp_nop_dagster.transport.transport import Transport

log = logging.getLogger("bp_nop_dagster.brightpearl")

ModelT = TypeVar("ModelT", bound=BaseModel)

# GET ID-set caps per resource (section 4).
ID_SET_CAP = 200
GOODS_OUT_ID_SET_CAP = 500  # goods-out note ids
# The order ids in a goods-out GET: the notes' "<=500" does not say which ID set it caps
# (UNCONFIRMED); order ID sets are capped at 200 everywhere else, so 200 is the safe reading.
GOODS_OUT_ORDER_ID_SET_CAP = 200
MAX_PAGE_SIZE = 500
# Address ids read after an unknown postal-address create (`find_unused_postal_address`).
POSTAL_ADDRESS_SCAN = 1000
# Page size of the product-search scan behind `product_ids_by_sku` (the API's maximum).
SKU_SCAN_PAGE_SIZE = MAX_PAGE_SIZE

# Error codes that are programming errors even though Brightpearl answers them with HTTP 500:
# an unparsable search filter (CMNC-018) and an invalid JSON-Patch operation (CMNC-044; the
# recording order_patch_error_operation.json). Retrying cannot help, so never retried.
PROGRAMMING_ERROR_CODES = frozenset({"CMNC-018", "CMNC-044"})
NOT_FOUND_CODE = "CMNC-404"
# The throttle 503's body (JAVA, MAG; exact text UNCONFIRMED): matched loosely.
_THROTTLE_TEXT = "too many requests"
# Never wait less than this after a 503, whatever the header says (section 2).
MIN_THROTTLE_WAIT = 0.5

_BASE_PATH = re.compile(r"^/public-api/[^/]+$")

SALES_ORDER_TYPE_ID = 1
PURCHASE_ORDER_TYPE_ID = 2
SALES_CREDIT_TYPE_ID = 3

# Product availability of a product that is not stock tracked answers 400 WHSC-097 ("This is a non
# stock tracked product." / "These are non stock tracked products.": the two bodies Airbyte's
# source-brightpearl handles): no stock data, not an error.
NON_STOCK_TRACKED_CODE = "WHSC-097"
# Names the caller's installed integration instance on the account's replies (recorded, e.g.
# order_search_bad_param.json: "11"; not every account sends it: payment_method_get.json).
INSTANCE_HEADER = "brightpearl-installed-integration-instance-id"


def compact_id_set(ids: Iterable[int]) -> str:
    """`[1, 2, 3, 5, 205]` -> `"1-3,5,205"`: sorted, de-duplicated, ascending runs of 3+ as ranges."""
    values = sorted(set(_checked_ids(ids)))
    parts: list[str] = []
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and values[end + 1] == values[end] + 1:
            end += 1
        if end - start >= 2:
            parts.append(f"{values[start]}-{values[end]}")
        else:
            parts.extend(str(v) for v in values[start : end + 1])
        start = end + 1
    return ",".join(parts)


def chunk_ids(ids: Iterable[int], cap: int) -> list[list[int]]:
    """Sorted unique ids in chunks of at most `cap`."""
    if cap < 1:
        raise ValueError("cap must be at least 1")
    values = sorted(set(_checked_ids(ids)))
    return [values[i : i + cap] for i in range(0, len(values), cap)]


def _checked_ids(ids: Iterable[int]) -> list[int]:
    if isinstance(ids, (str, bytes, int)):
        raise TypeError("ids must be an iterable of ints, not a single value")
    out = []
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Brightpearl ids are positive integers, got {value!r}")
        out.append(value)
    return out


def format_datetime(value: datetime | date) -> str:
    """Brightpearl's wire format: ISO-8601 with milliseconds and an explicit offset."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("Brightpearl filters need timezone-aware datetimes (naive datetimes are ambiguous)")
        return value.isoformat(timespec="milliseconds")
    return value.isoformat()


def period(start: datetime | date | None, end: datetime | date | None = None) -> str:
    """A PERIOD filter value: `start/end`, or open-ended `start/` / `/end` (section 4)."""
    if start is None and end is None:
        raise ValueError("a period needs a start or an end")
    return f"{format_datetime(start) if start is not None else ''}/{format_datetime(end) if end is not None else ''}"


def _filter_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return format_datetime(value)
    if isinstance(value, tuple) and len(value) == 2:
        return period(*value)
    if isinstance(value, (list, set, frozenset)):
        items = list(value)
        if items and all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            return compact_id_set(items)
        return ",".join(str(v) for v in items)
    return str(value)


@dataclass(frozen=True)
class SearchPage:
    """One page of a `*-search` reply, rows named by `metaData.columns`."""

    rows: list[dict[str, Any]]
    columns: list[str]
    reference: dict[str, Any]
    results_available: int | None
    first_result: int | None
    last_result: int | None
    more_pages_available: bool


@dataclass(repr=False)
class _Credentials:
    """Never printed: `repr=False` keeps tokens out of reprs and tracebacks' locals."""

    app_ref: str
    account_token: str | None = None
    staff_token: str | None = None
    oauth_access_token: str | None = None
    dev_ref: str | None = None
    secrets: list[str] = field(default_factory=list)

    @property
    def mode(self) -> str:
        if self.oauth_access_token:
            return "oauth"
        if self.staff_token:
            return "staff"
        return "private"


class BrightpearlClient(Transport):
    """Brightpearl over the shared transport. `base_url` is the `/public-api/{account}` root.

    Credentials, exactly one of:
    - `account_token` (private system app) or `staff_token` (private staff app), with `app_ref`;
    - `oauth_access_token` with `app_ref` and `dev_ref` (OAuth instance app); on a 401 the client
      calls `token_refresher()` once for a new access token (see `oauth_refresh_callback`).
    """

    system = "Brightpearl"

    def __init__(
        self,
        base_url: str,
        *,
        app_ref: str,
        account_token: str | None = None,
        staff_token: str | None = None,
        oauth_access_token: str | None = None,
        dev_ref: str | None = None,
        token_refresher: Callable[[], str] | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retry: RetrySettings | None = None,
        quota: int = 200,
        window_seconds: float = 60.0,
        headroom: float = 0.10,
        pacer: QuotaPacer | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            base_url, connect_timeout=connect_timeout, read_timeout=read_timeout, retry=retry, session=session, sleep=sleep
        )
        path = urlsplit(self.base_url).path.rstrip("/")
        if not _BASE_PATH.match(path):
            raise ConfigurationError(
                f"Brightpearl base URL must be the account root https://<host>/public-api/<account>, got path {path or '/'!r}"
            )
        self._credentials = _validated_credentials(app_ref, account_token, staff_token, oauth_access_token, dev_ref)
        if token_refresher is not None and self._credentials.mode != "oauth":
            raise ConfigurationError("Brightpearl token_refresher only applies to OAuth (oauth_access_token)")
        self._token_refresher = token_refresher
        self.pacer = pacer or QuotaPacer(quota, window_seconds, headroom, clock=clock, sleep=sleep)
        self.throttled_count = 0
        self._reference_cache: dict[str, list[Any]] = {}
        self._last_request: tuple[str, str] = ("", "")
        self._replied = False
        self._instance_id: int | None = None

    def __repr__(self) -> str:
        return f"BrightpearlClient(base_url={self.base_url!r}, auth={self._credentials.mode!r}, calls={self.call_count})"

    @property
    def auth_mode(self) -> str:
        """"private", "staff" or "oauth"."""
        return self._credentials.mode

    # -- Transport hooks -------------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        creds = self._credentials
        headers = {"brightpearl-app-ref": creds.app_ref, "Accept": "application/json"}
        if creds.oauth_access_token:
            headers["Authorization"] = f"Bearer {creds.oauth_access_token}"
            headers["brightpearl-dev-ref"] = creds.dev_ref or ""
        elif creds.staff_token:
            headers["brightpearl-staff-token"] = creds.staff_token
        else:
            headers["brightpearl-account-token"] = creds.account_token or ""
        return headers

    def reauthenticate(self) -> None:
        """After a 401: OAuth with a refresher gets a new access token; anything else cannot renew."""
        method, path = self._last_request
        if self._credentials.mode != "oauth" or self._token_refresher is None:
            raise AuthError(
                self.system,
                f"credentials refused ({self._credentials.mode} app token: nothing to renew)",
                status=401, method=method, path=path,
            )
        log.info("Brightpearl: access token refused, refreshing it once")
        try:
            token = self._token_refresher()
        except ApiError:
            raise
        except Exception as error:  # the refresher's own failure: never echo its text (may hold tokens)
            raise AuthError(self.system, f"token refresh failed ({type(error).__name__})", status=401, method=method, path=path) from None
        if not token or not isinstance(token, str):
            raise AuthError(self.system, "token refresh returned no access token", status=401, method=method, path=path)
        self._credentials.oauth_access_token = token
        self._credentials.secrets.append(token)

    def before_send(self) -> None:
        self.pacer.acquire()

    def after_response(self, response: requests.Response) -> None:
        self._last_request = (response.request.method or "", self._api_path(response.request.url or ""))
        if response.status_code in (429, 503):
            self.throttled_count += 1
        self.pacer.observe(response.headers)
        if response.status_code < 400:
            self._replied = True
            instance = (response.headers.get(INSTANCE_HEADER) or "").strip()
            if instance.isdigit():
                self._instance_id = int(instance)

    def installed_integration_instance_id(self) -> int | None:
        """The installed integration instance Brightpearl names in the
        `brightpearl-installed-integration-instance-id` header of its replies, None when the
        account does not send it. Costs one (cached) warehouse read if no reply was seen yet."""
        if not self._replied:
            self.warehouses()
        return self._instance_id

    def error_for(self, response: requests.Response, body: Any, method: str, path: str) -> ApiError:
        status = response.status_code
        where = {"status": status, "method": method, "path": path}
        code, message = self._server_error(body)
        if status in (401, 403):
            # Brightpearl's 401 body is a plain string that may echo the token ("Invalid instance
            # token: XYZ"): never put it in the message.
            text = body.get("response") if isinstance(body, dict) else None
            reason = "authorization token expired" if isinstance(text, str) and "expired" in text.lower() else "credentials refused"
            return AuthError(self.system, reason, **where)
        if status in (503, 429):
            retry_after = self._throttle_wait(response, body)
            if retry_after is not None:
                return ThrottledError(self.system, retry_after, **where)
            return TransientError(self.system, "service unavailable", **where)
        if code == NOT_FOUND_CODE or status == 404:
            return NotFoundError(self.system, f"{code}: {message}" if code else "not found", **where)
        if code in PROGRAMMING_ERROR_CODES:
            return ValidationError(self.system, code, message, **where)
        if 400 <= status < 500:
            return ValidationError(self.system, code, message or f"request refused (HTTP {status})", **where)
        if status >= 500:
            return TransientError(self.system, f"server error{' ' + code if code else ''}", **where)
        return ApiError(self.system, "unexpected reply", **where)

    # -- error helpers ---------------------------------------------------------------------------
    def _server_error(self, body: Any) -> tuple[str, str]:
        """`{"errors":[{code,message}, ...]}` -> (first code, all messages joined), redacted."""
        if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
            return "", ""
        errors = [e for e in body["errors"] if isinstance(e, dict)]
        if not errors:
            return "", ""
        code = str(errors[0].get("code") or "")
        message = "; ".join(str(e.get("message") or "") for e in errors if e.get("message"))
        return self._redact(code), self._redact(message)

    def _throttle_wait(self, response: requests.Response, body: Any) -> float | None:
        """Seconds to wait after a 503/429, or None for an outage 503 that says nothing."""
        wait = server_wait(response.headers.get(NEXT_PERIOD_HEADER), unit_seconds=0.001)
        if wait is None:
            wait = server_wait(response.headers.get("Retry-After"))  # 429 defensively (UNCONFIRMED)
        if wait is not None:
            return max(MIN_THROTTLE_WAIT, wait)
        text = body.get("response") if isinstance(body, dict) else None
        if response.status_code == 429 or (isinstance(text, str) and _THROTTLE_TEXT in text.lower()):
            # Throttled without a period: blocked "for the rest of the rolling minute".
            return max(MIN_THROTTLE_WAIT, self.pacer.window_seconds)
        return None

    def _redact(self, text: str) -> str:
        for secret in self._credentials.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _api_path(self, url: str) -> str:
        path = urlsplit(url).path
        root = urlsplit(self.base_url).path
        return path[len(root):] if path.startswith(root) else path

    # -- generic reads -----------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET `path` and return the envelope's `response`."""
        return _unwrap(self.request("GET", path, params=params).body, self.system, path)

    def get_by_id_set(
        self,
        service_path: str,
        ids: Iterable[int],
        cap: int = ID_SET_CAP,
        *,
        params: Mapping[str, Any] | None = None,
        missing_ok: bool = True,
    ) -> list[Any] | dict[str, Any]:
        """GET `{service_path}/{idset}` in chunks of at most `cap` ids (compact ranges), merged:
        list replies are concatenated, id-keyed object replies merged. Chunks that do not exist
        (404 CMNC-404, e.g. contacts) count as empty when `missing_ok`."""
        merged: list[Any] | dict[str, Any] | None = None
        for chunk in chunk_ids(ids, cap):
            path = f"{service_path.rstrip('/')}/{compact_id_set(chunk)}"
            try:
                part = self.get(path, params)
            except NotFoundError:
                if not missing_ok:
                    raise
                continue
            merged = _merge(merged, part, self.system, path)
        return merged if merged is not None else []

    def iter_search(
        self,
        resource_path: str,
        filters: Mapping[str, Any] | None = None,
        *,
        columns: Sequence[str] | None = None,
        sort: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[SearchPage]:
        """Page through a `*-search` resource: `firstResult = lastResult + 1` while
        `morePagesAvailable`. The empty result has no first/lastResult and ends at once."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        base: dict[str, Any] = {k: _filter_value(v) for k, v in (filters or {}).items() if v is not None}
        if columns:
            base["columns"] = ",".join(columns)
        if sort:
            base["sort"] = sort
        base["pageSize"] = page_size
        first = 1
        guard = PageGuard(self.system, resource_path)  # bounded pages; lastResult must move on
        while True:
            body = self.request("GET", resource_path, params={**base, "firstResult": first}).body
            page = _search_page(_unwrap(body, self.system, resource_path), body.get("reference"), self.system, resource_path)
            yield page
            if not page.more_pages_available:
                return
            guard.page(progressed=page.last_result is not None and page.last_result >= first)
            first = page.last_result + 1

    def search(
        self,
        resource_path: str,
        filters: Mapping[str, Any] | None = None,
        *,
        columns: Sequence[str] | None = None,
        sort: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> list[dict[str, Any]]:
        """All rows of a search, each a dict named by `metaData.columns`."""
        rows: list[dict[str, Any]] = []
        for page in self.iter_search(resource_path, filters, columns=columns, sort=sort, page_size=page_size):
            rows.extend(page.rows)
        return rows

    def _reference(self, key: str, path: str, model: type[ModelT]) -> list[ModelT]:
        if key not in self._reference_cache:
            response = self.get(path)
            self._reference_cache[key] = _parse_list(model, response, self.system, path)
        return list(self._reference_cache[key])

    def clear_reference_cache(self) -> None:
        self._reference_cache.clear()

    # -- products & stock ------------------------------------------------------------------------
    def products(self, ids: Iterable[int], *, include_custom_fields: bool = False) -> list[m.Product]:
        params = {"includeOptional": "customFields"} if include_custom_fields else None
        path = "/product-service/product"
        return _parse_list(m.Product, self.get_by_id_set(path, ids, ID_SET_CAP, params=params), self.system, path)

    def product(self, product_id: int) -> m.Product:
        return _one(self.products([product_id]), "product", product_id, self.system)

    def product_search(
        self,
        filters: Mapping[str, Any] | None = None,
        *,
        sku: str | None = None,
        updated_since: datetime | None = None,
        sort: str = "productId.ASC",
        page_size: int = MAX_PAGE_SIZE,
    ) -> list[m.ProductSearchRow]:
        """`product-search`; `sku` filters the `SKU` column (exact matching is the caller's job)."""
        f = dict(filters or {})
        if sku is not None:
            f["SKU"] = sku
        if updated_since is not None:
            f["updatedOn"] = period(updated_since)
        rows = self.search("/product-service/product-search", f, sort=sort, page_size=page_size)
        return _parse_list(m.ProductSearchRow, rows, self.system, "/product-service/product-search")

    def product_availability(self, ids: Iterable[int]) -> dict[int, m.Availability]:
        """Stock per product and warehouse; products without stock data (not stock tracked, or
        unknown) are absent. Give stock-tracked ids (`stock_tracked_ids`): an ID set holding one
        that is not answers 400 WHSC-097, and such a chunk is then split until the product is
        found (a few more requests, only when a product stopped being tracked meanwhile)."""
        result: dict[int, m.Availability] = {}
        for chunk in chunk_ids(ids, ID_SET_CAP):
            result.update(self._availability(chunk))
        return dict(sorted(result.items()))

    def _availability(self, ids: list[int]) -> dict[int, m.Availability]:
        path = "/warehouse-service/product-availability"
        try:
            reply = self.get(f"{path}/{compact_id_set(ids)}")
        except NotFoundError:
            return {}
        except ValidationError as error:
            if error.code != NON_STOCK_TRACKED_CODE:
                raise
            if len(ids) == 1:
                log.info("Brightpearl product %s is not stock tracked: no availability", ids[0])
                return {}
            half = len(ids) // 2
            return {**self._availability(ids[:half]), **self._availability(ids[half:])}
        return {
            int(pid): m.Availability.model_validate({**(value or {}), "productId": pid})
            for pid, value in _as_map(reply, self.system, path).items()
        }

    def stock_tracked_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of these products are stock tracked: `product-search?productId={ids}&stockTracked=true`
        with one column, one request per 500 ids (compact ranges keep the URL short)."""
        tracked: set[int] = set()
        for chunk in chunk_ids(ids, MAX_PAGE_SIZE):
            rows = self.search("/product-service/product-search", {"productId": chunk, "stockTracked": True},
                               columns=["productId"], sort="productId.ASC")
            tracked.update(int(row["productId"]) for row in rows)
        return tracked

    def warehouses(self) -> list[m.Warehouse]:
        return self._reference("warehouses", "/warehouse-service/warehouse", m.Warehouse)

    # -- contacts -----------------------------------------------------------------------------
    def contacts(self, ids: Iterable[int]) -> list[m.Contact]:
        """Contacts by id; ids that do not exist are left out (Brightpearl answers 404 CMNC-404
        only when none of a chunk exists)."""
        path = "/contact-service/contact"
        return _parse_list(m.Contact, self.get_by_id_set(path, ids, ID_SET_CAP), self.system, path)

    def contact(self, contact_id: int) -> m.Contact:
        """One contact; `NotFoundError` if it does not exist."""
        path = "/contact-service/contact"
        reply = self.get_by_id_set(path, [contact_id], ID_SET_CAP, missing_ok=False)
        return _one(_parse_list(m.Contact, reply, self.system, path), "contact", contact_id, self.system)

    def contact_search(
        self,
        filters: Mapping[str, Any] | None = None,
        *,
        primary_email: str | None = None,
        sort: str = "contactId.ASC",
        page_size: int = MAX_PAGE_SIZE,
    ) -> list[m.ContactSearchRow]:
        """`contact-search`. The email filter is a fuzzy SEARCH_STRING: rows may not match exactly."""
        f = dict(filters or {})
        if primary_email is not None:
            f["primaryEmail"] = primary_email
        rows = self.search("/contact-service/contact-search", f, sort=sort, page_size=page_size)
        return _parse_list(m.ContactSearchRow, rows, self.system, "/contact-service/contact-search")

    def find_contacts_by_email(self, email: str) -> list[m.ContactSearchRow]:
        """Contacts whose primary email equals `email` (case-insensitive, surrounding spaces
        ignored); the fuzzy search results are filtered exactly here. May be several (duplicates)."""
        wanted = _normalise_email(email)
        if not wanted:
            return []
        return [row for row in self.contact_search(primary_email=wanted) if _normalise_email(row.primary_email) == wanted]

    def postal_addresses(self, ids: Iterable[int]) -> list[m.PostalAddress]:
        """Postal addresses by id (the ID set is mandatory: there is no address search, api-docs
        contact/postal-address/get.html); ids that do not exist are left out."""
        path = "/contact-service/postal-address"
        return _parse_list(m.PostalAddress, self.get_by_id_set(path, ids, ID_SET_CAP), self.system, path)

    def postal_address_contact(self, address_id: int) -> int | None:
        """The contact using postal address `address_id` (its `contactId`, as the Postal Address
        GET shows it), or None while no contact uses it. The natural key of a contact created
        with an address no one else uses: the contact POST after an unknown outcome is found
        through its address."""
        found = [a for a in self.postal_addresses([address_id]) if a.id == address_id]
        return (found[0].contact_id or None) if found else None

    def find_unused_postal_address(self, body: Mapping[str, Any], *, after_id: int, scan: int = POSTAL_ADDRESS_SCAN) -> int | None:
        """The natural-key lookup of a postal address whose create had an unknown outcome.
        Brightpearl has no postal-address search (the Postal Address GET needs an ID set), but
        ids grow: the address, if it was created, has an id above `after_id` (an address id
        this integration created earlier). The ids after it are read by ID-set ranges (200 per
        request, up to `scan` ids) and the lowest one that no contact uses and that holds
        exactly `body` (lines, postcode, country) is returned; None if there is none."""
        wanted = _address_fields(body)
        for start in range(after_id + 1, after_id + 1 + scan, ID_SET_CAP):
            path = f"/contact-service/postal-address/{start}-{start + ID_SET_CAP - 1}"
            try:
                reply = self.get(path)
            except NotFoundError:
                return None  # no address at all in this range: none was created after it either
            for address in sorted(_parse_list(m.PostalAddress, reply, self.system, path), key=lambda a: a.id):
                if not address.contact_id and _address_fields(address.model_dump(by_alias=True)) == wanted:
                    return address.id
        return None

    def ping(self) -> None:
        """One cheap read (the order statuses, never cached), to tell whether Brightpearl answers
        at all: the circuit breaker's probe (`sync/fate.py`)."""
        self.get("/order-service/order-status")

    # -- orders -------------------------------------------------------------------------------
    def orders(self, ids: Iterable[int], *, include_custom_fields: bool = False) -> list[m.Order]:
        """`GET /order-service/order/{idset}` (missing ids are absent: Brightpearl answers 200 [])."""
        params = {"includeOptional": "customFields"} if include_custom_fields else None
        path = "/order-service/order"
        return _parse_list(m.Order, self.get_by_id_set(path, ids, ID_SET_CAP, params=params), self.system, path)

    def order(self, order_id: int, *, include_custom_fields: bool = False) -> m.Order:
        return _one(self.orders([order_id], include_custom_fields=include_custom_fields), "order", order_id, self.system)

    def order_search(
        self,
        filters: Mapping[str, Any] | None = None,
        *,
        columns: Sequence[str] | None = None,
        sort: str = "orderId.ASC",
        page_size: int = MAX_PAGE_SIZE,
    ) -> list[m.OrderSearchRow]:
        """`order-search` (filter the reference by `customerRef`, not `reference`)."""
        rows = self.search("/order-service/order-search", filters, columns=columns, sort=sort, page_size=page_size)
        return _parse_list(m.OrderSearchRow, rows, self.system, "/order-service/order-search")

    def sales_order_ids_created_between(self, start: datetime, end: datetime) -> list[int]:
        """Ids of sales orders (orderTypeId 1) with `start <= createdOn < end`, ascending.

        The inclusiveness of Brightpearl's PERIOD bounds is UNCONFIRMED, so the reply is filtered
        again here to the half-open interval: adjacent day partitions never share an order."""
        if end <= start:
            return []
        rows = self.order_search(
            {"orderTypeId": SALES_ORDER_TYPE_ID, "createdOn": period(start, end)}, columns=["orderId", "createdOn"]
        )
        ids = {row.order_id for row in rows if row.created_on is None or start <= row.created_on < end}
        return sorted(ids)

    def sales_credit_ids(self, filters: Mapping[str, Any] | None = None, *, updated_since: datetime | None = None) -> list[int]:
        f = {**(filters or {}), "orderTypeId": SALES_CREDIT_TYPE_ID}
        if updated_since is not None:
            f["updatedOn"] = period(updated_since)
        return sorted({row.order_id for row in self.order_search(f, columns=["orderId"])})

    def sales_credits(
        self,
        ids: Iterable[int] | None = None,
        *,
        filters: Mapping[str, Any] | None = None,
        updated_since: datetime | None = None,
    ) -> list[m.SalesCredit]:
        """Sales credits by id, or found by order-search (orderTypeId 3 + `filters`) then GET."""
        if ids is None:
            ids = self.sales_credit_ids(filters, updated_since=updated_since)
        path = "/order-service/order"
        return _parse_list(m.SalesCredit, self.get_by_id_set(path, ids, ID_SET_CAP), self.system, path)

    # -- fulfilment ---------------------------------------------------------------------------
    def goods_out_notes(self, order_ids: Iterable[int] | str = "*", note_ids: Iterable[int] | None = None) -> ById:
        """Goods-out notes by sales order ids and/or note ids (`"*"` = any order), keyed by note id;
        notes the model rejects are in `malformed`. Note ids are chunked at 500 (section 8),
        order ids at 200 (see GOODS_OUT_ORDER_ID_SET_CAP)."""
        if isinstance(order_ids, str):
            if order_ids != "*":
                raise ValueError('order_ids must be ids or "*"')
            if note_ids is None:
                raise ValueError('goods_out_notes("*") needs note_ids')
            order_parts = ["*"]
        else:
            order_parts = [compact_id_set(c) for c in chunk_ids(order_ids, GOODS_OUT_ORDER_ID_SET_CAP)]
        note_parts = [""] if note_ids is None else [compact_id_set(c) for c in chunk_ids(note_ids, GOODS_OUT_ID_SET_CAP)]
        notes: dict[int, m.GoodsOutNote] = {}
        rejected: list[Malformed] = []
        for order_part in order_parts:
            for note_part in note_parts:
                if note_ids is not None and not note_part:
                    continue
                path = f"/warehouse-service/order/{order_part}/goods-note/goods-out" + (f"/{note_part}" if note_part else "")
                try:
                    reply = self.get(path)
                except NotFoundError:
                    continue
                for note_id, value in _as_map(reply, self.system, path).items():
                    try:
                        notes[int(note_id)] = m.GoodsOutNote.model_validate({**value, "id": note_id})
                    except (PydanticValidationError, TypeError, ValueError) as error:
                        problem = describe(error) if isinstance(error, PydanticValidationError) else str(error)
                        rejected.append(Malformed(item_id({"id": note_id}), problem))
        if rejected:
            log.warning("Brightpearl goods-out notes the model rejects: %s", [bad.id for bad in rejected])
        return ById(sorted(notes.items()), rejected)

    def goods_out_note_ids(self, filters: Mapping[str, Any] | None = None) -> list[int]:
        """Goods-out note ids from `goods-note/goods-out-search` (one request per 500 notes); the id
        column is `goodsOutNoteId` (api-docs warehouse/goods-out-note/search.html; Airbyte's
        source-brightpearl reads it)."""
        rows = self.search("/warehouse-service/goods-note/goods-out-search", filters, columns=["goodsOutNoteId"],
                           sort="goodsOutNoteId.ASC")
        return [int(row["goodsOutNoteId"]) for row in rows]

    def shipped_goods_out_notes_since(self, shipped_since: datetime) -> list[m.GoodsOutNoteSearchRow]:
        """Goods-out notes shipped since a watermark (`shipped=true`, `shippedOn` from it), by note
        id: one request per 500. The search has no `updatedOn` column (documented columns:
        goodsOutNoteId, printed, picked, packed, shipped, shippedOn, orderId, shippingMethodId,
        warehouseId, priority, createdOn, releaseDate, createdBy)."""
        path = "/warehouse-service/goods-note/goods-out-search"
        rows = self.search(
            path, {"shipped": True, "shippedOn": period(shipped_since)},
            columns=["goodsOutNoteId", "orderId", "shippedOn"], sort="goodsOutNoteId.ASC",
        )
        return _parse_list(m.GoodsOutNoteSearchRow, rows, self.system, path)

    def sales_orders_updated_since(self, updated_since: datetime) -> list[m.OrderSearchRow]:
        """Sales orders (orderTypeId 1) updated since a watermark with their status and
        externalRef, oldest first (`order-search` with five columns: one request per 500). An order
        never modified since its creation has no `updatedOn` (order_search.json) and is not here."""
        return self.order_search(
            {"orderTypeId": SALES_ORDER_TYPE_ID, "updatedOn": period(updated_since)},
            columns=["orderId", "orderStatusId", "updatedOn", "externalRef", "installedIntegrationInstanceId"], sort="updatedOn.ASC",
        )

    def sales_orders_changed_since(self, since: datetime) -> list[m.OrderSearchRow]:
        """Sales orders created or modified since a watermark, by order id: two `order-search`
        requests (one on `createdOn`, one on `updatedOn`, which is null until an order is first
        modified) of three columns, one per 500 rows each, merged by order id."""
        columns = ["orderId", "createdOn", "updatedOn"]
        found: dict[int, m.OrderSearchRow] = {}
        for column in ("createdOn", "updatedOn"):
            for row in self.order_search({"orderTypeId": SALES_ORDER_TYPE_ID, column: period(since)}, columns=columns):
                found[row.order_id] = row
        return [found[order_id] for order_id in sorted(found)]

    def goods_movement_search(
        self, updated_since: datetime | None = None, filters: Mapping[str, Any] | None = None, *, page_size: int = MAX_PAGE_SIZE
    ) -> list[m.GoodsMovement]:
        """Goods movements (stock changes) updated since a watermark, oldest first (section 7)."""
        f = dict(filters or {})
        if updated_since is not None:
            f["updatedOn"] = period(updated_since)
        path = "/warehouse-service/goods-movement-search"
        rows = self.search(path, f, sort="updatedOn.ASC", page_size=page_size)
        return _parse_list(m.GoodsMovement, rows, self.system, path)

    # -- payments -----------------------------------------------------------------------------
    def customer_payment_search(
        self,
        filters: Mapping[str, Any] | None = None,
        *,
        order_ids: Iterable[int] | None = None,
        payment_type: str | None = None,
        created_since: datetime | None = None,
        sort: str = "paymentId.ASC",
        page_size: int = MAX_PAGE_SIZE,
    ) -> list[m.CustomerPayment]:
        """`customer-payment-search`; `payment_type` filters paymentType (RECEIPT, PAYMENT, ...: a
        credit's refunds are its PAYMENTs); with `order_ids`, those of the orders (ID sets of at most
        200, one request per set and page)."""
        f = dict(filters or {})
        if payment_type is not None:
            f["paymentType"] = payment_type
        if created_since is not None:
            f["createdOn"] = period(created_since)
        path = "/accounting-service/customer-payment-search"
        if order_ids is None:
            return _parse_list(m.CustomerPayment, self.search(path, f, sort=sort, page_size=page_size), self.system, path)
        payments: list[m.CustomerPayment] = []
        for chunk in chunk_ids(order_ids, ID_SET_CAP):
            rows = self.search(path, {**f, "orderId": compact_id_set(chunk)}, sort=sort, page_size=page_size)
            payments.extend(_parse_list(m.CustomerPayment, rows, self.system, path))
        return payments

    # -- journals -----------------------------------------------------------------------------
    def journal_search(self, filters: Mapping[str, Any] | None = None, *, order_ids: Iterable[int] | None = None,
                       page_size: int = MAX_PAGE_SIZE) -> list[m.JournalSearchRow]:
        """`GET /accounting-service/journal-search` (one row per journal line), e.g. the Sales Receipt
        lines of some orders: `journal_search({"journalType": "SR"}, order_ids=[...])`. Order ids
        go in ID sets of at most 200 (one request per set and page)."""
        path = "/accounting-service/journal-search"
        base = dict(filters or {})
        if order_ids is None:
            return _parse_list(m.JournalSearchRow, self.search(path, base, sort="journalId.ASC", page_size=page_size),
                               self.system, path)
        rows: list[m.JournalSearchRow] = []
        for chunk in chunk_ids(order_ids, ID_SET_CAP):
            found = self.search(path, {**base, "orderId": compact_id_set(chunk)}, sort="journalId.ASC", page_size=page_size)
            rows.extend(_parse_list(m.JournalSearchRow, found, self.system, path))
        return rows

    def create_journal(self, body: Mapping[str, Any]) -> int:
        """`POST /accounting-service/journal/` (Journal POST doc: `{journalTypeCode, taxDate,
        description, credits, debits}` -> `{"response": id}`). A journal has no natural unique key:
        a repeat creates a second one, so after an unknown outcome the caller looks it up first
        (`find_journals`)."""
        return self._create("/accounting-service/journal", body)

    def find_journals(self, journal_type: str, nominal_code: str, day: str) -> list[int]:
        """Ids of the journals of `journal_type` dated `day` (yyyy-mm-dd) with a line on
        `nominal_code`, ascending: one journal-search (`journalType`, `nominalCode`, `journalDate`)."""
        rows = self.journal_search({"journalType": journal_type, "nominalCode": nominal_code, "journalDate": f"{day}/{day}"})
        return sorted({row.journal_id for row in rows if row.journal_type == journal_type and row.nominal_code == nominal_code})

    def journals(self, ids: Iterable[int]) -> list[m.Journal]:
        """`GET /accounting-service/journal/{idset}` -> `{"response": {"journals": [...]}}` (Journal GET doc)."""
        path = "/accounting-service/journal"
        found: list[m.Journal] = []
        for chunk in chunk_ids(ids, ID_SET_CAP):
            reply = self.get(f"{path}/{compact_id_set(chunk)}")
            items = reply.get("journals", []) if isinstance(reply, dict) else []
            found.extend(_parse_list(m.Journal, items, self.system, path))
        return found

    # -- writes -------------------------------------------------------------------------------
    # Creates are POSTs: never resent by the transport once they may have reached the server
    # (`OutcomeUnknownError`; a throttled 503 is refused before processing and is resent). The new
    # id comes from the reply (`{"response": id}`), so nothing is re-read after a create. The
    # `find_*` methods are the natural-key lookups a caller runs after an unknown outcome or a
    # refusal (DESIGN principle 1); each compares exactly on the client side.

    def create_postal_address(self, body: Mapping[str, Any]) -> int:
        """`POST /contact-service/postal-address` (section 6) -> the new address id."""
        return self._create("/contact-service/postal-address", body)

    def create_contact(self, body: Mapping[str, Any]) -> int:
        """`POST /contact-service/contact` (section 6) -> the new contact id. Create its postal
        address first (`postAddressIds`). Contacts have no unique key in Brightpearl: look up by
        email (`find_contacts_by_email`) before creating, and after an unknown outcome."""
        return self._create("/contact-service/contact", body)

    def create_sales_order(self, body: Mapping[str, Any]) -> int:
        """`POST /order-service/sales-order` (section 5): header and rows in one atomic request
        -> the new order id. Give `externalRef` + `installedIntegrationInstanceId` (the unique
        compound key): a repeat answers 200 and changes nothing (Sales Order POST doc), so it is
        the same order: its id when the reply carries one, else `OutcomeUnknownError` and the
        caller finds it by `find_sales_orders_by_external_ref`."""
        return self._create("/order-service/sales-order", body)

    def create_customer_payment(self, body: Mapping[str, Any]) -> int:
        """`POST /accounting-service/customer-payment` (section 9) -> the new payment id.
        `transactionRef` is unique per `paymentMethodCode`: a repeat is refused (a 400 whose code
        no source records), and `find_customer_payments` finds the first one. An AUTH needs
        `authorizationExpiry` (Customer Payment POST doc)."""
        return self._create("/accounting-service/customer-payment", body)

    def update_order_status(self, order_id: int, status_id: int, note: str | None = None) -> None:
        """`PUT /order-service/order/{id}/status` (section 5), with an optional private order note.

        A PUT, so the transport retries it after transient failures: setting the same status twice
        is harmless; the note may then be added twice (Brightpearl appends a note per PUT)."""
        order_id = _checked_ids([order_id])[0]
        status_id = _checked_ids([status_id])[0]
        body: dict[str, Any] = {"orderStatusId": status_id}
        if note is not None:
            body["orderNote"] = {"text": note, "isPublic": False}
        self.request("PUT", f"/order-service/order/{order_id}/status", json_body=body, idempotent=True)

    def add_order_note(self, order_id: int, text: str, *, is_public: bool = False) -> int:
        """`POST /order-service/order/{id}/note` {text, isPublic} -> the new note id (Order Note POST
        doc). A create: never resent; after an unknown outcome, look for the text in `order_notes`."""
        order_id = _checked_ids([order_id])[0]
        return self._create(f"/order-service/order/{order_id}/note", {"text": text, "isPublic": is_public})

    def order_notes(self, order_id: int) -> list[m.OrderNote]:
        """`GET /order-service/order/{id}/note`: every note on the order (Order Note GET doc)."""
        order_id = _checked_ids([order_id])[0]
        path = f"/order-service/order/{order_id}/note"
        return _parse_list(m.OrderNote, self.get(path) or [], self.system, path)

    def find_sales_credits_by_external_ref(
        self, external_ref: str, installed_integration_instance_id: int | None = None
    ) -> list[int]:
        """Ids of the sales credits whose `externalRef` + installed integration instance equal the
        given ones exactly (the credit's unique compound key; the Sales Credit POST doc), ascending:
        the natural-key lookup after an unknown outcome of `create_sales_credit`. Same rules as
        `find_sales_orders_by_external_ref`, on orderTypeId 3."""
        return self._find_by_external_ref(external_ref, installed_integration_instance_id, SALES_CREDIT_TYPE_ID)

    def find_sales_orders_by_external_ref(
        self, external_ref: str, installed_integration_instance_id: int | None = None
    ) -> list[int]:
        """Ids of the sales orders whose `externalRef` equals `external_ref` exactly (case and
        spaces included) for the given installed integration instance, ascending.

        One `order-search?externalRef=…&orderTypeId=1` with columns orderId, externalRef,
        installedIntegrationInstanceId; the server's STRING matching (case-insensitive in the
        sandbox; UNCONFIRMED for the real API) is narrowed here to the exact compound key.
        `installed_integration_instance_id=None` means "created without an instance" (None and 0
        are the same), never "any instance": another integration's order with the same
        externalRef must not be taken for ours."""
        return self._find_by_external_ref(external_ref, installed_integration_instance_id, SALES_ORDER_TYPE_ID)

    def _find_by_external_ref(self, external_ref: str, installed_integration_instance_id: int | None, order_type_id: int) -> list[int]:
        if not external_ref:
            return []
        wanted_instance = installed_integration_instance_id or None
        rows = self.search(
            "/order-service/order-search",
            {"externalRef": external_ref, "orderTypeId": order_type_id},
            columns=["orderId", "externalRef", "installedIntegrationInstanceId"],
            sort="orderId.ASC",
        )
        found = {
            int(row["orderId"])
            for row in rows
            if row.get("externalRef") == external_ref and (row.get("installedIntegrationInstanceId") or None) == wanted_instance
        }
        return sorted(found)

    def find_customer_payments(self, transaction_ref: str, payment_method_code: str | None = None) -> list[m.CustomerPayment]:
        """Customer payments whose `transactionRef` equals `transaction_ref` exactly (and whose
        `paymentMethodCode` equals `payment_method_code` exactly, when given), by payment id.
        One `customer-payment-search?transactionRef=…[&paymentMethodCode=…]` (one page per 500)."""
        if not transaction_ref:
            return []
        filters: dict[str, Any] = {"transactionRef": transaction_ref}
        if payment_method_code is not None:
            filters["paymentMethodCode"] = payment_method_code
        payments = self.customer_payment_search(filters)
        return [
            p for p in payments
            if p.transaction_ref == transaction_ref and (payment_method_code is None or p.payment_method_code == payment_method_code)
        ]

    def find_customer_payment(self, body: Mapping[str, Any]) -> int | None:
        """The natural-key lookup of a customer payment about to be (or maybe already) created
        from `body` (`matching_customer_payment`), with one `customer-payment-search` by its
        `transactionRef` and `paymentMethodCode`."""
        return matching_customer_payment(
            self.find_customer_payments(str(body.get("transactionRef") or ""), body.get("paymentMethodCode")), body)

    def sales_orders_created_since(
        self, since: datetime, installed_integration_instance_id: int | None, *, max_rows: int
    ) -> dict[str, int] | None:
        """externalRef -> the lowest id, of the sales orders of this installed integration instance
        created since `since`: the natural-key lookups of many orders at once (one
        `order-search?createdOn=since/&orderTypeId=1`, columns orderId, externalRef,
        installedIntegrationInstanceId; one page per 500). None, after the first page only,
        when the search holds more than `max_rows` results: looking the orders up one by one is
        then cheaper. Instances compare as `find_sales_orders_by_external_ref` does."""
        wanted_instance = installed_integration_instance_id or None
        found: dict[str, int] = {}
        pages = self.iter_search(
            "/order-service/order-search", {"createdOn": period(since), "orderTypeId": SALES_ORDER_TYPE_ID},
            columns=["orderId", "externalRef", "installedIntegrationInstanceId"], sort="orderId.ASC",
        )
        for number, page in enumerate(pages):
            if number == 0 and (page.results_available or 0) > max_rows:
                return None
            for row in page.rows:
                ref = row.get("externalRef")
                if ref and (row.get("installedIntegrationInstanceId") or None) == wanted_instance:
                    found[ref] = min(int(row["orderId"]), found.get(ref, int(row["orderId"])))
        return found

    def order_summaries(self, ids: Iterable[int]) -> ById:
        """Order id -> `OrderSummary` (status id, payment status, shipping status code, gross total,
        externalRef) for existing sales orders; ids that do not exist (or are not sales orders)
        are absent. One request per 200 ids.

        Read from `GET /order-service/sales-order/{idset}` rather than the low-level
        `/order-service/order/{idset}`: both are ID-set GETs capped at 200 and carry status,
        payment status, shipping status and total, but only the sales-order shape carries
        `externalRef` (section 5), so one request gives the whole summary."""
        values = list(ids)
        if not values:
            return ById()
        path = "/order-service/sales-order"
        reply = self.get_by_id_set(path, values, ID_SET_CAP)
        summaries = _parse_list(m.OrderSummary, reply, self.system, path)
        return ById(((s.id, s) for s in sorted(summaries, key=lambda s: s.id)), summaries.malformed)

    def sales_orders(self, ids: Iterable[int]) -> list[m.SalesOrder]:
        """Whole sales orders by id (`GET /order-service/sales-order/{idset}`, 200 per request),
        ascending; ids that do not exist are absent. The sales-order shape carries `externalRef`
        and row names (the low-level order GET does not)."""
        values = list(ids)
        if not values:
            return []
        path = "/order-service/sales-order"
        orders = _parse_list(m.SalesOrder, self.get_by_id_set(path, values, ID_SET_CAP), self.system, path)
        return sorted(orders, key=lambda o: o.id)

    def product_ids_by_sku(self, skus: Iterable[str]) -> dict[str, int]:
        """SKU -> product id for the given SKUs that exist in Brightpearl, matched exactly (case
        and surrounding spaces included: near matches are the SKU report's business, never a
        silent match). SKUs held by several products are left out (ambiguous; logged), so the
        caller treats them as unknown and flags the order for review.

        Choice: `product-search?SKU=…` filters one SKU per request, and the real API's matching
        for that column is UNCONFIRMED. Instead the catalogue is read once with columns
        productId,SKU (one request per 500 products) and the map is cached for the life of the
        client (one client per run, like reference data; `clear_reference_cache()` forgets it).
        For a batch of orders that is a handful of requests however many SKUs they sell."""
        wanted = {s for s in skus if isinstance(s, str) and s}
        if not wanted:
            return {}
        catalogue = self._sku_catalogue()
        found: dict[str, int] = {}
        for sku in sorted(wanted):
            ids = catalogue.get(sku)
            if not ids:
                continue
            if len(ids) > 1:
                log.warning("Brightpearl SKU %r is held by %d products (%s): not matched", sku, len(ids), sorted(ids))
                continue
            found[sku] = next(iter(ids))
        return found

    def _sku_catalogue(self) -> dict[str, set[int]]:
        key = "product_sku_catalogue"
        if key not in self._reference_cache:
            catalogue: dict[str, set[int]] = {}
            rows = self.search(
                "/product-service/product-search", columns=["productId", "SKU"], sort="productId.ASC", page_size=SKU_SCAN_PAGE_SIZE
            )
            for row in rows:
                sku, product_id = row.get("SKU"), row.get("productId")
                if isinstance(sku, str) and sku and product_id is not None:
                    catalogue.setdefault(sku, set()).add(int(product_id))
            self._reference_cache[key] = [catalogue]
        return self._reference_cache[key][0]

    def _create(self, path: str, body: Mapping[str, Any]) -> int:
        """POST a create (never resent after it may have been applied) and return the new id."""
        if not isinstance(body, Mapping):
            raise TypeError(f"{path}: the body must be a JSON object (a mapping)")
        reply = self.request("POST", path, json_body=dict(body), idempotent=False)
        return _created_id(reply.body, self.system, path)

    # -- returns and refunds ------------------------------------------------------------------
    # docs/reference/returns-refunds.md: a credit (POST, once, by its externalRef), closed once
    # (SC-n), refunded by a PAYMENT, its goods received by a goods-in note (default or quarantine
    # location), quarantined goods released later.

    def create_sales_credit(self, body: Mapping[str, Any]) -> int:
        """`POST /order-service/sales-credit` (the sales-order shape, `parentId` = the sales order)
        -> the new credit id. Give `externalRef` + `installedIntegrationInstanceId`: they form a
        unique key, and what a repeat answers is UNCONFIRMED (the doc is cut off; the sandbox's
        `duplicate_sales_credit_reply`): the existing id, `{}` (`OutcomeUnknownError`) or a 400
        (`ValidationError`). After either of the last two, `find_sales_credits_by_external_ref`
        finds the credit."""
        return self._create("/order-service/sales-credit", body)

    def sales_credit_documents(self, ids: Iterable[int]) -> list[m.SalesCreditDocument]:
        """`GET /order-service/sales-credit/{idset}` (200 ids per request; 207 when only some exist):
        the credits in the sales-credit shape (rows with ids, row totals, externalRef), by id.
        Ids that are no credit are absent."""
        path = "/order-service/sales-credit"
        credits = _parse_list(m.SalesCreditDocument, self.get_by_id_set(path, ids, ID_SET_CAP), self.system, path)
        return sorted(credits, key=lambda credit: credit.id)

    def sales_credit_ids_by_parent(self, order_ids: Iterable[int]) -> dict[int, list[int]]:
        """Sales order id -> the ids of its credits (`order-search?orderTypeId=3&parentOrderId={ids}`
        with two columns; one request per 500 orders), ascending; orders without credits absent."""
        credits: dict[int, set[int]] = {}
        for chunk in chunk_ids(order_ids, MAX_PAGE_SIZE):
            rows = self.order_search({"orderTypeId": SALES_CREDIT_TYPE_ID, "parentOrderId": chunk},
                                     columns=["orderId", "parentOrderId"])
            for row in rows:
                if row.parent_order_id:
                    credits.setdefault(row.parent_order_id, set()).add(row.order_id)
        return {parent: sorted(ids) for parent, ids in sorted(credits.items())}

    def close_sales_credit(self, credit_id: int, tax_date: datetime | None = None) -> None:
        """`POST /order-service/sales-credit/{id}/close` (`{}` or `{"taxDate"}` -> `{}`): invoice the
        credit (its reference becomes SC-n). Closing an invoiced credit is refused, so a POST is
        never resent: after `OutcomeUnknownError` read the credit (`order(id).invoice_reference`)."""
        credit_id = _checked_ids([credit_id])[0]
        body = {} if tax_date is None else {"taxDate": format_datetime(tax_date)}
        self.request("POST", f"/order-service/sales-credit/{credit_id}/close", json_body=body, idempotent=False)

    def sale_payment_totals(self, order_ids: Iterable[int]) -> dict[int, m.SalePaymentTotal]:
        """`GET /accounting-service/sale-payment-total/{ids}` (200 ids per request): per order (or
        credit) amountPaid = RECEIPT + CAPTURE - PAYMENT, amountAuthorized, amountCaptured."""
        path = "/accounting-service/sale-payment-total"
        totals = _parse_list(m.SalePaymentTotal, self.get_by_id_set(path, order_ids, ID_SET_CAP), self.system, path)
        return {t.order_id: t for t in sorted(totals, key=lambda t: t.order_id)}

    def default_location(self, warehouse_id: int) -> int:
        """The warehouse's default location id (cached per client)."""
        return self._location(warehouse_id, "default")

    def quarantine_location(self, warehouse_id: int) -> int:
        """The warehouse's quarantine location id (cached per client): goods-in to it keeps
        returned goods out of sale until `release_quarantine`."""
        return self._location(warehouse_id, "quarantine")

    def _location(self, warehouse_id: int, kind: str) -> int:
        warehouse_id = _checked_ids([warehouse_id])[0]
        key = f"location_{kind}_{warehouse_id}"
        if key not in self._reference_cache:
            path = f"/warehouse-service/warehouse/{warehouse_id}/location/{kind}"
            self._reference_cache[key] = [_location_id(self.get(path), self.system, path)]
        return self._reference_cache[key][0]

    def create_goods_in_note(self, order_id: int, body: Mapping[str, Any]) -> int:
        """`POST /warehouse-service/order/{id}/goods-note/goods-in` (one warehouse per request;
        `goodsMoved[].purchaseOrderRowId` = the purchase order's or the credit's row id) -> the
        note id. A receipt has no natural key but an optional unique `userBatchReference`: give
        one, so a receipt whose outcome is unknown is found again by `goods_in_notes`."""
        order_id = _checked_ids([order_id])[0]
        return self._create(f"/warehouse-service/order/{order_id}/goods-note/goods-in", body)

    def goods_in_notes(self, order_ids: Iterable[int] | str, note_ids: Iterable[int] | None = None) -> dict[int, m.GoodsInNote]:
        """Goods-in notes by order ids and/or note ids (`"*"` = any order, only with note ids: the
        API refuses all notes of all orders), keyed by note id; ID sets chunked at 200."""
        if isinstance(order_ids, str):
            if order_ids != "*" or note_ids is None:
                raise ValueError('goods_in_notes: order_ids are ids, or "*" with note_ids')
            order_parts = ["*"]
        else:
            order_parts = [compact_id_set(c) for c in chunk_ids(order_ids, ID_SET_CAP)]
        note_parts = [""] if note_ids is None else [compact_id_set(c) for c in chunk_ids(note_ids, ID_SET_CAP)]
        notes: dict[int, m.GoodsInNote] = {}
        for order_part in order_parts:
            for note_part in note_parts:
                if note_ids is not None and not note_part:
                    continue
                path = f"/warehouse-service/order/{order_part}/goods-note/goods-in" + (f"/{note_part}" if note_part else "")
                try:
                    reply = self.get(path)
                except NotFoundError:
                    continue
                for note_id, value in _as_map(reply, self.system, path).items():
                    notes[int(note_id)] = m.GoodsInNote.model_validate({**value, "goodsNoteId": int(note_id)})
        return dict(sorted(notes.items()))

    def release_quarantine(self, warehouse_id: int, product_id: int, quantity: int, to_location_id: int) -> None:
        """`POST /warehouse-service/warehouse/{id}/quarantine/release` -> `{}`: quarantined units
        become on hand. Never resent (a second release would move more units); with nothing to
        release Brightpearl answers 400 WHSB-023."""
        warehouse_id = _checked_ids([warehouse_id])[0]
        body = {"productId": _checked_ids([product_id])[0], "quantity": _checked_ids([quantity])[0],
                "toLocationId": _checked_ids([to_location_id])[0]}
        self.request("POST", f"/warehouse-service/warehouse/{warehouse_id}/quarantine/release", json_body=body,
                     idempotent=False)

    # -- catalogue, prices, purchasing -------------------------------------------------------

    def product_prices(self, ids: Iterable[int], price_list_ids: Iterable[int] | None = None) -> dict[int, m.ProductPrices]:
        """Product id -> its prices per price list (`GET /product-service/product-price/{ids}
        [/price-list/{listIds}]`, 200 products per request); products without prices absent."""
        suffix = ""
        if price_list_ids is not None:
            lists = list(price_list_ids)
            if not lists:
                return {}
            suffix = f"/price-list/{compact_id_set(lists)}"
        result: dict[int, m.ProductPrices] = {}
        for chunk in chunk_ids(ids, ID_SET_CAP):
            path = f"/product-service/product-price/{compact_id_set(chunk)}{suffix}"
            try:
                reply = self.get(path)
            except NotFoundError:
                continue
            for prices in _parse_list(m.ProductPrices, reply, self.system, path):
                result[prices.product_id] = prices
        return dict(sorted(result.items()))

    def set_product_prices(self, product_id: int, prices: Mapping[int, Mapping[int, Any]]) -> None:
        """`PUT /product-service/product-price/{id}/price-list` with `{price list id: {break: price}}`
        (the breaks of each named list are replaced) -> `{}`. Absolute values, so resending is safe."""
        product_id = _checked_ids([product_id])[0]
        body = {"priceLists": [{"priceListId": list_id, "quantityPrice": {str(q): v for q, v in breaks.items()}}
                               for list_id, breaks in prices.items()]}
        self.request("PUT", f"/product-service/product-price/{product_id}/price-list", json_body=body, idempotent=True)

    def update_product(self, product_id: int, body: Mapping[str, Any], *, version: int | None = None) -> None:
        """`PUT /product-service/product/{id}` -> `{}`. With `version` (the product's `version` from a
        GET) it is sent as `If-Match`: a product changed meanwhile answers 412 (`ValidationError`),
        and the PUT is not resent after an unknown outcome (its own success would then look like a
        conflict); without it the PUT is retried like any PUT."""
        product_id = _checked_ids([product_id])[0]
        headers = {"If-Match": str(version)} if version is not None else None
        self.request("PUT", f"/product-service/product/{product_id}", json_body=dict(body), headers=headers,
                     idempotent=version is None)

    def create_purchase_order(self, body: Mapping[str, Any]) -> int:
        """`POST /order-service/order` with `orderTypeCode` PO (set here) and
        `parties.supplier.contactId` -> the new order id; rows follow with `add_order_row`. There is
        no atomic purchase-order POST and no unique key: look a purchase order up by its
        `reference` (order-search `customerRef`) after an unknown outcome."""
        return self._create("/order-service/order", {**body, "orderTypeCode": "PO"})

    def add_order_row(self, order_id: int, body: Mapping[str, Any]) -> int:
        """`POST /order-service/order/{id}/row` (`productId` or `productName`, `quantity{magnitude}`,
        `rowValue{taxCode, rowNet{value}, rowTax{value}}`) -> the new row id."""
        order_id = _checked_ids([order_id])[0]
        return self._create(f"/order-service/order/{order_id}/row", body)

    def purchase_order_ids(self, filters: Mapping[str, Any] | None = None, *, updated_since: datetime | None = None) -> list[int]:
        """Ids of purchase orders (orderTypeId 2) matching `filters`, ascending."""
        f = {**(filters or {}), "orderTypeId": PURCHASE_ORDER_TYPE_ID}
        if updated_since is not None:
            f["updatedOn"] = period(updated_since)
        return sorted({row.order_id for row in self.order_search(f, columns=["orderId"])})

    def purchase_orders(self, ids: Iterable[int]) -> list[m.Order]:
        """Purchase orders by id (the order GET: `parties.supplier`, `delivery.deliveryDate`,
        `stockStatusCode` PON/POP/POA); ids of other order types are left out."""
        return [order for order in self.orders(ids) if order.order_type_code == "PO"]

    # -- contact changes ----------------------------------------------------------------------

    def contacts_updated_since(self, updated_since: datetime) -> list[m.ContactSearchRow]:
        """Contacts created or changed since a watermark (`contact-search?updatedOn=since/`, oldest
        first). A PATCH moves `updatedOn`; a postal-address PUT may not (UNCONFIRMED), so address
        changes also need a sweep of the contacts' addresses."""
        return self.contact_search({"updatedOn": period(updated_since)}, sort="updatedOn.ASC")

    def patch_contact(self, contact_id: int, operations: Sequence[Mapping[str, Any]]) -> m.Contact:
        """`PATCH /contact-service/contact/{id}` with JSON-Patch operations (documented paths:
        /firstName, /lastName, /salutation, /communication/emails/{PRI,SEC,TER}/email,
        /communication/telephones/{PRI,SEC,MOB,FAX}, ...) -> the contact as changed. Resent after
        a transient failure only when every operation is `replace` or `test` (same result twice)."""
        contact_id = _checked_ids([contact_id])[0]
        ops = [dict(op) for op in operations]
        if not ops:
            raise ValueError("a contact PATCH needs at least one operation")
        path = f"/contact-service/contact/{contact_id}"
        reply = self.request("PATCH", path, json_body=ops, idempotent=all(op.get("op") in ("replace", "test") for op in ops))
        return m.Contact.model_validate(_unwrap(reply.body, self.system, path))

    def update_postal_address(self, address_id: int, body: Mapping[str, Any]) -> None:
        """`PUT /contact-service/postal-address/{id}` (the POST's fields, `addressLine1` required) -> `{}`."""
        address_id = _checked_ids([address_id])[0]
        self.request("PUT", f"/contact-service/postal-address/{address_id}", json_body=dict(body), idempotent=True)

    # -- reference data (cached per client = per run) ----------------------------------------
    # -- webhooks (integration-service; api-docs.brightpearl.com/integration/webhook/) ----------
    def webhooks(self) -> list[dict[str, Any]]:
        """`GET /integration-service/webhook`: every subscription of the account, as posted plus `id`."""
        reply = self.get("/integration-service/webhook")
        return [item for item in reply or [] if isinstance(item, dict)]

    def create_webhook(self, body: Mapping[str, Any]) -> int:
        """`POST /integration-service/webhook` -> the new subscription's id (never resent)."""
        return self._create("/integration-service/webhook", body)

    def delete_webhook(self, webhook_id: int) -> None:
        """`DELETE /integration-service/webhook/{id}` (404 NotFoundError when it is gone)."""
        webhook_id = _checked_ids([webhook_id])[0]
        self.request("DELETE", f"/integration-service/webhook/{webhook_id}", idempotent=True)

    def channels(self) -> list[m.Channel]:
        return self._reference("channels", "/product-service/channel", m.Channel)

    def order_statuses(self) -> list[m.OrderStatus]:
        return self._reference("order_statuses", "/order-service/order-status", m.OrderStatus)

    def order_shipping_statuses(self) -> list[m.OrderShippingStatus]:
        return self._reference("order_shipping_statuses", "/order-service/order-shipping-status", m.OrderShippingStatus)

    def tax_codes(self) -> list[m.TaxCode]:
        return self._reference("tax_codes", "/accounting-service/tax-code", m.TaxCode)

    def payment_methods(self) -> list[m.PaymentMethod]:
        return self._reference("payment_methods", "/accounting-service/payment-method", m.PaymentMethod)

    def shipping_methods(self) -> list[m.ShippingMethod]:
        return self._reference("shipping_methods", "/warehouse-service/shipping-method", m.ShippingMethod)

    def price_lists(self) -> list[m.PriceList]:
        return self._reference("price_lists", "/product-service/price-list", m.PriceList)


# --- OAuth refresh ------------------------------------------------------------------------------


def oauth_refresh_callback(
    token_url: str,
    *,
    refresh_token: str,
    client_id: str,
    client_secret: str | None = None,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = (5.0, 30.0),
) -> Callable[[], str]:
    """A `token_refresher` that POSTs `grant_type=refresh_token` (form-encoded) to `token_url` and
    returns the new `access_token`; the rotated `refresh_token` is kept for the next call
    (section 1). Errors name only the OAuth error code, never a token."""
    from bp_nop_dagster.transport.transport import is_redirect, redirect_error, validate_base_url

    url = validate_base_url(token_url, "Brightpearl OAuth")
    http = session or requests.Session()
    state = {"refresh_token": refresh_token}

    def refresh() -> str:
        form = {"grant_type": "refresh_token", "refresh_token": state["refresh_token"], "client_id": client_id}
        if client_secret:
            form["client_secret"] = client_secret
        try:
            response = http.post(url, data=form, timeout=timeout, allow_redirects=False)  # never re-send the secrets elsewhere
        except requests.RequestException as error:
            raise TransientError("Brightpearl", f"token refresh: {type(error).__name__}", method="POST", path="/oauth/token") from None
        if is_redirect(response):
            raise redirect_error("Brightpearl OAuth", response, "POST", "/oauth/token")
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            code = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else "no access_token"
            raise AuthError("Brightpearl", f"token refresh refused: {code}", status=response.status_code, method="POST", path="/oauth/token")
        if body.get("refresh_token"):
            state["refresh_token"] = body["refresh_token"]
        return str(body["access_token"])

    return refresh


# --- helpers ------------------------------------------------------------------------------------


def _validated_credentials(app_ref, account_token, staff_token, oauth_access_token, dev_ref) -> _Credentials:
    def clean(value: str | None) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConfigurationError("Brightpearl credentials must be strings")
        return value.strip() or None

    app_ref, account_token, staff_token = clean(app_ref), clean(account_token), clean(staff_token)
    oauth_access_token, dev_ref = clean(oauth_access_token), clean(dev_ref)
    if not app_ref:
        raise ConfigurationError("Brightpearl app_ref is not set (BRIGHTPEARL_APP_REF)")
    given = [name for name, value in (("account_token", account_token), ("staff_token", staff_token), ("oauth_access_token", oauth_access_token)) if value]
    if not given:
        raise ConfigurationError(
            "Brightpearl credentials are not set: give account_token (BRIGHTPEARL_ACCOUNT_TOKEN), staff_token or oauth_access_token"
        )
    if len(given) > 1:
        raise ConfigurationError(f"Brightpearl credentials: set only one of {', '.join(given)}")
    if oauth_access_token and not dev_ref:
        raise ConfigurationError("Brightpearl OAuth needs dev_ref (the brightpearl-dev-ref header) besides oauth_access_token")
    secrets = [s for s in (account_token, staff_token, oauth_access_token) if s]
    return _Credentials(app_ref, account_token, staff_token, oauth_access_token, dev_ref, secrets)


def _unwrap(body: Any, system: str, path: str) -> Any:
    if isinstance(body, dict) and "response" in body:
        return body["response"]
    if isinstance(body, dict) and not body:
        return None  # PUT/DELETE answer {}
    raise TransientError(system, "reply without a 'response' envelope", method="GET", path=path)


def _created_id(body: Any, system: str, path: str) -> int:
    """The id in a create's `{"response": id}`. A 2xx reply without one may still mean the record
    was created: the outcome is unknown, so the caller must look it up before creating again."""
    value = body.get("response") if isinstance(body, dict) else None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OutcomeUnknownError(system, "create reply without the new id: the request may have been applied", method="POST", path=path)
    return value


def _location_id(reply: Any, system: str, path: str) -> int:
    """A location GET's id: a scalar (MAG, LAR read the default location so), `{id}`, or a list of
    locations (the Location GET shape); which one the special forms answer is UNCONFIRMED."""
    value = reply[0] if isinstance(reply, list) and len(reply) == 1 else reply
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(system, "location reply without an id", method="GET", path=path)
    return value


def _merge(merged: list | dict | None, part: Any, system: str, path: str) -> list | dict:
    if part is None:
        return merged if merged is not None else []
    if isinstance(part, list):
        if isinstance(merged, dict):
            raise ApiError(system, "ID-set chunks answered in different shapes", method="GET", path=path)
        return (merged or []) + part
    if isinstance(part, dict):
        if isinstance(merged, list) and merged:
            raise ApiError(system, "ID-set chunks answered in different shapes", method="GET", path=path)
        return {**(merged or {}), **part}
    raise ApiError(system, f"unexpected ID-set reply ({type(part).__name__})", method="GET", path=path)


def _as_map(reply: Any, system: str, path: str) -> dict[str, Any]:
    if reply in (None, []):
        return {}
    if not isinstance(reply, dict):
        raise ApiError(system, "expected an object keyed by id", method="GET", path=path)
    return reply


def _parse_list(model: type[ModelT], items: Any, system: str, path: str) -> Items[ModelT]:
    """A reply's list item by item: the items that parse, and `malformed` (with their ids) for
    the others."""
    if items is None:
        return Items()
    if not isinstance(items, list):
        raise ApiError(system, f"expected a list of {model.__name__}", method="GET", path=path)
    return parse_items(model, items, where=f"{system} GET {path}", id_fields=_id_fields(model))


def _id_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Where a model's id is on the wire: its first field's camelCase name and aliases."""
    name, info = next(iter(model.model_fields.items()))
    fields = [to_camel(name), name]
    choices = getattr(info.validation_alias, "choices", None)
    if choices:
        fields[:0] = [c for c in choices if isinstance(c, str)]
    return tuple(dict.fromkeys(fields))


def matching_customer_payment(payments: Iterable[m.CustomerPayment], body: Mapping[str, Any]) -> int | None:
    """The payment among `payments` that a create from `body` made: the oldest with the same
    `transactionRef` and `paymentMethodCode` (any method when `body` names none) that also books
    the same order, payment type and amount (`amountAuthorized` for an AUTH, else `amountPaid`;
    customer-payment-search columns orderId, paymentType, amountAuthorized, amountPaid, as
    recorded: customer_payment__search__simple_search.json). A gateway reference reused by
    another order, or by another step of the same order, is not taken for this one."""
    reference, method = str(body.get("transactionRef") or ""), body.get("paymentMethodCode")
    if not reference:  # a payment without a reference has no natural key
        return None
    amount_field = "amountAuthorized" if body.get("paymentType") == "AUTH" else "amountPaid"
    amount = _decimal_or_none(body.get(amount_field))
    matches = [
        p.payment_id for p in payments
        if p.transaction_ref == reference and (method is None or p.payment_method_code == method)
        and p.order_id == body.get("orderId") and p.payment_type == body.get("paymentType")
        and _decimal_or_none(p.amount_authorized if amount_field == "amountAuthorized" else p.amount_paid) == amount
    ]
    return min(matches, default=None)


def _decimal_or_none(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _address_fields(address: Mapping[str, Any]) -> tuple:
    """An address as compared by `find_unused_postal_address`: lines, postcode and country."""
    lines = tuple(" ".join(str(address.get(f"addressLine{n}") or "").split()) for n in range(1, 5))
    country = str(address.get("countryIsoCode") or "").upper()
    return lines + (" ".join(str(address.get("postalCode") or "").split()), country)


def _one(items: list[ModelT], what: str, item_id: int, system: str) -> ModelT:
    for item in items:
        if getattr(item, "id", None) == item_id:
            return item
    raise NotFoundError(system, f"no {what} {item_id}")


def _search_page(response: Any, reference: Any, system: str, path: str) -> SearchPage:
    if not isinstance(response, dict):
        raise ApiError(system, "search reply is not an object", method="GET", path=path)
    meta = response.get("metaData") or {}
    columns = [str(c.get("name")) for c in meta.get("columns") or [] if isinstance(c, dict)]
    rows: list[dict[str, Any]] = []
    for result in response.get("results") or []:
        if not isinstance(result, list) or len(result) != len(columns):
            raise ApiError(system, "search row does not match metaData.columns", method="GET", path=path)
        rows.append(dict(zip(columns, result)))
    return SearchPage(
        rows=rows,
        columns=columns,
        reference=dict(reference) if isinstance(reference, dict) else {},
        results_available=meta.get("resultsAvailable"),
        first_result=meta.get("firstResult"),
        last_result=meta.get("lastResult"),
        more_pages_available=bool(meta.get("morePagesAvailable")),
    )


def _normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()
