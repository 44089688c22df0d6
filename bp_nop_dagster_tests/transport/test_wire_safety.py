"""What the clients must do on the wire whatever a server answers (issue 19, item 1): plain http
only to a loopback host matched exactly, secrets never in error text, and every Brightpearl reply's
quota headers fed to the pacer. Each test names the deliberate break it was checked against.

Sources: the rule "https unless loopback" is the transport's own (DESIGN, security); the quota
headers `brightpearl-requests-remaining` and `brightpearl-next-throttle-period` (milliseconds) are
documented on help 212644823 (API throttling) and seen in the ruby-brightpearl recordings; a
Brightpearl refusal is `{"errors": [{"code", "message"}]}` (help 212644943)."""

from __future__ import annotations

import json

import pytest

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.brightpearl.pacing import QuotaPacer
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.transport.errors import ConfigurationError, ValidationError
from bp_nop_dagster.transport.retry import RetrySettings
from bp_nop_dagster.transport.transport import validate_base_url
from bp_nop_dagster_tests.capture_server import Answer, capture_server

TOKEN = "tok-3f9a1c77e2"
PASSWORD = "pw-8d1e55b0aa"
ONCE = RetrySettings(max_attempts=1, initial_wait=0.0, max_wait=0.0)


@pytest.mark.parametrize("host", ["localhost.evil.com", "localhost.", "127.0.0.1.nip.io", "evil-localhost", "0x7f.evil"])
def test_plain_http_to_a_host_that_only_starts_like_loopback_is_refused(host):
    """Break checked: `is_loopback_host` matching by prefix (`host.startswith("localhost")`):
    `localhost.evil.com` is accepted and this test fails."""
    with pytest.raises(ConfigurationError, match="must use https"):
        validate_base_url(f"http://{host}/api", "nopCommerce")
    with pytest.raises(ConfigurationError, match="must use https"):
        NopCommerceClient(f"http://{host}/api-backend", "a@b.c", "pw")


@pytest.mark.parametrize("url", ["http://localhost:8080/api", "http://127.0.0.1/api", "http://127.8.9.10/api", "http://[::1]:9/api",
                                 "https://localhost.evil.com/api"])
def test_loopback_hosts_and_any_https_host_are_accepted(url):
    assert validate_base_url(url, "nopCommerce") == url


def _bp_client(url: str, **kwargs) -> BrightpearlClient:
    return BrightpearlClient(f"{url}/public-api/acme", app_ref="acme_app", account_token=TOKEN, retry=ONCE, **kwargs)


def test_a_brightpearl_refusal_echoing_the_token_is_redacted_in_the_error():
    """Break checked: `BrightpearlClient._redact` returning the text unchanged: the token appears
    in the error and this test fails."""
    body = json.dumps({"errors": [{"code": "CMNC-400", "message": f"bad header brightpearl-account-token {TOKEN}"}]}).encode()
    with capture_server(lambda _: Answer(status=400, body=body)) as server:
        client = _bp_client(server.url)
        with pytest.raises(ValidationError) as raised:
            client.create_customer_payment({"paymentMethodCode": "CARD"})
    error = raised.value
    assert TOKEN not in str(error) and TOKEN not in error.server_message and TOKEN not in repr(error)
    assert "***" in error.server_message and error.code == "CMNC-400"


def test_a_nopcommerce_refusal_echoing_the_password_is_redacted_in_the_error():
    """Break checked: `NopCommerceClient._scrub` returning the text unchanged: this test fails."""
    def reply(request):
        if request.path.endswith("/Authenticate/GetToken"):
            return Answer(body=json.dumps({"token": "jwt-token-value"}).encode())
        return Answer(status=400, body=json.dumps({"errors": {"Email": [f"login {PASSWORD} refused"]}}).encode())

    with capture_server(reply) as server:
        client = NopCommerceClient(f"{server.url}/api-backend", "a@b.c", PASSWORD, retry=ONCE)
        with pytest.raises(ValidationError) as raised:
            client.cancel_order(7, notify_customer=False)
    assert PASSWORD not in str(raised.value) and "***" in str(raised.value)


class FakeClock:
    def __init__(self) -> None:
        self.now, self.sleeps = 1000.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_every_brightpearl_reply_s_quota_headers_reach_the_pacer():
    """A reply saying 5 requests remain and the next period starts in 4 500 ms: the next request
    waits 4.5 s (on a fake clock) before it is sent, as the throttling help page asks. Break
    checked: `after_response` no longer calling `pacer.observe`: no wait, and this test fails."""
    clock = FakeClock()
    quota_headers = {"Content-Type": "application/json", "brightpearl-requests-remaining": "5",
                     "brightpearl-next-throttle-period": "4500"}
    with capture_server(lambda _: Answer(body=b'{"response": []}', headers=quota_headers)) as server:
        client = _bp_client(server.url, pacer=QuotaPacer(200, 60.0, 0.10, clock=clock, sleep=clock.sleep))
        client.get("/warehouse-service/warehouse")
        assert clock.sleeps == []
        client.get("/warehouse-service/warehouse")
    assert clock.sleeps == [pytest.approx(4.5)]
