"""What an operator reads when a call fails, and the transport's bounds, pinned field by field
(issue 19, item 5: the surviving mutants of `transport/`, docs/mutation.md).

The transport here talks to a fake `requests.Session` that hands back prepared `requests.Response`
objects (or raises), so each test runs in milliseconds and sees exactly what was read and sent.
The rules checked are the transport's own, stated in its docstrings: an error names the system,
the method and the path (never the query string, headers or body) and the HTTP status when there
was one; a reply over `max_reply_bytes` is refused unread (declared or actual size); a 3xx is a
ConfigurationError naming only the host it points at; a request that is not idempotent is never
resent once it may have reached the server; retries are logged. Each test names the break it
was checked against."""

from __future__ import annotations

import io
import json
import logging
from decimal import Decimal

import pytest
import requests
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, NewConnectionError

from bp_nop_dagster.transport.errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    MalformedError,
    OutcomeUnknownError,
    ThrottledError,
    TransientError,
    ValidationError,
)
from bp_nop_dagster.transport.limits import MAX_PAGES, MAX_SERVER_WAIT_SECONDS, PageGuard, capped_wait, server_wait
from bp_nop_dagster.transport.retry import RetrySettings
from bp_nop_dagster.transport.transport import REPLY_TOO_LARGE, Transport, json_bytes, redirect_error

BASE = "https://api.shop.test/v1"
SECRET = "sk-live-7c1d0e"  # stands for a token in the query string or body: never in an error


class CountingStream(io.BytesIO):
    """A reply body that remembers how many bytes the client read from it."""

    def __init__(self, body: bytes) -> None:
        super().__init__(body)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def reply(status: int = 200, body: bytes = b"{}", headers: dict[str, str] | None = None, *, url: str = BASE) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers = CaseInsensitiveDict(headers or {})
    response.raw = CountingStream(body)
    response.url = url
    return response


class FakeSession:
    """Answers each request with the next of `answers` (an exception is raised instead)."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str, dict]] = []

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        self.sent.append((method, url, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


class Shop(Transport):
    """A system whose 5xx is transient, whose 503 is a throttle, and whose other 4xx are refusals."""

    system = "Shop"

    def error_for(self, response, body, method, path):
        where = {"status": response.status_code, "method": method, "path": path}
        if response.status_code == 503:
            return ThrottledError(self.system, 2.0, **where)
        if response.status_code >= 500:
            return TransientError(self.system, "server error", **where)
        return ValidationError(self.system, "bad_request", "refused", **where)


def shop(*answers, attempts: int = 3) -> tuple[Shop, FakeSession, list[float]]:
    session, sleeps = FakeSession(*answers), []
    transport = Shop(BASE, session=session, retry=RetrySettings(max_attempts=attempts, initial_wait=0.0, max_wait=0.0, jitter=0.0),
                     sleep=sleeps.append)
    return transport, session, sleeps


# errors.py: the fields callers branch on and the one line an operator reads.

def test_an_error_without_a_request_names_only_the_system():
    """Breaks checked: the default `method` made "XXXX" (the message gains " XXXX"); the status
    suffix's else branch made "XXXX"."""
    error = ApiError("nopCommerce", "token expired")
    assert str(error) == "nopCommerce: token expired"
    assert (error.system, error.status, error.method, error.path) == ("nopCommerce", None, "", "")


def test_an_error_keeps_system_method_path_and_status_and_renders_them_in_one_line():
    """Break checked: `self.method = None` (the field a caller reads is lost)."""
    error = ApiError("Brightpearl", "conflict", status=409, method="POST", path="/order-service/order")
    assert (error.system, error.status, error.method, error.path) == ("Brightpearl", 409, "POST", "/order-service/order")
    assert str(error) == "Brightpearl POST /order-service/order: conflict (HTTP 409)"
    assert str(ApiError("Shop", "gone", method="GET")) == "Shop GET: gone"


