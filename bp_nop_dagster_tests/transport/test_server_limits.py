"""What a server may ask of the clients is bounded (issue 12, B): waits it asks for are capped and
nonsense waits ignored, paging ends, and reply bodies over the limit are refused unread.

The servers here are capture servers, not the simulators: the point is a server that misbehaves.
Header names and meanings: Brightpearl's throttle 503 carries `brightpearl-next-throttle-period`
in milliseconds and every reply `brightpearl-requests-remaining` (docs/reference/brightpearl-api.md,
section 2); nopCommerce paging is `pageIndex`/`pageSize` with `has_next_page` and `total_count`
(docs/reference/nopcommerce-api.md)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.transport import limits
from bp_nop_dagster.transport.errors import ApiError, OutcomeUnknownError, ThrottledError, ValidationError
from bp_nop_dagster.transport.limits import MAX_SERVER_WAIT_SECONDS, server_wait
from bp_nop_dagster.transport.retry import RetrySettings
from bp_nop_dagster_tests.capture_server import Answer, capture_server

BP_PATH = "/public-api/myshop"
WAREHOUSES = json.dumps({"response": [{"id": 1, "name": "Main"}]}).encode()
FAST_RETRY = RetrySettings(max_attempts=2, initial_wait=0.0, max_wait=0.0, jitter=0.0)


def brightpearl(url: str, sleeps: list[float], **kwargs) -> BrightpearlClient:
    return BrightpearlClient(url + BP_PATH, app_ref="myshop_app", account_token="tok", retry=kwargs.pop("retry", FAST_RETRY),
                             sleep=sleeps.append, **kwargs)


@pytest.mark.parametrize(("value", "expected"), [
    ("1500", 1.5), ("1e12", MAX_SERVER_WAIT_SECONDS), ("inf", None), ("-inf", None), ("nan", None), ("-5", None), ("soon", None), (None, None),
])
def test_server_waits_are_capped_and_nonsense_is_absent(value, expected):
    assert server_wait(value, unit_seconds=0.001) == expected


@pytest.mark.parametrize("period", ["1e12", "inf", "NaN", "-1"])
def test_a_throttled_reply_never_sleeps_past_the_cap_and_never_crashes(period):
    """The 503 asks for 31 years (1e12 ms) or for infinity: the client waits at most the cap
    (nonsense counts as absent: the rest of the 60 s window), then gets its reply."""
    replies = iter([Answer(503, b'{"response": "You have sent too many requests"}', {"brightpearl-next-throttle-period": period}),
                    Answer(200, WAREHOUSES)])
    sleeps: list[float] = []
    with capture_server(lambda _: next(replies)) as server:
        client = brightpearl(server.url, sleeps)
        assert [w.id for w in client.warehouses()] == [1]
    assert sleeps and max(sleeps) <= MAX_SERVER_WAIT_SECONDS
    assert max(sleeps) == (MAX_SERVER_WAIT_SECONDS if period == "1e12" else 60.0)


@pytest.mark.parametrize("remaining", ["0", "inf"])
def test_the_pacer_caps_the_period_it_learns_from_a_success_reply(remaining):
    headers = {"Content-Type": "application/json", "brightpearl-requests-remaining": remaining,
               "brightpearl-next-throttle-period": "1e12"}
    sleeps: list[float] = []
    with capture_server(lambda _: Answer(200, WAREHOUSES, headers)) as server:
        client = brightpearl(server.url, sleeps)
        client.warehouses()
        client.clear_reference_cache()
        client.warehouses()
    assert all(s <= MAX_SERVER_WAIT_SECONDS for s in sleeps)


def test_a_thrown_retry_after_of_infinity_is_capped_by_the_retry_policy():
    replies = iter([Answer(429, b"{}", {"Retry-After": "1e300"}), Answer(200, b'{"items": [], "has_next_page": false, "total_count": 0}')])
    sleeps: list[float] = []
    with capture_server(lambda _: next(replies)) as server:
        client = NopCommerceClient(server.url + "/api-backend", "a@b.test", "pw", retry=FAST_RETRY, sleep=sleeps.append)
        client._NopCommerceClient__token_state = ("jwt", float("inf"))  # skip GetToken: not what is tested
        assert client.shipments() == []
    assert sleeps == [MAX_SERVER_WAIT_SECONDS]
    assert ThrottledError("x", float("inf")).retry_after == float("inf")  # the error keeps the value; the policy caps it


def shipment(shipment_id: int) -> dict:
    return {"id": shipment_id, "order_id": 1, "created_on_utc": "2025-01-01T00:00:00"}


def search_page(first: int, size: int, more: bool) -> bytes:
    rows = [[n] for n in range(first, first + size)]
    meta = {"resultsAvailable": 10**9, "firstResult": first, "lastResult": first + size - 1, "morePagesAvailable": more,
            "columns": [{"name": "productId"}]}
    return json.dumps({"response": {"metaData": meta, "results": rows}, "reference": {}}).encode()


def test_a_search_that_never_ends_stops_at_the_page_limit(monkeypatch):
    monkeypatch.setattr(limits, "MAX_PAGES", 5)

    def endless(request):
        first = int(parse_qs(urlsplit(request.path).query)["firstResult"][0])
        return Answer(200, search_page(first, 2, more=True))

    with capture_server(endless) as server:
        with pytest.raises(ApiError, match="paging did not end within 5 pages"):
            brightpearl(server.url, []).search("/product-service/product-search", page_size=2)
    assert len(server.received) == 6


def test_a_nopcommerce_list_that_ignores_the_page_index_stops_at_the_first_repeat():
    """The server answers page 0 whatever `pageIndex` says, and always says there is a next page."""
    page = json.dumps({"items": [shipment(1), shipment(2)], "page_index": 0, "page_size": 2, "total_count": 4, "total_pages": 2,
                       "has_previous_page": False, "has_next_page": True}).encode()
    with capture_server(lambda _: Answer(200, page)) as server:
        client = NopCommerceClient(server.url + "/api-backend", "a@b.test", "pw", retry=FAST_RETRY, sleep=lambda _: None)
        client._NopCommerceClient__token_state = ("jwt", float("inf"))
        with pytest.raises(ApiError, match="paging made no progress on page 2"):
            client.shipments(page_size=2)
    assert len(server.received) == 2


def test_a_nopcommerce_list_that_never_ends_stops_at_the_page_limit(monkeypatch):
    monkeypatch.setattr(limits, "MAX_PAGES", 5)

    def endless(request):
        index = int(parse_qs(urlsplit(request.path).query)["pageIndex"][0])
        body = {"items": [shipment(2 * index + 1), shipment(2 * index + 2)], "page_index": index, "page_size": 2,
                "total_count": 10**9, "total_pages": 5 * 10**8, "has_previous_page": index > 0, "has_next_page": True}
        return Answer(200, json.dumps(body).encode())

    with capture_server(endless) as server:
        client = NopCommerceClient(server.url + "/api-backend", "a@b.test", "pw", retry=FAST_RETRY, sleep=lambda _: None)
        client._NopCommerceClient__token_state = ("jwt", float("inf"))
        with pytest.raises(ApiError, match="paging did not end within 5 pages"):
            client.shipments(page_size=2)
    assert len(server.received) == 6


@pytest.mark.parametrize("declared", [True, False])
def test_a_reply_over_the_limit_is_refused_unread(declared):
    """2 MiB against a 1 MiB limit, with or without Content-Length: a read gives a clear
    ValidationError (retrying would get the same body), a create an unknown outcome."""
    huge = b'{"response": [' + b'{"id": 1},' * (2 * 2**20 // 10) + b'{"id": 1}]}'
    with capture_server(lambda _: Answer(200, huge, declare_length=declared)) as server:
        client = brightpearl(server.url, [])
        client.max_reply_bytes = 2**20
        with pytest.raises(ValidationError, match="reply larger than the 1,048,576-byte limit") as refused:
            client.warehouses()
        assert refused.value.code == "reply_too_large"
        with pytest.raises(OutcomeUnknownError, match="may have been applied"):
            client.create_contact({"firstName": "A"})
    assert len(server.received) == 2  # neither was retried
