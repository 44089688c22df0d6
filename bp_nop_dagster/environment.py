"""Which environment this deployment is: `BP_NOP_ENV=local|staging|production` (README, "Production").

- `local` (the default): anything the sandbox needs is allowed: a SQLite ledger, http on loopback.
- `staging` and `production`: the ledger must be PostgreSQL, both APIs real https endpoints (never
  loopback, never the sandbox), the Dagster instance's PostgreSQL settings present, and the
  database passwords real (not a placeholder, at least MIN_PASSWORD_CHARS long). The API resources
  talk only to the endpoints configured here (`require_configured_endpoint`): whoever can launch a
  run can edit its run config, and must not be able to point the credentials at another host.

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
from bp_nop_dagster.pairs import current_pair
from bp_nop_dagster.transport.errors import ConfigurationError
from bp_nop_dagster.transport.transport import is_loopback_host

SANDBOX_HOST_NAMES = frozenset({"sandbox"})
MIN_PASSWORD_CHARS = 16
# Values that were never meant to be used (`.env.example` ships `change-me-long-random`).
PLACEHOLDER_MARKERS = ("change-me", "changeme", "change_me", "placeholder", "your-", "your_")
# Where Brightpearl's OAuth token endpoint may be (reference notes, section 1: oauth.brightpearl.com
# in recorded traffic; oauth.brightpearlapp.com and {dc}.brightpearlconnect.com in the docs).
BRIGHTPEARL_OAUTH_DOMAINS = ("brightpearl.com", "brightpearlapp.com", "brightpearlconnect.com")


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
        current_pair(environ)
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
    else:
        problem = _password_problem(urlsplit(ledger_url).password or "", f"the password in {settings.BP_NOP_LEDGER_URL}")
        if problem:
            problems.append(f"{environment}: {problem}")
    for variable in settings.DAGSTER_PG_VARIABLES:
        if not environ.get(variable):
            problems.append(f"{environment}: {variable} is not set; the Dagster instance (dagster.yaml) keeps runs in PostgreSQL")
    if environ.get(settings.DAGSTER_PG_PASSWORD):
        problem = _password_problem(environ[settings.DAGSTER_PG_PASSWORD], settings.DAGSTER_PG_PASSWORD)
        if problem:
            problems.append(f"{environment}: {problem}")
    return problems


def require_configured_endpoint(url: str, variable: str, system: str, environ: Mapping[str, str] = os.environ) -> None:
    """In staging and production, `url` must be the endpoint the deployment configured in
    `variable`: run config naming another host (with `{env: ...}` credentials) is refused, so
    launching a run cannot send the credentials elsewhere. Local: anything goes (the sandbox)."""
    environment = current_environment(environ)
    if environment is Environment.LOCAL:
        return
    configured = environ.get(variable, "")
    if not configured or _normal_url(url) != _normal_url(configured):
        raise ConfigurationError(
            f"{system} base URL is not the configured {variable}: in {environment} a run may only call the configured "
            "endpoint (run config cannot point the credentials at another host)"
        )


def require_brightpearl_oauth_host(url: str, environ: Mapping[str, str] = os.environ) -> None:
    """In staging and production the OAuth token endpoint (it receives the refresh token and the
    client secret) must be an https host of Brightpearl's own domains."""
    environment = current_environment(environ)
    if environment is Environment.LOCAL:
        return
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not any(host == d or host.endswith(f".{d}") for d in BRIGHTPEARL_OAUTH_DOMAINS):
        raise ConfigurationError(
            f"Brightpearl oauth_token_url must be https on {', '.join(BRIGHTPEARL_OAUTH_DOMAINS)} in {environment}, not host {host or '(none)'!r}"
        )


def require_valid_environment(environ: Mapping[str, str] = os.environ) -> Environment:
    """The environment, or ConfigurationError listing every problem."""
    problems = environment_problems(environ)
    if problems:
        raise ConfigurationError("the configuration does not fit its environment: " + "; ".join(problems))
    return current_environment(environ)


def _password_problem(password: str, what: str) -> str | None:
    """Why `password` may not guard a staging or production database (never its value)."""
    if any(marker in password.lower() for marker in PLACEHOLDER_MARKERS):
        return f"{what} is still the placeholder from .env.example: set a long random one"
    if len(password) < MIN_PASSWORD_CHARS:
        return f"{what} is shorter than {MIN_PASSWORD_CHARS} characters: set a long random one"
    return None


def _normal_url(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


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