def test_a_validation_error_keeps_the_server_code_and_message():
    error = ValidationError("Brightpearl", "CMNC-400", "bad date", status=400, method="PUT", path="/x")
    assert (error.code, error.server_message, error.status) == ("CMNC-400", "bad date", 400)
    assert str(error) == "Brightpearl PUT /x: CMNC-400: bad date (HTTP 400)"
    assert str(ValidationError("Shop", "", "refused")) == "Shop: refused"


# limits.py: waits a server asks for, and the paging guard's error.

@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("0.5", 0.5), (" 2 ", 2.0), (True, None)])
def test_a_zero_or_fractional_server_wait_is_honoured(value, seconds):
    """Zero means "go on now" and is a wait, not an absent one (only negative, unreadable or
    non-finite values are absent). Break checked: `number < 0` made `number < 1`: "0" and
    "0.5" become None."""
    assert server_wait(value) == seconds


@pytest.mark.parametrize(("seconds", "capped"), [(-3.0, 0.0), (0.0, 0.0), (7.5, 7.5), (1e9, MAX_SERVER_WAIT_SECONDS),
                                                  (float("nan"), MAX_SERVER_WAIT_SECONDS)])
def test_capped_wait_bounds_a_wait_to_zero_and_the_cap(seconds, capped):
    assert capped_wait(seconds) == capped


def test_a_page_that_repeats_fails_naming_system_get_and_the_path():
    """Breaks checked: `self.path = None`; the error built without `path=` or with `path=None`."""
    guard = PageGuard("nopCommerce", "/api-backend/Shipment/GetAll")
    guard.page(progressed=True)
    with pytest.raises(ApiError) as raised:
        guard.page(progressed=False)
    error = raised.value
    assert (error.system, error.method, error.path, error.status) == ("nopCommerce", "GET", "/api-backend/Shipment/GetAll", None)
    assert str(error) == "nopCommerce GET /api-backend/Shipment/GetAll: paging made no progress on page 2 (a page repeated)"


def test_paging_past_the_limit_fails_naming_system_get_and_the_path():
    """Breaks checked: the limit error built with `system=None` or without `path=`."""
    guard = PageGuard("Brightpearl", "/product-service/product-search", max_pages=2)
    guard.page(progressed=True)
    guard.page(progressed=True)
    with pytest.raises(ApiError) as raised:
        guard.page(progressed=True)
    error = raised.value
    assert (error.system, error.method, error.path) == ("Brightpearl", "GET", "/product-service/product-search")
    assert str(error) == "Brightpearl GET /product-service/product-search: paging did not end within 2 pages"
    assert PageGuard("Shop", "/p").max_pages == MAX_PAGES


# retry.py: the settings refuse nonsense, with a message that says what is wrong.

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_attempts": 0}, "max_attempts must be at least 1"),
    ({"initial_wait": -0.1}, "need 0 <= initial_wait <= max_wait"),
    ({"initial_wait": 5.0, "max_wait": 4.0}, "need 0 <= initial_wait <= max_wait"),
])
def test_retry_settings_refuse_nonsense_saying_why(kwargs, message):
    """Break checked: each `ValueError(...)` made `ValueError(None)` (the message is lost)."""
    with pytest.raises(ValueError) as raised:
        RetrySettings(**kwargs)
    assert str(raised.value) == message


def test_retry_settings_accept_the_edges():
    """One attempt, no wait at all, and initial_wait == max_wait are all sane. Break checked:
    `initial_wait < 0` made `<= 0` (no wait refused)."""
    settings = RetrySettings(max_attempts=1, initial_wait=0.0, max_wait=0.0)
    assert (settings.max_attempts, settings.initial_wait, settings.max_wait) == (1, 0.0, 0.0)
    assert RetrySettings(initial_wait=3.0, max_wait=3.0).max_wait == 3.0


def test_a_throttled_retry_waits_at_least_the_servers_period():
    """Backoff is zero here, so every wait comes from the 503's retry_after (2 s)."""
    transport, session, sleeps = shop(reply(503), reply(200, b'{"ok": true}'))
    assert transport.request("GET", "/stock").body == {"ok": True}
    assert sleeps == [2.0] and len(session.sent) == 2


