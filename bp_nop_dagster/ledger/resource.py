"""The ledger as a Dagster resource."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from bp_nop_dagster.ledger.ledger import Ledger
from bp_nop_dagster import settings
from bp_nop_dagster.pairs import current_pair


def default_ledger_url() -> str:
    """`$BP_NOP_LEDGER_URL`, else a SQLite file next to the Dagster instance:
    `sqlite:///$DAGSTER_HOME/ledger.sqlite` (`./.dagster_home` without DAGSTER_HOME); with many
    pairs each pair's own file, `ledger-<pair>.sqlite` (bp_nop_dagster/pairs.py)."""
    url = os.environ.get(settings.BP_NOP_LEDGER_URL)
    if url:
        return url
    home = os.environ.get(settings.DAGSTER_HOME) or os.path.abspath(".dagster_home")
    return f"sqlite:///{Path(home)}/ledger{current_pair().file_suffix}.sqlite"


class LedgerResource(dg.ConfigurableResource):
    """Durable sync state (cross references, record status, intents, dead letters, watermarks)
    on SQLite or PostgreSQL. One `Ledger` (engine and connection pool) per resource instance.

    Deliberately no `teardown_after_execution`: that would make Dagster treat the resource as a
    context manager (sensor contexts would then need `with`). The pool closes with the process,
    or call `get_ledger().close()`."""

    url: str | None = Field(
        default=None,
        description=f"SQLAlchemy URL of the ledger database; default ${settings.BP_NOP_LEDGER_URL}, else sqlite:///$DAGSTER_HOME/ledger.sqlite",
    )

    _ledger: Ledger | None = PrivateAttr(default=None)

    def resolved_url(self) -> str:
        return self.url or default_ledger_url()

    def get_ledger(self) -> Ledger:
        """The ledger (created, and its schema created or upgraded, on first use)."""
        if self._ledger is None:
            self._ledger = Ledger(self.resolved_url())
        return self._ledger
