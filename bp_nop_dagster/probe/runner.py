"""Run the probe: call each endpoint once, gently, through the project's clients, and judge each
reply against its contracts and the client's models.

Results per endpoint:
- `ok`: the reply conforms (notes may say what could not be checked);
- `differs`: the server answered, but not as the contract says (a field, column or type, a route
  that is not there (404), a request refused as invalid, or a reply the client's models reject);
- `error`: no judgeable answer (credentials refused, network, 5xx, throttled after retries);
- `skipped`: not called (its system is not configured, or no id to call it with).

Reads only: the endpoint list holds GETs that change nothing, and the runner refuses any other
method. Pacing is the probe's own on top of the clients' (quota pacing, retries): at least
`interval` seconds between two requests to one system, and at most `brightpearl_per_minute`
Brightpearl requests in any rolling minute (a few percent of the account's 200).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError as ModelValidationError

from bp_nop_dagster.brightpearl.pacing import QuotaPacer
from bp_nop_dagster.contracts.conformance import Findings, check, contract_sources
from bp_nop_dagster.transport.parsing import describe
from bp_nop_dagster.probe.cassettes import Recorded
from bp_nop_dagster.probe.endpoints import BRIGHTPEARL, SEPARATOR, Endpoint
from bp_nop_dagster.transport.errors import ApiError, NotFoundError, ValidationError
from bp_nop_dagster.transport.transport import Transport


OK, DIFFERS, ERROR, SKIPPED = "ok", "differs", "error", "skipped"
READ_METHODS = frozenset({"GET", "OPTIONS"})
DEFAULT_INTERVAL = 1.0
DEFAULT_BRIGHTPEARL_PER_MINUTE = 10  # 5% of the account's 200 requests per minute
MAX_BRIGHTPEARL_PER_MINUTE = 20  # 10%: the probe never takes more


@dataclass
class Row:
    """One line of the conformance table."""

    endpoint: Endpoint
    result: str
    details: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def contract(self) -> str:
        return contract_sources(self.endpoint.contracts)


class Pace:
    """The probe's gentle rate: `interval` seconds between requests to one system, and at most
    `brightpearl_per_minute` Brightpearl requests in any rolling 60 s (a `QuotaPacer` window)."""

    def __init__(
        self,
        interval: float = DEFAULT_INTERVAL,
        brightpearl_per_minute: int = DEFAULT_BRIGHTPEARL_PER_MINUTE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if interval < 0:
            raise ValueError("interval must not be negative")
        if not 1 <= brightpearl_per_minute <= MAX_BRIGHTPEARL_PER_MINUTE:
            raise ValueError(f"brightpearl_per_minute must be between 1 and {MAX_BRIGHTPEARL_PER_MINUTE} (10% of the quota)")
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._last: dict[str, float] = {}
        self._brightpearl_window = QuotaPacer(brightpearl_per_minute, 60.0, 0.0, clock=clock, sleep=sleep)

    def wait(self, system: str) -> None:
        """Block until one more request to `system` may go."""
        last = self._last.get(system)
        if last is not None:
            due = last + self.interval - self._clock()
            if due > 0:
                self._sleep(due)
        if system == BRIGHTPEARL:
            self._brightpearl_window.acquire()
        self._last[system] = self._clock()


class _Pools:
    """Ids found so far, by pool name, with who was to provide each pool (for skip reasons)."""

    def __init__(self, endpoints: Sequence[Endpoint]) -> None:
        self.values: dict[str, list[Any]] = {}
        self.providers: dict[str, Endpoint] = {}
        for endpoint in endpoints:
            for pool in endpoint.provides:
                self.providers.setdefault(pool, endpoint)
        self.outcomes: dict[str, str] = {}

    def add(self, pool: str, values: Iterable[Any]) -> None:
        bucket = self.values.setdefault(pool, [])
        for value in values:
            if value not in bucket:
                bucket.append(value)

    def why_empty(self, pool: str) -> str:
        provider = self.providers.get(pool)
        if provider is None:
            return f"no {pool}: no endpoint provides them"
        outcome = self.outcomes.get(provider.name)
        if outcome in (None, OK):
            return f"no {pool}: {provider.name} returned none"
        return f"no {pool}: {provider.name} {outcome}"


def _filled(template: str, endpoint: Endpoint, pools: _Pools) -> str:
    text = template
    for placeholder, pool in endpoint.fill.items():
        values = pools.values.get(pool, [])[: endpoint.take]
        text = text.replace("{" + placeholder + "}", SEPARATOR[endpoint.system].join(str(v) for v in values))
    return text


def run_probe(
    endpoints: Sequence[Endpoint],
    clients: Mapping[str, Transport],
    pace: Pace,
    *,
    unavailable: Mapping[str, str] | None = None,
    record: list[Recorded] | None = None,
) -> list[Row]:
    """Probe `endpoints` in order with `clients` (by system). Systems in `unavailable` (system ->
    reason) are skipped; successful replies are appended to `record` when given."""
    unavailable = dict(unavailable or {})
    pools = _Pools(endpoints)
    rows: list[Row] = []
    for endpoint in endpoints:
        if endpoint.method not in READ_METHODS:
            raise ValueError(f"{endpoint.name}: the probe only reads (GET, OPTIONS)")
        row = _probe_one(endpoint, clients.get(endpoint.system), pace, pools, unavailable.get(endpoint.system), record)
        pools.outcomes[endpoint.name] = row.result
        rows.append(row)
    return rows


def _probe_one(endpoint, client, pace, pools, unavailable, record) -> Row:
    if unavailable is not None or client is None:
        return Row(endpoint, SKIPPED, [unavailable or f"{endpoint.system} is not configured"])
    for pool in sorted(endpoint.pools()):
        if not pools.values.get(pool):
            return Row(endpoint, SKIPPED, [pools.why_empty(pool)])
    path = _filled(endpoint.path, endpoint, pools)
    params = {name: _filled(value, endpoint, pools) for name, value in endpoint.params.items()}
    pace.wait(endpoint.system)
    try:
        reply = client.request(endpoint.method, path, params=params)
    except NotFoundError as error:
        return Row(endpoint, DIFFERS, [f"HTTP {error.status or 404}: not served here (route or id unknown to the server)"])
    except ValidationError as error:
        return Row(endpoint, DIFFERS, [f"request refused as invalid: {error.code or error.status}: {error.server_message}"])
    except ApiError as error:
        return Row(endpoint, ERROR, [f"{type(error).__name__}: {_after_colon(str(error))}"])
    findings = Findings()
    for contract in endpoint.contracts:
        findings.extend(check(contract, reply.body))
    findings.differences += _model_problems(endpoint, reply.body)
    for pool, extract in endpoint.provides.items():
        try:
            pools.add(pool, extract(reply.body))
        except (KeyError, TypeError, AttributeError):
            pass  # a shape the contract checks have already reported
    if record is not None:
        record.append(Recorded(endpoint, path, params, reply.status, dict(reply.headers), reply.body))
    return Row(endpoint, DIFFERS if findings.differences else OK, findings.differences, findings.notes)


def _model_problems(endpoint: Endpoint, body: Any) -> list[str]:
    """The client's models must parse the reply as the client does."""
    try:
        endpoint.parse(body)
    except ModelValidationError as error:
        return [f"client model: {describe(error)}"]
    except (KeyError, TypeError, ValueError, AttributeError, ApiError) as error:
        return [f"client model: {type(error).__name__}: {error}"]
    return []