# transport.py: the request as sent, retries, their log line.

def test_the_request_goes_out_once_unfollowed_streamed_and_with_the_timeouts():
    transport, session, _ = shop(reply(200, b'{"id": 5}'))
    transport.auth_headers = lambda: {"X-Token": SECRET}
    got = transport.request("post", "/orders", json_body={"total": Decimal("10.10")}, headers={"X-Trace": "t1"})
    assert (got.status, got.body) == (200, {"id": 5})
    ((method, url, kwargs),) = session.sent
    assert (method, url) == ("POST", f"{BASE}/orders")
    assert kwargs["allow_redirects"] is False and kwargs["stream"] is True and kwargs["timeout"] == (5.0, 30.0)
    assert kwargs["headers"] == {"X-Token": SECRET, "X-Trace": "t1", "Content-Type": "application/json"}
    assert kwargs["data"] == b'{"total": 10.10}'
    assert transport.calls == {"POST": 1} and transport.call_count == 1


def test_each_retry_is_logged_once_with_system_method_path_and_its_number(caplog):
    """Breaks checked: `number > 1` made `number > 2` (the first retry is not logged); the path
    argument made None."""
    transport, session, _ = shop(reply(500), reply(502), reply(200, b"[]"))
    with caplog.at_level(logging.WARNING, logger="bp_nop_dagster.transport"):
        assert transport.request("GET", "/stock/levels").body == []
    assert [r.getMessage() for r in caplog.records if r.name == "bp_nop_dagster.transport"] == [
        "Shop GET /stock/levels: retry 1 after a transient failure",
        "Shop GET /stock/levels: retry 2 after a transient failure",
    ]
    assert len(session.sent) == 3


def test_the_default_reauthentication_refuses_naming_the_system():
    """A 401 on a transport without credentials to renew. Breaks checked: the message made None
    or upper-cased."""
    transport, session, _ = shop(reply(401))
    with pytest.raises(AuthError) as raised:
        transport.request("GET", "/me")
    assert str(raised.value) == "Shop: credentials refused" and raised.value.system == "Shop"
    assert len(session.sent) == 1


def test_a_read_that_times_out_is_retried_then_fails_naming_where():
    """Breaks checked: the TransientError built with `system=None`, without `path=` or with
    `path=None`."""
    transport, session, _ = shop(requests.ReadTimeout(f"read timed out ?token={SECRET}"), requests.ReadTimeout("again"), attempts=2)
    with pytest.raises(TransientError) as raised:
        transport.request("GET", "/orders")
    error = raised.value
    assert type(error) is TransientError
    assert (error.system, error.method, error.path, error.status) == ("Shop", "GET", "/orders", None)
    assert str(error) == "Shop GET /orders: ReadTimeout before a reply"
    assert len(session.sent) == 2


def test_a_post_whose_connection_broke_without_detail_is_an_unknown_outcome_sent_once():
    """A ConnectionError with no args: nothing says the request never left, so it may have been
    applied. Break checked: `error.args[0] if error.args` made `... if True` (IndexError)."""
    transport, session, _ = shop(requests.ConnectionError())
    with pytest.raises(OutcomeUnknownError) as raised:
        transport.request("POST", "/orders", json_body={"a": 1})
    error = raised.value
    assert (error.system, error.method, error.path) == ("Shop", "POST", "/orders")
    assert str(error) == "Shop POST /orders: ConnectionError: the request may have been applied"
    assert len(session.sent) == 1


def test_a_post_that_never_connected_is_retried():
    refused = requests.ConnectionError(MaxRetryError(None, "/orders", NewConnectionError(None, "refused")))
    transport, session, _ = shop(refused, requests.ConnectTimeout(), reply(201, b'{"id": 9}'))
    assert transport.request("POST", "/orders", json_body={}).body == {"id": 9}
    assert len(session.sent) == 3


# The reply-size bound, with and without Content-Length.

def test_a_reply_of_exactly_the_limit_is_read_whole():
    """Break checked: the byte count starting at 1 (a reply of exactly the limit is refused)."""
    transport, _, _ = shop(reply(200, b'"12345678"'))  # 10 bytes
    transport.max_reply_bytes = 10
    assert transport.request("GET", "/exact").body == "12345678"


