"""The Brightpearl simulator over real HTTP: auth, throttle, envelopes, ID sets, searches and
every resource the integration uses. Each test resets the sandbox to an empty account and seeds
a tiny known shop (`seed_shop`) so assertions can name exact ids and quantities."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

import pytest
import requests

from bp_nop_dagster.sandbox.server import RunningSandbox
from bp_nop_dagster_tests.clocks import use_virtual_throttle, wait_until

PRIVATE = {"brightpearl-app-ref": "sandbox_bpnop", "brightpearl-account-token": "sandbox-token"}


@dataclass
class Shop:
    wh1: int
    wh2: int
    p1: int  # SKU-A, tracked, 12.00 T1, 10 in wh1, 4 in wh2
    p2: int  # SKU-B, tracked, 5.50 T5, 3 in wh1
    p3: int  # SKU-SVC, not stock tracked
    c1: int  # Ann Lee ann@example.com
    c2: int  # Anna Lee ANN@Example.com.au (fuzzy match of "ann@example.com")
    c3: int  # Bob Ray bob@other.test


class BP:
    def __init__(self, sandbox: RunningSandbox, shop: Shop) -> None:
        self.sandbox = sandbox
        self.base = sandbox.urls.brightpearl_base_url
        self.root = sandbox.urls.brightpearl_root
        self.http = requests.Session()
        self.shop = shop

    def call(self, method: str, path: str, *, headers: dict | None = None, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 15)
        return self.http.request(method, self.base + path, headers=PRIVATE if headers is None else headers, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.call("POST", path, json=json, **kwargs)

    def put(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.call("PUT", path, json=json, **kwargs)

    def ok(self, method: str, path: str, json=None) -> object:
        response = self.call(method, path, json=json)
        assert response.status_code == 200, (method, path, response.status_code, response.text)
        return response.json()

    def control(self, method: str, path: str, json=None, status: int = 200) -> dict:
        response = self.http.request(method, f"{self.root}/__sandbox__{path}", json=json, timeout=15)
        assert response.status_code == status, response.text
        return response.json()

    def sales_order(self, rows: list[dict] | None = None, **extra) -> int:
        shop = self.shop
        body = {"customer": {"id": shop.c1}, "ref": "WEB-1", "placedOn": "2026-01-05T10:00:00+00:00", "statusId": 2,
                "warehouseId": shop.wh1, "channelId": 1, "currency": {"code": "GBP"},
                "rows": rows if rows is not None else [
                    {"productId": shop.p1, "quantity": 2, "taxCode": "T1", "net": "20.00", "tax": "4.00"},
                    {"productId": shop.p2, "quantity": 1, "taxCode": "T5", "net": "5.00", "tax": "0.25"},
                ], **extra}
        return self.ok("POST", "/order-service/sales-order", body)["response"]

    def state(self) -> dict:
        return self.control("GET", "/state")


def seed_shop(world) -> Shop:
    bp = world.brightpearl
    wh1 = bp.add_warehouse("Main warehouse", "MAIN")
    wh2 = bp.add_warehouse("Outlet", "OUT")
    p1 = bp.add_product("SKU-A", "Alpine Scarf", price=Decimal("14.40"), tax_code="T1")
    p2 = bp.add_product("SKU-B", "Beanie", price=Decimal("5.50"), tax_code="T5")
    p3 = bp.add_product("SKU-SVC", "Gift wrap", price=Decimal("2.00"), tax_code="T0", stock_tracked=False)
    bp.correct_stock(wh1, p1, 10, "Opening stock")
    bp.correct_stock(wh2, p1, 4, "Opening stock")
    bp.correct_stock(wh1, p2, 3, "Opening stock")
    address = {"addressLine1": "1 High St", "addressLine3": "Leeds", "postalCode": "LS1 1AB", "countryIsoCode": "GBR"}
    c1 = bp.add_contact(first_name="Ann", last_name="Lee", email="ann@example.com", phone="+44 7000", address=address)
    c2 = bp.add_contact(first_name="Anna", last_name="Lee", email="ANN@Example.com.au", address={**address, "countryIsoCode": "IE"})
    c3 = bp.add_contact(first_name="Bob", last_name="Ray", email="bob@other.test", address=address)
    return Shop(wh1, wh2, p1, p2, p3, c1, c2, c3)


@pytest.fixture
def bp(sandbox: RunningSandbox) -> BP:
    """An empty Brightpearl account with the tiny `seed_shop` in it."""
    response = requests.post(f"{sandbox.urls.brightpearl_root}/__sandbox__/reset", json={"empty": True}, timeout=30)
    response.raise_for_status()
    return BP(sandbox, seed_shop(sandbox.world))


def errors(response: requests.Response) -> list[tuple[str, str]]:
    return [(e["code"], e["message"]) for e in response.json()["errors"]]


def code(response: requests.Response) -> str:
    return response.json()["errors"][0]["code"]


# ------------------------------------------------------------------------------------ auth


def test_private_system_and_staff_tokens_are_accepted(bp: BP):
    """FIDELITY 'auth' (HELP 211124966, 4414311366545): brightpearl-app-ref with an account token or a staff
    token."""
    assert bp.get("/warehouse-service/warehouse").status_code == 200
    staff = {"brightpearl-app-ref": "sandbox_bpnop", "brightpearl-staff-token": "sandbox-staff-token"}
    assert bp.get("/warehouse-service/warehouse", headers=staff).status_code == 200


@pytest.mark.parametrize("headers", [
    {},
    {"brightpearl-app-ref": "sandbox_bpnop", "brightpearl-account-token": "WRONG"},
    {"brightpearl-app-ref": "other_app", "brightpearl-account-token": "sandbox-token"},
    {"brightpearl-app-ref": "sandbox_bpnop", "brightpearl-staff-token": "WRONG"},
    {"Authorization": "Bearer nope", "brightpearl-app-ref": "sandbox_bpnop", "brightpearl-dev-ref": "sandbox_dev"},
])
def test_bad_credentials_answer_the_recorded_401(bp: BP, headers):
    """FIDELITY 'auth' (REC client_error_invalid.json: 401 {response: 'Invalid instance token: <token>'},
    Message-Type api-proxy, no WWW-Authenticate)."""
    response = bp.get("/order-service/order/1", headers=headers)
    assert response.status_code == 401
    assert response.headers["message-type"] == "api-proxy"
    assert "www-authenticate" not in response.headers
    assert response.json()["response"].startswith("Invalid instance token: ")
    assert int(response.headers["brightpearl-requests-remaining"]) < 200
    assert int(response.headers["brightpearl-next-throttle-period"]) > 0


def test_other_account_code_is_refused(bp: BP):
    """FIDELITY 'auth of another account code' (REC client_error_invalid.json: the token is not valid for that
    account)."""
    response = bp.http.get(bp.root + "/public-api/someoneelse/warehouse-service/warehouse", headers=PRIVATE, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"response": "Invalid instance token: sandbox-token"}


def test_bearer_token_expiry_and_renewal(bp: BP):
    """FIDELITY 'auth' (NOTES §1, HELP 360032240811: Bearer + brightpearl-dev-ref + app ref; REC
    client_error_expired.json 'Authorization token expired')."""
    bearer = {"Authorization": "Bearer sandbox-oauth-access-token", "brightpearl-app-ref": "sandbox_bpnop",
              "brightpearl-dev-ref": "sandbox_dev"}
    assert bp.get("/warehouse-service/warehouse", headers=bearer).status_code == 200
    assert bp.get("/warehouse-service/warehouse", headers={**bearer, "brightpearl-dev-ref": "x"}).status_code == 401
    expired = bp.control("POST", "/oauth/expire", {})
    assert expired["expired"] == ["sandbox-oauth-access-token"]
    response = bp.get("/warehouse-service/warehouse", headers=bearer)
    assert response.status_code == 401
    assert response.json() == {"response": "Authorization token expired"}
    assert response.headers["message-type"] == "api-proxy"
    fresh = bp.control("POST", "/oauth/token", {})
    assert fresh["token_type"] == "Bearer" and fresh["expires_in"] == 604800
    renewed = {**bearer, "Authorization": f"Bearer {fresh['access_token']}"}
    assert bp.get("/warehouse-service/warehouse", headers=renewed).status_code == 200


def test_oauth_token_endpoint_code_and_refresh_grants(bp: BP):
    """FIDELITY 'OAuth token' (NOTES §1; REC auth_request_token.json, auth_use_refresh_token.json,
    auth_request_token_error_invalid_code.json: code and refresh grants, a new refresh token, invalid_grant)."""
    url = f"{bp.root}/oauth/token/sandbox"
    form = {"grant_type": "authorization_code", "code": "sandbox-auth-code", "client_id": "sandbox_bpnop",
            "client_secret": "s", "redirect_uri": "https://example.test/cb"}
    first = requests.post(url, data=form, timeout=10)
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"access_token", "refresh_token", "installation_instance_id", "api_domain", "token_type", "expires_in"}
    assert isinstance(body["installation_instance_id"], str)
    again = requests.post(url, data=form, timeout=10)  # codes are single use
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    bad_client = requests.post(url, data={**form, "client_id": "nope"}, timeout=10)
    assert bad_client.json() == {"error": "invalid_client"}
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": "sandbox_bpnop"}
    refreshed = requests.post(f"{bp.root}/token/sandbox", data=refresh, timeout=10)
    assert refreshed.status_code == 200
    assert "installation_instance_id" not in refreshed.json()
    assert refreshed.json()["refresh_token"] != body["refresh_token"]
    reused = requests.post(url, data=refresh, timeout=10)  # refresh tokens rotate
    assert reused.status_code == 400
    token = refreshed.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "brightpearl-app-ref": "sandbox_bpnop", "brightpearl-dev-ref": "sandbox_dev"}
    assert bp.get("/product-service/product/1001", headers=headers).status_code == 200


# ------------------------------------------------------------------------------------ throttle


def test_every_api_response_carries_throttle_headers(bp: BP):
    """FIDELITY 'throttle' (HELP 212644823; REC headers on every recording): brightpearl-requests-remaining
    counts down on every reply, whatever its status; brightpearl-next-throttle-period in ms within the minute."""
    responses = [
        bp.get("/product-service/product/1001"),  # 200
        bp.get("/product-service/product/99"),  # 404
        bp.get("/no-such-service/thing"),  # 404 route
        bp.post("/order-service/sales-order", {}),  # 400
        bp.get("/order-service/order-search?orderId=abc"),  # 500
        bp.get("/order-service/order/1", headers={}),  # 401
    ]
    remaining = [int(r.headers["brightpearl-requests-remaining"]) for r in responses]
    assert remaining == list(range(199, 193, -1))
    for response in responses:
        assert 0 < int(response.headers["brightpearl-next-throttle-period"]) <= 60_000


def test_over_quota_answers_503_then_serves_again(bp: BP):
    """FIDELITY 'throttle' (HELP 212644823: over the quota 503 for the rest of the window,
    brightpearl-next-throttle-period in ms)."""
    clock = use_virtual_throttle(bp.sandbox)  # the window passes when the test says, not after a sleep
    assert bp.control("PUT", "/throttle", {"quota": 5, "window_seconds": 2})["quota"] == 5
    bp.control("DELETE", "/stats")
    seen = [bp.get("/warehouse-service/warehouse") for _ in range(6)]
    assert [r.status_code for r in seen] == [200] * 5 + [503]
    assert [r.headers["brightpearl-requests-remaining"] for r in seen] == ["4", "3", "2", "1", "0", "0"]
    refused = seen[-1]
    assert refused.json() == {"response": "You have sent too many requests. Please wait before sending another request"}
    wait_ms = int(refused.headers["brightpearl-next-throttle-period"])
    assert wait_ms == 2000  # all five at one instant of the virtual clock: the whole window
    stats = bp.control("GET", "/stats")
    assert stats["throttled"] == 1 and stats["by_status"]["503"] == 1
    assert bp.control("GET", "/throttle")["requests_in_window"] == 5  # the 503 did not count
    clock.advance(wait_ms / 1000 - 0.01)
    still = bp.get("/warehouse-service/warehouse")
    assert still.status_code == 503 and still.headers["brightpearl-next-throttle-period"] == "10"
    clock.advance(0.01)  # the period the 503 named has passed
    assert bp.get("/warehouse-service/warehouse").status_code == 200


def test_throttle_control_validates_and_reset_restores_defaults(bp: BP):
    """FIDELITY 'throttle' (HELP 212644823: 200 per rolling minute) is the default a reset restores; the control
    route itself is ours (RULE: a quota of 0 is refused)."""
    bp.control("PUT", "/throttle", {"quota": 0}, status=400)
    bp.control("PUT", "/throttle", {"quota": 7, "window_seconds": 30})
    bp.control("POST", "/reset", {"empty": True})
    assert bp.control("GET", "/throttle")["quota"] == 200
    assert bp.control("GET", "/throttle")["window_seconds"] == 60


# ------------------------------------------------------------------------------------ envelopes and errors


def test_unknown_route_and_method_use_the_error_envelope(bp: BP):
    """FIDELITY 'unknown route' (HELP 212644843: 404 CMNC-404 / 405) and 'envelopes' (HELP 212644943: {errors:
    [{code, message}]})."""
    response = bp.get("/product-service/no-such-thing/1/2/3")
    assert response.status_code == 404 and code(response) == "CMNC-404"
    response = bp.call("DELETE", "/product-service/product/1001")
    assert response.status_code == 405 and "errors" in response.json()


@pytest.mark.parametrize("raw", [b"", b"{not json", b"\xff\xfe"])
def test_bad_json_body_is_cmnc_010(bp: BP, raw: bytes):
    """NOTES §3 (REC VCR, HELP 212644843): a body that is not JSON is 400 CMNC-010 'You must supply a JSON
    formatted body with your request'."""
    response = bp.call("POST", "/order-service/sales-order", data=raw, headers={**PRIVATE, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert errors(response) == [("CMNC-010", "You must supply a JSON formatted body with your request")]


@pytest.mark.parametrize("body", [
    [], "text", {"customer": "x"}, {"customer": {"id": "abc"}}, {"customer": {"id": 201}, "rows": "abc"},
    {"customer": {"id": 201}, "rows": [5]}, {"customer": {"id": 201}, "rows": [{"productId": 1001, "quantity": "lots"}]},
    {"customer": {"id": 201}, "placedOn": "yesterday"}, {"customer": {"id": 201}, "currency": []},
])
def test_wrong_types_are_400_envelopes_not_tracebacks(bp: BP, body):
    """FIDELITY 'envelopes' (HELP 212644943) and NOTES §3 (a refused body is 400 {errors}); RULE: never a
    traceback."""
    response = bp.post("/order-service/sales-order", body)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"errors"}
    assert bp.state()["orders"] == 0


def test_not_found_differs_per_resource(bp: BP):
    """FIDELITY 'not found' (REC order_get_empty_not_found.json: order GET 200 {response: []};
    customer__get__empty_not_found.json: 404 CMNC-404 'No Contact Found'; product_price_get_not_found.json; DOC
    warehouse/reservation/get.html). The sales-order and postal-address GETs of missing ids have no source and
    are not asserted."""
    assert bp.ok("GET", "/order-service/order/999") == {"response": []}
    contact = bp.get("/contact-service/contact/1")
    assert contact.status_code == 404 and errors(contact) == [("CMNC-404", "No Contact Found")]
    for path in ("/product-service/product/1", "/warehouse-service/order/1/reservation", "/product-service/product-price/1"):
        response = bp.get(path)
        assert response.status_code == 404 and code(response) == "CMNC-404", path


@pytest.mark.parametrize("path,message", [
    ("/order-service/order-search?orderStatusId=BAD%20PARAM", "The filter orderStatusId=BAD PARAM cannot be parsed as: INTEGER"),
    ("/order-service/order-search?orderId=abc", "The filter orderId=abc cannot be parsed as: IDSET"),
    ("/order-service/order-search?updatedOn=notadate/", "The filter updatedOn=notadate/ cannot be parsed as: PERIOD"),
    ("/product-service/product-search?stockTracked=maybe", "The filter stockTracked=maybe cannot be parsed as: BOOLEAN"),
    ("/product-service/product-search?productId=1-x", "The filter productId=1-x cannot be parsed as: IDSET"),
])
def test_unparsable_filters_are_500_cmnc_018(bp: BP, path, message):
    """FIDELITY 'search filter types' (REC order_search_bad_param.json, product_search_bad_param.json: 500
    CMNC-018 'The filter x=y cannot be parsed as: TYPE')."""
    response = bp.get(path)
    assert response.status_code == 500
    assert response.json() == {"errors": [{"code": "CMNC-018", "message": message}]}


def test_unknown_search_column_sort_or_filter_answers_the_recorded_search_error(bp: BP):
    """A search parameter the resource does not have answers the envelope the recorded bad
    search parameters get (order_search_bad_param.json: 500 CMNC-018); the goods-out search has
    no `goodsNoteId` and no `updatedOn` (api-docs warehouse/goods-out-note/search.html)."""
    for path in ("/product-service/product-search?columns=productId,nope", "/product-service/product-search?sort=nope.ASC",
                 "/product-service/product-search?sort=productId.SIDEWAYS", "/product-service/product-search?nope=1",
                 "/warehouse-service/goods-note/goods-out-search?columns=goodsNoteId",
                 "/warehouse-service/goods-note/goods-out-search?updatedOn=2020-01-01T00:00:00Z/"):
        response = bp.get(path)
        assert (response.status_code, code(response)) == (500, "CMNC-018"), path
    assert bp.get("/product-service/product-search?pageSize=abc").status_code == 400
    bp.control("PUT", "/fidelity", {"unknown_search_parameter": "ignore"})
    assert bp.get("/product-service/product-search?nope=1").status_code == 200


# ------------------------------------------------------------------------------------ ID sets and OPTIONS


def test_id_sets_ranges_lists_and_caps(bp: BP):
    """FIDELITY 'ID sets' (HELP 211125046: 8, 1-100 ascending, 1,5,9, mixed; caps 200, goods-out notes 500; over
    the cap 400 with an illustrative code); REC product_get_multiple.json (missing ids left out)."""
    s = bp.shop
    ids = [p["id"] for p in bp.ok("GET", f"/product-service/product/{s.p1}-{s.p3}")["response"]]
    assert ids == [s.p1, s.p2, s.p3]
    ids = [p["id"] for p in bp.ok("GET", f"/product-service/product/{s.p3},{s.p1},999999")["response"]]
    assert ids == [s.p3, s.p1]
    ids = [p["id"] for p in bp.ok("GET", f"/product-service/product/1-5,{s.p1}-{s.p2}")["response"]]
    assert ids == [s.p1, s.p2]
    assert len(bp.ok("GET", "/product-service/product/1001-1200")["response"]) == 3  # exactly 200 is fine
    over = bp.get("/product-service/product/1001-1201")
    assert over.status_code == 400 and code(over)  # FIDELITY 'ID sets': over the cap 400, the code illustrative
    assert bp.get("/contact-service/contact/1-201").status_code == 400
    assert bp.get("/order-service/order/1-201").status_code == 400
    assert bp.get("/warehouse-service/order/*/goods-note/goods-out/1-501").status_code == 400
    assert bp.get("/warehouse-service/order/*/goods-note/goods-out/1-500").status_code == 200
    for bad in ("5-1", "a", "1,,2", "1-"):
        assert bp.get(f"/product-service/product/{bad}").status_code == 400, bad


def test_options_get_uris_only_existing_merged_and_chunked(bp: BP):
    """FIDELITY 'OPTIONS /product-service/product' (REC product_options.json; DOC utilities/options: only
    existing ids, ranges merged, <= 200 per URI, path relative to the service); REC
    customer__options__simple_options.json, order_options.json, product_price_options.json."""
    world = bp.sandbox.world.brightpearl
    extra = [world.add_product(f"EXTRA-{i}", f"Extra {i}", price=Decimal("1")) for i in range(250)]  # 1004..1253
    body = bp.ok("OPTIONS", "/product-service/product/1-1002,1004-1010,1500")
    assert body == {"response": {"getUris": ["/product/1001-1002,1004-1010"]}}
    everything = bp.ok("OPTIONS", "/product-service/product")["response"]["getUris"]
    assert everything == [f"/product/1001-1200", f"/product/1201-{extra[-1]}"]
    s = bp.shop
    assert bp.ok("OPTIONS", f"/contact-service/contact/{s.c1},{s.c3},5000") == {
        "response": {"getUris": [f"/contact/{s.c1},{s.c3}"]}}
    order = bp.sales_order()
    assert bp.ok("OPTIONS", f"/order-service/order/1-{order + 5}") == {"response": {"getUris": [f"/order/{order}"]}}
    assert bp.ok("OPTIONS", "/order-service/sales-order")["response"]["getUris"] == [f"/sales-order/{order}"]
    assert bp.ok("OPTIONS", "/product-service/product-price/1-1001")["response"]["getUris"] == ["/product-price/1001"]
    assert bp.ok("OPTIONS", "/product-service/product/1-10") == {"response": {"getUris": []}}


# ------------------------------------------------------------------------------------ searches


def test_search_shape_columns_sort_and_paging(bp: BP):
    """FIDELITY 'search paging' (REC order_search.json: 1-based firstResult, morePagesAvailable,
    resultsAvailable / resultsReturned, first-lastResult absent when empty, rows positional in columns order;
    sorting in metaData); REC product_search.json (reference productCategoryMembership); FIDELITY 'pageSize over
    500'."""
    world = bp.sandbox.world.brightpearl
    for i in range(7):
        world.add_product(f"PAGE-{i}", f"Paged {i}", price=Decimal("1"))
    body = bp.ok("GET", "/product-service/product-search?pageSize=4&firstResult=3&sort=productId.DESC&columns=productId,SKU")
    meta = body["response"]["metaData"]
    assert body["response"]["results"] == [[1008, "PAGE-4"], [1007, "PAGE-3"], [1006, "PAGE-2"], [1005, "PAGE-1"]]
    assert (meta["morePagesAvailable"], meta["resultsAvailable"], meta["resultsReturned"], meta["firstResult"],
            meta["lastResult"]) == (True, 10, 4, 3, 6)
    assert [c["name"] for c in meta["columns"]] == ["productId", "SKU"]
    assert meta["sorting"][0]["direction"] == "DESC" and meta["sorting"][0]["filterable"]["name"] == "productId"
    assert "productCategoryMembership" in body["reference"]
    empty = bp.ok("GET", "/product-service/product-search?SKU=nothing-like-this")
    meta = empty["response"]["metaData"]
    assert empty["response"]["results"] == [] and meta["resultsAvailable"] == 0 and meta["resultsReturned"] == 0
    assert "firstResult" not in meta and "lastResult" not in meta
    past = bp.ok("GET", "/product-service/product-search?firstResult=50")["response"]["metaData"]
    assert past["resultsReturned"] == 0 and "firstResult" not in past and past["resultsAvailable"] == 10
    big = bp.ok("GET", "/product-service/product-search?pageSize=5000")["response"]["metaData"]
    assert big["resultsReturned"] == 10  # clamped to 500, not an error


def test_product_search_columns_filters_and_raw_rows_match(bp: BP):
    """FIDELITY 'GET /product-service/product-search' (REC product_search.json: the 18 columns in recorded
    order, productStatus LIVE); FIDELITY 'search filter types' (SEARCH_STRING contains, BOOLEAN)."""
    s = bp.shop
    body = bp.ok("GET", "/product-service/product-search?SKU=sku-a")
    columns = [c["name"] for c in body["response"]["metaData"]["columns"]]
    assert columns == ["productId", "productName", "SKU", "barcode", "EAN", "UPC", "ISBN", "MPN", "stockTracked",
                       "salesChannelName", "createdOn", "updatedOn", "brightpearlCategoryCode", "productGroupId",
                       "brandId", "productTypeId", "productStatus", "primarySupplierId"]
    row = body["response"]["results"][0]
    assert row[0] == s.p1 and row[2] == "SKU-A" and row[8] is True and row[16] == "LIVE"
    assert bp.ok("GET", "/product-service/product-search?productName=SCARF")["response"]["results"][0][0] == s.p1
    tracked = bp.ok("GET", "/product-service/product-search?stockTracked=false&columns=productId")["response"]["results"]
    assert tracked == [[s.p3]]
    # the cached-bytes path and the dict path agree
    direct = bp.sandbox.world.brightpearl.search("product", {})
    assert bp.ok("GET", "/product-service/product-search") == direct


def test_period_filters(bp: BP):
    """FIDELITY 'search filter types' (REC order_search_bad_param.json; NOTES §4: PERIOD start/end, open start/
    or /end; AIRBYTE sends date-only bounds 2024-1-5/2024-1-6)."""
    world = bp.sandbox.world.brightpearl
    from datetime import datetime, timezone
    old = world.add_product("OLD", "Old thing", price=Decimal("1"), created_on=datetime(2024, 1, 5, 12, tzinfo=timezone.utc))
    q = "/product-service/product-search?columns=productId&createdOn="
    assert bp.ok("GET", q + "2024-01-01T00:00:00Z/2024-01-31T00:00:00Z")["response"]["results"] == [[old]]
    assert bp.ok("GET", q + "/2024-1-5")["response"]["results"] == [[old]]  # date-only end is inclusive of that day
    assert bp.ok("GET", q + "2024-1-6/")["response"]["results"] == [[1001], [1002], [1003]]
    assert bp.ok("GET", q + "2024-01-05T12:00:00.000%2B00:00/")["response"]["results"] == [[1001], [1002], [1003], [old]]
    assert bp.ok("GET", q + "2024-01-05T12:00:00.000+00:00/")["response"]["results"][-1] == [old]  # unencoded '+' tolerated
    assert bp.ok("GET", q + "2024-01-05T12:00:00.001+00:00/2024-02-01")["response"]["results"] == []


def test_search_meta_data(bp: BP):
    """NOTES §4 (`/{resource}-search/meta-data` describes columns; REC order_search.json: name, reportDataType,
    sortable, filterable)."""
    for path in ("/order-service/order-search/meta-data", "/product-service/product-search/meta-data",
                 "/contact-service/contact-search/meta-data", "/warehouse-service/goods-movement-search/meta-data",
                 "/accounting-service/customer-payment-search/meta-data", "/order-service/sales-order-search/meta-data",
                 "/warehouse-service/goods-note/goods-out-search/meta-data"):
        columns = bp.ok("GET", path)["response"]["columns"]
        assert columns and all({"name", "reportDataType", "sortable", "filterable"} <= set(c) for c in columns)


# ------------------------------------------------------------------------------------ products and stock


def test_product_get_shape(bp: BP):
    """FIDELITY 'GET /product-service/product/{idset}' (REC product_get_one.json: identity.sku,
    stock.stockTracked, financialDetails.taxCode {id, code}, salesChannels[].productName, version) and 'GET
    /product-service/product-price/{idset}' (REC product_price_get.json: 4-decimal quantityPrice strings)."""
    product = bp.ok("GET", f"/product-service/product/{bp.shop.p1}")["response"][0]
    assert product["identity"]["sku"] == "SKU-A"
    assert product["stock"]["stockTracked"] is True
    assert product["financialDetails"]["taxCode"] == {"id": 1, "code": "T1"}
    assert product["salesChannels"][0]["productName"] == "Alpine Scarf"
    assert isinstance(product["version"], int)
    assert set(product["warehouses"]) == {str(bp.shop.wh1), str(bp.shop.wh2)}
    price = bp.ok("GET", f"/product-service/product-price/{bp.shop.p1}")["response"][0]
    assert {p["priceListId"]: p["quantityPrice"] for p in price["priceLists"]}[2] == {"1": "14.4000"}


def test_product_post_and_validation(bp: BP):
    """FIDELITY 'POST /product-service/product' (REC product_post.json;
    product_post_error_missing_required.json: no brandId is 400 PRDC-014 'You must supply a brand ID.')."""
    body = {"brandId": 74, "identity": {"sku": "NEW-1"}, "financialDetails": {"taxable": True, "taxCode": {"id": 2, "code": "T5"}},
            "salesChannels": [{"salesChannelName": "Brightpearl", "productName": "New product", "categories": [{"categoryCode": 296}]}]}
    new_id = bp.ok("POST", "/product-service/product", body)["response"]
    assert isinstance(new_id, int)
    product = bp.ok("GET", f"/product-service/product/{new_id}")["response"][0]
    assert product["identity"]["sku"] == "NEW-1" and product["financialDetails"]["taxCode"]["code"] == "T5"
    assert bp.ok("GET", "/product-service/product-search?SKU=NEW-1&columns=productId")["response"]["results"] == [[new_id]]
    missing_brand = bp.post("/product-service/product", {**body, "brandId": None})
    assert missing_brand.status_code == 400
    assert missing_brand.json() == {"errors": [{"code": "PRDC-014", "message": "You must supply a brand ID."}]}
    assert bp.post("/product-service/product", {**body, "financialDetails": {"taxCode": {"code": "ZZ"}}}).status_code == 400
    assert bp.post("/product-service/product", {**body, "salesChannels": []}).status_code == 400


def test_availability_and_stock_corrections_show_in_goods_movements(bp: BP):
    s = bp.shop
    availability = bp.ok("GET", f"/warehouse-service/product-availability/{s.p1},{s.p2},99")["response"]
    assert set(availability) == {str(s.p1), str(s.p2)}  # unknown ids are left out
    assert availability[str(s.p1)] == {
        "total": {"inStock": 14, "onHand": 14, "allocated": 0, "inTransit": 0},
        "warehouses": {str(s.wh1): {"inStock": 10, "onHand": 10, "allocated": 0, "inTransit": 0},
                       str(s.wh2): {"inStock": 4, "onHand": 4, "allocated": 0, "inTransit": 0}}}
    location = bp.ok("GET", f"/warehouse-service/warehouse/{s.wh1}/location/default")["response"]
    before = bp.ok("GET", "/warehouse-service/goods-movement-search")["response"]["metaData"]["resultsAvailable"]
    body = {"corrections": [{"quantity": 6, "productId": s.p2, "reason": "Found a box", "locationId": location,
                             "cost": {"currency": "GBP", "value": 1.5}},
                            {"quantity": -2, "productId": s.p1, "reason": "Damaged"}]}
    notes = bp.ok("POST", f"/warehouse-service/warehouse/{s.wh1}/stock-correction", body)["response"]
    assert isinstance(notes, list) and len(notes) == 2 and all(isinstance(n, int) for n in notes)
    availability = bp.ok("GET", f"/warehouse-service/product-availability/{s.p1},{s.p2}")["response"]
    assert availability[str(s.p2)]["total"]["onHand"] == 9 and availability[str(s.p1)]["total"]["onHand"] == 12
    search = bp.ok("GET", "/warehouse-service/goods-movement-search?updatedOn=2020-01-01T00:00:00Z/&sort=updatedOn.ASC")
    meta = search["response"]["metaData"]
    # the documented columns in documented order (api-docs warehouse/goods-movement/search.html), then updatedOn
    columns = [c["name"] for c in meta["columns"]]
    assert columns == ["goodsMovementId", "productId", "salesOrderRowId", "purchaseOrderRowId", "quantity",
                       "destinationLocationId", "warehouseId", "goodsNoteId", "productValue", "currencyCode", "orderId",
                       "isCleared", "isQuarantine", "batchId", "goodsNoteTypeCode", "updatedOn"]
    assert meta["resultsAvailable"] == before + 2
    last_two = [dict(zip(columns, row)) for row in search["response"]["results"][-2:]]
    assert [(r["productId"], r["quantity"], r["goodsNoteTypeCode"], r["goodsNoteId"]) for r in last_two] == [
        (s.p2, 6, "SC", notes[0]), (s.p1, -2, "SC", notes[1])]
    assert meta["sorting"][0]["filterable"]["name"] == "updatedOn"
    filtered = bp.ok("GET", f"/warehouse-service/goods-movement-search?productId={s.p2}&warehouseId={s.wh1}&columns=quantity")
    assert [r[0] for r in filtered["response"]["results"]] == [3, 6]
    got = bp.ok("GET", f"/warehouse-service/warehouse/{s.wh1}/stock-correction/{notes[0]}")["response"][0]
    assert got["goodsMoved"][0]["quantity"] == 6


def test_stock_correction_cannot_go_below_zero_and_is_atomic(bp: BP):
    """FIDELITY 'POST /warehouse-service/warehouse/{warehouseId}/stock-correction' (DOC
    warehouse/stock-correction/post.html; on hand cannot go below zero; error codes illustrative, so only the
    envelope is asserted)."""
    s = bp.shop
    body = {"corrections": [{"quantity": 5, "productId": s.p2, "reason": "x"}, {"quantity": -11, "productId": s.p1, "reason": "x"}]}
    response = bp.post(f"/warehouse-service/warehouse/{s.wh1}/stock-correction", body)
    assert response.status_code == 400 and set(response.json()) == {"errors"}
    availability = bp.ok("GET", f"/warehouse-service/product-availability/{s.p2}")["response"]
    assert availability[str(s.p2)]["total"]["onHand"] == 3  # nothing applied
    assert bp.post(f"/warehouse-service/warehouse/{s.wh1}/stock-correction",
                   {"corrections": [{"quantity": 1, "productId": s.p3, "reason": "x"}]}).status_code == 400
    assert bp.post("/warehouse-service/warehouse/99/stock-correction",
                   {"corrections": [{"quantity": 1, "productId": s.p1, "reason": "x"}]}).status_code == 404


# ------------------------------------------------------------------------------------ contacts


def test_postal_address_and_contact_create_get(bp: BP):
    """FIDELITY 'POST /contact-service/postal-address' (DOC contact/postal-address/post.html), 'GET
    /contact-service/postal-address/{idset}' and 'POST /contact-service/contact' (NOTES §6; REC
    customer__get__simple_get.json)."""
    address_id = bp.ok("POST", "/contact-service/postal-address", {
        "addressLine1": "2 Low Rd", "addressLine2": "Barton", "addressLine3": "Sheffield", "addressLine4": "S Yorks",
        "postalCode": "S1 4RT", "countryIsoCode": "GBR"})["response"]
    address = bp.ok("GET", f"/contact-service/postal-address/{address_id}")["response"][0]
    assert (address["addressId"], address["countryIsoCode"], address["countryIsoCode2"], address["countryId"]) == (
        address_id, "GBR", "GB", 222)
    contact_id = bp.ok("POST", "/contact-service/contact", {
        "salutation": "Ms", "firstName": "Zoë", "lastName": "Ní Bhriain",
        "postAddressIds": {"DEF": address_id, "BIL": address_id, "DEL": address_id},
        "communication": {"emails": {"PRI": {"email": "zoe@example.ie"}}, "telephones": {"PRI": "+353 1", "MOB": "+353 2"}},
    })["response"]
    body = bp.ok("GET", f"/contact-service/contact/{contact_id}")
    contact = body["response"][0]
    assert contact["firstName"] == "Zoë" and contact["communication"]["emails"]["PRI"]["email"] == "zoe@example.ie"
    assert contact["postAddressIds"] == {"DEF": address_id, "BIL": address_id, "DEL": address_id}
    assert contact["communication"]["telephones"] == {"PRI": "+353 1", "MOB": "+353 2"}
    assert body["pagination"] == {"morePagesAvailable": False, "resultsReturned": 1, "firstResult": 1, "lastResult": 1}
    too_long = bp.post("/contact-service/contact", {"firstName": "x" * 33, "lastName": "y"})
    assert too_long.status_code == 400 and set(too_long.json()) == {"errors"}
    assert bp.post("/contact-service/contact", {"firstName": "a", "postAddressIds": {"DEF": 1}}).status_code == 400
    assert bp.post("/contact-service/postal-address", {"addressLine1": "x", "countryIsoCode": "XXX"}).status_code == 400
    assert bp.post("/contact-service/postal-address", {"countryIsoCode": "GBR"}).status_code == 400


def test_contact_search_is_fuzzy_and_lists_recorded_columns(bp: BP):
    """FIDELITY 'GET /contact-service/contact-search' (REC customer__search__simple_search.json: 21 columns in
    recorded order, primaryEmail a fuzzy SEARCH_STRING returning several); NOTES §6."""
    s = bp.shop
    body = bp.ok("GET", "/contact-service/contact-search?primaryEmail=ann@example.com")
    assert [r[0] for r in body["response"]["results"]] == [s.c1, s.c2]  # fuzzy, case-insensitive, several
    columns = [c["name"] for c in body["response"]["metaData"]["columns"]]
    assert len(columns) == 21 and columns[:6] == ["contactId", "primaryEmail", "secondaryEmail", "tertiaryEmail", "firstName", "lastName"]
    assert columns[-2:] == ["exactCompanyName", "title"]
    row = body["response"]["results"][0]
    assert row[1] == "ann@example.com" and row[9] is True and row[16] == "+44 7000"
    assert body["reference"] == {}


def test_contact_list_pages_200(bp: BP):
    """FIDELITY 'GET /contact-service/contact' (NOTES §4: contact GET without an ID set pages 200 by firstResult
    / pageSize)."""
    world = bp.sandbox.world.brightpearl
    for i in range(205):
        world.add_contact(first_name=f"P{i}", last_name="Page", email=None)
    first = bp.ok("GET", "/contact-service/contact")
    assert len(first["response"]) == 200 and first["pagination"]["morePagesAvailable"] is True
    second = bp.ok("GET", "/contact-service/contact?firstResult=201")
    assert len(second["response"]) == 8 and second["pagination"]["morePagesAvailable"] is False
    assert second["pagination"]["firstResult"] == 201


# ------------------------------------------------------------------------------------ sales orders


def test_sales_order_create_and_order_get_shape(bp: BP):
    """FIDELITY 'POST /order-service/sales-order' (DOC order/sales-order/post.html) and 'GET
    /order-service/order/{idset}' (REC order_get_one.json: orderRows keyed by row id, totalValue strings, status
    codes); FIDELITY 'allocation on order create' (HELP 211131266) and 'derived order state'."""
    s = bp.shop
    order_id = bp.sales_order(externalRef="nop-1001", installedIntegrationInstanceId=7,
                              delivery={"date": "2026-01-08", "shippingMethodId": 2,
                                        "address": {"addressFullName": "Ann Lee", "addressLine1": "9 Side St",
                                                    "postalCode": "D02", "countryIsoCode": "IE"}})
    order = bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]
    assert order["id"] == order_id and order["orderTypeCode"] == "SO" and order["reference"] == "WEB-1"
    assert order["orderStatus"] == {"orderStatusId": 2, "name": "New web order"}
    assert order["totalValue"] == {"net": "25.00", "taxAmount": "4.25", "baseNet": "25.00", "baseTaxAmount": "4.25",
                                   "baseTotal": "29.25", "total": "29.25"}
    assert order["orderPaymentStatus"] == "UNPAID" and order["shippingStatusCode"] == "SNS"
    # the web channel's new order allocates the stock on hand (help 211131266 "Understanding Inventory Levels")
    assert order["stockStatusCode"] == "SOA" and order["allocationStatusCode"] == "AAA"
    rows = order["orderRows"]
    assert all(key.isdigit() for key in rows)
    first = rows[min(rows, key=int)]
    assert first["productId"] == s.p1 and first["productSku"] == "SKU-A"
    assert first["quantity"] == {"magnitude": "2.0000"}
    assert first["rowValue"]["rowNet"] == {"currencyCode": "GBP", "value": "20.0000"}
    assert first["rowValue"]["rowTax"] == {"currencyCode": "GBP", "value": "4.00"}
    assert first["rowValue"]["taxCode"] == "T1" and first["rowValue"]["taxRate"] == "20.0000"
    parties = order["parties"]
    assert parties["customer"]["contactId"] == s.c1 and parties["customer"]["countryIsoCode"] == "GB"
    assert parties["customer"]["countryIsoCode3"] == "GBR"
    assert parties["delivery"]["addressLine1"] == "9 Side St" and parties["delivery"]["countryIsoCode"] == "IE"
    assert order["delivery"]["shippingMethodId"] == 2 and order["delivery"]["deliveryDate"].startswith("2026-01-08T00:00:00.000")
    assert order["placedOn"] == "2026-01-05T10:00:00.000+00:00"
    sales = bp.ok("GET", f"/order-service/sales-order/{order_id}")["response"][0]
    assert sales["externalRef"] == "nop-1001" and sales["installedIntegrationInstanceId"] == 7
    assert sales["total"]["gross"] == "29.25" and isinstance(sales["rows"], list) and sales["rows"][0]["sku"] == "SKU-A"
    search = bp.ok("GET", "/order-service/order-search?externalRef=nop-1001&installedIntegrationInstanceId=7")
    assert [r[0] for r in search["response"]["results"]] == [order_id]
    result = search["response"]["results"][0]
    assert result[12] == "nop-1001" and result[13] == 7 and result[7] == "WEB-1"
    assert search["reference"]["orderTypeNames"]["1"] == "SALES_ORDER"
    assert search["reference"]["orderStatusNames"] == {"2": "New web order"}
    so_search = bp.ok("GET", f"/order-service/sales-order-search?productIds={s.p2}&columns=salesOrderId,orderPaymentStatus")
    assert so_search["response"]["results"] == [[order_id, "UNPAID"]]


