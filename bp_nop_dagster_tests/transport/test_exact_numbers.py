"""Money is never parsed as float (issue 12, E): every JSON reply is read with `parse_float=Decimal`,
so a number keeps every digit the server sent, and a body re-sent to the server (nopCommerce's
full-replace `Update` of a DTO read just before) carries the same digits back. The numbers below
have more digits than a float holds (17 significant), so float parsing would change them."""

from __future__ import annotations

import json
from decimal import Decimal

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.transport.transport import json_bytes
from bp_nop_dagster_tests.capture_server import Answer, capture_server

EXACT = "12345678901234567.891"


def test_a_reply_keeps_every_digit():
    body = f'{{"response": {{"total": {EXACT}, "count": 3, "rate": 0.1}}}}'.encode()
    with capture_server(lambda _: Answer(200, body)) as server:
        reply = BrightpearlClient(server.url + "/public-api/myshop", app_ref="myshop_app", account_token="tok").get("/x")
    assert reply == {"total": Decimal(EXACT), "count": 3, "rate": Decimal("0.1")}
    assert isinstance(reply["count"], int)


def test_a_dto_read_and_replaced_keeps_its_prices_exact():
    price = "19.9900000000000000001"
    dto = f'{{"id": 7, "price": {price}, "weight": 0.30, "stock_quantity": 5}}'.encode()
    with capture_server(lambda request: Answer(200, dto if request.method == "GET" else b"")) as server:
        client = NopCommerceClient(server.url + "/api-backend", "a@b.test", "pw")
        client._NopCommerceClient__token_state = ("jwt", float("inf"))  # skip GetToken: not what is tested
        assert client.update_product_stock(7, 9, expected=5)
    put = server.received[-1]
    assert put.method == "PUT" and put.headers["content-type"] == "application/json"
    assert f'"price": {price}' in put.body.decode() and '"weight": 0.30' in put.body.decode()
    assert json.loads(put.body, parse_float=Decimal) == {"id": 7, "price": Decimal(price), "weight": Decimal("0.30"), "stock_quantity": 9}


def test_json_bytes_writes_decimals_as_numbers_and_leaves_strings_alone():
    body = {"a": Decimal(EXACT), "b": [Decimal("-0.5"), "text with 1.5"], "c": None}
    assert json_bytes(body) == f'{{"a": {EXACT}, "b": [-0.5, "text with 1.5"], "c": null}}'.encode()
