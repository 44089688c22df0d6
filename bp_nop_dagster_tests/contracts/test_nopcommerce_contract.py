"""The nopCommerce simulator and client against the vendored Web API Backend contract
(`bp_nop_dagster/contracts/nopcommerce/webapi-contract.json`, extracted from the official plugin
4.70.1 source; repository and commit inside). The expected values all come from that file, read
here directly as JSON, never through the simulator's own view of it.

- every route the simulator serves is a plugin action: same verb, template, path parameter names;
  the route reads no query parameter the action does not declare;
- every DTO the simulator renders has exactly the contract's properties, with the contract's
  JSON types (null-valued properties present);
- the client calls only plugin actions, and its models expect no property the contract lacks;
- `Product/Update` (a full replace) gets back every property the client read;
- every API route has a fact in the fidelity table.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import textwrap
import types
import typing
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from bp_nop_dagster.contracts import NOPCOMMERCE_CONTRACT
from bp_nop_dagster.nopcommerce import client as client_module
from bp_nop_dagster.nopcommerce import models
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sandbox.nopcommerce import app as nop_app
from bp_nop_dagster.sandbox.nopcommerce.fidelity import FACTS
from bp_nop_dagster.sandbox.nopcommerce.wire import new_entity, to_wire
from bp_nop_dagster.sandbox.world import SandboxWorld

CONTRACT = json.loads(Path(NOPCOMMERCE_CONTRACT).read_text(encoding="utf-8"))
ACTIONS = {(a["verb"], "/" + a["route"].split("/", 1)[1]): a for a in CONTRACT["actions"]}  # "/Order/GetById/{id}"
DTOS = CONTRACT["dtos"]


# ------------------------------------------------------------------------------------------------
# routes
def test_every_route_is_a_contract_action_with_its_verb_template_and_path_parameters():
    for route in nop_app.API_ROUTES:
        template = route.path[len(nop_app.API):]
        action = ACTIONS.get((route.method, template))
        assert action is not None, f"{route.method} {template} is no action of the plugin"
        declared_path = [p["name"] for p in action["params"] if p["in"] == "path"]
        assert re.findall(r"{(\w+)}", template) == declared_path, template


def _reads(function, seen=None) -> set[str]:
    """Parameter names a route function (and the app helpers it hands `call` to) read with
    `call["name"]` or `positive(call, "name")`."""
    seen = seen if seen is not None else set()
    if function in seen:
        return set()
    seen.add(function)
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "call" \
                and isinstance(node.slice, ast.Constant):
            names.add(node.slice.value)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            helper = getattr(nop_app, node.func.id, None)
            passes_call = any(isinstance(a, ast.Name) and a.id == "call" for a in node.args)
            if node.func.id == "positive" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                names.add(node.args[1].value)
            elif passes_call and isinstance(helper, types.FunctionType) and helper.__module__ == nop_app.__name__:
                names |= _reads(helper, seen)
    return names


def test_routes_read_only_the_parameters_their_action_declares():
    """A parameter the action does not declare is ignored by ASP.NET (e.g. getOnlyTotalCount on
    Shipment/GetAll): the simulator must not honour one either."""
    assert _reads(nop_app.order_search) >= {"pageIndex", "pageSize", "osIds", "createdFromUtc"}  # the scan sees through helpers
    for route in nop_app.API_ROUTES:
        action = ACTIONS[(route.method, route.path[len(nop_app.API):])]
        declared = {p["name"] for p in action["params"]}
        assert _reads(route.handler) <= declared, f"{route.method} {route.path} reads {_reads(route.handler) - declared}"


def test_unknown_routes_answer_404_and_other_verbs_405(sandbox):
    import requests

    base = sandbox.urls.nopcommerce_base_url
    assert requests.get(f"{base}/Country/GetAll", timeout=10).status_code == 404
    assert requests.get(f"{base}/OrderProcessing/CanShip/1", timeout=10).status_code == 404
    assert requests.delete(f"{base}/Order/Search", timeout=10).status_code == 405


# ------------------------------------------------------------------------------------------------
# DTOs
JSON_TYPES = {"integer": int, "number": (int, float), "boolean": bool, "string": str, "array": list}


def _json_type_ok(value, allowed: list[str]) -> bool:
    if value is None:
        return "null" in allowed
    if isinstance(value, bool):
        return "boolean" in allowed
    return any(isinstance(value, JSON_TYPES[t]) for t in allowed if t != "null" and t != "boolean")


def _check_dto(dto: str, rendered: dict) -> None:
    properties = DTOS[dto]
    assert list(rendered) == list(properties), f"{dto}: {set(rendered) ^ set(properties)}"
    for name, prop in properties.items():
        value = rendered[name]
        assert _json_type_ok(value, prop["json"]), f"{dto}.{name} = {value!r}, contract {prop['json']}"
        if value is not None and prop.get("format") == "date-time":
            datetime.fromisoformat(value)
            assert not value.endswith("Z") and "+" not in value, f"{dto}.{name}: {value}"
        if value is not None and prop.get("format") == "uuid":
            uuid.UUID(value)


@pytest.fixture(scope="module")
def shop():
    """A seeded shop with one of each entity."""
    world = SandboxWorld(seed=42, scale="small")
    nop = world.nopcommerce
    order = next(o for o in nop.orders.values() if not o["deleted"])
    item = nop.items_of_order(order["id"])[0]
    shipment = nop.insert_shipment(new_entity("shipment", order_id=order["id"], tracking_number="T", created_on_utc=nop.now()))
    nop.insert_shipment_item(new_entity("shipment_item", shipment_id=shipment["id"], order_item_id=item["id"], quantity=1))
    nop.ship(shipment["id"], notify_customer=False)
    store_id = nop.add_store("Second", url="https://second.test/")
    nop.update_product_store_mappings(nop.products[item["product_id"]], [store_id])
    return nop


KIND_OF_DTO = {
    "AddressDto": "address", "CountryDto": "country", "CustomerDto": "customer", "OrderDto": "order", "OrderItemDto": "order_item",
    "OrderNoteDto": "order_note", "ProductDto": "product", "ProductAttributeCombinationDto": "product_attribute_combination",
    "ProductWarehouseInventoryDto": "product_warehouse_inventory", "ReturnRequestDto": "return_request", "ShipmentDto": "shipment",
    "ShipmentItemDto": "shipment_item", "StockQuantityHistoryDto": "stock_quantity_history", "WarehouseDto": "warehouse",
    "CustomerRoleDto": "customer_role", "ReturnRequestReasonDto": "return_request_reason",
    "ReturnRequestActionDto": "return_request_action", "StoreDto": "store", "StoreMappingDto": "store_mapping",
    "StateProvinceDto": "state_province",
}
TABLE_OF_KIND = {
    "address": "addresses", "country": "countries", "customer": "customers", "order": "orders", "order_item": "order_items",
    "order_note": "order_notes", "product": "products", "product_attribute_combination": "combinations",
    "product_warehouse_inventory": "product_warehouses", "return_request": "return_requests", "shipment": "shipments",
    "shipment_item": "shipment_items", "stock_quantity_history": "stock_history", "warehouse": "warehouses",
    "customer_role": "role_rows", "return_request_reason": "return_request_reasons", "return_request_action": "return_request_actions",
    "store": "stores", "store_mapping": "store_mappings", "state_province": "state_provinces",
}


def test_every_dto_of_a_served_route_is_rendered_by_the_simulator():
    """Each DTO a served route returns or accepts (contract `returns`/body params) is one the
    simulator renders, so the DTO check above covers every new route."""
    served = {(route.method, route.path[len(nop_app.API):]) for route in nop_app.API_ROUTES}
    used: set[str] = set()
    for key in served:
        action = ACTIONS[key]
        shape = re.sub(r"^(list|paged)<(.+)>$", r"\2", action["returns"])
        used |= {shape} | {p["cs_type"] for p in action["params"] if p["in"] == "body"}
    dtos = {name for name in used if name in DTOS}
    assert dtos - {"AuthenticateResponse", "PagedListDto"} <= set(KIND_OF_DTO), dtos - set(KIND_OF_DTO)


@pytest.mark.parametrize("dto", sorted(KIND_OF_DTO))
def test_every_dto_the_simulator_renders_has_exactly_the_contract_properties_and_types(shop, dto):
    kind = KIND_OF_DTO[dto]
    rows = list(getattr(shop, TABLE_OF_KIND[kind]).values())
    assert rows, f"the shop has no {kind}"
    for row in rows[:50]:
        _check_dto(dto, to_wire(kind, row))
    _check_dto(dto, to_wire(kind, new_entity(kind)))  # a row of C# defaults (nulls present)


def test_product_dto_has_the_plugins_104_properties():
    assert len(DTOS["ProductDto"]) == 104 and "show_on_homepage" in DTOS["ProductDto"]
    assert "picture_id" not in DTOS["ProductAttributeCombinationDto"]
    assert {"allows_billing", "allows_shipping", "limited_to_stores"} <= set(DTOS["CountryDto"])


def test_envelopes_over_http(sandbox):
    import requests

    base = sandbox.urls.nopcommerce_base_url
    creds = sandbox.world.credentials
    token = requests.post(f"{base}/Authenticate/GetToken", json={"email": creds.nopcommerce_email, "password": creds.nopcommerce_password},
                          timeout=10).json()
    _check_dto("AuthenticateResponse", token)
    page = requests.get(f"{base}/Order/Search", params={"pageSize": 2}, headers={"Authorization": f"Bearer {token['token']}"},
                        timeout=10).json()
    _check_dto("PagedListDto", page)
    for order in page["items"]:
        _check_dto("OrderDto", order)


# ------------------------------------------------------------------------------------------------
# the client
CLIENT_MODELS = {
    "AuthenticateResponse": models.TokenResponse, "OrderDto": models.Order, "OrderItemDto": models.OrderItem,
    "AddressDto": models.Address, "CustomerDto": models.Customer, "ProductDto": models.Product,
    "ProductWarehouseInventoryDto": models.ProductWarehouseInventory,
    "ProductAttributeCombinationDto": models.ProductAttributeCombination, "ShipmentDto": models.Shipment,
    "ShipmentItemDto": models.ShipmentItem, "ReturnRequestDto": models.ReturnRequest, "CountryDto": models.Country,
    "PagedListDto": models.PagedList, "ReturnRequestReasonDto": models.ReturnRequestLookup,
    "ReturnRequestActionDto": models.ReturnRequestLookup, "StoreDto": models.Store, "CustomerRoleDto": models.CustomerRole,
}
PYTHON_TYPES = {"integer": (int,), "number": (Decimal,), "boolean": (bool,), "string": (str, datetime, SecretStr), "array": (list,)}
# Properties a model parses out of the string the plugin sends (models.TaxRates reads "rate:amount;").
PARSED_FROM_STRING = {("OrderDto", "tax_rates"): models.parse_tax_rates}


def _base_types(annotation) -> tuple[set, bool]:
    """The non-None types an annotation admits, and whether it admits None."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _base_types(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        found, nullable = set(), False
        for arg in typing.get_args(annotation):
            if arg is type(None):
                nullable = True
            else:
                inner, inner_null = _base_types(arg)
                found |= inner
                nullable |= inner_null
        return found, nullable
    origin = typing.get_origin(annotation)
    return {origin or annotation}, False