def test_sales_order_is_atomic_a_bad_row_creates_nothing(bp: BP):
    """DOC order/sales-order/post.html and NOTES §5: the sales-order POST is atomic with its rows (FIDELITY
    'POST /order-service/sales-order'), so a bad row creates nothing; the refusal codes are illustrative."""
    s = bp.shop
    cases = [
        [{"productId": s.p1, "quantity": 1}, {"productId": 999999, "quantity": 1}],  # unknown product
        [{"productId": s.p1, "quantity": 1, "taxCode": "NOPE"}],  # unknown tax code
        [{"productId": s.p1, "quantity": -1}],
        [{"quantity": 1, "net": "1.00"}],  # neither product nor name
    ]
    for rows in cases:
        response = bp.post("/order-service/sales-order", {"customer": {"id": s.c1}, "rows": rows})
        assert response.status_code == 400, rows
        assert response.json()["errors"][0]["code"].startswith("ORDC-")
    assert bp.post("/order-service/sales-order", {"customer": {"id": 99999}, "rows": []}).status_code == 400
    assert bp.post("/order-service/sales-order", {"customer": {"id": s.c1}, "statusId": 77}).status_code == 400
    assert bp.post("/order-service/sales-order", {"customer": {"id": s.c1}, "statusId": 10}).status_code == 400  # SC status
    assert bp.post("/order-service/sales-order", {"rows": []}).status_code == 400
    assert bp.state()["orders"] == 0
    assert bp.ok("GET", "/order-service/order-search")["response"]["metaData"]["resultsAvailable"] == 0
    free_text = bp.sales_order(rows=[{"name": "Shipping", "quantity": 1, "net": "4.12", "tax": "0.83", "taxCode": "T1",
                                      "nominalCode": "4040"}])
    assert bp.ok("GET", f"/order-service/order/{free_text}")["response"][0]["shippingStatusCode"] == "NST"


