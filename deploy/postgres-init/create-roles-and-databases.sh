#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d), as the
# superuser (POSTGRES_USER), which no other service ever uses. Two least-privilege login roles,
# each owning its own database and nothing else:
#   DAGSTER_PG_USERNAME      owns DAGSTER_PG_DB      (runs, events, schedules: webserver, daemon, code server)
#   BP_NOP_LEDGER_USERNAME   owns BP_NOP_LEDGER_DB   (the ledger: the code server's runs only)
# Neither may create roles or databases, and neither can connect to the other's database.
# Values are passed as psql variables (:'literal', :"identifier"): quoted by psql, never spliced.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v dagster_user="$DAGSTER_PG_USERNAME" -v dagster_password="$DAGSTER_PG_PASSWORD" -v dagster_db="$DAGSTER_PG_DB" \
  -v ledger_user="$BP_NOP_LEDGER_USERNAME" -v ledger_password="$BP_NOP_LEDGER_PASSWORD" -v ledger_db="$BP_NOP_LEDGER_DB" \
  -v admin_db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"dagster_user" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION PASSWORD :'dagster_password';
CREATE ROLE :"ledger_user" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION PASSWORD :'ledger_password';
CREATE DATABASE :"dagster_db" OWNER :"dagster_user";
CREATE DATABASE :"ledger_db" OWNER :"ledger_user";
REVOKE ALL ON DATABASE :"dagster_db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"ledger_db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"admin_db" FROM PUBLIC;
-- Each role owns its database's public schema too (PostgreSQL < 15, or a template whose public
-- schema the superuser owns, would otherwise leave the owner unable to create its tables).
\connect :"dagster_db"
ALTER SCHEMA public OWNER TO :"dagster_user";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
\connect :"ledger_db"
ALTER SCHEMA public OWNER TO :"ledger_user";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
