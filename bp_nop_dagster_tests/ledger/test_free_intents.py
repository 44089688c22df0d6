"""`Ledger.free_intents`: the open intents a run may look up now (DESIGN principle 1, the bulk
lookup of sync/orders.py). Rule: an intent is free for `owner` when its lease has ended or
`owner` holds it; another run's live lease keeps it out; closed intents are gone."""

from __future__ import annotations

from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster_tests.ledger.clock import Clock


def test_free_intents_are_those_whose_lease_ended_or_that_the_owner_holds():
    clock = Clock()
    with Ledger("sqlite://", clock=clock) as ledger:
        ledger.begin_intent("order", "1", owner="run-a", lease_seconds=60)  # lapses below
        clock.advance(30)
        ledger.begin_intent("order", "2", owner="run-b", lease_seconds=60)  # live another's: not free
        ledger.begin_intent("order", "3", owner="run-c", lease_seconds=60)  # held by the asking run
        ledger.begin_intent("order", "4", owner="run-a", lease_seconds=60)
        ledger.release_intent("order", "4", "run-a")  # released: free at once
        ledger.begin_intent("order", "5", owner="run-a", lease_seconds=60)
        ledger.complete_intent("order", "5", 55, owner="run-a")  # closed: not an intent any more
        ledger.begin_intent("payment", "1:RECEIPT", owner="run-a", lease_seconds=0)  # another kind
        clock.advance(31)  # "1" has lapsed (61 s), "2" has 29 s to go
        assert [i.nop_key for i in ledger.free_intents("order", "run-c")] == ["1", "3", "4"]
        assert [i.nop_key for i in ledger.free_intents("payment", "run-c")] == ["1:RECEIPT"]
        clock.advance(30)
        assert [i.nop_key for i in ledger.free_intents("order", "run-x")] == ["1", "2", "3", "4"]
