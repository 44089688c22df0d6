"""Fixtures shared by the flow tests: a fake clock and an in-memory ledger that reads it (a module
that needs a ledger on disk defines its own `ledger`)."""

import pytest

from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster_tests.ledger.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(clock):
    with Ledger("sqlite://", clock=clock) as book:
        yield book
