"""Returns and refunds, both directions, without Dagster (docs/reference/returns-refunds.md; the
rules for the money are in `mapping/refunds.py`).

**nopCommerce -> Brightpearl.** nopCommerce has no refund entity and no updated timestamp, so a
refund is found as the rise of an order's `refunded_amount` (`detect`: one `Order/Search` of the
PartiallyRefunded and Refunded orders created in the last `returns.lookback_days` that the order
flow follows, compared with the amount this integration last saw, kept per order in the ledger's
watermarks). Each rise is
refund `n` of its order (ledger kind `refund`, key `<order>:<n>`), worked in steps, each with its
own ledger record so that a crash resumes at the step it stopped in:

1. plan (once, stored before any write, so a retry builds the same credit): which open return
   requests and whether the shipping row the refund covers;
2. a full refund of an order nothing was shipped of (no goods-out note in Brightpearl): a PAYMENT
   reversing the receipt on the sales order (`refund_paid`), then the sales order's cancellation
   (`refund_cancelled`), as Brightpearl's own channel apps do;
3. otherwise: the sales credit (`refund`, write-ahead intent, natural key externalRef
   `nop-<order>-refund-<n>` + installation), closed (`refund_closed`; after an unknown outcome
   the credit is read: invoiced means closed), then a PAYMENT of the refunded amount with the
   order's mapped payment method (`refund_paid`, natural key transactionRef + method);
4. the return requests it covers are queued (`return_received`) and re-read every
   `returns.recheck_minutes` until nopCommerce says the goods came back (status Received or
   later, or a returned quantity); then one goods-in note against the credit row, into the
   default or quarantine location, valued at the item's cost (natural key userBatchReference).
   Brightpearl is the only place stock comes back: this flow never raises nopCommerce's
   ReturnedQuantity (which restocks in the shop), and the stock flow pushes Brightpearl's level.

**Brightpearl -> nopCommerce.** A credit made by staff (its externalRef is not of our refund form:
the origin marker) on a sales order of a nop order, with money paid out (PAYMENT), becomes a
partial offline refund in the shop (`CanPartiallyRefundOffline`, then `PartiallyRefundOffline`),
capped at order total - refunded_amount. The refund GETs are not idempotent: before the call the
order's refunded amount and the amount are stored (the order's watermark, `own`); a retry, or an
unknown outcome, re-reads `refunded_amount` first and calls again only if it has not moved, so the
shop never refunds twice; detection books that rise as ours, never as a new shop refund. With
`returns.refund_unpaid_credits_online`, a closed credit without a PAYMENT is refunded through the
gateway (`PartiallyRefund`) and then paid in Brightpearl; a refusal is dead-lettered
`gateway_refused` with the gateway's message (the dead-letter check alerts).

One run does both directions in turn (they share each order's watermark), under the one fate
policy (`sync/fate.py`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bp_nop_dagster.brightpearl.client import BrightpearlClient, period
from bp_nop_dagster.ledger import DEFAULT_LEASE_SECONDS, DEFAULT_POLICY, Ledger, RecordKind, RetryPolicy
from bp_nop_dagster.mapping.config import MappingConfig, MappingError
from bp_nop_dagster.mapping.orders import cents, money_text
from bp_nop_dagster.mapping.refunds import (
    CLOSED_REQUEST_STATUSES,
    RECEIVED_REQUEST_STATUSES,
    OrderRow,
    RefundPlan,
    ReturnLine,
    credit_row_for,
    goods_in_body,
    is_our_credit,
    nop_refund_cents,
    parse_refund_key,
    plan_refund,
    refund_key,
    refund_payment_body,
    return_batch_ref,
    sales_credit_body,
)
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sync.calls import calls_into
from bp_nop_dagster.sync.exactly_once import Deferred, WriteAhead
from bp_nop_dagster.sync.fate import Fates, GatewayRefused, mapping_of
from bp_nop_dagster.transport.errors import NotFoundError, OutcomeUnknownError, TransientError, ValidationError

log = logging.getLogger("bp_nop_dagster.sync.refunds")

FLOW = "refunds"
REFUND, REFUND_CLOSED, REFUND_PAID, REFUND_CANCELLED, RETURN_RECEIVED, STAFF_CREDIT, ORDER = (
    RecordKind.REFUND, RecordKind.REFUND_CLOSED, RecordKind.REFUND_PAID, RecordKind.REFUND_CANCELLED,
    RecordKind.RETURN_RECEIVED, RecordKind.STAFF_CREDIT, RecordKind.ORDER)
WORK_KINDS = (REFUND.value, RETURN_RECEIVED.value, STAFF_CREDIT.value)
REFUNDED_PAYMENT_STATUSES = (35, 40)  # nop PartiallyRefunded, Refunded
NOP_CANCELLED = 40  # nop order status Cancelled: its Brightpearl status comes from order_status.by_order_status


def order_state_name(order_id: int) -> str:
    """The watermark holding what this integration knows of a nop order's refunds (JSON):
    `seen` (cents of refunded_amount accounted for), `n` (refunds found), `own` (refunds this
    integration is making in the shop: credit id -> {before, amount})."""
    return f"refunds/order/{order_id}"


def plan_name(key: str) -> str:
    """The watermark holding refund `key`'s amount, what was refunded before it, and its plan."""
    return f"refunds/refund/{key}"


