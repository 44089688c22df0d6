#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d): the
# ledger gets its own database on the same server as the Dagster instance, owned by the same user.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -c "CREATE DATABASE \"$BP_NOP_LEDGER_DB\" OWNER \"$POSTGRES_USER\""