def test_external_ref_is_unique_per_integration_instance(bp: BP):
    """Sales Order POST doc (api-docs order/sales-order/post.html): a repeat of externalRef +
    installedIntegrationInstanceId answers 200 and changes nothing. The body (the existing id, or
    none) is inferred: `duplicate_sales_order_reply`."""
    first = bp.sales_order(externalRef="nop-7", installedIntegrationInstanceId=3)
    repeat = {"customer": {"id": bp.shop.c1}, "externalRef": "nop-7", "installedIntegrationInstanceId": 3, "rows": []}
    duplicate = bp.post("/order-service/sales-order", repeat)
    assert (duplicate.status_code, duplicate.json()) == (200, {"response": first})
    assert bp.state()["orders"] == 1
    assert len(bp.ok("GET", f"/order-service/order/{first}")["response"][0]["orderRows"]) == 2  # unchanged
    bp.control("PUT", "/fidelity", {"duplicate_sales_order_reply": "empty"})
    assert (bp.post("/order-service/sales-order", repeat).status_code, bp.state()["orders"]) == (200, 1)
    assert bp.post("/order-service/sales-order", repeat).json() == {}
    other_instance = bp.sales_order(externalRef="nop-7", installedIntegrationInstanceId=4)
    assert other_instance != first and bp.state()["orders"] == 2


