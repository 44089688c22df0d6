"""Sandbox profiles (`sandbox/profiles.py`): `faithful` leaves the apps alone; `drifted` rewrites
routes and JSON replies outside the simulators. Checked here on a tiny ASGI app (so the wrapper is
proven independently of the simulators) and through the options of SandboxWorld, RunningSandbox
and `bp-nop sandbox`. That the probe reports each drift: probe/test_probe_sandbox.py."""

from __future__ import annotations

import asyncio
import json

import pytest

from bp_nop_dagster.cli import build_parser
from bp_nop_dagster.sandbox.profiles import DRIFTED, with_profile
from bp_nop_dagster.sandbox.server import RunningSandbox
from bp_nop_dagster.sandbox.world import PROFILES, SandboxWorld


def echo_app(replies: dict[str, object]):
    """An ASGI app answering 200 JSON `replies[path]`, else 404; header `x-seen` is the path it saw."""

    async def app(scope, receive, send):
        body = replies.get(scope["path"])
        status = 200 if body is not None else 404
        payload = json.dumps(body if body is not None else {"error": "no"}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                                (b"x-seen", scope["path"].encode())]})
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    return app


def call(app, path: str) -> tuple[int, dict, dict]:
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app({"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"", "headers": []},
                    receive, send))
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    headers = dict(start["headers"])
    assert int(headers[b"content-length"]) == len(body)
    return start["status"], json.loads(body), headers


def test_faithful_returns_the_app_itself():
    app = echo_app({})
    assert with_profile(app, "faithful", "nopcommerce") is app
    assert {d.system for d in DRIFTED} == {"brightpearl", "nopcommerce"}


def test_drifted_renames_dto_properties_and_routes():
    country = {"id": 3, "allows_billing": True, "allows_shipping": False, "name": "United Kingdom"}
    app = with_profile(echo_app({"/api-backend/Country/GetAllCountries": [country],
                                 "/api-backend/ReturnRequest/Search": {"items": []}}), "drifted", "nopcommerce")
    status, reply, _ = call(app, "/api-backend/Country/GetAllCountries")
    assert status == 200 and reply == [{"id": 3, "allow_billing": True, "allow_shipping": False, "name": "United Kingdom"}]
    assert call(app, "/api-backend/ReturnRequest/Search")[0] == 404
    status, _, headers = call(app, "/api-backend/ReturnRequest/List")
    assert status == 200 and headers[b"x-seen"] == b"/api-backend/ReturnRequest/Search"
    assert call(app, "/__sandbox__/state")[0] == 404  # the control API is never touched


def test_drifted_rewrites_brightpearl_search_columns_and_payment_methods():
    search = {"response": {"results": [[1, 2]], "metaData": {"columns": [{"name": "goodsOutNoteId"}, {"name": "orderId"}]}}}
    methods = {"response": [{"id": 1, "name": "Card", "code": "CARD", "isActive": True}]}
    app = with_profile(echo_app({"/public-api/acme/warehouse-service/goods-note/goods-out-search": search,
                                 "/public-api/acme/accounting-service/payment-method": methods}), "drifted", "brightpearl")
    _, reply, _ = call(app, "/public-api/acme/warehouse-service/goods-note/goods-out-search")
    assert [c["name"] for c in reply["response"]["metaData"]["columns"]] == ["goodsNoteId", "orderId"]
    _, reply, _ = call(app, "/public-api/acme/accounting-service/payment-method")
    assert reply == {"response": [{"id": 1, "name": "Card"}]}


def test_profile_options():
    assert PROFILES == ("faithful", "drifted")
    assert SandboxWorld(scale="small", profile="drifted").profile == "drifted"
    with pytest.raises(ValueError, match="profile must be one of"):
        SandboxWorld(scale="small", profile="wrong")
    world = SandboxWorld(scale="small")
    with pytest.raises(ValueError, match="profile must be one of"):
        RunningSandbox(world, profile="wrong")
    assert build_parser().parse_args(["sandbox", "--profile", "drifted"]).profile == "drifted"
    assert build_parser().parse_args(["sandbox"]).profile == "faithful"
