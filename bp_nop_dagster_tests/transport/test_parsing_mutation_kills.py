"""Reading a list reply item by item (transport/parsing.py; issue 19, item 5): one item the model
rejects is handed back with its id and the problem, never its values, and the rest are kept in
reply order. Rules from the module's docstring (DESIGN principle 12: one bad record stops
nothing). Each test names the break it was checked against."""

from __future__ import annotations

import logging

import pytest
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from bp_nop_dagster.transport.parsing import ById, Items, Malformed, describe, item_id, parse_items

CARD = "4111111111111111"  # a value that must never reach a problem text or a log line


class Line(BaseModel):
    id: int
    quantity: int


class Order(BaseModel):
    id: int
    lines: list[Line]


def rejection(model: type[BaseModel], raw: object):
    with pytest.raises(PydanticValidationError) as raised:
        model.model_validate(raw)
    return raised.value


def test_describe_names_each_field_path_and_message_without_the_values():
    """Breaks checked: the path joined with another separator or cut; `or "top level"` lost;
    the parts joined with another separator."""
    error = rejection(Order, {"id": CARD + "x", "lines": [{"id": 1, "quantity": "1.5"}]})
    assert describe(error) == ("id: Input should be a valid integer, unable to parse string as an integer; "
                               "lines.0.quantity: Input should be a valid integer, unable to parse string as an integer")
    assert CARD not in describe(error)


def test_describe_names_a_problem_of_the_whole_item_as_top_level():
    assert describe(rejection(Line, [1, 2])) == "top level: Input should be a valid dictionary or instance of Line"


@pytest.mark.parametrize(("raw", "fields", "expected"), [
    ({"id": 7}, (), 7),
    ({"id": "12"}, (), 12),
    ({"id": "1"}, (), 1),
    ({"id": " 12 "}, (), 12),
    ({"id": 0}, (), None),
    ({"id": "0"}, (), None),
    ({"id": -3}, (), None),
    ({"id": True}, (), None),
    ({"id": "seven"}, (), None),
    ({"order_id": 5, "id": None}, ("id", "order_id"), 5),
    ({"id": True, "order_id": 9}, ("id", "order_id"), 9),
    ({"id": 4, "order_id": 9}, ("id", "order_id"), 4),
    ({"order_id": 9}, (), None),
    ([("id", 3)], (), None),
])
def test_item_id_is_the_first_positive_integer_among_the_id_fields(raw, fields, expected):
    """Breaks checked: `value > 0` made `>= 0` or `> 1`; a bool counted as an id (`continue`
    made `break` stops before the next field); the default field name mutated."""
    assert item_id(raw, *fields) == expected


def test_parse_items_keeps_the_good_items_in_order_and_hands_back_each_bad_one(caplog):
    """Breaks checked: a rejected item's id taken from the wrong field or dropped; the problem
    text dropped; the log line without the ids."""
    raw = [{"id": 3, "quantity": 1}, {"id": 4, "quantity": CARD + ".5"}, {"id": 1, "quantity": 2}, {"quantity": "x"}]
    with caplog.at_level(logging.WARNING, logger="bp_nop_dagster.transport.parsing"):
        items = parse_items(Line, raw, where="nopCommerce GET /api-backend/Order/GetAll")
    assert isinstance(items, Items) and isinstance(items, list)
    assert [(line.id, line.quantity) for line in items] == [(3, 1), (1, 2)]
    problem = "quantity: Input should be a valid integer, unable to parse string as an integer"
    assert items.malformed == [Malformed(4, problem),
                               Malformed(None, "id: Field required; " + problem)]
    assert items.malformed_ids == {4: problem}
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [f"nopCommerce GET /api-backend/Order/GetAll: 2 item(s) the model rejects, ids [4, None]: {problem}"]
    assert all(CARD not in m for m in messages)


def test_parse_items_reads_ids_from_the_fields_named(caplog):
    items = parse_items(Line, [{"order_item_id": 8, "quantity": "x"}], where="w", id_fields=("id", "order_item_id"))
    assert items.malformed_ids == {8: "id: Field required; quantity: Input should be a valid integer, unable to parse string as an integer"}


def test_a_list_that_parses_whole_logs_nothing(caplog):
    with caplog.at_level(logging.WARNING, logger="bp_nop_dagster.transport.parsing"):
        items = parse_items(Line, [{"id": 1, "quantity": 1}], where="w")
    assert items.malformed == [] and items.malformed_ids == {} and caplog.records == []


def test_by_id_is_a_plain_dict_with_its_rejects():
    found = ById([(2, "b"), (1, "a")], [Malformed(5, "bad"), Malformed(None, "worse")])
    assert found == {2: "b", 1: "a"} and isinstance(found, dict)
    assert found.malformed_ids == {5: "bad"}
    assert ById().malformed == [] and Items().malformed == [] and Items() == []