def test_legacy_order_and_row_posts(bp: BP):
    """FIDELITY 'POST /order-service/order' (REC order_post_error_missing_required.json ORDC-005,
    order_post_error_unknown.json ORDC-006, order_post_error_wrong_party.json ORDC-022 'Suppllier ID Required.',
    order_post_so.json) and 'POST /order-service/order/{orderId}/row' (REC order_row_post.json)."""
    s = bp.shop
    assert errors(bp.post("/order-service/order", {"reference": "#0001"})) == [("ORDC-005", "You have not supplied an order type code")]
    assert code(bp.post("/order-service/order", {"reference": "#1", "orderTypeCode": "UK", "parties": {"customer": {"contactId": s.c1}}})) == "ORDC-006"
    assert errors(bp.post("/order-service/order", {"reference": "#1", "orderTypeCode": "PO", "parties": {"customer": {"contactId": s.c1}}})) == [
        ("ORDC-022", "Suppllier ID Required.")]
    order_id = bp.ok("POST", "/order-service/order", {"reference": "#0001", "orderTypeCode": "SO",
                                                      "parties": {"customer": {"contactId": s.c1}}})["response"]
    row_id = bp.ok("POST", f"/order-service/order/{order_id}/row", {
        "productId": s.p1, "quantity": {"magnitude": 5}, "rowValue": {"taxCode": "T1", "rowNet": {"value": 100}, "rowTax": {"value": 20}},
        "nominalCode": "4000"})["response"]
    named = bp.ok("POST", f"/order-service/order/{order_id}/row", {
        "productName": "Engraving", "quantity": {"magnitude": 1}, "rowValue": {"taxCode": "T1", "rowNet": {"value": 10}, "rowTax": {"value": 2}}})["response"]
    order = bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]
    assert set(order["orderRows"]) == {str(row_id), str(named)}
    assert order["totalValue"]["total"] == "132.00" and order["reference"] == "#0001"
    assert bp.post(f"/order-service/order/{order_id}/row", {"productId": 12345, "quantity": {"magnitude": 1}}).status_code == 400
    assert bp.post("/order-service/order/424242/row", {"productName": "x", "quantity": {"magnitude": 1}}).status_code == 404


