"""The stock flow, without Dagster: Brightpearl stock to nopCommerce without overselling
(DESIGN principles 3, 5 and 6). Brightpearl is the master of stock; nopCommerce receives it.

Finding work (`changed_products`, every sensor tick), two kinds of change to on hand:

- goods movements (`moved_products`): `goods-movement-search` from an `updatedOn` watermark
  (ascending, every page, an overlap re-read, de-duplicated by movement id): stock corrections,
  shipped goods-out notes, goods in;
- allocation, which changes on hand without a goods movement (help 211131266 "Understanding
  Inventory Levels": a new sales order allocates the available stock, "The on-hand quantity is
  reduced"): `ordered_products` reads the sales orders created or modified since a watermark
  (`order-search` on `createdOn`, and on `updatedOn`, which stays null until an order is first
  modified), leaves out the ones this integration created (ledger links: their units are in the
  in-flight count until Brightpearl allocates them, so the target does not move), and reads the
  others' rows by ID sets for their product ids: phone and marketplace orders, manual
  allocations, cancellations.

Both watermarks come from Brightpearl's timestamps and go through `cap_watermark` (never more
than 1 minute ahead of our clock), so one movement or order dated in the future cannot hide the
changes still to come.

Quota per tick: 1 goods-movement search + 2 order searches (one more of each per 500 rows), plus
ceil(orders from other channels / 200) order GETs: 3 requests on a quiet tick, 12 a minute at one
tick per 15 s, 6 % of the 200-per-minute quota.

Pushing (`StockSync.run`), for those products or (full reconcile) every SKU, in this order:

1. Brightpearl: which of the product ids are stock tracked (`product-search?stockTracked=true`,
   one request per 500 ids; availability of another answers 400 WHSC-097), SKU of each (the
   ledger's `product` links, else one product GET per 200 unknown ids, then linked),
   availability by ID sets (200 per request);
2. nopCommerce: where each SKU's stock lives (product, warehouse records or attribute
   combination; read in bulk where the API allows) and its current value;
3. nopCommerce orders whose units Brightpearl's `onHand` does not reflect yet, read AFTER steps
   1 and 2: the ledger's unsynced orders, dead letters, every order created within
   `in_flight_lookback` that was not linked to a Brightpearl order before step 1 began, and the
   linked orders Brightpearl had not fully allocated (or shipped) before step 1 (step 0 below).
   An order placed after the Brightpearl read is therefore subtracted, never given back; one
   linked or allocated meanwhile is subtracted once too many for a run (the safe side), which the
   next run corrects;
4. the target (`mapping.stock`), compared with the current value, for the products this pair owns
   (several pairs on one installation: `NopCommerceClient.owns_product`; a product split between
   pairs fails the run before any write): only differences are written, as
   absolute values. Each write re-reads the value first and writes only if it is still the one
   compared (`NopCommerceClient.update_*_stock`); a value that moved meanwhile (a checkout) is
   recomputed from fresh reads, up to `VERIFY_ROUNDS` times, and otherwise left for the next run.

Step 0, allocation: Brightpearl's `onHand` excludes allocated units only, and a sales order created
through the API is not necessarily allocated (accounts that allocate at pick time leave it open
for hours). Before the availability read, the linked orders not yet known to be settled are read
by ID sets (200 per request): fully allocated (`AAA`), shipped (`ASS`), without stock rows
(`NON`) or gone are recorded as settled in the ledger (kind `allocation`) and never read again;
the others stay in flight, partially allocated ones with all their units (the safe side). The
cost is ceil(open unallocated orders / 200) requests per run, nothing where Brightpearl allocates
on creation.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger import DEFAULT_POLICY, Ledger, LedgerConflict, Link, RecordKind, RetryPolicy
from bp_nop_dagster.mapping.config import StockMapping
from bp_nop_dagster.mapping.stock import (
    attributes_key,
    nop_warehouse_on_hand,
    on_hand,
    split_across_warehouses,
    target_stock,
    warehouse_writes,
)
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.nopcommerce.models import ManageInventoryMethod, OrderStatus, Product, ProductAttributeCombination
from bp_nop_dagster.sync.calls import calls_into
from bp_nop_dagster.sync.cursor import SensorCursor, cap_watermark, utcnow
from bp_nop_dagster.sync.exactly_once import Deferred
from bp_nop_dagster.sync.fate import Fates
from bp_nop_dagster.transport.errors import ApiError, AuthError

log = logging.getLogger("bp_nop_dagster.sync.stock")

PRODUCT, ORDER, ALLOCATION = RecordKind.PRODUCT, RecordKind.ORDER, RecordKind.ALLOCATION
FLOW = "stock"
ORDER_OVERLAP = timedelta(minutes=2)
#: Ledger kind of Brightpearl product ids still to push (key: the product id): a push that
#: failed, or products that moved while the flow was paused after an outage. Retried by the
#: sensor when due (the one retry policy, `sync/fate.py`).
RETRY = RecordKind.STOCK_RETRY
#: Brightpearl order codes that mean the order's units are out of `onHand` (or never were in it).
SETTLED_ALLOCATION, SETTLED_SHIPPING, NO_STOCK_ROWS = "AAA", "ASS", "NON"
MOVEMENT_OVERLAP = timedelta(minutes=2)
IN_FLIGHT_LOOKBACK = timedelta(hours=24)
VERIFY_ROUNDS = 3
READ_WORKERS = 8

# Row verdicts. The first three are locations that were compared; the rest were not.
IN_SYNC, WRITTEN, DIFFERS, MOVED, FAILED = "in_sync", "written", "differs", "moved", "failed"
NOT_TRACKED_IN_NOP, NOT_TRACKED_IN_BRIGHTPEARL = "not_tracked_in_nop", "not_tracked_in_brightpearl"
NOP_ONLY, BRIGHTPEARL_ONLY, AMBIGUOUS = "nop_only", "brightpearl_only", "ambiguous_sku"
UNMAPPED_STORE = "unmapped_store"  # the product is limited to a store the mapping's `stores:` does not list
# Another pair on the same nopCommerce installation owns the product (bp_nop_dagster/pairs.py).
OTHER_PAIR = "other_pair"
UNKNOWN_VERDICTS = (NOP_ONLY, BRIGHTPEARL_ONLY, AMBIGUOUS, UNMAPPED_STORE)
SKIPPED_VERDICTS = (NOT_TRACKED_IN_NOP, NOT_TRACKED_IN_BRIGHTPEARL, OTHER_PAIR)


# ---------------------------------------------------------------------------------- which changed
@dataclass
class StockCursor:
    """The stock sensor's two watermarks: goods movements and sales orders."""

    movements: SensorCursor = field(default_factory=SensorCursor)
    orders: SensorCursor = field(default_factory=SensorCursor)

    @classmethod
    def parse(cls, raw: str | None) -> StockCursor:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(SensorCursor.parse(json.dumps(data.get("movements") or {})), SensorCursor.parse(json.dumps(data.get("orders") or {})))

    def dumps(self) -> str:
        return json.dumps({"movements": json.loads(self.movements.dumps()), "orders": json.loads(self.orders.dumps())})


