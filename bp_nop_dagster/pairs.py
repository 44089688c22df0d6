"""Many store-account pairs from one deployment (README, "Many pairs and scale"); no Dagster here.

A pair is one nopCommerce store plus one Brightpearl account, with its own credentials, mapping
and ledger. Every pair is a code location loaded from this same package, each in its own
process (a compose service, a Helm user-code deployment) whose environment holds that pair's
settings: the usual variables (settings.py) plus `BP_NOP_PAIR=<name>`. Adding a pair is
configuration: a workspace entry, a service and its secrets, no code.

What the name changes, so pairs sharing one Dagster instance never mix:
- asset keys get the pair's name as first part (`acme/brightpearl/products`): each pair's
  materializations, checks and freshness are its own;
- the Brightpearl writers' pool is `brightpearl_<account>` (the quota is per account; the account
  defaults to the pair's name, `BP_NOP_BRIGHTPEARL_ACCOUNT` names it when two stores book into
  one account, so they share its pool);
- every job's runs carry the tag `bp_nop/pair=<name>` (the sensors only look at their own pair's
  runs; the run queue limits runs per pair: dagster.yaml);
- the ledger defaults to its own SQLite file `ledger-<name>.sqlite` (set BP_NOP_LEDGER_URL to the
  pair's own PostgreSQL database in production), reports go to `reports/<name>/`;
- alerts start with the pair's name.

Where one environment holds several pairs' settings (the Docker run launcher's daemon hands each
run container only its own pair's variables), a pair's variable `X` may be given as
`BP_NOP_<PAIR>__X` (`BP_NOP_ACME__BRIGHTPEARL_ACCOUNT_TOKEN`): `apply_pair_environment` copies it
to `X` when the code location loads, before anything reads `X`.

Without `BP_NOP_PAIR` (the single-pair deployment) nothing changes: keys, the `brightpearl` pool,
tags, ledger and report paths and alert texts stay what they were.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

from bp_nop_dagster import settings
from bp_nop_dagster.transport.errors import ConfigurationError

# Usable unchanged in an asset key, a pool, a tag value, a file name, a Kubernetes name (with
# `-` for `_`) and a code location name: lower-case letters, digits and `_`, a letter first.
PAIR_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PAIR_TAG = "bp_nop/pair"
SINGLE_PAIR_POOL = "brightpearl"
# What a pair may set for itself: everything but the pair's name and the Dagster instance's own.
PAIR_VARIABLES = tuple(v for v in settings.VARIABLES if v != settings.BP_NOP_PAIR and not v.startswith("DAGSTER_"))


@dataclass(frozen=True)
class Pair:
    """The pair this code location serves; `name` None is the single-pair deployment."""

    name: str | None = None
    brightpearl_account: str | None = None

    @property
    def brightpearl_pool(self) -> str:
        """The pool of every step that calls Brightpearl: one per account (one quota each)."""
        account = self.brightpearl_account or self.name
        return f"{SINGLE_PAIR_POOL}_{account}" if account else SINGLE_PAIR_POOL

    def asset_path(self, *path: str) -> list[str]:
        """An asset key's parts: the pair's name first when there is one."""
        return [self.name, *path] if self.name else list(path)

    @property
    def run_tags(self) -> dict[str, str]:
        """The tags every job's runs carry (none for the single pair)."""
        return {PAIR_TAG: self.name} if self.name else {}

    @property
    def file_suffix(self) -> str:
        return f"-{self.name}" if self.name else ""

    def label(self, text: str) -> str:
        """An alert's `text` naming the pair: `bp-nop:` becomes `bp-nop [pair acme]:` (or the
        text is prefixed with it); unchanged for the single pair."""
        if not self.name:
            return text
        named = f"bp-nop [pair {self.name}]:"
        return text.replace("bp-nop:", named, 1) if "bp-nop:" in text else f"{named} {text}"


def pair_variable(pair: str, variable: str) -> str:
    """The name under which `pair`'s value of `variable` may be given: `BP_NOP_<PAIR>__<variable>`."""
    return f"BP_NOP_{pair.upper()}__{variable}"


def apply_pair_environment(environ: MutableMapping[str, str] = os.environ) -> list[str]:
    """Copy this pair's `BP_NOP_<PAIR>__X` values to `X` for every pair variable (settings.py);
    the names set (never their values). Nothing without `BP_NOP_PAIR`."""
    pair = current_pair(environ)
    if not pair.name:
        return []
    copied = []
    for variable in PAIR_VARIABLES:
        value = environ.get(pair_variable(pair.name, variable))
        if value is not None:
            environ[variable] = value
            copied.append(variable)
    return copied


def current_pair(environ: Mapping[str, str] = os.environ) -> Pair:
    """The pair `BP_NOP_PAIR` names (unset or empty: the single pair); a malformed name or
    account raises ConfigurationError."""
    name = environ.get(settings.BP_NOP_PAIR, "").strip() or None
    account = environ.get(settings.BP_NOP_BRIGHTPEARL_ACCOUNT, "").strip() or None
    for variable, value in ((settings.BP_NOP_PAIR, name), (settings.BP_NOP_BRIGHTPEARL_ACCOUNT, account)):
        if value is not None and not PAIR_NAME.match(value):
            raise ConfigurationError(
                f"{variable} must be lower-case letters, digits and _ (a letter first, at most 40), not {value!r}"
            )
    if account and not name:
        raise ConfigurationError(f"{settings.BP_NOP_BRIGHTPEARL_ACCOUNT} is set without {settings.BP_NOP_PAIR}")
    return Pair(name, account)
