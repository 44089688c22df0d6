"""The contract checks behind `bp-nop probe` (`contracts/conformance.py`), on bodies built from the
sources themselves: the vendored recordings, the api-docs.brightpearl.com pages quoted in
`contracts/brightpearl/documented.json`, and the plugin contract's DTO property lists."""

from __future__ import annotations

import copy
import json

import pytest

from bp_nop_dagster import contracts
from bp_nop_dagster.contracts.conformance import SEARCH_TYPE_KIND, check
from bp_nop_dagster.contracts.shapes import kind, shape_problems
from bp_nop_dagster.probe.endpoints import ENDPOINTS


def _recorded(name: str) -> dict:
    return next(i["body"] for i in contracts.recording(name)["interactions"] if i["method"] == "GET" and i["status"] == 200)


def test_search_data_types_map_to_the_json_kinds_of_recorded_rows():
    """The rule documented.json states, checked on every recorded search reply."""
    checked = 0
    for name in contracts.recording_names():
        for interaction in contracts.recording(name)["interactions"]:
            response = interaction["body"].get("response") if isinstance(interaction["body"], dict) else None
            if not isinstance(response, dict) or "metaData" not in response:
                continue
            types = [c["reportDataType"] for c in response["metaData"]["columns"]]
            for row in response["results"]:
                for data_type, value in zip(types, row):
                    if value is not None:
                        assert kind(value) == SEARCH_TYPE_KIND[data_type], (name, data_type, value)
                        checked += 1
    assert checked > 100


@pytest.mark.parametrize("contract", sorted({c for e in ENDPOINTS for c in e.contracts if c.startswith("recorded:")}))
def test_each_recording_conforms_to_itself(contract):
    # (notes may remain: list items are compared with the first recorded item, and a later one
    # may omit a field the first has, as order_get_multiple.json's second order omits deliveryDate)
    assert check(contract, _recorded(contract.split(":", 1)[1])).differences == []


def test_recorded_contract_type_change_differs_absence_is_a_note():
    body = copy.deepcopy(_recorded("product_get_multiple.json"))
    body["response"][0]["id"] = str(body["response"][0]["id"])
    del body["response"][1]["brandId"]
    findings = check("recorded:product_get_multiple.json", body)
    assert findings.differences == ["response[].id: string, recorded number"]
    assert findings.notes == ["absent (Brightpearl omits nulls): response[].brandId"]


def test_recorded_search_with_a_renamed_column_differs():
    body = copy.deepcopy(_recorded("order_search.json"))
    body["response"]["metaData"]["columns"][7]["name"] = "reference"  # the notes: the column is customerRef
    findings = check("recorded:order_search.json", body)
    assert findings.differences == ["search columns missing (recorded): customerRef"]


# api-docs.brightpearl.com/accounting/payment-method/get.html, "Example 1" response (verbatim shape).
DOCUMENTED_PAYMENT_METHODS = {"response": [{
    "name": "Sage Pay UK", "code": "SAGEPAY_UK", "isActive": True,
    "bankAccounts": [{"paymentMethodId": 1, "currencyIsoCode": "GBP", "bankAccountNominalCode": "1200"}],
    "installedIntegrationId": "1",
}]}


def test_documented_payment_method_example_conforms_and_id_name_only_differs():
    assert check("documented:payment-method", DOCUMENTED_PAYMENT_METHODS).differences == []
    findings = check("documented:payment-method", _recorded("payment_method_get.json"))
    assert findings.differences == [f"{f}: missing (documented as required)" for f in ("code", "isActive", "bankAccounts", "installedIntegrationId")]
    wrong = copy.deepcopy(DOCUMENTED_PAYMENT_METHODS)
    wrong["response"][0]["isActive"] = "true"
    assert check("documented:payment-method", wrong).differences == ["isActive: string, documented bool"]


def _goods_out_search(names: list[str], row: list) -> dict:
    return {"response": {"results": [row], "metaData": {"columns": [{"name": n} for n in names]}}}


GOODS_OUT_COLUMNS = [name for name, _ in contracts.brightpearl_documented()["searches"]["goods-out-search"]["columns"]]
GOODS_OUT_ROW = [12447605, True, True, True, True, "2024-01-02T10:00:00.000+00:00", 988116, 49, 2, False,
                 "2024-01-01T10:00:00.000+00:00", "2024-01-01T10:00:00.000+00:00", 203]


