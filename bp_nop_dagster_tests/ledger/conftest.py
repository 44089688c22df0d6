"""Every ledger test runs twice: on a SQLite file and on a fresh PostgreSQL database.

PostgreSQL: a database `ledger_test_<random>` is created on 127.0.0.1:5432 (trust auth, user
`postgres` or `root`) and dropped afterwards. Without a reachable server the PostgreSQL half is
skipped, except under CI=true, where it fails (CI always has one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster_tests.ledger.clock import Clock
from bp_nop_dagster_tests.postgres import fresh_databases


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    with fresh_databases("ledger") as (database,):
        yield database.url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """A fresh, empty database URL: SQLite file, then PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
def ledger(db_url) -> Iterator[Ledger]:
    book = Ledger(db_url)
    try:
        yield book
    finally:
        book.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(db_url, clock) -> Iterator[Ledger]:
    """A ledger on the test database driven by `clock`."""
    book = Ledger(db_url, clock=clock)
    try:
        yield book
    finally:
        book.close()
