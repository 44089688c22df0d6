"""Durable sync state: cross-reference ids, per-record sync status, write-ahead intents, dead
letters and watermarks, on SQLite or PostgreSQL (see `ledger.py` for the model, `schema.py` for
the tables and their versioned migration, `kinds.py` for the record kinds and dead-letter
reasons, `fate.py` for the retry policy, `resource.py` for the Dagster resource)."""

from bp_nop_dagster.ledger.fate import DEFAULT_POLICY, Fate, RetryPolicy
from bp_nop_dagster.ledger.kinds import DEAD_LETTER_REASONS, KINDS, DeadLetterReason, RecordKind
from bp_nop_dagster.ledger.ledger import (
    DEFAULT_LEASE_SECONDS,
    MAX_KEY_LENGTH,
    STATUSES,
    DeadLetter,
    Intent,
    IntentClaim,
    LeaseLost,
    Ledger,
    LedgerConflict,
    Link,
    RecordStatus,
    WebhookEvent,
    clean_text,
    stored_key,
)
from bp_nop_dagster.ledger.schema import SCHEMA_VERSION, LedgerSchemaError

__all__ = [
    "DEAD_LETTER_REASONS",
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_POLICY",
    "KINDS",
    "MAX_KEY_LENGTH",
    "SCHEMA_VERSION",
    "STATUSES",
    "DeadLetter",
    "DeadLetterReason",
    "Fate",
    "Intent",
    "IntentClaim",
    "LeaseLost",
    "Ledger",
    "LedgerConflict",
    "LedgerSchemaError",
    "Link",
    "RecordKind",
    "RecordStatus",
    "RetryPolicy",
    "WebhookEvent",
    "clean_text",
    "stored_key",
]
