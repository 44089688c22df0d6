"""One outage pause per system, shared by every flow (sync/fate.py), on a ledger with a fake clock.

The rule under test (README, "Failed records"): one ledger is one pair, so one Brightpearl account;
the pause after an outage belongs to the system that is down. Whichever flow's probe finds it
down, every flow honours it: its sensors' `work_due` asks for no run, and a run already going
stops before its next record (it reads the pauses at most once per second) without charging any
record. The 5 s / 10 s / 20 s doubling counts the system's outages in a row, whichever flow met them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger import RecordKind
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sync.fate import BRIGHTPEARL, NOPCOMMERCE, SYSTEMS, Fates, SystemicOutage, active_pause, work_due
from bp_nop_dagster.transport.errors import TransientError
from bp_nop_dagster_tests.ledger.clock import T0

ORDER, NOTE, CUSTOMER = RecordKind.ORDER, RecordKind.GOODS_OUT_NOTE, RecordKind.CUSTOMER


class Probe:
    """A system's probe: answers unless `down`."""

    def __init__(self, system: str) -> None:
        self.system, self.down = system, False

    def __call__(self) -> None:
        if self.down:
            raise TransientError(self.system, "service unavailable", status=503)


@pytest.fixture
def bp() -> Probe:
    return Probe(BRIGHTPEARL)


@pytest.fixture
def nop() -> Probe:
    return Probe(NOPCOMMERCE)


def run_of(flow: str, ledger, clock, *probes: Probe) -> Fates:
    return Fates(ledger, flow=flow, probes={p.system: p for p in probes}, clock=clock)


def settle(run: Fates, kind: str, key: str, error: BaseException | None = None):
    with run.settle(kind, key) as outcome:
        if error is not None:
            raise error
        run.ledger.mark_synced(kind, key)
    return outcome


def brightpearl_outage_found_by_fulfilment(ledger, clock, bp, nop) -> SystemicOutage:
    bp.down = True
    ledger.enqueue(NOTE, ["n1", "n2", "n3"])
    fulfilment = run_of("fulfilment", ledger, clock, bp, nop)
    with pytest.raises(SystemicOutage) as stopped:
        for key in ("n1", "n2", "n3"):
            settle(fulfilment, NOTE, key, TransientError(BRIGHTPEARL, "service unavailable", status=503))
    return stopped.value


def test_the_system_names_are_the_clients_own():
    """The pause is keyed by `ApiError.system`, the names the clients give their errors and probes."""
    assert (BrightpearlClient.system, NopCommerceClient.system) == (BRIGHTPEARL, NOPCOMMERCE) == SYSTEMS


def test_a_pause_one_flow_found_stops_every_other_flows_sensor(ledger, clock, bp, nop):
    ledger.enqueue(ORDER, ["1", "2"])
    ledger.enqueue(CUSTOMER, ["c1"])
    assert work_due(ledger, (ORDER,), clock.now)[0] == 2
    stopped = brightpearl_outage_found_by_fulfilment(ledger, clock, bp, nop)
    assert stopped.until == T0 + timedelta(seconds=5)
    for kinds in ((ORDER,), (CUSTOMER,), (NOTE,)):
        due, why = work_due(ledger, kinds, clock.now)
        assert due == 0 and "Brightpearl" in why and "fulfilment" in why, (kinds, why)
    assert active_pause(ledger, clock.now).found_by == "fulfilment"
    assert active_pause(ledger, clock.now, systems=(NOPCOMMERCE,)) is None  # a flow calling only the shop may run
    clock.advance(5)
    assert work_due(ledger, (ORDER,), clock.now)[0] == 2


