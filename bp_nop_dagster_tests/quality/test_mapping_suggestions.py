"""The mapping suggester and the YAML it writes. Expected values come from the rules in the module
docstring and from the mapping file's own validation (`parse_mapping_config`)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from bp_nop_dagster.brightpearl.models import Channel, OrderStatus, PaymentMethod, PriceList, ShippingMethod, TaxCode, Warehouse
from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE, MappingConfigError, load_mapping_config, parse_mapping_config
from bp_nop_dagster.quality.mapping_suggestions import (
    ABSTAIN,
    CONFIDENT,
    REVIEW,
    BrightpearlReference,
    LinkedOrder,
    NominalCode,
    NopReference,
    NopWarehouse,
    SuggestionRules,
    suggest_mapping,
)
from bp_nop_dagster.quality.mapping_yaml import changed_values, config_values, render_mapping_yaml
from bp_nop_dagster.quality.vocabulary import concepts
from bp_nop_dagster.sandbox.quality_fixtures import NOP_PAYMENT_PLUGINS, sandbox_profile


def status(i: int, name: str, state: str, kind: str = "SO") -> OrderStatus:
    return OrderStatus.model_validate({"statusId": i, "name": name, "orderTypeCode": kind, "state": state})


NOP = NopReference(
    currency_code="GBP",
    payment_methods=NOP_PAYMENT_PLUGINS,
    shipping_methods=("Ground", "Next Day Air", "In-Store Pickup"),
    tax_rates=(Decimal(20), Decimal(0)),
    warehouses=(NopWarehouse(1, "Main warehouse"),),
)
BP = BrightpearlReference(
    order_statuses=(status(1, "New web order", "open"), status(2, "New phone order", "open"), status(3, "Ready to ship", "open"),
                    status(4, "Dispatched", "completed"), status(5, "Cancelled", "cancelled"), status(6, "Awaiting payment", "open"),
                    status(9, "Credit cancelled", "cancelled", "SC")),
    payment_methods=(PaymentMethod(name="Credit / debit card", code="CARD"), PaymentMethod(name="PayPal", code="PAYPAL"),
                     PaymentMethod(name="Cheque", code="CHEQUE"), PaymentMethod(name="Bank transfer", code="BANK"),
                     PaymentMethod(name="Gift card", code="GIFTCARD"), PaymentMethod(name="Purchase order (on account)", code="PO")),
    shipping_methods=(ShippingMethod(id=1, name="Standard", code="STD"), ShippingMethod(id=2, name="Express", code="EXP"),
                      ShippingMethod(id=3, name="Click & collect", code="CNC")),
    tax_codes=(TaxCode(id=1, code="T20", description="Standard rate : 20% VAT", rate=Decimal(20)),
               TaxCode(id=2, code="T0", description="Zero rated"), TaxCode(id=3, code="T2", description="Tax exempt")),
    warehouses=(Warehouse(id=1, name="Main warehouse"), Warehouse(id=2, name="Outlet")),
    channels=(Channel(id=1, name="Web store", default_price_list_id=2), Channel(id=2, name="Amazon")),
    price_lists=(PriceList(id=1, name="Cost", currency_code="GBP", price_list_type_code="BUY"),
                 PriceList(id=2, name="Retail", currency_code="GBP", price_list_type_code="SELL"),
                 PriceList(id=3, name="Retail EUR", currency_code="EUR", price_list_type_code="SELL")),
    nominal_codes=(NominalCode("4000", "Sales"), NominalCode("4040", "Carriage"), NominalCode("5000", "Cost of sales")),
)


def choice(result, table, source):
    found = result.get(table, source)
    return found.choice.target if found.choice else None


def test_names_read_through_synonyms():
    assert concepts("Payments.CheckMoneyOrder Check / Money Order", "payment_method")[0] == {"cheque"}
    assert concepts("Royal Mail 2nd Class", "shipping_method")[0] == {"standard"}
    assert concepts("In-Store Pickup", "shipping_method")[0] == {"collect"}
    assert concepts("Cancelled - do not ship", "order_status")[0] == {"cancelled"}
    assert concepts("Check / Money Order", "payment_method", synonyms=False)[0] == {"check", "money"}


def test_suggestions_on_names_numbers_and_kinds():
    result = suggest_mapping(NOP, BP)
    assert [choice(result, "order_status", s) for s in (10, 20, 30, 40)] == [1, 3, 4, 5]  # web, not phone; SO, not SC
    assert choice(result, "awaiting_payment_status", "awaiting") == 6
    assert [choice(result, "payment_method", m.system_name) for m in NOP_PAYMENT_PLUGINS[:3]] == ["CARD", "PAYPAL", "CHEQUE"]
    assert [choice(result, "shipping_method", m) for m in NOP.shipping_methods] == [1, 2, 3]
    assert choice(result, "shipping_default", "default") == 1  # the target of the standard method
    assert choice(result, "tax_rate", Decimal(20)) == "T20"  # the only code with rate 20
    assert choice(result, "tax_rate", Decimal(0)) == "T0" and choice(result, "exempt_tax_code", "exempt") == "T2"
    assert choice(result, "channel", "web") == 1 and choice(result, "price_list", "retail") == 2
    assert choice(result, "currency", "primary") == "GBP"
    assert choice(result, "nominal_code", "sales") == "4000" and choice(result, "nominal_code", "shipping") == "4040"
    fallback = result.get("nominal_code", "discount")
    assert fallback.choice.target == "4000" and "fallback" in fallback.choice.evidence[0]


def test_a_purchase_order_is_a_business_decision_and_ties_are_left_to_a_person():
    result = suggest_mapping(NOP, BP)
    po = result.get("payment_method", "Payments.PurchaseOrder")
    assert po.status == REVIEW and po.choice is None and po.candidates[0].target == "PO"
    tied = BrightpearlReference(order_statuses=(status(1, "Packed", "open"), status(2, "Picking", "open")))
    processing = suggest_mapping(NOP, tied).get("order_status", 20)
    assert processing.status == REVIEW and "tie" in processing.note


def test_nothing_near_enough_is_an_abstention():
    result = suggest_mapping(NOP, BrightpearlReference(shipping_methods=(ShippingMethod(id=9, name="Pallet freight"),)))
    ground = result.get("shipping_method", "Ground")
    assert ground.status == ABSTAIN and ground.choice is None
    assert result.get("tax_rate", Decimal(20)).status == ABSTAIN  # no code with that rate at all


def test_linked_orders_outrank_names():
    linked = [LinkedOrder(nop_payment_method="Payments.PurchaseOrder", bp_payment_method_code="BANK") for _ in range(9)]
    linked.append(LinkedOrder(nop_payment_method="Payments.PurchaseOrder", bp_payment_method_code="PO"))
    po = suggest_mapping(NOP, BP, linked).get("payment_method", "Payments.PurchaseOrder")
    assert po.status == CONFIDENT and po.choice.target == "BANK" and po.choice.score == 0.9
    assert po.choice.evidence[0] == "co-occurrence 9/10 linked orders"
    few = suggest_mapping(NOP, BP, linked[:4], SuggestionRules(min_support=5)).get("payment_method", "Payments.PurchaseOrder")
    assert few.status == REVIEW  # four orders are not history enough: back to names


def test_the_yaml_validates_and_an_unmapped_key_is_named():
    text = render_mapping_yaml(suggest_mapping(NOP, BP), confirmed={("payment_method", "Payments.PurchaseOrder"): "BANK"})
    config = parse_mapping_config(yaml.safe_load(text))
    assert config.payment_methods["Payments.PurchaseOrder"] == "BANK"
    assert config.order_status.by_order_status == {10: 1, 20: 3, 30: 4, 40: 5}
    assert config.fulfilment.on_order_status == {5: "cancel"}
    assert config.tax_codes == {Decimal(20): "T20", Decimal(0): "T0"} and config.stock.nop_warehouses == {1: [1]}
    assert "Payments.PurchaseOrder: BANK   # confirmed" in text
    without_channel = BrightpearlReference(**{**BP.__dict__, "channels": ()})
    text = render_mapping_yaml(suggest_mapping(NOP, without_channel))
    assert "# channel_id: ?" in text
    with pytest.raises(MappingConfigError, match="channel_id: required key is missing"):
        parse_mapping_config(yaml.safe_load(text))


def test_the_sandbox_suggestions_with_history_rebuild_the_packaged_mapping():
    profile = sandbox_profile()
    result = suggest_mapping(profile.nop, profile.bp, profile.linked)
    rebuilt = parse_mapping_config(yaml.safe_load(render_mapping_yaml(result)))
    default = load_mapping_config(DEFAULT_MAPPING_FILE)
    # `quality` is policy the renderer does not suggest (the packaged file accepts the sandbox's .test emails)
    assert rebuilt.model_dump(exclude={"countries", "quality"}) == default.model_dump(exclude={"countries", "quality"})
    assert changed_values(result, default) == []


def test_config_values_and_changed_values():
    default = load_mapping_config(DEFAULT_MAPPING_FILE)
    values = config_values(default)
    assert values[("order_status", 10)] == 2 and values[("tax_rate", Decimal(20))] == "T1"
    assert values[("payment_method", "Payments.PurchaseOrder")] == "BANK" and values[("country", "GB")] == "GBR"
    result = suggest_mapping(NOP, BP)  # another account's ids: every confident value differs from the sandbox's
    changed = {(s.table, s.source): old for s, old in changed_values(result, default)}
    assert changed[("order_status", 10)] == 2 and changed[("tax_rate", Decimal(20))] == "T1"


def test_the_review_table_has_a_row_per_candidate():
    frame = suggest_mapping(NOP, BP).frame()
    po = frame[(frame["table"] == "payment_method") & (frame["source"] == "Payments.PurchaseOrder")]
    assert list(po["rank"]) == [1, 2, 3] and set(po["status"]) == {"review"} and po.iloc[0]["target"] == "PO"
    assert "name" in po.iloc[0]["evidence"]
    ground = suggest_mapping(NOP, BrightpearlReference()).frame()
    empty = ground[ground["table"] == "shipping_method"]
    assert empty["target"].isna().all() and set(empty["status"]) == {"abstain"}
