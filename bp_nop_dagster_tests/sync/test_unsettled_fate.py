"""`Unsettled` in the one fate rule (sync/fate.py, table row `Unsettled`): a create whose outcome is
unknown, in a flow that looks such records up in bulk before each pass. Rule: the first time in a
run the record is left due and uncharged (no attempt, no backoff, no probe); a second time in the
same run it is a failed attempt like any transient `Deferred` (held for the breaker, charged once
the other system answers); a new run starts afresh."""

from __future__ import annotations

from bp_nop_dagster.ledger import RecordKind
from bp_nop_dagster.sync.exactly_once import Unsettled
from bp_nop_dagster.sync.fate import RETRYING, UNSETTLED, Fates
from bp_nop_dagster.transport.errors import OutcomeUnknownError
from bp_nop_dagster_tests.sync.test_fate import settle

ORDER = RecordKind.ORDER
BP = "Brightpearl"


def unsettled() -> Unsettled:
    try:
        raise OutcomeUnknownError(BP, "reply lost", status=502, method="POST", path="/order-service/sales-order")
    except OutcomeUnknownError as cause:
        error = Unsettled("create outcome unknown")
        error.__cause__ = cause
        return error


def test_the_first_unknown_outcome_in_a_run_is_left_due_without_a_charge_the_second_is_charged(ledger, clock):
    probes = []
    run = Fates(ledger, flow="orders", probes={BP: lambda: probes.append(1)}, clock=clock)
    ledger.enqueue(ORDER, ["1", "2"])
    assert settle(run, "1", unsettled()).fate == UNSETTLED
    record = ledger.status(ORDER, "1")
    assert (record.status, record.attempts) == ("pending", 0) and ledger.pending(ORDER) == ["1", "2"]
    again = settle(run, "1", unsettled())  # held for the breaker's verdict...
    settle(run, "2")  # ...which the next answer gives: the record's own failure
    assert again.fate == RETRYING and ledger.status(ORDER, "1").attempts == 1 and probes == []
    later = Fates(ledger, flow="orders", probes={BP: lambda: probes.append(1)}, clock=clock)
    clock.advance(60)
    assert settle(later, "1", unsettled()).fate == UNSETTLED and ledger.status(ORDER, "1").attempts == 1
