"""Typed client of the official nopCommerce **Web API Backend** plugin (`/api-backend/...`).

Follows `reference/nopcommerce-api.md` (the real plugin's routes and quirks), built on the shared
`Transport` (one session, timeouts, THE retry policy, one re-authentication on 401, the error
taxonomy):

- **Auth.** `POST Authenticate/GetToken` with `{"username": "", "email", "password"}` gives a JWT,
  sent as `Authorization: Bearer <jwt>`. There is no refresh token: the client decodes the JWT's
  `exp` claim (without verifying it) and fetches a new token shortly before expiry, and once more
  on a 401 (via `Transport.reauthenticate`). Renewal is serialised by a lock, and a thread whose
  request failed with a token another thread already replaced just reuses the new one.
- **Errors.** 400 → ValidationError; 401 on GetToken / 401 twice → AuthError; 403 → AuthError
  naming the missing "Access Web API Backend" permission; 404 → NotFoundError; 5xx, timeouts,
  malformed JSON → TransientError (retried for idempotent requests only).
- **Lists, item by item.** Every list reply is parsed one item at a time
  (`transport/parsing.py`): an item the model rejects (a malformed `tax_rates`, a quantity of 1.5)
  never fails the others; it is handed back in the result's `malformed` with its id and the
  problem, so the flows park that record and sync the rest.
- **Paging.** Every list read sends an explicit `pageSize` (the API defaults to int.MaxValue) and
  walks `pageIndex=0,1,…` until `has_next_page` is false, de-duplicating by id. If the total changes
  during a walk (orders placed or deleted meanwhile), the walk is repeated (see `_read_all`).
- **N+1.** OrderDto embeds no items or addresses; `orders_with_details` fetches them with bounded
  concurrency (`max_concurrency` worker threads).
- **State-changing GETs.** `OrderProcessing/*` actions are HTTP GETs that change state (notes §1a,
  §7.8): they are sent with `idempotent=False` so they are never resent blindly (see the
  "fulfilment writes" and "refunds" sections).
- **Full-replace writes.** Every `Update` maps the body onto a new entity (notes §7.2): the update
  methods GET the raw DTO, change only the given properties and PUT every other one back as read,
  unknown ones included; an `expected` guard skips the write when the record moved meanwhile.

Secrets: the password and the token never appear in exceptions, logs or `repr`.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from typing import Any, TypeVar

import requests
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from requests.adapters import HTTPAdapter

from bp_nop_dagster.nopcommerce.models import (
    Address,
    Country,
    StateProvince,
    Customer,
    CustomerRole,
    Order,
    OrderDetails,
    OrderItem,
    OrderLookup,
    OrderRef,
    PagedList,
    Product,
    ProductAttributeCombination,
    ProductWarehouseInventory,
    ReturnRequest,
    ReturnRequestLookup,
    ReturnRequestStatus,
    Shipment,
    ShipmentItem,
    Store,
    TokenResponse,
    Warehouse,
    parse_utc,
)
from bp_nop_dagster.pairs import StoreScope
from bp_nop_dagster.transport.errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    MalformedError,
    NotFoundError,
    OutcomeUnknownError,
    ThrottledError,
    TransientError,
    ValidationError,
)
from bp_nop_dagster.transport.limits import PageGuard, server_wait
from bp_nop_dagster.transport.parsing import Items, Malformed, describe, item_id, parse_items
from bp_nop_dagster.transport.retry import RetrySettings
from bp_nop_dagster.transport.transport import Transport

log = logging.getLogger("bp_nop_dagster.nopcommerce")

M = TypeVar("M", bound=BaseModel)

TOKEN_PATH = "/Authenticate/GetToken"
ABSENT_FROM_GET_BY_IDS = "absent from Order/GetByIds (deleted or not found)"
DEFAULT_PAGE_SIZE = 250
DEFAULT_MAX_CONCURRENCY = 8
ID_CHUNK = 100  # ids per Order/GetByIds call
SKU_CHUNK = 100  # SKUs per Product/GetProductsBySku call
MAX_QUERY_CHARS = 1500  # keep URLs well under common 2-8 KB proxy limits
MAX_READ_PASSES = 3  # full re-reads of a paged list whose total changed while it was read
MAX_MESSAGE_CHARS = 300
EARLIEST = datetime.min.replace(tzinfo=timezone.utc)  # sorts an undated record last, newest first
PERMISSION_MESSAGE = (
    'access denied: the API user lacks the "Access Web API Backend" permission (AccessWebApi); '
    "grant it to one of the customer's roles in Configuration → Access control list"
)


@dataclass(frozen=True)
class OrderDetailsRead:
    """What `read_order_details` read: the orders in full (`details`, in the order asked), and per
    order id what kept the others out: `malformed` (the problem), `failed` (the error after the
    retry policy), `untried` (reads cancelled after repeated failures)."""

    details: list[OrderDetails]
    malformed: dict[int, str]
    failed: dict[int, ApiError]
    untried: list[int]


class NopCommerceClient(Transport):
    """Reads from the nopCommerce Web API Backend, and writes fulfilment (shipments, Ship,
    Deliver, CancelOrder), stock, refunds, return requests, products and combinations, customers
    and addresses, store mappings. Thread-safe: one instance may serve the worker threads of
    `orders_with_details` (and any caller's own threads)."""

    system = "nopCommerce"

    def __init__(
        self,
        base_url: str,
        email: str,
        password: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        token_renew_margin: float = 60.0,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retry: RetrySettings | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not email or not str(email).strip():
            raise ConfigurationError("nopCommerce email is empty: set NOPCOMMERCE_EMAIL (an API user with 'Access Web API Backend')")
        if not password:
            raise ConfigurationError("nopCommerce password is empty: set NOPCOMMERCE_PASSWORD")
        if not isinstance(page_size, int) or page_size < 1:
            raise ConfigurationError(f"nopCommerce page_size must be a positive integer, got {page_size!r}")
        if not isinstance(max_concurrency, int) or not 1 <= max_concurrency <= 64:
            raise ConfigurationError(f"nopCommerce max_concurrency must be between 1 and 64, got {max_concurrency!r}")
        if token_renew_margin < 0:
            raise ConfigurationError("nopCommerce token_renew_margin must not be negative")
        if session is None:
            session = requests.Session()
            # One pooled connection per worker thread (the default pool keeps 10).
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, max_concurrency + 2))
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        super().__init__(base_url, connect_timeout=connect_timeout, read_timeout=read_timeout, retry=retry, session=session, sleep=sleep)
        self.email = str(email).strip()
        self.__password = password
        self.page_size = page_size
        self.max_concurrency = max_concurrency
        self.token_renew_margin = token_renew_margin
        self._clock = clock
        # (token, renew_at): replaced as one tuple so readers never see half an update.
        self.__token_state: tuple[str, float] | None = None
        self._auth_lock = threading.RLock()
        self._local = threading.local()
        self._countries: list[Country] | None = None
        self._states: dict[int, StateProvince | None] = {}
        self._cache_lock = threading.Lock()
        self._role_ids: dict[str, int] = {}
        self._installation_stores: list[int] | None = None
        # The stores this client's pair owns (bp_nop_dagster/pairs.py): the order, return-request
        # and customer reads below keep to them; `owns_product` says which products it writes.
        self.store_scope = StoreScope()
        self.token_fetches = 0

    def __repr__(self) -> str:
        return f"NopCommerceClient(base_url={self.base_url!r}, email={self.email!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> NopCommerceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------ auth hooks
    def auth_headers(self) -> dict[str, str]:
        if getattr(self._local, "authenticating", False):
            return {}
        token = self._valid_token()
        self._local.sent_token = token
        return {"Authorization": f"Bearer {token}"}

    def reauthenticate(self) -> None:
        """After a 401: fetch a new token, unless another thread already replaced the one sent."""
        if getattr(self._local, "authenticating", False):
            # GetToken itself answered 401: the credentials are wrong.
            raise AuthError(self.system, "credentials refused: Username or password is incorrect", status=401,
                            method="POST", path=TOKEN_PATH)
        sent = getattr(self._local, "sent_token", None)
        with self._auth_lock:
            state = self.__token_state
            if state is not None and state[0] != sent:
                return
            log.info("nopCommerce answered 401: fetching a new token")
            self._fetch_token()

    def _valid_token(self) -> str:
        state = self.__token_state
        if state is None or self._clock() >= state[1]:
            with self._auth_lock:
                state = self.__token_state
                if state is None or self._clock() >= state[1]:
                    if state is not None:
                        log.info("nopCommerce token is about to expire: fetching a new one")
                    self._fetch_token()
                    state = self.__token_state
        assert state is not None
        return state[0]

    def _fetch_token(self) -> None:
        """`POST Authenticate/GetToken`; callers hold `_auth_lock`. GetToken changes nothing, so
        it is retried like a read."""
        self._local.authenticating = True
        try:
            reply = self.request(
                "POST", TOKEN_PATH, json_body={"username": "", "email": self.email, "password": self.__password}, idempotent=True,
            )
        finally:
            self._local.authenticating = False
        self.token_fetches += 1
        try:
            token = TokenResponse.model_validate(reply.body).token.get_secret_value()
        except PydanticValidationError:
            raise ApiError(self.system, "GetToken reply has no token", status=reply.status, method="POST", path=TOKEN_PATH) from None
        if not token:
            raise ApiError(self.system, "GetToken reply has an empty token", status=reply.status, method="POST", path=TOKEN_PATH)
        self.__token_state = (token, self._renew_at(token))

    def _renew_at(self, token: str) -> float:
        """When to fetch the next token: `exp` minus the margin (at most half the lifetime, so a
        short-lived token is not renewed on every call). Unknown `exp`: only on 401."""
        claims = decode_jwt_claims(token)
        try:
            exp = float(claims["exp"])
        except (KeyError, TypeError, ValueError):
            log.warning("nopCommerce token has no readable exp claim: renewing only on 401")
            return float("inf")
        issued = claims.get("nbf", claims.get("iat"))
        try:
            lifetime = exp - float(issued)
        except (TypeError, ValueError):
            lifetime = 2 * self.token_renew_margin
        margin = min(self.token_renew_margin, max(lifetime, 0) / 2)
        return exp - margin

    # ------------------------------------------------------------------------------ errors
    def error_for(self, response: requests.Response, body: Any, method: str, path: str) -> ApiError:
        status = response.status_code
        where = {"status": status, "method": method, "path": path}
        message = self._server_message(body)
        if status == 400:
            code = "400"
            if isinstance(body, dict) and isinstance(body.get("title"), str) and body["title"].strip():
                code = body["title"].strip()
            return ValidationError(self.system, code, message or "Bad Request", **where)
        if status == 401:
            if path == TOKEN_PATH:
                return AuthError(self.system, "credentials refused: Username or password is incorrect", **where)
            return AuthError(self.system, "token refused even after fetching a new one" + (f": {message}" if message else ""), **where)
        if status == 403:
            return AuthError(self.system, PERMISSION_MESSAGE, **where)
        if status == 404:
            return NotFoundError(self.system, message or "not found", **where)
        if status == 429:  # not sent by the real plugin (notes §6); a proxy or WAF might
            return ThrottledError(self.system, _retry_after(response), **where)
        if status in (408, 425) or status >= 500:
            return TransientError(self.system, f"server error{': ' + message if message else ''}", **where)
        return ValidationError(self.system, str(status), message or response.reason or "request refused", **where)

    def _server_message(self, body: Any) -> str:
        """The server's message, short and scrubbed: never the password or the token."""
        if body is None:
            return ""
        if isinstance(body, str):
            text = body
        elif isinstance(body, dict):
            parts: list[str] = []
            if isinstance(body.get("message"), str):
                parts.append(body["message"])
            elif isinstance(body.get("title"), str):
                parts.append(body["title"])
            errors = body.get("errors")
            if isinstance(errors, dict):
                for field, problems in errors.items():
                    listed = problems if isinstance(problems, list) else [problems]
                    parts.append(f"{field}: {'; '.join(str(p) for p in listed)}")
            elif isinstance(errors, list):
                parts.extend(str(p) for p in errors)
            text = " | ".join(parts) if parts else json.dumps(body)[:MAX_MESSAGE_CHARS]
        elif isinstance(body, list):
            text = "; ".join(str(p) for p in body)
        else:
            text = str(body)
        return self._scrub(text.strip())[:MAX_MESSAGE_CHARS]

    def _scrub(self, text: str) -> str:
        secrets = [self.__password]
        if self.__token_state is not None:
            secrets.append(self.__token_state[0])
        for secret in secrets:
            if secret and secret in text:
                text = text.replace(secret, "***")
        return text

    # ------------------------------------------------------------------------------ plumbing
    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).body

    def _parse(self, model: type[M], body: Any, path: str) -> M:
        """One object; one the model rejects raises MalformedError (naming its id if readable)."""
        try:
            return model.model_validate(body)
        except PydanticValidationError as error:
            raise MalformedError(self.system, f"unexpected reply shape: {describe(error)}", record_id=item_id(body),
                                 method="GET", path=path) from None

    def _parse_list(self, model: type[M], body: Any, path: str) -> Items[M]:
        """A JSON array item by item: the items that parse, and `malformed` for the others."""
        if body is None:
            return Items()
        if isinstance(body, dict) and isinstance(body.get("items"), list):  # tolerate a paged envelope
            body = body["items"]
        if not isinstance(body, list):
            raise ApiError(self.system, f"expected a JSON array, got {type(body).__name__}", method="GET", path=path)
        return parse_items(model, body, where=f"{self.system} GET {path}")

    def _read_pages(self, path: str, params: dict[str, Any], model: type[M], page_size: int) -> tuple[Items[M], bool]:
        """One walk over every page. Returns the items (de-duplicated by id, first seen wins; the
        ones the model rejects in `malformed`) and whether the list stayed still (the same
        total_count on every page)."""
        envelope = PagedList[Any]
        seen: dict[int, M] = {}
        rejected: dict[int | None, Malformed] = {}
        index = 0
        first_total: int | None = None
        stable = True
        guard = PageGuard(self.system, path)
        while True:
            page = self._parse(envelope, self._get(path, {**params, "pageIndex": index, "pageSize": page_size}), path)
            if first_total is None:
                first_total = page.total_count
            elif page.total_count != first_total:
                stable = False
            known = len(seen) + len(rejected)
            parsed = parse_items(model, page.items, where=f"{self.system} GET {path}")
            for item in parsed:
                seen.setdefault(item.id, item)  # type: ignore[attr-defined]
            for bad in parsed.malformed:
                rejected.setdefault(bad.id, bad)
            if not page.has_next_page or not page.items:
                break
            progressed = len(seen) + len(rejected) > known
            if not progressed and not stable:
                break  # the list moved under the walk: read it again (see `_read_all`)
            guard.page(progressed=progressed)  # a repeated page, or one page too many, raises
            index += 1
        if first_total is not None and len(seen) + len(rejected) < first_total and stable:
            stable = False  # fewer distinct ids than the total: something moved between pages
        return Items(seen.values(), rejected.values()), stable

    def _read_all(self, path: str, params: dict[str, Any] | None = None, *, model: type[M], page_size: int | None = None) -> Items[M]:
        """Every item of a paged list. Sends an explicit `pageSize` and reads pageIndex 0,1,… until
        `has_next_page` is false. If the total changed during the walk (a row inserted or
        deleted shifts the following pages, so one could be skipped), the list is read again, up
        to MAX_READ_PASSES times; the last still walk wins, or the union of all walks if none was."""
        size = page_size or self.page_size
        if size < 1:
            raise ValueError("page_size must be at least 1")
        union: dict[int, M] = {}
        rejected: dict[int | None, Malformed] = {}
        for attempt in range(1, MAX_READ_PASSES + 1):
            items, stable = self._read_pages(path, dict(params or {}), model, size)
            if stable:
                return items
            for item in items:
                union.setdefault(item.id, item)  # type: ignore[attr-defined]
            for bad in items.malformed:
                rejected.setdefault(bad.id, bad)
            log.info("nopCommerce %s changed while being paged (walk %d): reading it again", path, attempt)
        log.warning("nopCommerce %s kept changing during %d walks: returning the union of them", path, MAX_READ_PASSES)
        return Items(union.values(), rejected.values())

    # ------------------------------------------------------------------------------ orders
    def search_orders(
        self,
        *,
        created_from_utc: datetime | None = None,
        created_to_utc: datetime | None = None,
        order_status_ids: Iterable[int] = (),
        payment_status_ids: Iterable[int] = (),
        shipping_status_ids: Iterable[int] = (),
        store_id: int = 0,
        page_size: int | None = None,
    ) -> Items[Order]:
        """`GET Order/Search` over every page, oldest first (the server sorts newest first).
        Both date bounds are inclusive; deleted orders are excluded by the server. `store_id` 0:
        the pair's stores (one search each, the server's `storeId` filter), or every store."""
        params: dict[str, Any] = {}
        if created_from_utc is not None:
            params["createdFromUtc"] = format_utc(created_from_utc)
        if created_to_utc is not None:
            params["createdToUtc"] = format_utc(created_to_utc)
        for name, values in (("osIds", order_status_ids), ("psIds", payment_status_ids), ("ssIds", shipping_status_ids)):
            ids = [int(v) for v in values]
            if ids:
                params[name] = ";".join(str(v) for v in ids)
        orders = self._read_stores("/Order/Search", params, store_id, model=Order, page_size=page_size)
        return Items(sorted(orders, key=lambda o: (o.created_on_utc, o.id)), orders.malformed)

    def orders_created_between(self, start_utc: datetime, end_utc: datetime, *, page_size: int | None = None) -> Items[Order]:
        """Orders created in the CLOSED window `[start_utc, end_utc]` (both ends inclusive, as
        `OrderService.SearchOrdersAsync` filters), oldest first. Naive datetimes are UTC.

        Page a window whose end is in the past: the newest-first sort shifts pages while orders
        arrive. Adjacent windows share their boundary instant: de-duplicate by id downstream."""
        start, end = _as_utc(start_utc), _as_utc(end_utc)
        if start > end:
            raise ValueError(f"start_utc {start.isoformat()} is after end_utc {end.isoformat()}")
        return self.search_orders(created_from_utc=start, created_to_utc=end, page_size=page_size)

    def order_refs_created_between(self, start_utc: datetime, end_utc: datetime) -> Items[OrderRef]:
        """Like `orders_created_between`, but each order parsed only as far as finding work
        needs (`OrderRef`), so a sensor or a sweep never stops on an order whose other fields are
        malformed; an order without even a readable id or created time is in `malformed` (with
        its id when readable)."""
        start, end = _as_utc(start_utc), _as_utc(end_utc)
        if start > end:
            raise ValueError(f"start_utc {start.isoformat()} is after end_utc {end.isoformat()}")
        params = {"createdFromUtc": format_utc(start), "createdToUtc": format_utc(end)}
        refs = self._read_stores("/Order/Search", params, 0, model=OrderRef)
        return Items(sorted(refs, key=lambda o: (o.created_on_utc or start, o.id)), refs.malformed)

    def _read_stores(self, path: str, params: dict[str, Any], store_id: int, *, model: type[M], page_size: int | None = None) -> Items[M]:
        """`_read_all` of a search with a `storeId` filter: `store_id` when given, else one search
        per store of the pair (merged, each item once), or every store (`storeId=0`)."""
        if store_id or self.store_scope.whole_installation:
            return self._read_all(path, {"storeId": int(store_id), **params}, model=model, page_size=page_size)
        self.installation_store_ids()  # the named stores exist
        found: dict[int, M] = {}
        rejected: list[Malformed] = []
        for own in sorted(self.store_scope.store_ids or ()):
            items = self._read_all(path, {"storeId": own, **params}, model=model, page_size=page_size)
            for item in items:
                found.setdefault(item.id, item)  # type: ignore[attr-defined]
            rejected.extend(items.malformed)
        return Items(found.values(), rejected)

    def ping(self) -> None:
        """One cheap read (one order of the list, unparsed), to tell whether nopCommerce answers
        at all: the circuit breaker's probe (`sync/fate.py`)."""
        self._get("/Order/Search", {"storeId": 0, "pageIndex": 0, "pageSize": 1})

    def order(self, order_id: int) -> Order:
        """`GET Order/GetById/{id}`; soft-deleted orders come back with `deleted=True`."""
        path = f"/Order/GetById/{_positive(order_id)}"
        return self._parse(Order, self._get(path), path)

    def orders_by_ids(self, ids: Iterable[int], *, chunk_size: int = ID_CHUNK) -> Items[Order]:
        """`GET Order/GetByIds/{a;b;c}` in chunks. Soft-deleted and unknown orders are both simply
        absent: core calls `GetByIdsAsync(orderIds, includeDeleted: false)` (notes, corrections).
        Use `lookup_orders` to tell a deleted order from a missing reply. Orders the model
        rejects are in `malformed`."""
        return self._by_ids(Order, ids, chunk_size)

    def order_refs_by_ids(self, ids: Iterable[int], *, chunk_size: int = ID_CHUNK) -> Items[OrderRef]:
        """`orders_by_ids`, each order parsed only as an `OrderRef` (id, created time, status)."""
        return self._by_ids(OrderRef, ids, chunk_size)

    def _by_ids(self, model: type[M], ids: Iterable[int], chunk_size: int) -> Items[M]:
        wanted = list(dict.fromkeys(_positive(i) for i in ids))
        found: dict[int, M] = {}
        rejected: list[Malformed] = []
        for chunk in _chunks(wanted, chunk_size):
            path = "/Order/GetByIds/" + ";".join(str(i) for i in chunk)
            parsed = self._parse_list(model, self._get(path), path)
            for order in parsed:
                found.setdefault(order.id, order)  # type: ignore[attr-defined]
            rejected.extend(parsed.malformed)
        return Items([found[i] for i in wanted if i in found], rejected)

    def lookup_orders(self, ids: Iterable[int], *, chunk_size: int = ID_CHUNK) -> OrderLookup:
        """The orders with these ids, live ones in `found`; every id `Order/GetByIds` leaves out is
        confirmed with `Order/GetById` (which returns soft-deleted orders, flagged) before it is
        reported in `absent` with its reason, so one short GetByIds reply never makes a live
        order look gone. A live order only GetById returns is kept in `found`. An order either
        read returns but the model rejects is in `malformed` with the problem."""
        wanted = list(dict.fromkeys(_positive(i) for i in ids))
        listed = self.orders_by_ids(wanted, chunk_size=chunk_size)
        found = {order.id: order for order in listed}
        malformed = {bad.id: bad.problem for bad in listed.malformed if bad.id is not None}
        absent: dict[int, str] = {}
        for order_id in wanted:
            if order_id in found or order_id in malformed:
                continue
            try:
                order = self.order(order_id)
            except NotFoundError:
                absent[order_id] = f"{ABSENT_FROM_GET_BY_IDS}: Order/GetById answers 404"
                continue
            except MalformedError as error:
                malformed[order_id] = str(error)
                continue
            if order.deleted:
                absent[order_id] = f"{ABSENT_FROM_GET_BY_IDS}: Order/GetById says deleted"
            else:
                log.warning("nopCommerce Order/GetByIds left out order %d, which Order/GetById returns live", order_id)
                found[order_id] = order
        return OrderLookup(found={i: found[i] for i in wanted if i in found}, absent=absent,
                           malformed={i: malformed[i] for i in wanted if i in malformed})

    def order_items(self, order_id: int) -> Items[OrderItem]:
        """`GET OrderItem/GetOrderItems/{orderId}` (a plain array); items the model rejects are in
        `malformed`."""
        path = f"/OrderItem/GetOrderItems/{_positive(order_id)}"
        return self._parse_list(OrderItem, self._get(path), path)

    def address(self, address_id: int) -> Address:
        path = f"/Address/GetById/{_positive(address_id)}"
        return self._parse(Address, self._get(path), path)

    def orders_with_details(
        self,
        orders: Sequence[Order],
        *,
        max_concurrency: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> list[OrderDetails]:
        """Each order with its items and its billing/shipping addresses, in the input order.

        The API has no bulk endpoint, so this costs one item read per order plus one read per
        distinct address id, run on at most `max_concurrency` threads (default: the client's).
        An address that no longer exists (404) comes back as None; any other failure (after the
        retry policy) is raised and the remaining reads are cancelled, as is an item or address
        the model rejects (MalformedError). `on_progress(done, total)` is called from the worker
        threads as reads complete. `read_order_details` reads the same way but keeps going past
        one order's failure."""
        read = self.read_order_details(orders, max_concurrency=max_concurrency, on_progress=on_progress, stop_after_failures=1)
        if read.failed:
            raise next(iter(read.failed.values()))
        if read.malformed:
            order_id, problem = next(iter(read.malformed.items()))
            raise MalformedError(self.system, f"order {order_id}: {problem}", record_id=order_id)
        return read.details

    def read_order_details(
        self,
        orders: Sequence[Order],
        *,
        max_concurrency: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        stop_after_failures: int | None = None,
    ) -> OrderDetailsRead:
        """Each order with its items and addresses, one order's trouble kept to that order: an
        item or address the model rejects puts the order in `malformed`, a read that failed
        (after the retry policy) in `failed`. After `stop_after_failures` failed reads the
        reads not started yet are cancelled (the other system is likely down: waiting out
        every remaining read would take minutes) and their orders are in `untried`. An address
        that no longer exists (404) comes back as None. AuthError is raised (nothing else can
        work either)."""
        workers = max_concurrency or self.max_concurrency
        if workers < 1:
            raise ValueError("max_concurrency must be at least 1")
        orders = list(orders)
        if not orders:
            return OrderDetailsRead([], {}, {}, [])
        order_ids = list(dict.fromkeys(o.id for o in orders))
        address_ids = list(dict.fromkeys(a for o in orders for a in o.address_ids))
        failures: list[BaseException] = []
        lock = threading.Lock()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nop-details") as pool:
            item_futures = {oid: pool.submit(self.order_items, oid) for oid in order_ids}
            address_futures = {aid: pool.submit(self._address_or_none, aid) for aid in address_ids}
            futures: list[Future] = [*item_futures.values(), *address_futures.values()]

            def on_done(future: Future) -> None:
                if future.cancelled() or future.exception() is None:
                    return
                with lock:
                    failures.append(future.exception())
                    stop = isinstance(future.exception(), AuthError) or (
                        stop_after_failures is not None and len(failures) >= stop_after_failures)
                if stop:
                    for other in futures:
                        other.cancel()

            for future in futures:
                future.add_done_callback(on_done)
            if on_progress is not None:
                _report_progress(futures, on_progress)
            wait(futures)
        auth = next((f for f in failures if isinstance(f, AuthError)), None)
        if auth is not None:
            raise auth
        details: list[OrderDetails] = []
        malformed: dict[int, str] = {}
        failed: dict[int, ApiError] = {}
        untried: list[int] = []
        for order in orders:
            reads = {"items": item_futures[order.id]}
            reads.update({f"address {a}": address_futures[a] for a in order.address_ids})
            if any(f.cancelled() for f in reads.values()):
                untried.append(order.id)
                continue
            errors = {what: f.exception() for what, f in reads.items() if f.exception() is not None}
            if errors:
                what, error = next(iter(errors.items()))
                if isinstance(error, MalformedError):
                    malformed[order.id] = f"{what}: {error}"
                elif isinstance(error, ApiError):
                    failed[order.id] = error
                else:
                    raise error
                continue
            items = item_futures[order.id].result()
            if items.malformed:
                malformed[order.id] = "; ".join(f"order item {bad.id}: {bad.problem}" for bad in items.malformed)
                continue
            addresses = {aid: address_futures[aid].result() for aid in order.address_ids}
            details.append(OrderDetails(
                order=order,
                items=list(items),
                billing_address=addresses.get(order.billing_address_id) if order.billing_address_id else None,
                shipping_address=addresses.get(order.shipping_address_id) if order.shipping_address_id else None,
            ))
        return OrderDetailsRead(details, malformed, failed, untried)

    def _address_or_none(self, address_id: int) -> Address | None:
        try:
            return self.address(address_id)
        except NotFoundError:
            log.warning("nopCommerce address %d referenced by an order does not exist", address_id)
            return None

    # ------------------------------------------------------------------------------ customers
    def customers(
        self,
        *,
        email: str | None = None,
        created_from_utc: datetime | None = None,
        created_to_utc: datetime | None = None,
        last_activity_from_utc: datetime | None = None,
        role_ids: Iterable[int] = (),
        page_size: int | None = None,
    ) -> list[Customer]:
        """`GET Customer/GetAll` over every page (newest first), optionally filtered by email, by
        creation window (both bounds inclusive), by last activity (`lastActivityFromUtc`: the
        customers active since, which includes every registration and every change a customer
        makes in My account) and by roles (`customerRoleIds`, any of them). A pair owning some
        stores of the installation gets only its customers (`StoreScope.owns_store_record`)."""
        params: dict[str, Any] = {}
        if email:
            params["email"] = email.strip()
        if created_from_utc is not None:
            params["createdFromUtc"] = format_utc(created_from_utc)
        if created_to_utc is not None:
            params["createdToUtc"] = format_utc(created_to_utc)
        if last_activity_from_utc is not None:
            params["lastActivityFromUtc"] = format_utc(last_activity_from_utc)
        roles = [str(_positive(r)) for r in role_ids]
        if roles:
            params["customerRoleIds"] = ";".join(roles)
        customers = self._read_all("/Customer/GetAll", params, model=Customer, page_size=page_size)
        if self.store_scope.whole_installation:
            return customers
        # Customer/GetAll has no store filter: the pair's own are those registered in its stores.
        live = self.installation_store_ids()
        return Items([c for c in customers if self.store_scope.owns_store_record(c.registered_in_store_id, live)], customers.malformed)

    def registered_customers(self, created_from_utc: datetime | None = None, created_to_utc: datetime | None = None, *,
                             page_size: int | None = None) -> list[Customer]:
        """Customers in the Registered role created in the window. A registration converts the
        visitor's guest record, so `created_on_utc` is the first visit, not the registration: window
        with overlap. Guests (checkouts without an account) are left out."""
        role = self.customer_role_id("Registered")
        return self.customers(created_from_utc=created_from_utc, created_to_utc=created_to_utc, role_ids=[role], page_size=page_size)

    def customers_by_ids(self, ids: Iterable[int], *, chunk_size: int = ID_CHUNK) -> Items[Customer]:
        """`GET Customer/GetCustomersByIds/{a;b;c}` in chunks; deleted and unknown customers are absent
        (core: `GetByIdsAsync(ids, includeDeleted: false)`)."""
        wanted = list(dict.fromkeys(_positive(i) for i in ids))
        found: dict[int, Customer] = {}
        rejected: list[Malformed] = []
        for chunk in _chunks(wanted, chunk_size):
            path = "/Customer/GetCustomersByIds/" + ";".join(str(i) for i in chunk)
            parsed = self._parse_list(Customer, self._get(path), path)
            for customer in parsed:
                found.setdefault(customer.id, customer)
            rejected.extend(parsed.malformed)
        return Items([found[i] for i in wanted if i in found], rejected)

    def customer_roles(self, *, show_hidden: bool = True) -> list[CustomerRole]:
        """`GET CustomerRole/GetAll` (inactive roles too unless `show_hidden` is false)."""
        path = "/CustomerRole/GetAll"
        return self._parse_list(CustomerRole, self._get(path, {"showHidden": "true" if show_hidden else "false"}), path)

    def customer_role_id(self, system_name: str) -> int:
        """The id of the role with this system name (`CustomerRole/GetCustomerRoleBySystemName`),
        cached per client: role ids are installation data, never assumed."""
        with self._cache_lock:
            cached = self._role_ids.get(system_name)
        if cached is not None:
            return cached
        path = "/CustomerRole/GetCustomerRoleBySystemName"
        role = self._parse(CustomerRole, self._get(path, {"systemName": system_name}), path)
        with self._cache_lock:
            self._role_ids[system_name] = role.id
        return role.id

    def customer_role_ids(self, customer_id: int) -> list[int]:
        """`GET CustomerRole/GetCustomerRoleIds/{customerId}?showHidden=true`."""
        path = f"/CustomerRole/GetCustomerRoleIds/{_positive(customer_id)}"
        body = self._get(path, {"showHidden": "true"})
        if not isinstance(body, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in body):
            raise ApiError(self.system, "expected a JSON array of role ids", method="GET", path=path)
        return body

    def update_customer(self, customer_id: int, changes: Mapping[str, Any], *, expected: Mapping[str, Any] | None = None) -> bool:
        """`PUT Customer/Update` (full replace): the customer re-read and written back whole with
        `changes`; False if a property in `expected` changed meanwhile. Customers have no
        UpdatedOnUtc; roles, password and address mappings are not part of the DTO and stay."""
        path = f"/Customer/GetById/{_positive(customer_id)}"
        return self._replace(path, "/Customer/Update", changes, expected) is not None

    def customer_addresses(self, customer_id: int) -> list[Address]:
        """`GET Customer/GetAddressesByCustomerId/{customerId}`: the addresses mapped to the customer."""
        path = f"/Customer/GetAddressesByCustomerId/{_positive(customer_id)}"
        return self._parse_list(Address, self._get(path), path)

    def customer_billing_address(self, customer_id: int) -> Address | None:
        """`GET Customer/GetCustomerBillingAddress/{id}`: None when the customer has none, or when
        its billing address is no longer mapped to it (the plugin answers null)."""
        path = f"/Customer/GetCustomerBillingAddress/{_positive(customer_id)}"
        body = self._get(path)
        return None if body in (None, "") else self._parse(Address, body, path)

    def create_address(self, fields: Mapping[str, Any]) -> Address:
        """`POST Address/Create`: a plain insert that stamps nothing, so `created_on_utc` is sent
        (now) unless given. Attach it to a customer with `attach_address`."""
        body = {name: _wire(value) for name, value in fields.items() if name != "id"}
        body.setdefault("created_on_utc", _wire(self._now()))
        return self._write_entity("/Address/Create", body, Address)

    def update_address(self, address_id: int, changes: Mapping[str, Any], *, expected: Mapping[str, Any] | None = None) -> bool:
        """`PUT Address/Update` (full replace), written back whole with `changes`."""
        path = f"/Address/GetById/{_positive(address_id)}"
        return self._replace(path, "/Address/Update", changes, expected) is not None

    def attach_address(self, customer_id: int, address_id: int) -> None:
        """`GET Customer/InsertCustomerAddress/{customerId}/{addressId}`: maps the address to the
        customer unless it is mapped already, so resending is harmless (retried like a read)."""
        self.request("GET", f"/Customer/InsertCustomerAddress/{_positive(customer_id)}/{_positive(address_id)}", idempotent=True)

    def detach_address(self, customer_id: int, address_id: int) -> None:
        """`GET Customer/RemoveCustomerAddress/{customerId}/{addressId}`: removes the mapping only;
        the customer's billing/shipping address ids are not cleared (core clears them in memory
        and never saves): clear them with `update_customer` when they pointed at this address."""
        self.request("GET", f"/Customer/RemoveCustomerAddress/{_positive(customer_id)}/{_positive(address_id)}", idempotent=True)

    def customer(self, customer_id: int) -> Customer:
        path = f"/Customer/GetById/{_positive(customer_id)}"
        return self._parse(Customer, self._get(path), path)

    def customer_by_email(self, email: str) -> Customer | None:
        """`GET Customer/GetCustomerByEmail?email=`: the first customer with that email, or None."""
        email = (email or "").strip()
        if not email:
            raise ValueError("email is empty")
        path = "/Customer/GetCustomerByEmail"
        try:
            body = self._get(path, {"email": email})
        except NotFoundError:
            return None
        if body is None or body == "":
            return None
        return self._parse(Customer, body, path)

    # ------------------------------------------------------------------------------ catalogue
    def products(self, *, show_hidden: bool = True, store_id: int = 0, page_size: int | None = None) -> list[Product]:
        """`GET Product/GetAll?showHidden=true` over every page (unpublished products included).
        `store_id` keeps the products visible in that store, but only while the shop enforces
        store limitations (CatalogSettings.IgnoreStoreLimitations off; installed on, when every
        product is returned): use `product_store_ids` to know a product's stores for sure."""
        params: dict[str, Any] = {"showHidden": "true" if show_hidden else "false", "storeId": int(store_id)}
        return self._read_all("/Product/GetAll", params, model=Product, page_size=page_size)

    def product(self, product_id: int) -> Product:
        path = f"/Product/GetById/{_positive(product_id)}"
        return self._parse(Product, self._get(path), path)

    def products_by_ids(self, ids: Iterable[int], *, chunk_size: int = ID_CHUNK) -> list[Product]:
        """`GET Product/GetProductsByIds/{a;b;c}` in chunks; unknown and soft-deleted products are
        both absent (core `GetByIdsAsync(productIds, ..., includeDeleted: false)`)."""
        wanted = list(dict.fromkeys(_positive(i) for i in ids))
        found: dict[int, Product] = {}
        for chunk in _chunks(wanted, chunk_size):
            path = "/Product/GetProductsByIds/" + ";".join(str(i) for i in chunk)
            for product in self._parse_list(Product, self._get(path), path):
                found.setdefault(product.id, product)
        return [found[i] for i in wanted if i in found]

    def products_by_sku(self, skus: Iterable[str], *, chunk_size: int = SKU_CHUNK) -> list[Product]:
        """`GET Product/GetProductsBySku?skuArray=a;b` in chunks (by count and URL length). A SKU
        holding `;` cannot be asked for this way (it is the separator): ValueError."""
        wanted: list[str] = []
        for sku in skus:
            sku = (sku or "").strip()
            if not sku:
                continue
            if ";" in sku:
                raise ValueError(f"SKU {sku!r} contains ';', the API's list separator")
            wanted.append(sku)
        wanted = list(dict.fromkeys(wanted))
        found: dict[int, Product] = {}
        path = "/Product/GetProductsBySku"
        for chunk in _chunks_by_length(wanted, chunk_size, MAX_QUERY_CHARS):
            for product in self._parse_list(Product, self._get(path, {"skuArray": ";".join(chunk)}), path):
                found.setdefault(product.id, product)
        return list(found.values())

    def product_warehouse_inventory(self, product_id: int) -> list[ProductWarehouseInventory]:
        path = f"/ProductWarehouse/GetAllProductWarehouseInventoryRecords/{_positive(product_id)}"
        return self._parse_list(ProductWarehouseInventory, self._get(path), path)

    def attribute_combinations(self, product_id: int) -> list[ProductAttributeCombination]:
        path = f"/ProductAttributeCombination/GetAll/{_positive(product_id)}"
        return self._parse_list(ProductAttributeCombination, self._get(path), path)

    # ------------------------------------------------------------------------------ shipping, returns
    def shipments(
        self,
        created_from_utc: datetime | None = None,
        created_to_utc: datetime | None = None,
        *,
        order_id: int = 0,
        page_size: int | None = None,
    ) -> list[Shipment]:
        """`GET Shipment/GetAll` over every page; date bounds as in Order/Search."""
        params: dict[str, Any] = {"orderId": order_id}
        if created_from_utc is not None:
            params["createdFromUtc"] = format_utc(created_from_utc)
        if created_to_utc is not None:
            params["createdToUtc"] = format_utc(created_to_utc)
        return self._read_all("/Shipment/GetAll", params, model=Shipment, page_size=page_size)

    def shipment_items(self, shipment_id: int) -> list[ShipmentItem]:
        path = f"/ShipmentItem/GetByShipmentId/{_positive(shipment_id)}"
        return self._parse_list(ShipmentItem, self._get(path), path)

    def return_requests(
        self,
        created_from_utc: datetime | None = None,
        created_to_utc: datetime | None = None,
        *,
        store_id: int = 0,
        customer_id: int = 0,
        order_item_id: int = 0,
        custom_number: str | None = None,
        status: ReturnRequestStatus | int | None = None,
        page_size: int | None = None,
    ) -> list[ReturnRequest]:
        """`GET ReturnRequest/Search` over every page, newest first (CreatedOnUtc, then id), of
        `store_id` (0: the pair's stores, see `search_orders`). Both date
        bounds are inclusive; `custom_number` matches exactly. There is no UpdatedOnUtc filter: a
        status change is only seen by re-reading (`return_request`) or comparing `updated_on_utc`."""
        params: dict[str, Any] = {"customerId": int(customer_id), "orderItemId": int(order_item_id)}
        if custom_number:
            params["customNumber"] = custom_number
        if status is not None:
            params["rs"] = int(status)
        if created_from_utc is not None:
            params["createdFromUtc"] = format_utc(created_from_utc)
        if created_to_utc is not None:
            params["createdToUtc"] = format_utc(created_to_utc)
        requests_found = self._read_stores("/ReturnRequest/Search", params, store_id, model=ReturnRequest, page_size=page_size)
        if store_id or self.store_scope.whole_installation:
            return requests_found
        return Items(sorted(requests_found, key=lambda r: (r.created_on_utc or EARLIEST, r.id), reverse=True), requests_found.malformed)

    def return_request(self, request_id: int) -> ReturnRequest:
        path = f"/ReturnRequest/GetById/{_positive(request_id)}"
        return self._parse(ReturnRequest, self._get(path), path)

    def update_return_request(self, request_id: int, changes: Mapping[str, Any], *, expected: Mapping[str, Any] | None = None,
                              touch: bool = True) -> bool:
        """`PUT ReturnRequest/Update`: a raw full replace that restocks nothing, sends no e-mail and
        stamps nothing. The DTO is re-read and written back whole with `changes`; with `touch`,
        `updated_on_utc` is set to now as the admin's Edit would (unless `changes` sets it). False
        (nothing written) if a property in `expected` no longer has that value."""
        stamped = dict(changes)
        if touch:
            stamped.setdefault("updated_on_utc", self._now())
        path = f"/ReturnRequest/GetById/{_positive(request_id)}"
        return self._replace(path, "/ReturnRequest/Update", stamped, expected) is not None

    def return_request_reasons(self) -> list[ReturnRequestLookup]:
        """`GET ReturnRequestReason/GetAll` (display order)."""
        path = "/ReturnRequestReason/GetAll"
        return self._parse_list(ReturnRequestLookup, self._get(path), path)

    def return_request_actions(self) -> list[ReturnRequestLookup]:
        """`GET ReturnRequestAction/GetAll` (display order)."""
        path = "/ReturnRequestAction/GetAll"
        return self._parse_list(ReturnRequestLookup, self._get(path), path)

    # ------------------------------------------------------------------------------ stores
    def stores(self) -> list[Store]:
        """`GET Store/GetAll`: the live stores (deleted ones left out), display order."""
        path = "/Store/GetAll"
        return self._parse_list(Store, self._get(path), path)

    def installation_store_ids(self) -> list[int]:
        """The installation's live store ids (`Store/GetAll`, read once per client), after checking
        that every store the pair names is one of them (ConfigurationError otherwise)."""
        with self._cache_lock:
            cached = self._installation_stores
        if cached is None:
            cached = sorted(store.id for store in self.stores())
            self.store_scope.check_installation(cached)
            with self._cache_lock:
                self._installation_stores = cached
        return cached

    def owns_product(self, product: Product, label: str | None = None) -> bool:
        """Whether this pair writes `product` (stock, price, fields): always for the whole
        installation; else by `StoreScope.owns_product` on its store mappings (read when it is
        limited to stores). A product split between pairs raises StoreOwnershipError."""
        if self.store_scope.whole_installation:
            return True
        stores = self.product_store_ids(product.id) if product.limited_to_stores else []
        return self.store_scope.owns_product(label or f"id {product.id}", product.limited_to_stores, stores, self.installation_store_ids())

    def warehouses(self) -> list[Warehouse]:
        """`GET Warehouse/GetAll`: every warehouse (a plain array)."""
        path = "/Warehouse/GetAll"
        return self._parse_list(Warehouse, self._get(path), path)

    def store(self, store_id: int) -> Store:
        path = f"/Store/GetById/{_positive(store_id)}"
        return self._parse(Store, self._get(path), path)

    # ------------------------------------------------------------------------------ lookups
    def countries(self) -> list[Country]:
        """`GET Country/GetAllCountries?showHidden=true` (a plain array), unpublished countries
        included (an old order may ship to one), cached per client."""
        with self._cache_lock:
            if self._countries is None:
                path = "/Country/GetAllCountries"
                self._countries = self._parse_list(Country, self._get(path, {"showHidden": "true"}), path)
            return list(self._countries)

    def country_iso_codes(self) -> dict[int, tuple[str | None, str | None]]:
        """{country_id: (two-letter ISO, three-letter ISO)}."""
        return {c.id: (c.two_letter_iso_code, c.three_letter_iso_code) for c in self.countries()}

    def state_province(self, state_id: int | None) -> StateProvince | None:
        """`GET StateProvince/GetById/{id}`, cached per client: one call per distinct state (an
        address's `state_province_id` is all the order carries). None for no state (0/None) or
        a state deleted since (404)."""
        if not state_id:
            return None
        with self._cache_lock:
            if state_id in self._states:
                return self._states[state_id]
        path = f"/StateProvince/GetById/{_positive(state_id)}"
        try:
            state: StateProvince | None = self._parse(StateProvince, self._get(path), path)
        except NotFoundError:
            log.warning("nopCommerce state/province %d referenced by an address does not exist", state_id)
            state = None
        with self._cache_lock:
            self._states[state_id] = state
        return state

    def state_provinces(self, country_id: int) -> list[StateProvince]:
        """`GET StateProvince/GetStateProvincesByCountryId/{countryId}?showHidden=true` (a plain
        array); each state also fills the by-id cache, so a run reading a country's list first
        looks none up again."""
        path = f"/StateProvince/GetStateProvincesByCountryId/{_positive(country_id)}"
        states = list(self._parse_list(StateProvince, self._get(path, {"showHidden": "true"}), path))
        with self._cache_lock:
            self._states.update({state.id: state for state in states})
        return states

    def state_abbreviation(self, state_id: int | None) -> str | None:
        """The abbreviation (else the name) of an address's state, what the contact validator reads."""
        state = self.state_province(state_id)
        return (state.abbreviation or state.name) if state is not None else None

    # ---- fulfilment writes
    # Creates are POSTs and the OrderProcessing actions are GETs that change state: all are sent
    # with idempotent=False, so an unknown outcome raises OutcomeUnknownError instead of being
    # resent; the caller reads the state back (`shipment`, `shipment_items`, `order`) before
    # deciding anything. A 401 is still answered by one re-authentication and one resend (the
    # request was refused before it did anything).

    def shipment(self, shipment_id: int) -> Shipment:
        """`GET Shipment/GetById/{id}` (the read-back after an unknown Ship or Deliver outcome)."""
        path = f"/Shipment/GetById/{_positive(shipment_id)}"
        return self._parse(Shipment, self._get(path), path)

    def create_shipment(self, order_id: int, *, tracking_number: str, admin_comment: str) -> Shipment:
        """`POST Shipment/Create` -> the new shipment (with its id), not shipped yet. The action is
        a plain insert that stamps nothing, so the body carries `created_on_utc` (now), or the
        shipment would be dated 0001-01-01 and missed by date-window reads."""
        created = datetime.fromtimestamp(self._clock(), timezone.utc)
        body = {"order_id": _positive(order_id), "tracking_number": tracking_number, "admin_comment": admin_comment,
                "created_on_utc": format_utc(created)}
        return self._write_entity("/Shipment/Create", body, Shipment)

    def add_shipment_item(self, shipment_id: int, order_item_id: int, quantity: int, *, warehouse_id: int = 0) -> ShipmentItem:
        """`POST ShipmentItem/Create` -> the new shipment item. The action checks no quantity (a
        plain insert): never shipping more than ordered is the caller's rule
        (`mapping.fulfilment.shipment_lines`)."""
        body = {"shipment_id": _positive(shipment_id), "order_item_id": _positive(order_item_id),
                "quantity": _positive(quantity), "warehouse_id": int(warehouse_id)}
        return self._write_entity("/ShipmentItem/Create", body, ShipmentItem)

    def ship(self, shipment_id: int, *, notify_customer: bool) -> None:
        """`GET OrderProcessing/Ship/{shipmentId}?notifyCustomer=`: sets the shipped date and the
        order's shipping status. A shipment already shipped makes core throw a plain exception,
        answered 500: with the state-changing GET never resent, that surfaces as
        OutcomeUnknownError, and the caller reads the shipment back."""
        self._process(f"/OrderProcessing/Ship/{_positive(shipment_id)}", notify_customer)

    def deliver(self, shipment_id: int, *, notify_customer: bool) -> None:
        """`GET OrderProcessing/Deliver/{shipmentId}?notifyCustomer=` (the shipment must be shipped
        and not delivered; otherwise 500 as for Ship)."""
        self._process(f"/OrderProcessing/Deliver/{_positive(shipment_id)}", notify_customer)

    def cancel_order(self, order_id: int, *, notify_customer: bool) -> None:
        """`GET OrderProcessing/CancelOrder/{orderId}?notifyCustomer=`: status Cancelled, stock given
        back; an order already cancelled is a NopException (400)."""
        self._process(f"/OrderProcessing/CancelOrder/{_positive(order_id)}", notify_customer)

    def _write_entity(self, path: str, body: dict[str, Any], model: type[M]) -> M:
        reply = self.request("POST", path, json_body=body, idempotent=False)
        try:
            return model.model_validate(reply.body)
        except PydanticValidationError as error:
            raise OutcomeUnknownError(self.system, f"unexpected reply shape: {describe(error)}", status=reply.status,
                                      method="POST", path=path) from None

    def _process(self, path: str, notify_customer: bool) -> None:
        """`notifyCustomer` is `[Required]` on Ship, Deliver and CancelOrder: always sent."""
        self.request("GET", path, params={"notifyCustomer": "true" if notify_customer else "false"}, idempotent=False)

    # ---- stock writes
    # Absolute values (Product, ProductWarehouse and ProductAttributeCombination `Update`, PUT) are
    # idempotent and retried by the policy; each full-replace Update re-reads the whole DTO right
    # before it, so no field is reset (notes §7.2), and writes only if the stock is still the
    # value the caller computed from (`expected`): a value that moved meanwhile (a checkout) is
    # left for the caller to recompute, never overwritten from a stale read. `AdjustInventory` is
    # relative, so it is sent with idempotent=False: an unknown outcome raises
    # OutcomeUnknownError instead of being resent.

    def combination_by_sku(self, sku: str) -> ProductAttributeCombination | None:
        """`GET ProductAttributeCombination/GetBySku?sku=`: where a combination SKU's stock lives, or None."""
        path = "/ProductAttributeCombination/GetBySku"
        try:
            return self._parse(ProductAttributeCombination, self._get(path, {"sku": sku}), path)
        except NotFoundError:
            return None

    def update_product_stock(self, product_id: int, stock_quantity: int, *, expected: int) -> bool:
        """`PUT Product/Update` with `stock_quantity` set; False (nothing written) if the product's
        stock is no longer `expected`."""
        path = f"/Product/GetById/{_positive(product_id)}"
        return self._replace_stock(path, "/Product/Update", stock_quantity, expected)

    def update_combination_stock(self, combination_id: int, stock_quantity: int, *, expected: int) -> bool:
        """`PUT ProductAttributeCombination/Update` with `stock_quantity` set; False if the
        combination's stock is no longer `expected`."""
        path = f"/ProductAttributeCombination/GetById/{_positive(combination_id)}"
        return self._replace_stock(path, "/ProductAttributeCombination/Update", stock_quantity, expected)

    def update_warehouse_stock(self, record_id: int, stock_quantity: int, *, expected: int, expected_reserved: int) -> bool:
        """`PUT ProductWarehouse/Update` with `stock_quantity` set (reserved quantity kept); False
        if the record's stock or reservation changed since the caller read it."""
        path = f"/ProductWarehouse/GetById/{_positive(record_id)}"
        return self._replace_stock(path, "/ProductWarehouse/Update", stock_quantity, expected, reserved_quantity=expected_reserved)

    def adjust_inventory(self, product_id: int, quantity_to_change: int, *, message: str, attributes_xml: str = "") -> None:
        """`POST Product/AdjustInventory/{id}?quantityToChange=` (relative; writes stock history).
        Never resent after it may have been applied."""
        path = f"/Product/AdjustInventory/{_positive(product_id)}"
        self.request("POST", path, params={"quantityToChange": int(quantity_to_change), "message": message},
                     json_body=attributes_xml, idempotent=False)

    # ---- catalogue writes
    # Product/Create and ProductAttributeCombination/Create are plain inserts (POST, idempotent=False:
    # a lost reply raises OutcomeUnknownError; look the SKU up before creating again). Updates are
    # full replaces through `_replace`. The API stamps no date: the client sends created_on_utc /
    # updated_on_utc itself, as the shop's admin would stamp them.

    def create_product(self, fields: Mapping[str, Any]) -> Product:
        """`POST Product/Create` -> the new product. Every ProductDto property not in `fields` takes
        its C# default (published false, order_maximum_quantity 0, ...): give each one the shop
        needs. `created_on_utc` and `updated_on_utc` are sent (now) unless given."""
        body = {name: _wire(value) for name, value in fields.items() if name != "id"}
        now = _wire(self._now())
        body.setdefault("created_on_utc", now)
        body.setdefault("updated_on_utc", now)
        return self._write_entity("/Product/Create", body, Product)

    def update_product(self, product_id: int, changes: Mapping[str, Any], *, if_updated_on: datetime | None = None,
                       expected: Mapping[str, Any] | None = None, touch: bool = True) -> Product | None:
        """`PUT Product/Update` (full replace of all ProductDto properties): the product re-read
        and written back whole with `changes`, `updated_on_utc` set to now (the API stamps nothing)
        unless `touch` is false. Returns the product as written, or None (nothing written) when
        it moved since the caller read it: `if_updated_on` no longer its `updated_on_utc` (an
        admin edit stamps it), or a property in `expected` no longer that value."""
        guard = dict(expected or {})
        if if_updated_on is not None:
            guard["updated_on_utc"] = _as_utc(if_updated_on)
        stamped = dict(changes)
        if touch:
            stamped.setdefault("updated_on_utc", self._now())
        path = f"/Product/GetById/{_positive(product_id)}"
        written = self._replace(path, "/Product/Update", stamped, guard)
        return None if written is None else self._parse(Product, written, path)

    def product_fields(self, product_id: int, names: Iterable[str]) -> dict[str, Any]:
        """`GET Product/GetById/{id}`: the named ProductDto properties as the wire has them (JSON
        values), for properties the `Product` model does not carry."""
        path = f"/Product/GetById/{_positive(product_id)}"
        dto = self._get(path)
        if not isinstance(dto, dict):
            raise ApiError(self.system, "reply is not a DTO", method="GET", path=path)
        return {name: dto.get(name) for name in names}

    def product_store_ids(self, product_id: int) -> list[int]:
        """`GET StoreMapping/GetStoresIdsWithAccess/{productId}?entityTypeName=Product`: the stores
        a product is mapped to (it is limited to them when `limited_to_stores` is set)."""
        path = f"/StoreMapping/GetStoresIdsWithAccess/{_positive(product_id)}"
        body = self._get(path, {"entityTypeName": "Product"})
        if not isinstance(body, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in body):
            raise ApiError(self.system, "expected a JSON array of store ids", method="GET", path=path)
        return body

    def set_product_stores(self, product_id: int, store_ids: Iterable[int]) -> None:
        """Limit a product to `store_ids` (none: every store). `Product/UpdateProductStoreMappings`
        sets the mappings (any number of times to the same result, so retried like a read) but
        does not save `limited_to_stores`, so the product is then updated when that flag differs."""
        ids = sorted({_positive(i) for i in store_ids})
        segment = ";".join(str(i) for i in ids) or ";"  # ToIdArray(";") is empty: every mapping removed
        self.request("GET", f"/Product/UpdateProductStoreMappings/{_positive(product_id)}/{segment}", idempotent=True)
        self.update_product(product_id, {"limited_to_stores": bool(ids)}, expected={"limited_to_stores": not ids}, touch=False)

    def create_combination(self, product_id: int, *, sku: str, attributes_xml: str, stock_quantity: int = 0,
                           **fields: Any) -> ProductAttributeCombination:
        """`POST ProductAttributeCombination/Create`: a variant of a product managed by attributes.
        Nothing checks the SKU is unique: look it up (`combination_by_sku`) first."""
        body = {"product_id": _positive(product_id), "sku": sku, "attributes_xml": attributes_xml,
                "stock_quantity": int(stock_quantity), **{name: _wire(value) for name, value in fields.items() if name != "id"}}
        return self._write_entity("/ProductAttributeCombination/Create", body, ProductAttributeCombination)

    def combination(self, combination_id: int) -> ProductAttributeCombination:
        path = f"/ProductAttributeCombination/GetById/{_positive(combination_id)}"
        return self._parse(ProductAttributeCombination, self._get(path), path)

    def update_combination(self, combination_id: int, changes: Mapping[str, Any], *, expected: Mapping[str, Any] | None = None) -> bool:
        """`PUT ProductAttributeCombination/Update` (full replace), written back whole with `changes`."""
        path = f"/ProductAttributeCombination/GetById/{_positive(combination_id)}"
        return self._replace(path, "/ProductAttributeCombination/Update", changes, expected) is not None

    def _replace(self, get_path: str, update_path: str, changes: Mapping[str, Any],
                 expected: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """GET the raw DTO and PUT it back whole with `changes` (JSON values, datetimes and enums
        converted): every property travels as read, unknown ones included, so the full replace
        resets nothing. None (nothing written) when a property in `expected` no longer has that
        value. The PUT is idempotent (the same body twice gives the same row) and retried."""
        dto = self._get(get_path)
        if not isinstance(dto, dict) or "id" not in dto:
            raise ApiError(self.system, "reply is not a DTO", method="GET", path=get_path)
        for name, value in (expected or {}).items():
            if not _same(dto.get(name), value):
                return None
        body = {**dto, **{name: _wire(value) for name, value in changes.items() if name != "id"}}
        self.request("PUT", update_path, json_body=body)
        return body

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), timezone.utc)

    # ---- refunds
    # Refund, RefundOffline, PartiallyRefund and PartiallyRefundOffline are GETs that change state
    # and are not idempotent (a second PartiallyRefund refunds again): sent with idempotent=False,
    # so a reply that may have been lost raises OutcomeUnknownError and nothing is resent; the
    # caller re-reads `order(id).refunded_amount` before deciding anything. A rule that fails is a
    # NopException: 400, ValidationError with core's message. The Can* twins change nothing and
    # are retried like reads. Amounts are Decimals (never floats), positive: core does not refuse
    # a zero or negative partial refund, which would lower RefundedAmount.

    def can_refund(self, order_id: int) -> bool:
        return self._flag(f"/OrderProcessing/CanRefund/{_positive(order_id)}")

    def refund(self, order_id: int) -> list[str]:
        """`GET OrderProcessing/Refund/{id}`: the payment gateway refunds the order total. Returns
        the gateway's errors: empty when refunded; otherwise nothing changed but a note."""
        return self._refund_errors(f"/OrderProcessing/Refund/{_positive(order_id)}", {})

    def can_refund_offline(self, order_id: int) -> bool:
        return self._flag(f"/OrderProcessing/CanRefundOffline/{_positive(order_id)}")

    def refund_offline(self, order_id: int) -> None:
        """`GET OrderProcessing/RefundOffline/{id}`: marks the whole total refunded (money moved elsewhere)."""
        self.request("GET", f"/OrderProcessing/RefundOffline/{_positive(order_id)}", idempotent=False)

    def can_partially_refund(self, order_id: int, amount: Decimal) -> bool:
        return self._flag(f"/OrderProcessing/CanPartiallyRefund/{_positive(order_id)}", {"amountToRefund": _amount(amount)})

    def partially_refund(self, order_id: int, amount: Decimal) -> list[str]:
        """`GET OrderProcessing/PartiallyRefund/{id}?amountToRefund=`: the gateway refunds `amount`;
        returns its errors (empty when refunded)."""
        return self._refund_errors(f"/OrderProcessing/PartiallyRefund/{_positive(order_id)}", {"amountToRefund": _amount(amount)})

    def can_partially_refund_offline(self, order_id: int, amount: Decimal) -> bool:
        return self._flag(f"/OrderProcessing/CanPartiallyRefundOffline/{_positive(order_id)}", {"amountToRefund": _amount(amount)})

    def partially_refund_offline(self, order_id: int, amount: Decimal) -> None:
        """`GET OrderProcessing/PartiallyRefundOffline/{id}?amountToRefund=`: marks `amount` refunded."""
        self.request("GET", f"/OrderProcessing/PartiallyRefundOffline/{_positive(order_id)}", params={"amountToRefund": _amount(amount)},
                     idempotent=False)

    def _flag(self, path: str, params: dict[str, Any] | None = None) -> bool:
        body = self._get(path, params)
        if not isinstance(body, bool):
            raise ApiError(self.system, f"expected true or false, got {type(body).__name__}", method="GET", path=path)
        return body

    def _refund_errors(self, path: str, params: dict[str, Any]) -> list[str]:
        reply = self.request("GET", path, params=params or None, idempotent=False)
        body = reply.body
        if not isinstance(body, list) or not all(isinstance(e, str) for e in body):
            raise OutcomeUnknownError(self.system, "refund reply is not a list of errors: the refund may have been made",
                                      status=reply.status, method="GET", path=path)
        return [self._scrub(e) for e in body]

    def _replace_stock(self, get_path: str, update_path: str, stock_quantity: int, expected: int, **also_expected: int) -> bool:
        """GET the raw DTO, PUT it back whole with the new stock: `Update` maps the body onto a new
        entity, so every property must travel, including ones this client does not model."""
        dto = self._get(get_path)
        if not isinstance(dto, dict) or "stock_quantity" not in dto:
            raise ApiError(self.system, "reply has no stock_quantity", method="GET", path=get_path)
        if any(dto.get(name) != value for name, value in {"stock_quantity": expected, **also_expected}.items()):
            return False
        self.request("PUT", update_path, json_body={**dto, "stock_quantity": int(stock_quantity)})
        return True