@pytest.mark.parametrize("dto", sorted(CLIENT_MODELS))
def test_client_models_expect_no_property_the_contract_lacks(dto):
    """The client may ignore properties, never expect one the plugin does not send; where the
    contract says a property may be null, the model accepts null."""
    model = CLIENT_MODELS[dto]
    properties = DTOS[dto]
    for name, field in model.model_fields.items():
        assert name in properties, f"{model.__name__}.{name} is not a property of {dto}"
        allowed, nullable = _base_types(field.annotation)
        wanted = tuple(t for j in properties[name]["json"] if j != "null" for t in PYTHON_TYPES[j])
        if (dto, name) in PARSED_FROM_STRING:
            assert properties[name]["json"][0] == "string" and PARSED_FROM_STRING[(dto, name)]("20:1.5;") is not None
        else:
            assert any(issubclass(t, wanted) for t in allowed if isinstance(t, type)), f"{model.__name__}.{name}: {allowed} vs {wanted}"
        if "null" in properties[name]["json"]:
            assert nullable or not field.is_required(), f"{model.__name__}.{name} must accept null"


def test_the_client_calls_only_plugin_actions():
    """Every `/Controller/Action` path the client builds is an action of the plugin (so no
    Country/GetAll, no OrderProcessing/CanShip)."""
    source = inspect.getsource(client_module)
    paths = set(re.findall(r'"/([A-Z]\w+/[A-Z]\w+)', source))
    assert "Country/GetAllCountries" in paths and "Shipment/Create" in paths
    known = {template.split("/{")[0].lstrip("/") for _, template in ACTIONS}
    assert paths <= known, paths - known


