"""The dead-letter queue in the UI, with what a person should do about each letter, and the job
that replays it."""

import json

import dagster as dg
from pydantic import Field, model_validator

from bp_nop_dagster.defs.orders.assets import GROUP, OWNERS, SALES_ORDERS
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.ledger import DEAD_LETTER_REASONS
from bp_nop_dagster.quality.resolution import suggest
from bp_nop_dagster.reporting import table_metadata
from bp_nop_dagster.sync.report_table import Column, described, typed_frame
from bp_nop_dagster.defs.pairing import RUN_TAGS, asset_key

DEAD_LETTERS = asset_key("order_flow", "dead_letters")
DEAD_LETTER_COLUMNS = [
    Column("id", "int", "dead letter id (what replay_dead_letters takes in `ids`)"),
    Column("kind", "str", "what the record is: order, goods_out_note, bp_order_status, ..."),
    Column("nop_key", "str", "the record's key: the nopCommerce order id, the goods-out note id, ..."),
    Column("reason", "str", "why it stopped, one of the typed reasons (unknown_sku, invalid_address, validation_error, gave_up, ...)"),
    Column("error_code", "str", "the server's error code, where it gave one (e.g. Brightpearl's ORDC-...)"),
    Column("last_error", "str", "the last error message, in words"),
    Column("first_seen", "datetime", "when it was first dead-lettered (UTC)"),
    Column("last_seen", "datetime", "when it last failed (UTC)"),
    Column("attempts", "int", "failed attempts so far"),
    Column("action", "str", "what a person should do about it, in words (quality/resolution.py)"),
    Column("data", "str", "the data that caused it (JSON: kind, key, error code, message, SKUs, the record's payload)"),
    Column("replay_command", "str", "the command that replays it once the cause is fixed (replay_dead_letters)"),
]


@dg.asset(key=DEAD_LETTERS, deps=[SALES_ORDERS], group_name=GROUP, owners=OWNERS, kinds={"pandas"})
def dead_letters(ledger: LedgerResource) -> dg.MaterializeResult:
    """Every record the flows could not sync and will not retry by themselves: typed reason, the
    server's error code and message, first and last seen, attempts, and what to do about it
    (action in words, the data behind it, the replay command). Replay with the
    `replay_dead_letters` job once the cause is fixed (mapping, product, address)."""
    letters = ledger.get_ledger().dead_letters()
    frame = typed_frame((_row(d, suggest(d)) for d in letters), DEAD_LETTER_COLUMNS)
    by_reason = {f"reason/{reason}": dg.MetadataValue.int(int((frame["reason"] == reason).sum())) for reason in DEAD_LETTER_REASONS}
    return dg.MaterializeResult(value=frame, metadata=table_metadata(
        frame, described(DEAD_LETTER_COLUMNS), dead_letters=dg.MetadataValue.int(len(frame)), **by_reason))


def _row(letter, advice) -> dict:
    return {"id": letter.id, "kind": letter.kind, "nop_key": letter.nop_key, "reason": letter.reason,
            "error_code": letter.error_code, "last_error": letter.message, "first_seen": letter.first_seen,
            "last_seen": letter.last_seen, "attempts": letter.attempts, "action": advice.action,
            "data": json.dumps(advice.data, default=str), "replay_command": advice.replay_command}


class ReplayConfig(dg.Config):
    """Which dead letters to replay: exactly one of `all`, `reason` or `ids`."""

    all: bool = Field(default=False, description="Replay every dead letter")
    reason: str | None = Field(default=None, description=f"Replay those with this reason: {', '.join(DEAD_LETTER_REASONS)}")
    ids: list[int] = Field(default_factory=list, description="Replay these dead-letter ids")

    @model_validator(mode="after")
    def _one_selector(self) -> "ReplayConfig":
        chosen = sum([self.all, self.reason is not None, bool(self.ids)])
        if chosen != 1:
            raise ValueError("choose exactly one of all: true, reason: <reason> or ids: [...]")
        if self.reason is not None and self.reason not in DEAD_LETTER_REASONS:
            raise ValueError(f"reason must be one of {', '.join(DEAD_LETTER_REASONS)}, not {self.reason!r}")
        return self


@dg.op(description="Put the selected dead letters back to pending; the next new-order sensor tick starts a sync run for them.")
def release_dead_letters(context: dg.OpExecutionContext, config: ReplayConfig, ledger: LedgerResource) -> int:
    book = ledger.get_ledger()
    if config.ids:
        selected = config.ids
    else:
        selected = [d.id for d in book.dead_letters(reason=config.reason if not config.all else None)]
    released = book.release_dead_letters(selected)
    missing = sorted(set(selected) - {d.id for d in released})
    if missing:
        context.log.warning(f"no open dead letter with id {missing}")
    context.log.info(f"released {len(released)} dead letters back to pending")
    context.add_output_metadata({"released": len(released)})
    return len(released)


@dg.job(tags=RUN_TAGS, description="Replay dead letters (config: all, a reason, or ids); the order sensor picks them up within seconds.")
def replay_dead_letters():
    release_dead_letters()
