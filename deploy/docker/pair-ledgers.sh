#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised, after create-roles-and-databases.sh
# (deploy/docker/compose.pairs.yml mounts it as pair-ledgers.sh: the entrypoint runs them by name): one ledger database per pair, `<BP_NOP_LEDGER_DB>_<pair>`,
# owned by the ledger role like the single pair's. Pair names are lower-case letters, digits and `_`
# (bp_nop_dagster/pairs.py); values are passed as psql variables, never spliced.
set -eu
for pair in $BP_NOP_LEDGER_PAIRS; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v ledger_user="$BP_NOP_LEDGER_USERNAME" -v pair_db="${BP_NOP_LEDGER_DB}_${pair}" <<'SQL'
CREATE DATABASE :"pair_db" OWNER :"ledger_user";
REVOKE ALL ON DATABASE :"pair_db" FROM PUBLIC;
\connect :"pair_db"
ALTER SCHEMA public OWNER TO :"ledger_user";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
done
