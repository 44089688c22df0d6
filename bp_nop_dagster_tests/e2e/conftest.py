"""The fault-and-crash suite's shared fixture: a new PostgreSQL ledger per test."""

from __future__ import annotations

import pytest

from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster_tests.postgres import fresh_databases


@pytest.fixture
def pg_ledger():
    with fresh_databases("ledger") as (database,), Ledger(database.url) as ledger:
        yield database.url, ledger
