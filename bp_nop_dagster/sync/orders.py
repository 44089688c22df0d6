"""The order flow, without Dagster: nopCommerce orders, their customers and payments into
Brightpearl exactly once (DESIGN principles 1, 2 and 4).

nopCommerce is the master of orders and payments; Brightpearl receives them. Work comes from the
ledger (`pending(RecordKind.ORDER)`), put there by the new-order sensor, the catch-up sweep or a replay.
For each order, in this order:

0. with the mapping's `quality.hold_invalid_contacts`, a new order whose billing or shipping
   address has an ERROR-level contact issue is held: dead-lettered `invalid_address` with each
   issue and its suggestion (`sync/contact_check.py`), sent once corrected and replayed;
1. contact: the ledger's link for the customer's normalised email, else an exact primary-email
   match from `contact-search`, else a new postal address and contact, each under its own
   write-ahead intent with a natural-key lookup: the address (Brightpearl has no address
   search) by reading the address ids after the highest one this integration created before the
   intent, for an address no contact uses with the same lines; the contact by its email, or,
   without one, through its address (the contact a Postal Address GET names);
2. sales order: the ledger's link, else (under a write-ahead intent) a lookup by `externalRef` when
   an earlier attempt's outcome is unknown, then one atomic `POST /order-service/sales-order`;
3. payments: one per mapped payment step (RECEIPT, or AUTH then CAPTURE), each under its own intent,
   deduplicated by `transactionRef` and payment method, on the same order, payment type and
   amount (a gateway reference another order reused is never taken for this one);
4. later changes from the shop: a cancellation, or the payment of an order booked as awaiting
   payment, gets a status PUT; Brightpearl owns every other status change after the create.

An order or payment create whose outcome is unknown (a 500, a dropped reply) is not looked up at
once: the record is left due, uncharged (`sync/fate.py`: once per run), to the next pass (or
run), which answers the lookups of all such orders with one `order-search` by creation time and
of all such payments with one `customer-payment-search` by order id, before writing
(`_look_up_in_bulk`; one lookup per record only when a single one is open). A record killed
mid-create is found the same way.

Every record ends synced, needs-review (placeholder line for an unknown SKU), skipped with a reason
(absent from Order/GetByIds, which leaves soft-deleted orders out, and confirmed deleted or unknown
by Order/GetById; the catch-up sweep re-opens it if nopCommerce lists it again), or dead-lettered
with a typed reason; `sync/fate.py` decides which from what the order's work raised (one rule
for every flow), including the retries of transient failures and the circuit breaker. One bad
order stops nothing: nopCommerce is read item by item (an order, item or address the models
reject is dead-lettered `malformed_record`), a bulk read that fails is retried order by order,
and any other error is that order's alone (`unexpected`). An order deleted in nopCommerce after
it reached Brightpearl stays synced: Brightpearl owns it from its creation on. Nothing is
remembered in memory between runs: state lives in the ledger, so a killed run resumes where it
stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from bp_nop_dagster import settings
from bp_nop_dagster.brightpearl.client import MAX_PAGE_SIZE, BrightpearlClient, matching_customer_payment
from bp_nop_dagster.brightpearl.models import CustomerPayment
from bp_nop_dagster.ledger import DEFAULT_LEASE_SECONDS, DEFAULT_POLICY, Ledger, RecordKind, RetryPolicy
from bp_nop_dagster.mapping.config import MappingConfig
from bp_nop_dagster.mapping.contacts import contact_body, country_iso3, normalise_email, postal_address_body
from bp_nop_dagster.mapping.orders import MappingError, external_ref, order_status_id, sales_order_body
from bp_nop_dagster.mapping.payments import customer_payments, payment_key
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.nopcommerce.models import OrderDetails, OrderStatus
from bp_nop_dagster.sync.calls import calls_into
from bp_nop_dagster.sync.contact_check import ContactGate
from bp_nop_dagster.sync.exactly_once import BulkAnswers, WriteAhead
from bp_nop_dagster.sync.fate import (
    BREAKER_THRESHOLD, DEAD_LETTERED, HELD, POSTPONED, RETRYING, SKIPPED, UNSETTLED, Fates, Outcome, mapping_of,
)
from bp_nop_dagster.transport.errors import ApiError, AuthError, MalformedError, TransientError, ValidationError

log = logging.getLogger("bp_nop_dagster.sync.orders")

ORDER, CONTACT, POSTAL_ADDRESS, PAYMENT, PRODUCT = (
    RecordKind.ORDER, RecordKind.CONTACT, RecordKind.POSTAL_ADDRESS, RecordKind.PAYMENT, RecordKind.PRODUCT)
FLOW = "orders"
READ_CHUNK = 100  # orders read from nopCommerce ahead of the Brightpearl writes
MAX_PASSES = 3  # passes of one run over the due orders (see `OrderSync.run`)
# How far before an order's first create attempt the bulk lookup reads Brightpearl's orders by
# `createdOn` (`OrderFlowKnobs.created_on_margin_hours`). Inferred (no source states the time
# zone the createdOn filter reads a UTC time in, nor the account clock's skew): a day covers any
# time zone; a larger window costs pages, never correctness.
CREATED_ON_MARGIN = timedelta(hours=24)


@dataclass
class StepCounts:
    """What one step did in one run (numeric metadata in the UI)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    needs_review: int = 0
    dead_lettered: int = 0
    pending: int = 0
    skipped: int = 0

    def as_metadata(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class SyncReport:
    contacts: StepCounts = field(default_factory=StepCounts)
    orders: StepCounts = field(default_factory=StepCounts)
    payments: StepCounts = field(default_factory=StepCounts)
    brightpearl_calls: int = 0
    nopcommerce_calls: int = 0
    processed: int = 0


@dataclass
class _NopChunk:
    """One chunk of pending orders as read from nopCommerce: the live orders with their details;
    why each other key has no live order (deleted or not found, confirmed by Order/GetById);
    the keys whose order, items or addresses the models reject (the problem); the keys whose
    reads failed (the error); and the keys not read at all (reads stopped after repeated
    failures: left as they are)."""

    keys: list[str]
    absent: dict[str, str] = field(default_factory=dict)
    details: list[OrderDetails] = field(default_factory=list)
    line_skus: dict[int, str | None] = field(default_factory=dict)
    malformed: dict[str, str] = field(default_factory=dict)
    failed: dict[str, ApiError] = field(default_factory=dict)
    untried: list[str] = field(default_factory=list)

    def add(self, other: _NopChunk) -> None:
        self.absent.update(other.absent)
        self.details.extend(other.details)
        self.line_skus.update(other.line_skus)
        self.malformed.update(other.malformed)
        self.failed.update(other.failed)
        self.untried.extend(other.untried)


class OrderSync:
    """Drains the ledger's pending orders into Brightpearl. One instance per run."""

    def __init__(
        self,
        *,
        nop: NopCommerceClient,
        bp: BrightpearlClient,
        ledger: Ledger,
        config: MappingConfig | Callable[[], MappingConfig],
        owner: str,
        intent_lease_seconds: float = DEFAULT_LEASE_SECONDS,
        progress: Callable[[int, int], None] | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        created_on_margin: timedelta = CREATED_ON_MARGIN,
    ) -> None:
        """`config`: the mapping, or a function that reads and checks it against the account
        (called inside the run, so an outage during its reads pauses the flow as any other
        outage does). `created_on_margin`: see `CREATED_ON_MARGIN`."""
        self.nop = nop
        self.bp = bp
        self.ledger = ledger
        self._config = config
        self.progress = progress
        self.report = SyncReport()
        self.writes = WriteAhead(ledger, owner=owner, lease_seconds=intent_lease_seconds, permanent=(ValidationError, MappingError))
        self.fates = Fates(ledger, flow=FLOW, probes={bp.system: bp.ping, nop.system: nop.ping}, policy=policy,
                           lease_seconds=intent_lease_seconds)
        self.created_on_margin = created_on_margin
        self.order_answers: BulkAnswers[int] = BulkAnswers(ledger)  # order key -> sales order id or None
        self.payment_answers: BulkAnswers[list[CustomerPayment]] = BulkAnswers(ledger)  # payment key -> its order's payments
        self._outcomes: list[Outcome] = []
        self._iso_codes: dict[int, tuple[str | None, str | None]] | None = None

    # ------------------------------------------------------------------ entry point
    def run(self, limit: int | None = None) -> SyncReport:
        """Sync up to `limit` due orders (never-attempted ones first), in up to `MAX_PASSES`
        passes: orders that came due while a pass ran (new ones, retries whose backoff ended)
        are taken by the next pass instead of waiting for another run. Raises SystemicOutage
        (after recording its counts) when the run stopped on an outage (`sync/fate.py`)."""
        with calls_into(self.report, self.bp, self.nop):
            try:
                self.config = mapping_of(self._config, self.fates)  # checked against the account even with nothing to do
                keys, taken = self.ledger.pending(ORDER, limit), 0
                if keys:
                    self.config = self.config.with_instance_id(self.bp.installed_integration_instance_id)
                for _ in range(MAX_PASSES):
                    if not keys:
                        break
                    try:
                        self._look_up_in_bulk(keys)
                    except TransientError as error:  # each record is looked up on its own instead
                        log.warning("the bulk lookup of unknown outcomes failed (%s): looking records up one by one", error)
                    self._sync(keys)
                    taken += len(keys)
                    if limit is not None and taken >= limit:
                        break
                    held = {outcome.key for outcome in self._outcomes if outcome.fate == HELD}  # judged at the end
                    keys = [k for k in self.ledger.pending(ORDER, None if limit is None else limit - taken) if k not in held]
                self.fates.finish()
            finally:
                self._count_fates()
        return self.report

    def _look_up_in_bulk(self, keys: list[str]) -> None:
        """Answer ahead the lookups of this pass's orders and payments whose earlier create's
        outcome is unknown (an intent open, no run holding it): the orders by one `order-search`
        from the first such attempt's time less `created_on_margin`, the payments by one
        `customer-payment-search` of their orders. With one record of a kind open, or more
        orders created in the window than pages would save, each is looked up on its own."""
        owner, wanted = self.writes.owner, set(keys)
        orders = [i for i in self.ledger.free_intents(ORDER, owner) if i.nop_key in wanted]
        if len(orders) > 1:
            since = min(i.created_at for i in orders) - self.created_on_margin
            found = self.bp.sales_orders_created_since(since, self.config.installed_integration_instance_id,
                                                       max_rows=MAX_PAGE_SIZE * (len(orders) - 1))
            if found is not None:
                for intent in orders:
                    self.order_answers.put(intent, found.get(external_ref(int(intent.nop_key), self.config)))
        order_of = {i: i.nop_key.split(":")[0] for i in self.ledger.free_intents(PAYMENT, owner)}  # payment_key's order
        order_ids = self.ledger.bp_ids(ORDER, {key for key in order_of.values() if key in wanted})
        payments = [i for i, key in order_of.items() if key in order_ids]
        if len(payments) > 1:
            by_order: dict[int, list[CustomerPayment]] = {}
            for payment in self.bp.customer_payment_search(order_ids=sorted(set(order_ids.values()))):
                by_order.setdefault(payment.order_id, []).append(payment)
            for intent in payments:
                self.payment_answers.put(intent, by_order.get(order_ids[order_of[intent]], []))

    def _count_fates(self) -> None:
        """The fate counts of the orders this run worked on (each order's last outcome)."""
        fates = [outcome.fate for outcome in {outcome.key: outcome for outcome in self._outcomes}.values()]
        self.report.orders.dead_lettered = fates.count(DEAD_LETTERED)
        self.report.orders.pending = fates.count(RETRYING) + fates.count(POSTPONED) + fates.count(UNSETTLED)
        self.report.orders.skipped = fates.count(SKIPPED)

    def _sync(self, keys: list[str]) -> None:
        """Chunk by chunk, reading the next chunk from nopCommerce in the background while this
        one is written to Brightpearl, so a long backlog keeps Brightpearl's quota busy."""
        chunks = [keys[i : i + READ_CHUNK] for i in range(0, len(keys), READ_CHUNK)]
        try:
            self._iso2(None)  # country codes once, before the reader thread shares the client
        except TransientError as error:
            self.fates.read_failed(error)
        done = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nop-read-ahead") as reader:
            ahead = reader.submit(self._read_chunk, chunks[0])
            for index in range(len(chunks)):
                chunk = ahead.result()
                if index + 1 < len(chunks):
                    ahead = reader.submit(self._read_chunk, chunks[index + 1])
                for detail in self._write_chunk(chunk):
                    done += 1
                    if self.progress:
                        self.progress(done, len(keys))

    def _read_chunk(self, keys: list[str]) -> _NopChunk:
        """Everything nopCommerce says about these orders (no ledger or Brightpearl access). A
        bulk read that fails is read again order by order, so one order nopCommerce cannot
        serve does not take its chunk down with it; after `BREAKER_THRESHOLD` orders in a row
        fail, the rest are left untried (nopCommerce is likely down)."""
        try:
            return self._read(keys)
        except AuthError:
            raise
        except ApiError as error:
            if len(keys) == 1:
                return _NopChunk(keys, failed={keys[0]: error})
            log.warning("reading %d orders from nopCommerce failed (%s): reading them one by one", len(keys), error)
        chunk, failures = _NopChunk(keys), 0
        for index, key in enumerate(keys):
            if failures >= BREAKER_THRESHOLD:
                chunk.untried.extend(keys[index:])
                break
            one = self._read_chunk([key])
            failures = failures + 1 if one.failed else 0
            chunk.add(one)
        return chunk

    def _read(self, keys: list[str]) -> _NopChunk:
        lookup = self.nop.lookup_orders(int(k) for k in keys)
        read = self.nop.read_order_details(list(lookup.found.values()), stop_after_failures=BREAKER_THRESHOLD)
        malformed = {**lookup.malformed, **read.malformed}
        return _NopChunk(
            keys=keys, absent={str(i): reason for i, reason in lookup.absent.items()}, details=read.details,
            line_skus=self._line_skus(read.details), malformed={str(i): problem for i, problem in malformed.items()},
            failed={str(i): error for i, error in read.failed.items()}, untried=[str(i) for i in read.untried],
        )

    def _write_chunk(self, chunk: _NopChunk) -> Iterator[OrderDetails]:
        for key, reason in chunk.absent.items():
            if self.ledger.bp_id(ORDER, key) is None:  # confirmed by Order/GetById: final
                self._outcomes.append(self.fates.skip(ORDER, key, reason, confirmed=True))
            else:  # deleted after it reached Brightpearl, which owns the order from then on
                self.ledger.mark_synced(ORDER, key, unchanged=True)
                self.report.orders.unchanged += 1
        for key, problem in chunk.malformed.items():
            with self.fates.settle(ORDER, key, payload={"order_id": int(key)}) as outcome:
                self._outcomes.append(outcome)
                raise MalformedError(self.nop.system, f"order {key}: {problem}", record_id=int(key))
        for key, error in chunk.failed.items():
            with self.fates.settle(ORDER, key, payload={"order_id": int(key)}) as outcome:
                self._outcomes.append(outcome)
                raise error
        wanted_skus = {sku for sku in chunk.line_skus.values() if sku} | {self.config.placeholder_sku}
        linked = self.ledger.bp_ids(ORDER, [str(d.order.id) for d in chunk.details])
        try:
            sku_ids = self._brightpearl_product_ids(wanted_skus)
            summaries = self.bp.order_summaries(linked.values()) if linked else {}
        except TransientError as error:
            self.fates.read_failed(error)
        for detail in chunk.details:
            self._sync_one(detail, chunk.line_skus, sku_ids, linked.get(str(detail.order.id)), summaries)
            self.report.processed += 1
            yield detail

    def _sync_one(self, detail: OrderDetails, line_skus, sku_ids, bp_order_id, summaries) -> None:
        key = str(detail.order.id)
        with self.fates.settle(ORDER, key, payload=self._payload(detail)) as outcome:
            self._outcomes.append(outcome)
            if bp_order_id is None:
                self._check_store(detail)
                if self.config.quality.hold_invalid_contacts:  # held for review: dead-lettered invalid_address
                    ContactGate(self.config.quality, self._iso2, self.nop.state_abbreviation).check(detail)
                contact_id = self._contact(detail)
                bp_order_id, needs_review = self._create_order(detail, contact_id, line_skus, sku_ids)
            else:
                record = self.ledger.status(ORDER, key)
                needs_review = bool(record and record.needs_review)
                self.report.contacts.unchanged += 1
                self._update_status(detail, bp_order_id, summaries.get(bp_order_id))
            self._payments(detail, bp_order_id)
            # Synced only now: an order whose payment failed or was cut off stays pending.
            self.ledger.mark_synced(ORDER, key, needs_review=needs_review)

    def _check_store(self, detail: OrderDetails) -> None:
        """An order of a store this pair does not own (bp_nop_dagster/pairs.py; e.g. one left in
        the ledger from before the pair named its stores) is never booked into this account:
        dead-lettered `unknown_store`, in words."""
        scope, order = self.nop.store_scope, detail.order
        if scope.whole_installation or scope.owns_store_record(order.store_id, self.nop.installation_store_ids()):
            return
        raise MappingError("unknown_store", f"order {order.id} is of nopCommerce store {order.store_id}, which this pair does not own "
                                            f"({settings.BP_NOP_NOPCOMMERCE_STORE_IDS}: {scope.describe()}): the pair owning it books it")

    # ------------------------------------------------------------------ contacts
    def _contact(self, detail: OrderDetails) -> int:
        """The Brightpearl contact for the order's customer: ledger, exact email match, or new."""
        address = detail.billing_address or detail.shipping_address
        if address is None:
            raise MappingError("invalid_address", f"order {detail.order.id} has no billing or shipping address")
        email = normalise_email(address.email)
        key = email or f"customer:{detail.order.customer_id}"
        known = self.ledger.bp_id(CONTACT, key)
        if known is not None:
            self.report.contacts.unchanged += 1
            return known
        address_body = postal_address_body(address, country_iso3(self._iso2(address.country_id), self.config))
        with self.writes.intent(CONTACT, key) as claim:
            if email:  # an existing customer is matched by email before anything is created
                lookup = lambda: lowest(row.contact_id for row in self.bp.find_contacts_by_email(address.email or ""))  # noqa: E731
                address_id = None
            else:  # no email: the contact is found through its address, which only it uses
                address_id = self._postal_address(key, address_body)
                lookup = lambda: self.bp.postal_address_contact(address_id)  # noqa: E731
            match = lookup() if email or claim.previous_attempt else None
            if match is not None:
                self.writes.complete(CONTACT, key, match)
                self.report.contacts.unchanged += 1
                return match
            if address_id is None:
                address_id = self._postal_address(key, address_body)
            contact_id = self.writes.create_once(
                lambda: self.bp.create_contact(contact_body(
                    first_name=address.first_name, last_name=address.last_name, email=address.email,
                    phone=address.phone_number, company=address.company, postal_address_id=address_id,
                )),
                lookup,
            )
            self.writes.complete(CONTACT, key, contact_id)
        self.report.contacts.created += 1
        return contact_id

    def _postal_address(self, contact_key: str, body: dict) -> int:
        """The contact's postal address (keyed like the contact): the ledger's link, else created
        once under its own intent. After an unknown outcome it is looked up among the address
        ids after the highest one this integration created before the intent began (ids grow;
        Brightpearl has no address search), as an address no contact uses with the same lines."""
        known = self.ledger.bp_id(POSTAL_ADDRESS, contact_key)
        if known is not None:
            return known
        with self.writes.intent(POSTAL_ADDRESS, contact_key) as claim:
            address_id = self.writes.resume_or_create(
                claim, lambda: self.bp.create_postal_address(body), lambda: self._find_address(contact_key, body))
            self.writes.complete(POSTAL_ADDRESS, contact_key, address_id)
        return address_id

    def _find_address(self, contact_key: str, body: dict) -> int | None:
        intent = self.ledger.intent(POSTAL_ADDRESS, contact_key)
        before = [link.bp_id for link in self.ledger.links(POSTAL_ADDRESS) if intent is None or link.created_at < intent.created_at]
        if not before:
            log.warning("postal address for %s: no earlier address id to search after; a new one is created", contact_key)
            return None
        return self.bp.find_unused_postal_address(body, after_id=max(before))

    # ------------------------------------------------------------------ sales orders
    def _create_order(self, detail: OrderDetails, contact_id: int, line_skus, sku_ids) -> tuple[int, bool]:
        """The Brightpearl order for a nop order not linked yet; returns (id, needs_review)."""
        order = detail.order
        key = str(order.id)
        mapping = sales_order_body(
            detail, contact_id=contact_id, sku_to_product_id=sku_ids,
            line_skus={item.id: line_skus.get(item.id) for item in detail.items},
            config=self.config, iso3_for=lambda country_id: country_iso3(self._iso2(country_id), self.config),
        )
        reference = external_ref(order.id, self.config)
        instance_id = self.config.installed_integration_instance_id
        with self.writes.intent(ORDER, key) as claim:
            # An unknown outcome is settled by the next pass's bulk lookup (`_look_up_in_bulk`).
            bp_order_id = self.writes.resume_or_create(
                claim,
                lambda: self.bp.create_sales_order(mapping.body),
                lambda: self.order_answers.lookup(
                    ORDER, key, lambda: lowest(self.bp.find_sales_orders_by_external_ref(reference, instance_id))),
                settle_later=True,
            )
            self.writes.complete(ORDER, key, bp_order_id, needs_review=mapping.needs_review, synced=False)
        self._count_created(self.report.orders, mapping.needs_review)
        if mapping.needs_review:
            log.warning("order %s booked with the placeholder product for unknown SKUs %s", key, mapping.unknown_skus)
        return bp_order_id, mapping.needs_review

    def _update_status(self, detail: OrderDetails, bp_order_id: int, summary) -> None:
        """After the create, Brightpearl owns the order's status (allocation, dispatch, ...), so
        a re-polled order changes it only for what comes from the shop: a cancellation, or the
        payment of an order booked as awaiting payment. Anything else is left as Brightpearl has it."""
        if summary is None:
            self.report.orders.unchanged += 1
            return
        wanted = order_status_id(detail.order, self.config)
        cancelled = detail.order.order_status_id == OrderStatus.CANCELLED
        paid_since = summary.status_id == self.config.order_status.awaiting_payment_status_id
        if summary.status_id == wanted or not (cancelled or paid_since):
            self.report.orders.unchanged += 1
            return
        self.bp.update_order_status(bp_order_id, wanted, note=f"nopCommerce order {detail.order.id} status changed")
        self.report.orders.updated += 1

    # ------------------------------------------------------------------ payments
    def _payments(self, detail: OrderDetails, bp_order_id: int) -> None:
        order = detail.order
        payment_date = order.paid_date_utc or order.created_on_utc
        for body in customer_payments(order, bp_order_id=bp_order_id, config=self.config, payment_date=payment_date):
            key = payment_key(order.id, body["paymentType"])
            if self.ledger.bp_id(PAYMENT, key) is not None:
                self.report.payments.unchanged += 1
                continue
            with self.writes.intent(PAYMENT, key) as claim:
                # An unknown outcome is settled by the next pass's bulk lookup (`_look_up_in_bulk`).
                payment_id = self.writes.resume_or_create(
                    claim,
                    lambda body=body: self.bp.create_customer_payment(body),
                    lambda body=body, key=key: self._find_payment(key, body),
                    settle_later=True,
                )
                self.writes.complete(PAYMENT, key, payment_id)
            self.report.payments.created += 1

    def _find_payment(self, key: str, body: dict) -> int | None:
        """The payment's natural-key lookup: from the pass's bulk read of its order's payments
        when that answer stands, else its own search by transactionRef."""
        payments = self.payment_answers.lookup(PAYMENT, key, lambda: None)
        return self.bp.find_customer_payment(body) if payments is None else matching_customer_payment(payments, body)

    # ------------------------------------------------------------------ shared
    def _count_created(self, counts: StepCounts, needs_review: bool) -> None:
        counts.created += 1
        if needs_review:
            counts.needs_review += 1

    @staticmethod
    def _payload(detail: OrderDetails) -> dict:
        """What a dead letter of the order keeps (no personal data)."""
        return {
            "order_id": detail.order.id,
            "custom_order_number": detail.order.custom_order_number,
            "order_total": str(detail.order.order_total),
            "items": [{"id": i.id, "product_id": i.product_id, "quantity": i.quantity} for i in detail.items],
        }

    def _iso2(self, country_id: int | None) -> str | None:
        if self._iso_codes is None:
            self._iso_codes = self.nop.country_iso_codes()
        return self._iso_codes.get(country_id or 0, (None, None))[0]

    def _line_skus(self, details: Iterable[OrderDetails]) -> dict[int, str | None]:
        """order item id -> the SKU it sells (the attribute combination's SKU when one matches)."""
        items = [item for d in details for item in d.items]
        products = {p.id: p for p in self.nop.products_by_ids({i.product_id for i in items})} if items else {}
        combinations: dict[int, dict[str, str | None]] = {}
        for product in products.values():
            if product.manage_inventory_method_id == 2:
                combinations[product.id] = {c.attributes_xml or "": c.sku for c in self.nop.attribute_combinations(product.id)}
        skus: dict[int, str | None] = {}
        for item in items:
            product = products.get(item.product_id)
            by_attributes = combinations.get(item.product_id, {})
            skus[item.id] = by_attributes.get(item.attributes_xml or "") or (product.sku if product else None)
        return skus

    def _brightpearl_product_ids(self, skus: set[str]) -> dict[str, int]:
        """SKU -> Brightpearl product id: the ledger's product links first, then Brightpearl for the rest."""
        known = self.ledger.bp_ids(PRODUCT, skus)
        missing = skus - set(known)
        if missing:
            found = self.bp.product_ids_by_sku(missing)
            for sku, product_id in found.items():
                if sku in missing:
                    self.ledger.link(PRODUCT, sku, product_id)
                    known[sku] = product_id
        return known


def lowest(ids: Iterable[int]) -> int | None:
    """The oldest of several matches (Brightpearl ids grow), or None."""
    return min(ids, default=None)