def test_documented_goods_out_search_columns():
    """api-docs.brightpearl.com/warehouse/goods-out-note/search.html: the id column is goodsOutNoteId."""
    ok = check("documented:goods-out-search", _goods_out_search(GOODS_OUT_COLUMNS + ["labelUri"], GOODS_OUT_ROW + ["https://x"]))
    assert ok.differences == []
    assert ok.notes == ["columns beyond the documented part of the list: labelUri"]  # the copy we read stops there
    renamed = ["goodsNoteId"] + GOODS_OUT_COLUMNS[1:]
    assert check("documented:goods-out-search", _goods_out_search(renamed, GOODS_OUT_ROW)).differences == [
        "column goodsOutNoteId: missing (documented INTEGER)"]
    wrong_type = list(GOODS_OUT_ROW)
    wrong_type[4] = "true"
    assert check("documented:goods-out-search", _goods_out_search(GOODS_OUT_COLUMNS, wrong_type)).differences == [
        "column shipped: string values, documented BOOLEAN (bool)"]


def _dto(name: str) -> dict:
    """A DTO with every property of the plugin contract, each of its first JSON type."""
    samples = {"string": "x", "integer": 1, "number": 1.5, "boolean": True, "array": [], "null": None}
    return {prop: samples[spec["json"][0]] for prop, spec in contracts.nopcommerce_contract()["dtos"][name].items()}


def test_webapi_country_list_conforms_and_the_old_guess_differs():
    assert check("webapi:GET Country/GetAllCountries", [_dto("CountryDto")]).differences == []
    guessed = [{("allow_billing" if k == "allows_billing" else k): v for k, v in _dto("CountryDto").items()}]
    assert check("webapi:GET Country/GetAllCountries", guessed).differences == [
        "[]: CountryDto properties missing: allows_billing", "[]: not properties of CountryDto: allow_billing"]
    typed = [{**_dto("CountryDto"), "numeric_iso_code": "826", "display_order": 1.0}]
    assert check("webapi:GET Country/GetAllCountries", typed).differences == [
        "[].numeric_iso_code: string, contract integer", "[].display_order: number, contract integer"]
    assert check("webapi:GET Country/GetAllCountries", {"items": []}).differences == ["$: object, contract list<CountryDto>"]


def test_webapi_paged_envelope_and_nulls():
    page = {**_dto("PagedListDto"), "items": [{**_dto("ShipmentDto"), "shipped_date_utc": None}]}
    assert check("webapi:GET Shipment/GetAll", page).differences == []  # DateTime? may be null (plugin serializes nulls)
    del page["has_next_page"]
    page["items"][0]["tracking_number"] = 7
    assert check("webapi:GET Shipment/GetAll", page).differences == [
        "$: PagedListDto properties missing: has_next_page", "items[].tracking_number: integer, contract string|null"]


def test_unknown_contracts_are_refused():
    with pytest.raises(ValueError, match="unknown contract"):
        check("guessed:x", {})
    with pytest.raises(KeyError, match="no action GET Country/GetAll"):
        check("webapi:GET Country/GetAll", [])
    with pytest.raises(ValueError, match="no documented Brightpearl contract"):
        check("documented:nothing", {})


def test_shape_rules():
    """The comparison the recording tests share: id-keyed maps by value shape, search rows by position, nulls skipped."""
    assert shape_problems({"response": {"12": {"a": 1}}}, {"response": {"99": {"a": 2}, "100": {"a": "x"}}}) == [
        "response.{id}.a: string, recorded number"]
    assert shape_problems({"results": [[1, "a", None]]}, {"results": [[2, 3, True]]}) == ["results[][1]: number, recorded string"]
    assert shape_problems({"results": [[1, "a"]]}, {"results": [[2]]}) == ["results[]: 1 positions, recorded 2"]
    assert shape_problems({"a": None, "b": 1}, {"a": "x", "b": 2}) == []  # a recorded null says nothing of the type
    assert shape_problems({"a": 1}, {}, optional={"a"}) == []
    assert json.loads(json.dumps(shape_problems({"a": {"b": 1}}, {"a": {}}))) == ["a.b: missing"]
