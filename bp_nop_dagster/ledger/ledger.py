"""The ledger: the integration's durable memory (DESIGN principles 1, 2 and 9).

What lives here, and only here (nothing is remembered in memory between runs):

- **cross references** (`links`): nopCommerce key -> Brightpearl id, per kind;
- **per-record sync status** (`records`): pending, failed (due again at `next_attempt_at`),
  synced, skipped (with a reason) or dead-lettered (with a typed reason); `mark_failed` applies
  the one retry policy (`fate.py`): backoff, then the dead-letter queue;
- **write-ahead intents** for creates: recorded before a create is sent, closed in the same
  transaction that stores the new id; an intent found open on a retry means "outcome unknown:
  look the record up by its natural key before creating". Its owner holds a lease, renewed while
  it works and ended when it leaves the record, so a run that gave up blocks nobody;
- **dead letters**: records the flows will not retry by themselves, with a typed reason, the
  server's error code and message and a secret-free payload, until replayed;
- **watermarks**: sensor and sweep positions;
- **webhook events** (`webhook_events`): the local queue of Brightpearl webhook events, written by
  the receiver before it answers, read by the webhook sensors from a cursor (the row id).

Keys: `kind` is a `RecordKind` (`kinds.py`; anything else is refused) and `nop_key` is a string:
the order id, the normalised email, `"<order id>:<paymentType>"`, the SKU. Keys are stored in the
form `stored_key` gives them (NUL characters removed, keys over 255 characters shortened with a
hash), so any key can be stored and looked up. Every other text the ledger stores has its NUL
characters removed too (PostgreSQL refuses them).

Concurrency: every decision that must hold across threads and processes rests on a unique
constraint or a conditional UPDATE inside one short transaction, never on read-then-write.
SQLite runs in WAL mode with a 30 s busy timeout and every write transaction starts with
`BEGIN IMMEDIATE` (writers queue up instead of failing to upgrade a read lock); PostgreSQL runs
READ COMMITTED with `pool_pre_ping`.

Clock: timestamps (and intent leases) come from this process's clock, in UTC. Leases across
machines therefore assume clocks within a few seconds of each other, far below any sane lease.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from bp_nop_dagster.ledger import schema as s
from bp_nop_dagster.ledger.fate import DEFAULT_POLICY, Fate, RetryPolicy
from bp_nop_dagster.ledger.kinds import DEAD_LETTER_REASONS, KINDS, DeadLetterReason, RecordKind

STATUSES = s.STATUSES
#: Longest key (and error code) the ledger's columns hold; `stored_key` shortens longer keys.
MAX_KEY_LENGTH = 255
_HASHED_KEY_PREFIX = MAX_KEY_LENGTH - 1 - 64  # kept characters, then "#" and 64 hex digits

#: An intent's lease when the caller names none: `WriteAhead` renews it every third of it while
#: its owner works, so it only bounds how long a killed owner blocks the record: 30 s, so that
#: after a kill -9 every record settles within the 60 s target (`sync/fate.py`).
DEFAULT_LEASE_SECONDS = 30.0

_CHUNK = 500  # keys per IN (...) list: far below SQLite's and PostgreSQL's parameter limits
_BUSY_TIMEOUT_S = 30
_CLAIM_ROUNDS = 20


class LedgerConflict(Exception):
    """A link would contradict one already recorded: the same nopCommerce record with another
    Brightpearl id, or the same Brightpearl id for another nopCommerce record."""


class LeaseLost(Exception):
    """The caller's write-ahead intent was taken over by another owner (its lease had expired):
    the caller must not record an outcome; the new owner settles the record."""


# ------------------------------------------------------------------------------ value objects
@dataclass(frozen=True)
class Link:
    kind: str
    nop_key: str
    bp_id: int
    needs_review: bool
    created_at: datetime


@dataclass(frozen=True)
class RecordStatus:
    """Sync status of one source record. `last_error` holds the last error message, or the
    reason of a skip; `attempts` counts failed attempts (failures and dead-letterings) since the
    record last synced; a failed record is due again at `next_attempt_at`."""

    kind: str
    nop_key: str
    status: str
    attempts: int
    last_error: str | None
    needs_review: bool
    bp_id: int | None
    updated_at: datetime
    first_seen: datetime
    source_time: datetime | None = None
    next_attempt_at: datetime | None = None  # failed records only: when the record is due again


@dataclass(frozen=True)
class Intent:
    """An open write-ahead intent: `owner` may be creating the record until `lease_until`.
    `attempts` counts how often the intent was acquired (1 = never taken over)."""

    id: int
    kind: str
    nop_key: str
    owner: str
    lease_until: datetime
    created_at: datetime
    attempts: int


@dataclass(frozen=True)
class IntentClaim:
    """Result of `begin_intent`. acquired: the caller may create (after a natural-key lookup
    when previous_attempt). Not acquired: `owner` holds a live lease on it right now."""

    acquired: bool
    previous_attempt: bool
    owner: str


@dataclass(frozen=True)
class DeadLetter:
    id: int
    kind: str
    nop_key: str
    reason: str
    error_code: str | None
    message: str
    payload: dict
    first_seen: datetime
    last_seen: datetime
    attempts: int
    released_at: datetime | None


# ------------------------------------------------------------------------------------ helpers
@dataclass(frozen=True)
class WebhookEvent:
    """One resource id of one Brightpearl webhook event, as received (`id` orders them)."""

    id: int
    event: str
    resource_id: int
    raised_on: str
    received_at: datetime


def clean_text(text: str) -> str:
    """`text` as both databases store it: NUL characters removed (PostgreSQL refuses them in
    text) and lone surrogates (undecodable escapes in a JSON reply) replaced by "?" (neither
    driver can encode them)."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def stored_key(nop_key: str) -> str:
    """The form of a key the ledger stores and looks up, used for every key column.

    `clean_text(nop_key)`; when that is longer than 255 characters (the column width), its first
    190 characters, "#" and the 64 hex digits of its SHA-256, so the same long key always maps to
    the same row and two long keys to two rows (short of a SHA-256 collision). Idempotent: a
    stored key maps to itself, so keys read back from the ledger address the same rows."""
    if not isinstance(nop_key, str):
        raise ValueError(f"nop_key must be a non-empty string, not {nop_key!r}")
    key = clean_text(nop_key)
    if not key:
        raise ValueError(f"nop_key must be a non-empty string, not {nop_key!r}")
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return f"{key[:_HASHED_KEY_PREFIX]}#{hashlib.sha256(key.encode('utf-8')).hexdigest()}"


