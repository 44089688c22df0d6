"""NopCommerceClient over real HTTP against the nopCommerce simulator (fixture `sandbox`).

Request counts come from the sandbox's own statistics (`GET /__sandbox__/stats`), so each test
checks what actually reached the server, not what the client believes it sent.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from bp_nop_dagster.nopcommerce.client import ABSENT_FROM_GET_BY_IDS, NopCommerceClient, decode_jwt_claims, format_utc
from bp_nop_dagster.nopcommerce.models import Order
from bp_nop_dagster.sandbox.generator import default_anchor
from bp_nop_dagster_tests.ledger.clock import Clock
from bp_nop_dagster.transport.errors import AuthError, ConfigurationError, NotFoundError, TransientError, ValidationError
from bp_nop_dagster.transport.retry import RetrySettings
from bp_nop_dagster.transport.parsing import Items

UTC = timezone.utc
# Days the seeded shop has no orders on: its history is the 35 days before today (UTC), so tests
# that place their own orders and read a window put them a month after today (never a fixed year,
# which the seeded history would one day reach).
QUIET_DAY = default_anchor().replace(tzinfo=None) + timedelta(days=30)


def quiet(days: int = 0, at: str = "00:00:00") -> str:
    """The naive UTC timestamp `at` on the quiet day plus `days`, as the control API takes it."""
    return f"{(QUIET_DAY + timedelta(days=days)).date().isoformat()}T{at}"


def quiet_dt(days: int = 0, *time_fields: int, tzinfo=None) -> datetime:
    """datetime(quiet day + `days`, *time_fields)."""
    day = QUIET_DAY + timedelta(days=days)
    return datetime(day.year, day.month, day.day, *time_fields, tzinfo=tzinfo)


FAST_RETRY = RetrySettings(max_attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.0)
SECRET_PASSWORD = "Zz-very-secret-Pa55word!"


# ------------------------------------------------------------------------------------------------
# helpers


def control(sandbox, method: str, path: str, body=None) -> dict:
    response = requests.request(method, f"{sandbox.urls.nopcommerce_root}/__sandbox__{path}", json=body, timeout=30)
    assert response.status_code < 300, response.text
    return response.json() if response.content else {}


def stats(sandbox) -> dict:
    return control(sandbox, "GET", "/stats")


def count(sandbox, key: str) -> int:
    return stats(sandbox)["requests"].get(key, 0)


def status_count(sandbox, status: int) -> int:
    return stats(sandbox)["by_status"].get(str(status), 0)


def clear_stats(sandbox) -> None:
    control(sandbox, "DELETE", "/stats")


def faults(sandbox, *rules: dict) -> None:
    control(sandbox, "PUT", "/faults", {"rules": list(rules), "seed": 1})


def make_client(sandbox, *, email=None, password=None, session=None, **kwargs) -> NopCommerceClient:
    creds = sandbox.world.credentials
    kwargs.setdefault("retry", FAST_RETRY)
    return NopCommerceClient(
        sandbox.urls.nopcommerce_base_url,
        email or creds.nopcommerce_email,
        password or creds.nopcommerce_password,
        session=session,
        **kwargs,
    )


@pytest.fixture
def client(sandbox):
    with make_client(sandbox) as nop:
        yield nop


def clean_sku(sandbox) -> str:
    with make_client(sandbox) as nop:
        return next(p.sku for p in nop.products() if p.sku and p.sku == p.sku.strip() and p.manage_inventory_method_id == 1)


def place_order(sandbox, created: str, *, sku: str, email: str = "window@shop.test") -> int:
    body = {"email": email, "first_name": "Win", "last_name": "Dow",
            "address": {"address1": "1 Road", "city": "Leeds", "zip_postal_code": "LS1 1AA", "country_iso2": "GB"},
            "items": [{"sku": sku, "quantity": 1}], "payment_method_system_name": "Payments.CheckMoneyOrder", "paid": False,
            "created_on_utc": created}
    return control(sandbox, "POST", "/orders", body)["id"]


class CountingSession(requests.Session):
    """A real session that records how many requests are in flight at once, and what was sent."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.sent.append(request)
        try:
            return super().send(request, **kwargs)
        finally:
            with self._lock:
                self.in_flight -= 1


# ------------------------------------------------------------------------------------------------
# authentication