def test_a_running_run_of_another_flow_stops_before_its_next_record_and_charges_nothing(ledger, clock, bp, nop):
    ledger.enqueue(ORDER, ["1", "2", "3"])
    orders = run_of("orders", ledger, clock, bp, nop)
    settle(orders, ORDER, "1")  # the order run is going
    held = settle(orders, ORDER, "2", TransientError(BRIGHTPEARL, "service unavailable", status=503))
    clock.advance(1)  # the order run reads the pauses at most once per second
    stopped_by_other = brightpearl_outage_found_by_fulfilment(ledger, clock, bp, nop)
    bp.down = False  # whatever Brightpearl does now, the order run must not try record 3
    tried = []
    with pytest.raises(SystemicOutage) as stopped:
        with orders.settle(ORDER, "3"):
            tried.append("3")
    assert tried == [] and stopped.value.until == stopped_by_other.until and stopped.value.systems == [BRIGHTPEARL]
    assert "fulfilment" in str(stopped.value)
    record_2, record_3 = ledger.status(ORDER, "2"), ledger.status(ORDER, "3")
    assert (held.fate, record_2.attempts, record_2.next_attempt_at) == ("postponed", 0, stopped_by_other.until)
    assert (record_3.status, record_3.attempts) == ("pending", 0)


def test_a_run_starting_during_the_pause_reads_nothing(ledger, clock, bp, nop):
    """`mapping_of` checks the pause before the run's first reads (the mapping check)."""
    from bp_nop_dagster.mapping.config import load_mapping_config
    from bp_nop_dagster.sync.fate import mapping_of

    brightpearl_outage_found_by_fulfilment(ledger, clock, bp, nop)
    reads = []
    with pytest.raises(SystemicOutage):
        mapping_of(lambda: reads.append("reference data") or load_mapping_config(), run_of("refunds", ledger, clock, bp, nop))
    assert reads == []


def test_outages_in_a_row_double_the_systems_pause_whichever_flow_meets_them(ledger, clock, bp, nop):
    first = brightpearl_outage_found_by_fulfilment(ledger, clock, bp, nop)
    clock.now = first.until
    ledger.enqueue(ORDER, ["1", "2", "3"])
    orders = run_of("orders", ledger, clock, bp, nop)
    with pytest.raises(SystemicOutage) as second:
        for key in ("1", "2", "3"):
            settle(orders, ORDER, key, TransientError(BRIGHTPEARL, "service unavailable", status=503))
    assert (first.until - T0, second.value.until - clock.now) == (timedelta(seconds=5), timedelta(seconds=10))


def test_a_successful_run_clears_an_ended_pause_but_not_one_another_flow_just_wrote(ledger, clock, bp, nop):
    first = brightpearl_outage_found_by_fulfilment(ledger, clock, bp, nop)
    clock.now = first.until
    ledger.enqueue(ORDER, ["1"])
    orders = run_of("orders", ledger, clock, bp, nop)
    settle(orders, ORDER, "1")
    again = brightpearl_outage_found_by_fulfilment(ledger, clock, bp, nop)  # meanwhile, fulfilment meets it again
    orders.finish()
    assert active_pause(ledger, clock.now).until == again.until  # still paused for every flow
    clock.now = again.until
    ledger.enqueue(ORDER, ["2"])
    orders = run_of("orders", ledger, clock, bp, nop)
    settle(orders, ORDER, "2")
    orders.finish()
    bp.down = True
    ledger.enqueue(NOTE, ["n4", "n5", "n6"])
    with pytest.raises(SystemicOutage) as fresh:
        fulfilment = run_of("fulfilment", ledger, clock, bp, nop)
        for key in ("n4", "n5", "n6"):
            settle(fulfilment, NOTE, key, TransientError(BRIGHTPEARL, "service unavailable", status=503))
    assert fresh.value.until - clock.now == timedelta(seconds=5)  # the success ended the run of outages


def test_a_second_flow_meeting_the_same_outage_keeps_the_pause_already_written(ledger, clock, bp, nop):
    """Two runs going when the outage starts: the later finder's probe does not count a second
    outage in a row (that would double the pause for one outage)."""
    ledger.enqueue(ORDER, ["1", "2", "3"])
    orders = run_of("orders", ledger, clock, bp, nop)
    down = TransientError(BRIGHTPEARL, "service unavailable", status=503)
    settle(orders, ORDER, "1", down)
    settle(orders, ORDER, "2", down)
    first = brightpearl_outage_found_by_fulfilment(ledger, clock, bp, nop)
    with pytest.raises(SystemicOutage) as second:
        settle(orders, ORDER, "3", down)  # within the second: its third failure is judged by its own probe
    assert second.value.until == first.until == T0 + timedelta(seconds=5)
    assert active_pause(ledger, clock.now).until == first.until