def changed_products(bp: BrightpearlClient, ledger: Ledger, cursor: StockCursor, now: datetime) -> tuple[list[int], StockCursor]:
    """Brightpearl product ids whose on hand may have changed since the cursor (ascending): moved
    by a goods movement or allocated / released by a sales order; and the next cursor."""
    moved, movements = moved_products(bp, cursor.movements, now)
    ordered, orders = ordered_products(bp, ledger, cursor.orders, now)
    return sorted(set(moved) | set(ordered)), StockCursor(movements, orders)


def ordered_products(bp: BrightpearlClient, ledger: Ledger, cursor: SensorCursor, now: datetime) -> tuple[list[int], SensorCursor]:
    """Product ids on sales orders created or modified since the cursor that this integration did
    not create (ascending), and the next cursor. A first tick starts at `now`."""
    start = (cursor.watermark or now) - ORDER_OVERLAP
    rows = bp.sales_orders_changed_since(start)
    stamp = lambda r: r.updated_on or r.created_on  # noqa: E731
    token = lambda r: f"{r.order_id}@{stamp(r).isoformat() if stamp(r) else ''}"  # noqa: E731
    new = sorted({r.order_id for r in rows if token(r) not in cursor.seen})
    products = products_of_orders(bp, ledger, new)
    stamps = [stamp(r) for r in rows if stamp(r) is not None]
    watermark = cap_watermark(max([*stamps, cursor.watermark or now]), now)
    keep_from = watermark - ORDER_OVERLAP
    seen = {token(r) for r in rows if stamp(r) is not None and stamp(r) >= keep_from}
    return products, SensorCursor(watermark=watermark, seen=seen)


