"""`bp-nop probe`: the conformance check of the configured real systems (read-only).

Reads the code location's variables (`BRIGHTPEARL_BASE_URL`, `BRIGHTPEARL_APP_REF`,
`BRIGHTPEARL_ACCOUNT_TOKEN`, `NOPCOMMERCE_BASE_URL`, `NOPCOMMERCE_EMAIL`, `NOPCOMMERCE_PASSWORD`),
builds the project's clients, probes every endpoint of `endpoints.ENDPOINTS`, prints the table
(secrets masked) and, with `--record DIR`, writes scrubbed cassettes. Exit code: 0 when nothing
differs and nothing failed, 1 otherwise, 2 when no system is configured.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from bp_nop_dagster import settings
from bp_nop_dagster.alerts import redact, secret_values
from bp_nop_dagster.probe.cassettes import Recorded, Scrubber, write_cassettes
from bp_nop_dagster.probe.endpoints import BRIGHTPEARL, NOPCOMMERCE, endpoints_for
from bp_nop_dagster.probe.runner import (
    DEFAULT_BRIGHTPEARL_PER_MINUTE,
    DEFAULT_INTERVAL,
    DIFFERS,
    ERROR,
    MAX_BRIGHTPEARL_PER_MINUTE,
    Pace,
    render_table,
    run_probe,
)
from bp_nop_dagster.transport.errors import ConfigurationError
from bp_nop_dagster.transport.retry import RetrySettings

PROBE_RETRY = RetrySettings(max_attempts=3)
REQUIRED = {
    BRIGHTPEARL: (settings.BRIGHTPEARL_BASE_URL, settings.BRIGHTPEARL_APP_REF, settings.BRIGHTPEARL_ACCOUNT_TOKEN),
    NOPCOMMERCE: (settings.NOPCOMMERCE_BASE_URL, settings.NOPCOMMERCE_EMAIL, settings.NOPCOMMERCE_PASSWORD),
}


def add_probe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--record", metavar="DIR", type=Path,
                        help="write scrubbed cassettes of every successful reply to DIR/brightpearl/ and DIR/nopcommerce/")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL,
                        help=f"seconds between two requests to one system (default {DEFAULT_INTERVAL})")
    parser.add_argument("--brightpearl-per-minute", type=int, default=DEFAULT_BRIGHTPEARL_PER_MINUTE,
                        help=f"Brightpearl requests per rolling minute, 1-{MAX_BRIGHTPEARL_PER_MINUTE} "
                             f"(default {DEFAULT_BRIGHTPEARL_PER_MINUTE}, 5%% of the account's 200)")
    parser.add_argument("--system", choices=(BRIGHTPEARL, NOPCOMMERCE), action="append",
                        help="probe only this system (repeatable; default both)")
    parser.add_argument("--verbose", action="store_true", help="also print the notes (what could not be checked)")


def build_clients(environ: Mapping[str, str], systems: list[str]) -> tuple[dict, dict[str, str]]:
    """The clients of the configured systems, and system -> reason for the others."""
    from bp_nop_dagster.brightpearl.client import BrightpearlClient
    from bp_nop_dagster.nopcommerce.client import NopCommerceClient

    clients: dict = {}
    unavailable: dict[str, str] = {}
    for system in systems:
        missing = [name for name in REQUIRED[system] if not environ.get(name)]
        if missing:
            unavailable[system] = f"not configured: set {', '.join(missing)}"
            continue
        try:
            if system == BRIGHTPEARL:
                clients[system] = BrightpearlClient(
                    environ[settings.BRIGHTPEARL_BASE_URL], app_ref=environ[settings.BRIGHTPEARL_APP_REF],
                    account_token=environ[settings.BRIGHTPEARL_ACCOUNT_TOKEN], retry=PROBE_RETRY,
                )
            else:
                clients[system] = NopCommerceClient(
                    environ[settings.NOPCOMMERCE_BASE_URL], environ[settings.NOPCOMMERCE_EMAIL],
                    environ[settings.NOPCOMMERCE_PASSWORD], retry=PROBE_RETRY, max_concurrency=1,
                )
        except ConfigurationError as error:
            unavailable[system] = f"configuration refused: {error}"
    return clients, unavailable


def run_probe_command(args: argparse.Namespace, out: TextIO, environ: Mapping[str, str] = os.environ, pace: Pace | None = None) -> int:
    systems = args.system or [BRIGHTPEARL, NOPCOMMERCE]
    try:
        pace = pace or Pace(args.interval, args.brightpearl_per_minute)
    except ValueError as error:
        out.write(f"bp-nop probe: {error}\n")
        return 2
    clients, unavailable = build_clients(environ, systems)
    secrets = secret_values(environ) + [environ.get(name, "") for name in (settings.BRIGHTPEARL_APP_REF, settings.NOPCOMMERCE_EMAIL)]
    if not clients:
        for system in systems:
            out.write(redact(f"{system}: {unavailable[system]}\n", secrets))
        out.write("bp-nop probe: nothing to probe (README, 'Checking a live account')\n")
        return 2
    endpoints = endpoints_for(systems)
    calls = sum(1 for e in endpoints if e.system in clients)
    out.write(f"Probing {calls} read-only endpoints (GET only), at most one request per {pace.interval:g} s per system"
              f" and {args.brightpearl_per_minute} Brightpearl requests per minute.\n\n")
    out.flush()
    record: list[Recorded] | None = [] if args.record else None
    try:
        rows = run_probe(endpoints, clients, pace, unavailable=unavailable, record=record)
    finally:
        for client in clients.values():
            client.session.close()
    out.write(redact(render_table(rows, verbose=args.verbose), secrets) + "\n")
    if record is not None:
        written = write_cassettes(args.record, record, Scrubber(secrets))
        out.write(f"\n{len(written)} scrubbed cassettes written under {args.record}\n")
    return 1 if any(r.result in (DIFFERS, ERROR) for r in rows) else 0