def _check_kind(kind: str) -> str:
    try:
        return RecordKind(kind).value
    except ValueError:
        raise ValueError(f"kind must be a RecordKind ({', '.join(KINDS)}), not {kind!r}") from None


def _keys(nop_keys: Iterable[str]) -> list[str]:
    """The stored keys in first-seen order, without duplicates."""
    if isinstance(nop_keys, str):
        raise TypeError("pass an iterable of keys, not one string")
    return list(dict.fromkeys(stored_key(k) for k in nop_keys))


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_reason(reason: str) -> str:
    try:
        return DeadLetterReason(reason).value
    except ValueError:
        raise ValueError(f"dead-letter reason must be a DeadLetterReason ({', '.join(DEAD_LETTER_REASONS)}), not {reason!r}") from None


def _json_dumps(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def _clean_json(value: Any) -> Any:
    """A JSON value with `clean_text` applied to every string in it (keys included)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    return value


def _payload(payload: dict) -> dict:
    """A dead letter's payload as it will be stored; fails here, not at commit, on what cannot."""
    if not isinstance(payload, dict):
        raise TypeError("payload must be a dict")
    return _clean_json(json.loads(_json_dumps(payload)))


def _error_code(code: str | None) -> str | None:
    return None if code is None else clean_text(str(code))[:MAX_KEY_LENGTH]


def _record(row: sa.Row) -> RecordStatus:
    return RecordStatus(
        kind=row.kind, nop_key=row.nop_key, status=row.status, attempts=row.attempts, last_error=row.last_error,
        needs_review=bool(row.needs_review), bp_id=row.bp_id, updated_at=row.updated_at, first_seen=row.first_seen,
        source_time=row.source_time, next_attempt_at=row.next_attempt_at,
    )


def _dead_letter(row: sa.Row) -> DeadLetter:
    return DeadLetter(
        id=row.id, kind=row.kind, nop_key=row.nop_key, reason=row.reason, error_code=row.error_code, message=row.message,
        payload=row.payload, first_seen=row.first_seen, last_seen=row.last_seen, attempts=row.attempts, released_at=row.released_at,
    )


def _intent(row: sa.Row) -> Intent:
    return Intent(
        id=row.id, kind=row.kind, nop_key=row.nop_key, owner=row.owner, lease_until=row.lease_until,
        created_at=row.created_at, attempts=row.attempts,
    )


# ------------------------------------------------------------------------------------- ledger
class Ledger:
    """Durable sync state on SQLite or PostgreSQL (any SQLAlchemy URL of those two).

    Thread-safe: share one instance per process (an in-memory SQLite database, one shared
    connection, runs one transaction at a time). `clock` (UTC-aware `datetime` factory) exists
    for tests."""

    def __init__(self, url: str, *, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self.engine = _create_engine(url)
        self._one_at_a_time = threading.Lock() if isinstance(self.engine.pool, StaticPool) else nullcontext()
        with self._write() as conn:
            self.schema_version = s.ensure_schema(conn)

    def __repr__(self) -> str:
        return f"Ledger({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        """Close pooled connections (the instance reconnects if used again)."""
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------------- transactions
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction (SQLite: BEGIN IMMEDIATE)."""
        with self._one_at_a_time, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One read-only transaction (SQLite: deferred BEGIN, readers never block writers)."""
        with self._one_at_a_time, self.engine.connect() as conn:
            conn.execution_options(ledger_read_only=True)
            with conn.begin():
                yield conn

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the ledger clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    def _insert(self, table: sa.Table):
        """INSERT with the dialect's ON CONFLICT support."""
        return (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(table)

    # ------------------------------------------------------------- cross references
    def link(self, kind: str, nop_key: str, bp_id: int, *, needs_review: bool = False) -> None:
        """Record that `nop_key` is Brightpearl record `bp_id`. Idempotent for the same triple
        (a needs_review flag, once set, stays set); raises LedgerConflict for another bp_id, or
        when `bp_id` is already linked to another nop_key of this kind."""
        with self._write() as conn:
            self._link(conn, _check_kind(kind), stored_key(nop_key), int(bp_id), needs_review, self._now())

    def _link(self, conn: Connection, kind: str, nop_key: str, bp_id: int, needs_review: bool, now: datetime) -> None:
        l = s.links
        inserted = conn.execute(
            self._insert(l)
            .values(kind=kind, nop_key=nop_key, bp_id=bp_id, needs_review=needs_review, created_at=now)
            .on_conflict_do_nothing()
            .returning(l.c.id)
        ).first()
        if inserted is not None:
            return
        # Either constraint refused it (the other writer, if any, has committed by now).
        existing = conn.execute(sa.select(l.c.bp_id).where(l.c.kind == kind, l.c.nop_key == nop_key)).scalar_one_or_none()
        if existing is None:
            other = conn.execute(sa.select(l.c.nop_key).where(l.c.kind == kind, l.c.bp_id == bp_id)).scalar_one_or_none()
            raise LedgerConflict(f"{kind} Brightpearl id {bp_id} is already linked to nop key {other!r}, not {nop_key!r}")
        if existing != bp_id:
            raise LedgerConflict(f"{kind} {nop_key!r} is already linked to Brightpearl id {existing}, not {bp_id}")
        if needs_review:
            conn.execute(sa.update(l).where(l.c.kind == kind, l.c.nop_key == nop_key).values(needs_review=True))

    def rekey(self, kind: str, old_key: str, new_key: str) -> bool:
        """Move a link to another nopCommerce key (a customer's email, the contact's key, changed):
        True if moved; False, changing nothing, when `old_key` has no link or `new_key` has one."""
        l, kind = s.links, _check_kind(kind)
        old_key, new_key = stored_key(old_key), stored_key(new_key)
        if old_key == new_key:
            return False
        with self._write() as conn:
            if conn.execute(sa.select(l.c.id).where(l.c.kind == kind, l.c.nop_key == new_key)).first() is not None:
                return False
            return conn.execute(sa.update(l).where(l.c.kind == kind, l.c.nop_key == old_key).values(nop_key=new_key)).rowcount > 0

    def bp_id(self, kind: str, nop_key: str) -> int | None:
        with self._read() as conn:
            return conn.execute(
                sa.select(s.links.c.bp_id).where(s.links.c.kind == _check_kind(kind), s.links.c.nop_key == stored_key(nop_key))
            ).scalar_one_or_none()

    def bp_ids(self, kind: str, nop_keys: Iterable[str]) -> dict[str, int]:
        """nop_key -> bp_id for the keys that are linked, keyed as the caller spelled them
        (unlinked keys are absent)."""
        if isinstance(nop_keys, str):
            raise TypeError("pass an iterable of keys, not one string")
        kind, l = _check_kind(kind), s.links
        asked: dict[str, list[str]] = {}
        for key in nop_keys:
            asked.setdefault(stored_key(key), []).append(key)
        found: dict[str, int] = {}
        with self._read() as conn:
            for chunk in _chunks(list(asked)):
                rows = conn.execute(sa.select(l.c.nop_key, l.c.bp_id).where(l.c.kind == kind, l.c.nop_key.in_(chunk)))
                found.update({key: row.bp_id for row in rows for key in asked[row.nop_key]})
        return found

    def nop_keys(self, kind: str, bp_ids: Iterable[int]) -> dict[int, str]:
        """bp_id -> nop_key (as stored, see `stored_key`) for the Brightpearl ids that are linked
        (the reverse of `bp_ids`, for flows whose source is Brightpearl; unlinked ids are absent)."""
        kind, l = _check_kind(kind), s.links
        wanted = list(dict.fromkeys(int(i) for i in bp_ids))
        found: dict[int, str] = {}
        with self._read() as conn:
            for chunk in _chunks(wanted):
                rows = conn.execute(sa.select(l.c.bp_id, l.c.nop_key).where(l.c.kind == kind, l.c.bp_id.in_(chunk)))
                found.update({int(row.bp_id): row.nop_key for row in rows})
        return found

    def links(self, kind: str) -> list[Link]:
        l = s.links
        with self._read() as conn:
            rows = conn.execute(sa.select(l).where(l.c.kind == _check_kind(kind)).order_by(l.c.id)).all()
        return [Link(r.kind, r.nop_key, r.bp_id, bool(r.needs_review), r.created_at) for r in rows]

    # ------------------------------------------------------------- per-record status
    def enqueue(
        self, kind: str, nop_keys: Iterable[str], *, source_time: datetime | None = None, requeue: bool = False,
        reopen_skipped: bool = False,
    ) -> int:
        """Add the keys not yet known as "pending" (in the given order, so `pending` returns them
        oldest first); returns how many were new. Known records are left alone, except that with
        `requeue=True` synced and failed ones go back to pending (see `requeue`), and with
        `reopen_skipped=True` skipped ones do (the source shows the record again: the cause of
        the skip is gone, see `reopen_skipped`)."""
        kind, keys, r = _check_kind(kind), _keys(nop_keys), s.records
        if source_time is not None and source_time.tzinfo is None:
            raise ValueError("source_time must be timezone-aware")
        now = self._now()
        added = 0
        with self._write() as conn:
            for chunk in _chunks(keys):
                rows = [
                    {"kind": kind, "nop_key": k, "status": "pending", "attempts": 0, "needs_review": False,
                     "first_seen": now, "updated_at": now, "source_time": source_time}
                    for k in chunk
                ]
                result = conn.execute(self._insert(r).on_conflict_do_nothing(index_elements=["kind", "nop_key"]).returning(r.c.id), rows)
                added += len(result.all())
                if requeue:
                    self._requeue(conn, kind, chunk, now)
                if reopen_skipped:
                    self._reopen(conn, kind, chunk, now)
        return added

    def reopen_skipped(self, kind: str, nop_keys: Iterable[str]) -> int:
        """Skipped records back to pending, due at once, with a fresh attempt count; returns how
        many moved. For a sweep that sees a skipped record live again in its source (a skip is
        final only as long as its cause lasts). Other records are untouched."""
        kind, keys = _check_kind(kind), _keys(nop_keys)
        now = self._now()
        with self._write() as conn:
            return sum(self._reopen(conn, kind, chunk, now) for chunk in _chunks(keys))

    def _reopen(self, conn: Connection, kind: str, keys: Sequence[str], now: datetime) -> int:
        r = s.records
        return conn.execute(
            sa.update(r)
            .where(r.c.kind == kind, r.c.nop_key.in_(keys), r.c.status == "skipped")
            .values(status="pending", attempts=0, last_error=None, next_attempt_at=None, updated_at=now)
        ).rowcount

    def requeue(self, kind: str, nop_keys: Iterable[str]) -> int:
        """Synced or failed records back to pending, due at once (a later change was detected);
        returns how many moved. The failed attempts so far still count towards giving up.
        Unknown, pending, skipped and dead-lettered records are untouched (dead letters come
        back through `release_dead_letters`)."""
        kind, keys = _check_kind(kind), _keys(nop_keys)
        now = self._now()
        with self._write() as conn:
            return sum(self._requeue(conn, kind, chunk, now) for chunk in _chunks(keys))

    def _requeue(self, conn: Connection, kind: str, keys: Sequence[str], now: datetime) -> int:
        r = s.records
        result = conn.execute(
            sa.update(r)
            .where(r.c.kind == kind, r.c.nop_key.in_(keys), r.c.status.in_(("synced", "failed")))
            .values(status="pending", next_attempt_at=None, updated_at=now)
        )
        return result.rowcount

    def pending(self, kind: str, limit: int | None = None) -> list[str]:
        """Keys of the records that are due: pending ones first, oldest first (first seen, then
        order of enqueueing), then failed ones whose `next_attempt_at` has come, the longest
        due first. So records that keep failing never hold back newer ones, and a failed record
        waits out its backoff (`mark_failed`)."""
        kind, r = _check_kind(kind), s.records
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        now = self._now()
        due_at = sa.func.coalesce(r.c.next_attempt_at, r.c.updated_at)  # NULL: failed before v3, due
        fresh = sa.select(r.c.nop_key).where(r.c.kind == kind, r.c.status == "pending").order_by(r.c.first_seen, r.c.id)
        retry = (
            sa.select(r.c.nop_key)
            .where(r.c.kind == kind, r.c.status == "failed", due_at <= sa.literal(now, s.UTCDateTime()))
            .order_by(due_at, r.c.id)
        )
        with self._read() as conn:
            keys = list(conn.execute(fresh if limit is None else fresh.limit(limit)).scalars())
            if limit is None or len(keys) < limit:
                keys += conn.execute(retry if limit is None else retry.limit(limit - len(keys))).scalars()
        return keys

    def unsettled(self, kind: str) -> list[str]:
        """Keys of every record not settled yet: pending, or failed whether due or not (for
        callers that must account for all of them, e.g. stock held by unsynced orders)."""
        r = s.records
        query = (
            sa.select(r.c.nop_key)
            .where(r.c.kind == _check_kind(kind), r.c.status.in_(("pending", "failed")))
            .order_by(r.c.first_seen, r.c.id)
        )
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    def next_due(self, kind: str) -> datetime | None:
        """The earliest `next_attempt_at` of the failed records (past when some are due already),
        or None when none failed: a sensor asks for a run only when `pending` has work or this
        time has come."""
        r = s.records
        query = sa.select(sa.func.min(sa.func.coalesce(r.c.next_attempt_at, r.c.updated_at))).where(
            r.c.kind == _check_kind(kind), r.c.status == "failed"
        )
        with self._read() as conn:
            return conn.execute(query).scalar_one_or_none()

    def waiting(self, kind: str) -> int:
        """How many failed records wait out their backoff (not due yet), for reporting."""
        r = s.records
        query = sa.select(sa.func.count()).where(
            r.c.kind == _check_kind(kind), r.c.status == "failed", r.c.next_attempt_at > sa.literal(self._now(), s.UTCDateTime())
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def status(self, kind: str, nop_key: str) -> RecordStatus | None:
        r = s.records
        with self._read() as conn:
            row = conn.execute(sa.select(r).where(r.c.kind == _check_kind(kind), r.c.nop_key == stored_key(nop_key))).first()
        return _record(row) if row is not None else None

    def statuses(self, kind: str, nop_keys: Iterable[str] | None = None) -> list[RecordStatus]:
        """Records of a kind (all, or those of `nop_keys` that exist), oldest first."""
        kind, r = _check_kind(kind), s.records
        base = sa.select(r).where(r.c.kind == kind)
        with self._read() as conn:
            if nop_keys is None:
                rows = conn.execute(base.order_by(r.c.first_seen, r.c.id)).all()
            else:
                rows = [row for chunk in _chunks(_keys(nop_keys)) for row in conn.execute(base.where(r.c.nop_key.in_(chunk)))]
                rows.sort(key=lambda row: (row.first_seen, row.id))
        return [_record(row) for row in rows]

    def _upsert_record(self, conn: Connection, kind: str, nop_key: str, now: datetime, insert: dict, update: dict) -> sa.Row:
        """Insert the record with `insert` values, or apply `update` to the existing one; one
        statement, atomic on both databases. A status other than "failed" clears
        `next_attempt_at`. Returns (attempts,)."""
        r = s.records
        values = {"kind": kind, "nop_key": nop_key, "attempts": 0, "needs_review": False, "first_seen": now, "updated_at": now}
        values.update(insert)
        update = dict(update)
        for given in (values, update):
            if given.get("status") not in (None, "failed"):
                given["next_attempt_at"] = None
        statement = (
            self._insert(r)
            .values(**values)
            .on_conflict_do_update(index_elements=["kind", "nop_key"], set_={"updated_at": now, **update})
            .returning(r.c.attempts)
        )
        return conn.execute(statement).one()

    def mark_synced(
        self, kind: str, nop_key: str, *, bp_id: int | None = None, needs_review: bool = False, unchanged: bool = False
    ) -> None:
        """The record is in sync with Brightpearl. With `bp_id`, the link is recorded too (same
        rules as `link`, same transaction). `needs_review` is set as given. `unchanged=True`
        says nothing was written this time: a record that was already synced keeps its
        `updated_at` (so it tells when the record last changed). A success ends a run of
        failures: `attempts` goes back to 0."""
        kind, nop_key, r = _check_kind(kind), stored_key(nop_key), s.records
        now = self._now()
        with self._write() as conn:
            if bp_id is not None:
                self._link(conn, kind, nop_key, int(bp_id), needs_review, now)
            values: dict[str, Any] = {"status": "synced", "attempts": 0, "last_error": None, "needs_review": needs_review}
            if bp_id is not None:
                values["bp_id"] = int(bp_id)
            update = dict(values)
            if unchanged:
                update["updated_at"] = sa.case((r.c.status == "synced", r.c.updated_at), else_=sa.literal(now, s.UTCDateTime()))
            self._upsert_record(conn, kind, nop_key, now, insert=values, update=update)

    def mark_failed(
        self, kind: str, nop_key: str, error: str, *, policy: RetryPolicy = DEFAULT_POLICY, payload: dict | None = None
    ) -> Fate:
        """A failed attempt (transient, or not settled in this run): attempts += 1 and the error
        kept, then the policy decides, in the same transaction:

        - `policy.gives_up(attempts)`: the record is dead-lettered (reason `gave_up`, the error as
          message, `payload` as for `dead_letter`);
        - otherwise it stays "failed", due again at `now + policy.delay(attempts, key)`.

        Returns the fate. An unknown record is created as failed."""
        kind, nop_key, r = _check_kind(kind), stored_key(nop_key), s.records
        if not isinstance(policy, RetryPolicy):
            raise TypeError(f"policy must be a RetryPolicy, not {type(policy).__name__}")
        error = clean_text(str(error))
        stored_payload = _payload({} if payload is None else payload)
        now = self._now()
        with self._write() as conn:
            attempts = self._upsert_record(
                conn, kind, nop_key, now,
                insert={"status": "failed", "attempts": 1, "last_error": error},
                update={"status": "failed", "attempts": r.c.attempts + 1, "last_error": error},
            ).attempts
            this_record = sa.update(r).where(r.c.kind == kind, r.c.nop_key == nop_key)
            if policy.gives_up(attempts):
                letter_id = self._park(conn, kind, nop_key, now, DeadLetterReason.GAVE_UP.value, None, error, stored_payload)
                conn.execute(this_record.values(status="dead_lettered", next_attempt_at=None))
                return Fate(attempts=attempts, retry_at=None, dead_letter_id=letter_id)
            retry_at = now + policy.delay(attempts, nop_key)
            conn.execute(this_record.values(next_attempt_at=retry_at))
        return Fate(attempts=attempts, retry_at=retry_at)

    def postpone(self, kind: str, nop_key: str, until: datetime, note: str) -> bool:
        """Not attempted for a reason that is not the record's own (another run holds it, or
        the other system is down): due again at `until`, its attempts NOT counted, `note` kept
        as its last error. Only a record still to do (pending or failed) moves, so one settled
        meanwhile (by the run holding it) stays settled; returns whether it moved."""
        if until.tzinfo is None:
            raise ValueError("until must be timezone-aware")
        kind, nop_key, r = _check_kind(kind), stored_key(nop_key), s.records
        now = self._now()
        with self._write() as conn:
            moved = conn.execute(
                sa.update(r)
                .where(r.c.kind == kind, r.c.nop_key == nop_key, r.c.status.in_(("pending", "failed")))
                .values(status="failed", next_attempt_at=until.astimezone(UTC), last_error=clean_text(str(note)), updated_at=now)
            ).rowcount
        return moved == 1

    def mark_skipped(self, kind: str, nop_key: str, reason: str) -> None:
        """The record is deliberately not synced (e.g. deleted in nopCommerce); the reason is kept
        in `last_error`."""
        if not reason:
            raise ValueError("a skip needs a reason")
        kind, nop_key = _check_kind(kind), stored_key(nop_key)
        now = self._now()
        with self._write() as conn:
            values = {"status": "skipped", "last_error": clean_text(str(reason))}
            self._upsert_record(conn, kind, nop_key, now, insert=values, update=values)

    # ------------------------------------------------------------- write-ahead intents
    def begin_intent(self, kind: str, nop_key: str, *, owner: str, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> IntentClaim:
        """Record the intent to create `nop_key` before sending the create (DESIGN principle 1).

        - no open intent: it is inserted -> acquired, previous_attempt=False;
        - open, another owner, lease live: not acquired (`owner` says who holds it);
        - open, lease expired or same owner: taken over -> acquired, previous_attempt=True; the
          caller must look the record up by its natural key before creating.

        The lease lasts `lease_seconds` unless renewed (`renew_intent`) and ends early when its
        owner leaves the record (`release_intent`).

        Race-free across threads and processes: the insert relies on the unique (kind, nop_key)
        constraint and the takeover is a conditional UPDATE guarded by the attempts counter it
        read and by the lease still being expired, so at most one concurrent caller wins either
        way and a lease renewed meanwhile is not taken."""
        kind, nop_key = _check_kind(kind), stored_key(nop_key)
        if not owner:
            raise ValueError("an intent needs an owner")
        if lease_seconds < 0:
            raise ValueError("lease_seconds must be >= 0")
        i = s.intents
        for _ in range(_CLAIM_ROUNDS):
            now = self._now()
            lease_until = now + timedelta(seconds=lease_seconds)
            try:
                with self._write() as conn:
                    conn.execute(
                        sa.insert(i).values(kind=kind, nop_key=nop_key, owner=owner, lease_until=lease_until, created_at=now, attempts=1)
                    )
                return IntentClaim(acquired=True, previous_attempt=False, owner=owner)
            except IntegrityError:
                pass  # an intent is open: take it over, or not
            with self._write() as conn:
                row = conn.execute(sa.select(i).where(i.c.kind == kind, i.c.nop_key == nop_key)).first()
                if row is None:
                    continue  # closed in between: try inserting again
                if row.owner != owner and row.lease_until > now:
                    return IntentClaim(acquired=False, previous_attempt=False, owner=row.owner)
                taken = conn.execute(
                    sa.update(i)
                    .where(
                        i.c.id == row.id, i.c.owner == row.owner, i.c.attempts == row.attempts,
                        sa.or_(i.c.owner == owner, i.c.lease_until <= sa.literal(now, s.UTCDateTime())),
                    )
                    .values(owner=owner, lease_until=lease_until, attempts=row.attempts + 1)
                ).rowcount
                if taken == 1:
                    return IntentClaim(acquired=True, previous_attempt=True, owner=owner)
            # Someone else took it over, or the owner renewed, between our read and update: look again.
        raise RuntimeError(f"could not settle the intent for {kind} {nop_key!r} after {_CLAIM_ROUNDS} rounds")

    def renew_intent(self, kind: str, nop_key: str, owner: str, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> bool:
        """Extend `owner`'s lease to now + `lease_seconds` (the owner is still working on the
        record). False when `owner` no longer holds the intent (closed, or taken over)."""
        if lease_seconds < 0:
            raise ValueError("lease_seconds must be >= 0")
        i = s.intents
        now = self._now()
        with self._write() as conn:
            renewed = conn.execute(
                sa.update(i)
                .where(i.c.kind == _check_kind(kind), i.c.nop_key == stored_key(nop_key), i.c.owner == owner)
                .values(lease_until=now + timedelta(seconds=lease_seconds))
            ).rowcount
        return renewed == 1

    def release_intent(self, kind: str, nop_key: str, owner: str) -> bool:
        """`owner` leaves the record without an outcome (it failed, gave up for this run, or is
        unwinding): the intent stays open, so the next attempt looks the record up by its
        natural key before creating, but its lease ends now, so that attempt may start at once.
        Only the owner's live lease is ended; returns whether it was."""
        i = s.intents
        now = self._now()
        with self._write() as conn:
            released = conn.execute(
                sa.update(i)
                .where(
                    i.c.kind == _check_kind(kind), i.c.nop_key == stored_key(nop_key), i.c.owner == owner,
                    i.c.lease_until > sa.literal(now, s.UTCDateTime()),
                )
                .values(lease_until=now)
            ).rowcount
        return released == 1

    def complete_intent(
        self, kind: str, nop_key: str, bp_id: int, *, owner: str, needs_review: bool = False, synced: bool = True
    ) -> None:
        """The create succeeded (or the lookup found it): close `owner`'s intent, link and mark
        the record synced, all in one transaction. Raises LeaseLost, changing nothing, when
        another owner has taken the intent over; with no open intent at all (the record was
        found before one was needed, or its intent was closed meanwhile) it links and marks as
        usual. A LedgerConflict leaves everything as it was. `synced=False` records the link but
        leaves the record's status as it is, for a record with more steps to go (an order whose
        payments are not booked yet)."""
        kind, nop_key, i = _check_kind(kind), stored_key(nop_key), s.intents
        if not owner:
            raise ValueError("completing an intent needs its owner")
        now = self._now()
        with self._write() as conn:
            closed = conn.execute(sa.delete(i).where(i.c.kind == kind, i.c.nop_key == nop_key, i.c.owner == owner)).rowcount
            if not closed:
                holder = conn.execute(sa.select(i.c.owner).where(i.c.kind == kind, i.c.nop_key == nop_key)).scalar_one_or_none()
                if holder is not None:
                    raise LeaseLost(f"{kind} {nop_key!r}: the intent of {owner} was taken over by {holder}")
            self._link(conn, kind, nop_key, int(bp_id), needs_review, now)
            update: dict[str, Any] = {"needs_review": needs_review, "bp_id": int(bp_id)}
            if synced:
                update.update(status="synced", attempts=0, last_error=None)
            insert = {**update, "status": "synced" if synced else "pending"}
            self._upsert_record(conn, kind, nop_key, now, insert=insert, update=update)

    def abandon_intent(self, kind: str, nop_key: str, owner: str) -> None:
        """Close the intent without an outcome (nothing was created, e.g. a permanent refusal
        before sending). Only the owner's intent is closed: one taken over by another is kept."""
        i = s.intents
        with self._write() as conn:
            conn.execute(sa.delete(i).where(i.c.kind == _check_kind(kind), i.c.nop_key == stored_key(nop_key), i.c.owner == owner))

    def intent(self, kind: str, nop_key: str) -> Intent | None:
        """The record's open intent, or None."""
        i = s.intents
        with self._read() as conn:
            row = conn.execute(sa.select(i).where(i.c.kind == _check_kind(kind), i.c.nop_key == stored_key(nop_key))).first()
        return _intent(row) if row is not None else None

    def open_intents(self, kind: str | None = None) -> list[Intent]:
        i = s.intents
        query = sa.select(i).order_by(i.c.created_at, i.c.id)
        if kind is not None:
            query = query.where(i.c.kind == _check_kind(kind))
        with self._read() as conn:
            return [_intent(row) for row in conn.execute(query)]

    def free_intents(self, kind: str, owner: str) -> list[Intent]:
        """The open intents of `kind` no other run holds now (lease ended, or `owner`'s own): the
        records whose earlier create's outcome is unknown and that `owner` may look up now."""
        i = s.intents
        now = self._now()
        query = (sa.select(i).where(i.c.kind == _check_kind(kind), sa.or_(i.c.owner == owner, i.c.lease_until <= sa.literal(now, s.UTCDateTime())))
                 .order_by(i.c.created_at, i.c.id))
        with self._read() as conn:
            return [_intent(row) for row in conn.execute(query)]

    # ----------------------------------------------------------------------- dead letters
    def dead_letter(self, kind: str, nop_key: str, *, reason: str, error_code: str | None, message: str, payload: dict) -> int:
        """Park the record with a typed reason (a DeadLetterReason). One dead letter per record:
        a repeat keeps first_seen, bumps attempts and last_seen, replaces reason, code, message
        and payload and re-opens a released one. The record becomes "dead_lettered".
        `payload` must be JSON-serialisable and free of secrets. Returns the dead letter's id."""
        kind, nop_key, reason = _check_kind(kind), stored_key(nop_key), _check_reason(reason)
        stored_payload, message, r = _payload(payload), clean_text(str(message)), s.records
        now = self._now()
        with self._write() as conn:
            letter_id = self._park(conn, kind, nop_key, now, reason, _error_code(error_code), message, stored_payload)
            self._upsert_record(
                conn, kind, nop_key, now,
                insert={"status": "dead_lettered", "attempts": 1, "last_error": message},
                update={"status": "dead_lettered", "attempts": r.c.attempts + 1, "last_error": message},
            )
        return letter_id

    def _park(
        self, conn: Connection, kind: str, nop_key: str, now: datetime, reason: str, error_code: str | None, message: str, payload: dict
    ) -> int:
        """Insert or update the record's dead letter (not its status); returns its id."""
        d = s.dead_letters
        fields = {"reason": reason, "error_code": error_code, "message": message, "payload": payload, "last_seen": now, "released_at": None}
        return conn.execute(
            self._insert(d)
            .values(kind=kind, nop_key=nop_key, first_seen=now, attempts=1, **fields)
            .on_conflict_do_update(index_elements=["kind", "nop_key"], set_={**fields, "attempts": d.c.attempts + 1})
            .returning(d.c.id)
        ).scalar_one()

    def dead_letters(
        self, *, reason: str | None = None, ids: Iterable[int] | None = None, include_released: bool = False
    ) -> list[DeadLetter]:
        """Dead letters, oldest first; by default only those not yet released."""
        d = s.dead_letters
        query = sa.select(d).order_by(d.c.id)
        if reason is not None:
            query = query.where(d.c.reason == _check_reason(reason))
        if not include_released:
            query = query.where(d.c.released_at.is_(None))
        with self._read() as conn:
            if ids is None:
                return [_dead_letter(row) for row in conn.execute(query)]
            wanted = sorted({int(x) for x in ids})
            rows = [row for chunk in _chunks(wanted) for row in conn.execute(query.where(d.c.id.in_(chunk)))]
        return [_dead_letter(row) for row in sorted(rows, key=lambda row: row.id)]

    def release_dead_letters(self, ids: Iterable[int]) -> list[DeadLetter]:
        """Replay: mark the (unreleased) dead letters released and put their records back to
        pending, due at once, with a fresh attempt count; returns the released ones. Unknown or
        already released ids are ignored (compare the result with what you asked for)."""
        wanted = sorted({int(x) for x in ids})
        d, r = s.dead_letters, s.records
        now = self._now()
        released: list[DeadLetter] = []
        with self._write() as conn:
            for chunk in _chunks(wanted):
                rows = conn.execute(
                    sa.update(d).where(d.c.id.in_(chunk), d.c.released_at.is_(None)).values(released_at=now).returning(*d.c)
                ).all()
                for row in rows:
                    conn.execute(
                        sa.update(r)
                        .where(r.c.kind == row.kind, r.c.nop_key == row.nop_key, r.c.status == "dead_lettered")
                        .values(status="pending", attempts=0, last_error=None, next_attempt_at=None, updated_at=now)
                    )
                released.extend(_dead_letter(row) for row in rows)
        return sorted(released, key=lambda letter: letter.id)

    # ------------------------------------------------------------------------ watermarks
    def get_watermark(self, name: str) -> str | None:
        w = s.watermarks
        with self._read() as conn:
            return conn.execute(sa.select(w.c.value).where(w.c.name == stored_key(name))).scalar_one_or_none()

    def set_watermark(self, name: str, value: str) -> None:
        if not name:
            raise ValueError("a watermark needs a name")
        if not isinstance(value, str):
            raise TypeError("a watermark value is a string (serialise it yourself)")
        w = s.watermarks
        name, value = stored_key(name), clean_text(value)
        now = self._now()
        with self._write() as conn:
            conn.execute(
                self._insert(w)
                .values(name=name, value=value, updated_at=now)
                .on_conflict_do_update(index_elements=["name"], set_={"value": value, "updated_at": now})
            )

    # -------------------------------------------------------------------- webhook events
    def record_webhook_events(self, event: str, resource_ids: Iterable[int], raised_on: str) -> int:
        """Store one row per resource id of a received event; a row already there (the same
        event, id and raisedOn delivered again) is left alone. Returns how many were new.
        Durable when it returns: the receiver answers 200 only after this."""
        if not event or len(event) > 64:
            raise ValueError("a webhook event name is 1 to 64 characters")
        ids = sorted({int(i) for i in resource_ids})
        raised_on = clean_text(raised_on)[:64]
        if not ids:
            return 0
        w, now = s.webhook_events, self._now()
        added = 0
        with self._write() as conn:
            for chunk in _chunks(ids):
                rows = [{"event": event, "resource_id": i, "raised_on": raised_on, "received_at": now} for i in chunk]
                result = conn.execute(
                    self._insert(w).on_conflict_do_nothing(index_elements=["event", "resource_id", "raised_on"]).returning(w.c.id), rows
                )
                added += len(result.all())
        return added

    def webhook_events(self, events: Iterable[str], *, after_id: int = 0, limit: int = 10_000) -> list[WebhookEvent]:
        """Received rows of these events with an id above `after_id`, oldest first (at most `limit`)."""
        w = s.webhook_events
        with self._read() as conn:
            rows = conn.execute(
                sa.select(w).where(w.c.event.in_(list(events)), w.c.id > after_id).order_by(w.c.id).limit(limit)
            ).all()
        return [WebhookEvent(r.id, r.event, int(r.resource_id), r.raised_on, r.received_at) for r in rows]

    def purge_webhook_events(self, received_before: datetime) -> int:
        """Delete the rows received before `received_before` (retention); how many."""
        w = s.webhook_events
        with self._write() as conn:
            return conn.execute(sa.delete(w).where(w.c.received_at < received_before)).rowcount or 0

    def webhook_received(self, event: str, resource_ids: Iterable[int], *, since: datetime | None = None) -> set[int]:
        """Which of `resource_ids` a webhook of `event` announced (received at or after `since`,
        default ever): the reports' `found_by`."""
        ids = sorted({int(i) for i in resource_ids})
        w = s.webhook_events
        found: set[int] = set()
        with self._read() as conn:
            for chunk in _chunks(ids):
                query = sa.select(w.c.resource_id).where(w.c.event == event, w.c.resource_id.in_(chunk))
                if since is not None:
                    query = query.where(w.c.received_at >= since)
                found.update(int(i) for i in conn.execute(query.distinct()).scalars())
        return found

    # ------------------------------------------------------------------------- reporting
    def counts(self, kind: str) -> dict[str, int]:
        """status -> number of records, every status present (zeros included)."""
        r = s.records
        with self._read() as conn:
            rows = conn.execute(
                sa.select(r.c.status, sa.func.count()).where(r.c.kind == _check_kind(kind)).group_by(r.c.status)
            ).all()
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({status: int(n) for status, n in rows})
        return counts


# ------------------------------------------------------------------------------------ engine
def _enable_wal(cursor) -> None:
    """Switch the file to WAL (persistent, so only the very first connection changes it).
    The switch needs an exclusive lock and SQLite does not wait on the busy timeout for it, so
    processes opening a brand-new file together retry here for up to the busy timeout."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    delay = 0.01
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def _create_engine(url: str) -> Engine:
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True, json_serializer=_json_dumps)
    if backend != "sqlite":
        raise ValueError(f"the ledger runs on SQLite or PostgreSQL, not {backend!r}")
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if in_memory:
        # One shared connection, or every pooled connection would be its own empty database.
        engine = sa.create_engine(
            parsed, poolclass=StaticPool, connect_args={"check_same_thread": False}, json_serializer=_json_dumps
        )
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed, connect_args={"timeout": _BUSY_TIMEOUT_S, "check_same_thread": False}, json_serializer=_json_dumps
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # SQLAlchemy, not the sqlite3 module, emits BEGIN (see _on_begin): transactional DDL,
        # and BEGIN IMMEDIATE for writers.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_S * 1000}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                _enable_wal(cursor)
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get("ledger_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
