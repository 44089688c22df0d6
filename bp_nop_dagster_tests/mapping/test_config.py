from __future__ import annotations

import copy
from decimal import Decimal

import pytest
import yaml

from bp_nop_dagster.mapping.config import (
    DEFAULT_MAPPING_FILE,
    MappingConfigError,
    MappingError,
    load_mapping_config,
    parse_mapping_config,
    unknown_payment_methods,
    validate_against_reference,
)
from bp_nop_dagster.sandbox.brightpearl.backend import reference as bp
from bp_nop_dagster.settings import BP_NOP_MAPPING_FILE as MAPPING_FILE_ENV

DEFAULT_DATA = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text(encoding="utf-8"))

SANDBOX_REFERENCE = dict(
    order_status_ids={s["statusId"] for s in bp.ORDER_STATUSES},
    channel_ids={c["id"] for c in bp.CHANNELS},
    warehouse_ids={1, 2, 3},  # the generator adds three warehouses (ids from 1)
    price_list_ids={p["id"] for p in bp.PRICE_LISTS},
    tax_codes={t["code"] for t in bp.TAX_CODES},
    shipping_method_ids={m["id"] for m in bp.SHIPPING_METHODS},
    nominal_codes={n["code"] for n in bp.NOMINAL_CODES},
)


def test_default_loads_and_fits_the_sandbox(monkeypatch):
    monkeypatch.delenv(MAPPING_FILE_ENV, raising=False)
    config = load_mapping_config()
    assert config.order_status.by_order_status == {10: 2, 20: 7, 30: 8, 40: 5}
    assert config.order_status.awaiting_payment_status_id == 6
    assert config.payment_status == {10: "none", 20: "auth", 30: "receipt", 35: "receipt", 40: "none", 50: "none"}
    assert config.shipping_status.to_brightpearl[25] == "SPS" and config.shipping_status.from_brightpearl["ASS"] == 30
    assert (config.channel_id, config.warehouse_id, config.price_list_id, config.price_mode, config.currency_code) == (1, 1, 2, "EXC", "GBP")
    assert config.tax_codes == {Decimal("20"): "T1", Decimal("5"): "T5", Decimal("0"): "T0"}
    assert config.tax_code_for(Decimal("20.0000")) == "T1"
    assert config.exempt_tax_code == "Z"
    assert config.shipping_methods.by_name == {"Ground": 1, "Next Day Air": 2, "In-Store Pickup": 3}
    assert config.payment_methods == {"Payments.Manual": "CARD", "Payments.PayPalStandard": "PAYPAL",
                                      "Payments.CheckMoneyOrder": "CHEQUE", "Payments.PurchaseOrder": "BANK"}
    assert config.nominal_codes.model_dump() == {"sales": "4000", "shipping": "4040", "discount": "4000", "payment_fee": "4000"}
    assert config.placeholder_sku == "NOP-UNMAPPED" and config.countries == {}
    # empty by default: the brightpearl-installed-integration-instance-id header decides (with_instance_id)
    assert config.installed_integration_instance_id is None and config.external_ref_prefix == "nop-"
    assert config.authorization_expiry_days == 7
    assert validate_against_reference(config, **SANDBOX_REFERENCE) == []
    assert unknown_payment_methods(config, [code for code, _ in bp.PAYMENT_METHODS]) == []