def test_order_status_put(bp: BP):
    """FIDELITY 'PUT /order-service/order/{orderId}/status' (REC order_status_update_put.json: {orderStatusId,
    orderNote} -> {}; DOC order/order-status-update/put.html: a note is added)."""
    order_id = bp.sales_order()
    assert bp.ok("PUT", f"/order-service/order/{order_id}/status", {"orderStatusId": 7, "orderNote": {"text": "Packed", "isPublic": False}}) == {}
    order = bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]
    assert order["orderStatus"] == {"orderStatusId": 7, "name": "Ready to ship"}
    assert bp.put(f"/order-service/order/{order_id}/status", {"orderStatusId": 999}).status_code == 400
    assert bp.put(f"/order-service/order/{order_id}/status", {"orderStatusId": "x"}).status_code == 400
    bp.ok("POST", "/accounting-service/customer-payment", {"transactionRef": "T-1", "paymentMethodCode": "CARD",
                                                           "paymentType": "RECEIPT", "orderId": order_id, "amountPaid": 1,
                                                           "currencyIsoCode": "GBP", "paymentDate": "2026-01-05T10:00:00Z"})
    refused = bp.put(f"/order-service/order/{order_id}/status", {"orderStatusId": 5})
    assert refused.status_code == 400 and "payments" in refused.json()["errors"][0]["message"]
    other = bp.sales_order()
    bp.control("POST", f"/orders/{other}/fulfil", {"ship": False})
    assert bp.put(f"/order-service/order/{other}/status", {"orderStatusId": 5}).status_code == 400
    clean = bp.sales_order()
    assert bp.ok("PUT", f"/order-service/order/{clean}/status", {"orderStatusId": 5}) == {}
    assert bp.ok("GET", f"/order-service/sales-order/{clean}")["response"][0]["isCanceled"] is True


# ------------------------------------------------------------------------------------ reservations