def test_a_declared_oversized_reply_is_refused_without_reading_a_byte():
    """Breaks checked: the header name mutated (`XXContent-LengthXX`): the body is then read up
    to the limit before the refusal; the error built without its status/method/path; the
    message's advice mutated."""
    body = b'"' + b"x" * 18 + b'"'
    oversized = reply(200, body, {"Content-Length": str(len(body))}, url=f"{BASE}/big?token={SECRET}")
    transport, session, _ = shop(oversized)
    transport.max_reply_bytes = 10
    with pytest.raises(ValidationError) as raised:
        transport.request("GET", "/big", params={"token": SECRET})
    error = raised.value
    assert oversized.raw.bytes_read == 0 and oversized.raw.closed
    assert (error.code, error.system, error.status, error.method, error.path) == (REPLY_TOO_LARGE, "Shop", 200, "GET", "/big")
    assert str(error) == ("Shop GET /big: reply_too_large: reply larger than the 10-byte limit (max_reply_mb): refused unread; "
                          "raise the limit if replies this large are expected (HTTP 200)")
    assert SECRET not in str(error) and len(session.sent) == 1  # a read of the same body is not retried


def test_an_undeclared_oversized_reply_is_refused_after_the_limit_and_a_post_is_an_unknown_outcome():
    body = b'"' + b"x" * (3 * 2**16) + b'"'  # three of the transport's 64 KiB read chunks
    streamed = reply(201, body)
    transport, session, _ = shop(streamed)
    transport.max_reply_bytes = 10
    with pytest.raises(OutcomeUnknownError) as raised:
        transport.request("POST", "/orders", json_body={"card": SECRET})
    error = raised.value
    assert streamed.raw.closed and streamed.raw.bytes_read < len(body)
    assert (error.system, error.status, error.method, error.path) == ("Shop", 201, "POST", "/orders")
    assert str(error).endswith("refused unread; raise the limit if replies this large are expected; "
                               "the request may have been applied (HTTP 201)")
    assert SECRET not in str(error) and len(session.sent) == 1


# JSON that does not parse, and errors of a request that may have been applied.

def test_malformed_json_in_a_success_reply_to_a_read_is_retried_then_names_status_method_path():
    """Breaks checked: the message upper-cased; the error built with `status=None`."""
    transport, session, _ = shop(reply(200, b"{not json"), reply(200, b"<html>"), attempts=2)
    with pytest.raises(TransientError) as raised:
        transport.request("GET", "/orders/7")
    error = raised.value
    assert type(error) is TransientError
    assert (error.system, error.status, error.method, error.path) == ("Shop", 200, "GET", "/orders/7")
    assert str(error) == "Shop GET /orders/7: malformed JSON in a success reply (HTTP 200)"
    assert len(session.sent) == 2


def test_malformed_json_in_a_success_reply_to_a_post_is_an_unknown_outcome_naming_where():
    """Breaks checked: the OutcomeUnknownError built with `system=None`, `method=None`, or
    without its status."""
    transport, session, _ = shop(reply(201, b"{not json"))
    with pytest.raises(OutcomeUnknownError) as raised:
        transport.request("POST", "/orders", json_body={"password": SECRET})
    error = raised.value
    assert (error.system, error.status, error.method, error.path) == ("Shop", 201, "POST", "/orders")
    assert str(error) == "Shop POST /orders: malformed JSON in a success reply (HTTP 201)"
    assert len(session.sent) == 1


def test_a_server_error_to_a_post_is_an_unknown_outcome_naming_where_and_not_resent():
    """Break checked: the OutcomeUnknownError built with `method=None`."""
    transport, session, _ = shop(reply(500))
    with pytest.raises(OutcomeUnknownError) as raised:
        transport.request("POST", "/orders", json_body={})
    error = raised.value
    assert (error.system, error.status, error.method, error.path) == ("Shop", 500, "POST", "/orders")
    assert str(error) == "Shop POST /orders: Shop POST /orders: server error (HTTP 500): the request may have been applied (HTTP 500)"
    assert len(session.sent) == 1


