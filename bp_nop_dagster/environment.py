"""Which environment this deployment is: `BP_NOP_ENV=local|staging|production` (README, "Production").

- `local` (the default): anything the sandbox needs is allowed: a SQLite ledger, http on loopback.
- `staging` and `production`: the ledger must be PostgreSQL, both APIs real https endpoints (never
  loopback, never the sandbox), and the Dagster instance's PostgreSQL settings present.

`environment_problems` says what is wrong in words, naming variables but never their values
(they may hold passwords). The code location refuses to load with those words
(`require_valid_environment`), and `bp-nop doctor` prints them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from urllib.parse import urlsplit

from bp_nop_dagster import settings
from bp_nop_dagster.transport.errors import ConfigurationError
from bp_nop_dagster.transport.transport import is_loopback_host

SANDBOX_HOST_NAMES = frozenset({"sandbox"})


class Environment(StrEnum):
    LOCAL = "local"
    STAGING = "staging"
    PRODUCTION = "production"


def current_environment(environ: Mapping[str, str] = os.environ) -> Environment:
    """The environment `BP_NOP_ENV` names (default local); an unknown name raises ConfigurationError."""
    name = environ.get(settings.BP_NOP_ENV, "").strip().lower() or Environment.LOCAL.value
    try:
        return Environment(name)
    except ValueError:
        allowed = ", ".join(e.value for e in Environment)
        raise ConfigurationError(f"{settings.BP_NOP_ENV} must be one of {allowed}, not {name!r}") from None


def environment_problems(environ: Mapping[str, str] = os.environ) -> list[str]:
    """Everything that does not fit the environment, one sentence each (empty when all is well)."""
    try:
        environment = current_environment(environ)
    except ConfigurationError as error:
        return [str(error)]
    if environment is Environment.LOCAL:
        return []
    problems = []
    for variable, system in ((settings.BRIGHTPEARL_BASE_URL, "Brightpearl"), (settings.NOPCOMMERCE_BASE_URL, "nopCommerce")):
        problem = _real_endpoint_problem(environ.get(variable, ""), variable, system)
        if problem:
            problems.append(f"{environment}: {problem}")
    ledger_url = environ.get(settings.BP_NOP_LEDGER_URL, "")
    if not ledger_url:
        problems.append(
            f"{environment}: {settings.BP_NOP_LEDGER_URL} is not set; the ledger must be PostgreSQL "
            "(postgresql+psycopg2://user:password@host:5432/bp_nop_ledger)"
        )
    elif not urlsplit(ledger_url).scheme.startswith("postgresql"):
        problems.append(
            f"{environment}: {settings.BP_NOP_LEDGER_URL} must be a PostgreSQL URL (postgresql+psycopg2://...), "
            f"not {urlsplit(ledger_url).scheme or 'a path'}: SQLite is for local use only"
        )
    for variable in settings.DAGSTER_PG_VARIABLES:
        if not environ.get(variable):
            problems.append(f"{environment}: {variable} is not set; the Dagster instance (dagster.yaml) keeps runs in PostgreSQL")
    return problems


def require_valid_environment(environ: Mapping[str, str] = os.environ) -> Environment:
    """The environment, or ConfigurationError listing every problem."""
    problems = environment_problems(environ)
    if problems:
        raise ConfigurationError("the configuration does not fit its environment: " + "; ".join(problems))
    return current_environment(environ)


def _real_endpoint_problem(url: str, variable: str, system: str) -> str | None:
    if not url:
        return f"{variable} is not set: the {system} endpoint is required"
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https":
        return f"{variable} must be an https URL of the real {system} API, not {parts.scheme or 'a relative URL'}"
    if not host or is_loopback_host(host) or host in SANDBOX_HOST_NAMES:
        return f"{variable} points at the sandbox or this machine ({host or 'no host'}); use the real {system} API"
    return None