def test_reservations_allocate_partially_and_show_in_availability(bp: BP):
    s = bp.shop
    # phone orders are entered by hand: not allocated on create (help 211131506), so reserved here
    order_id = bp.sales_order(rows=[{"productId": s.p1, "quantity": 2}, {"productId": s.p2, "quantity": 5}], channelId=2)
    rows = bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]["orderRows"]
    r1, r2 = sorted(rows, key=int)
    body = {"products": [{"productId": str(s.p1), "salesOrderRowId": r1, "quantity": "2"},
                         {"productId": s.p2, "salesOrderRowId": int(r2), "quantity": 5}]}
    assert bp.ok("POST", f"/warehouse-service/order/{order_id}/reservation/warehouse/{s.wh1}", body) == {}
    reservation = bp.ok("GET", f"/warehouse-service/order/{order_id}/reservation")["response"]
    assert reservation == [{"orderId": order_id, "warehouseId": s.wh1, "orderRows": {
        r1: {"productId": s.p1, "quantity": 2}, r2: {"productId": s.p2, "quantity": 3}}}]  # only 3 of p2 in stock
    availability = bp.ok("GET", f"/warehouse-service/product-availability/{s.p1},{s.p2}")["response"]
    assert availability[str(s.p1)]["warehouses"][str(s.wh1)] == {"inStock": 10, "onHand": 8, "allocated": 2, "inTransit": 0}
    assert availability[str(s.p2)]["total"] == {"inStock": 3, "onHand": 0, "allocated": 3, "inTransit": 0}
    order = bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]
    assert order["allocationStatusCode"] == "APA" and order["stockStatusCode"] == "SOP"
    again = bp.post(f"/warehouse-service/order/{order_id}/reservation/warehouse/{s.wh1}", body)
    assert again.status_code == 400  # one reservation per order and warehouse
    second = bp.sales_order(rows=[{"productId": s.p2, "quantity": 1}], channelId=2)
    row = next(iter(bp.ok("GET", f"/order-service/order/{second}")["response"][0]["orderRows"]))
    none_left = bp.post(f"/warehouse-service/order/{second}/reservation/warehouse/{s.wh1}",
                        {"products": [{"productId": s.p2, "salesOrderRowId": row, "quantity": 1}]})
    assert none_left.status_code == 400 and set(none_left.json()) == {"errors"}
    bad_row = bp.post(f"/warehouse-service/order/{second}/reservation/warehouse/{s.wh1}",
                      {"products": [{"productId": s.p2, "salesOrderRowId": 1, "quantity": 1}]})
    assert bad_row.status_code == 400
    assert bp.call("DELETE", f"/warehouse-service/order/{order_id}/reservation/warehouse/{s.wh1}").status_code == 200
    assert bp.get(f"/warehouse-service/order/{order_id}/reservation").status_code == 404


# ------------------------------------------------------------------------------------ goods-out notes


def _reserve_all(bp: BP, order_id: int, warehouse_id: int) -> dict[str, dict]:
    rows = bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]["orderRows"]
    products = [{"productId": r["productId"], "salesOrderRowId": int(k), "quantity": int(float(r["quantity"]["magnitude"]))}
                for k, r in rows.items()]
    bp.ok("POST", f"/warehouse-service/order/{order_id}/reservation/warehouse/{warehouse_id}", {"products": products})
    return rows


def test_goods_out_note_lifecycle(bp: BP):
    """FIDELITY 'POST /warehouse-service/order/{orderId}/goods-note/goods-out' (DOC
    warehouse/goods-out-note/post.html; NOTES §8), 'GET
    /warehouse-service/order/{orderIds}/goods-note/goods-out' (REC goods_out_note__get__all_for_order.json),
    'stock levels' (HELP 211131266: the note's units stay allocated until shipped)."""
    s = bp.shop
    order_id = bp.sales_order(channelId=2)  # not allocated on create: reserved by hand
    rows = _reserve_all(bp, order_id, s.wh1)
    r1, r2 = sorted(rows, key=int)
    body = {"warehouses": [{"releaseDate": "2026-01-06T09:00:00Z", "warehouseId": s.wh1, "transfer": False,
                            "products": [{"productId": s.p1, "salesOrderRowId": int(r1), "quantity": 2},
                                         {"productId": s.p2, "salesOrderRowId": int(r2), "quantity": 1}]}],
            "priority": False, "shippingMethodId": 1}
    notes = bp.ok("POST", f"/warehouse-service/order/{order_id}/goods-note/goods-out", body)["response"]
    assert isinstance(notes, list) and len(notes) == 1
    note_id = notes[0]
    assert bp.get(f"/warehouse-service/order/{order_id}/reservation").status_code == 404  # moved onto the note
    availability = bp.ok("GET", f"/warehouse-service/product-availability/{s.p1}")["response"][str(s.p1)]
    assert availability["warehouses"][str(s.wh1)] == {"inStock": 10, "onHand": 8, "allocated": 2, "inTransit": 0}
    got = bp.ok("GET", f"/warehouse-service/order/{order_id}/goods-note/goods-out")["response"]
    assert list(got) == [str(note_id)]
    note = got[str(note_id)]
    assert note["orderId"] == order_id and note["warehouseId"] == s.wh1 and note["status"]["shipped"] is False
    assert note["orderRows"][r1] == [{"productId": s.p1, "quantity": 2, "locationId": 100 + s.wh1}]
    assert note["events"][0]["eventCode"] == "PLA" and isinstance(note["lastEventVersion"], int)
    assert note["shipping"] == {"reference": "", "shippingMethodId": 1}
    by_id = bp.ok("GET", f"/warehouse-service/order/*/goods-note/goods-out/{note_id}")["response"]
    assert list(by_id) == [str(note_id)]
    too_long = bp.put(f"/warehouse-service/goods-note/goods-out/{note_id}", {"shipping": {"reference": "x" * 65}})
    assert too_long.status_code == 400
    assert bp.ok("PUT", f"/warehouse-service/goods-note/goods-out/{note_id}",
                 {"priority": True, "shipping": {"shippingMethodId": 2, "reference": "1Z999", "boxes": 1, "weight": "1.2"}}) == {}
    assert bp.post(f"/warehouse-service/goods-note/goods-out/{note_id}/event",
                   {"events": [{"eventCode": "XXX", "occured": "2026-01-06T10:00:00Z", "eventOwnerId": 4}]}).status_code == 400
    stale = bp.post(f"/warehouse-service/goods-note/goods-out/{note_id}/event",
                    {"events": [{"eventCode": "PRI", "occured": "2026-01-06T10:00:00Z", "eventOwnerId": 4}]},
                    headers={**PRIVATE, "If-Match": "1"})
    assert stale.status_code == 412
    assert bp.ok("POST", f"/warehouse-service/goods-note/goods-out/{note_id}/event",
                 {"events": [{"eventCode": "PRI", "occured": "2026-01-06T10:00:00Z", "eventOwnerId": 4}]}) == {}
    assert bp.ok("POST", f"/warehouse-service/goods-note/goods-out/{note_id}/event",
                 {"events": [{"eventCode": "SHW", "occured": "2026-01-06T11:00:00.000Z", "eventOwnerId": 4}]}) == {}
    note = bp.ok("GET", f"/warehouse-service/order/{order_id}/goods-note/goods-out/{note_id}")["response"][str(note_id)]
    status = note["status"]
    assert (status["shipped"], status["packed"], status["picked"], status["printed"]) == (True, True, True, True)
    assert status["shippedOn"] == "2026-01-06T11:00:00.000+00:00" and status["printedOn"] == "2026-01-06T10:00:00.000+00:00"
    assert [e["eventCode"] for e in note["events"]] == ["PLA", "PRI", "SHW", "PIC", "PAC"]
    assert note["shipping"] == {"reference": "1Z999", "shippingMethodId": 2, "boxes": 1, "weight": "1.2"}
    after = bp.post(f"/warehouse-service/goods-note/goods-out/{note_id}/event",
                    {"events": [{"eventCode": "UPR", "occured": "2026-01-06T12:00:00Z", "eventOwnerId": 4}]})
    assert after.status_code == 400
    assert bp.put(f"/warehouse-service/goods-note/goods-out/{note_id}", {"shipping": {"reference": "late"}}).status_code == 400
    availability = bp.ok("GET", f"/warehouse-service/product-availability/{s.p1}")["response"][str(s.p1)]
    assert availability["warehouses"][str(s.wh1)] == {"inStock": 8, "onHand": 8, "allocated": 0, "inTransit": 0}
    movements = bp.ok("GET", f"/warehouse-service/goods-movement-search?goodsNoteId={note_id}"
                             "&columns=productId,quantity,goodsNoteTypeCode,orderId,salesOrderRowId")["response"]["results"]
    assert sorted(tuple(m) for m in movements) == sorted([(s.p1, -2, "GO", order_id, int(r1)), (s.p2, -1, "GO", order_id, int(r2))])
    order = bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]
    assert order["shippingStatusCode"] == "ASS" and order["stockStatusCode"] == "SOA"
    search = bp.ok("GET", f"/warehouse-service/goods-note/goods-out-search?orderId={order_id}&shipped=true"
                          "&shippedOn=2026-01-06T00:00:00Z/&columns=goodsOutNoteId,shippedOn")
    assert search["response"]["results"] == [[note_id, "2026-01-06T11:00:00.000+00:00"]]


def test_goods_out_note_validation_and_partial_shipping(bp: BP):
    """FIDELITY 'POST /warehouse-service/order/{orderId}/goods-note/goods-out' (DOC
    warehouse/goods-out-note/post.html: partial fulfilment allowed; more than ordered, no products, an unknown
    warehouse refused) and REC order_shipping_status_get.json (SPS 'Stock part shipped')."""
    s = bp.shop
    order_id = bp.sales_order(rows=[{"productId": s.p1, "quantity": 3}])
    row = int(next(iter(bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]["orderRows"])))
    url = f"/warehouse-service/order/{order_id}/goods-note/goods-out"
    assert bp.post(url, {"warehouses": [{"warehouseId": s.wh1, "products": [{"productId": s.p1, "salesOrderRowId": row, "quantity": 4}]}]}).status_code == 400
    assert bp.post(url, {"warehouses": [{"warehouseId": s.wh1, "products": []}]}).status_code == 400
    assert bp.post(url, {"warehouses": [{"warehouseId": 77, "products": [{"productId": s.p1, "salesOrderRowId": row, "quantity": 1}]}]}).status_code == 400
    assert bp.post(url, {"warehouses": [{"warehouseId": s.wh2, "products": [{"productId": s.p1, "salesOrderRowId": row, "quantity": 5}]}]}).status_code == 400
    assert bp.state()["goods_out_notes"] == 0
    first = bp.ok("POST", url, {"warehouses": [{"warehouseId": s.wh1, "products": [{"productId": s.p1, "salesOrderRowId": row, "quantity": 1}]}]})["response"][0]
    bp.control("POST", f"/goods-out-notes/{first}/ship", {"tracking_reference": "TRK1"})
    assert bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]["shippingStatusCode"] == "SPS"


