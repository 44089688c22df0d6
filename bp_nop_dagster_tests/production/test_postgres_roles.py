"""`deploy/postgres-init/` run for real against the test PostgreSQL server, as the postgres image's
entrypoint runs it (issue 12, E): the Dagster instance and the ledger each get a login role that
is not a superuser, cannot create roles or databases, owns its own database, can build its schema
there, and cannot even connect to the other's database. Every name is unique to the test and
dropped afterwards (roles are cluster-wide); the script's admin database is a fresh one too, since
the script revokes PUBLIC's access to it."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from bp_nop_dagster_tests.postgres import PG_HOST, PG_PORT, admin_engine

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "postgres-init" / "create-roles-and-databases.sh"


def connect(user: str, database: str) -> sa.Engine:
    return sa.create_engine(f"postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{database}", poolclass=sa.pool.NullPool)


@pytest.fixture
def initialised():
    admin, superuser = admin_engine()
    suffix = uuid.uuid4().hex[:10]
    names = {
        "POSTGRES_USER": superuser, "POSTGRES_DB": f"admin_{suffix}",
        "DAGSTER_PG_USERNAME": f"dagster_{suffix}", "DAGSTER_PG_PASSWORD": "it's \"quoted\"; DROP ROLE x; --",
        "DAGSTER_PG_DB": f"dagster_{suffix}",
        "BP_NOP_LEDGER_USERNAME": f"ledger_{suffix}", "BP_NOP_LEDGER_PASSWORD": "0123456789abcdefLedger",
        "BP_NOP_LEDGER_DB": f"ledger_{suffix}",
    }
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{names["POSTGRES_DB"]}"'))
    try:
        result = subprocess.run(["sh", str(SCRIPT)], capture_output=True, text=True, timeout=60,
                                env={**os.environ, **names, "PGHOST": PG_HOST, "PGPORT": str(PG_PORT)})
        assert result.returncode == 0, result.stderr
        yield names
    finally:
        with admin.connect() as conn:
            for key in ("DAGSTER_PG_DB", "BP_NOP_LEDGER_DB", "POSTGRES_DB"):
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                             {"d": names[key]})
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{names[key]}"'))
            for key in ("DAGSTER_PG_USERNAME", "BP_NOP_LEDGER_USERNAME"):
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{names[key]}"'))
        admin.dispose()


def test_each_store_gets_its_own_least_privilege_role(initialised):
    admin, _ = admin_engine()
    pairs = [("DAGSTER_PG_USERNAME", "DAGSTER_PG_DB"), ("BP_NOP_LEDGER_USERNAME", "BP_NOP_LEDGER_DB")]
    with admin.connect() as conn:
        for role_key, db_key in pairs:
            role = conn.execute(sa.text("SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, rolpassword IS NOT NULL "
                                        "FROM pg_authid WHERE rolname = :r"), {"r": initialised[role_key]}).one()
            assert tuple(role) == (False, False, False, True, True), role_key
            owner = conn.execute(sa.text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :d"), {"d": initialised[db_key]}).scalar()
            assert owner == initialised[role_key]
    admin.dispose()
    for (role_key, db_key), (_, other_db) in zip(pairs, reversed(pairs), strict=True):
        with connect(initialised[role_key], initialised[db_key]).connect() as conn:  # its own: schema and data
            conn.execute(sa.text("CREATE TABLE probe (id int)"))
            conn.execute(sa.text("INSERT INTO probe VALUES (1)"))
            conn.commit()
        for forbidden in (other_db, "POSTGRES_DB"):
            with pytest.raises(sa.exc.OperationalError, match="permission denied for database"):
                connect(initialised[role_key], initialised[forbidden]).connect().close()
