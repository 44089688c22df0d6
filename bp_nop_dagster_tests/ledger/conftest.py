"""Every ledger test runs twice: on a SQLite file and on a fresh PostgreSQL database.

PostgreSQL: a database `ledger_test_<random>` is created on 127.0.0.1:5432 (trust auth, user
`postgres` or `root`) and dropped afterwards. Without a reachable server the PostgreSQL half is
skipped, except under CI=true, where it fails (CI always has one)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from bp_nop_dagster.ledger import Ledger

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_USERS = ("postgres", "root")
PG_ADMIN_DATABASES = ("postgres", "test")


def _admin_engine() -> tuple[sa.Engine, str]:
    """An autocommit engine on an existing database, and the user it connects as."""
    errors = []
    for user in PG_USERS:
        for database in PG_ADMIN_DATABASES:
            engine = sa.create_engine(
                f"postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{database}",
                isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 3},
            )
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
                return engine, user
            except Exception as error:  # noqa: BLE001 - try the next combination, report them all
                errors.append(f"{user}@{database}: {type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}")
                engine.dispose()
    message = f"PostgreSQL not reachable on {PG_HOST}:{PG_PORT} ({'; '.join(errors)})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " - CI=true requires PostgreSQL", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    admin, user = _admin_engine()
    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


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