def test_get_token_then_bearer(sandbox):
    """FIDELITY 'POST /Authenticate/GetToken' (WAPI AuthenticateController.cs: {username, email, password} ->
    JWT) and FIDELITY 'JWT auth' (claims CustomerId, exp); RULE: one token per client, countries read once per
    client."""
    session = CountingSession()
    with make_client(sandbox, session=session) as nop:
        countries = nop.countries()
        nop.countries()  # cached per client
    assert countries
    token_request, read = session.sent
    assert token_request.method == "POST" and token_request.url.endswith("/api-backend/Authenticate/GetToken")
    assert "Authorization" not in token_request.headers
    assert json.loads(token_request.body) == {"username": "", "email": "admin@sandbox.test", "password": "sandbox"}
    assert read.headers["Authorization"].startswith("Bearer ")
    claims = decode_jwt_claims(read.headers["Authorization"].split(" ", 1)[1])
    assert claims["CustomerId"] == "1" and claims["exp"] > time.time()
    snapshot = stats(sandbox)["requests"]
    assert snapshot == {"POST /Authenticate/GetToken": 1, "GET /Country/GetAllCountries": 1}
    assert nop.call_count == 2 and nop.token_fetches == 1


def test_token_renewed_before_expiry(sandbox):
    """FIDELITY 'JWT auth' (WAPI JwtMiddleware.cs: nbf / exp checked with ClockSkew 0). One fake clock for the
    simulator and the client: RULE: 3.2 s after a 4 s token was issued, the client is within its 1 s margin
    and renews first."""
    clock = Clock(datetime.now(UTC).replace(microsecond=0))  # whole seconds, as nbf and exp are
    sandbox.world.nopcommerce.clock = lambda: clock().replace(tzinfo=None)  # the simulator's naive UTC
    control(sandbox, "PUT", "/token-lifetime", {"seconds": 4})
    with make_client(sandbox, token_renew_margin=1.0, clock=lambda: clock().timestamp()) as nop:
        nop.order(1)
        nop.order(1)
        assert nop.token_fetches == 1
        clock.advance(2.9)  # 1.1 s before exp: not yet
        nop.order(1)
        assert nop.token_fetches == 1
        clock.advance(0.3)  # 0.8 s before exp: within the margin, renew before sending
        nop.order(1)
        assert nop.token_fetches == 2
    assert count(sandbox, "POST /Authenticate/GetToken") == 2
    assert status_count(sandbox, 401) == 0  # renewed proactively, never refused


def test_token_renewal_margin_is_capped_by_lifetime():
    """FIDELITY 'JWT auth' (WAPI JwtMiddleware.cs: nbf / exp claims, 7-day lifetime, no refresh token); RULE:
    renew `margin` before exp, at half-life for a token shorter than twice the margin, only on a 401 without
    exp."""
    def token(claims: dict) -> str:
        encode = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
        return f"{encode({'alg': 'HS256'})}.{encode(claims)}.sig"

    nop = NopCommerceClient("http://127.0.0.1:9/api-backend", "a@b.test", "pw", token_renew_margin=60)
    assert nop._renew_at(token({"nbf": 1000, "exp": 1000 + 7 * 86400})) == 1000 + 7 * 86400 - 60
    assert nop._renew_at(token({"nbf": 1000, "exp": 1010})) == 1005  # a 10 s token: renew at half-life
    assert nop._renew_at(token({"nbf": 1000})) == float("inf")  # no exp: renew only on 401
    assert decode_jwt_claims("not-a-jwt") == {}