def test_product_update_round_trips_every_contract_property(sandbox):
    """`Product/Update` replaces the whole product (WAPI ProductController.Update maps the body
    onto a new Product): the stock write must send back every ProductDto property it read,
    unknown ones included, changing only stock_quantity."""
    creds = sandbox.world.credentials
    with NopCommerceClient(sandbox.urls.nopcommerce_base_url, creds.nopcommerce_email, creds.nopcommerce_password) as nop:
        product = next(p for p in nop.products() if p.manage_inventory_method_id == 1 and not p.use_multiple_warehouses)
        sent: list[dict] = []
        send = nop.request

        def capture(method, path, **kwargs):  # noqa: ANN001, ANN003, ANN202
            if method == "PUT":
                sent.append(kwargs["json_body"])
            return send(method, path, **kwargs)

        nop.request = capture  # type: ignore[method-assign]
        before = nop._get(f"/Product/GetById/{product.id}")
        assert nop.update_product_stock(product.id, product.stock_quantity + 7, expected=product.stock_quantity)
        (body,) = sent
        assert list(body) == list(DTOS["ProductDto"])
        assert {k: v for k, v in body.items() if k != "stock_quantity"} == {k: v for k, v in before.items() if k != "stock_quantity"}
        assert body["stock_quantity"] == product.stock_quantity + 7
        after = nop._get(f"/Product/GetById/{product.id}")
        assert {k: v for k, v in after.items() if k != "stock_quantity"} == {k: v for k, v in before.items() if k != "stock_quantity"}

        # a property a newer plugin adds travels too
        get = nop._get
        nop._get = lambda path, params=None: {**get(path, params), "future_property": "kept"}  # type: ignore[method-assign]
        sent.clear()
        assert nop.update_product_stock(product.id, product.stock_quantity, expected=product.stock_quantity + 7)
        assert sent[0]["future_property"] == "kept"