STAFF_SINCE = "refunds/staff_credits_since"


@dataclass
class RefundReport:
    detected: int = 0
    credits_created: int = 0
    credits_closed: int = 0
    payments_created: int = 0
    orders_cancelled: int = 0
    goods_received: int = 0
    shop_refunds: int = 0
    gateway_refusals: list[str] = field(default_factory=list)
    brightpearl_calls: int = 0
    nopcommerce_calls: int = 0
    fates: dict = field(default_factory=dict)


class RefundSync:
    """One run of the refunds flow (both directions). One instance per run."""

    def __init__(
        self,
        *,
        nop: NopCommerceClient,
        bp: BrightpearlClient,
        ledger: Ledger,
        config: MappingConfig | Callable[[], MappingConfig],
        owner: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        intent_lease_seconds: float = DEFAULT_LEASE_SECONDS,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.nop, self.bp, self.ledger, self._config, self.clock = nop, bp, ledger, config, clock
        self.report = RefundReport()
        self.writes = WriteAhead(ledger, owner=owner, lease_seconds=intent_lease_seconds, permanent=(ValidationError, MappingError))
        self.fates = Fates(ledger, flow=FLOW, probes={bp.system: bp.ping, nop.system: nop.ping}, policy=policy,
                           lease_seconds=intent_lease_seconds, clock=clock)
        self._requests_by_item: dict[int, list] | None = None
        # read in batches at the start of each step for every due record (ID sets of 200), not per record
        self._sales_orders: dict[int, object] = {}
        self._nop_orders: dict[int, object] = {}
        self._shipped: set[int] = set()  # sales orders with a goods-out note
        self._credit_docs: dict[int, object] = {}
        self._credit_totals: dict[int, object] = {}

    # ------------------------------------------------------------------ entry point
    def run(self) -> RefundReport:
        with calls_into(self.report, self.bp, self.nop):
            self.config = mapping_of(self._config, self.fates)
            self._staff_credits()
            self.detect()
            due = self.ledger.pending(REFUND)
            self._prefetch_refunds(due)
            for key in due:
                with self.fates.settle(REFUND, key, payload={"refund": key}):
                    self._refund(key)
            for key in self.ledger.pending(RETURN_RECEIVED):
                with self.fates.settle(RETURN_RECEIVED, key, payload={"return": key}):
                    self._receive(key)
            staff = self.ledger.pending(STAFF_CREDIT)
            self._prefetch_credits([int(key) for key in staff])
            for key in staff:
                with self.fates.settle(STAFF_CREDIT, key, payload={"credit_id": int(key)}):
                    self._refund_in_shop(int(key))
            self.fates.finish()
        self.report.fates = dict(self.fates.tally)
        return self.report

    # ------------------------------------------------------------------ order state
    def _state(self, order_id: int) -> dict:
        raw = self.ledger.get_watermark(order_state_name(order_id))
        state = json.loads(raw) if raw else {}
        return {"seen": int(state.get("seen", 0)), "n": int(state.get("n", 0)), "own": dict(state.get("own", {}))}

    def _save_state(self, order_id: int, state: dict) -> None:
        self.ledger.set_watermark(order_state_name(order_id), json.dumps(state, sort_keys=True))

    def _plan_data(self, key: str) -> dict:
        raw = self.ledger.get_watermark(plan_name(key))
        if not raw:
            raise MappingError("validation_error", f"refund {key} has no recorded amount")
        return json.loads(raw)

    # ------------------------------------------------------------------ batched reads
    def _prefetch_refunds(self, keys: list[str]) -> None:
        """The shop orders, sales orders and (for full refunds not planned yet) goods-out notes
        the due refunds need, in ID-set reads. A transient failure pauses or stops the run
        (`Fates.read_failed`): no refund is charged for it."""
        unplanned = {}
        for key in keys:
            raw = self.ledger.get_watermark(plan_name(key))
            if raw and "plan" not in json.loads(raw):
                unplanned[key] = json.loads(raw)
        order_ids = sorted({parse_refund_key(key)[0] for key in unplanned})
        links = self.ledger.bp_ids(ORDER, [str(i) for i in {parse_refund_key(k)[0] for k in keys}])
        try:
            if order_ids:
                self._nop_orders.update({o.id: o for o in self.nop.orders_by_ids(order_ids)})
            if links:
                self._sales_orders.update({so.id: so for so in self.bp.sales_orders(links.values())})
            full = [links[str(o)] for o in order_ids if str(o) in links and o in self._nop_orders and any(
                parse_refund_key(k)[0] == o and int(d["before"]) == 0 and int(d["amount"]) == cents(self._nop_orders[o].order_total)
                for k, d in unplanned.items())]
            if full:
                self._shipped.update(note.order_id for note in self.bp.goods_out_notes(full).values())
        except TransientError as error:
            self.fates.read_failed(error)

    def _prefetch_credits(self, credit_ids: list[int]) -> None:
        """The due staff credits and their payment totals, in ID-set reads."""
        missing = [i for i in credit_ids if i not in self._credit_docs]
        try:
            if missing:
                self._credit_docs.update({c.id: c for c in self.bp.sales_credit_documents(missing)})
            if credit_ids:
                self._credit_totals.update(self.bp.sale_payment_totals(credit_ids))
        except TransientError as error:
            self.fates.read_failed(error)

    # ------------------------------------------------------------------ detection
    def detect(self) -> int:
        """Queue one `refund` record per rise of `refunded_amount` not yet accounted for."""
        since = self.clock() - timedelta(days=self.config.returns.lookback_days)
        try:
            orders = self.nop.search_orders(created_from_utc=since, payment_status_ids=REFUNDED_PAYMENT_STATUSES)
        except TransientError as error:
            self.fates.read_failed(error)
        # only orders this integration follows (the order flow has them in the ledger); one it has
        # not reached yet is detected once it has, its whole refunded amount against nothing seen
        followed = {r.nop_key for r in self.ledger.statuses(ORDER, [str(o.id) for o in orders])}
        found = 0
        for order in orders:
            if str(order.id) in followed:
                found += self._detect_one(order.id, cents(order.refunded_amount))
        self.report.detected += found
        return found

    def _detect_one(self, order_id: int, refunded: int) -> int:
        state = self._state(order_id)
        if self._settle_own(order_id, state, refunded):
            return 0  # a refund of ours is in flight and not confirmed: the staff-credit step settles it first
        if refunded <= state["seen"]:
            return 0
        n = state["n"] + 1
        key = refund_key(order_id, n)
        # amount first (idempotent for the same n), then the work, then the order's state
        self.ledger.set_watermark(plan_name(key), json.dumps({"amount": refunded - state["seen"], "before": state["seen"]}))
        self.ledger.enqueue(REFUND, [key])
        log.info("order %s: refund %s of %s detected", order_id, n, money_text(refunded - state["seen"]))
        state.update(seen=refunded, n=n)
        self._save_state(order_id, state)
        return 1

    def _settle_own(self, order_id: int, state: dict, refunded: int) -> bool:
        """Book the confirmed refunds of ours as seen (once: the marker stays until the staff-credit
        step has finished with it); True while one is still unconfirmed."""
        unconfirmed = False
        for own in state["own"].values():
            if own.get("seen"):
                continue
            if refunded >= own["before"] + own["amount"]:  # booked as seen; the staff-credit step drops the marker
                state["seen"] += own["amount"]
                own["seen"] = True
                self._save_state(order_id, state)
            else:
                unconfirmed = True
        return unconfirmed

    # ------------------------------------------------------------------ nop -> Brightpearl
    def _refund(self, key: str) -> None:
        order_id, n = parse_refund_key(key)
        so_id = self.ledger.bp_id(ORDER, str(order_id))
        if so_id is None:  # not charged: the order flow brings it
            self.ledger.postpone(REFUND, key, self.clock() + timedelta(minutes=1), f"nop order {order_id} is not in Brightpearl yet")
            return
        data = self._plan_data(key)
        if "plan" not in data:
            if any("plan" not in self._plan_data(refund_key(order_id, i)) for i in range(1, n)):
                # the earlier refunds of the order choose their return requests first
                self.ledger.postpone(REFUND, key, self.clock() + timedelta(seconds=5), f"refund {order_id}:{n - 1} is not planned yet")
                return
            data = self._make_plan(key, order_id, n, so_id, data)
        plan = RefundPlan.from_json(data["plan"])
        if data["path"] == "cancel":
            self._pay(key, order_id, n, plan.amount, so_id)
            self._cancel(key, order_id, so_id)
        else:
            credit_id = self._credit(key, order_id, n, plan, so_id)
            self._close(key, credit_id)
            self._pay(key, order_id, n, plan.amount, credit_id)
            self.ledger.enqueue(RETURN_RECEIVED, [f"{key}:{r.request_id}" for r in plan.requests])
        self.ledger.mark_synced(REFUND, key)

    def _make_plan(self, key: str, order_id: int, n: int, so_id: int, data: dict) -> dict:
        """Decide the refund's rows and path once and store them before any write."""
        order = self._nop_orders.get(order_id) or self.nop.order(order_id)
        items = {item.id for item in self.nop.order_items(order_id)}
        sales_order = self._sales_order(so_id)
        earlier = [self._plan_data(refund_key(order_id, i)) for i in range(1, n)]
        covered = {r[0] for e in earlier for r in e.get("plan", {}).get("requests", ())}
        open_requests = [ReturnLine(r.id, r.order_item_id, r.quantity) for item in items for r in self._requests_of(item)
                         if r.return_request_status_id not in CLOSED_REQUEST_STATUSES and r.id not in covered]
        plan = plan_refund(
            amount=int(data["amount"]), order_total=cents(order.order_total), refunded_before=int(data["before"]),
            order_rows=self._order_rows(sales_order), open_requests=open_requests,
            shipping_credited_before=any(e.get("plan", {}).get("shipping") for e in earlier),
        )
        path = "cancel" if plan.full and so_id not in self._shipped else "credit"
        data = {**data, "plan": plan.as_json(), "path": path, "payment_method": order.payment_method_system_name}
        self.ledger.set_watermark(plan_name(key), json.dumps(data))
        return data

    def _requests_of(self, order_item_id: int) -> list:
        """Return requests of an order item, from one windowed search per run."""
        if self._requests_by_item is None:
            since = self.clock() - timedelta(days=self.config.returns.lookback_days)
            self._requests_by_item = {}
            for request in self.nop.return_requests(created_from_utc=since):
                self._requests_by_item.setdefault(request.order_item_id, []).append(request)
        return self._requests_by_item.get(order_item_id, [])

    def _sales_order(self, so_id: int):
        if so_id not in self._sales_orders:
            found = self.bp.sales_orders([so_id])
            if not found:
                raise NotFoundError(self.bp.system, f"Brightpearl sales order {so_id} is gone")
            self._sales_orders[so_id] = found[0]
        return self._sales_orders[so_id]

    @staticmethod
    def _order_rows(sales_order) -> list[OrderRow]:
        return [OrderRow(r.external_ref, r.product_id, r.name, r.quantity, r.net or Decimal("0"), r.tax or Decimal("0"),
                         r.tax_code, r.nominal_code) for r in sales_order.rows]

    def _credit(self, key: str, order_id: int, n: int, plan: RefundPlan, so_id: int) -> int:
        credit_id = self.ledger.bp_id(REFUND, key)
        if credit_id is not None:
            return credit_id
        sales_order = self._sales_order(so_id)
        body = sales_credit_body(order_id=order_id, n=n, plan=plan, order_rows=self._order_rows(sales_order),
                                 sales_order_id=so_id, customer_id=sales_order.customer_id, config=self.config,
                                 placed_on=self.clock())
        ref, instance = body["externalRef"], self.config.installed_integration_instance_id
        with self.writes.intent(REFUND, key) as claim:
            credit_id = self.writes.resume_or_create(
                claim, lambda: self.bp.create_sales_credit(body),
                lambda: min(self.bp.find_sales_credits_by_external_ref(ref, instance), default=None),
                target_dedupes=instance is not None)
            self.writes.complete(REFUND, key, credit_id, synced=False)
        self.report.credits_created += 1
        return credit_id

    def _is_closed(self, credit_id: int) -> bool:
        return bool(self.bp.order(credit_id).invoice_reference)

    def _close(self, key: str, credit_id: int) -> None:
        if self.ledger.bp_id(REFUND_CLOSED, key) is not None:
            return
        with self.writes.intent(REFUND_CLOSED, key) as claim:
            if not (claim.previous_attempt and self._is_closed(credit_id)):
                try:
                    self.bp.close_sales_credit(credit_id, tax_date=self.clock())
                except (OutcomeUnknownError, ValidationError):
                    if not self._is_closed(credit_id):  # a refusal of an invoiced credit means it is closed
                        raise
            self.writes.complete(REFUND_CLOSED, key, credit_id)
        self.report.credits_closed += 1

    def _pay(self, key: str, order_id: int, n: int, amount: int, bp_order_id: int) -> None:
        if self.ledger.bp_id(REFUND_PAID, key) is not None:
            return
        body = refund_payment_body(order_id=order_id, n=n, amount=amount, bp_order_id=bp_order_id,
                                   payment_system_name=self._plan_data(key).get("payment_method"), config=self.config,
                                   paid_on=self.clock())
        with self.writes.intent(REFUND_PAID, key) as claim:
            # transactionRef + method are unique (Customer Payment POST doc): a repeat is refused, never booked twice
            payment_id = self.writes.resume_or_create(
                claim, lambda: self.bp.create_customer_payment(body), lambda: self.bp.find_customer_payment(body),
                target_dedupes=True)
            self.writes.complete(REFUND_PAID, key, payment_id)
        self.report.payments_created += 1

    def _cancel(self, key: str, order_id: int, so_id: int) -> None:
        if self.ledger.bp_id(REFUND_CANCELLED, key) is not None:
            return
        status = self.config.order_status.by_order_status[NOP_CANCELLED]
        # a status PUT is idempotent: resent freely
        self.bp.update_order_status(so_id, status, note=f"nopCommerce order {order_id} fully refunded before shipping")
        self.ledger.mark_synced(REFUND_CANCELLED, key, bp_id=so_id)
        self.ledger.link(REFUND, key, so_id)
        self.report.orders_cancelled += 1

    # ------------------------------------------------------------------ goods back
    def _receive(self, key: str) -> None:
        order_id, n, request_id = (int(part) for part in key.split(":"))
        request = self.nop.return_request(request_id)
        if request.return_request_status_id not in RECEIVED_REQUEST_STATUSES and request.returned_quantity <= 0:
            if request.return_request_status_id in CLOSED_REQUEST_STATUSES:
                self.fates.skip(RETURN_RECEIVED, key, "the return request was rejected or cancelled", confirmed=True)
                return
            wait = timedelta(minutes=self.config.returns.recheck_minutes)
            self.ledger.postpone(RETURN_RECEIVED, key, self.clock() + wait, "waiting for the goods (return request not received)")
            return
        credit_id = self.ledger.bp_id(REFUND, refund_key(order_id, n))
        if credit_id is None:
            raise Deferred(f"refund {order_id}:{n} has no credit yet")
        plan = RefundPlan.from_json(self._plan_data(refund_key(order_id, n))["plan"])
        line = next(r for r in plan.requests if r.request_id == request_id)
        [credit] = self.bp.sales_credit_documents([credit_id]) or [None]
        row = credit_row_for(line, credit.rows if credit else [])
        if row is None or row.product_id is None:
            raise MappingError("validation_error", f"credit {credit_id} has no product row for return request {request_id}")
        item = next((i for i in self.nop.order_items(order_id) if i.id == line.order_item_id), None)
        cost = item.original_product_cost if item is not None else Decimal("0")
        warehouse = self.config.warehouse_id
        location = (self.bp.quarantine_location(warehouse) if self.config.returns.location == "quarantine"
                    else self.bp.default_location(warehouse))
        body = goods_in_body(credit_row_id=row.id, product_id=row.product_id, quantity=line.quantity, warehouse_id=warehouse,
                             location_id=location, unit_cost=cost, request_id=request_id, config=self.config,
                             received_on=self.clock())
        batch = return_batch_ref(request_id, self.config)
        with self.writes.intent(RETURN_RECEIVED, key) as claim:
            note_id = self.writes.resume_or_create(
                claim, lambda: self.bp.create_goods_in_note(credit_id, body),
                lambda: min((i for i, note in self.bp.goods_in_notes([credit_id]).items() if note.user_batch_reference == batch),
                            default=None))
            self.writes.complete(RETURN_RECEIVED, key, note_id)
        self.report.goods_received += 1

    # ------------------------------------------------------------------ Brightpearl -> nop
    def _staff_credits(self) -> None:
        """Queue the staff-made credits on sales orders of nop orders changed since the last look
        (one order-search with the externalRef and parent columns: ours are left out by their
        externalRef without reading them)."""
        now = self.clock()
        raw = self.ledger.get_watermark(STAFF_SINCE)
        since = datetime.fromisoformat(raw) if raw else now - timedelta(days=self.config.returns.lookback_days)
        try:
            rows = self.bp.order_search({"orderTypeId": 3, "updatedOn": period(since - timedelta(minutes=5))},
                                        columns=["orderId", "parentOrderId", "externalRef"])
        except TransientError as error:
            self.fates.read_failed(error)
        parents = self.ledger.nop_keys(ORDER, [r.parent_order_id for r in rows if r.parent_order_id])
        theirs = [str(r.order_id) for r in rows if not is_our_credit(r.external_ref, self.config) and r.parent_order_id in parents]
        self.ledger.enqueue(STAFF_CREDIT, theirs)  # known credits are left as they are
        self.ledger.set_watermark(STAFF_SINCE, now.isoformat())

    def _refund_in_shop(self, credit_id: int) -> None:
        credit = self._credit_docs.get(credit_id)
        if credit is None or not credit.parent_id:
            self.fates.skip(STAFF_CREDIT, str(credit_id), "the credit is gone or has no sales order", confirmed=False)
            return
        order_key = self.ledger.nop_keys(ORDER, [credit.parent_id]).get(credit.parent_id)
        if order_key is None:
            self.fates.skip(STAFF_CREDIT, str(credit_id), "the credit's sales order is not a nopCommerce order", confirmed=True)
            return
        order_id = int(order_key)
        totals = self._credit_totals
        paid_out = -cents(totals[credit_id].amount_paid) if credit_id in totals else 0
        online = paid_out <= 0 and self.config.returns.refund_unpaid_credits_online and self._is_closed(credit_id)
        if paid_out <= 0 and not online:
            wait = timedelta(minutes=self.config.returns.recheck_minutes)
            self.ledger.postpone(STAFF_CREDIT, str(credit_id), self.clock() + wait, "no money paid out on the credit yet")
            return
        wanted = paid_out if paid_out > 0 else cents(credit.total_gross or 0)
        key = str(credit_id)
        with self.writes.intent(STAFF_CREDIT, key):  # one run at a time refunds a credit in the shop
            if not self._shop_refund(order_id, credit_id, wanted, online):
                self.ledger.abandon_intent(STAFF_CREDIT, key, self.writes.owner)  # skipped: nothing was sent
                return
            self.writes.complete(STAFF_CREDIT, key, credit_id)
        self.report.shop_refunds += 1

    def _shop_refund(self, order_id: int, credit_id: int, wanted: int, online: bool) -> bool:
        """Refund `wanted` cents of a staff credit in the shop once; True when it is refunded (now
        or by an earlier attempt), False when it was skipped."""
        order = self.nop.order(order_id)
        refunded = cents(order.refunded_amount)
        state = self._state(order_id)
        own = state["own"].get(str(credit_id))
        if own is not None:  # an earlier attempt: the order's refunded amount says whether it went through
            if refunded >= own["before"] + own["amount"]:
                self._own_done(order_id, credit_id, online, own["amount"])
                return True
            if refunded != own["before"]:
                raise MappingError("validation_error", f"nop order {order_id}'s refunded amount moved from {money_text(own['before'])} "
                                   f"to {money_text(refunded)} since credit {credit_id}'s refund was sent: check both by hand")
        amount = nop_refund_cents(wanted, cents(order.order_total), refunded)
        if amount <= 0:
            self.fates.skip(STAFF_CREDIT, str(credit_id), f"nop order {order_id} is already fully refunded", confirmed=True)
            return False
        decimal_amount = Decimal(money_text(amount))
        allowed = (self.nop.can_partially_refund(order_id, decimal_amount) if online
                   else self.nop.can_partially_refund_offline(order_id, decimal_amount))
        if not allowed:
            raise MappingError("validation_error", f"nopCommerce refuses a partial refund of {money_text(amount)} on order {order_id}")
        state["own"][str(credit_id)] = {"before": refunded, "amount": amount}
        self._save_state(order_id, state)
        try:
            errors = (self.nop.partially_refund(order_id, decimal_amount) if online
                      else self.nop.partially_refund_offline(order_id, decimal_amount)) or []
        except OutcomeUnknownError:
            if cents(self.nop.order(order_id).refunded_amount) >= refunded + amount:
                self._own_done(order_id, credit_id, online, amount)
                return True
            raise
        if errors:
            del state["own"][str(credit_id)]
            self._save_state(order_id, state)
            message = "; ".join(errors)
            self.report.gateway_refusals.append(f"credit {credit_id} / order {order_id}: {message}")
            raise GatewayRefused(f"the payment gateway refused to refund {money_text(amount)} on nop order "
                                 f"{order_id} for credit {credit_id}: {message}")
        self._own_done(order_id, credit_id, online, amount)
        return True

    def _own_done(self, order_id: int, credit_id: int, online: bool, amount: int) -> None:
        """The shop refunded a staff credit: an online refund's PAYMENT is booked on the credit
        first, then the order's marker is dropped (until then a retry finds the refund made, never
        makes it again), its amount booked as seen unless detection has done so."""
        if online:  # money went out through the gateway: Brightpearl records it on the credit
            key = f"staff:{credit_id}"
            if self.ledger.bp_id(REFUND_PAID, key) is None:
                body = refund_payment_body(order_id=order_id, n=0, amount=amount, bp_order_id=credit_id,
                                           payment_system_name=self.nop.order(order_id).payment_method_system_name,
                                           config=self.config, paid_on=self.clock())
                body["transactionRef"] = f"{self.config.external_ref_prefix}{order_id}-credit-{credit_id}"
                with self.writes.intent(REFUND_PAID, key) as claim:
                    payment_id = self.writes.resume_or_create(
                        claim, lambda: self.bp.create_customer_payment(body), lambda: self.bp.find_customer_payment(body),
                        target_dedupes=True)
                    self.writes.complete(REFUND_PAID, key, payment_id)
        state = self._state(order_id)
        own = state["own"].pop(str(credit_id), None)
        if own is not None and not own.get("seen"):
            state["seen"] += own["amount"]
        self._save_state(order_id, state)


__all__ = ["FLOW", "WORK_KINDS", "RefundReport", "RefundSync", "order_state_name", "plan_name"]
