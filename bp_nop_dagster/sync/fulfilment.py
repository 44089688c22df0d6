"""The fulfilment flow, without Dagster: Brightpearl goods-out notes and order statuses into
nopCommerce exactly once (DESIGN principles 1, 2, 4 and 5).

Brightpearl is the master of fulfilment. Work reaches the ledger from two searches (see
`discover_shipped_notes` and `discover_status_changes`) and is drained here:

1. a shipped goods-out note → one nopCommerce shipment with the note's tracking reference and the
   order items it shipped (several notes per order = partial shipments), created under a
   write-ahead intent after a natural-key lookup (the note's marker in `admin_comment`, or the
   tracking number), then `OrderProcessing/Ship` exactly once;
2. a Brightpearl order status mapped in `fulfilment.on_order_status` → `OrderProcessing/CancelOrder`
   once, or `OrderProcessing/Deliver` once per shipment made from the order's notes.

OrderProcessing actions are GETs that change state: each runs under an intent, the state is read
first, and when the outcome of a call is unknown the state is read back instead of calling again;
if the read-back shows nothing happened, the intent stays open and a later run
reads again before it calls.

Each record's fate (synced, skipped, dead-lettered, retried) is decided by `sync/fate.py`, the
rule every flow shares. A skip whose cause may be temporary (a note or order a read did not
return, a note the search says is shipped but the read does not) is final only when the next
attempt finds the same; a skip confirmed by a second read (a nopCommerce order Order/GetById
says is deleted) or that cannot change (an order that did not come from nopCommerce) is final
at once. Discovery re-opens a skipped note when Brightpearl shows it shipped again, and the
hourly catch-up sweep (`sweep_shipped_notes`) re-reads the notes shipped in the last 24 hours,
for the notes whose shipping was posted with a time before the sensor's window.

Ledger kinds of this flow (Brightpearl is the source, so for the note kinds the record key is the
Brightpearl goods-out note id and the linked id is the nopCommerce shipment id):
`goods_out_note` (shipment created with its items; the record is synced once shipped),
`shipment_shipped`, `shipment_delivered` (note id → shipment id, once the action is done),
`bp_order_status` (work queue keyed by Brightpearl order id) and `order_cancelled`
(nop order id → Brightpearl order id, once cancelled).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.brightpearl.models import GoodsOutNote, OrderSummary
from bp_nop_dagster.ledger import DEFAULT_LEASE_SECONDS, DEFAULT_POLICY, Ledger, RecordKind, RetryPolicy
from bp_nop_dagster.mapping.config import MappingConfig
from bp_nop_dagster.mapping.fulfilment import (
    FulfilmentMappingError,
    ShipmentLine,
    find_shipment_for_note,
    nop_order_id,
    nop_warehouse_id,
    order_status_action,
    shipment_comment,
    shipment_lines,
    tracking_number,
)
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.nopcommerce.models import Order, OrderItem, OrderLookup, OrderStatus, Shipment, ShipmentItem
from bp_nop_dagster.sync.calls import calls_into
from bp_nop_dagster.sync.cursor import SensorCursor
from bp_nop_dagster.sync.exactly_once import Deferred, WriteAhead
from bp_nop_dagster.sync.fate import BREAKER_THRESHOLD, DEAD_LETTERED, HELD, POSTPONED, RETRYING, SKIPPED, Fates, Outcome, mapping_of
from bp_nop_dagster.transport.errors import MalformedError, OutcomeUnknownError, TransientError, ValidationError

log = logging.getLogger("bp_nop_dagster.sync.fulfilment")

ORDER = RecordKind.ORDER
GOODS_OUT_NOTE = RecordKind.GOODS_OUT_NOTE
SHIPMENT_SHIPPED = RecordKind.SHIPMENT_SHIPPED
SHIPMENT_DELIVERED = RecordKind.SHIPMENT_DELIVERED
BP_ORDER_STATUS = RecordKind.BP_ORDER_STATUS
ORDER_CANCELLED = RecordKind.ORDER_CANCELLED
FLOW = "fulfilment"
MAX_PASSES = 3  # passes of one run over the due records (see `FulfilmentSync.run`)
OVERLAP = timedelta(minutes=5)
FIRST_LOOKBACK = timedelta(hours=24)
SWEEP_LOOKBACK = timedelta(hours=24)
NOTE_NOT_FOUND = "goods-out note not found in Brightpearl"
NOTE_NOT_SHIPPED = "goods-out note is not shipped"
ORDER_NOT_FOUND = "order not found in Brightpearl"


@dataclass
class FulfilmentReport:
    """What one run did (numeric metadata in the UI)."""

    notes_seen: int = 0
    shipments_created: int = 0
    shipment_items_created: int = 0
    ship_calls: int = 0
    deliver_calls: int = 0
    cancel_calls: int = 0
    status_changes_seen: int = 0
    unchanged: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    pending: int = 0
    brightpearl_calls: int = 0
    nopcommerce_calls: int = 0

    def as_metadata(self) -> dict[str, int]:
        return dict(self.__dict__)


class FulfilmentSync:
    """Drains the ledger's pending goods-out notes and Brightpearl order status changes into
    nopCommerce. One instance per run."""

    def __init__(
        self,
        *,
        nop: NopCommerceClient,
        bp: BrightpearlClient,
        ledger: Ledger,
        config: MappingConfig | Callable[[], MappingConfig],
        owner: str,
        intent_lease_seconds: float = DEFAULT_LEASE_SECONDS,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        """`config`: the mapping, or a function that reads and checks it (see `OrderSync`)."""
        self.nop = nop
        self.bp = bp
        self.ledger = ledger
        self._config = config
        self.report = FulfilmentReport()
        self.writes = WriteAhead(ledger, owner=owner, lease_seconds=intent_lease_seconds, permanent=(ValidationError, FulfilmentMappingError))
        self.fates = Fates(ledger, flow=FLOW, probes={bp.system: bp.ping, nop.system: nop.ping}, policy=policy,
                           lease_seconds=intent_lease_seconds)
        self._outcomes: list[Outcome] = []

    # ------------------------------------------------------------------ entry point
    def run(self, limit: int | None = None) -> FulfilmentReport:
        """Up to `limit` due notes, then up to `limit` due status changes (never-attempted first):
        notes first, so a status that delivers finds the shipments of this run's notes; up to
        `MAX_PASSES` such passes, so records that came due meanwhile need no other run. Raises
        SystemicOutage (after recording its counts) when the run stopped on an outage."""
        with calls_into(self.report, self.bp, self.nop):
            try:
                self.config = mapping_of(self._config, self.fates).with_instance_id(self.bp.installed_integration_instance_id)
                self.notify = self.config.fulfilment.notify_customer
                for _ in range(MAX_PASSES):  # records that came due meanwhile: the next pass takes them
                    held = {(o.kind, o.key) for o in self._outcomes if o.fate == HELD}  # judged at the end
                    notes = [k for k in self.ledger.pending(GOODS_OUT_NOTE, limit) if (GOODS_OUT_NOTE, k) not in held]
                    statuses = [k for k in self.ledger.pending(BP_ORDER_STATUS, limit) if (BP_ORDER_STATUS, k) not in held]
                    if not notes and not statuses:
                        break
                    if notes:
                        self._sync_notes(notes)
                    if statuses:
                        self._sync_statuses(statuses)
                self.fates.finish()
            finally:
                fates = [outcome.fate for outcome in {(o.kind, o.key): o for o in self._outcomes}.values()]
                self.report.dead_lettered = fates.count(DEAD_LETTERED)
                self.report.pending = fates.count(RETRYING) + fates.count(POSTPONED)
                self.report.skipped = fates.count(SKIPPED)
        return self.report

    # ------------------------------------------------------------------ goods-out notes
    def _sync_notes(self, keys: list[str]) -> bool:
        """The notes of `keys`; False when they could not be read (see `_one_by_one`)."""
        try:
            notes = self.bp.goods_out_notes("*", note_ids=[int(k) for k in keys])
            summaries = self.bp.order_summaries({n.order_id for n in notes.values()})
            nop_ids = self._nop_order_ids(summaries.values())
            orders = self._nop_orders(nop_ids)
        except TransientError as error:
            self._one_by_one(GOODS_OUT_NOTE, keys, self._sync_notes, error)
            return False
        self.report.notes_seen += len(keys)
        for key in keys:
            if int(key) in notes.malformed_ids:
                self._malformed(GOODS_OUT_NOTE, key, self.bp.system, f"goods-out note {key}: {notes.malformed_ids[int(key)]}",
                                {"goods_out_note_id": int(key)})
            elif int(key) not in notes:
                self._skip(GOODS_OUT_NOTE, key, NOTE_NOT_FOUND, confirmed=False)
        items: dict[int, list[OrderItem]] = {}
        for note in notes.values():
            key = str(note.id)
            order = orders.found.get(nop_ids.get(note.order_id, 0))
            payload = {"goods_out_note_id": note.id, "bp_order_id": note.order_id}
            if not note.shipped:
                self._skip(GOODS_OUT_NOTE, key, NOTE_NOT_SHIPPED, confirmed=False)
            elif note.order_id in summaries.malformed_ids:
                self._malformed(GOODS_OUT_NOTE, key, self.bp.system,
                                f"Brightpearl order {note.order_id} of the note: {summaries.malformed_ids[note.order_id]}", payload)
            elif nop_ids.get(note.order_id) in orders.malformed:
                nop_id = nop_ids[note.order_id]
                self._malformed(GOODS_OUT_NOTE, key, self.nop.system, f"nopCommerce order {nop_id}: {orders.malformed[nop_id]}", payload)
            elif order is None:
                reason, confirmed = self._no_nop_order(note.order_id, nop_ids, orders)
                self._skip(GOODS_OUT_NOTE, key, reason, confirmed=confirmed)
            else:
                with self.fates.settle(GOODS_OUT_NOTE, key, payload={**payload, "nop_order_id": order.id}) as outcome:
                    self._outcomes.append(outcome)
                    if order.id not in items:
                        items[order.id] = self._order_items(order.id)
                    self._sync_note(note, summaries[note.order_id], order, items[order.id])
        return True

    def _sync_note(self, note: GoodsOutNote, summary: OrderSummary, order: Order, items: list[OrderItem]) -> None:
        key = str(note.id)
        shipment_id = self.ledger.bp_id(GOODS_OUT_NOTE, key)
        shipment = self.nop.shipment(shipment_id) if shipment_id is not None else self._create_shipment(note, summary, order, items)
        self._once(
            SHIPMENT_SHIPPED, key, shipment.id,
            known_done=shipment.shipped_date_utc is not None,
            read_back=lambda: self.nop.shipment(shipment.id).shipped_date_utc is not None,
            act=lambda: self.nop.ship(shipment.id, notify_customer=self.notify),
            counter="ship_calls",
        )
        self.ledger.mark_synced(GOODS_OUT_NOTE, key)

    def _create_shipment(self, note: GoodsOutNote, summary: OrderSummary, order: Order, items: list[OrderItem]) -> Shipment:
        """The note's shipment with its items: found by its natural key, else created."""
        key = str(note.id)
        tracking = tracking_number(note)
        with self.writes.intent(GOODS_OUT_NOTE, key):
            existing = self.nop.shipments(order_id=order.id)
            contents = {s.id: self.nop.shipment_items(s.id) for s in existing}
            claimed = self.ledger.nop_keys(GOODS_OUT_NOTE, contents)
            shipment = find_shipment_for_note(existing, note.id, tracking, claimed_shipment_ids=claimed)
            elsewhere: dict[int, int] = {}
            for shipment_id, shipment_items in contents.items():
                if shipment is None or shipment_id != shipment.id:
                    for item in shipment_items:
                        elsewhere[item.order_item_id] = elsewhere.get(item.order_item_id, 0) + item.quantity
            lines = shipment_lines(note, {row.id: row for row in summary.rows}, items, self._item_skus(items, note, summary), elsewhere)
            if shipment is None:
                comment = shipment_comment(note.id)
                shipment = self.writes.create_once(
                    lambda: self.nop.create_shipment(order.id, tracking_number=tracking, admin_comment=comment),
                    lambda: find_shipment_for_note(self.nop.shipments(order_id=order.id), note.id, ""),
                )
                self.report.shipments_created += 1
                present: list[ShipmentItem] = []
            else:
                present = contents[shipment.id]
            self._add_items(shipment, lines, present, nop_warehouse_id(note.warehouse_id, self.config))
            self.writes.complete(GOODS_OUT_NOTE, key, shipment.id, synced=False)
        return shipment

    def _add_items(self, shipment: Shipment, lines: list[ShipmentLine], present: list[ShipmentItem], warehouse_id: int) -> None:
        """Each line not on the shipment yet; after an unknown outcome the items are read back
        (natural key: shipment + order item) before the line is sent again."""
        have = {item.order_item_id for item in present}
        for line in lines:
            if line.order_item_id in have:
                continue
            self.writes.create_once(
                lambda line=line: self.nop.add_shipment_item(shipment.id, line.order_item_id, line.quantity, warehouse_id=warehouse_id),
                lambda line=line: next((i for i in self.nop.shipment_items(shipment.id) if i.order_item_id == line.order_item_id), None),
            )
            self.report.shipment_items_created += 1

    def _item_skus(self, items: list[OrderItem], note: GoodsOutNote, summary: OrderSummary) -> dict[int, str | None]:
        """nop order item id -> SKU, read only when a shipped row has no usable externalRef."""
        item_ids = {str(item.id) for item in items}
        rows = {row.id: row for row in summary.rows}
        if all((rows[r].external_ref or "") in item_ids for r in note.rows if r in rows):
            return {}
        products = {p.id: p.sku for p in self.nop.products_by_ids({item.product_id for item in items})}
        return {item.id: products.get(item.product_id) for item in items}

    # ------------------------------------------------------------------ order statuses
    def _sync_statuses(self, keys: list[str]) -> bool:
        """The status changes of `keys`; False when they could not be read (see `_one_by_one`)."""
        try:
            summaries = self.bp.order_summaries(int(k) for k in keys)
            nop_ids = self._nop_order_ids(summaries.values())
            actions = {bp_id: order_status_action(s.status_id, self.config) for bp_id, s in summaries.items()}
            acting = {bp_id for bp_id, action in actions.items() if action and bp_id in nop_ids}
            orders = self._nop_orders({bp_id: nop_ids[bp_id] for bp_id in acting})
            delivering = [i for i in acting if actions[i] == "deliver"]
            notes_by_order: dict[int, list[int]] = {}
            if delivering:
                for note in self.bp.goods_out_notes(delivering).values():
                    notes_by_order.setdefault(note.order_id, []).append(note.id)
        except TransientError as error:
            self._one_by_one(BP_ORDER_STATUS, keys, self._sync_statuses, error)
            return False
        self.report.status_changes_seen += len(keys)
        for key in keys:
            bp_id = int(key)
            order = orders.found.get(nop_ids.get(bp_id, 0))
            payload = {"bp_order_id": bp_id}
            if bp_id in summaries.malformed_ids:
                self._malformed(BP_ORDER_STATUS, key, self.bp.system, f"Brightpearl order {bp_id}: {summaries.malformed_ids[bp_id]}", payload)
            elif bp_id not in summaries:
                self._skip(BP_ORDER_STATUS, key, ORDER_NOT_FOUND, confirmed=False)
            elif not actions[bp_id]:
                self.ledger.mark_synced(BP_ORDER_STATUS, key, unchanged=True)
                self.report.unchanged += 1
            elif nop_ids.get(bp_id) in orders.malformed:
                self._malformed(BP_ORDER_STATUS, key, self.nop.system,
                                f"nopCommerce order {nop_ids[bp_id]}: {orders.malformed[nop_ids[bp_id]]}", payload)
            elif order is None:
                reason, confirmed = self._no_nop_order(bp_id, nop_ids, orders)
                self._skip(BP_ORDER_STATUS, key, reason, confirmed=confirmed)
            else:
                with self.fates.settle(BP_ORDER_STATUS, key, payload={**payload, "nop_order_id": order.id}) as outcome:
                    self._outcomes.append(outcome)
                    if actions[bp_id] == "cancel":
                        self._cancel(order, bp_id)
                    else:
                        self._deliver(bp_id, notes_by_order.get(bp_id, []))
        return True

    def _one_by_one(self, kind: str, keys: list[str], sync: Callable[[list[str]], bool], error: TransientError) -> None:
        """The reads for `keys` failed after the retry policy: a single key gets its fate from
        the failure (`sync/fate.py`: the circuit breaker decides whether it is the record's own
        or an outage); several are synced one by one, so one record the other system cannot
        serve delays only itself; after `BREAKER_THRESHOLD` in a row fail, the rest wait for the
        next run."""
        if len(keys) == 1:
            payload = {"goods_out_note_id" if kind == GOODS_OUT_NOTE else "bp_order_id": int(keys[0])}
            with self.fates.settle(kind, keys[0], payload=payload) as outcome:
                self._outcomes.append(outcome)
                raise error
            return
        log.warning("reading %d %s records failed (%s): reading them one by one", len(keys), kind, error)
        in_a_row = 0
        for key in keys:
            if in_a_row >= BREAKER_THRESHOLD:
                return
            in_a_row = 0 if sync([key]) else in_a_row + 1

    def _cancel(self, order: Order, bp_order_id: int) -> None:
        self._once(
            ORDER_CANCELLED, str(order.id), bp_order_id,
            known_done=order.order_status_id == OrderStatus.CANCELLED,
            read_back=lambda: self.nop.order(order.id).order_status_id == OrderStatus.CANCELLED,
            act=lambda: self.nop.cancel_order(order.id, notify_customer=self.notify),
            counter="cancel_calls",
        )
        self.ledger.mark_synced(BP_ORDER_STATUS, str(bp_order_id))

    def _deliver(self, bp_order_id: int, note_ids: list[int]) -> None:
        """Deliver every shipment made from the order's notes; a note not shipped in nopCommerce
        yet keeps the status change pending (the next run delivers it)."""
        keys = [str(n) for n in sorted(note_ids)]
        if not keys:
            raise Deferred("the order has no goods-out note yet")
        shipped = self.ledger.bp_ids(SHIPMENT_SHIPPED, keys)
        for key in keys:
            if key not in shipped:
                raise Deferred(f"goods-out note {key} is not shipped in nopCommerce yet")
            if self.ledger.bp_id(SHIPMENT_DELIVERED, key) is not None:
                continue
            shipment = self.nop.shipment(shipped[key])
            self._once(
                SHIPMENT_DELIVERED, key, shipment.id,
                known_done=shipment.delivery_date_utc is not None,
                read_back=lambda shipment=shipment: self.nop.shipment(shipment.id).delivery_date_utc is not None,
                act=lambda shipment=shipment: self.nop.deliver(shipment.id, notify_customer=self.notify),
                counter="deliver_calls",
            )
        self.ledger.mark_synced(BP_ORDER_STATUS, str(bp_order_id))

    # ------------------------------------------------------------------ exactly once
    def _once(self, kind: str, key: str, linked_id: int, *, known_done: bool, read_back: Callable[[], bool],
              act: Callable[[], None], counter: str) -> None:
        """A state-changing call at most once per (kind, key): skipped when the ledger or the
        target says it is done, made under an intent otherwise; an unknown outcome is settled by
        reading the state back, never by calling again. Ship or Deliver on a shipment in the
        wrong state (already shipped by someone else, say) answers 500 (core throws a plain
        exception): the client reports that as an unknown outcome, and the read-back decides."""
        if self.ledger.bp_id(kind, key) is not None:
            self.report.unchanged += 1
            return
        with self.writes.intent(kind, key) as claim:
            done = read_back() if claim.previous_attempt else known_done
            if done:
                self.writes.complete(kind, key, linked_id)
                self.report.unchanged += 1
                return
            try:
                setattr(self.report, counter, getattr(self.report, counter) + 1)
                act()
            except OutcomeUnknownError as error:
                if not read_back():
                    raise Deferred(f"{kind} {key}: outcome unknown ({error}) and not applied yet; read back next run") from None
                log.warning("%s %s: reply lost, the read-back shows it was applied", kind, key)
            except ValidationError:
                if not read_back():
                    raise
            self.writes.complete(kind, key, linked_id)

    # ------------------------------------------------------------------ shared
    def _order_items(self, order_id: int) -> list[OrderItem]:
        """The order's items; one the model rejects makes the record malformed."""
        items = self.nop.order_items(order_id)
        if items.malformed:
            problems = "; ".join(f"order item {bad.id}: {bad.problem}" for bad in items.malformed)
            raise MalformedError(self.nop.system, f"nopCommerce order {order_id}: {problems}", record_id=order_id)
        return list(items)

    def _malformed(self, kind: str, key: str, system: str, problem: str, payload: dict) -> None:
        """Dead-letter a record whose source data the models reject (`malformed_record`)."""
        with self.fates.settle(kind, key, payload=payload) as outcome:
            self._outcomes.append(outcome)
            raise MalformedError(system, problem)

    def _skip(self, kind: str, key: str, reason: str, *, confirmed: bool) -> None:
        self._outcomes.append(self.fates.skip(kind, key, reason, confirmed=confirmed))

    def _nop_orders(self, nop_ids: dict[int, int]) -> OrderLookup:
        """The live nopCommerce orders behind these Brightpearl orders. Order/GetByIds leaves
        soft-deleted orders out; the client confirms each one it leaves out with Order/GetById."""
        if not nop_ids:
            return OrderLookup(found={}, absent={})
        return self.nop.lookup_orders(sorted(set(nop_ids.values())))

    @staticmethod
    def _no_nop_order(bp_order_id: int, nop_ids: dict[int, int], orders: OrderLookup) -> tuple[str, bool]:
        """The skip reason of a Brightpearl order with no live nopCommerce order, and whether it
        is confirmed: an order that did not come from nopCommerce cannot change, and an order
        Order/GetById confirmed deleted or unknown was read twice; an order neither read named
        (only possible if a reply was short) is re-checked first."""
        nop_id = nop_ids.get(bp_order_id)
        if nop_id is None:
            return f"Brightpearl order {bp_order_id} has no nopCommerce order", True
        if nop_id in orders.absent:
            return f"Brightpearl order {bp_order_id}: nopCommerce order {nop_id} {orders.absent[nop_id]}", True
        return f"Brightpearl order {bp_order_id}: nopCommerce order {nop_id} not found", False

    def _nop_order_ids(self, summaries: Iterable[OrderSummary]) -> dict[int, int]:
        """Brightpearl order id -> nop order id: the order flow's ledger links, else the order's
        externalRef under our integration instance."""
        summaries = list(summaries)
        linked = self.ledger.nop_keys(ORDER, [s.id for s in summaries])
        found = {bp_id: int(key) for bp_id, key in linked.items()}
        for summary in summaries:
            if summary.id not in found:
                nop_id = nop_order_id(summary.external_ref, summary.installed_integration_instance_id, self.config)
                if nop_id is not None:
                    found[summary.id] = nop_id
        return found


