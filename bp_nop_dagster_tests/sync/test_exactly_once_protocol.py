"""Exactly-once without the simulator's help (issue 19, item 2): the write-ahead / natural-key
protocol of sync/exactly_once.py driven against fakes, and Hypothesis over sequences of faults.

The fakes model each target's documented answer to a repeated create, not our simulator:
- a sales order: a repeat of externalRef + installed integration instance answers 200 with the
  existing order, no change (Sales Order POST doc, api-docs.brightpearl.com/order/sales-order/post.html);
- a customer payment: transactionRef is unique per payment method, a repeat is refused (Customer
  Payment POST doc); the refusal's code is in no source, so any 400 is modelled;
- a nopCommerce shipment (`Shipment/Create`) and a Brightpearl journal: no natural unique key, a
  repeat creates a second record (plugin source ShipmentController.Create; Journal POST doc);
- a stock value: an absolute `Product/Update` of the GET'ed DTO, so a repeat writes the same value
  (plugin source ProductController.Update).

Faults per call: `down` (refused before it reaches the service: nothing applied), `lost` (applied,
the reply lost: an unknown outcome), `crash` (applied, then the run dies before the ledger hears of
it). Lookups may fail (`down`) too. Breaks checked: `resume_or_create` without its lookup
(`found = None`) and `create_once` sending the create again after an unknown outcome without the
lookup: the properties find duplicates for the shipment and journal styles."""

from __future__ import annotations

from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.sync.exactly_once import BulkAnswers, Deferred, Unsettled, WriteAhead
from bp_nop_dagster.transport.errors import OutcomeUnknownError, TransientError, ValidationError
from bp_nop_dagster_tests.ledger.clock import Clock

LEASE = 60.0
KEY = "1001"


class Crash(BaseException):
    """The run dies (kill, OOM) after the target applied the write: nothing below it runs."""


class Target:
    """A target system's records for one natural key. `dedupe`: how a repeated create is answered
    ("existing": the existing id, no change; "refuse": a 400; "none": a second record)."""

    def __init__(self, dedupe: str, create_faults=(), lookup_faults=()) -> None:
        self.dedupe = dedupe
        self.create_faults, self.lookup_faults = list(create_faults), list(lookup_faults)
        self.records: list[int] = []
        self.creates = self.lookups = 0
        self._ids = count(7001)

    def create(self) -> int:
        self.creates += 1
        fault = self.create_faults.pop(0) if self.create_faults else "ok"
        if fault == "down":
            raise TransientError("target", "service unavailable", status=503)
        if fault == "refuse":
            raise ValidationError("target", "CMNC-400", "refused as given", status=400)
        if self.records and self.dedupe == "refuse":
            raise ValidationError("target", "DUP-001", "a record with this natural key exists", status=400)
        if self.records and self.dedupe == "existing":
            new_id = self.records[0]
        else:
            new_id = next(self._ids)
            self.records.append(new_id)
        if fault == "lost":
            raise OutcomeUnknownError("target", "reply lost: the request may have been applied", status=502)
        if fault == "crash":
            raise Crash()
        return new_id

    def lookup(self) -> int | None:
        self.lookups += 1
        if (self.lookup_faults.pop(0) if self.lookup_faults else "ok") == "down":
            raise TransientError("target", "service unavailable", status=503)
        return self.records[0] if self.records else None


def bulk_answers(ledger: Ledger, owner: str, target: Target) -> BulkAnswers:
    """What OrderSync._look_up_in_bulk does before a pass: one search (here the target's lookup,
    which may fail: then no answer) answers the records whose intent is open and free."""
    answers = BulkAnswers(ledger)
    for intent in ledger.free_intents("order", owner):
        try:
            answers.put(intent, target.lookup())
        except TransientError:
            break
    return answers


def attempt(ledger: Ledger, owner: str, target: Target, style: str) -> int:
    """One run's work on the record, as the flow of that style does it."""
    writes = WriteAhead(ledger, owner=owner, lease_seconds=LEASE, permanent=(ValidationError,), renew_every=1000.0)
    answers = bulk_answers(ledger, owner, target) if style in ("order", "payment") else None
    with writes.intent("order", KEY) as claim:
        if style in ("order", "payment"):  # OrderSync._create_order and _payments: unknown outcomes settled in bulk
            found = writes.resume_or_create(claim, target.create, lambda: answers.lookup("order", KEY, target.lookup), settle_later=True)
        elif style == "refund":  # RefundSync's credits and refund payments: the repeat is sent before any lookup
            found = writes.resume_or_create(claim, target.create, target.lookup, target_dedupes=True)
        elif style == "shipment":  # FulfilmentSync._create_shipment: the note's shipment is always looked for first
            found = target.lookup() or writes.create_once(target.create, target.lookup)
        else:  # "journal": GatewayJournalSync._post
            found = writes.resume_or_create(claim, target.create, target.lookup)
        writes.complete("order", KEY, found)
    return found


