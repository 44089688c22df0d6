"""Stock arithmetic, table-driven: on-hand sums, targets, warehouse splits, the `stock:` config."""

from __future__ import annotations

import copy

import pytest
import yaml

from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE, MappingConfigError, parse_mapping_config, validate_against_reference
from bp_nop_dagster.mapping.stock import (
    WarehouseWrite,
    attributes_key,
    nop_warehouse_on_hand,
    on_hand,
    split_across_warehouses,
    target_stock,
    warehouse_writes,
)

DEFAULT_DATA = yaml.safe_load(DEFAULT_MAPPING_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("by_warehouse", "counted", "expected"),
    [
        ({1: 10, 2: 5, 3: 7}, [1, 3], 17),  # the outlet (2) is not counted
        ({1: 10}, [1, 3], 10),  # a warehouse without stock holds nothing
        ({}, [1], 0),
        ({1: -2, 3: 5}, [1, 3], 3),  # over-allocated stock lowers the sum
    ],
)
def test_on_hand_sums_the_counted_warehouses(by_warehouse, counted, expected):
    assert on_hand(by_warehouse, counted) == expected


@pytest.mark.parametrize(
    ("on_hand_units", "in_flight", "buffer", "expected"),
    [
        (10, 0, 0, 10),
        (10, 3, 0, 7),
        (10, 3, 2, 5),
        (10, 8, 5, 0),  # floored at 0, never negative
        (0, 0, 0, 0),
        (-4, 0, 0, 0),
        (5, 0, 5, 0),
    ],
)
def test_target_is_on_hand_minus_in_flight_minus_buffer_floored(on_hand_units, in_flight, buffer, expected):
    assert target_stock(on_hand_units, in_flight, buffer) == expected


@pytest.mark.parametrize(
    ("shares", "deduction", "expected"),
    [
        ({1: 10, 2: 4}, 0, {1: 10, 2: 4}),
        ({1: 10, 2: 4}, 3, {1: 7, 2: 4}),  # taken from the largest share
        ({1: 10, 2: 4}, 12, {1: 0, 2: 2}),
        ({1: 10, 2: 4}, 20, {1: 0, 2: 0}),
        ({1: 5, 2: 5}, 3, {1: 2, 2: 5}),  # ties: the lower warehouse id first
        ({1: -3, 2: 6}, 2, {1: 0, 2: 4}),  # a negative share counts as 0
    ],
)
def test_split_across_warehouses_keeps_the_total_at_the_target(shares, deduction, expected):
    result = split_across_warehouses(shares, deduction)
    assert result == expected
    assert sum(result.values()) == target_stock(sum(max(0, v) for v in shares.values()), deduction, 0)


def test_nop_warehouses_receive_their_brightpearl_warehouses():
    config = parse_mapping_config(DEFAULT_DATA)
    assert nop_warehouse_on_hand({1: 8, 2: 50, 3: 4}, config.stock) == {1: 8, 2: 4}


def test_warehouse_writes_add_the_reserved_quantity_and_leave_unmapped_warehouses_alone():
    records = [(11, 1, 9, 2), (12, 2, 0, 0), (13, 7, 5, 0)]
    assert warehouse_writes(records, {1: 6, 2: 3}) == [
        WarehouseWrite(record_id=11, warehouse_id=1, current=9, reserved=2, wanted=8),
        WarehouseWrite(record_id=12, warehouse_id=2, current=0, reserved=0, wanted=3),
    ]


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ("<Attributes> <A ID=\"1\"/>\n</Attributes>", "<Attributes><AID=\"1\"/></Attributes>"),
        (None, ""),
        ("", ""),
    ],
)
def test_attributes_key_ignores_whitespace(xml, expected):
    assert attributes_key(xml) == expected


def _with_stock(**stock):
    data = copy.deepcopy(DEFAULT_DATA)
    data["stock"] = {**data["stock"], **stock}
    return data


@pytest.mark.parametrize(
    ("stock", "words"),
    [
        ({"buffer": -1}, "stock.buffer"),
        ({"brightpearl_warehouses": []}, "stock.brightpearl_warehouses"),
        ({"brightpearl_warehouses": [1, 1]}, "distinct"),
        ({"nop_warehouses": {1: [2]}}, "stock.nop_warehouses.1: Brightpearl warehouse 2 is not in stock.brightpearl_warehouses"),
        ({"nop_warehouses": {1: [1], 2: [1]}}, "already mapped"),
        ({"bufer": 2}, "stock.bufer: unknown key"),
    ],
)
def test_bad_stock_config_names_the_key(stock, words):
    with pytest.raises(MappingConfigError) as error:
        parse_mapping_config(_with_stock(**stock))
    assert words in str(error.value)


def test_stock_warehouses_are_checked_against_brightpearl():
    config = parse_mapping_config(_with_stock(brightpearl_warehouses=[1, 9], nop_warehouses={}))
    problems = validate_against_reference(config, warehouse_ids={1, 2, 3})
    assert problems == ["stock.brightpearl_warehouses.1: Brightpearl warehouse 9 does not exist (known: 1, 2, 3)"]