# ---------------------------------------------------------------------------------- discovery
def _window(cursor: SensorCursor, now: datetime) -> datetime:
    return (cursor.watermark or now - FIRST_LOOKBACK) - OVERLAP


def _next_cursor(stamped: list[tuple[str, datetime | None]], now: datetime) -> SensorCursor:
    """`stamped`: (token, when) of every row read; the ones inside the next overlap are kept.
    The watermark is our clock at the read (`now`), never a Brightpearl timestamp, so a row
    dated in the future cannot move the window past the rows still to come."""
    keep_from = now - OVERLAP
    return SensorCursor(watermark=now, seen={token for token, when in stamped if when is None or when >= keep_from})


def discover_shipped_notes(bp: BrightpearlClient, ledger: Ledger, cursor: SensorCursor, now: datetime) -> tuple[list[int], SensorCursor]:
    """Goods-out notes shipped since the cursor, enqueued in the ledger (before the caller stores
    the new cursor); returns the new note ids and the next cursor. One search request per 500.

    The goods-out search has no `updatedOn`: notes are found by `shipped=true` and `shippedOn`
    from the watermark less `OVERLAP` (documented columns; Airbyte's source-brightpearl reads the
    same search by `createdOn`). `shippedOn` is the shipping event's `occured`, which the poster of
    the event sets: a note whose shipping is posted with a time more than `OVERLAP` before the
    poll is not found here (a known gap: no column records when the shipping was posted)."""
    rows = bp.shipped_goods_out_notes_since(_window(cursor, now))
    stamped = [(f"{r.goods_out_note_id}@{r.shipped_on.isoformat() if r.shipped_on else ''}", r.shipped_on) for r in rows]
    new = list(dict.fromkeys(r.goods_out_note_id for r, (token, _) in zip(rows, stamped) if token not in cursor.seen))
    new += [i for i in rows.malformed_ids if i not in new]  # a row the model rejects: handed on by id, parked by the sync
    if new:
        # A note skipped earlier (e.g. not shipped when it was read) that shows shipped now is re-opened.
        ledger.enqueue(GOODS_OUT_NOTE, [str(i) for i in new], reopen_skipped=True)
    return new, _next_cursor(stamped, now)