# ---------------------------------------------------------------------------------------------
# helpers


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """The JWT's payload claims, decoded WITHOUT verifying the signature (only to read `exp`).
    Anything unreadable gives {}."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _as_utc(value: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def format_utc(value: datetime) -> str:
    """A naive UTC ISO string without `Z`, as the API's `*Utc` query parameters expect
    (`2024-06-01T00:00:00`, microseconds only when set). Naive input is taken as UTC."""
    return _as_utc(value).replace(tzinfo=None).isoformat()


def _positive(value: int) -> int:
    number = int(value)
    if number <= 0 or number != value:
        raise ValueError(f"ids are positive integers, got {value!r}")
    return number


def _amount(value: Decimal | int) -> str:
    """A refund amount as the query string carries it: exact (a Decimal or an int, never a float),
    positive, invariant culture without exponent (`12.50`)."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"amounts are Decimal or int, not {type(value).__name__}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"refund amounts must be positive, got {value!r}")
    return format(amount, "f")


def _wire(value: Any) -> Any:
    """A value as the plugin's JSON expects it: datetimes as naive UTC strings, enums as ints."""
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, IntEnum):
        return int(value)
    return value


def _same(sent: Any, wanted: Any) -> bool:
    """Whether a raw DTO value equals what the caller expects (datetimes compared as instants,
    numbers by value)."""
    if isinstance(wanted, datetime):
        try:
            return parse_utc(sent) == _as_utc(wanted)
        except (TypeError, ValueError):
            return False
    if isinstance(wanted, IntEnum):
        wanted = int(wanted)
    if isinstance(wanted, bool) or isinstance(sent, bool):
        return sent is wanted
    return sent == wanted


def _chunks(values: list, size: int) -> Iterator[list]:
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _chunks_by_length(values: list[str], size: int, max_chars: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    length = 0
    for value in values:
        if chunk and (len(chunk) >= size or length + 1 + len(value) > max_chars):
            yield chunk
            chunk, length = [], 0
        chunk.append(value)
        length += len(value) + 1
    if chunk:
        yield chunk


def _retry_after(response: requests.Response) -> float:
    wait = server_wait(response.headers.get("Retry-After"))
    return 1.0 if wait is None else wait


def _report_progress(futures: list[Future], on_progress: Callable[[int, int], None]) -> None:
    """Call `on_progress(done, total)` as each future completes (from whichever thread ends it)."""
    lock = threading.Lock()
    done = [0]
    total = len(futures)

    def completed(_: Future) -> None:
        with lock:
            done[0] += 1
            count = done[0]
        on_progress(count, total)

    for future in futures:
        future.add_done_callback(completed)
