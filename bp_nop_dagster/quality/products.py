"""Product data checks on the nopCommerce catalogue: what will go wrong downstream, found before
it does. Issues as in `common.Issue` (`record_id` = "product:<id>"), never a rewrite.

- SKU_MISSING (ERROR): a live product without a SKU cannot be matched to Brightpearl at all.
- SKU_WHITESPACE (ERROR): spaces around the SKU, or a space-like character inside it (no-break
  or zero-width space, tab): Brightpearl matches SKUs exactly, so it will not match.
- SKU_NEAR_MATCH (ERROR): the SKU matches a Brightpearl SKU only after trimming and case-folding
  (`mapping.skus.match_skus`); suggestion: the Brightpearl spelling.
- SKU_DUPLICATE (ERROR): two live products or combinations share a SKU.
- SKU_NOT_IN_BRIGHTPEARL (WARN): no Brightpearl product has it (its order lines would be booked
  against the placeholder product).
- GTIN_INVALID (ERROR): not 8, 12, 13 or 14 digits, or a wrong GS1 check digit; GTIN_MISSING
  (WARN) for published products.
- WEIGHT_MISSING (WARN): a shippable product without a weight (shipping rates by weight fail).
- PRICE_BELOW_COST (ERROR): price under the product cost (cost > 0).
- STOCK_WITHOUT_PRICE (ERROR): a published product with stock to sell and no price.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING


from bp_nop_dagster.mapping.skus import NORMALISED_ONLY, match_skus
from bp_nop_dagster.quality.common import Issue, Severity, issues_frame

if TYPE_CHECKING:
    import pandas as pd

SKU_MISSING = "SKU_MISSING"
SKU_WHITESPACE = "SKU_WHITESPACE"
SKU_NEAR_MATCH = "SKU_NEAR_MATCH"
SKU_DUPLICATE = "SKU_DUPLICATE"
SKU_NOT_IN_BRIGHTPEARL = "SKU_NOT_IN_BRIGHTPEARL"
GTIN_INVALID = "GTIN_INVALID"
GTIN_MISSING = "GTIN_MISSING"
WEIGHT_MISSING = "WEIGHT_MISSING"
PRICE_BELOW_COST = "PRICE_BELOW_COST"
STOCK_WITHOUT_PRICE = "STOCK_WITHOUT_PRICE"

CODES: dict[str, Severity] = {
    SKU_MISSING: Severity.ERROR,
    SKU_WHITESPACE: Severity.ERROR,
    SKU_NEAR_MATCH: Severity.ERROR,
    SKU_DUPLICATE: Severity.ERROR,
    SKU_NOT_IN_BRIGHTPEARL: Severity.WARN,
    GTIN_INVALID: Severity.ERROR,
    GTIN_MISSING: Severity.WARN,
    WEIGHT_MISSING: Severity.WARN,
    PRICE_BELOW_COST: Severity.ERROR,
    STOCK_WITHOUT_PRICE: Severity.ERROR,
}
_SPACE_LIKE = {"\u00a0", "\u200b", "\u200c", "\u200d", "\ufeff", "\t", "\n", "\r", " "}


@dataclass(frozen=True)
class ProductRecord:
    """A product (or attribute combination, `kind="combination"`) as nopCommerce holds it."""

    product_id: int
    sku: str | None
    name: str | None = None
    gtin: str | None = None
    weight: Decimal = Decimal(0)
    price: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    stock_quantity: int = 0
    tracked: bool = True
    ship_enabled: bool = True
    published: bool = True
    deleted: bool = False
    kind: str = "product"

    @property
    def record_id(self) -> str:
        return f"{self.kind}:{self.product_id}"


def gtin_valid(gtin: str) -> bool:
    """GS1: 8, 12, 13 or 14 digits whose last is the check digit (weights 3,1,... from the right)."""
    if not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        return False
    digits = [int(d) for d in gtin]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def check_products(
    products: Iterable[ProductRecord],
    brightpearl_skus: Iterable[str] | None = None,
    *,
    severities: Mapping[str, Severity] | None = None,
) -> pd.DataFrame:
    """The issues table for `products` (deleted ones are skipped). SKU checks against Brightpearl
    run only when `brightpearl_skus` is given."""
    levels = {**CODES, **(severities or {})}
    live = [p for p in products if not p.deleted]
    issues: list[Issue] = []

    def add(product: ProductRecord, field: str, code: str, message: str, value: object, suggestion: str | None = None) -> None:
        issues.append(Issue(product.record_id, field, code, levels[code], message, None if value is None else str(value), suggestion))

    counts = Counter(p.sku for p in live if p.sku)
    near: dict[str, str] = {}
    known: set[str] = set()
    if brightpearl_skus is not None:
        bp = list(brightpearl_skus)
        known = set(bp)
        matched = match_skus([p.sku for p in live], bp)
        near = dict(zip(matched.loc[matched["match"] == NORMALISED_ONLY, "nop_sku"], matched.loc[matched["match"] == NORMALISED_ONLY, "brightpearl_sku"]))
    for p in live:
        sku = p.sku or ""
        if not sku.strip():
            add(p, "sku", SKU_MISSING, "no SKU: it cannot be matched to a Brightpearl product", p.sku)
        else:
            cleaned = "".join(ch for ch in sku.strip() if ch not in _SPACE_LIKE)
            if cleaned != sku:
                add(p, "sku", SKU_WHITESPACE, f"SKU {sku!r} has spaces around it or a space-like character inside: it will not match exactly",
                    sku, cleaned)
            if sku in near:
                if near[sku] != cleaned:  # when removing the spaces is the whole fix, it is said once
                    add(p, "sku", SKU_NEAR_MATCH, f"SKU {sku!r} matches Brightpearl's {near[sku]!r} only after trimming or case-folding",
                        sku, near[sku])
            elif brightpearl_skus is not None and sku not in known:
                add(p, "sku", SKU_NOT_IN_BRIGHTPEARL, f"no Brightpearl product has SKU {sku!r}", sku)
            if counts[sku] > 1:
                add(p, "sku", SKU_DUPLICATE, f"{counts[sku]} live products share SKU {sku!r}", sku)
        gtin = (p.gtin or "").strip()
        if gtin and not gtin_valid(gtin):
            add(p, "gtin", GTIN_INVALID, f"GTIN {gtin!r} is not 8, 12, 13 or 14 digits with a valid check digit", p.gtin)
        elif not gtin and p.published and p.kind == "product":
            add(p, "gtin", GTIN_MISSING, "published without a GTIN (marketplaces and feeds need one)", p.gtin)
        if p.ship_enabled and p.weight <= 0 and p.kind == "product":
            add(p, "weight", WEIGHT_MISSING, "shippable but weighs nothing: weight-based shipping rates will be wrong", p.weight)
        if p.cost > 0 and p.price < p.cost and p.kind == "product":
            add(p, "price", PRICE_BELOW_COST, f"price {p.price} is below its cost {p.cost}", p.price)
        if p.published and p.tracked and p.stock_quantity > 0 and p.price <= 0 and p.kind == "product":
            add(p, "price", STOCK_WITHOUT_PRICE, f"{p.stock_quantity} in stock but no price: it would sell for nothing", p.price)
    return issues_frame(issues)


def product_records_from_nop(products: Iterable) -> list[ProductRecord]:
    """`ProductRecord`s from nopCommerce `Product` models (the client's)."""
    return [
        ProductRecord(
            product_id=p.id, sku=p.sku, name=p.name, gtin=p.gtin, weight=p.weight, price=p.price, cost=p.product_cost,
            stock_quantity=p.stock_quantity, tracked=p.manage_inventory_method_id != 0, ship_enabled=p.is_ship_enabled,
            published=p.published, deleted=p.deleted,
        )
        for p in products
    ]


__all__ = ["CODES", "ProductRecord", "check_products", "gtin_valid", "product_records_from_nop"]
