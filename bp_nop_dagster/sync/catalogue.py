"""The catalogue flow, without Dagster: Brightpearl products and prices to nopCommerce products
and attribute combinations (Brightpearl is the master; per-field owners in the mapping's
`catalogue:` section, field rules in `mapping/catalogue.py`). The natural key is the SKU (exact
text), on both sides.

Finding work (`changed_products`, every sensor tick): `product-search` on `updatedOn` from a
watermark (overlap re-read, de-duplicated by `id@updatedOn`, watermark capped by
`cap_watermark`). A price change does not move a product's `updatedOn` (sandbox fact "product
updatedOn"), so prices have their own run (`prices_only`): nightly and on demand, every SKU, as
Brightpearl's own channel apps do.

One run (`CatalogueSync.run`), Brightpearl calls: product GETs by ID sets (200 per request; not
for a prices-only run) and product-price GETs for the mapped price lists (200 per request); for
every SKU, `product-search` pages first (500 rows each). The mapped price lists are checked
against the product-price reply itself (it names every list asked for), so the run needs no
separate reference read. nopCommerce: products by SKU in bulk
(`GetProductsBySku`, 1 request per chunk), one combination lookup per SKU that is no product's
(variants), every product and combination for a full run. Per product to change: one re-read
and one `Product/Update` (full replace: the DTO is re-read just before the write and written back
whole with only the changed fields, so nothing the shop holds is reset, and an edit made in the
shop's admin since the bulk read is kept; when its `updated_on_utc` moved, the changes are
recomputed from the fresh DTO first, up to `VERIFY_ROUNDS` times).

Several stores (mapping `stores:`): a product limited to stores (`limited_to_stores`) is read for
its store ids; one in a store the mapping does not list is reported (`unmapped_store`) and not
written; one limited to exactly one mapped store gets that store's price list, any other the
top-level `price_list_id` (nopCommerce holds one price per product).

Several pairs on one installation (bp_nop_dagster/pairs.py): a product another pair owns is left
alone (`other_pair`); one split between pairs fails the run in words (`StoreOwnershipError`);
only the installation's catalogue owner creates products (a new product is limited to no store).

Creates (`catalogue.create_in_nop`): `Product/Create` is a plain insert, so it runs under a
write-ahead intent (SKU) and an unknown outcome is settled by a SKU lookup before any new attempt
(`sync/exactly_once.py`). Updates write absolute values (resending is harmless) and need none.
Failures get their fate from `sync/fate.py` (kind `catalogue_product`, key the SKU).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger import DEFAULT_POLICY, Ledger, RecordKind, RetryPolicy
from bp_nop_dagster.mapping.catalogue import (
    FieldDifference,
    brightpearl_values,
    changes_for_nop,
    differences,
    new_product_fields,
    nop_values,
)
from bp_nop_dagster.mapping.config import MappingConfig, MappingConfigError, MappingError
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.nopcommerce.models import ManageInventoryMethod, Product, ProductAttributeCombination
from bp_nop_dagster.sync.calls import calls_into
from bp_nop_dagster.sync.cursor import SensorCursor, cap_watermark, utcnow
from bp_nop_dagster.sync.exactly_once import Deferred, WriteAhead
from bp_nop_dagster.sync.fate import DONE, Fates
from bp_nop_dagster.transport.errors import ValidationError

log = logging.getLogger("bp_nop_dagster.sync.catalogue")

FLOW = "catalogue"
KIND = RecordKind.CATALOGUE_PRODUCT
OVERLAP = timedelta(minutes=2)
VERIFY_ROUNDS = 3
PRODUCT_PATH = "/product-service/product"

# Row verdicts.
IN_SYNC, WRITTEN, CREATED, DIFFERS, FAILED = "in_sync", "written", "created", "differs", "failed"
OWNED_BY_NOP = "owned_by_nop"  # differs only in fields the shop owns: explained
BRIGHTPEARL_ONLY, NOP_ONLY, AMBIGUOUS, UNMAPPED_STORE = "brightpearl_only", "nop_only", "ambiguous_sku", "unmapped_store"
OTHER_PAIR = "other_pair"  # another pair on the same nopCommerce installation owns the product (pairs.py)
VERDICTS = (IN_SYNC, WRITTEN, CREATED, OWNED_BY_NOP, DIFFERS, FAILED, BRIGHTPEARL_ONLY, NOP_ONLY, AMBIGUOUS, UNMAPPED_STORE, OTHER_PAIR)


def changed_products(bp: BrightpearlClient, cursor: SensorCursor, now: datetime) -> tuple[list[int], SensorCursor]:
    """Brightpearl product ids updated since the cursor not handed on yet (ascending), and the next
    cursor. A first tick starts at `now` (the catalogue before it is the full run's job)."""
    start = (cursor.watermark or now) - OVERLAP
    rows = bp.product_search(updated_since=start)
    token = lambda r: f"{r.product_id}@{r.updated_on.isoformat() if r.updated_on else ''}"  # noqa: E731
    new = sorted({r.product_id for r in rows if token(r) not in cursor.seen})
    stamps = [r.updated_on for r in rows if r.updated_on is not None]
    watermark = cap_watermark(max([*stamps, cursor.watermark or now]), now)
    keep_from = watermark - OVERLAP
    seen = {token(r) for r in rows if r.updated_on is not None and r.updated_on >= keep_from}
    return new, SensorCursor(watermark=watermark, seen=seen)


@dataclass
class CatalogueRow:
    """One SKU: where it lives on each side, the fields that differ (with their owners), and what
    the run did."""

    sku: str
    verdict: str
    bp_product_id: int | None = None
    nop_product_id: int | None = None
    nop_combination_id: int | None = None
    store_ids: list[int] = field(default_factory=list)
    differences: list[FieldDifference] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class CatalogueReport:
    rows: list[CatalogueRow] = field(default_factory=list)
    brightpearl_calls: int = 0
    nopcommerce_calls: int = 0
    nopcommerce_writes: int = 0

    def count(self, *verdicts: str) -> int:
        return sum(1 for row in self.rows if row.verdict in verdicts)

    def as_metadata(self) -> dict[str, int]:
        return {
            "checked": len(self.rows),
            "written": self.count(WRITTEN),
            "created": self.count(CREATED),
            "unchanged": self.count(IN_SYNC, OWNED_BY_NOP),
            "failed": self.count(FAILED),
            "brightpearl_only": self.count(BRIGHTPEARL_ONLY),
            "nop_only": self.count(NOP_ONLY),
            "ambiguous_skus": self.count(AMBIGUOUS),
            "unmapped_store": self.count(UNMAPPED_STORE),
            "other_pair": self.count(OTHER_PAIR),
            "brightpearl_calls": self.brightpearl_calls,
            "nopcommerce_calls": self.nopcommerce_calls,
            "nopcommerce_writes": self.nopcommerce_writes,
        }


@dataclass
class _Target:
    """Where a SKU lives in nopCommerce: a product, or an attribute combination (with its parent)."""

    dto: Product | ProductAttributeCombination
    combination: bool = False
    parent_id: int | None = None


class CatalogueSync:
    """Brightpearl products and prices to nopCommerce. One instance per run."""

    def __init__(self, *, nop: NopCommerceClient, bp: BrightpearlClient, ledger: Ledger, mapping: MappingConfig,
                 clock=utcnow, policy: RetryPolicy = DEFAULT_POLICY, owner: str = "catalogue") -> None:
        self.nop, self.bp, self.ledger, self.mapping = nop, bp, ledger, mapping
        self.catalogue = mapping.catalogue
        self.fates = Fates(ledger, flow=FLOW, probes={bp.system: bp.ping, nop.system: nop.ping}, policy=policy, clock=clock)
        self.write_ahead = WriteAhead(ledger, owner=owner, permanent=(ValidationError,))
        self._writes = 0
        self._products: dict[int, dict] = {}  # product GETs read while finding the SKUs of given ids

    # ------------------------------------------------------------------ entry points
    def run(self, product_ids: Iterable[int] | None = None, *, prices_only: bool = False) -> CatalogueReport:
        """Write what differs for these Brightpearl products (None: every SKU). `prices_only`:
        only the price (the price-list run), without product GETs. Nothing, and SystemicOutage,
        while another flow found a system down (`Fates.check_pause`)."""
        self.fates.check_pause()
        return self._measured(lambda: self._sync(product_ids, prices_only=prices_only, write=True))

    def plan(self) -> CatalogueReport:
        """Every SKU compared, nothing written (the `reconciliation/catalogue` report)."""
        return self._measured(lambda: self._sync(None, prices_only=False, write=False))

    def _measured(self, work) -> CatalogueReport:
        report = CatalogueReport()
        self._writes = 0
        with calls_into(report, self.bp, self.nop):
            report.rows = work()
        report.nopcommerce_writes = self._writes
        if any(row.verdict in (WRITTEN, CREATED, FAILED) for row in report.rows):
            self.fates.finish()
        return report

    # ------------------------------------------------------------------ the run
    def _sync(self, product_ids: Iterable[int] | None, *, prices_only: bool, write: bool) -> list[CatalogueRow]:
        full = product_ids is None
        self._products = {}
        skus, ambiguous_bp = self._brightpearl_skus(None if full else sorted(set(product_ids)))
        rows = [CatalogueRow(sku=sku, verdict=AMBIGUOUS, note="several Brightpearl products") for sku in ambiguous_bp]
        products = {} if prices_only else self._brightpearl_products(list(skus.values()))
        self._products = products
        targets, nop_rows = self._nop_targets(skus, full=full)
        rows += nop_rows
        stores = self._store_ids(targets)
        prices = self._prices(skus, targets, stores)
        reported = {r.sku for r in nop_rows}
        # Every target's owner settled before the first write: a split product fails the run whole.
        owned = {sku: self._owned(target, sku) for sku, target in targets.items() if sku in skus}
        for sku, bp_id in sorted(skus.items()):
            target = targets.get(sku)
            if target is None and sku in reported:
                continue  # reported already (ambiguous in nopCommerce)
            row = CatalogueRow(sku=sku, verdict=IN_SYNC, bp_product_id=bp_id)
            rows.append(row)
            bp = brightpearl_values(products.get(bp_id, {}), prices.get(sku), self.catalogue)
            if prices_only:
                bp = {name: value for name, value in bp.items() if name == "price"}
            if target is None:
                creates = self._creates_products()
                if self.catalogue.create_in_nop and write and not prices_only and creates:
                    self._create(row, bp)
                else:
                    row.verdict = BRIGHTPEARL_ONLY
                    row.note = "" if creates else "new products are created by the installation's catalogue owner (pairs.py)"
                continue
            self._place(row, target, stores)
            if not owned[sku]:
                row.verdict, row.note = OTHER_PAIR, "another pair on this nopCommerce installation owns this product"
                continue
            if row.verdict == UNMAPPED_STORE:
                continue
            row.differences = differences(bp, nop_values(target.dto, combination=target.combination), self.catalogue)
            if not row.differences:
                continue
            if all(d.owner != "brightpearl" for d in row.differences):
                row.verdict = OWNED_BY_NOP
                continue
            row.verdict = DIFFERS
            if write:
                self._update(row, target, bp)
        return sorted(rows, key=lambda r: r.sku)

    # ------------------------------------------------------------------ Brightpearl side
    def _brightpearl_skus(self, product_ids: list[int] | None) -> tuple[dict[str, int], list[str]]:
        """SKU -> Brightpearl product id, and SKUs held by several products (left alone)."""
        if product_ids is None:
            rows = self.bp.search("/product-service/product-search", columns=["productId", "SKU"], sort="productId.ASC")
            pairs = [(r.get("SKU"), int(r["productId"])) for r in rows]
        else:
            if not product_ids:
                return {}, []
            self._products = {p["id"]: p for p in self._get_products(product_ids)}
            pairs = [((p.get("identity") or {}).get("sku"), pid) for pid, p in self._products.items()]
        ids_by_sku: dict[str, set[int]] = {}
        for sku, pid in pairs:
            if isinstance(sku, str) and sku:
                ids_by_sku.setdefault(sku, set()).add(pid)
        skus = {sku: next(iter(ids)) for sku, ids in ids_by_sku.items() if len(ids) == 1}
        return skus, sorted(sku for sku, ids in ids_by_sku.items() if len(ids) > 1)

    def _get_products(self, ids: list[int]) -> list[dict]:
        reply = self.bp.get_by_id_set(PRODUCT_PATH, ids)
        return [p for p in reply if isinstance(p, dict) and "id" in p] if isinstance(reply, list) else []

    def _brightpearl_products(self, ids: list[int]) -> dict[int, dict]:
        """Raw product GETs (already read when the run was given product ids)."""
        missing = [i for i in ids if i not in self._products]
        found = dict(self._products)
        if missing:
            found.update({p["id"]: p for p in self._get_products(missing)})
        return found

    def _prices(self, skus: dict[str, int], targets: dict[str, _Target], stores: dict[str, list[int]]) -> dict[str, Decimal]:
        """SKU -> unit price on its price list (absent: the list has no price for it)."""
        list_for = {sku: self._price_list(stores.get(sku, [])) for sku in skus}
        lists = sorted(set(list_for.values()))
        found = self.bp.product_prices(sorted(skus.values()), lists) if skus else {}
        if skus:
            self._check_price_lists(lists, found)
        prices: dict[str, Decimal] = {}
        for sku, pid in skus.items():
            entry = found.get(pid)
            plist = entry.on(list_for[sku]) if entry else None
            if plist is not None and plist.unit_price is not None:
                prices[sku] = plist.unit_price
        return prices

    def _check_price_lists(self, lists: list[int], found: dict) -> None:
        """The mapped price lists exist: the product-price reply names each list asked for (one
        entry per list and product, as recorded in product_price_get.json), so the check costs
        nothing; only a reply with no product at all is settled by the price-list GET."""
        present = {plist.price_list_id for entry in found.values() for plist in entry.price_lists}
        if not found:
            present = {p.id for p in self.bp.price_lists()}
        missing = [list_id for list_id in lists if list_id not in present]
        if missing:
            raise MappingConfigError(f"the mapping's price list {', '.join(map(str, missing))} does not exist in Brightpearl "
                                     "(price_list_id or stores.<id>.price_list_id)")

    def _price_list(self, store_ids: list[int]) -> int:
        if len(store_ids) == 1 and store_ids[0] in self.mapping.stores:
            return self.mapping.stores[store_ids[0]].price_list_id
        return self.mapping.price_list_id

    # ------------------------------------------------------------------ nopCommerce side
    def _nop_targets(self, skus: dict[str, int], *, full: bool) -> tuple[dict[str, _Target], list[CatalogueRow]]:
        """Where each SKU lives in nopCommerce (products, then combinations), rows for SKUs held
        by several records, and (full run) rows for SKUs only nopCommerce has."""
        if full:
            products = [p for p in self.nop.products() if not p.deleted]
        else:
            products = [p for p in self.nop.products_by_sku(skus) if not p.deleted] if skus else []
        by_sku: dict[str, list[Product]] = {}
        for product in products:
            if product.sku:
                by_sku.setdefault(product.sku, []).append(product)
        targets: dict[str, _Target] = {}
        rows: list[CatalogueRow] = []
        for sku, found in by_sku.items():
            if len(found) > 1:
                rows.append(CatalogueRow(sku=sku, verdict=AMBIGUOUS, nop_product_id=found[0].id, note="several nopCommerce products"))
            elif sku in skus:
                targets[sku] = _Target(found[0])
            elif full and found[0].manage_inventory_method_id != ManageInventoryMethod.MANAGE_STOCK_BY_ATTRIBUTES:
                rows.append(CatalogueRow(sku=sku, verdict=self._nop_only(found[0], sku), nop_product_id=found[0].id))
        if full:
            parents = [p for p in products if p.manage_inventory_method_id == ManageInventoryMethod.MANAGE_STOCK_BY_ATTRIBUTES]
            parent_of = {p.id: p for p in parents}
            combinations = [(p.id, c) for p in parents for c in self.nop.attribute_combinations(p.id)]
        else:
            combinations = []
            for sku in sorted(s for s in skus if s not in by_sku):
                found = self.nop.combination_by_sku(sku)
                if found is not None and found.sku == sku:
                    combinations.append((found.product_id, found))
        for parent_id, combination in combinations:
            sku = combination.sku
            if not sku:
                continue
            if sku in by_sku or sku in targets:
                rows.append(CatalogueRow(sku=sku, verdict=AMBIGUOUS, nop_product_id=parent_id, note="a product and a combination"))
                targets.pop(sku, None)
            elif sku in skus:
                targets[sku] = _Target(combination, combination=True, parent_id=parent_id)
            elif full:
                rows.append(CatalogueRow(sku=sku, verdict=self._nop_only(parent_of[parent_id], sku), nop_product_id=parent_id,
                                         nop_combination_id=combination.id))
        return targets, rows

    def _nop_only(self, product: Product, sku: str) -> str:
        """The verdict of a SKU only nopCommerce has: another pair's product is that pair's business."""
        return NOP_ONLY if self.nop.owns_product(product, sku) else OTHER_PAIR

    def _store_ids(self, targets: dict[str, _Target]) -> dict[str, list[int]]:
        """SKU -> stores its nopCommerce product is limited to (only read with `stores:` set)."""
        if not self.mapping.stores:
            return {}
        result = {}
        for sku, target in targets.items():
            if not target.combination and target.dto.limited_to_stores:
                result[sku] = sorted(self.nop.product_store_ids(target.dto.id))
        return result

    def _place(self, row: CatalogueRow, target: _Target, stores: dict[str, list[int]]) -> None:
        if target.combination:
            row.nop_product_id, row.nop_combination_id = target.parent_id, target.dto.id
        else:
            row.nop_product_id = target.dto.id
        row.store_ids = stores.get(row.sku, [])
        unmapped = [s for s in row.store_ids if s not in self.mapping.stores]
        if unmapped:
            row.verdict = UNMAPPED_STORE
            row.note = f"nopCommerce store {', '.join(map(str, unmapped))} is not in the mapping's stores"

    def _owned(self, target: _Target, sku: str) -> bool:
        """Whether this pair writes `target` (a combination: by its parent product); a product
        split between pairs raises StoreOwnershipError, failing the run before its writes."""
        if self.nop.store_scope.whole_installation:
            return True
        product = self.nop.product(target.parent_id) if target.combination else target.dto
        return self.nop.owns_product(product, sku)

    def _creates_products(self) -> bool:
        """A created product is limited to no store, so shared: only the catalogue owner creates."""
        scope = self.nop.store_scope
        return scope.whole_installation or scope.owns_shared(self.nop.installation_store_ids())

    # ------------------------------------------------------------------ writes
    def _update(self, row: CatalogueRow, target: _Target, bp: dict[str, Any]) -> None:
        with self.fates.settle(KIND, row.sku, payload={"sku": row.sku, "bp_product_id": row.bp_product_id}) as outcome:
            dto = target.dto
            for _ in range(VERIFY_ROUNDS):
                changes = changes_for_nop(bp, nop_values(dto, combination=target.combination), self.catalogue,
                                          combination=target.combination)
                if not changes:
                    break
                if self._write(target, dto, changes):
                    row.written = sorted(changes)
                    break
                dto = self.nop.combination(dto.id) if target.combination else self.nop.product(dto.id)
                log.info("nopCommerce %s moved since it was read (an edit in the shop): changes recomputed", row.sku)
            else:
                raise Deferred(f"{row.sku} kept changing in nopCommerce during the update")
            self.ledger.mark_synced(KIND, row.sku, bp_id=None if target.combination else dto.id)
        if outcome.fate != DONE:
            row.verdict, row.note = FAILED, outcome.fate
        else:
            row.verdict = WRITTEN if row.written else IN_SYNC

    def _write(self, target: _Target, dto, changes: dict[str, Any]) -> bool:
        """One full-replace write guarded by what was read (a combination: the values changed; a
        product: its `updated_on_utc`, which an admin edit stamps); False when it moved meanwhile."""
        if target.combination:
            expected = {name: _wire_number(getattr(dto, name)) for name in changes}
            written = self.nop.update_combination(dto.id, changes, expected=expected)
        else:
            written = self.nop.update_product(dto.id, changes, if_updated_on=dto.updated_on_utc) is not None
        self._writes += written
        return written

    def _tax_category(self, bp_product_id: int | None) -> int:
        """The nopCommerce tax category of a product created from Brightpearl: its tax code
        through `catalogue.tax_categories`; MappingError when the code is not mapped."""
        product = self._products.get(bp_product_id) or {}
        code = ((product.get("financialDetails") or {}).get("taxCode") or {}).get("code")
        if code not in self.catalogue.tax_categories:
            raise MappingError("validation_error", f"no nopCommerce tax category for Brightpearl tax code {code!r} "
                                                   "(catalogue.tax_categories): the product is not created")
        return self.catalogue.tax_categories[code]

    def _create(self, row: CatalogueRow, bp: dict[str, Any]) -> None:
        with self.fates.settle(KIND, row.sku, payload={"sku": row.sku, "bp_product_id": row.bp_product_id}) as outcome:
            tax_category_id = self._tax_category(row.bp_product_id)  # before the intent: nothing is written without it
            with self.write_ahead.intent(KIND, row.sku) as claim:
                def lookup():
                    found = [p for p in self.nop.products_by_sku([row.sku]) if p.sku == row.sku and not p.deleted]
                    return found[0] if found else None

                def create():
                    self._writes += 1
                    return self.nop.create_product(new_product_fields(row.sku, bp, tax_category_id=tax_category_id))

                product = self.write_ahead.resume_or_create(claim, create, lookup)
                self.write_ahead.complete(KIND, row.sku, product.id)
            row.nop_product_id = product.id
        row.verdict = CREATED if outcome.fate == DONE else FAILED




def _wire_number(value: Any) -> Any:
    """A model value as the raw DTO carries it (decimals as JSON numbers), for write guards."""
    return float(value) if isinstance(value, Decimal) else value
