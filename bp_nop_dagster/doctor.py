"""`bp-nop doctor`: is this deployment configured to work? One line per check, OK or FAIL with
what to do (SKIP where a check does not apply), exit code 1 on any FAIL.

Checks, in order: the environment (`BP_NOP_ENV` and what it requires), Brightpearl and
nopCommerce (reachable, credentials accepted by one cheap authenticated call), the pair's
nopCommerce stores (`BP_NOP_NOPCOMMERCE_STORE_IDS`: no two pairs claiming one store, each a live
store; whether the pair is the installation's catalogue owner), the first day of
the daily partitions (`BP_NOP_HISTORY_START` against the shop's first order: WARN, never FAIL),
the ledger database (connects, schema current; a SQLite ledger that does not exist yet is
reported, never created), the Dagster instance storage when it is PostgreSQL (reachable, the
`brightpearl` pool limited to 1), the mapping (loads, fits the Brightpearl account's reference
data), and the mapped payment method codes (WARN, never FAIL, for a code the account does not
list: Brightpearl records such payments, without their Sales Receipt journal). Never prints a
secret: every line passes through `redact`. Writes nothing, anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

from bp_nop_dagster import settings
from bp_nop_dagster.alerts import redact, secret_values
from bp_nop_dagster.pairs import apply_pair_environment, current_pair, store_claim_conflicts, store_scope
from bp_nop_dagster.environment import Environment, current_environment, environment_problems
from bp_nop_dagster.transport.errors import ApiError, AuthError, ConfigurationError
from bp_nop_dagster.transport.retry import RetrySettings

OK, FAIL, SKIP, WARN = "OK", "FAIL", "SKIP", "WARN"
DOCTOR_RETRY = RetrySettings(max_attempts=2)
DOCTOR_TIMEOUTS = {"connect_timeout": 5.0, "read_timeout": 15.0}


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name:<18} {self.detail}"


class Doctor:
    """Runs the checks against the process environment, as the code location would see it."""

    def __init__(self) -> None:
        self.environ = os.environ
        try:  # a pair's own BP_NOP_<PAIR>__X values, as the code location applies them when it loads
            apply_pair_environment(self.environ)
        except ConfigurationError:
            pass  # check_environment names the malformed pair
        self._brightpearl = None
        self._first_order_day = None

    def checks(self) -> list[tuple[str, Callable[[], tuple[str, str]]]]:
        return [
            ("environment", self.check_environment),
            ("brightpearl", self.check_brightpearl),
            ("nopcommerce", self.check_nopcommerce),
            ("stores", self.check_stores),
            ("history start", self.check_history_start),
            ("ledger", self.check_ledger),
            ("dagster instance", self.check_instance),
            ("mapping", self.check_mapping),
            ("payment methods", self.check_payment_methods),
        ]

    def run(self) -> list[CheckResult]:
        secrets = secret_values(self.environ)
        results = []
        for name, check in self.checks():
            try:
                status, detail = check()
            except Exception as error:  # noqa: BLE001 - a doctor reports every failure in words, then goes on
                status, detail = FAIL, f"unexpected {type(error).__name__}: {error}"
            results.append(CheckResult(name, status, redact(detail, secrets)))
        return results

    # -- the checks: each returns (status, what it found or what to do)
    def check_environment(self) -> tuple[str, str]:
        problems = environment_problems(self.environ)
        if problems:
            return FAIL, "; ".join(problems)
        return OK, f"{current_environment(self.environ)} ({settings.BP_NOP_ENV})"

    def check_brightpearl(self) -> tuple[str, str]:
        from bp_nop_dagster.brightpearl.client import BrightpearlClient

        missing = self._missing(settings.BRIGHTPEARL_BASE_URL, settings.BRIGHTPEARL_APP_REF, settings.BRIGHTPEARL_ACCOUNT_TOKEN)
        if missing:
            return FAIL, f"set {missing} (README, 'Configuration')"
        try:
            client = BrightpearlClient(
                self.environ[settings.BRIGHTPEARL_BASE_URL],
                app_ref=self.environ[settings.BRIGHTPEARL_APP_REF],
                account_token=self.environ[settings.BRIGHTPEARL_ACCOUNT_TOKEN],
                retry=DOCTOR_RETRY,
                **DOCTOR_TIMEOUTS,
            )
            warehouses = client.warehouses()
        except ConfigurationError as error:
            return FAIL, f"{error}: fix {settings.BRIGHTPEARL_BASE_URL}"
        except AuthError:
            return FAIL, (
                f"credentials refused: check {settings.BRIGHTPEARL_APP_REF} and {settings.BRIGHTPEARL_ACCOUNT_TOKEN} "
                "(the private app must be installed on this account)"
            )
        except ApiError as error:
            return FAIL, f"{error}: check {settings.BRIGHTPEARL_BASE_URL} (datacentre and account code) and the network"
        self._brightpearl = client
        return OK, f"reachable, credentials accepted ({len(warehouses)} warehouses)"

    def check_nopcommerce(self) -> tuple[str, str]:
        from bp_nop_dagster.nopcommerce.client import NopCommerceClient

        missing = self._missing(settings.NOPCOMMERCE_BASE_URL, settings.NOPCOMMERCE_EMAIL, settings.NOPCOMMERCE_PASSWORD)
        if missing:
            return FAIL, f"set {missing} (README, 'Configuration')"
        try:
            client = NopCommerceClient(
                self.environ[settings.NOPCOMMERCE_BASE_URL],
                self.environ[settings.NOPCOMMERCE_EMAIL],
                self.environ[settings.NOPCOMMERCE_PASSWORD],
                retry=DOCTOR_RETRY,
                **DOCTOR_TIMEOUTS,
            )
            try:
                countries = client.countries()
                from bp_nop_dagster.sync.history import shop_first_order_day

                self._first_order_day = shop_first_order_day(client)
            finally:
                client.close()
        except ConfigurationError as error:
            return FAIL, f"{error}: fix {settings.NOPCOMMERCE_BASE_URL}"
        except AuthError:
            return FAIL, (
                f"credentials refused: check {settings.NOPCOMMERCE_EMAIL} and {settings.NOPCOMMERCE_PASSWORD} "
                "(the user's role needs the 'Access Web API Backend' permission)"
            )
        except ApiError as error:
            return FAIL, f"{error}: check {settings.NOPCOMMERCE_BASE_URL} (…/api-backend, plugin installed) and the network"
        return OK, f"reachable, credentials accepted ({len(countries)} countries)"

    def check_stores(self) -> tuple[str, str]:
        """The pair's nopCommerce stores (bp_nop_dagster/pairs.py): well formed, claimed by no other
        pair in this environment, live in the installation; and whether it is the catalogue owner."""
        try:
            scope = store_scope(self.environ)
            conflicts = store_claim_conflicts(self.environ)
        except ConfigurationError as error:
            return FAIL, str(error)
        if conflicts:
            return FAIL, "; ".join(conflicts)
        if scope.whole_installation:
            return OK, f"every store of the nopCommerce installation ({settings.BP_NOP_NOPCOMMERCE_STORE_IDS} unset)"
        missing = self._missing(settings.NOPCOMMERCE_BASE_URL, settings.NOPCOMMERCE_EMAIL, settings.NOPCOMMERCE_PASSWORD)
        if missing:
            return SKIP, f"{scope.describe()}: the installation's stores not read (set {missing})"
        from bp_nop_dagster.nopcommerce.client import NopCommerceClient

        try:
            with NopCommerceClient(self.environ[settings.NOPCOMMERCE_BASE_URL], self.environ[settings.NOPCOMMERCE_EMAIL],
                                   self.environ[settings.NOPCOMMERCE_PASSWORD], retry=DOCTOR_RETRY, **DOCTOR_TIMEOUTS) as client:
                client.store_scope = scope
                live = client.installation_store_ids()
        except ConfigurationError as error:
            return FAIL, str(error)
        except ApiError as error:
            return FAIL, f"the installation's stores (Store/GetAll) not read: {error}"
        role = ("the catalogue owner: it also writes the products limited to no store and the customers of no store"
                if scope.owns_shared(live) else f"not the catalogue owner (the pair owning store {min(live)} is)")
        return OK, f"{scope.describe()} of the installation's {', '.join(map(str, live))}; {role}"

    def check_history_start(self) -> tuple[str, str]:
        from bp_nop_dagster.defs.partitions import DEFAULT_HISTORY_START

        first = self._first_order_day
        configured = self.environ.get(settings.BP_NOP_HISTORY_START)
        if first is None:
            return SKIP, "needs nopCommerce to be OK and to hold an order"
        if not configured:
            return WARN, (f"{settings.BP_NOP_HISTORY_START} is not set: the daily partitions start at {DEFAULT_HISTORY_START}; "
                          f"the shop's first order is from {first}: set {settings.BP_NOP_HISTORY_START}={first}")
        try:
            start = date.fromisoformat(configured)
        except ValueError:
            return FAIL, f"{settings.BP_NOP_HISTORY_START}={configured!r} is not a day (YYYY-MM-DD)"
        if start > first:
            return WARN, (f"the partitions start at {start}, after the shop's first order ({first}): orders before "
                          f"{start} cannot be reconciled; set {settings.BP_NOP_HISTORY_START}={first}")
        return OK, f"partitions start at {start}; the shop's first order is from {first}"

    def check_ledger(self) -> tuple[str, str]:
        import sqlalchemy as sa

        from bp_nop_dagster.ledger import SCHEMA_VERSION, Ledger, LedgerSchemaError
        from bp_nop_dagster.ledger.resource import default_ledger_url

        url = self.environ.get(settings.BP_NOP_LEDGER_URL) or default_ledger_url()
        parsed = sa.make_url(url)
        backend = parsed.get_backend_name()
        if backend == "sqlite" and parsed.database and parsed.database != ":memory:" and not Path(parsed.database).exists():
            return OK, f"sqlite at {Path(parsed.database).resolve()}: not created yet (the first run creates it)"
        try:
            ledger = Ledger(url)
            try:
                pending = len(ledger.unsettled("order"))
            finally:
                ledger.close()
        except LedgerSchemaError as error:
            return FAIL, str(error)
        except sa.exc.SQLAlchemyError as error:
            cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            return FAIL, f"cannot open the {backend} ledger: {cause}: check {settings.BP_NOP_LEDGER_URL} and that the database exists"
        return OK, f"{backend}, schema version {SCHEMA_VERSION}, {pending} orders pending"

    def check_instance(self) -> tuple[str, str]:
        if not self.environ.get(settings.DAGSTER_PG_HOST):
            if self._is_local():
                return SKIP, "no PostgreSQL instance configured (DAGSTER_PG_HOST unset): local SQLite instance"
            return FAIL, "DAGSTER_PG_HOST is not set: staging and production keep the Dagster instance in PostgreSQL"
        import dagster as dg

        home = self.environ.get(settings.DAGSTER_HOME)
        if not home:
            return FAIL, "DAGSTER_HOME is not set: point it at the folder holding the production dagster.yaml"
        try:
            pool = current_pair(self.environ).brightpearl_pool  # `brightpearl`, or `brightpearl_<account>` for a pair
        except ConfigurationError as error:
            return FAIL, str(error)
        try:
            with dg.DagsterInstance.from_config(home) as instance:
                storage = type(instance.run_storage).__name__
                if "Postgres" not in storage:
                    return FAIL, f"{home}/dagster.yaml does not use PostgreSQL storage ({storage}): copy the project's dagster.yaml there"
                runs = instance.get_runs_count()
                slots = instance.event_log_storage.get_concurrency_info(pool).slot_count
        except Exception as error:  # noqa: BLE001 - config, connection and permission errors all end here
            cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return FAIL, f"cannot open the instance: {cause}: check DAGSTER_PG_HOST/PORT/USERNAME/PASSWORD/DB and {home}/dagster.yaml"
        if slots != 1:
            return FAIL, f"the {pool} pool is not limited to 1: run `dagster instance concurrency set {pool} 1`"
        return OK, f"PostgreSQL, {runs} runs recorded, {pool} pool limited to 1"

    def check_mapping(self) -> tuple[str, str]:
        from bp_nop_dagster.defs.sync_settings import FLOW_CHECKS, SyncSettings
        from bp_nop_dagster.mapping.config import MappingConfigError, load_mapping_config

        source = self.environ.get(settings.BP_NOP_MAPPING_FILE) or "the packaged default mapping"
        try:
            if self._brightpearl is None:
                load_mapping_config()
                return FAIL, f"{source} loads, but cannot be checked against Brightpearl's reference data until Brightpearl is OK"
            settings_resource = SyncSettings()
            for flow in FLOW_CHECKS:
                settings_resource.mapping(self._brightpearl, flow=flow)
        except MappingConfigError as error:
            return FAIL, f"{error}: fix it or {settings.BP_NOP_MAPPING_FILE}"
        return OK, f"{source} loads and fits the Brightpearl account"

    def check_payment_methods(self) -> tuple[str, str]:
        from bp_nop_dagster.mapping.config import MappingConfigError, load_mapping_config, unknown_payment_methods

        if self._brightpearl is None:
            return SKIP, "needs Brightpearl to be OK"
        try:
            config = load_mapping_config()
        except MappingConfigError:
            return SKIP, "the mapping does not load (see the mapping check)"
        codes = {method.code for method in self._brightpearl.payment_methods() if method.code}
        if not codes:
            return SKIP, "this account's payment-method list names no codes: nothing to compare the mapping with"
        warnings = unknown_payment_methods(config, codes)
        if warnings:
            return WARN, "; ".join(warnings)
        return OK, f"every mapped code is one of the account's {len(codes)} payment methods"

    def _is_local(self) -> bool:
        try:
            return current_environment(self.environ) is Environment.LOCAL
        except ConfigurationError:
            return False

    def _missing(self, *names: str) -> str:
        return ", ".join(name for name in names if not self.environ.get(name))


def run_doctor(out: TextIO) -> int:
    """Print one line per check; 0 when nothing failed, else 1."""
    results = Doctor().run()
    for result in results:
        print(result.line(), file=out, flush=True)
    failed = [r.name for r in results if r.status == FAIL]
    print(f"{len(failed)} check(s) failed: {', '.join(failed)}" if failed else "All checks passed.", file=out)
    return 1 if failed else 0