# ------------------------------------------------------------------------------------------------
# the fidelity table
def test_every_api_route_has_a_fact():
    registered = {f"{route.method} {route.path[len(nop_app.API):]}" for route in nop_app.API_ROUTES}
    endpoint_facts = [f.subject for f in FACTS if f.is_endpoint]
    assert len(endpoint_facts) == len(set(endpoint_facts)), "one fact per route"
    assert set(endpoint_facts) == registered
    assert all(f.system == "nopcommerce" and f.source for f in FACTS)


# ------------------------------------------------------------------------------------------------
# every full-replace write of the client round-trips every contract property
def _capture_puts(nop: NopCommerceClient) -> list[dict]:
    sent: list[dict] = []
    send = nop.request

    def capture(method, path, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if method == "PUT":
            sent.append(kwargs["json_body"])
        return send(method, path, **kwargs)

    nop.request = capture  # type: ignore[method-assign]
    return sent


ROUND_TRIPS = [
    # (DTO, GetById path template, client write, the properties the write changes)
    ("CustomerDto", "/Customer/GetById/{id}", lambda nop, i: nop.update_customer(i, {"phone": "+44 1"}), {"phone"}),
    ("AddressDto", "/Address/GetById/{id}", lambda nop, i: nop.update_address(i, {"city": "Hull"}), {"city"}),
    ("ReturnRequestDto", "/ReturnRequest/GetById/{id}",
     lambda nop, i: nop.update_return_request(i, {"staff_notes": "seen"}), {"staff_notes", "updated_on_utc"}),
    ("ProductAttributeCombinationDto", "/ProductAttributeCombination/GetById/{id}",
     lambda nop, i: nop.update_combination(i, {"stock_quantity": 5}), {"stock_quantity"}),
    ("ProductDto", "/Product/GetById/{id}", lambda nop, i: nop.update_product(i, {"name": "Renamed"}), {"name", "updated_on_utc"}),
]


def _an_id(world: SandboxWorld, dto: str) -> int:
    nop = world.nopcommerce
    table = {"CustomerDto": nop.customers, "AddressDto": nop.addresses, "ReturnRequestDto": nop.return_requests,
             "ProductAttributeCombinationDto": nop.combinations, "ProductDto": nop.products}[dto]
    return max(table)


@pytest.mark.parametrize(("dto", "get_path", "write", "changed"), ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_full_replace_writes_round_trip_every_contract_property(sandbox, dto, get_path, write, changed):
    """Every `Update` maps the body onto a new entity (WAPI controllers: model.FromDto<T>()): the
    client's write must send back every property of the DTO it read, unchanged but for the ones it
    was asked to change (and the update date it stamps)."""
    creds = sandbox.world.credentials
    with NopCommerceClient(sandbox.urls.nopcommerce_base_url, creds.nopcommerce_email, creds.nopcommerce_password) as nop:
        entity_id = _an_id(sandbox.world, dto)
        before = nop._get(get_path.format(id=entity_id))
        sent = _capture_puts(nop)
        assert write(nop, entity_id)
        (body,) = sent
        assert list(body) == list(DTOS[dto])
        assert {k: v for k, v in body.items() if k not in changed} == {k: v for k, v in before.items() if k not in changed}
        after = nop._get(get_path.format(id=entity_id))
        assert {k: v for k, v in after.items() if k not in changed} == {k: v for k, v in before.items() if k not in changed}