def products_of_orders(bp: BrightpearlClient, ledger: Ledger, order_ids: Iterable[int]) -> list[int]:
    """Product ids on these sales orders (ascending), leaving out the orders this integration
    created (their units are in the in-flight count until Brightpearl allocates them). One
    order GET per 200 other orders, none when all are ours."""
    order_ids = sorted(set(order_ids))
    ours = set(ledger.nop_keys(ORDER, order_ids)) if order_ids else set()
    others = [order_id for order_id in order_ids if order_id not in ours]
    return sorted({row.product_id for order in bp.orders(others) for row in order.rows if row.product_id}) if others else []


def moved_products(bp: BrightpearlClient, cursor: SensorCursor, now: datetime) -> tuple[list[int], SensorCursor]:
    """Brightpearl product ids with movements not handed on yet (ascending), and the next cursor.
    A first tick starts at `now` (history is the nightly reconcile's job)."""
    start = (cursor.watermark or now) - MOVEMENT_OVERLAP
    movements = bp.goods_movement_search(updated_since=start)
    new = [m for m in movements if m.goods_movement_id not in cursor.seen]
    stamps = [m.updated_on for m in movements if m.updated_on is not None]
    watermark = cap_watermark(max([*stamps, cursor.watermark or now]), now)
    keep_from = watermark - MOVEMENT_OVERLAP
    seen = {m.goods_movement_id for m in movements if m.updated_on is not None and m.updated_on >= keep_from}
    return sorted({m.product_id for m in new}), SensorCursor(watermark=watermark, seen=seen)


# ---------------------------------------------------------------------------------- the push
@dataclass
class StockRow:
    """One place in nopCommerce that holds a SKU's stock (or a SKU that could not be placed).
    `nop_stock` is what nopCommerce sells now, `target` what it should sell (units); `current` and
    `wanted` are the stored `stock_quantity` before and as written (they differ from the sellable
    values only for warehouse records, by the reserved quantity)."""

    sku: str
    verdict: str
    location: str = ""  # product, warehouse, combination
    nop_product_id: int | None = None
    nop_record_id: int | None = None  # product, combination or warehouse-inventory record id
    nop_warehouse_id: int | None = None
    bp_product_id: int | None = None
    bp_on_hand: dict[int, int] = field(default_factory=dict)
    in_flight: int = 0
    target: int | None = None
    nop_stock: int | None = None
    current: int | None = None
    wanted: int | None = None
    reserved: int = 0
    error: ApiError | None = None  # why a FAILED row's write failed

    @property
    def difference(self) -> int | None:
        if self.target is None or self.nop_stock is None:
            return None
        return self.nop_stock - self.target