def sweep_shipped_notes(bp: BrightpearlClient, ledger: Ledger, now: datetime, lookback: timedelta = SWEEP_LOOKBACK) -> int:
    """The hourly catch-up sweep: every note shipped in the last `lookback` into the ledger, for
    the notes the sensor's window missed (their shipping posted with a time before it). Synced
    and dead-lettered notes are left as they are; skipped ones are re-opened (re-checked).
    One search request per 500 notes; returns how many were new to the ledger."""
    rows = bp.shipped_goods_out_notes_since(now - lookback)
    keys = [str(r.goods_out_note_id) for r in rows] + [str(i) for i in rows.malformed_ids]
    return ledger.enqueue(GOODS_OUT_NOTE, keys, reopen_skipped=True) if keys else 0


def discover_status_changes(
    bp: BrightpearlClient, ledger: Ledger, config: MappingConfig, cursor: SensorCursor, now: datetime
) -> tuple[list[int], SensorCursor]:
    """Sales orders whose Brightpearl status changed since the cursor to one that acts on the nop
    order (`fulfilment.on_order_status`) and that came from nopCommerce (ledger link or
    externalRef under our installed integration instance), enqueued (a synced record goes back to
    pending). One search request per 500 (a status change sets the order's `updatedOn`)."""
    rows = bp.sales_orders_updated_since(_window(cursor, now))
    config = config.with_instance_id(bp.installed_integration_instance_id)  # after a reply: no extra request
    stamped = [(f"{r.order_id}@{r.updated_on.isoformat() if r.updated_on else ''}", r.updated_on) for r in rows]
    acting = [r for r, (token, _) in zip(rows, stamped) if token not in cursor.seen and order_status_action(r.order_status_id, config)]
    linked = ledger.nop_keys(ORDER, [r.order_id for r in acting]) if acting else {}
    new = list(dict.fromkeys(
        r.order_id for r in acting
        if r.order_id in linked or nop_order_id(r.external_ref, r.installed_integration_instance_id, config) is not None
    ))
    if new:
        ledger.enqueue(BP_ORDER_STATUS, [str(i) for i in new], requeue=True, reopen_skipped=True)
    return new, _next_cursor(stamped, now)
