"""Fresh PostgreSQL databases for a test (ledger and production tests): 127.0.0.1:5432, trust auth,
user `postgres` or `root`; no server skips locally with the reason, and fails under CI=true."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_USERS = ("postgres", "root")
PG_ADMIN_DATABASES = ("postgres", "test")


@dataclass(frozen=True)
class Database:
    user: str
    name: str

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{self.user}@{PG_HOST}:{PG_PORT}/{self.name}"

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.url, poolclass=sa.pool.NullPool)


def admin_engine() -> tuple[sa.Engine, str]:
    """An autocommit engine on an existing database and its user; skips (fails under CI) without a server."""
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
            except sa.exc.OperationalError as error:
                errors.append(f"{user}@{database}: {str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__}")
                engine.dispose()
    message = f"PostgreSQL not reachable on {PG_HOST}:{PG_PORT} ({'; '.join(errors)})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " - CI=true requires PostgreSQL", pytrace=False)
    pytest.skip(message)


@contextmanager
def fresh_databases(*purposes: str) -> Iterator[list[Database]]:
    """One new, empty database per purpose (`<purpose>_test_<random>`), dropped on exit."""
    admin, user = admin_engine()
    databases = [Database(user, f"{purpose}_test_{uuid.uuid4().hex[:12]}") for purpose in purposes]
    try:
        with admin.connect() as conn:
            for database in databases:
                conn.execute(sa.text(f'CREATE DATABASE "{database.name}"'))
        yield databases
    finally:
        with admin.connect() as conn:
            for database in databases:
                conn.execute(
                    sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"),
                    {"name": database.name},
                )
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database.name}"'))
        admin.dispose()