def _write(tmp_path, data, name="mapping.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_env_var_file_loads(tmp_path, monkeypatch):
    data = copy.deepcopy(DEFAULT_DATA)
    data["channel_id"] = 2
    monkeypatch.setenv(MAPPING_FILE_ENV, str(_write(tmp_path, data)))
    assert load_mapping_config().channel_id == 2


def test_explicit_path_wins_over_env_var(tmp_path, monkeypatch):
    env_data, arg_data = copy.deepcopy(DEFAULT_DATA), copy.deepcopy(DEFAULT_DATA)
    env_data["channel_id"], arg_data["channel_id"] = 2, 1
    monkeypatch.setenv(MAPPING_FILE_ENV, str(_write(tmp_path, env_data, "env.yaml")))
    assert load_mapping_config(str(_write(tmp_path, arg_data, "arg.yaml"))).channel_id == 1


def test_a_bad_env_var_file_fails_at_load(tmp_path, monkeypatch):
    data = copy.deepcopy(DEFAULT_DATA)
    data["price_mode"] = "GROSS"
    monkeypatch.setenv(MAPPING_FILE_ENV, str(_write(tmp_path, data)))
    with pytest.raises(MappingConfigError, match="price_mode"):
        load_mapping_config()


@pytest.mark.parametrize(
    "text, words",
    [
        (None, "cannot read mapping file"),
        ("channel_id: [1,\n", "not valid YAML"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("", "must be a YAML mapping"),
    ],
)
def test_unreadable_files(tmp_path, text, words):
    path = tmp_path / "m.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingConfigError, match=words):
        load_mapping_config(str(path))


def _set(path: list, value):
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _delete(path: list):
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


BAD = {
    "empty payment method code": (_set(["payment_methods", "Payments.Manual"], ""), ["payment_methods.Payments.Manual", "1 to 36"]),
    "payment method code not text": (_set(["payment_methods", "Payments.Manual"], ["CARD"]), ["payment_methods.Payments.Manual"]),
    "price mode": (_set(["price_mode"], "GROSS"), ["price_mode", "'EXC' or 'INC'"]),
    "payment action": (_set(["payment_status", 30], "capture"), ["payment_status.30", "'none', 'auth', 'receipt' or 'auth_capture'"]),
    "missing payment status": (_delete(["payment_status", 35]), ["payment_status", "missing nop payment status 35", "35 (PartiallyRefunded)"]),
    "unknown payment status": (_set(["payment_status", 60], "none"), ["payment_status.60", "10, 20, 30, 35, 40 or 50"]),
    "unknown order status": (_set(["order_status", "by_order_status", 15], 2), ["order_status.by_order_status.15", "10, 20, 30 or 40"]),
    "missing order status": (_delete(["order_status", "by_order_status", 40]), ["order_status.by_order_status", "missing nop order status 40"]),
    "order status id not int": (_set(["order_status", "by_order_status", 10], "new"), ["order_status.by_order_status.10", "integer"]),
    "awaiting payment list": (_set(["order_status", "awaiting_payment_when_payment_status"], [11]),
                              ["order_status.awaiting_payment_when_payment_status.0", "10, 20, 30, 35, 40 or 50"]),
    "shipping status code": (_set(["shipping_status", "to_brightpearl", 20], "XXX"), ["shipping_status.to_brightpearl.20", "'NST', 'SNS', 'SPS' or 'ASS'"]),
    "missing shipping status": (_delete(["shipping_status", "from_brightpearl", "SPS"]), ["shipping_status.from_brightpearl", "SPS"]),
    "misspelt key": (_set(["chanel_id"], 1), ["chanel_id", "unknown key"]),
    "nested unknown key": (_set(["nominal_codes", "refunds"], "4000"), ["nominal_codes.refunds", "unknown key"]),
    "missing channel": (_delete(["channel_id"]), ["channel_id", "missing"]),
    "missing placeholder": (_delete(["placeholder_sku"]), ["placeholder_sku", "missing"]),
    "warehouse not a number": (_set(["warehouse_id"], "main"), ["warehouse_id", "integer"]),
    "price list zero": (_set(["price_list_id"], 0), ["price_list_id", "greater than 0"]),
    "currency": (_set(["currency_code"], "pounds"), ["currency_code"]),
    "tax rate not a number": (_set(["tax_codes"], {"abc": "T"}), ["tax_codes.abc", "decimal"]),
    "tax rate above 100": (_set(["tax_codes"], {150: "T"}), ["tax_codes.150", "between 0 and 100"]),
    "empty tax codes": (_set(["tax_codes"], {}), ["tax_codes", "at least one"]),
    "empty exempt code": (_set(["exempt_tax_code"], ""), ["exempt_tax_code"]),
    "shipping method id": (_set(["shipping_methods", "by_name", "Ground"], -1), ["shipping_methods.by_name.Ground", "positive"]),
    "shipping default": (_set(["shipping_methods", "default"], 0), ["shipping_methods.default"]),
    "nominal code": (_set(["nominal_codes", "sales"], "SALES"), ["nominal_codes.sales", "digits"]),
    "missing nominal code": (_delete(["nominal_codes", "shipping"]), ["nominal_codes.shipping", "missing"]),
    "discount allocation": (_set(["discount_allocation"], "proportional"), ["discount_allocation", "'spread' or 'rows'"]),
    "country code": (_set(["countries"], {"GBR": "GB"}), ["countries.GBR", "2-letter"]),
    "instance id": (_set(["installed_integration_instance_id"], -1), ["installed_integration_instance_id"]),
}


@pytest.mark.parametrize("change, words", BAD.values(), ids=BAD.keys())
def test_bad_keys_are_named(change, words):
    data = copy.deepcopy(DEFAULT_DATA)
    change(data)
    with pytest.raises(MappingConfigError) as caught:
        parse_mapping_config(data)
    for word in words:
        assert word in caught.value.message, caught.value.message


def test_unquoted_nominal_codes_are_accepted():
    data = copy.deepcopy(DEFAULT_DATA)
    data["nominal_codes"]["sales"] = 4000
    assert parse_mapping_config(data).nominal_codes.sales == "4000"


def test_several_problems_are_all_reported():
    data = copy.deepcopy(DEFAULT_DATA)
    data["price_mode"] = "X"
    data["channel_id"] = "y"
    with pytest.raises(MappingConfigError) as caught:
        parse_mapping_config(data)
    assert len(caught.value.problems) == 2


@pytest.mark.parametrize(
    "reference, words",
    [
        ({"order_status_ids": {1, 2, 3}}, ["order_status.by_order_status.20", "order status 7", "order_status.awaiting_payment_status_id"]),
        ({"channel_ids": {9}}, ["channel_id: Brightpearl channel 1 does not exist (known: 9)"]),
        ({"warehouse_ids": set()}, ["warehouse_id", "known: none"]),
        ({"price_list_ids": {1}}, ["price_list_id"]),
        ({"tax_codes": {"T1", "T5"}}, ["tax_codes.0", "'T0'", "exempt_tax_code"]),
        ({"shipping_method_ids": {1, 2}}, ["shipping_methods.by_name.In-Store Pickup"]),
        ({"nominal_codes": {"4000"}}, ["nominal_codes.shipping", "'4040'"]),
    ],
)
def test_validate_against_reference(reference, words):
    problems = validate_against_reference(load_mapping_config(), **{**SANDBOX_REFERENCE, **reference})
    text = "; ".join(problems)
    assert problems
    for word in words:
        assert word in text, text


def test_unknown_payment_method_codes_are_warnings_and_absent_codes_say_nothing():
    """Brightpearl does not validate paymentMethodCode (Customer Payment doc: the code "may or may
    not exist" as a Payment Method), so the run-start check ignores payment codes; the doctor
    warns. A payment-method GET without codes (recorded payment_method_get.json: {id, name})
    gives nothing to compare with."""
    config = load_mapping_config()
    warnings = unknown_payment_methods(config, {"CARD", "PAYPAL", "CHEQUE"})
    assert len(warnings) == 1 and "payment_methods.Payments.PurchaseOrder" in warnings[0] and "'BANK'" in warnings[0]
    assert unknown_payment_methods(config, []) == [] and unknown_payment_methods(config, [None, ""]) == []


def test_the_mapping_instance_id_wins_over_the_header_and_the_header_fills_an_empty_one():
    asked = []

    def header() -> int:
        asked.append(True)
        return 11

    config = load_mapping_config()
    assert config.with_instance_id(header).installed_integration_instance_id == 11
    fixed = parse_mapping_config({**DEFAULT_DATA, "installed_integration_instance_id": 3})
    asked.clear()
    assert fixed.with_instance_id(header).installed_integration_instance_id == 3 and not asked


def test_reference_sets_left_out_are_not_checked():
    assert validate_against_reference(load_mapping_config()) == []
    assert validate_against_reference(load_mapping_config(), nominal_codes=None, channel_ids={1}) == []


def test_mapping_error_reasons_are_checked():
    assert MappingError("malformed_order", "x").reason == "malformed_order"
    with pytest.raises(ValueError):
        MappingError("oops", "x")