def test_a_throttled_post_was_refused_before_processing_so_it_is_resent():
    transport, session, _ = shop(reply(503), reply(201, b"{}"))
    assert transport.request("POST", "/orders", json_body={}).status == 201
    assert len(session.sent) == 2


def test_a_refusal_is_raised_as_the_system_spells_it_and_never_retried():
    transport, session, _ = shop(reply(422, b'{"errors": []}'))
    with pytest.raises(ValidationError) as raised:
        transport.request("PUT", "/orders/1", json_body={})
    assert (raised.value.status, raised.value.method, raised.value.path) == (422, "PUT", "/orders/1")
    assert len(session.sent) == 1


# Redirects: named by host only.

def test_a_redirect_without_a_location_names_an_unnamed_location():
    """Breaks checked: `if location` made `if True` (the API's own host is named instead); the
    fallback text upper-cased."""
    transport, session, _ = shop(reply(302, b""))
    with pytest.raises(ConfigurationError) as raised:
        transport.request("GET", "/orders")
    assert str(raised.value) == ("Shop answered GET /orders with a redirect (HTTP 302) to an unnamed location: redirects are never "
                                 "followed because they would carry the credentials; set the base URL to where the API is")
    assert len(session.sent) == 1


def test_a_relative_redirect_names_the_apis_host_and_never_the_path_or_query():
    moved = reply(301, b"", {"Location": f"/v2/orders?token={SECRET}"}, url=f"{BASE}/orders")
    with pytest.raises(ConfigurationError) as raised:
        shop(moved)[0].request("GET", "/orders")
    message = str(raised.value)
    assert "with a redirect (HTTP 301) to api.shop.test:" in message
    assert SECRET not in message and "/v2" not in message


def test_a_redirect_of_a_call_without_a_path_names_only_the_method():
    moved = reply(307, b"", {"Location": "https://elsewhere.test/hook"}, url="https://hooks.test/T0/B0")
    assert str(redirect_error("alert webhook", moved, "POST")).startswith(
        "alert webhook answered POST with a redirect (HTTP 307) to elsewhere.test: ")


# json_bytes: money exact, nothing else changed.

def test_json_bytes_writes_decimals_exactly_and_leaves_look_alike_strings_alone():
    """A string shaped like the Decimal placeholder stays a string. Break checked: the nonce
    made None (the placeholder is then the fixed `None:N`, and such a string is replaced)."""
    body = {"note": "None:0", "amount": Decimal("19.990"), "n": 3}
    text = json_bytes(body)
    assert json.loads(text, parse_float=Decimal) == {"note": "None:0", "amount": Decimal("19.990"), "n": 3}
    assert b'"amount": 19.990' in text


def test_json_bytes_indents_when_asked_and_refuses_what_json_cannot_hold():
    """Break checked: `indent=indent` made `indent=None` (cassettes are written indented)."""
    assert json_bytes({"a": [1]}, indent=1) == b'{\n "a": [\n  1\n ]\n}'
    with pytest.raises(ValueError):
        json_bytes({"a": float("nan")})
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        json_bytes({"a": {1}})
    with pytest.raises(TypeError, match="Object of type Decimal is not JSON serializable"):
        json_bytes({"a": Decimal("NaN")})


def test_a_throttled_error_names_the_system_and_the_wait():
    """Break checked: ThrottledError passing `system=None` to ApiError."""
    error = ThrottledError("Brightpearl", 2.5, status=503, method="GET", path="/warehouse-service/warehouse")
    assert (error.system, error.retry_after, error.status) == ("Brightpearl", 2.5, 503)
    assert str(error) == "Brightpearl GET /warehouse-service/warehouse: throttled, retry after 2.5 s (HTTP 503)"