def settle(ledger: Ledger, clock: Clock, target: Target, style: str, runs: int) -> list[str]:
    """Runs until the record is linked (each failed run's lease is left to lapse, as a killed run's would)."""
    outcomes = []
    for run in range(runs):
        try:
            attempt(ledger, f"run-{run}", target, style)
            outcomes.append("done")
            break
        except (TransientError, Deferred, Crash) as error:
            outcomes.append(type(error).__name__)
            clock.advance(LEASE + 1)
    return outcomes


# ------------------------------------------------------------------------- the protocol, case by case

def test_a_create_applied_whose_reply_was_lost_is_found_not_sent_again(ledger):
    target = Target("none", create_faults=["lost"])
    assert attempt(ledger, "run-a", target, "journal") == 7001
    assert (target.records, target.creates, target.lookups) == ([7001], 1, 1)
    assert ledger.bp_id("order", KEY) == 7001 and ledger.open_intents() == []


def test_after_an_earlier_attempt_a_lookup_that_finds_the_record_sends_no_create(ledger, clock):
    target = Target("none", create_faults=["crash"])
    with pytest.raises(Crash):
        attempt(ledger, "run-a", target, "journal")
    clock.advance(LEASE + 1)
    assert attempt(ledger, "run-b", target, "journal") == 7001
    assert (target.records, target.creates, target.lookups) == ([7001], 1, 1)


def test_after_an_earlier_attempt_a_lookup_that_misses_creates_once(ledger, clock):
    target = Target("none", create_faults=["down"])
    with pytest.raises(TransientError):
        attempt(ledger, "run-a", target, "journal")
    assert target.records == [] and ledger.intent("order", KEY) is not None  # kept open: outcome not known to be nothing
    clock.advance(LEASE + 1)
    assert attempt(ledger, "run-b", target, "journal") == 7001
    assert (target.records, target.creates, target.lookups) == ([7001], 2, 1)


def test_a_lookup_that_errors_sends_no_create_and_leaves_the_next_run_to_look_again(ledger, clock):
    target = Target("none", create_faults=["crash"], lookup_faults=["down"])
    with pytest.raises(Crash):
        attempt(ledger, "run-a", target, "journal")
    clock.advance(LEASE + 1)
    with pytest.raises(TransientError):
        attempt(ledger, "run-b", target, "journal")
    assert (target.creates, target.lookups) == (1, 1)  # the failed lookup was not taken for "absent"
    intent = ledger.intent("order", KEY)
    assert intent is not None and intent.lease_until <= clock()  # released at once: the next run need not wait
    assert attempt(ledger, "run-c", target, "journal") == 7001 and target.records == [7001]


def test_a_lookup_that_errors_after_an_unknown_outcome_does_not_resend(ledger):
    target = Target("none", create_faults=["lost"], lookup_faults=["down"])
    with pytest.raises(TransientError):
        attempt(ledger, "run-a", target, "journal")
    assert (target.records, target.creates) == ([7001], 1)


def test_a_refusal_of_a_repeat_is_taken_for_the_record_only_when_the_lookup_finds_it(ledger):
    target = Target("refuse", create_faults=["lost"])  # applied, reply lost; the repeat is refused as a duplicate
    assert attempt(ledger, "run-a", target, "refund") == 7001
    assert (target.records, target.creates, target.lookups) == ([7001], 2, 1)
    refused = Target("none", create_faults=["refuse"])  # refused for its body: nothing exists
    with pytest.raises(ValidationError):
        attempt(ledger, "run-b", refused, "journal")
    assert (refused.records, refused.lookups) == ([], 1)
    assert ledger.intent("order", KEY) is None  # a refusal proves nothing was written: the intent is closed


# ------------------------------------------------------------------------- properties over fault sequences

faults = st.lists(st.sampled_from(["ok", "down", "lost", "crash"]), max_size=6)
lookup_faults = st.lists(st.sampled_from(["ok", "down"]), max_size=4)
# (flow style, how its target answers a repeat); the bulk-answered styles also against a target
# that makes a second record, so that the bulk answers are shown not to rely on the dedupe.
STYLES = [("order", "existing"), ("order", "none"), ("payment", "refuse"), ("payment", "none"), ("refund", "existing"), ("refund", "refuse"),
          ("shipment", "none"), ("journal", "none")]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(style=st.sampled_from(STYLES), create_faults=faults, lookup_faults=lookup_faults)
def test_any_fault_sequence_ends_with_exactly_one_record_linked_once(style, create_faults, lookup_faults):
    (flow, dedupe), clock = style, Clock()
    with Ledger("sqlite://", clock=clock) as ledger:
        target = Target(dedupe, create_faults, lookup_faults)
        outcomes = settle(ledger, clock, target, flow, runs=len(create_faults) + len(lookup_faults) + 2)
        assert outcomes[-1] == "done", outcomes
        assert len(target.records) == 1, (target.records, outcomes)  # never two, never none
        assert ledger.bp_id("order", KEY) == target.records[0]
        assert ledger.open_intents() == []


