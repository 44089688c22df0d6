"""The one fate rule (sync/fate.py), on a ledger with a fake clock (no sleeps).

Expected values restate the rules in the module docstring: what each raised error becomes, the
policy's backoff (5 s doubling to 20 s, `gave_up` at the 10th failure), the circuit breaker (3
transient failures in a row, then a probe: an outage charges nothing and pauses the flow 5 s,
doubling to 20 s), and skips that become final only when re-checked.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bp_nop_dagster.ledger import DEFAULT_LEASE_SECONDS, DEFAULT_POLICY, RecordKind
from bp_nop_dagster.mapping.config import MappingError
from bp_nop_dagster.mapping.fulfilment import FulfilmentMappingError
from bp_nop_dagster.sync.exactly_once import Deferred, Held
from bp_nop_dagster.sync.fate import (
    DEAD_LETTERED,
    POSTPONED,
    RETRYING,
    Fates,
    SystemicOutage,
    active_pause,
    work_due,
)
from bp_nop_dagster.transport.errors import (
    AuthError,
    MalformedError,
    NotFoundError,
    OutcomeUnknownError,
    TransientError,
    ValidationError,
)
from bp_nop_dagster_tests.ledger.clock import T0

ORDER = RecordKind.ORDER
BP = "Brightpearl"


class Probe:
    """A system's probe: answers unless `down`; counts its calls."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.down:
            raise TransientError(BP, "server error", status=503)


@pytest.fixture
def probe() -> Probe:
    return Probe()


def fates(ledger, clock, probe) -> Fates:
    return Fates(ledger, flow="orders", probes={BP: probe}, clock=clock)


def settle(run: Fates, key: str, error: BaseException | None = None):
    with run.settle(ORDER, key, payload={"order_id": key}) as outcome:
        if error is not None:
            raise error
        run.ledger.mark_synced(ORDER, key)
    return outcome


def transient() -> TransientError:
    return TransientError(BP, "server error", status=500, method="POST", path="/order-service/sales-order")


@pytest.mark.parametrize(
    ("error", "reason", "code"),
    [
        (MappingError("invalid_address", "no country"), "invalid_address", None),
        (FulfilmentMappingError("unknown_sku", "SKU not on the order"), "unknown_sku", None),
        (ValidationError(BP, "ORDC-005", "You have not supplied an order type code", status=400), "validation_error", "ORDC-005"),
        (NotFoundError(BP, "No Contact Found", status=404), "not_found", "404"),
        (MalformedError("nopCommerce", "items.0.quantity: Input should be a valid integer", record_id=7), "malformed_record", None),
        (KeyError("totally unexpected"), "unexpected", "KeyError"),
    ],
)
def test_each_permanent_outcome_is_dead_lettered_with_its_typed_reason(ledger, clock, probe, error, reason, code):
    run = fates(ledger, clock, probe)
    ledger.enqueue(ORDER, ["1"])
    outcome = settle(run, "1", error)
    (letter,) = ledger.dead_letters()
    assert (outcome.fate, letter.reason, letter.error_code, letter.payload) == (DEAD_LETTERED, reason, code, {"order_id": "1"})
    assert ledger.status(ORDER, "1").status == "dead_lettered"


def test_auth_errors_stop_the_run_and_change_nothing(ledger, clock, probe):
    run = fates(ledger, clock, probe)
    ledger.enqueue(ORDER, ["1"])
    with pytest.raises(AuthError):
        settle(run, "1", AuthError(BP, "credentials refused", status=401))
    assert ledger.status(ORDER, "1").status == "pending" and ledger.dead_letters() == []


def test_a_record_another_run_holds_is_postponed_one_lease_without_an_attempt(ledger, clock, probe):
    run = fates(ledger, clock, probe)
    ledger.enqueue(ORDER, ["1"])
    assert settle(run, "1", Held("order '1' is being handled by run-b")).fate == POSTPONED
    record = ledger.status(ORDER, "1")
    assert (record.status, record.attempts, record.next_attempt_at) == ("failed", 0, T0 + timedelta(seconds=DEFAULT_LEASE_SECONDS))


