"""Durable sync state: cross-reference ids, per-record sync status, write-ahead intents, dead
letters and watermarks, on SQLite or PostgreSQL (see `ledger.py` for the model, `schema.py` for
the tables and their versioned migration, `resource.py` for the Dagster resource)."""

from bp_nop_dagster.ledger.ledger import (
    DEAD_LETTER_REASONS,
    KINDS,
    STATUSES,
    DeadLetter,
    Intent,
    IntentClaim,
    Ledger,
    LedgerConflict,
    Link,
    RecordStatus,
)
from bp_nop_dagster.ledger.schema import SCHEMA_VERSION, LedgerSchemaError

__all__ = [
    "DEAD_LETTER_REASONS",
    "KINDS",
    "SCHEMA_VERSION",
    "STATUSES",
    "DeadLetter",
    "Intent",
    "IntentClaim",
    "Ledger",
    "LedgerConflict",
    "LedgerSchemaError",
    "Link",
    "RecordStatus",
]