@dataclass
class StockReport:
    """What one run did (numeric metadata in the UI) and every row it looked at."""

    rows: list[StockRow] = field(default_factory=list)
    brightpearl_calls: int = 0
    nopcommerce_calls: int = 0

    def count(self, *verdicts: str) -> int:
        return sum(1 for row in self.rows if row.verdict in verdicts)

    def as_metadata(self) -> dict[str, int]:
        return {
            "checked": self.count(IN_SYNC, WRITTEN, DIFFERS, MOVED, FAILED),
            "written": self.count(WRITTEN),
            "unchanged": self.count(IN_SYNC),
            "skipped": self.count(*SKIPPED_VERDICTS),
            "unknown_skus": self.count(*UNKNOWN_VERDICTS),
            "moved_during_sync": self.count(MOVED),
            "failed": self.count(FAILED),
            "brightpearl_calls": self.brightpearl_calls,
            "nopcommerce_calls": self.nopcommerce_calls,
        }


@dataclass
class _Place:
    """Where one SKU's stock lives in nopCommerce."""

    product: Product
    combination: ProductAttributeCombination | None = None


class StockSync:
    """Pushes Brightpearl stock to nopCommerce. One instance per run; nothing kept between runs."""

    def __init__(
        self,
        *,
        nop: NopCommerceClient,
        bp: BrightpearlClient,
        ledger: Ledger,
        stock: StockMapping,
        in_flight_lookback: timedelta = IN_FLIGHT_LOOKBACK,
        clock=utcnow,
        policy: RetryPolicy = DEFAULT_POLICY,
        stores: Mapping[int, StockMapping] | None = None,
    ) -> None:
        self.nop = nop
        self.bp = bp
        self.ledger = ledger
        self.stock = stock
        # Several stores (mapping `stores:`): store id -> the stock section its products use.
        # Empty: every product uses `stock` and no store is read (one store, as before).
        self.stores = dict(stores or {})
        self.in_flight_lookback = in_flight_lookback
        self.clock = clock
        self.fates = Fates(ledger, flow=FLOW, probes={bp.system: bp.ping, nop.system: nop.ping}, policy=policy, clock=clock)
        self._unallocated: set[str] = set()
        self._held: set[str] = set()

    # ------------------------------------------------------------------ entry points
    def run(self, product_ids: Iterable[int] | None = None) -> StockReport:
        """Write the differences for these Brightpearl products (None: every SKU); nothing, and
        SystemicOutage, while another flow found a system down (`Fates.check_pause`)."""
        self.fates.check_pause()
        return self._measured(lambda: self._push(product_ids, write=True))

    def plan(self, product_ids: Iterable[int] | None = None) -> StockReport:
        """The same reads and comparison without writing (the drift report)."""
        return self._measured(lambda: self._push(product_ids, write=False))

    # ------------------------------------------------------------------ retries
    def record_push(self, product_ids: Iterable[int] | None, report: StockReport) -> None:
        """After a push of `product_ids` (None: every SKU): each product with a value that could
        not be written, or kept moving, gets its fate (`sync/fate.py`: a refusal is
        dead-lettered, a transient failure retried with the policy); the others, and earlier
        failures now pushed, are done. Nothing that moved in Brightpearl is lost when a write
        fails. Raises SystemicOutage when the failures were an outage's."""
        failed: dict[int, StockRow] = {}
        for row in report.rows:
            if row.verdict in (FAILED, MOVED) and row.bp_product_id is not None:
                failed.setdefault(row.bp_product_id, row)
        for product_id, row in sorted(failed.items()):
            with self.fates.settle(RETRY, str(product_id), payload={"bp_product_id": product_id, "sku": row.sku}):
                raise row.error or Deferred(f"the stock of {row.sku} kept moving in nopCommerce during the push")
        waiting = {int(key) for key in self.ledger.unsettled(RETRY)}
        pushed = waiting if product_ids is None else waiting & set(product_ids)
        for product_id in sorted(pushed - set(failed)):
            self.ledger.mark_synced(RETRY, str(product_id))
        self.fates.finish()

    def record_failed_push(self, product_ids: Iterable[int], error: Exception) -> None:
        """A push that stopped with an error: all of its products are kept for a retry (an
        outage charges them nothing, see `Fates.failed_together`)."""
        self.fates.failed_together(RETRY, [str(p) for p in sorted(set(product_ids))], error)

    def _measured(self, work) -> StockReport:
        report = StockReport()
        with calls_into(report, self.bp, self.nop):
            report.rows = work()
        return report

    def _push(self, product_ids: Iterable[int] | None, *, write: bool) -> list[StockRow]:
        links = self.ledger.links(ORDER)  # the orders Brightpearl holds, read before its availability
        self._unallocated = self._unallocated_orders(links)
        self._held = {link.nop_key for link in links} - self._unallocated
        full = product_ids is None
        skus, tracked, unknown = self._brightpearl_skus(None if full else sorted(set(product_ids)))
        wanted_ids = [pid for pid in skus.values() if pid in tracked]
        availability = self.bp.product_availability(wanted_ids) if wanted_ids else {}
        on_hand_by_sku = {sku: {w: s.on_hand for w, s in availability[pid].warehouses.items()} for sku, pid in skus.items() if pid in availability}
        rows = list(unknown)
        rows += [StockRow(sku=sku, verdict=NOT_TRACKED_IN_BRIGHTPEARL, bp_product_id=pid) for sku, pid in sorted(skus.items())
                 if pid not in availability]
        wanted = {sku: pid for sku, pid in skus.items() if pid in availability}
        compared = self._compare(wanted, on_hand_by_sku, full=full, unknown_rows=rows, bp_skus=set(skus))
        if write:
            for round_number in range(VERIFY_ROUNDS + 1):
                moved = self._write(compared)
                if not moved or round_number == VERIFY_ROUNDS:
                    break
                log.info("%d stock values moved in nopCommerce while syncing: re-reading them", len(moved))
                redo = {row.sku for row in moved}
                compared = [row for row in compared if row.sku not in redo] + self._compare(
                    {sku: wanted[sku] for sku in redo}, on_hand_by_sku, full=False, unknown_rows=[], bp_skus=redo
                )
        return sorted(rows + compared, key=lambda r: (r.sku, r.nop_warehouse_id or 0))

    # ------------------------------------------------------------------ Brightpearl side
    def _brightpearl_skus(self, product_ids: list[int] | None) -> tuple[dict[str, int], set[int], list[StockRow]]:
        """SKU -> Brightpearl product id (tracked or not), the stock-tracked ids among them, and
        rows for ambiguous SKUs."""
        if product_ids is None:
            return self._catalogue()
        if not product_ids:
            return {}, set(), []
        tracked = self.bp.stock_tracked_ids(product_ids)
        by_id = {link.bp_id: link.nop_key for link in self.ledger.links(PRODUCT)}
        unknown = [pid for pid in product_ids if pid not in by_id]
        if unknown:
            for product in self.bp.products(unknown):
                if product.sku:
                    self._link(product.sku, product.id)
                    by_id[product.id] = product.sku
        return {by_id[pid]: pid for pid in product_ids if pid in by_id}, tracked, []

    def _catalogue(self) -> tuple[dict[str, int], set[int], list[StockRow]]:
        rows = self.bp.search("/product-service/product-search", columns=["productId", "SKU", "stockTracked"], sort="productId.ASC")
        ids_by_sku: dict[str, set[int]] = {}
        tracked: set[int] = set()
        for row in rows:
            if row.get("stockTracked"):
                tracked.add(int(row["productId"]))
            if isinstance(row.get("SKU"), str) and row["SKU"]:
                ids_by_sku.setdefault(row["SKU"], set()).add(int(row["productId"]))
        skus = {sku: next(iter(ids)) for sku, ids in ids_by_sku.items() if len(ids) == 1}
        known = self.ledger.bp_ids(PRODUCT, skus)
        for sku, pid in skus.items():
            if known.get(sku) != pid:
                self._link(sku, pid)
        ambiguous = [StockRow(sku=sku, verdict=AMBIGUOUS) for sku, ids in ids_by_sku.items() if len(ids) > 1]
        return skus, tracked, ambiguous

    def _link(self, sku: str, product_id: int) -> None:
        try:
            self.ledger.link(PRODUCT, sku, product_id)
        except LedgerConflict as error:
            log.warning("product link not recorded: %s", error)

    # ------------------------------------------------------------------ nopCommerce side
    def _compare(
        self, skus: dict[str, int], on_hand_by_sku, *, full: bool, unknown_rows: list[StockRow], bp_skus: set[str]
    ) -> list[StockRow]:
        """Rows for `skus` (Brightpearl-tracked): nopCommerce read, in-flight orders read after it,
        targets. `bp_skus`: every Brightpearl SKU looked at, tracked or not."""
        places, extra_rows = self._places(skus, bp_skus, full=full)
        unknown_rows.extend(extra_rows)
        warehouses = self._warehouse_records(places)
        in_flight = self._in_flight()
        rows: list[StockRow] = []
        for sku, pid in sorted(skus.items()):
            place = places.get(sku)
            if place is None:
                unknown_rows.append(StockRow(sku=sku, verdict=BRIGHTPEARL_ONLY, bp_product_id=pid))
                continue
            by_warehouse = on_hand_by_sku[sku]
            # One writer per product (pairs.py): another pair's is left alone; one split between
            # pairs raises StoreOwnershipError here, before any write of the run.
            if not self.nop.owns_product(place.product, sku):
                unknown_rows.append(StockRow(sku=sku, verdict=OTHER_PAIR, nop_product_id=place.product.id, bp_product_id=pid))
                continue
            stock = self._stock_for(place.product)
            if stock is None:
                unknown_rows.append(StockRow(sku=sku, verdict=UNMAPPED_STORE, nop_product_id=place.product.id, bp_product_id=pid))
                continue
            counted = {w: by_warehouse.get(w, 0) for w in stock.brightpearl_warehouses}
            base = dict(sku=sku, nop_product_id=place.product.id, bp_product_id=pid, bp_on_hand=counted)
            if place.combination is not None:
                combination = place.combination
                flight = in_flight[(place.product.id, attributes_key(combination.attributes_xml))]
                target = target_stock(on_hand(by_warehouse, stock.brightpearl_warehouses), flight, stock.buffer)
                rows.append(StockRow(location="combination", nop_record_id=combination.id, in_flight=flight, target=target,
                                     nop_stock=combination.stock_quantity, current=combination.stock_quantity, wanted=target,
                                     verdict=DIFFERS, **base))
            elif place.product.use_multiple_warehouses:
                flight = in_flight[(place.product.id, "")]
                shares = split_across_warehouses(nop_warehouse_on_hand(by_warehouse, stock), flight + stock.buffer)
                records = [(r.id, r.warehouse_id, r.stock_quantity, r.reserved_quantity) for r in warehouses[place.product.id]]
                for change in warehouse_writes(records, shares):
                    rows.append(StockRow(location="warehouse", nop_record_id=change.record_id, nop_warehouse_id=change.warehouse_id,
                                         in_flight=flight, target=shares[change.warehouse_id],
                                         nop_stock=change.current - change.reserved, current=change.current, wanted=change.wanted,
                                         reserved=change.reserved, verdict=DIFFERS, **base))
            else:
                flight = in_flight[(place.product.id, "")]
                target = target_stock(on_hand(by_warehouse, stock.brightpearl_warehouses), flight, stock.buffer)
                rows.append(StockRow(location="product", nop_record_id=place.product.id, in_flight=flight, target=target,
                                     nop_stock=place.product.stock_quantity, current=place.product.stock_quantity, wanted=target,
                                     verdict=DIFFERS, **base))
        for row in rows:
            if row.wanted == row.current:
                row.verdict = IN_SYNC
        return rows

    def _stock_for(self, product: Product) -> StockMapping | None:
        """The stock section for one nopCommerce product: without `stores`, `stock`; a product
        limited to stores (its store mappings read) takes its one store's section, the top-level
        one when it is in several (nopCommerce keeps one stock per product); None when a store it
        is limited to is not in the mapping (reported, never guessed)."""
        if not self.stores or not product.limited_to_stores:
            return self.stock
        store_ids = self.nop.product_store_ids(product.id)
        if any(s not in self.stores for s in store_ids):
            return None
        return self.stores[store_ids[0]] if len(store_ids) == 1 else self.stock

    def _places(self, skus: dict[str, int], bp_skus: set[str], *, full: bool) -> tuple[dict[str, _Place], list[StockRow]]:
        """Where each SKU's stock lives in nopCommerce (exact SKU match), plus rows for nopCommerce
        products that are not tracked, ambiguous, or (full reconcile) unknown to Brightpearl."""
        products = [p for p in (self.nop.products() if full else self.nop.products_by_sku(skus)) if not p.deleted]
        by_sku: dict[str, list[Product]] = {}
        for product in products:
            if product.sku:
                by_sku.setdefault(product.sku, []).append(product)
        places: dict[str, _Place] = {}
        rows: list[StockRow] = []
        for sku, found in sorted(by_sku.items()):
            if len(found) > 1:
                rows.append(StockRow(sku=sku, verdict=AMBIGUOUS, nop_product_id=found[0].id))
                continue
            product = found[0]
            if product.manage_inventory_method_id == ManageInventoryMethod.MANAGE_STOCK_BY_ATTRIBUTES:
                continue  # its combinations carry the stock (below)
            if full and sku not in bp_skus:
                rows.append(StockRow(sku=sku, verdict=self._nop_only(product, sku), nop_product_id=product.id))
            elif product.manage_inventory_method_id == ManageInventoryMethod.DONT_MANAGE_STOCK:
                rows.append(StockRow(sku=sku, verdict=NOT_TRACKED_IN_NOP, nop_product_id=product.id, bp_product_id=skus.get(sku)))
            elif sku in skus:
                places[sku] = _Place(product)
        for sku, place in self._combinations(products if full else None, [s for s in skus if s not in by_sku]).items():
            if sku in places or sku in by_sku:
                rows.append(StockRow(sku=sku, verdict=AMBIGUOUS, nop_product_id=place.product.id))
            elif sku in skus:
                places[sku] = place
            elif full and sku not in bp_skus:
                rows.append(StockRow(sku=sku, verdict=self._nop_only(place.product, sku), nop_product_id=place.product.id))
        return places, rows

    def _nop_only(self, product: Product, sku: str) -> str:
        """The verdict of a SKU only nopCommerce has: another pair's product is that pair's business."""
        return NOP_ONLY if self.nop.owns_product(product, sku) else OTHER_PAIR

    def _combinations(self, products: list[Product] | None, skus: list[str]) -> dict[str, _Place]:
        """Attribute-combination SKUs: every combination of `products` (full reconcile), else a
        lookup of each SKU that is no product's SKU."""
        places: dict[str, _Place] = {}
        if products is not None:
            tracked = [p for p in products if p.manage_inventory_method_id == ManageInventoryMethod.MANAGE_STOCK_BY_ATTRIBUTES]
            for product, combinations in zip(tracked, self._parallel(self.nop.attribute_combinations, [p.id for p in tracked])):
                for combination in combinations:
                    if combination.sku:
                        places[combination.sku] = _Place(product, combination)
            return places
        found = [c for c in self._parallel(self.nop.combination_by_sku, skus) if c is not None and c.sku in skus]
        parents = {p.id: p for p in self.nop.products_by_ids({c.product_id for c in found})} if found else {}
        for combination in found:
            parent = parents.get(combination.product_id)
            if parent is not None and not parent.deleted and parent.manage_inventory_method_id == ManageInventoryMethod.MANAGE_STOCK_BY_ATTRIBUTES:
                places[combination.sku] = _Place(parent, combination)
        return places

    def _warehouse_records(self, places: dict[str, _Place]) -> dict[int, list]:
        ids = sorted({p.product.id for p in places.values() if p.combination is None and p.product.use_multiple_warehouses})
        return dict(zip(ids, self._parallel(self.nop.product_warehouse_inventory, ids)))

    def _unallocated_orders(self, links: list[Link]) -> set[str]:
        """nopCommerce keys of linked orders whose units Brightpearl may still count in `onHand`
        (step 0 in the module docstring); settled ones are recorded so they are read only once."""
        settled = {r.nop_key for r in self.ledger.statuses(ALLOCATION) if r.status == "synced"}
        open_links = {link.bp_id: link.nop_key for link in links if link.nop_key not in settled}
        if not open_links:
            return set()
        found = {order.id: order for order in self.bp.orders(sorted(open_links))}
        unallocated = set()
        for bp_id, nop_key in open_links.items():
            order = found.get(bp_id)
            if order is None or order.allocation_status_code == SETTLED_ALLOCATION or (
                order.shipping_status_code == SETTLED_SHIPPING or order.stock_status_code == NO_STOCK_ROWS
            ):
                self.ledger.mark_synced(ALLOCATION, nop_key, unchanged=True)
            else:
                unallocated.add(nop_key)
        return unallocated

    def _in_flight(self) -> Counter:
        """(nop product id, attributes key) -> units of nopCommerce orders Brightpearl's `onHand`
        does not reflect: not held by Brightpearl, or held but not allocated. Orders are read only
        as far as this needs (`OrderRef`), so one whose other fields are malformed (and is
        dead-lettered by the order flow) still counts."""
        now = self.clock()
        recent = {o.id: o for o in self.nop.order_refs_created_between(now - self.in_flight_lookback, now)}
        unsynced = set(self.ledger.unsettled(ORDER)) | {d.nop_key for d in self.ledger.dead_letters() if d.kind == ORDER}
        older = [int(k) for k in unsynced | self._unallocated if k.isdigit() and int(k) not in recent]
        orders = list(recent.values()) + (self.nop.order_refs_by_ids(older) if older else [])
        flying = [o for o in orders if not o.deleted and o.order_status_id != OrderStatus.CANCELLED and str(o.id) not in self._held]
        units: Counter = Counter()
        for items in self._parallel(self.nop.order_items, [o.id for o in flying]):
            for item in items:
                units[(item.product_id, attributes_key(item.attributes_xml))] += item.quantity
        return units

    def _parallel(self, read, keys: list) -> list:
        if not keys:
            return []
        with ThreadPoolExecutor(max_workers=min(READ_WORKERS, len(keys)), thread_name_prefix="nop-stock") as pool:
            return list(pool.map(read, keys))

    # ------------------------------------------------------------------ writes
    def _write(self, rows: list[StockRow]) -> list[StockRow]:
        """Write every row that differs; returns those whose value moved in nopCommerce meanwhile."""
        moved = []
        for row in rows:
            if row.verdict not in (DIFFERS, MOVED):
                continue
            try:
                if row.location == "product":
                    done = self.nop.update_product_stock(row.nop_record_id, row.wanted, expected=row.current)
                elif row.location == "combination":
                    done = self.nop.update_combination_stock(row.nop_record_id, row.wanted, expected=row.current)
                else:
                    done = self.nop.update_warehouse_stock(row.nop_record_id, row.wanted, expected=row.current, expected_reserved=row.reserved)
            except AuthError:
                raise
            except ApiError as error:
                log.warning("stock of %s not written: %s", row.sku, error)
                row.verdict, row.error = FAILED, error
                continue
            row.verdict = WRITTEN if done else MOVED
            if not done:
                moved.append(row)
        return moved