def test_a_malformed_record_error_names_the_system_and_keeps_the_record_id():
    """Break checked: MalformedError dropping `system` (the message becomes the system)."""
    error = MalformedError("nopCommerce", "quantity: not an integer", record_id=42, method="GET", path="/api-backend/Order/GetById")
    assert (error.system, error.record_id, error.method, error.path) == ("nopCommerce", 42, "GET", "/api-backend/Order/GetById")
    assert str(error) == "nopCommerce GET /api-backend/Order/GetById: quantity: not an integer"
    assert MalformedError("Brightpearl", "bad").record_id is None


def test_a_reply_carries_the_status_body_and_headers_to_the_client():
    """Clients read reply headers (a created record's Location, paging links). Break checked:
    `Reply(status, body, None)`."""
    transport, _, _ = shop(reply(201, b'{"id": 77}', {"Location": "/orders/77", "Content-Type": "application/json"}))
    got = transport.request("POST", "/orders", json_body={})
    assert (got.status, got.body, got.headers["location"]) == (201, {"id": 77}, "/orders/77")


def test_an_empty_success_reply_has_no_body():
    transport, _, _ = shop(reply(204, b""), reply(200, b"  \n"))
    assert transport.request("DELETE", "/orders/1").body is None
    assert transport.request("GET", "/orders/1").body is None


def test_backoff_starts_at_initial_wait_and_doubles_up_to_max_wait():
    """Exponential backoff (retry.py): without jitter the waits are initial_wait, doubling, capped
    at max_wait. Break checked: the backoff built without `multiplier=initial_wait` (1 s, 2 s, 4 s)."""
    session, sleeps = FakeSession(reply(500), reply(500), reply(500), reply(500), reply(200, b"{}")), []
    transport = Shop(BASE, session=session, retry=RetrySettings(max_attempts=5, initial_wait=0.5, max_wait=3.0, jitter=0.0),
                     sleep=sleeps.append)
    assert transport.request("GET", "/orders").status == 200
    assert sleeps == [0.5, 1.0, 2.0, 3.0]


def test_a_300_is_a_redirect_too():
    """Every 3xx is refused as a redirect (transport docstring). Break checked: `300 <= status`
    made `300 < status` (a 300 reaches `error_for` as a refusal)."""
    transport, _, _ = shop(reply(300, b"", {"Location": "https://mirror.test/orders"}))
    with pytest.raises(ConfigurationError, match=r"^Shop answered GET /orders with a redirect \(HTTP 300\) to mirror.test: "):
        transport.request("GET", "/orders")


class BreaksMidBody(CountingStream):
    """A body whose connection drops after the headers."""

    def read(self, size: int | None = -1) -> bytes:
        raise requests.exceptions.ChunkedEncodingError("connection broken mid-body")


def test_a_connection_lost_while_reading_the_body_names_where_and_retries_a_read():
    """Breaks checked: the failure while reading the body built with `path=None` or without the
    path (positional arguments shift)."""
    first, second = reply(200), reply(200, b'{"ok": 1}')
    first.raw = BreaksMidBody(b"")
    transport, session, _ = shop(first, second)
    assert transport.request("GET", "/orders").body == {"ok": 1}
    assert first.raw.closed
    broken = reply(201)
    broken.raw = BreaksMidBody(b"")
    transport, session, _ = shop(broken)
    with pytest.raises(OutcomeUnknownError) as raised:
        transport.request("POST", "/orders", json_body={})
    error = raised.value
    assert (error.system, error.method, error.path) == ("Shop", "POST", "/orders")
    assert str(error) == "Shop POST /orders: ChunkedEncodingError: the request may have been applied"
    assert len(session.sent) == 1


def test_an_undeclared_oversized_reply_is_read_at_most_one_chunk_past_the_limit():
    """The body is read in 64 KiB chunks and reading stops at the first chunk past the limit, so
    memory stays bounded by limit + 64 KiB. Break checked: the chunk size made 64 * 1025."""
    streamed = reply(200, b"x" * (4 * 2**16))
    transport, _, _ = shop(streamed)
    transport.max_reply_bytes = 10
    with pytest.raises(ValidationError, match="reply_too_large"):
        transport.request("GET", "/big")
    assert streamed.raw.bytes_read == 2**16
