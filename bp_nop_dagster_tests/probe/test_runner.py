"""The runner's verdicts, with a stub in place of the client: each taxonomy error is a row (never a
traceback), and a reply the contract accepts but the client's models reject still differs."""

from __future__ import annotations

import pytest

from bp_nop_dagster.probe.endpoints import ENDPOINTS
from bp_nop_dagster.probe.runner import DIFFERS, ERROR, OK, SKIPPED, Pace, render_table, run_probe
from bp_nop_dagster.transport.errors import AuthError, NotFoundError, TransientError, ValidationError
from bp_nop_dagster.transport.transport import Reply

WAREHOUSES = next(e for e in ENDPOINTS if e.name == "GET /warehouse-service/warehouse")
PRODUCT_SEARCH = next(e for e in ENDPOINTS if e.name == "GET /product-service/product-search")
PRODUCTS = next(e for e in ENDPOINTS if e.name == "GET /product-service/product/{idset}")


class StubClient:
    def __init__(self, outcome) -> None:
        self.outcome = outcome
        self.calls: list[tuple[str, str, dict]] = []

    def request(self, method, path, *, params=None):
        self.calls.append((method, path, dict(params or {})))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return Reply(200, self.outcome, {})


def _run(endpoints, outcome):
    client = StubClient(outcome)
    rows = run_probe(endpoints, {"brightpearl": client}, Pace(0.0, 20, sleep=lambda _: None))
    return rows, client


def test_a_reply_the_recording_accepts_but_the_model_rejects_differs():
    # warehouse_get.json records {"id": 1, "name": "..."}: 1.5 is a JSON number too, but not an id
    rows, _ = _run([WAREHOUSES], {"response": [{"id": 1.5, "name": "Main"}]})
    assert rows[0].result == DIFFERS and rows[0].details[0].startswith("client model: ")
    rows, _ = _run([WAREHOUSES], {"response": [{"id": 1, "name": "Main"}]})
    assert rows[0].result == OK and rows[0].details == []


@pytest.mark.parametrize(("error", "result", "text"), [
    (AuthError("Brightpearl", "credentials refused", status=401, method="GET", path="/x"), ERROR, "credentials refused (HTTP 401)"),
    (TransientError("Brightpearl", "server error", status=502, method="GET", path="/x"), ERROR, "server error (HTTP 502)"),
    (NotFoundError("Brightpearl", "CMNC-404: gone", status=404, method="GET", path="/x"), DIFFERS, "HTTP 404"),
    (ValidationError("Brightpearl", "CMNC-018", "cannot be parsed", status=500, method="GET", path="/x"), DIFFERS,
     "request refused as invalid: CMNC-018: cannot be parsed"),
])
def test_errors_are_rows(error, result, text):
    rows, _ = _run([WAREHOUSES], error)
    assert rows[0].result == result and text in rows[0].details[0]


def test_ids_flow_from_a_search_to_the_by_id_read_and_a_failed_search_skips_it():
    search = {"response": {"results": [[1007, "Shirt"], [1532, "Hat"], [1569, "Cap"]],
                           "metaData": {"columns": [{"name": "productId"}, {"name": "productName"}]}}}
    rows, client = _run([PRODUCT_SEARCH, PRODUCTS], search)
    assert client.calls[1][1] == "/product-service/product/1007,1532"  # the first two ids, an ID set
    rows, client = _run([PRODUCT_SEARCH, PRODUCTS], TransientError("Brightpearl", "down", status=503))
    assert [r.result for r in rows] == [ERROR, SKIPPED] and len(client.calls) == 1
    assert rows[1].details == ["no product_ids: GET /product-service/product-search error"]
    table = render_table(rows)
    assert "skipped  GET /product-service/product/{idset}" in table and table.endswith("0 ok, 0 differs, 1 error, 1 skipped")


def test_unconfigured_system_is_skipped_with_the_reason():
    rows = run_probe([WAREHOUSES], {}, Pace(0.0, 20), unavailable={"brightpearl": "not configured: set BRIGHTPEARL_BASE_URL"})
    assert rows[0].result == SKIPPED and rows[0].details == ["not configured: set BRIGHTPEARL_BASE_URL"]
