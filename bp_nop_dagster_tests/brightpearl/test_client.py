"""BrightpearlClient against the Brightpearl simulator over real HTTP (fixture `sandbox`).

Each test states one behaviour of the client and can fail: request counts come from the
sandbox's own statistics, waits from an injected sleep recorder.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
import requests

from bp_nop_dagster.brightpearl import BrightpearlClient, QuotaPacer, compact_id_set, oauth_refresh_callback
from bp_nop_dagster.brightpearl.models import Contact, CustomerPayment, GoodsMovement, Order, Product, Warehouse
from bp_nop_dagster.transport.errors import (
    AuthError,
    ConfigurationError,
    NotFoundError,
    ThrottledError,
    TransientError,
    ValidationError,
)
from bp_nop_dagster.transport.retry import RetrySettings
from bp_nop_dagster_tests.clocks import VirtualSeconds, use_virtual_throttle

APP_REF = "sandbox_bpnop"
ACCOUNT_TOKEN = "sandbox-token"
PRODUCT_GET = "GET /product-service/product/{idset}"


class SleepRecorder:
    """Records every wait, without waiting; given the sandbox throttle's virtual clock
    (`use_virtual_throttle`), each wait moves that clock, so the throttle window passes at once."""

    def __init__(self, clock: VirtualSeconds | None = None) -> None:
        self.waits: list[float] = []
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)


class Exchanges:
    """A requests response hook keeping (method, url, status, request headers, response headers)."""

    def __init__(self, session: requests.Session) -> None:
        self.items: list[tuple[str, str, int, dict, dict]] = []
        session.hooks["response"].append(self)

    def __call__(self, response: requests.Response, *args, **kwargs) -> None:
        request = response.request
        self.items.append((request.method, request.url, response.status_code, dict(request.headers), dict(response.headers)))


def make_client(sandbox, *, sleep=None, retry=None, **kwargs) -> tuple[BrightpearlClient, Exchanges]:
    session = requests.Session()
    exchanges = Exchanges(session)
    creds = {} if {"staff_token", "oauth_access_token", "account_token"} & kwargs.keys() else {"account_token": ACCOUNT_TOKEN}
    client = BrightpearlClient(
        sandbox.urls.brightpearl_base_url,
        app_ref=kwargs.pop("app_ref", APP_REF),
        session=session,
        sleep=sleep or SleepRecorder(),
        retry=retry or RetrySettings(max_attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.0),
        **creds,
        **kwargs,
    )
    return client, exchanges


def control(sandbox, method: str, path: str, body=None) -> dict:
    response = requests.request(method, f"{sandbox.urls.brightpearl_root}/__sandbox__/{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def stats(sandbox) -> dict:
    return control(sandbox, "GET", "stats")


def faults(sandbox, *rules) -> None:
    control(sandbox, "PUT", "faults", {"rules": list(rules), "seed": 1})


# --- authentication ---------------------------------------------------------------------------


def test_private_app_sends_app_ref_and_account_token(sandbox):
    """NOTES §1 (HELP 211124966, private system app): brightpearl-app-ref + brightpearl-account-token, no
    Authorization."""
    client, exchanges = make_client(sandbox)
    assert [w.name for w in client.warehouses()]
    headers = exchanges.items[0][3]
    assert headers["brightpearl-app-ref"] == APP_REF
    assert headers["brightpearl-account-token"] == ACCOUNT_TOKEN
    assert "Authorization" not in headers and "brightpearl-staff-token" not in headers
    assert client.auth_mode == "private"


def test_staff_token_is_sent_instead_of_the_account_token(sandbox):
    """NOTES §1 (HELP 4414311366545, private staff app): brightpearl-app-ref + brightpearl-staff-token instead
    of the account token."""
    client, exchanges = make_client(sandbox, staff_token="sandbox-staff-token")
    assert client.warehouses()
    headers = exchanges.items[0][3]
    assert headers["brightpearl-staff-token"] == "sandbox-staff-token"
    assert "brightpearl-account-token" not in headers


def test_refused_private_token_is_an_auth_error_after_one_request_and_never_shows_the_token(sandbox, caplog):
    """REC client_error_invalid.json (401 {response: 'Invalid instance token: <token>'}: the body echoes the
    token); RULE: a refused private token is not renewable, so no retry, and the token never reaches an error, a
    log or a repr."""
    caplog.set_level(logging.DEBUG)
    secret = "my-very-secret-account-token"
    client, exchanges = make_client(sandbox, account_token=secret)
    with pytest.raises(AuthError) as caught:
        client.products([1001])
    assert caught.value.status == 401
    assert client.call_count == 1 and stats(sandbox)["total"] == 1  # nothing to renew: no retry
    # the sandbox, like the real API, echoes the token in the 401 body ("Invalid instance token: ...")
    assert secret in requests.get(exchanges.items[0][1], headers={"brightpearl-app-ref": APP_REF, "brightpearl-account-token": secret}).text
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert secret not in caplog.text and secret not in repr(client)


def test_oauth_bearer_headers_and_one_refresh_after_expiry(sandbox):
    """NOTES §1 (HELP 360032240811 and 4414330000657): Authorization Bearer + brightpearl-dev-ref +
    brightpearl-app-ref; REC client_error_expired.json (401 'Authorization token expired'); RULE: one refresh,
    then the request again."""
    refreshes = []

    def refresh() -> str:
        refreshes.append(1)
        return control(sandbox, "POST", "oauth/token", {})["access_token"]

    client, exchanges = make_client(
        sandbox, oauth_access_token="sandbox-oauth-access-token", dev_ref="sandbox_dev", token_refresher=refresh
    )
    assert client.warehouses()
    headers = exchanges.items[0][3]
    assert headers["Authorization"] == "Bearer sandbox-oauth-access-token"
    assert headers["brightpearl-dev-ref"] == "sandbox_dev" and headers["brightpearl-app-ref"] == APP_REF
    assert "brightpearl-account-token" not in headers

    control(sandbox, "POST", "oauth/expire", {})
    assert client.products([1001])[0].id == 1001
    assert refreshes == [1]
    assert [item[2] for item in exchanges.items] == [200, 401, 200]
    assert exchanges.items[2][3]["Authorization"] != "Bearer sandbox-oauth-access-token"  # the new token


def test_oauth_refresh_through_the_token_endpoint(sandbox):
    """NOTES §1 (DOC utilities/oauth-token/post.html; REC auth_use_refresh_token.json): the refresh reply
    carries a new refresh token, which the next refresh must use."""
    root = sandbox.urls.brightpearl_root
    refresher = oauth_refresh_callback(f"{root}/oauth/token/sandbox", refresh_token="sandbox-oauth-refresh-token", client_id=APP_REF)
    client, _ = make_client(sandbox, oauth_access_token="sandbox-oauth-access-token", dev_ref="sandbox_dev", token_refresher=refresher)
    control(sandbox, "POST", "oauth/expire", {})
    assert client.warehouses()
    control(sandbox, "POST", "oauth/expire", {})
    client.clear_reference_cache()
    assert client.warehouses()  # the rotated refresh token worked the second time


def test_reauthenticates_only_once(sandbox):
    """RULE: one refresh per request; a token still refused after it is an AuthError (REC
    client_error_expired.json for the 401), and the token is not shown."""
    calls = []

    def bad_refresh() -> str:
        calls.append(1)
        return "still-not-a-valid-token"

    client, exchanges = make_client(
        sandbox, oauth_access_token="sandbox-oauth-access-token", dev_ref="sandbox_dev", token_refresher=bad_refresh
    )
    control(sandbox, "POST", "oauth/expire", {})
    with pytest.raises(AuthError) as caught:
        client.warehouses()
    assert calls == [1]
    assert [item[2] for item in exchanges.items] == [401, 401]
    assert "still-not-a-valid-token" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    ["http://brightpearl.example.com/public-api/acct", "ftp://127.0.0.1/public-api/acct", "https://user:pw@ws-eu1.brightpearl.com/public-api/acct"],
)
def test_base_url_must_be_https_unless_loopback(url):
    """RULE (transport): credentials only over https, plain http only to a loopback host; no user info in the
    URL."""
    with pytest.raises(ConfigurationError):
        BrightpearlClient(url, app_ref=APP_REF, account_token=ACCOUNT_TOKEN)


@pytest.mark.parametrize(
    "url", ["https://use1.brightpearlconnect.com/public-api/acct", "http://127.0.0.1:8080/public-api/acct/", "http://localhost/public-api/a"]
)
def test_https_or_loopback_base_urls_are_accepted(url):
    """RULE (transport): https, or http to a loopback host, kept as given without the trailing slash."""
    client = BrightpearlClient(url, app_ref=APP_REF, account_token=ACCOUNT_TOKEN)
    assert client.base_url == url.rstrip("/")  # kept as given, without the trailing slash


@pytest.mark.parametrize("url", ["https://use1.brightpearlconnect.com", "https://use1.brightpearlconnect.com/public-api/acct/order-service"])
def test_base_url_must_be_the_account_root(url):
    """NOTES §1 (HELP 212645003): the base URL is https://{dc}.brightpearlconnect.com/public-api/{account},
    services below it."""
    with pytest.raises(ConfigurationError, match="public-api"):
        BrightpearlClient(url, app_ref=APP_REF, account_token=ACCOUNT_TOKEN)


def test_credential_configuration_errors_name_the_setting_not_the_value():
    """RULE: a configuration error names the setting, never its value (secrets); one credential kind at a time
    (NOTES §1)."""
    url = "https://use1.brightpearlconnect.com/public-api/acct"
    with pytest.raises(ConfigurationError, match="BRIGHTPEARL_ACCOUNT_TOKEN"):
        BrightpearlClient(url, app_ref=APP_REF)
    with pytest.raises(ConfigurationError, match="BRIGHTPEARL_APP_REF"):
        BrightpearlClient(url, app_ref=" ", account_token="x")
    with pytest.raises(ConfigurationError, match="only one") as caught:
        BrightpearlClient(url, app_ref=APP_REF, account_token="secret-a", staff_token="secret-b")
    assert "secret-a" not in str(caught.value) and "secret-b" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="dev_ref"):
        BrightpearlClient(url, app_ref=APP_REF, oauth_access_token="t")
    with pytest.raises(ConfigurationError, match="OAuth"):
        BrightpearlClient(url, app_ref=APP_REF, account_token="t", token_refresher=lambda: "x")


# --- ID sets ------------------------------------------------------------------------------------


def test_compact_id_sets():
    """FIDELITY 'ID sets' (HELP 211125046): 8, 1-100 (ascending ranges), 1,5,9 and mixed forms."""
    assert compact_id_set([5, 1, 2, 3, 205, 3, 4, 7, 8]) == "1-5,7,8,205"
    assert compact_id_set([9]) == "9"
    with pytest.raises(ValueError):
        compact_id_set([0])
    with pytest.raises(TypeError):
        compact_id_set(5)


def test_450_ids_are_three_gets_of_at_most_200_with_compact_ranges(sandbox):
    """FIDELITY 'ID sets' (HELP 211125046; product GET caps 200): 450 ids are ceil(450 / 200) = 3 GETs of
    compact ranges; REC product_get_multiple.json (ids that do not exist are left out)."""
    client, exchanges = make_client(sandbox)
    ids = list(range(1001, 1451))  # the small shop's 60 products (59 + the placeholder) are 1001-1060
    products = client.products(reversed(ids))
    assert stats(sandbox)["requests"][PRODUCT_GET] == 3
    assert [url.rsplit("/", 1)[1] for _, url, *_ in exchanges.items] == ["1001-1200", "1201-1400", "1401-1450"]
    assert len(products) == 60 and all(isinstance(p, Product) for p in products)
    assert {p.id for p in products} == set(range(1001, 1061))


def test_chunks_are_merged(sandbox):
    """RULE: a caller's cap splits the ID set (60 products at 20 = 3 GETs) and the parts are merged; REC
    product_availability_get.json (total = the warehouses' sum: inStock = onHand + allocated per warehouse)."""
    client, _ = make_client(sandbox)
    real = [row.product_id for row in client.product_search()]
    merged = client.get_by_id_set("/product-service/product", real, cap=20)
    assert stats(sandbox)["requests"][PRODUCT_GET] == 3
    assert sorted(p["id"] for p in merged) == sorted(real)
    availability = client.product_availability(real)
    assert availability and all(a.product_id == pid for pid, a in availability.items())
    some = next(iter(availability.values()))
    assert some.total.on_hand == sum(w.on_hand for w in some.warehouses.values())


def test_goods_out_note_ids_are_chunked_at_500_and_order_ids_at_200(sandbox):
    """FIDELITY 'ID sets' (DOC warehouse/goods-out-note/get.html: note ids <= 500; order ids <= 200): 400 order
    ids = 2 GETs, 903 note ids = 2 GETs; REC goods_out_note__get__by_gon_id.json (a map note id -> note)."""
    client, exchanges = make_client(sandbox)
    order_ids = [row.order_id for row in client.order_search()]
    padding = list(range(1, 401 - len(order_ids)))
    before = len(exchanges.items)
    notes = client.goods_out_notes(order_ids + padding)  # 400 order ids -> 2 GETs
    gets = [url for _, url, *_ in exchanges.items[before:]]
    assert len(gets) == 2 and all("/goods-note/goods-out" in url for url in gets)
    assert notes and all(note.order_id in order_ids for note in notes.values())
    before = len(exchanges.items)
    by_id = client.goods_out_notes("*", list(notes) + list(range(1, 900)))  # <= 903 note ids -> 2 GETs
    gets = [url for _, url, *_ in exchanges.items[before:]]
    assert len(gets) == 2 and all("/order/*/goods-note/goods-out/" in url for url in gets)
    assert set(by_id) == set(notes)
    assert all(note.id == note_id for note_id, note in by_id.items())


def test_missing_contact_is_not_found_and_missing_ids_are_left_out(sandbox):
    """REC customer__get__empty_not_found.json (contact GET of a missing id: 404 CMNC-404) and
    order_get_empty_not_found.json (order GET: 200 {response: []}); RULE: a 404 is not retried, a missing id in
    a list is left out."""
    client, _ = make_client(sandbox)
    with pytest.raises(NotFoundError) as caught:
        client.contact(999_999)
    assert caught.value.status == 404 and "CMNC-404" in str(caught.value)
    assert stats(sandbox)["total"] == 1  # not retried
    assert client.contacts([999_999]) == []
    first = client.contact_search()[0]
    assert [c.id for c in client.contacts([first.contact_id, 999_999])] == [first.contact_id]
    assert client.orders([999_999]) == []  # orders answer 200 [] (recorded)
    with pytest.raises(NotFoundError):
        client.order(999_999)


# --- search -------------------------------------------------------------------------------------


def _search_gets(sandbox, template: str) -> int:
    return stats(sandbox)["requests"].get(template, 0)


def test_search_pages_to_the_end_with_a_short_last_page(sandbox):
    """FIDELITY 'search paging' (REC order_search.json; AIRBYTE: firstResult = lastResult + 1 while
    morePagesAvailable): 60 rows at 25 a page = 3 requests, firstResult 1, 26, 51."""
    client, exchanges = make_client(sandbox)
    rows = client.search("/product-service/product-search", sort="productId.ASC", page_size=25)
    assert len(rows) == 60 and _search_gets(sandbox, "GET /product-service/product-search") == 3
    firsts = [requests.utils.urlparse(url).query for _, url, *_ in exchanges.items]
    assert ["firstResult=1" in q for q in firsts] == [True, False, False]
    assert "firstResult=26" in firsts[1] and "firstResult=51" in firsts[2]
    assert [r["productId"] for r in rows] == sorted(r["productId"] for r in rows)
    assert len({r["productId"] for r in rows}) == 60


def test_search_of_exactly_one_page(sandbox):
    """FIDELITY 'search paging': morePagesAvailable false on the last page, so 60 rows at 60 a page are one
    request."""
    client, _ = make_client(sandbox)
    rows = client.search("/product-service/product-search", page_size=60)
    assert len(rows) == 60 and _search_gets(sandbox, "GET /product-service/product-search") == 1


def test_empty_search(sandbox):
    """NOTES §4 (REC order_search.json shape): an empty result has results [], counts 0 and no firstResult /
    lastResult; one request, nothing more."""
    client, _ = make_client(sandbox)
    pages = list(client.iter_search("/product-service/product-search", {"SKU": "NO-SUCH-SKU-ANYWHERE"}))
    assert len(pages) == 1 and pages[0].rows == [] and pages[0].first_result is None
    assert client.product_search(sku="NO-SUCH-SKU-ANYWHERE") == []
    assert _search_gets(sandbox, "GET /product-service/product-search") == 2


def test_search_rows_are_named_by_columns_and_typed(sandbox):
    """FIDELITY 'search paging' (rows positional in metaData.columns order, REC order_search.json); DOC
    warehouse/goods-movement/search.html (columns; updatedOn sorted ascending as asked)."""
    client, _ = make_client(sandbox)
    pages = list(client.iter_search("/order-service/order-search", columns=["orderId", "customerRef"]))
    assert pages[0].columns == ["orderId", "customerRef"]
    assert set(pages[0].rows[0]) == {"orderId", "customerRef"}
    typed = client.order_search()
    assert typed[0].order_id and typed[0].customer_ref is not None
    movements = client.goods_movement_search(datetime(2000, 1, 1, tzinfo=timezone.utc))
    assert movements and all(isinstance(m, GoodsMovement) for m in movements)
    assert [m.updated_on for m in movements] == sorted(m.updated_on for m in movements)


def test_sales_orders_created_between_is_half_open(sandbox):
    """RULE: [start, end) in the client's own filter over order-search rows (REC order_search.json createdOn
    column); naive datetimes are refused (timezone required)."""
    client, _ = make_client(sandbox)
    rows = client.order_search({"orderTypeId": 1})
    created = sorted(r.created_on for r in rows)
    start, end = created[0], created[-1]
    ids = client.sales_order_ids_created_between(start, end)
    assert ids == sorted(r.order_id for r in rows if start <= r.created_on < end)
    everything = client.sales_order_ids_created_between(start - timedelta(days=1), end + timedelta(days=1))
    assert everything == sorted(r.order_id for r in rows)
    with pytest.raises(ValueError, match="timezone"):
        client.sales_order_ids_created_between(datetime(2026, 1, 1), datetime(2026, 1, 2))


def test_find_contacts_by_email_is_exact_and_case_insensitive(sandbox):
    """REC customer__search__simple_search.json and NOTES §6 (primaryEmail a fuzzy SEARCH_STRING, compare
    exactly: MEDUSA); REC customer__get__simple_get.json (postAddressIds.DEF); DOC
    contact/postal-address/get.html."""
    client, _ = make_client(sandbox)
    contact = client.contact_search()[0]
    found = client.find_contacts_by_email(f"  {contact.primary_email.upper()} ")
    assert contact.contact_id in [c.contact_id for c in found]
    assert all(c.primary_email.strip().lower() == contact.primary_email.strip().lower() for c in found)
    full = client.contact(contact.contact_id)
    assert isinstance(full, Contact) and full.primary_email == contact.primary_email
    assert client.postal_addresses([full.default_address_id])[0].id == full.default_address_id


def test_orders_parse_with_decimal_rows(sandbox):
    """REC order_get_one.json (orderRows keyed by row id, quantity.magnitude and rowValue strings parsed as
    Decimal); REC customer_payment__search__simple_search.json (orderId column)."""
    client, _ = make_client(sandbox)
    orders = client.orders([r.order_id for r in client.order_search()])
    assert orders and all(isinstance(o, Order) for o in orders)
    row = orders[0].rows[0]
    assert row.quantity > 0 and row.row_net.as_tuple().exponent <= 0
    assert client.sales_credits() == [] or all(c.order_type_code == "SC" for c in client.sales_credits())
    payments = client.customer_payment_search(order_ids=[o.id for o in orders])
    assert all(isinstance(p, CustomerPayment) and p.order_id in {o.id for o in orders} for p in payments)


def test_reference_data_is_cached_per_client(sandbox):
    """RULE: reference data (warehouses, channels, statuses, tax codes, payment and shipping methods, price
    lists: per account, NOTES §11.7) is read once per client, i.e. once per run."""
    client, _ = make_client(sandbox)
    getters = [client.warehouses, client.channels, client.order_statuses, client.order_shipping_statuses,
               client.tax_codes, client.payment_methods, client.shipping_methods, client.price_lists]
    first = [getter() for getter in getters]
    assert stats(sandbox)["total"] == len(getters)
    assert [getter() for getter in getters] == first
    assert stats(sandbox)["total"] == len(getters)  # second round: no request
    assert all(isinstance(w, Warehouse) for w in first[0])
    other, _ = make_client(sandbox)
    other.warehouses()
    assert stats(sandbox)["total"] == len(getters) + 1  # per client (= per run), not global


# --- faults -------------------------------------------------------------------------------------


def test_injected_503_storm_is_retried_until_it_passes(sandbox):
    """NOTES §2 (HELP 212644823: a 503 is a throttle or an outage, both pass); RULE (transport/retry.py): a 503
    is retried with backoff, never below the floor, until max_attempts. The 503s are injected faults."""
    faults(sandbox, {"path": "/warehouse-service/warehouse", "error_rate": 1.0, "error_status": 503, "max_hits": 3})
    sleep = SleepRecorder()
    client, _ = make_client(sandbox, sleep=sleep, retry=RetrySettings(max_attempts=5, initial_wait=0.5, max_wait=2, jitter=0))
    assert client.warehouses()
    assert client.throttled_count == 3 and client.call_count == 4
    assert stats(sandbox)["by_status"] == {"200": 1, "503": 3}
    assert len(sleep.waits) == 3 and all(w >= 0.5 for w in sleep.waits)  # backoff, never below the 503 floor


def test_throttle_503_waits_the_servers_period(sandbox):
    """FIDELITY 'throttle' (HELP 212644823; NOTES §2: private apps share one quota per account): another app
    exhausts it, our first request is refused with 503 + brightpearl-next-throttle-period (ms); RULE: the
    retry waits at least that long, then succeeds."""
    clock = use_virtual_throttle(sandbox)
    control(sandbox, "PUT", "throttle", {"quota": 5, "window_seconds": 2})
    other_app = {"brightpearl-app-ref": APP_REF, "brightpearl-account-token": ACCOUNT_TOKEN}
    for _ in range(5):
        requests.get(f"{sandbox.urls.brightpearl_base_url}/warehouse-service/warehouse", headers=other_app, timeout=5)
    sleep = SleepRecorder(clock)
    client, exchanges = make_client(sandbox, sleep=sleep, pacer=QuotaPacer(5, 2, 0.0, sleep=lambda s: None))
    assert client.products([1001])
    throttled = [item for item in exchanges.items if item[2] == 503]
    assert len(throttled) == 1 and client.throttled_count == 1 and stats(sandbox)["throttled"] == 1
    period_s = int(throttled[0][4]["brightpearl-next-throttle-period"]) / 1000
    assert period_s > 0.5
    assert sleep.waits and sleep.waits[0] >= period_s


def test_throttled_error_after_max_attempts_carries_the_period(sandbox):
    """FIDELITY 'throttle' (HELP 212644823: 503 with brightpearl-next-throttle-period in ms); RULE: after
    max_attempts the ThrottledError carries the server's period (<= the 30 s window)."""
    control(sandbox, "PUT", "throttle", {"quota": 1, "window_seconds": 30})
    client, _ = make_client(sandbox, pacer=QuotaPacer(1000, 30, 0.0, sleep=lambda s: None),
                            retry=RetrySettings(max_attempts=2, initial_wait=0.01, max_wait=0.01, jitter=0))
    client.pacer.observe = lambda headers: None  # a blind pacer: let the 503 happen
    client.warehouses()
    with pytest.raises(ThrottledError) as caught:
        client.channels()
    assert 25 <= caught.value.retry_after <= 30 and caught.value.status == 503


def test_500s_are_retried(sandbox):
    """RULE (transport/retry.py): a 5xx on an idempotent GET is retried (RFC 9110 §9.2.2); the 500s are injected
    faults."""
    faults(sandbox, {"path": "/product-service/product/*", "error_rate": 1.0, "error_status": 500, "max_hits": 2})
    client, _ = make_client(sandbox)
    assert client.products([1001])[0].sku
    assert stats(sandbox)["requests"][PRODUCT_GET] == 3


def test_500s_until_max_attempts_raise_transient_error(sandbox):
    """RULE (transport/retry.py): a GET failing with 5xx on every attempt is a TransientError after max_attempts
    (4 here); injected 502s."""
    faults(sandbox, {"path": "/product-service/product/*", "error_rate": 1.0, "error_status": 502})
    client, _ = make_client(sandbox)
    with pytest.raises(TransientError) as caught:
        client.products([1001])
    assert caught.value.status == 502 and client.call_count == 4


def test_lost_reply_timeout_is_retried(sandbox):
    """RULE (transport/retry.py): a GET whose reply is lost (read timeout) is resent: GET is safe (RFC 9110
    §9.2.1); injected fault."""
    faults(sandbox, {"path": "/product-service/product/*", "drop_reply_rate": 1.0, "drop_reply_mode": "timeout",
                     "drop_reply_hold_seconds": 2, "max_hits": 1})
    client, _ = make_client(sandbox, read_timeout=0.3)
    assert client.products([1001])
    assert client.call_count == 2


def test_slow_server_times_out_then_transient_error_after_max_attempts(sandbox):
    """RULE (transport): every request has a read timeout; a GET that times out on every attempt is a
    TransientError after max_attempts (3 here)."""
    faults(sandbox, {"path": "/warehouse-service/warehouse", "latency_ms": 1500})
    client, _ = make_client(sandbox, read_timeout=0.2, retry=RetrySettings(max_attempts=3, initial_wait=0.01, max_wait=0.01, jitter=0))
    with pytest.raises(TransientError, match="Timeout"):
        client.warehouses()
    assert client.call_count == 3


def test_malformed_json_is_retried(sandbox):
    """RULE (transport/retry.py): an unreadable reply to a GET is resent (a GET changes nothing, RFC 9110
    §9.2.1); injected fault."""
    faults(sandbox, {"path": "/product-service/product/*", "malformed_rate": 1.0, "max_hits": 1})
    client, _ = make_client(sandbox)
    assert client.products([1001])
    assert stats(sandbox)["requests"][PRODUCT_GET] == 2


@pytest.mark.parametrize("status", [400, 409, 422])
def test_a_4xx_refusal_is_not_retried(sandbox, status):
    """NOTES §3 (HELP 212644843): 400 is a validation refusal of what was sent; RULE: a 4xx other than
    401 / 403 / 404 / 429 is a ValidationError, sent once. The refusal is an injected fault (which requests
    the real API refuses with which 4xx is the simulator's business, not this test's)."""
    client, _ = make_client(sandbox)
    faults(sandbox, {"path": "/warehouse-service/warehouse", "error_rate": 1.0, "error_status": status})
    with pytest.raises(ValidationError) as caught:
        client.warehouses()
    assert caught.value.status == status
    assert stats(sandbox)["total"] == 1 and client.call_count == 1


def test_unparsable_filter_cmnc_018_is_not_retried(sandbox):
    """REC order_search_bad_param.json: a filter value that does not parse is 500 CMNC-018 (FIDELITY 'search
    filter types'); RULE: that 500 is a refusal of what was sent, so a ValidationError, not retried."""
    client, _ = make_client(sandbox)
    with pytest.raises(ValidationError) as caught:
        client.order_search({"orderStatusId": "BAD PARAM"})
    assert caught.value.code == "CMNC-018" and caught.value.status == 500
    assert not isinstance(caught.value, TransientError)
    assert stats(sandbox)["total"] == 1


def test_no_token_in_errors_or_logs_across_failures(sandbox, caplog):
    """RULE: no token in an error, a log line or a repr, whatever the failure (injected 503s; REC
    order_search_bad_param.json for the 500 CMNC-018 refusal)."""
    caplog.set_level(logging.DEBUG)
    faults(sandbox, {"path": "*", "error_rate": 1.0, "error_status": 503})
    client, _ = make_client(sandbox)
    errors = []
    for call in (client.warehouses, lambda: client.products([1001]), lambda: client.order_search({"orderStatusId": "x"})):
        with pytest.raises(TransientError) as caught:  # 503 on every attempt
            call()
        errors.append(caught.value)
    faults(sandbox)
    with pytest.raises(ValidationError) as caught:  # the sandbox's CMNC-018 for a bad search value
        client.order_search({"orderStatusId": "x"})
    errors.append(caught.value)
    for error in errors:
        assert ACCOUNT_TOKEN not in str(error) and ACCOUNT_TOKEN not in repr(error)
    assert ACCOUNT_TOKEN not in caplog.text and ACCOUNT_TOKEN not in repr(client)


# --- pacing over HTTP -------------------------------------------------------------------------


def test_pacer_drains_without_a_503(sandbox):
    """FIDELITY 'throttle' (HELP 212644823: a quota per rolling window, 503 over it); RULE: the client's pacer
    keeps 10 % headroom, so 45 requests at quota 20 / 2 s go at <= 18 per window and none is refused."""
    clock = use_virtual_throttle(sandbox)  # one virtual clock for the sandbox's window and the client's pacer
    control(sandbox, "PUT", "throttle", {"quota": 20, "window_seconds": 2})
    client, _ = make_client(sandbox, sleep=clock.sleep, clock=clock, quota=20, window_seconds=2, headroom=0.10)
    started = clock()
    for _ in range(45):
        client.get("/warehouse-service/warehouse")
    elapsed = clock() - started
    snapshot = stats(sandbox)
    assert snapshot["total"] == 45 and snapshot["throttled"] == 0 and client.throttled_count == 0
    assert elapsed >= 4.0  # 45 requests at <= 18 per 2 s: the 19th waits one window, the 37th two
    assert client.pacer.waits == 2
