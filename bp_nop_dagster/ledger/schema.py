"""The ledger's tables (SQLAlchemy Core) and its tiny versioned migration.

The same schema runs on SQLite (the default, nothing to install) and PostgreSQL (production).
Every rule that keeps a second create impossible is a unique constraint here, not a check in
Python, so it holds across threads, processes and machines:

- `links`:        unique (kind, nop_key) and unique (kind, bp_id): one Brightpearl record per
                  nopCommerce record and the other way round.
- `records`:      unique (kind, nop_key): one sync status per source record.
- `intents`:      unique (kind, nop_key): at most one open write-ahead intent per record. An intent
                  is "open" while its row exists; completing or abandoning it deletes the row.
- `dead_letters`: unique (kind, nop_key): one dead letter per record, updated in place.

Versioning: `schema_version` holds one row (id = 1). A fresh database gets the current tables
and version at once; an older one is upgraded step by step (`MIGRATIONS[n]` takes version n-1 to
n), each start, inside one transaction that also holds a lock (PostgreSQL advisory lock; SQLite
`BEGIN IMMEDIATE`), so two processes starting together never migrate twice.

History:
- v1: links, records, intents, watermarks.
- v2: dead letters (typed reasons, payload, replay) and `records.source_time`.
- v3: `records.next_attempt_at`, when a failed record is due again (the retry policy's backoff).
- v4: `webhook_events`, the local queue of Brightpearl webhook events (`bp-nop webhooks serve`
  writes, the webhook sensors read): unique (event, resource_id, raised_on), so a redelivery of
  the same event (QoS 1 is at-least-once) adds no row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SCHEMA_VERSION = 4

#: Status of one source record. Every record ends as synced, skipped or dead_lettered (DESIGN 2).
STATUSES = ("pending", "failed", "synced", "skipped", "dead_lettered")

#: Advisory lock key (PostgreSQL) held while the schema is created or upgraded.
_MIGRATION_LOCK_KEY = 0x6270_6E6F_7000  # "bpnop" + 0

_ISO = "%Y-%m-%dT%H:%M:%S.%f+00:00"


class LedgerSchemaError(RuntimeError):
    """The database holds a ledger this code cannot use (newer version, or no version row)."""


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on both databases.

    PostgreSQL: `timestamp with time zone`. SQLite: a fixed-width ISO-8601 string in UTC
    (`2024-05-01T10:00:00.000000+00:00`), so string order is time order and comparisons in SQL
    (lease expiry, ordering) are correct. Naive datetimes are refused rather than guessed."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(32))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("ledger timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.strftime(_ISO) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:  # written by hand without an offset: it is UTC by convention
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _key(name: str) -> list[sa.Column]:
    return [sa.Column("kind", sa.String(32), nullable=False), sa.Column(name, sa.String(255), nullable=False)]


metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("upgraded_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("id = 1", name="ck_schema_version_single_row"),
)

links = sa.Table(
    "links",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    *_key("nop_key"),
    sa.Column("bp_id", sa.BigInteger, nullable=False),
    sa.Column("needs_review", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("kind", "nop_key", name="uq_links_kind_nop_key"),
    sa.UniqueConstraint("kind", "bp_id", name="uq_links_kind_bp_id"),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    *_key("nop_key"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("needs_review", sa.Boolean, nullable=False, default=False),
    sa.Column("bp_id", sa.BigInteger),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("source_time", UTCDateTime),  # v2
    # v3: when a failed record is due again; NULL for every other status.
    sa.Column("next_attempt_at", UTCDateTime),
    sa.UniqueConstraint("kind", "nop_key", name="uq_records_kind_nop_key"),
    sa.CheckConstraint("status IN ('pending', 'failed', 'synced', 'skipped', 'dead_lettered')", name="ck_records_status"),
    sa.Index("ix_records_kind_status_first_seen", "kind", "status", "first_seen"),
    sa.Index("ix_records_kind_status_next_attempt_at", "kind", "status", "next_attempt_at"),  # v3
)

intents = sa.Table(
    "intents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    *_key("nop_key"),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("lease_until", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # How many times the intent was acquired; also the guard of the conditional takeover UPDATE.
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.UniqueConstraint("kind", "nop_key", name="uq_intents_kind_nop_key"),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    *_key("nop_key"),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("error_code", sa.String(255)),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("released_at", UTCDateTime),
    sa.UniqueConstraint("kind", "nop_key", name="uq_dead_letters_kind_nop_key"),
    sa.Index("ix_dead_letters_reason", "reason"),
)

watermarks = sa.Table(
    "watermarks",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# v4: one row per (event, resource id, raisedOn) received from a Brightpearl webhook; `id` orders
# them as received (the webhook sensors' cursor).
webhook_events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("event", sa.String(64), nullable=False),  # the full event, e.g. product.modified.on-hand-modified
    sa.Column("resource_id", sa.BigInteger, nullable=False),
    sa.Column("raised_on", sa.String(64), nullable=False),  # ${raised-on} as sent: part of the event's identity
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("event", "resource_id", "raised_on", name="uq_webhook_events_event_resource_raised"),
    sa.Index("ix_webhook_events_event_id", "event", "id"),
    sa.Index("ix_webhook_events_received_at", "received_at"),  # the retention purge
)

LEDGER_TABLES = ("links", "records", "intents", "dead_letters", "watermarks", "webhook_events")


# ---------------------------------------------------------------------------------- migrations
def _v1_to_v2(conn: Connection) -> None:
    """Dead letters arrive; records learn the source system's timestamp."""
    conn.execute(sa.text(f"ALTER TABLE records ADD COLUMN source_time {_ddl_type(conn, UTCDateTime())}"))
    dead_letters.create(conn, checkfirst=True)


