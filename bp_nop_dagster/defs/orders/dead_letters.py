"""The dead-letter queue in the UI, and the job that replays it."""

import dagster as dg
import pandas as pd
from pydantic import Field, model_validator

from bp_nop_dagster.defs.orders.assets import GROUP, OWNERS, SALES_ORDERS
from bp_nop_dagster.ledger.resource import LedgerResource
from bp_nop_dagster.ledger import DEAD_LETTER_REASONS
from bp_nop_dagster.reporting import table_metadata

DEAD_LETTERS = dg.AssetKey(["order_flow", "dead_letters"])


@dg.asset(key=DEAD_LETTERS, deps=[SALES_ORDERS], group_name=GROUP, owners=OWNERS, kinds={"pandas"})
def dead_letters(ledger: LedgerResource) -> dg.MaterializeResult:
    """Every record the flows could not sync and will not retry by themselves: typed reason, the
    server's error code and message, first and last seen, attempts. Replay with the
    `replay_dead_letters` job once the cause is fixed (mapping, product, address)."""
    letters = ledger.get_ledger().dead_letters()
    frame = pd.DataFrame(
        [
            {"id": d.id, "kind": d.kind, "nop_key": d.nop_key, "reason": d.reason, "error_code": d.error_code,
             "last_error": d.message, "first_seen": d.first_seen, "last_seen": d.last_seen, "attempts": d.attempts}
            for d in letters
        ],
        columns=["id", "kind", "nop_key", "reason", "error_code", "last_error", "first_seen", "last_seen", "attempts"],
    )
    by_reason = {f"reason/{reason}": dg.MetadataValue.int(int((frame["reason"] == reason).sum())) for reason in DEAD_LETTER_REASONS}
    return dg.MaterializeResult(value=frame, metadata=table_metadata(frame, dead_letters=dg.MetadataValue.int(len(frame)), **by_reason))


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


@dg.job(description="Replay dead letters (config: all, a reason, or ids); the order sensor picks them up within seconds.")
def replay_dead_letters():
    release_dead_letters()