def _after_colon(message: str) -> str:
    """`Brightpearl GET /x: credentials refused (HTTP 401)` -> `credentials refused (HTTP 401)`."""
    return message.split(": ", 1)[1] if ": " in message else message


# --------------------------------------------------------------------------------- the table

SYSTEM_TITLES = {"brightpearl": "Brightpearl", "nopcommerce": "nopCommerce"}


def render_table(rows: Sequence[Row], *, verbose: bool = False) -> str:
    """The conformance table: per system, one line per endpoint (result, endpoint, contract), then
    what differs (and, with `verbose`, the notes) indented below it; a summary line last."""
    width = max((len(r.endpoint.name) for r in rows), default=0)
    out: list[str] = []
    for system, title in SYSTEM_TITLES.items():
        mine = [r for r in rows if r.endpoint.system == system]
        if not mine:
            continue
        out.append(title)
        for row in mine:
            out.append(f"  {row.result:<8} {row.endpoint.name:<{width}}  {row.contract}")
            prefix = "- " if row.result in (DIFFERS, ERROR) else ""
            out += [f"  {'':<8} {prefix}{line}" for line in row.details]
            if verbose:
                out += [f"  {'':<8} note: {line}" for line in row.notes]
        out.append("")
    out.append(summary(rows))
    return "\n".join(out)


def summary(rows: Sequence[Row]) -> str:
    counts = {result: sum(1 for r in rows if r.result == result) for result in (OK, DIFFERS, ERROR, SKIPPED)}
    return ", ".join(f"{count} {result}" for result, count in counts.items())