def test_a_transient_failure_is_charged_once_the_other_system_answers_and_waits_its_backoff(ledger, clock, probe):
    run = fates(ledger, clock, probe)
    ledger.enqueue(ORDER, ["1", "2"])
    failed = settle(run, "1", transient())
    assert ledger.status(ORDER, "1").attempts == 0  # held: nobody knows yet whose failure it is
    settle(run, "2")  # Brightpearl answered the next record: the failure was the record's own
    assert failed.fate == RETRYING and probe.calls == 0
    record = ledger.status(ORDER, "1")
    assert record.attempts == 1 and T0 + timedelta(seconds=4) <= record.next_attempt_at <= T0 + timedelta(seconds=5)
    assert ledger.pending(ORDER) == []  # not due during its backoff
    assert work_due(ledger, (ORDER,), clock.now)[0] == 0  # so the sensor asks for no run
    clock.advance(5)
    assert ledger.pending(ORDER) == ["1"] and work_due(ledger, (ORDER,), clock.now)[0] == 1


def test_a_record_that_keeps_failing_gives_up_at_the_10th_attempt_with_its_last_error(ledger, clock, probe):
    ledger.enqueue(ORDER, ["1"])
    started = clock.now
    for attempt in range(1, DEFAULT_POLICY.give_up_after + 1):
        assert ledger.pending(ORDER) == ["1"]
        run = fates(ledger, clock, probe)
        outcome = settle(run, "1", Deferred(f"create still unconfirmed, attempt {attempt}"))
        run.finish()
        if attempt < DEFAULT_POLICY.give_up_after:
            assert outcome.fate == RETRYING
            clock.now = ledger.status(ORDER, "1").next_attempt_at
    assert outcome.fate == DEAD_LETTERED and outcome.reason == "gave_up"
    (letter,) = ledger.dead_letters()
    assert (letter.reason, letter.message) == ("gave_up", "create still unconfirmed, attempt 10")
    assert timedelta(seconds=124) <= clock.now - started <= timedelta(seconds=155)  # 5+10+7*20 s, up to 20 % less


def test_records_that_keep_failing_never_starve_a_new_one(ledger, clock, probe):
    ledger.enqueue(ORDER, ["bad-1", "bad-2"])
    for key in ("bad-1", "bad-2"):
        ledger.mark_failed(ORDER, key, "500")
    clock.advance(30)  # both due again
    ledger.enqueue(ORDER, ["new"])
    assert ledger.pending(ORDER, limit=1) == ["new"]  # never-attempted first


def test_an_outage_charges_nothing_pauses_the_flow_and_stops_the_run(ledger, clock, probe):
    run = fates(ledger, clock, probe)
    ledger.enqueue(ORDER, ["1", "2", "3", "4"])
    probe.down = True
    settle(run, "1", transient())
    settle(run, "2", OutcomeUnknownError(BP, "reply lost", status=502))
    with pytest.raises(SystemicOutage) as stopped:
        settle(run, "3", _deferred_by(transient()))  # a create unconfirmed after its retries counts too
    assert stopped.value.systems == [BP] and stopped.value.until == T0 + timedelta(seconds=5)
    assert probe.calls == 1
    for key in ("1", "2", "3"):
        record = ledger.status(ORDER, key)
        assert (record.status, record.attempts, record.next_attempt_at) == ("failed", 0, T0 + timedelta(seconds=5))
    assert ledger.status(ORDER, "4").status == "pending"  # not reached: untouched
    due, why = work_due(ledger, (ORDER,), clock.now)
    assert due == 0 and why.startswith("paused after an outage of Brightpearl")
    clock.advance(5)
    assert active_pause(ledger, clock.now) is None
    assert work_due(ledger, (ORDER,), clock.now)[0] == 4


def test_outages_in_a_row_pause_longer_up_to_20_s_and_a_success_ends_them(ledger, clock, probe):
    probe.down = True
    ledger.enqueue(ORDER, [str(n) for n in range(12)])
    pauses = []
    for _ in range(4):
        run = fates(ledger, clock, probe)
        with pytest.raises(SystemicOutage) as stopped:
            for key in ledger.pending(ORDER):
                settle(run, key, transient())
        pauses.append(stopped.value.until - clock.now)
        clock.now = stopped.value.until
    assert pauses == [timedelta(seconds=s) for s in (5, 10, 20, 20)]
    assert all(r.attempts == 0 for r in ledger.statuses(ORDER))  # an outage is never the records' fault
    probe.down = False
    run = fates(ledger, clock, probe)
    for key in ledger.pending(ORDER):
        settle(run, key)
    run.finish()
    assert ledger.counts(ORDER)["synced"] == 12 and active_pause(ledger, clock.now) is None


def test_failures_in_a_row_that_the_probe_finds_the_records_own_are_charged(ledger, clock, probe):
    run = fates(ledger, clock, probe)
    ledger.enqueue(ORDER, ["1", "2", "3"])
    outcomes = [settle(run, key, transient()) for key in ("1", "2", "3")]
    assert probe.calls == 1 and [o.fate for o in outcomes] == [RETRYING] * 3
    assert [r.attempts for r in ledger.statuses(ORDER)] == [1, 1, 1]