# ------------------------------------------------------------------------------------ payments


def _payment(bp: BP, order_id: int, timeout: float = 15, **overrides) -> requests.Response:
    body = {"transactionRef": "REF-1", "transactionCode": "CODE-1", "paymentMethodCode": "CARD", "paymentType": "RECEIPT",
            "orderId": order_id, "currencyIsoCode": "GBP", "exchangeRate": 1.0, "amountPaid": 10.0,
            "paymentDate": "2026-01-05T10:00:00-06:00", "journalRef": "receipt"}
    body.update(overrides)
    return bp.post("/accounting-service/customer-payment", body, timeout=timeout)


def test_customer_payments_status_uniqueness_search_and_delete(bp: BP):
    order_id = bp.sales_order()  # gross 29.25
    first = _payment(bp, order_id)
    assert first.status_code == 200 and isinstance(first.json()["response"], int)
    assert bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]["orderPaymentStatus"] == "PARTIALLY_PAID"
    duplicate = _payment(bp, order_id)  # transactionRef + paymentMethodCode are checked for uniqueness (POST doc)
    assert duplicate.status_code == 400
    assert bp.state()["payments"] == 1
    assert _payment(bp, order_id, paymentMethodCode="PAYPAL", amountPaid="19.25").status_code == 200  # other method: fine
    assert bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]["orderPaymentStatus"] == "PAID"
    search = bp.ok("GET", f"/accounting-service/customer-payment-search?orderId={order_id}")
    results = search["response"]["results"]
    assert [r[3] for r in results] == ["CARD", "PAYPAL"]
    assert results[0][1:10] == ["REF-1", "CODE-1", "CARD", "RECEIPT", order_id, 1, "GBP", "0.00", "10.00"]
    assert results[0][11] == "2026-01-05T10:00:00.000-06:00" and isinstance(results[0][13], int)
    assert search["reference"] == {}
    assert bp.ok("DELETE", f"/accounting-service/customer-payment/{results[1][0]}") == {}
    assert bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]["orderPaymentStatus"] == "PARTIALLY_PAID"
    assert bp.call("DELETE", f"/accounting-service/customer-payment/{results[1][0]}").status_code == 404
    refund = _payment(bp, order_id, transactionRef="R-2", paymentType="PAYMENT", amountPaid=10)
    assert refund.status_code == 200
    assert bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]["orderPaymentStatus"] == "UNPAID"
    for bad in ({"paymentMethodCode": None}, {"paymentType": "GIFT"}, {"orderId": 4242}, {"paymentDate": None},
                {"amountPaid": "ten"}, {"transactionRef": "x" * 65}, {"currencyIsoCode": None}):
        response = _payment(bp, order_id, **{"transactionRef": "new", **bad})
        assert response.status_code == 400, bad
    auth = _payment(bp, order_id, transactionRef="A-1", paymentType="AUTH", amountAuthorized=5, amountPaid=None,
                    authorizationExpiry="2026-01-12T10:00:00Z")
    assert auth.status_code == 200
    zero = bp.sales_order(rows=[])
    assert bp.ok("GET", f"/order-service/order/{zero}")["response"][0]["orderPaymentStatus"] == "NOT_APPLICABLE"


# ------------------------------------------------------------------------------------ sales credits


def test_sales_credit_create_get_and_search(bp: BP):
    """FIDELITY 'GET /order-service/sales-credit/{idset}' (DOC order/sales-credit/get.html), 'credit parent',
    'credit payment status' (HELP 360032990492: money paid out settles a credit); REC order_search.json
    (parentOrderId column)."""
    s = bp.shop
    order_id = bp.sales_order()
    credit = bp.ok("POST", "/order-service/sales-credit", {
        "customer": {"id": s.c1}, "parentId": order_id, "ref": "RMA-1", "warehouseId": s.wh1,
        "rows": [{"productId": s.p1, "quantity": 1, "taxCode": "T1", "net": "10.00", "tax": "2.00", "nominalCode": "4000"}]})["response"]
    order = bp.ok("GET", f"/order-service/order/{credit}")["response"][0]
    assert order["orderTypeCode"] == "SC" and order["parentOrderId"] == order_id
    assert order["orderStatus"]["orderStatusId"] == 10
    assert bp.ok("GET", f"/order-service/sales-credit/{credit}")["response"][0]["parentId"] == order_id
    assert bp.ok("GET", f"/order-service/sales-credit/{order_id}")["response"] == []  # a sales order is not a credit
    results = bp.ok("GET", "/order-service/order-search?orderTypeId=3")["response"]["results"]
    assert [(r[0], r[1], r[10]) for r in results] == [(credit, 3, order_id)]
    assert bp.post("/order-service/sales-credit", {"customer": {"id": s.c1}, "parentId": 424242}).status_code == 400
    _payment(bp, credit, transactionRef="REFUND-1", paymentType="PAYMENT", amountPaid="12.00")
    assert bp.ok("GET", f"/order-service/order/{credit}")["response"][0]["orderPaymentStatus"] == "PAID"


# ------------------------------------------------------------------------------------ reference data


@pytest.mark.parametrize("path,key,expected", [
    ("/accounting-service/tax-code", "code", ["T1", "T5", "T0", "Z"]),
    ("/order-service/order-type", "name", ["Sales Order", "Purchase Order", "Sales Credit", "Purchase Credit"]),
    ("/order-service/order-shipping-status", "code", ["NST", "SNS", "SPS", "ASS"]),
    ("/order-service/order-stock-status", "name", ["None", "Partial", "All", "Unset"]),
    ("/product-service/channel", "name", ["nopCommerce web store", "Phone & mail order", "Marketplace"]),
    ("/warehouse-service/shipping-method", "name", ["Standard", "Express", "Click & collect"]),
    ("/accounting-service/nominal-code", "code", ["1100", "1200", "1201", "2200", "4000", "4040", "5000", "7900"]),
    ("/accounting-service/payment-method", "code", ["CARD", "PAYPAL", "CHEQUE", "BANK", "CASH", "GIFTCARD", "PURCHASEORDER"]),
    ("/warehouse-service/warehouse", "name", ["Main warehouse", "Outlet"]),
])
def test_reference_data_lists_and_by_id(bp: BP, path, key, expected):
    """REC tax_code_get.json, order_type_get.json, order_shipping_status_get.json, order_stock_status_get.json,
    channel_get.json, shipping_method_get.json, nominal_code_get.json, payment_method_get.json,
    warehouse_get.json (shapes, trailing slash, by id, none found 404 CMNC-404); the names and codes are the
    seeded account's (per account, NOTES §11.7)."""
    items = bp.ok("GET", path)["response"]
    assert [item[key] for item in items] == expected
    assert bp.ok("GET", path + "/")["response"] == items  # trailing slash as recorded
    first = items[0]
    assert bp.ok("GET", f"{path}/{first['id']}")["response"] == [first]
    missing = bp.get(f"{path}/987654")
    assert missing.status_code == 404 and code(missing) == "CMNC-404"


def test_tax_rates_order_statuses_and_price_lists(bp: BP):
    """REC tax_code_get.json (rate omitted at zero), order_status_get.json (statusId, name, orderTypeCode,
    sortOrder, disabled, visible, color, state), price_list_get.json; the ids and names are the seeded account's
    (per account, NOTES §11.7)."""
    taxes = {t["code"]: t for t in bp.ok("GET", "/accounting-service/tax-code")["response"]}
    assert taxes["T1"]["rate"] == 20.0 and "rate" not in taxes["Z"]
    statuses = bp.ok("GET", "/order-service/order-status")["response"]
    names = {s["statusId"]: (s["name"], s["orderTypeCode"]) for s in statuses}
    assert names[1] == ("Draft / Quote", "SO") and names[5] == ("Cancelled", "SO") and names[8] == ("Dispatched", "SO")
    assert names[10][1] == "SC"
    one = bp.ok("GET", "/order-service/order-status/3")["response"]
    assert one == [next(s for s in statuses if s["statusId"] == 3)]
    assert set(one[0]) >= {"statusId", "name", "orderTypeCode", "sortOrder", "disabled", "visible", "color", "state"}
    lists = bp.ok("GET", "/product-service/price-list")["response"]
    assert [(p["id"], p["code"], p["gross"]) for p in lists] == [(1, "COST", False), (2, "RETAIL", True), (3, "TRADE", False)]


# ------------------------------------------------------------------------------------ control routes


def test_control_stock_route(bp: BP):
    """RULE (the sandbox's control API, ours: a staff stock correction); FIDELITY 'POST
    /warehouse-service/warehouse/{warehouseId}/stock-correction' (on hand cannot go below zero; a goods movement
    each, DOC warehouse/goods-movement/search.html columns)."""
    s = bp.shop
    result = bp.control("POST", "/stock", {"sku": "SKU-A", "warehouse_id": s.wh1, "quantity": -3})
    assert result["product_id"] == s.p1 and result["on_hand"] == 7 and isinstance(result["goods_note_id"], int)
    result = bp.control("POST", "/stock", {"product_id": s.p2, "warehouse_id": s.wh2, "on_hand": 12})
    assert result["on_hand"] == 12
    unchanged = bp.control("POST", "/stock", {"product_id": s.p2, "warehouse_id": s.wh2, "on_hand": 12})
    assert unchanged["goods_note_id"] is None
    movements = bp.ok("GET", f"/warehouse-service/goods-movement-search?productId={s.p2}&warehouseId={s.wh2}&columns=quantity")
    assert [m[0] for m in movements["response"]["results"]] == [12]
    bp.control("POST", "/stock", {"sku": "SKU-A", "warehouse_id": s.wh1, "quantity": -100}, status=400)
    bp.control("POST", "/stock", {"sku": "NOPE", "warehouse_id": s.wh1, "quantity": 1}, status=404)
    bp.control("POST", "/stock", {"warehouse_id": s.wh1, "quantity": 1}, status=400)
    bp.control("POST", "/stock", {"sku": "SKU-A", "warehouse_id": s.wh1, "quantity": 1, "on_hand": 3}, status=400)


