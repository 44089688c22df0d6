"""Many store-account pairs from one deployment (README, "Many pairs and scale"); no Dagster here.

A pair is one nopCommerce store (a whole installation, or the store ids it names within one)
plus one Brightpearl account, with its own credentials, mapping and ledger. Every pair is a code
location loaded from this same package, each in its own process (a compose service, a Helm
user-code deployment) whose environment holds that pair's settings: the usual variables
(settings.py) plus `BP_NOP_PAIR=<name>`. Adding a pair is configuration: a workspace entry, a
service and its secrets, no code.

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

Several pairs on ONE nopCommerce installation (one store each, each its own Brightpearl account):
each pair names its stores in `BP_NOP_NOPCOMMERCE_STORE_IDS` (`StoreScope`; unset: the whole
installation, as before). The rule, one owner per nopCommerce record:
- a record of one store (an order, its refunds and return requests, a customer registered in it)
  belongs to the pair naming that store; orders and return requests are searched with the Web
  API's own `storeId` filter (`Order/Search`, `ReturnRequest/Search`), customers filtered after
  reading (`Customer/GetAll` has none) on `registered_in_store_id`;
- a product limited to stores (`limited_to_stores` and its store mappings) belongs to the pair
  naming ALL of those stores; one whose stores are split between this pair and others is refused
  in words (`StoreOwnershipError`: two pairs would write its stock, price and fields);
- a record shared by every store (a product not limited to stores, a customer of no live store)
  belongs to the installation's catalogue owner: the pair naming the installation's lowest store
  id (`Store/GetAll`). No second setting, so no two pairs can both believe they own it.
Two pairs claiming the same store of one installation (or one pair the whole installation that
another shares) is refused wherever their settings meet (`store_claim_conflicts`: the code
location's load and `bp-nop doctor`, which see every pair's `BP_NOP_<PAIR>__` values in the
Docker deployment's environment).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass

from bp_nop_dagster import settings
from bp_nop_dagster.transport.errors import ConfigurationError

# Usable unchanged in an asset key, a pool, a tag value, a file name, a Kubernetes name (with
# `-` for `_`) and a code location name: lower-case letters, digits and `_`, a letter first.
PAIR_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PAIR_TAG = "bp_nop/pair"
SINGLE_PAIR_POOL = "brightpearl"
STORE_ID_SEPARATORS = re.compile(r"[,;\s]+")
PREFIXED_BASE_URL = re.compile(rf"^BP_NOP_([A-Z][A-Z0-9_]*?)__{settings.NOPCOMMERCE_BASE_URL}$")
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
    the names set (never their values). Nothing without `BP_NOP_PAIR`. Then refuses, in words,
    a malformed store list or two pairs claiming one store (`store_claim_conflicts`)."""
    pair = current_pair(environ)
    if not pair.name:
        return []
    copied = []
    for variable in PAIR_VARIABLES:
        value = environ.get(pair_variable(pair.name, variable))
        if value is not None:
            environ[variable] = value
            copied.append(variable)
    store_scope(environ)  # a malformed store list fails the load in words
    conflicts = store_claim_conflicts(environ)
    if conflicts:
        raise ConfigurationError("; ".join(conflicts))
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


class StoreOwnershipError(ConfigurationError):
    """A nopCommerce record two pairs would write: a configuration to fix, never guessed."""