def _v2_to_v3(conn: Connection) -> None:
    """Failed records learn when they are due again. Those failed before the upgrade are due at
    once (from when they last failed), as they were under v2."""
    conn.execute(sa.text(f"ALTER TABLE records ADD COLUMN next_attempt_at {_ddl_type(conn, UTCDateTime())}"))
    conn.execute(sa.update(records).where(records.c.status == "failed").values(next_attempt_at=records.c.updated_at))
    next(index for index in records.indexes if index.name == "ix_records_kind_status_next_attempt_at").create(conn)


def _v3_to_v4(conn: Connection) -> None:
    """The webhook event queue arrives (empty: events before the upgrade were never received)."""
    webhook_events.create(conn, checkfirst=True)


#: MIGRATIONS[n] upgrades a version n-1 database to version n.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _v1_to_v2, 3: _v2_to_v3, 4: _v3_to_v4}


def _ddl_type(conn: Connection, type_: sa.types.TypeEngine) -> str:
    return type_.dialect_impl(conn.dialect).compile(dialect=conn.dialect)


def current_version(conn: Connection) -> int | None:
    """The database's schema version, or None when it has no `schema_version` table."""
    if not sa.inspect(conn).has_table("schema_version"):
        return None
    return conn.execute(sa.select(schema_version.c.version).where(schema_version.c.id == 1)).scalar_one_or_none()


def ensure_schema(conn: Connection) -> int:
    """Create or upgrade the schema inside the caller's (write) transaction; returns the version.

    The caller's transaction must already serialise concurrent starters (SQLite: BEGIN IMMEDIATE);
    on PostgreSQL an advisory transaction lock is taken here."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
    now = datetime.now(UTC)
    version = current_version(conn)
    if version is None:
        if sa.inspect(conn).has_table("schema_version"):
            raise LedgerSchemaError("the ledger's schema_version table is empty; refusing to guess the schema version")
        existing = [name for name in LEDGER_TABLES if sa.inspect(conn).has_table(name)]
        if existing:
            raise LedgerSchemaError(
                f"the database has ledger tables ({', '.join(existing)}) but no schema_version; refusing to guess the schema version"
            )
        metadata.create_all(conn)
        conn.execute(sa.insert(schema_version).values(id=1, version=SCHEMA_VERSION, upgraded_at=now))
        return SCHEMA_VERSION
    if version > SCHEMA_VERSION:
        raise LedgerSchemaError(
            f"the ledger database is at schema version {version}, newer than this code ({SCHEMA_VERSION}); upgrade bp-nop-dagster"
        )
    if version < 1:
        raise LedgerSchemaError(f"unknown ledger schema version {version}")
    for step in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[step](conn)
        conn.execute(sa.update(schema_version).where(schema_version.c.id == 1).values(version=step, upgraded_at=now))
    return SCHEMA_VERSION