def test_401_mid_read_reauthenticates_once(sandbox, client):
    """FIDELITY '401 body' (WAPI AuthorizeAttribute.cs: an expired token is 401) and 'JWT auth' (no refresh
    token: GetToken again); RULE: one new token, the refused page resent once."""
    total = len(client.search_orders())
    assert total > 20
    clear_stats(sandbox)

    session = requests.Session()
    expired = []

    def expire_after_first_page(response, *args, **kwargs):
        if "/Order/Search" in response.url and "pageIndex=0" in response.url and not expired:
            expired.append(True)
            control(sandbox, "POST", "/expire-tokens")

    session.hooks["response"].append(expire_after_first_page)
    with make_client(sandbox, session=session) as nop:
        orders = nop.search_orders(page_size=10)
        assert nop.token_fetches == 2
    assert len(orders) == total == len({o.id for o in orders})
    pages = -(-total // 10)
    assert count(sandbox, "POST /Authenticate/GetToken") == 2  # exactly one extra GetToken
    assert count(sandbox, "GET /Order/Search") == pages + 1  # the refused page was sent twice
    assert status_count(sandbox, 401) == 1


def test_concurrent_401s_share_one_renewal(sandbox, client):
    """FIDELITY '401 body' (WAPI AuthorizeAttribute.cs); RULE: threads refused at once share one GetToken."""
    orders = client.search_orders()[:24]
    client.order(1)
    control(sandbox, "POST", "/expire-tokens")
    clear_stats(sandbox)
    faults(sandbox, {"method": "GET", "path": "/OrderItem/*", "latency_ms": 50})
    details = client.orders_with_details(orders, max_concurrency=8)
    assert len(details) == 24
    assert count(sandbox, "POST /Authenticate/GetToken") == 1  # 8 threads refused at once, one new token
    assert status_count(sandbox, 401) >= 2


def test_bad_credentials_raise_auth_error_without_the_password(sandbox, caplog):
    """FIDELITY 'POST /Authenticate/GetToken' (WAPI AuthenticateController.cs: 401 'Username or password is
    incorrect'); RULE: not retried, the password in no error, log or repr."""
    caplog.set_level(logging.DEBUG)
    with make_client(sandbox, password=SECRET_PASSWORD) as nop:
        with pytest.raises(AuthError) as raised:
            nop.search_orders()
        assert SECRET_PASSWORD not in repr(nop)
    error = raised.value
    assert error.status == 401 and "incorrect" in str(error)
    assert SECRET_PASSWORD not in str(error) and SECRET_PASSWORD not in repr(error)
    assert SECRET_PASSWORD not in caplog.text
    assert SECRET_PASSWORD not in str(error.__context__) and SECRET_PASSWORD not in str(error.__cause__)
    assert count(sandbox, "POST /Authenticate/GetToken") == 1  # not retried
    assert count(sandbox, "GET /Order/Search") == 0


def test_clerk_without_api_permission_gets_auth_error(sandbox):
    """FIDELITY '403 body' (WAPI CheckAccessWebApiAttribute.cs: a customer without 'Access Web API Backend' gets
    403); RULE: an AuthError naming the permission, not retried."""
    with make_client(sandbox, email="clerk@sandbox.test", password="sandbox") as nop:
        with pytest.raises(AuthError) as raised:
            nop.search_orders()
    assert raised.value.status == 403
    assert "Access Web API Backend" in str(raised.value)
    assert count(sandbox, "GET /Order/Search") == 1  # not retried


@pytest.mark.parametrize(
    "url",
    ["http://shop.example.com/api-backend", "ftp://shop.example.com/api-backend", "shop.example.com/api-backend",
     "https://user:pw@shop.example.com/api-backend"],
)
def test_base_url_must_be_https_unless_loopback(url):
    """RULE (transport): credentials only over https, plain http only to a loopback host; no user info in the
    URL."""
    with pytest.raises(ConfigurationError):
        NopCommerceClient(url, "a@b.test", "pw")


@pytest.mark.parametrize("url", ["https://shop.example.com/api-backend", "http://127.0.0.1:8080/api-backend",
                                 "http://localhost/api-backend", "http://[::1]:80/api-backend"])
def test_https_or_loopback_accepted(url):
    """RULE (transport): https, or http to a loopback host (IPv4, IPv6, localhost), kept without the trailing
    slash."""
    assert NopCommerceClient(url, "a@b.test", "pw").base_url == url.rstrip("/")


@pytest.mark.parametrize(("kwargs", "word"), [({"email": ""}, "email"), ({"password": ""}, "password"),
                                              ({"page_size": 0}, "page_size"), ({"max_concurrency": 0}, "max_concurrency")])
def test_bad_settings(kwargs, word):
    """RULE: a configuration error names the setting (email, password, page_size, max_concurrency)."""
    args = {"email": "a@b.test", "password": "pw", **kwargs}
    with pytest.raises(ConfigurationError, match=word):
        NopCommerceClient("https://shop.example.com/api-backend", args.pop("email"), args.pop("password"), **args)


# ------------------------------------------------------------------------------------------------
# paging


def test_paging_empty_result(sandbox, client):
    """FIDELITY '0-based paging' (WAPI PagedListDto.cs: total_count 0, has_next_page false): one request."""
    client.order(1)  # token first
    clear_stats(sandbox)
    assert client.orders_created_between(datetime(1990, 1, 1), datetime(1990, 12, 31)) == []
    assert count(sandbox, "GET /Order/Search") == 1


@pytest.fixture
def six_orders(sandbox):
    """Six orders an hour apart on the quiet day, 00:00 to 05:00 UTC."""
    sku = clean_sku(sandbox)
    return [place_order(sandbox, quiet(0, f"0{h}:00:00"), sku=sku) for h in range(6)]


@pytest.mark.parametrize(("page_size", "requests_expected"), [(6, 1), (250, 1), (3, 2), (4, 2), (5, 2), (1, 6)])
def test_paging_request_counts(sandbox, client, six_orders, page_size, requests_expected):
    """FIDELITY '0-based paging' (WAPI PagedListDto.cs; CORE PagedList.cs: has_next_page) and FIDELITY 'GET
    /Order/Search' (CreatedOnUtc DESC): six orders at page size n are ceil(6 / n) requests; RULE: the client
    returns them oldest first."""
    client.order(1)
    clear_stats(sandbox)
    orders = client.orders_created_between(quiet_dt(0), quiet_dt(0, 23, 59, 59), page_size=page_size)
    assert [o.id for o in orders] == six_orders  # oldest first, despite the server's newest-first sort
    assert count(sandbox, "GET /Order/Search") == requests_expected


def test_every_list_read_sends_page_size(sandbox):
    """NOTES §5 (nopcommerce-api.md: pageSize has no maximum and defaults to int.MaxValue, so always send it);
    FIDELITY '0-based paging'."""
    session = CountingSession()
    with make_client(sandbox, session=session, page_size=7) as nop:
        nop.search_orders()
        nop.customers()
        nop.products()
        nop.shipments()
        nop.return_requests()
    list_reads = [r for r in session.sent if "pageIndex=" in r.url]
    assert {r.path_url.split("?")[0].split("/api-backend")[1] for r in list_reads} == {
        "/Order/Search", "/Customer/GetAll", "/Product/GetAll", "/Shipment/GetAll", "/ReturnRequest/Search"}
    assert all("pageSize=7" in r.url for r in list_reads)


def test_total_changing_between_pages_rereads(sandbox):
    """FIDELITY 'soft deletes' (CORE: searches leave deleted orders out, so later pages shift) and 'GET
    /Order/Search' (CreatedOnUtc DESC); RULE: a total_count that changes between pages restarts the walk."""
    sku = clean_sku(sandbox)
    ids = [place_order(sandbox, quiet(1, f"0{h}:00:00"), sku=sku) for h in range(6)]
    session = requests.Session()
    deleted = []

    def delete_after_first_page(response, *args, **kwargs):
        if "/Order/Search" in response.url and "pageIndex=0" in response.url and not deleted:
            deleted.append(ids[-1])  # the newest: on page 0, so every later row moves up one place
            control(sandbox, "POST", f"/orders/{ids[-1]}/delete")

    session.hooks["response"].append(delete_after_first_page)
    with make_client(sandbox, session=session) as nop:
        orders = nop.orders_created_between(quiet_dt(1), quiet_dt(1, 23), page_size=2)
    assert [o.id for o in orders] == ids[:-1]  # nothing skipped, the deleted one gone


# ------------------------------------------------------------------------------------------------
# orders


def test_closed_window_includes_both_ends(sandbox, client):
    """FIDELITY 'GET /Order/Search' (CORE OrderService.SearchOrdersAsync: createdFromUtc <= CreatedOnUtc <=
    createdToUtc) and 'datetimes' (naive UTC); RULE: aware bounds are converted to UTC, from > to is refused."""
    sku = clean_sku(sandbox)
    before = place_order(sandbox, quiet(-1, "23:59:59"), sku=sku)
    start = place_order(sandbox, quiet(0, "00:00:00"), sku=sku)
    middle = place_order(sandbox, quiet(0, "12:00:00.250"), sku=sku)
    end = place_order(sandbox, quiet(1, "00:00:00"), sku=sku)
    after = place_order(sandbox, quiet(1, "00:00:01"), sku=sku)
    got = client.orders_created_between(quiet_dt(0), quiet_dt(1))
    assert [o.id for o in got] == [start, middle, end]
    assert before not in {o.id for o in got} and after not in {o.id for o in got}
    # aware bounds in another zone mean the same instants
    plus_one = timezone(timedelta(hours=1))
    aware = client.orders_created_between(quiet_dt(0, 1, tzinfo=plus_one), quiet_dt(1, 1, tzinfo=plus_one))
    assert [o.id for o in aware] == [start, middle, end]
    assert got[1].created_on_utc == quiet_dt(0, 12, 0, 0, 250000, tzinfo=UTC)
    with pytest.raises(ValueError):
        client.orders_created_between(quiet_dt(1), quiet_dt(0))


def test_window_parameters_are_naive_utc_strings(sandbox):
    """FIDELITY 'datetimes' (notes §7.4: naive UTC ISO 8601 without Z, Newtonsoft's default)."""
    session = CountingSession()
    with make_client(sandbox, session=session) as nop:
        nop.orders_created_between(datetime(2021, 6, 1, 2, tzinfo=timezone(timedelta(hours=2))), datetime(2021, 6, 1, 23, 59, 59))
    search = next(r for r in session.sent if "/Order/Search" in r.url)
    assert "createdFromUtc=2021-06-01T00%3A00%3A00&" in search.url
    assert "createdToUtc=2021-06-01T23%3A59%3A59&" in search.url
    assert format_utc(datetime(2021, 6, 1, 0, 0, 0, 5000)) == "2021-06-01T00:00:00.005000"


def test_deleted_orders_absent_from_search_and_get_by_ids_but_returned_by_get_by_id(sandbox, client):
    """CORE OrderService: SearchOrdersAsync excludes deleted orders, GetOrdersByIdsAsync calls
    GetByIdsAsync(orderIds, includeDeleted: false), GetOrderByIdAsync includes them (notes,
    corrections). `lookup_orders` confirms each id GetByIds leaves out with GetById."""
    sku = clean_sku(sandbox)
    kept = place_order(sandbox, quiet(2, "10:00:00"), sku=sku)
    gone = place_order(sandbox, quiet(2, "11:00:00"), sku=sku)
    control(sandbox, "POST", f"/orders/{gone}/delete")
    found = client.orders_created_between(quiet_dt(2), quiet_dt(3))
    assert [o.id for o in found] == [kept]
    by_ids = client.orders_by_ids([gone, kept, 999_999, gone])
    assert [(o.id, o.deleted) for o in by_ids] == [(kept, False)]
    assert client.order(gone).deleted is True
    lookup = client.lookup_orders([gone, kept, 999_999])
    assert list(lookup.found) == [kept]
    assert lookup.absent == {gone: f"{ABSENT_FROM_GET_BY_IDS}: Order/GetById says deleted",
                             999_999: f"{ABSENT_FROM_GET_BY_IDS}: Order/GetById answers 404"}


def test_lookup_orders_keeps_an_order_only_get_by_id_returns(client, monkeypatch):
    """RULE: one short Order/GetByIds reply must not make a live order look gone: GetById settles it
    (FIDELITY 'soft deletes': only GetById tells deleted from absent)."""
    live = client.search_orders()[0].id
    monkeypatch.setattr(client, "orders_by_ids", lambda ids, chunk_size=100: Items())  # a reply that left it out
    lookup = client.lookup_orders([live])
    assert list(lookup.found) == [live] and lookup.absent == {}


def test_orders_by_ids_chunks(sandbox, client):
    """FIDELITY 'GET /Order/GetByIds/{ids}' (WAPI OrderController.cs GetByIds: ';'-separated, in the order
    asked); RULE: chunks of chunk_size, 7 ids at 3 = 3 requests."""
    ids = [o.id for o in client.search_orders()[:7]]
    clear_stats(sandbox)
    got = client.orders_by_ids(ids, chunk_size=3)
    assert [o.id for o in got] == ids
    assert count(sandbox, "GET /Order/GetByIds/{ids}") == 3


def test_orders_with_details_bounded_concurrency(sandbox):
    """FIDELITY 'GET /OrderItem/GetOrderItems/{orderId}' and 'GET /Address/GetById/{id}' (WAPI controllers);
    RULE: at most max_concurrency requests in flight, each distinct address read once."""
    session = CountingSession()
    with make_client(sandbox, session=session, max_concurrency=3) as nop:
        orders = nop.search_orders()[:12]
        # two orders share a billing address: it is read once
        orders[1] = orders[1].model_copy(update={"billing_address_id": orders[0].billing_address_id})
        distinct_addresses = {a for o in orders for a in o.address_ids}
        clear_stats(sandbox)
        session.max_in_flight = 0
        faults(sandbox, {"method": "GET", "path": "/OrderItem/GetOrderItems/*", "latency_ms": 150},
               {"method": "GET", "path": "/Address/GetById/*", "latency_ms": 150})
        started = time.monotonic()
        details = nop.orders_with_details(orders)
        elapsed = time.monotonic() - started
    assert session.max_in_flight == 3  # concurrent, and never more than asked
    reads = 12 + len(distinct_addresses)
    assert elapsed >= (reads / 3) * 0.15 * 0.9
    assert count(sandbox, "GET /OrderItem/GetOrderItems/{orderId}") == 12
    assert count(sandbox, "GET /Address/GetById/{id}") == len(distinct_addresses)
    assert [d.order.id for d in details] == [o.id for o in orders]
    for detail in details:
        assert detail.items and all(i.order_id == detail.order.id for i in detail.items)
        assert detail.billing_address is not None and detail.billing_address.id == detail.order.billing_address_id
        if detail.order.shipping_address_id:
            assert detail.shipping_address.id == detail.order.shipping_address_id


def test_orders_with_details_default_concurrency_is_eight(sandbox):
    """RULE: the client's default concurrency is 8 (the plugin has no rate limit, FIDELITY 'rate limits')."""
    session = CountingSession()
    with make_client(sandbox, session=session) as nop:
        orders = nop.search_orders()[:20]
        faults(sandbox, {"method": "GET", "path": "/OrderItem/GetOrderItems/*", "latency_ms": 100})
        session.max_in_flight = 0
        nop.orders_with_details(orders)
    assert session.max_in_flight == 8


def test_orders_with_details_duplicates_and_empty(sandbox, client):
    """RULE: the same order twice is read once (WAPI OrderItemController.cs GetOrderItems, AddressController.cs
    GetById are the reads)."""
    assert client.orders_with_details([]) == []
    order = client.search_orders()[0]
    clear_stats(sandbox)
    details = client.orders_with_details([order, order])
    assert len(details) == 2 and details[0] == details[1]
    assert count(sandbox, "GET /OrderItem/GetOrderItems/{orderId}") == 1
    assert count(sandbox, "GET /Address/GetById/{id}") == len(order.address_ids)


def test_orders_with_details_raises_after_retries(sandbox, client):
    """RULE (transport/retry.py): a read failing with 500 on every attempt is a TransientError (injected
    faults)."""
    orders = client.search_orders()[:4]
    faults(sandbox, {"method": "GET", "path": "/OrderItem/*", "error_rate": 1.0, "error_status": 500})
    with pytest.raises(TransientError):
        client.orders_with_details(orders)


# ------------------------------------------------------------------------------------------------
# faults and errors


def test_500s_are_retried(sandbox, client):
    """FIDELITY 'exception bodies' (WAPI ErrorHandlerMiddleware.cs: an unexpected exception is 500); RULE: an
    idempotent read is resent after a 5xx (injected)."""
    client.order(1)
    faults(sandbox, {"method": "GET", "path": "/Order/Search*", "error_rate": 1.0, "error_status": 500, "max_hits": 2})
    clear_stats(sandbox)
    assert client.search_orders()
    assert count(sandbox, "GET /Order/Search") == 3
    assert status_count(sandbox, 500) == 2


def test_502_html_reply_is_retried(sandbox, client):
    """RULE (transport/retry.py): a proxy's 502 HTML page (not JSON) on a GET is resent (injected lost reply)."""
    client.order(1)
    faults(sandbox, {"method": "GET", "path": "/Order/GetById/*", "drop_reply_rate": 1.0, "drop_reply_mode": "502", "max_hits": 1})
    assert client.order(1).id == 1


def test_timeouts_are_retried(sandbox):
    """RULE (transport/retry.py): a GET whose reply is lost (read timeout) is resent (RFC 9110 §9.2.1;
    injected)."""
    with make_client(sandbox, read_timeout=0.5) as nop:
        nop.order(1)
        faults(sandbox, {"method": "GET", "path": "/Order/GetById/*", "drop_reply_rate": 1.0, "drop_reply_mode": "timeout",
                         "drop_reply_hold_seconds": 2, "max_hits": 1})
        clear_stats(sandbox)
        assert nop.order(1).id == 1
    assert count(sandbox, "GET /Order/GetById/{id}") == 2


def test_malformed_json_is_retried(sandbox, client):
    """RULE (transport/retry.py): an unreadable reply to a GET is resent (injected)."""
    client.order(1)
    faults(sandbox, {"method": "GET", "path": "/Order/Search*", "malformed_rate": 1.0, "max_hits": 1})
    clear_stats(sandbox)
    assert client.search_orders()
    assert count(sandbox, "GET /Order/Search") == 2


def test_persistent_5xx_gives_up_after_max_attempts(sandbox, client):
    """RULE (transport/retry.py): 503 on every attempt is a TransientError after max_attempts (injected)."""
    client.order(1)
    faults(sandbox, {"method": "GET", "path": "/Order/GetById/*", "error_rate": 1.0, "error_status": 503})
    clear_stats(sandbox)
    with pytest.raises(TransientError) as raised:
        client.order(1)
    assert raised.value.status == 503
    assert count(sandbox, "GET /Order/GetById/{id}") == FAST_RETRY.max_attempts


def test_400_empty_body_not_retried(sandbox, client):
    """FIDELITY 'GET /Order/GetById/{id}' (WAPI OrderController.cs GetById: id <= 0 is a 400 with an empty
    body); RULE: a 400 is a ValidationError named by its status, sent once."""
    client.order(1)
    clear_stats(sandbox)
    with pytest.raises(ValidationError) as raised:
        client.request("GET", "/Order/GetById/0")
    assert raised.value.code == "400" and raised.value.status == 400
    assert count(sandbox, "GET /Order/GetById/{id}") == 1


def test_400_problem_details_not_retried(sandbox, client):
    """FIDELITY 'model binding' (WAPI BaseNopWebApiController.cs [ApiController]: an unconvertible value is one
    ProblemDetails 400) and 'ProblemDetails shape' (title 'One or more validation errors occurred.', errors by
    field); RULE: sent once."""
    client.order(1)
    clear_stats(sandbox)
    with pytest.raises(ValidationError) as raised:
        client.request("GET", "/Order/Search", params={"createdFromUtc": "not-a-date", "pageSize": 1})
    assert raised.value.code == "One or more validation errors occurred."
    assert "createdFromUtc" in raised.value.server_message
    assert count(sandbox, "GET /Order/Search") == 1


def test_400_nop_exception_message(sandbox, client):
    """FIDELITY 'exception bodies' (WAPI ErrorHandlerMiddleware.cs: a NopException is 400 {message, ...}); RULE:
    the server's message is kept, sent once. The 400 is injected."""
    client.order(1)
    faults(sandbox, {"method": "GET", "path": "/Order/GetById/*", "error_rate": 1.0, "error_status": 400})
    clear_stats(sandbox)
    with pytest.raises(ValidationError) as raised:
        client.order(1)
    assert raised.value.server_message == "Injected fault"
    assert count(sandbox, "GET /Order/GetById/{id}") == 1


def test_404_is_not_found(sandbox, client):
    """FIDELITY 'GET /Order/GetById/{id}' (404 'Order Id={id} not found'), 'GET /Shipment/GetById/{id}' and 'GET
    /OrderItem/GetOrderItems/{orderId}' (an unknown order has no items: 200 []); RULE: a 404 is sent once."""
    client.order(1)
    clear_stats(sandbox)
    with pytest.raises(NotFoundError) as raised:
        client.order(999_999)
    assert "Order Id=999999 not found" in str(raised.value)
    assert count(sandbox, "GET /Order/GetById/{id}") == 1
    with pytest.raises(NotFoundError):
        client.shipment(999_999)
    # WAPI OrderItemController.GetOrderItems answers the items of an unknown order: none (no 404)
    assert client.order_items(999_999) == []


# ------------------------------------------------------------------------------------------------
# the other reads


def test_customers(sandbox, client):
    """FIDELITY 'GET /Customer/GetAll' (WAPI CustomerController.cs GetAll: paged, email filter) and 'GET
    /Customer/GetCustomerByEmail' (case-insensitive; 404 for none, which the client answers None)."""
    everyone = client.customers(page_size=7)
    assert len(everyone) == len({c.id for c in everyone}) > 7
    admin = client.customer_by_email("ADMIN@sandbox.test")
    assert admin is not None and admin.id == 1
    assert client.customer_by_email("nobody@nowhere.test") is None
    filtered = client.customers(email="admin@sandbox.test")
    assert [c.id for c in filtered] == [1]


def test_products_include_hidden_and_by_sku(sandbox, client):
    """FIDELITY 'GET /Product/GetAll' (unpublished only with showHidden, which the client sends) and 'GET
    /Product/GetProductsBySku' (WAPI ProductController.cs: skuArray split on ';', so a SKU holding ';' cannot be
    asked); 6 SKUs at 2 = 3 requests."""
    control(sandbox, "POST", "/products", {"sku": "HIDDEN-1", "name": "Hidden", "published": False})
    products = client.products(page_size=9)
    assert len(products) == len({p.id for p in products})
    hidden = next(p for p in products if p.sku == "HIDDEN-1")
    assert hidden.published is False
    skus = [p.sku for p in products if p.sku and p.sku == p.sku.strip()][:5]
    clear_stats(sandbox)
    found = client.products_by_sku(skus + ["NO-SUCH-SKU", ""], chunk_size=2)
    assert {p.sku.lower() for p in found} >= {s.lower() for s in skus}
    assert count(sandbox, "GET /Product/GetProductsBySku") == 3  # 6 SKUs in chunks of 2
    with pytest.raises(ValueError):
        client.products_by_sku(["A;B"])


def test_stock_records(sandbox, client):
    """FIDELITY 'GET /ProductWarehouse/GetAllProductWarehouseInventoryRecords/{productId}' and 'GET
    /ProductAttributeCombination/GetAll/{productId}' (WAPI controllers: plain arrays of the product's records)."""
    products = client.products()
    multi = next(p for p in products if p.use_multiple_warehouses and p.manage_inventory_method_id == 1)
    records = client.product_warehouse_inventory(multi.id)
    assert records and all(r.product_id == multi.id for r in records)
    by_attributes = next(p for p in products if p.manage_inventory_method_id == 2)
    combinations = client.attribute_combinations(by_attributes.id)
    assert combinations and all(c.product_id == by_attributes.id for c in combinations)


def test_shipments_and_items(sandbox, client):
    """FIDELITY 'plain inserts' (WAPI ShipmentController.cs Create: created_on_utc as sent), 'GET
    /Shipment/GetAll' (createdFromUtc / createdToUtc window) and 'GET /ShipmentItem/GetByShipmentId/{id}'."""
    order = client.search_orders()[0]
    item = client.order_items(order.id)[0]
    shipment = client.request("POST", "/Shipment/Create", json_body={"order_id": order.id, "tracking_number": "TRK1",
                                                                     "created_on_utc": quiet(3, "10:00:00")}).body
    client.request("POST", "/ShipmentItem/Create", json_body={"shipment_id": shipment["id"], "order_item_id": item.id,
                                                              "quantity": 1, "warehouse_id": 0})
    found = client.shipments(quiet_dt(3), quiet_dt(3, 10))
    assert [s.id for s in found] == [shipment["id"]] and found[0].tracking_number == "TRK1"
    assert found[0].created_on_utc == quiet_dt(3, 10, tzinfo=UTC)
    items = client.shipment_items(shipment["id"])
    assert [(i.order_item_id, i.quantity) for i in items] == [(item.id, 1)]
    assert client.shipments(quiet_dt(4), quiet_dt(5)) == []


def test_return_requests(sandbox, client):
    """FIDELITY 'GET /ReturnRequest/Search' (CORE ReturnRequestService.SearchReturnRequestsAsync: createdFromUtc
    <= CreatedOnUtc <= createdToUtc)."""
    order = client.search_orders()[0]
    created = control(sandbox, "POST", "/return-requests", {"order_id": order.id})
    now = datetime.now(UTC)
    found = client.return_requests(now - timedelta(minutes=5), now + timedelta(minutes=5))
    assert created["id"] in {r.id for r in found}
    assert all(r.return_request_status is not None for r in found)


def test_countries_cached_and_iso_codes(sandbox, client):
    """FIDELITY 'GET /Country/GetAllCountries' (WAPI CountryController.cs: a plain array with two- and
    three-letter ISO codes); RULE: read once per client."""
    client.order(1)
    clear_stats(sandbox)
    codes = client.country_iso_codes()
    assert codes[3] == ("GB", "GBR") and codes[1] == ("US", "USA")
    client.countries()
    assert count(sandbox, "GET /Country/GetAllCountries") == 1


def test_call_count_matches_server(sandbox, client):
    """RULE: the client's call count is every request it sent, compared with the server's own count."""
    client.search_orders(page_size=50)
    client.orders_with_details(client.search_orders()[:5])
    assert client.call_count == stats(sandbox)["total"]


def test_ids_must_be_positive(client):
    """FIDELITY 'GET /Order/GetById/{id}' (id <= 0 is a 400): RULE: the client refuses such ids before sending."""
    for bad in (0, -1):
        with pytest.raises(ValueError):
            client.order(bad)
    with pytest.raises(ValueError):
        client.orders_by_ids([1, 0])


def test_order_model_roundtrip_from_search(client):
    """FIDELITY 'datetimes' (naive UTC on the wire): RULE: the model reads created_on_utc as an aware UTC
    datetime."""
    order = client.search_orders()[0]
    assert isinstance(order, Order) and order.created_on_utc.tzinfo is not None


def test_state_lookups_cost_one_call_per_distinct_state(sandbox, client):
    """WAPI StateProvinceController (plugin source at fdbb872): GetById by id, GetStateProvincesByCountryId
    by country. An order names its state by id only, so the client caches each state it reads:
    five lookups of two states are two GetById calls; a state read through its country's list is
    not asked again; no state (0) and a missing state (404) are None."""
    us = next(c.id for c in client.countries() if c.two_letter_iso_code == "US")
    states = {s.abbreviation: s for s in client.state_provinces(us)}
    assert {"CA", "TX", "NY"} <= set(states) and all(s.country_id == us for s in states.values())
    with make_client(sandbox) as nop:
        clear_stats(sandbox)
        looked_up = [nop.state_abbreviation(states[a].id) for a in ("CA", "TX", "CA", "TX", "CA")]
        assert looked_up == ["CA", "TX", "CA", "TX", "CA"]
        assert nop.state_abbreviation(0) is None and nop.state_province(999_999) is None
        assert count(sandbox, "GET /StateProvince/GetById/{id}") == 3  # CA, TX, and the missing one
        nop.state_provinces(us)
        clear_stats(sandbox)
        assert nop.state_abbreviation(states["NY"].id) == "NY"
        assert count(sandbox, "GET /StateProvince/GetById/{id}") == 0
