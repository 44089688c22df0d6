"""The mapping check against the Brightpearl account's reference data, remembered across runs.

Each run checks that the ids and codes the mapping names exist in the account (order statuses,
channels, warehouses, price lists, tax codes, shipping methods: up to 6 list reads). Runs are
separate processes, so a passed check is kept in the ledger (one ledger is one pair, so one
account): the flow, a digest of the mapping and the reference sets it was checked against, and
when. A run of that flow with the same mapping within the TTL (`SyncSettings.reference_check_ttl_seconds`,
default 10 minutes) skips the reads. A failed check is never kept (it fails every run until the
mapping or the account is fixed).

Reference data can change in the account between checks (a warehouse or channel deleted). Then a
write naming it is refused; a Brightpearl refusal that names reference data (`names_reference_data`)
forgets every kept check, so the next run of every flow reads the account again (`Fates` does
this when it dead-letters such a record). The TTL bounds how long a change nothing wrote against
goes unseen.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta

from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.mapping.config import MappingConfig
from bp_nop_dagster.transport.errors import ValidationError

CHECKS_KEY = "reference_check"
DEFAULT_TTL = timedelta(minutes=10)
# The reference data the check reads, as Brightpearl's refusals name it.
_REFERENCE_WORDS = re.compile(r"order status|channel|warehouse|price ?list|tax code|shipping method", re.IGNORECASE)


def mapping_digest(mapping: MappingConfig, references: tuple[str, ...]) -> str:
    """What a kept check is valid for: the mapping's content and the reference sets checked."""
    return hashlib.sha256(f"{mapping.model_dump_json()}|{','.join(references)}".encode()).hexdigest()


def _checks(ledger: Ledger) -> dict:
    raw = ledger.get_watermark(CHECKS_KEY)
    return json.loads(raw) if raw else {}


def checked_recently(ledger: Ledger, flow: str, digest: str, now: datetime, ttl: timedelta) -> bool:
    """Whether `flow`'s check of the mapping `digest` passed less than `ttl` before `now`."""
    kept = _checks(ledger).get(flow)
    if not kept or kept.get("digest") != digest:
        return False
    checked_at = datetime.fromisoformat(kept["checked_at"])
    return checked_at <= now < checked_at + ttl


def remember(ledger: Ledger, flow: str, digest: str, now: datetime) -> None:
    """Keep `flow`'s passed check of the mapping `digest`, made at `now`."""
    checks = _checks(ledger)
    checks[flow] = {"digest": digest, "checked_at": now.isoformat()}
    ledger.set_watermark(CHECKS_KEY, json.dumps(checks, sort_keys=True))


def forget(ledger: Ledger) -> None:
    """Forget every kept check: the next run of each flow reads the account's reference data."""
    if _checks(ledger):
        ledger.set_watermark(CHECKS_KEY, "{}")


def names_reference_data(error: ValidationError) -> bool:
    """Whether a refusal names reference data the check reads (a status, channel, warehouse, price
    list, tax code or shipping method that does not exist), so kept checks may be stale."""
    return bool(_REFERENCE_WORDS.search(error.server_message or ""))