def test_a_bulk_answer_stands_only_while_nobody_else_attempted_the_record(ledger, clock):
    """Rule (BulkAnswers): an answer put from a search stands for the run that takes the intent
    next; if another run took the intent and wrote in between, the answer is stale and the
    record is looked up on its own. Here the search rightly found nothing, then another run
    created the record and lost the reply: trusting the stale answer would create a second one."""
    target = Target("none", create_faults=["down", "lost"])
    with pytest.raises(TransientError):
        attempt(ledger, "run-a", target, "order")  # refused before it reached the service: nothing written
    (intent,) = ledger.free_intents("order", "run-c")
    answers = BulkAnswers(ledger)
    answers.put(intent, target.lookup())  # run-c's search: not created (true at the time)
    with pytest.raises(Unsettled):
        attempt(ledger, "run-b", target, "order")  # run-b creates it; the reply is lost
    writes = WriteAhead(ledger, owner="run-c", lease_seconds=LEASE, permanent=(ValidationError,), renew_every=1000.0)
    with writes.intent("order", KEY) as claim:
        found = writes.resume_or_create(claim, target.create, lambda: answers.lookup("order", KEY, target.lookup), settle_later=True)
    assert (found, target.records, target.creates, answers.used) == (7001, [7001], 2, 0)


def test_a_bulk_answer_that_stands_costs_no_lookup(ledger, clock):
    """Rule (BulkAnswers): the answer put for a free intent is used by the next taking of it,
    once, without a lookup of its own."""
    target = Target("none", create_faults=["lost"])
    with pytest.raises(Unsettled):
        attempt(ledger, "run-a", target, "order")
    (intent,) = ledger.free_intents("order", "run-b")
    answers = BulkAnswers(ledger)
    answers.put(intent, target.records[0])  # the search saw the committed record
    writes = WriteAhead(ledger, owner="run-b", lease_seconds=LEASE, permanent=(ValidationError,), renew_every=1000.0)
    with writes.intent("order", KEY) as claim:
        found = writes.resume_or_create(claim, target.create, lambda: answers.lookup("order", KEY, target.lookup), settle_later=True)
        writes.complete("order", KEY, found)
    assert (found, target.creates, target.lookups, answers.used) == (7001, 1, 0, 1)


class StockDto:
    """nopCommerce's product DTO behind `Product/GetById` and `Product/Update` (absolute writes)."""

    def __init__(self, stock: int, faults) -> None:
        self.dto = {"id": 5, "stock_quantity": stock, "name": "Mug", "sku": "BPN-00001"}
        self.faults, self.writes = list(faults), []

    def get(self, path):
        return dict(self.dto)

    def request(self, method, path, json_body=None, **_):
        fault = self.faults.pop(0) if self.faults else "ok"
        if fault == "down":
            raise TransientError("nopCommerce", "service unavailable", status=503)
        self.dto = dict(json_body)
        self.writes.append(json_body["stock_quantity"])
        if fault in ("lost", "crash"):
            raise TransientError("nopCommerce", "reply lost after the PUT was applied", status=502)


@settings(max_examples=100, deadline=None)
@given(start=st.integers(0, 50), target=st.integers(0, 50), put_faults=faults, checkout=st.integers(0, 3))
def test_stock_writes_under_any_fault_sequence_end_at_the_target_and_never_overwrite_a_checkout(start, target, put_faults, checkout):
    """The stock push's write (`NopCommerceClient.update_product_stock`): absolute and compared
    first, so a repeat after any fault writes the same value, and a value that moved (a checkout)
    since the push read it is not overwritten (the push recomputes it next run)."""
    from bp_nop_dagster.nopcommerce.client import NopCommerceClient

    shop = StockDto(start, put_faults)
    client = NopCommerceClient("http://127.0.0.1:9/api-backend", "a@b.c", "pw")
    client._get, client.request = shop.get, shop.request  # the wire replaced by the fake
    expected = start
    for _ in range(len(put_faults) + 1):
        try:
            if client.update_product_stock(5, target, expected=expected):
                break
            expected = shop.dto["stock_quantity"]  # moved meanwhile: the next run compares with what it reads
        except TransientError:
            expected = shop.dto["stock_quantity"]  # the next run reads the value again
    assert shop.dto["stock_quantity"] == target and set(shop.writes) <= {target}
    # a checkout after the read: the write compares and leaves the shopper's decrement alone
    shop.faults = []
    moved_to = max(0, target - checkout)
    shop.dto["stock_quantity"] = moved_to
    written = client.update_product_stock(5, target + 7, expected=target)
    assert written is (moved_to == target) and shop.dto["stock_quantity"] == (target + 7 if written else moved_to)
