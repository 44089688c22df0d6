"""The simulator's view of the vendored Web API Backend contract
(`bp_nop_dagster/contracts/nopcommerce/webapi-contract.json`, extracted from the official plugin's
source; repository and commit inside).

The contract is the simulator's single source for two things:
- **DTO shapes**: every entity the simulator stores and renders has exactly the properties of
  its plugin DTO, in the DTO's order, typed by their C# type (`SCHEMAS`);
- **action signatures**: each route the simulator serves is bound to the plugin action with the
  same verb and template, and requests are bound by that action's declared parameters
  (`action`), so a parameter the real action does not declare is ignored, as ASP.NET ignores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from bp_nop_dagster.contracts import nopcommerce_contract

API_ROOT = "api-backend"

# Simulator entity kind -> the plugin DTO it renders.
DTO_FOR_KIND: dict[str, str] = {
    "address": "AddressDto",
    "country": "CountryDto",
    "customer": "CustomerDto",
    "customer_role": "CustomerRoleDto",
    "order": "OrderDto",
    "order_item": "OrderItemDto",
    "order_note": "OrderNoteDto",
    "product": "ProductDto",
    "product_attribute_combination": "ProductAttributeCombinationDto",
    "product_warehouse_inventory": "ProductWarehouseInventoryDto",
    "return_request": "ReturnRequestDto",
    "return_request_action": "ReturnRequestActionDto",
    "return_request_reason": "ReturnRequestReasonDto",
    "shipment": "ShipmentDto",
    "shipment_item": "ShipmentItemDto",
    "stock_quantity_history": "StockQuantityHistoryDto",
    "store": "StoreDto",
    "state_province": "StateProvinceDto",
    "store_mapping": "StoreMappingDto",
    "warehouse": "WarehouseDto",
}
KIND_FOR_DTO = {dto: kind for kind, dto in DTO_FOR_KIND.items()}

# C# property type -> the simulator's value code (see `wire.py`).
_VALUE_CODES = {
    "int": "int", "int?": "int?", "bool": "bool", "string": "str", "decimal": "dec", "decimal?": "dec?",
    "DateTime": "dt", "DateTime?": "dt?", "Guid": "guid",
}


@dataclass(frozen=True)
class Param:
    """One declared parameter of a plugin action."""

    name: str
    cs_type: str
    location: str  # "path" | "query" | "body"
    required: bool  # [Required]
    default: str | None  # the C# default as written in the source, None when there is none

    @property
    def nullable(self) -> bool:
        return self.cs_type.endswith("?") or self.cs_type in ("string", "IList<int>")


@dataclass(frozen=True)
class Action:
    verb: str
    template: str  # relative to /api-backend, e.g. "/Order/GetById/{id}"
    params: tuple[Param, ...]


@lru_cache(maxsize=None)
def actions() -> dict[tuple[str, str], Action]:
    """Every action of the contract by (verb, template relative to /api-backend)."""
    found: dict[tuple[str, str], Action] = {}
    for raw in nopcommerce_contract()["actions"]:
        route = raw["route"]
        if not route.startswith(API_ROOT + "/"):
            raise ValueError(f"contract route {route!r} is not under {API_ROOT}/")
        template = route[len(API_ROOT):]
        params = tuple(Param(p["name"], p["cs_type"], p["in"], bool(p.get("required")), p.get("default")) for p in raw["params"])
        found[(raw["verb"], template)] = Action(raw["verb"], template, params)
    return found


def action(verb: str, template: str) -> Action:
    """The plugin action a simulator route stands for; KeyError when the plugin has no such action."""
    try:
        return actions()[(verb, template)]
    except KeyError:
        raise KeyError(f"{verb} {template} is not an action of the Web API Backend contract") from None


@lru_cache(maxsize=None)
def schemas() -> dict[str, dict[str, str]]:
    """Simulator kind -> {property: value code}, in the DTO's property order."""
    out: dict[str, dict[str, str]] = {}
    for kind, dto in DTO_FOR_KIND.items():
        properties = nopcommerce_contract()["dtos"][dto]  # snake_case JSON name -> {cs_type, json, ...}, in source order
        out[kind] = {name: _VALUE_CODES[prop["cs_type"]] for name, prop in properties.items()}
    return out
