"""Redirects are never followed with credentials attached (issue 12, D). `requests` follows 3xx by
default and re-sends the headers (a 302 carried the Brightpearl account token) and, on a 307, the
body too (the nopCommerce password). Every outgoing call (both API clients, the nopCommerce token
request, the Brightpearl OAuth refresh, the alert webhook) treats a 3xx as a configuration error
naming the system and the host it points at, never its path or query string; the host it points
at (a second capture server) receives nothing."""

from __future__ import annotations

import pytest

from bp_nop_dagster.alerts import post_alert
from bp_nop_dagster.brightpearl.client import BrightpearlClient, oauth_refresh_callback
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.transport.errors import ConfigurationError
from bp_nop_dagster_tests.capture_server import Answer, capture_server

TOKEN = "bp-account-token-5c1e"
PASSWORD = "nop-password-9d2f"


def redirecting(status: int, target: str):
    # `localhost` (not 127.0.0.1) so the message can be checked to name the target's host.
    location = target.replace("127.0.0.1", "localhost") + "/stolen?token=leak-me"
    return lambda _: Answer(status, b"", {"Location": location})


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_brightpearl_never_follows_a_redirect(status):
    with capture_server() as elsewhere, capture_server(redirecting(status, elsewhere.url)) as api:
        client = BrightpearlClient(api.url + "/public-api/myshop", app_ref="myshop_app", account_token=TOKEN)
        with pytest.raises(ConfigurationError) as refused:
            client.warehouses()
    message = str(refused.value)
    assert f"Brightpearl answered GET /warehouse-service/warehouse with a redirect (HTTP {status}) to localhost" in message
    assert "stolen" not in message and "leak-me" not in message
    assert elsewhere.received == [] and len(api.received) == 1


def test_the_nopcommerce_token_request_never_re_posts_the_password():
    with capture_server() as elsewhere, capture_server(redirecting(307, elsewhere.url)) as api:
        client = NopCommerceClient(api.url + "/api-backend", "api@shop.test", PASSWORD)
        with pytest.raises(ConfigurationError, match=r"nopCommerce answered POST /Authenticate/GetToken with a redirect \(HTTP 307\) to localhost"):
            client.countries()
    assert elsewhere.received == []


def test_the_brightpearl_oauth_refresh_never_follows_a_redirect():
    with capture_server() as elsewhere, capture_server(redirecting(307, elsewhere.url)) as oauth:
        refresh = oauth_refresh_callback(oauth.url + "/token/myshop", refresh_token="refresh-secret", client_id="myshop_app")
        with pytest.raises(ConfigurationError, match="Brightpearl OAuth answered POST /oauth/token with a redirect"):
            refresh()
    assert elsewhere.received == []


def test_the_alert_webhook_never_follows_a_redirect():
    with capture_server() as elsewhere, capture_server(redirecting(307, elsewhere.url)) as webhook:
        with pytest.raises(ConfigurationError, match=r"alert webhook answered POST with a redirect \(HTTP 307\) to localhost"):
            post_alert(webhook.url + "/services/T000/B000/secret", "a run failed")
    assert elsewhere.received == []