def test_held_failures_at_the_end_of_a_run_are_judged_by_a_probe(ledger, clock, probe):
    ledger.enqueue(ORDER, ["1"])
    run = fates(ledger, clock, probe)
    settle(run, "1", transient())
    probe.down = True
    with pytest.raises(SystemicOutage):
        run.finish()
    assert ledger.status(ORDER, "1").attempts == 0


def test_after_the_outage_every_record_is_due_within_20_s(ledger, clock, probe):
    """The target: once the faults stop, no record waits longer than 20 s (then the sensor asks)."""
    ledger.enqueue(ORDER, [str(n) for n in range(6)])
    run = fates(ledger, clock, probe)
    settle(run, "0", transient())
    settle(run, "1")  # answered: record 0 charged (5 s)
    for _ in range(3):  # records charged up to the cap
        ledger.mark_failed(ORDER, "2", "its own failure")
    probe.down = True
    with pytest.raises(SystemicOutage):
        for key in ("3", "4", "5"):
            settle(run, key, transient())
    faults_stop = clock.now
    waits = {r.nop_key: r.next_attempt_at - faults_stop for r in ledger.statuses(ORDER) if r.status == "failed"}
    assert max(waits.values()) <= timedelta(seconds=20), waits


def test_a_skip_whose_cause_may_be_temporary_is_final_only_when_re_checked(ledger, clock, probe):
    ledger.enqueue(ORDER, ["1", "2"])
    run = fates(ledger, clock, probe)
    first = run.skip(ORDER, "1", "goods-out note not found in Brightpearl", confirmed=False)
    assert first.fate == RETRYING and ledger.status(ORDER, "1").status == "failed"
    clock.advance(5)
    assert ledger.pending(ORDER) == ["2", "1"]
    second = fates(ledger, clock, probe).skip(ORDER, "1", "goods-out note not found in Brightpearl", confirmed=False)
    record = ledger.status(ORDER, "1")
    assert second.fate == "skipped" and (record.status, record.last_error) == ("skipped", "goods-out note not found in Brightpearl")
    assert run.skip(ORDER, "2", "deleted in nopCommerce (Order/GetById)", confirmed=True).fate == "skipped"


def _deferred_by(cause: BaseException) -> Deferred:
    try:
        raise Deferred("create still unconfirmed after 3 attempts") from cause
    except Deferred as error:
        return error


def test_a_held_record_is_due_when_its_holders_lease_ends(ledger, clock, probe):
    """A run killed while holding a record keeps it for the rest of its lease, no longer."""
    ledger.enqueue(ORDER, ["1"])
    lease_end = T0 + timedelta(seconds=17)
    settle(fates(ledger, clock, probe), "1", Held("order '1' is being handled by run-dead", until=lease_end))
    assert ledger.status(ORDER, "1").next_attempt_at == lease_end
    clock.now = lease_end
    assert ledger.pending(ORDER) == ["1"]


def test_work_for_several_records_that_fails_as_a_whole_charges_each_unless_it_is_an_outage(ledger, clock, probe):
    run = fates(ledger, clock, probe)
    run.failed_together(RecordKind.STOCK_RETRY, ["11", "12"], transient())  # Brightpearl answers the probe
    assert [r.attempts for r in ledger.statuses(RecordKind.STOCK_RETRY)] == [1, 1]
    probe.down = True
    with pytest.raises(SystemicOutage):
        fates(ledger, clock, probe).failed_together(RecordKind.STOCK_RETRY, ["11", "12"], transient())
    assert [r.attempts for r in ledger.statuses(RecordKind.STOCK_RETRY)] == [1, 1]  # the outage charged nothing
    fates(ledger, clock, probe).failed_together(RecordKind.STOCK_RETRY, ["13"], KeyError("a bug"))
    assert ledger.status(RecordKind.STOCK_RETRY, "13").attempts == 1  # not a probe question: charged


def test_a_read_the_run_needs_pauses_the_flow_on_an_outage_and_otherwise_stands(ledger, clock, probe):
    with pytest.raises(TransientError):
        fates(ledger, clock, probe).read_failed(transient())
    assert active_pause(ledger, clock.now) is None
    probe.down = True
    with pytest.raises(SystemicOutage):
        fates(ledger, clock, probe).read_failed(transient())
    assert active_pause(ledger, clock.now).until == T0 + timedelta(seconds=5)