def test_control_fulfil_and_ship_routes(bp: BP):
    """RULE (the sandbox's control API, ours: staff fulfil and ship); REC order_shipping_status_get.json (SPS
    part shipped, ASS all shipped); FIDELITY 'PUT /warehouse-service/goods-note/goods-out/{noteId}'
    (shipping.reference)."""
    s = bp.shop
    order_id = bp.sales_order()
    rows = sorted(bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]["orderRows"], key=int)
    partial = bp.control("POST", f"/orders/{order_id}/fulfil", {"rows": [{"row_id": int(rows[0]), "quantity": 1}],
                                                               "tracking_reference": "1ZPART", "ship": True})
    assert partial["shipped"] is True
    order = bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]
    assert order["shippingStatusCode"] == "SPS"
    rest = bp.control("POST", f"/orders/{order_id}/fulfil", {"ship": False})
    assert rest["shipped"] is False
    note = bp.ok("GET", f"/warehouse-service/order/*/goods-note/goods-out/{rest['goods_note_id']}")["response"]
    assert sum(line["quantity"] for lines in note[str(rest["goods_note_id"])]["orderRows"].values() for line in lines) == 2
    shipped = bp.control("POST", f"/goods-out-notes/{rest['goods_note_id']}/ship", {"tracking_reference": "1ZREST"})
    assert shipped[str(rest["goods_note_id"])]["shipping"]["reference"] == "1ZREST"
    assert shipped[str(rest["goods_note_id"])]["status"]["shipped"] is True
    assert bp.ok("GET", f"/order-service/order/{order_id}")["response"][0]["shippingStatusCode"] == "ASS"
    bp.control("POST", f"/goods-out-notes/{rest['goods_note_id']}/ship", {}, status=400)  # already shipped
    bp.control("POST", f"/orders/{order_id}/fulfil", {}, status=400)  # nothing left
    bp.control("POST", "/orders/4242/fulfil", {}, status=404)
    bp.control("POST", "/goods-out-notes/4242/ship", {}, status=404)
    state = bp.state()
    assert (state["orders"], state["goods_out_notes"], state["shipped_goods_out_notes"], state["products"]) == (1, 2, 2, 3)


def test_reset_to_seeded_shop_uses_the_generator(bp: BP):
    """RULE (the sandbox's control API and generator, ours); REC product_search.json (SKU column) to find a
    seeded SKU."""
    bp.control("POST", "/reset", {"seed": 42, "scale": "small"})
    state = bp.state()
    assert state["products"] > 0 and state["contacts"] > 0 and state["warehouses"] == 3
    sku_map = bp.sandbox.world.brightpearl.sku_to_product_id()
    some_sku, some_id = next(iter(sku_map.items()))
    found = bp.ok("GET", f"/product-service/product-search?SKU={some_sku}&columns=productId")["response"]["results"]
    assert [some_id] in found


# ------------------------------------------------------------------------------------ faults


def _faults(bp: BP, **rule) -> None:
    bp.control("PUT", "/faults", {"rules": [rule], "seed": 1})


def test_fault_error_rate_uses_the_api_envelope(bp: BP):
    """NOTES §3 (generic CMNU-003 in the {errors} envelope, FIDELITY 'envelopes'); the injected fault is the
    sandbox's own device (RULE: only the matched paths)."""
    before = bp.control("GET", "/faults")["injected"].get("error_503", 0)  # the counter is cumulative
    _faults(bp, path="/product-service/*", error_rate=1.0, error_status=503)
    response = bp.get(f"/product-service/product/{bp.shop.p1}")
    assert response.status_code == 503 and code(response) == "CMNU-003"
    assert bp.get("/warehouse-service/warehouse").status_code == 200  # other paths untouched
    assert bp.control("GET", "/faults")["injected"]["error_503"] == before + 1


def test_fault_latency(bp: BP):
    """RULE (the sandbox's fault device, ours): latency_ms delays the reply."""
    _faults(bp, path="/warehouse-service/warehouse", latency_ms=300)
    started = time.perf_counter()
    assert bp.get("/warehouse-service/warehouse").status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_fault_drop_reply_502_after_the_write_happened(bp: BP):
    """RULE (the sandbox's fault device, ours): the write commits before the reply is dropped; found again by
    externalRef (REC order_search.json)."""
    _faults(bp, method="POST", path="/order-service/sales-order", drop_reply_rate=1.0, drop_reply_mode="502", max_hits=1)
    s = bp.shop
    response = bp.post("/order-service/sales-order", {"customer": {"id": s.c1}, "externalRef": "lost-reply",
                                                      "installedIntegrationInstanceId": 1, "rows": []})
    assert response.status_code == 502
    assert bp.state()["orders"] == 1  # committed although the client saw a 502
    found = bp.ok("GET", "/order-service/order-search?externalRef=lost-reply")["response"]["results"]
    assert len(found) == 1
    retry = bp.post("/order-service/sales-order", {"customer": {"id": s.c1}, "externalRef": "lost-reply",
                                                   "installedIntegrationInstanceId": 1, "rows": []})
    assert (retry.status_code, retry.json()) == (200, {"response": found[0][0]})  # the repeat changes nothing
    assert bp.state()["orders"] == 1
    stats = bp.control("GET", "/stats")
    assert stats["requests"]["POST /order-service/sales-order"] == 2


def test_fault_drop_reply_timeout(bp: BP):
    """RULE (the sandbox's fault device, ours): the write commits before the reply is held; DOC
    accounting/customer-payment/post.html (transactionRef + paymentMethodCode unique) refuses the resend."""
    _faults(bp, method="POST", path="/accounting-service/customer-payment", drop_reply_rate=1.0,
            drop_reply_mode="timeout", drop_reply_hold_seconds=1.5, max_hits=1)
    order_id = bp.sales_order()
    with pytest.raises(requests.exceptions.ReadTimeout):
        _payment(bp, order_id, timeout=0.5)
    # The write is committed before the reply is held (instrumentation.py): wait for it, not for the hold.
    wait_until(lambda: bp.state()["payments"] == 1, 10, "the held payment to be committed")
    assert _payment(bp, order_id).status_code == 400  # the retry is a duplicate transactionRef


def _no_request_held(bp: BP) -> None:
    """Wait out the holds of earlier tests (a reset does not end a request being held)."""
    wait_until(lambda: bp.control("GET", "/faults")["holding"] == {"latency": 0, "reply": 0}, 15, "earlier holds to end")


def test_holding_counts_a_write_held_by_latency_and_a_client_gone_meanwhile_writes_nothing(bp: BP):
    """RULE (the sandbox's control API, ours: a test control, nothing on the wire): `holding` shows
    a write waiting out its latency; the simulator has not seen it yet, so a client that goes away meanwhile (a kill -9, here a read
    timeout) leaves nothing written: uvicorn reports the disconnect when the body is read."""
    _faults(bp, method="POST", path="/accounting-service/customer-payment", latency_ms=3000)
    order_id = bp.sales_order()
    _no_request_held(bp)
    with pytest.raises(requests.exceptions.ReadTimeout):
        _payment(bp, order_id, timeout=0.5)
    assert bp.control("GET", "/faults")["holding"]["latency"] == 1  # the 3 s hold outlasts the 0.5 s timeout
    wait_until(lambda: bp.control("GET", "/faults")["holding"]["latency"] == 0, 10, "the hold to end")
    assert bp.state()["payments"] == 0


def test_holding_counts_a_committed_write_whose_reply_is_held(bp: BP):
    """RULE (the sandbox's control API, ours: a test control, nothing on the wire): `holding` shows
    a write the simulator committed whose reply the drop-reply fault holds back."""
    _faults(bp, method="POST", path="/accounting-service/customer-payment", drop_reply_rate=1.0,
            drop_reply_mode="timeout", drop_reply_hold_seconds=3, max_hits=1)
    order_id = bp.sales_order()
    _no_request_held(bp)
    with pytest.raises(requests.exceptions.ReadTimeout):
        _payment(bp, order_id, timeout=0.5)
    assert bp.control("GET", "/faults")["holding"] == {"latency": 0, "reply": 1}
    assert bp.state()["payments"] == 1  # committed before the reply was held
    wait_until(lambda: bp.control("GET", "/faults")["holding"]["reply"] == 0, 10, "the hold to end")


def test_fault_malformed_json(bp: BP):
    """RULE (the sandbox's fault device, ours): a 200 whose body is not JSON."""
    _faults(bp, path="/product-service/product/*", malformed_rate=1.0)
    response = bp.get(f"/product-service/product/{bp.shop.p1}")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_stats_templates_strip_the_account_prefix(bp: BP):
    """RULE (the sandbox's statistics, ours): requests counted by route template without the account prefix."""
    bp.control("DELETE", "/stats")
    bp.get(f"/product-service/product/{bp.shop.p1}")
    bp.get("/product-service/product-search?SKU=SKU-A")
    bp.get(f"/warehouse-service/order/*/goods-note/goods-out/1")
    requests_by_template = bp.control("GET", "/stats")["requests"]
    assert requests_by_template == {
        "GET /product-service/product/{idset}": 1,
        "GET /product-service/product-search": 1,
        "GET /warehouse-service/order/{orderIds}/goods-note/goods-out/{noteIds}": 1,
    }
