"""Catalogue field rules (pure): what a Brightpearl product says each nopCommerce product field
should be, and which fields differ (DESIGN principle 7: every per-account choice in the mapping).

Brightpearl -> nopCommerce ProductDto (product GET shapes as recorded, product_get_one.json):

    name                      salesChannels[0].productName
    gtin                      identity.ean
    manufacturer_part_number  identity.mpn
    weight                    stock.weight.magnitude
    length, width, height     stock.dimensions.{length,width,height}
    published                 status in `catalogue.published_statuses` (default LIVE)
    short_description         salesChannels[0].shortDescription.text
    price                     break 1 of the mapped price list (product-price GET)

"Not set" in Brightpearl leaves the shop's value alone: an empty text, a weight or dimension of
0 (Brightpearl answers 0.0 for one never entered, as recorded), a price list without a price.
A field's owner (`catalogue.owners`, default brightpearl) decides who wins: only
Brightpearl-owned fields are ever written; a nopCommerce-owned one that differs is reported as
owned by the shop, which explains the difference.

An attribute combination (a variant, its own Brightpearl product by SKU) carries only gtin,
manufacturer_part_number and price (as `overridden_price`).

Numbers are compared at 4 decimals (Brightpearl's price strings, nopCommerce's decimal(18,4)).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bp_nop_dagster.mapping.config import CATALOGUE_FIELDS, CatalogueMapping

NUMBER_FIELDS = frozenset({"weight", "length", "width", "height", "price"})
#: Combination property for each field an attribute combination carries.
COMBINATION_FIELDS: dict[str, str] = {"gtin": "gtin", "manufacturer_part_number": "manufacturer_part_number",
                                      "price": "overridden_price"}
PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class FieldDifference:
    """One field whose values differ: `owner` says which side's value is the right one."""

    field: str
    brightpearl: Any
    nopcommerce: Any
    owner: str


def _number(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value)).quantize(PLACES, rounding=ROUND_HALF_UP)


def _text(value: Any) -> str | None:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value)
    return text or None


def brightpearl_values(product: Mapping[str, Any], price: Decimal | None, catalogue: CatalogueMapping) -> dict[str, Any]:
    """What a Brightpearl product (the raw product GET object) sets, per catalogue field; a field
    Brightpearl leaves unset is absent (the shop's value stands)."""
    channels = product.get("salesChannels") or [{}]
    channel = channels[0] if isinstance(channels[0], dict) else {}
    identity = product.get("identity") or {}
    stock = product.get("stock") or {}
    dimensions = stock.get("dimensions") or {}
    raw = {
        "name": _text(channel.get("productName")),
        "gtin": _text(identity.get("ean")),
        "manufacturer_part_number": _text(identity.get("mpn")),
        "weight": _number((stock.get("weight") or {}).get("magnitude")),
        "length": _number(dimensions.get("length")),
        "width": _number(dimensions.get("width")),
        "height": _number(dimensions.get("height")),
        "published": product.get("status") in catalogue.published_statuses if product.get("status") else None,
        "short_description": _text((channel.get("shortDescription") or {}).get("text")),
        "price": _number(price),
    }
    zero_is_unset = NUMBER_FIELDS - {"price"}
    return {name: value for name, value in raw.items()
            if value is not None and not (name in zero_is_unset and value == 0)}


def _property(dto: Any, name: str) -> Any:
    return dto.get(name) if isinstance(dto, Mapping) else getattr(dto, name, None)


def nop_values(dto: Any, *, combination: bool = False) -> dict[str, Any]:
    """The catalogue fields of a nopCommerce product (or attribute combination), as a DTO mapping
    or a client model, normalised like `brightpearl_values`."""
    if combination:
        return {name: (_number(_property(dto, prop)) if name in NUMBER_FIELDS else _text(_property(dto, prop)))
                for name, prop in COMBINATION_FIELDS.items()}
    values: dict[str, Any] = {}
    for name in CATALOGUE_FIELDS:
        value = _property(dto, name)
        if name in NUMBER_FIELDS:
            values[name] = _number(value)
        elif name == "published":
            values[name] = bool(value)
        else:
            values[name] = _text(value)
    return values


def differences(bp: Mapping[str, Any], nop: Mapping[str, Any], catalogue: CatalogueMapping) -> list[FieldDifference]:
    """Every field Brightpearl sets whose nopCommerce value differs (fields the nop side does not
    carry, such as a combination's name, are not compared)."""
    return [FieldDifference(name, value, nop.get(name), catalogue.owner(name))
            for name, value in bp.items() if name in nop and nop.get(name) != value]


def changes_for_nop(bp: Mapping[str, Any], nop: Mapping[str, Any], catalogue: CatalogueMapping, *,
                    combination: bool = False) -> dict[str, Any]:
    """The DTO properties to write to nopCommerce: each Brightpearl-owned field that differs,
    under its ProductDto (or combination) property name. Empty: nothing to write."""
    changes: dict[str, Any] = {}
    for diff in differences(bp, nop, catalogue):
        if diff.owner != "brightpearl":
            continue
        prop = COMBINATION_FIELDS[diff.field] if combination else diff.field
        value = diff.brightpearl
        changes[prop] = float(value) if isinstance(value, Decimal) else value
    return changes


def new_product_fields(sku: str, bp: Mapping[str, Any], *, tax_category_id: int = 0) -> dict[str, Any]:
    """ProductDto properties of a product created from Brightpearl (`catalogue.create_in_nop`):
    every property the shop needs (a Create leaves the others at their C# defaults), the
    Brightpearl values, unpublished unless Brightpearl says published. Stock is the stock flow's
    job (manage stock on, 0 until it pushes)."""
    fields: dict[str, Any] = {
        "sku": sku, "name": bp.get("name") or sku, "product_type_id": 5, "product_template_id": 1,
        "visible_individually": True, "is_ship_enabled": True, "manage_inventory_method_id": 1, "stock_quantity": 0,
        "order_minimum_quantity": 1, "order_maximum_quantity": 10000, "display_stock_availability": True,
        "allow_customer_reviews": True, "tax_category_id": tax_category_id, "published": bool(bp.get("published", False)),
    }
    for name in CATALOGUE_FIELDS:
        if name in bp and name not in ("name", "published"):
            value = bp[name]
            fields[name] = float(value) if isinstance(value, Decimal) else value
    return fields


__all__ = ["COMBINATION_FIELDS", "FieldDifference", "brightpearl_values", "changes_for_nop", "differences",
           "new_product_fields", "nop_values"]