@dataclass(frozen=True)
class StoreScope:
    """The nopCommerce stores a pair owns within its installation; `store_ids` None: every store
    (one pair per installation, the default). The ownership rule is in the module docstring."""

    store_ids: frozenset[int] | None = None

    @property
    def whole_installation(self) -> bool:
        return self.store_ids is None

    def describe(self) -> str:
        return "every store" if self.store_ids is None else "store " + ", ".join(map(str, sorted(self.store_ids)))

    def check_installation(self, installation: Iterable[int]) -> None:
        """Every named store must be a live store of the installation (ConfigurationError otherwise)."""
        live = set(installation)
        unknown = sorted((self.store_ids or set()) - live)
        if unknown:
            raise ConfigurationError(
                f"{settings.BP_NOP_NOPCOMMERCE_STORE_IDS} names store {', '.join(map(str, unknown))}, which this nopCommerce "
                f"installation does not have (its stores: {', '.join(map(str, sorted(live))) or 'none'})"
            )

    def owns_shared(self, installation: Iterable[int]) -> bool:
        """Whether this pair is the installation's catalogue owner: it names its lowest store id."""
        if self.store_ids is None:
            return True
        live = set(installation)
        return bool(live) and min(live) in self.store_ids

    def owns_store_record(self, store_id: int, installation: Iterable[int]) -> bool:
        """A record of one store (order, return request, customer's registration store): the pair
        naming that store; a store id the installation does not have (0: none) is shared."""
        if self.store_ids is None:
            return True
        live = set(installation)
        return store_id in self.store_ids if store_id in live else self.owns_shared(live)

    def owns_product(self, label: str, limited_to_stores: bool, product_store_ids: Iterable[int],
                     installation: Iterable[int]) -> bool:
        """Whether this pair writes the product `label` (a SKU or an id, for the message): limited
        to stores, when it names all of them; otherwise (or limited to no live store) when it is
        the catalogue owner. Its stores split between this pair and others: StoreOwnershipError."""
        if self.store_ids is None:
            return True
        live = set(installation)
        stores = set(product_store_ids) & live if limited_to_stores else set()
        if not stores:
            return self.owns_shared(live)
        mine = stores & self.store_ids
        if mine == stores:
            return True
        if not mine:
            return False
        raise StoreOwnershipError(
            f"nopCommerce product {label} is limited to stores {', '.join(map(str, sorted(stores)))}, but this pair owns only "
            f"{', '.join(map(str, sorted(mine)))} of them ({settings.BP_NOP_NOPCOMMERCE_STORE_IDS}): the pair owning the others "
            "would write its stock, price and fields too. Limit the product to one pair's stores (Catalog > Products > "
            "Limited to stores), or give those stores to one pair"
        )


def parse_store_ids(value: str | None, variable: str = settings.BP_NOP_NOPCOMMERCE_STORE_IDS) -> frozenset[int] | None:
    """`2` or `2,3` (commas, semicolons or spaces) as store ids; empty or unset: None (every
    store). Anything else raises ConfigurationError naming `variable`."""
    parts = [part for part in STORE_ID_SEPARATORS.split((value or "").strip()) if part]
    if not parts:
        return None
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise ConfigurationError(f"{variable} must be positive nopCommerce store ids separated by commas (e.g. 2 or 2,3), not {value!r}")
    return frozenset(int(part) for part in parts)


def store_scope(environ: Mapping[str, str] = os.environ) -> StoreScope:
    """This pair's stores (`BP_NOP_NOPCOMMERCE_STORE_IDS`); a malformed value raises ConfigurationError."""
    return StoreScope(parse_store_ids(environ.get(settings.BP_NOP_NOPCOMMERCE_STORE_IDS)))


def store_claim_conflicts(environ: Mapping[str, str] = os.environ) -> list[str]:
    """Every two pairs in this environment that claim the same store of one nopCommerce
    installation (same `NOPCOMMERCE_BASE_URL`), one sentence each. The pairs are this one (its
    plain values) and every pair with a `BP_NOP_<PAIR>__NOPCOMMERCE_BASE_URL`; a pair without
    store ids claims the whole installation. Empty when each store has at most one pair."""
    this = current_pair(environ).name

    def claim(prefix_pair: str | None, variable: str) -> str | None:
        if prefix_pair is not None:
            value = environ.get(pair_variable(prefix_pair, variable))
            if value is not None or prefix_pair != this:
                return value
        return environ.get(variable)

    names = {match.group(1).lower() for key in environ if (match := PREFIXED_BASE_URL.match(key))}
    if this:
        names.add(this)
    claims: dict[str, list[tuple[str, frozenset[int] | None]]] = {}
    for name in sorted(names):
        url = (claim(name, settings.NOPCOMMERCE_BASE_URL) or "").strip().rstrip("/").lower()
        if not url:
            continue
        variable = pair_variable(name, settings.BP_NOP_NOPCOMMERCE_STORE_IDS)
        claims.setdefault(url, []).append((name, parse_store_ids(claim(name, settings.BP_NOP_NOPCOMMERCE_STORE_IDS), variable)))
    problems = []
    for url, pairs in claims.items():
        for index, (one, one_stores) in enumerate(pairs):
            for other, other_stores in pairs[index + 1:]:
                if one_stores is None or other_stores is None:
                    whole = one if one_stores is None else other
                    problems.append(
                        f"pairs {one} and {other} share the nopCommerce installation {url}, and pair {whole} names no stores "
                        f"(so claims all of them): set {settings.BP_NOP_NOPCOMMERCE_STORE_IDS} for each pair, one owner per store"
                    )
                elif shared := one_stores & other_stores:
                    problems.append(
                        f"pairs {one} and {other} both claim store {', '.join(map(str, sorted(shared)))} of the nopCommerce "
                        f"installation {url} ({settings.BP_NOP_NOPCOMMERCE_STORE_IDS}): a store belongs to one pair"
                    )
    return problems
