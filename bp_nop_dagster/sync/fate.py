"""What becomes of each record a flow works on: one rule for every flow (DESIGN principles 2 and 12).

`Fates.settle(kind, key)` wraps one record's work. Work that succeeds ends the record itself
(synced through the ledger, or skipped with a reason through `Fates.skip`); whatever it raises
decides the record's fate here, and only here:

| raised                                               | fate                                                      |
|------------------------------------------------------|-----------------------------------------------------------|
| `MappingError`, `FulfilmentMappingError`             | dead-lettered with the error's reason                     |
| `ValidationError` (a 4xx refusal)                    | dead-lettered `validation_error`, the server's code (*)   |
| `NotFoundError`                                      | dead-lettered `not_found`                                 |
| `GatewayRefused` (a payment gateway refused a refund) | dead-lettered `gateway_refused`, the gateway's message    |
| `MalformedError` (the source record will not parse)  | dead-lettered `malformed_record`, the problem             |
| `AuthError`                                          | the run stops (no record can succeed without credentials) |
| `Held` (another run holds the record)                | postponed to the end of the holder's lease, not charged   |
| `Unsettled` (a create's outcome unknown, its flow    | the first time in a run: left due, not charged (the next  |
| looks such records up in bulk before each pass)      | pass looks it up); again in the run: as `Deferred`        |
| `TransientError`, `Deferred`                         | a failed attempt: `Ledger.mark_failed` with the policy    |
| anything else                                        | dead-lettered `unexpected`, the exception's type as code  |

(*) A Brightpearl refusal naming reference data (a status, channel, warehouse... that does not
exist) also forgets the kept mapping checks (`sync/reference_check.py`): the next runs re-read it.

The policy (`ledger/fate.py`, `DEFAULT_POLICY`): a failed record waits 5 s, 10 s, then 20 s
between attempts (up to 20 % less), and its 10th failed attempt dead-letters it (`gave_up`, the
last error as message). `Ledger.pending` hands out never-attempted records first, so records that
keep failing never starve newer ones.

The circuit breaker keeps an outage from being charged to the records. A transient failure is
not charged at once: it is held while the failures run on. When `BREAKER_THRESHOLD` (3) records
in a row have failed transiently (or the run ends with held failures), the systems they failed
on are probed with one cheap read each (`probes`):

- every probe answers: the failures were the records' own; each is charged (`mark_failed`);
- a probe fails: the other system is down or throttling. The held records are postponed to the
  end of a pause of that system without being charged, the pause is stored in the ledger (5 s,
  doubling per consecutive outage of that system to 20 s), and the run stops with
  `SystemicOutage`; the records it did not reach stay as they were.

The pause belongs to the system that is down, not to the flow that found it: one ledger serves
one pair, so one Brightpearl account, and every flow of the pair calls the same account and
quota. Whichever flow's probe finds a system down, every flow honours the pause: sensors ask for
no run while a system the flows use is paused (`work_due`, `active_pause`), and a running run
reads the pauses before each record (`Fates.check_pause`, at most once per second: one ledger
read) and stops with `SystemicOutage`, charging nothing, when another flow found the outage.
So during an outage no flow's run keeps retrying while it holds the one Brightpearl pool slot.

Any answer from the other system (a success, a refusal) ends a run of failures: the held ones
are charged then (the system was answering, so they were the records' own). So after an outage
ends, no record waits longer than the policy's 20 s cap or the pause's 20 s, whichever it is
in, before the flow's sensor starts a run for it.

Work that is not one record's: a read the whole run depends on (the mapping check, the product
catalogue) that fails transiently goes through the same probe (`Fates.read_failed`: an outage
pauses the flow, anything else fails the run; no record is charged), and work for several records
at once that fails as a whole (a stock push) charges each of them one attempt unless the probe
finds an outage (`Fates.failed_together`).

Skips: `Fates.skip(kind, key, reason, confirmed=False)` records a skip whose cause may be
temporary (a read that did not find the record) as a failed attempt first; the record is
skipped for good only when the next attempt finds the same cause (re-checked). A cause that
was already confirmed by a second read is final at once (`confirmed=True`).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bp_nop_dagster.ledger import DEFAULT_LEASE_SECONDS, DEFAULT_POLICY, DeadLetterReason, Ledger, RecordKind, RetryPolicy
from bp_nop_dagster.mapping.config import MappingConfig, MappingError
from bp_nop_dagster.mapping.fulfilment import FulfilmentMappingError
from bp_nop_dagster.sync import reference_check
from bp_nop_dagster.sync.exactly_once import Deferred, Held, Unsettled
from bp_nop_dagster.transport.errors import (
    ApiError,
    AuthError,
    MalformedError,
    NotFoundError,
    TransientError,
    ValidationError,
)

log = logging.getLogger("bp_nop_dagster.sync.fate")

#: Records in a row that fail transiently before the systems they failed on are probed.
BREAKER_THRESHOLD = 3
#: A system's pause after an outage: first, then doubling per consecutive outage, up to the cap.
OUTAGE_PAUSE_FIRST = timedelta(seconds=5)
OUTAGE_PAUSE_CAP = timedelta(seconds=20)
#: How often a running run reads the pauses other flows may have written (one ledger read).
PAUSE_CHECK_EVERY = timedelta(seconds=1)
_PAUSE_PREFIX = "outage/"
#: The systems the flows call, as `ApiError.system` and the clients' `system` spell them (the
#: keys of `Fates.probes`). Every flow with a sensor calls both.
BRIGHTPEARL = "Brightpearl"
NOPCOMMERCE = "nopCommerce"
SYSTEMS = (BRIGHTPEARL, NOPCOMMERCE)

# What `settle` decided for a record (`Outcome.fate`).
DONE = "done"  # the work ended the record itself (synced)
SKIPPED = "skipped"
DEAD_LETTERED = "dead_lettered"
RETRYING = "retrying"  # charged a failed attempt; due again after the policy's delay
HELD = "held"  # a transient failure waiting for the breaker's verdict (charged or postponed later)
POSTPONED = "postponed"  # not charged: another run holds it, or an outage
UNSETTLED = "unsettled"  # not charged: a create's outcome unknown, for the next pass's bulk lookup


class GatewayRefused(Exception):
    """A payment gateway refused to move money (a refund): nothing changed; the message is the
    gateway's own words, kept in the dead letter for the person who must act on it."""


class SystemicOutage(Exception):
    """The other system is down or throttling: records in a row failed transiently and a probe
    failed too, or another flow found it so (`found_by`). The run stops; no record was charged
    for it; every flow pauses until `until`."""

    def __init__(self, flow: str, systems: list[str], until: datetime, cause: BaseException | None,
                 found_by: str | None = None) -> None:
        self.flow, self.systems, self.until = flow, systems, until
        names = ", ".join(systems) or "the other system"
        why = f"the {found_by} flow found it down" if found_by and found_by != flow else str(cause)
        super().__init__(f"{flow}: {names} is not answering ({why}); the run stops without charging its records, "
                         f"and every flow pauses until {until.isoformat(timespec='seconds')}")


@dataclass
class Outcome:
    """What became of one record in `settle` (read it after the block)."""

    kind: str
    key: str
    fate: str = DONE
    reason: str | None = None


@dataclass
class _Failure:
    kind: str
    key: str
    error: BaseException
    payload: dict
    outcome: Outcome


@dataclass(frozen=True)
class Pause:
    """A system's pause after an outage: no run of any flow before `until`; `outages` of the
    system in a row so far; `found_by` names the flow whose probe found it down."""

    until: datetime
    outages: int
    systems: tuple[str, ...] = ()
    found_by: str | None = None


def pause_name(system: str) -> str:
    """The ledger key of `system`'s pause (one ledger is one pair, so one account per system)."""
    return f"{_PAUSE_PREFIX}system/{system}"


def read_pause(ledger: Ledger, system: str) -> Pause | None:
    """`system`'s last pause (ended or not), or None."""
    raw = ledger.get_watermark(pause_name(system))
    data = json.loads(raw) if raw else None
    if not data:
        return None
    return Pause(until=datetime.fromisoformat(data["until"]), outages=int(data["outages"]), systems=(system,),
                 found_by=data.get("found_by"))


def pause_length(outages: int) -> timedelta:
    """The pause after the `outages`-th outage in a row: 5 s, 10 s, then 20 s."""
    return min(OUTAGE_PAUSE_CAP, OUTAGE_PAUSE_FIRST * 2 ** max(0, outages - 1))


def active_pause(ledger: Ledger, now: datetime, systems: Iterable[str] = SYSTEMS) -> Pause | None:
    """The pause that stops a flow calling `systems` now: every active pause among them, whichever
    flow wrote it, merged (the latest end), else None. One ledger read per system."""
    active = [pause for pause in (read_pause(ledger, system) for system in systems) if pause is not None and pause.until > now]
    if not active:
        return None
    last = max(active, key=lambda pause: pause.until)
    return Pause(until=last.until, outages=last.outages, systems=tuple(system for pause in active for system in pause.systems),
                 found_by=last.found_by)


def describe_pause(pause: Pause) -> str:
    found = f" (found by the {pause.found_by} flow)" if pause.found_by else ""
    return (f"paused after an outage of {', '.join(pause.systems) or 'the other system'}{found} "
            f"until {pause.until.isoformat(timespec='seconds')}")


def work_due(ledger: Ledger, kinds: tuple[str, ...], now: datetime, systems: Iterable[str] = SYSTEMS) -> tuple[int, str]:
    """How many records of `kinds` a run would work on now, and why none when 0: a system the
    flow calls (`systems`) is paused after an outage any flow found, or nothing is due (records
    waiting out their backoff are not due; the sensor asks again once `next_due` has come).
    Ledger reads only."""
    pause = active_pause(ledger, now, systems)
    if pause is not None:
        return 0, describe_pause(pause)
    due = sum(len(ledger.pending(kind)) for kind in kinds)
    if due:
        return due, ""
    waits = [when for when in (ledger.next_due(kind) for kind in kinds) if when is not None]
    if waits:
        return 0, f"nothing due; the next failed record is due at {min(waits).isoformat(timespec='seconds')}"
    return 0, "nothing pending"


@dataclass
class Fates:
    """The fate of every record one run of `flow` works on (one instance per run).

    `probes`: system name (as `ApiError.system` spells it) -> one cheap read of that system; the
    systems the run calls, so also those whose pause stops it (`check_pause`).
    `tally` counts the fates (`Outcome.fate` values, and "gave_up")."""

    ledger: Ledger
    flow: str
    probes: Mapping[str, Callable[[], object]]
    policy: RetryPolicy = DEFAULT_POLICY
    threshold: int = BREAKER_THRESHOLD
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    pause_check_every: timedelta = PAUSE_CHECK_EVERY
    tally: Counter = field(default_factory=Counter)
    _held: list[_Failure] = field(default_factory=list, init=False, repr=False)
    _answered: bool = field(default=False, init=False, repr=False)
    _pause_checked_at: datetime | None = field(default=None, init=False, repr=False)
    _unsettled: set[tuple[str, str]] = field(default_factory=set, init=False, repr=False)

    # ------------------------------------------------------------------ one record
    @contextmanager
    def settle(self, kind: str, key: str, *, payload: dict | None = None) -> Iterator[Outcome]:
        """Run one record's work (the block) and give the record its fate (module docstring).
        AuthError and SystemicOutage propagate; so does anything that is not an Exception
        (a run being stopped)."""
        kind = RecordKind(kind).value
        self.check_pause()
        outcome = Outcome(kind, key)
        payload = payload or {}
        try:
            yield outcome
        except (AuthError, SystemicOutage):
            raise
        except Held as error:
            until = error.until or self.clock() + timedelta(seconds=self.lease_seconds)
            self._postpone(kind, key, max(until, self.clock()), str(error), outcome)
            return
        except Unsettled as error:
            if (kind, key) not in self._unsettled:  # the next pass's bulk lookup settles it, at no charge
                self._unsettled.add((kind, key))
                outcome.fate = UNSETTLED
                self.tally[UNSETTLED] += 1
                return
            self._hold(_Failure(kind, key, error, payload, outcome))  # again in this run: a failed attempt
        except (MappingError, FulfilmentMappingError) as error:
            self._dead_letter(kind, key, error.reason, None, error.message, payload, outcome)
        except ValidationError as error:
            if error.system == BRIGHTPEARL and reference_check.names_reference_data(error):
                reference_check.forget(self.ledger)  # the account's reference data may have changed: re-check
            self._dead_letter(kind, key, DeadLetterReason.VALIDATION_ERROR, error.code, error.server_message, payload, outcome)
        except GatewayRefused as error:
            self._dead_letter(kind, key, DeadLetterReason.GATEWAY_REFUSED, None, str(error), payload, outcome)
        except NotFoundError as error:
            self._dead_letter(kind, key, DeadLetterReason.NOT_FOUND, str(error.status or "404"), str(error), payload, outcome)
        except MalformedError as error:
            self._dead_letter(kind, key, DeadLetterReason.MALFORMED_RECORD, None, str(error), payload, outcome)
        except (TransientError, Deferred) as error:
            if is_transient(error):
                self._hold(_Failure(kind, key, error, payload, outcome))
            else:
                self.answered()  # a wait on other records, not a failure of the other system
                self._charge(kind, key, error, payload, outcome)
            return
        except Exception as error:  # noqa: BLE001 - one record's bug must not stop the flow (principle 12)
            log.exception("%s %s: unexpected %s", kind, key, type(error).__name__)
            self._dead_letter(kind, key, DeadLetterReason.UNEXPECTED, type(error).__name__, f"{type(error).__name__}: {error}",
                              payload, outcome)
        else:
            self.answered()

    def skip(self, kind: str, key: str, reason: str, *, confirmed: bool) -> Outcome:
        """Skip a record with `reason`. A `confirmed` cause (read twice, or not temporary) is
        final at once; any other is a failed attempt first, and final when the next attempt
        finds the same reason."""
        outcome = Outcome(RecordKind(kind).value, key, reason=reason)
        record = None if confirmed else self.ledger.status(kind, key)
        if confirmed or (record is not None and record.status in ("pending", "failed") and record.last_error == reason):
            self.ledger.mark_skipped(kind, key, reason)
            outcome.fate = SKIPPED
            self.tally[SKIPPED] += 1
        else:
            self._charge(kind, key, _Recheck(reason), {}, outcome)
        return outcome

    def answered(self) -> None:
        """The other system answered (a record succeeded, or was refused): the held failures
        were the records' own, so they are charged now."""
        self._answered = True
        held, self._held = self._held, []
        for failure in held:
            self._charge(failure.kind, failure.key, failure.error, failure.payload, failure.outcome)

    def check_pause(self) -> None:
        """Stop the run (`SystemicOutage`, nothing charged) when a system it calls is paused,
        whichever flow found the outage: called before each record and before the run's first
        reads (`mapping_of`). Reads the ledger at most once per `pause_check_every`; held
        failures are postponed to the pause's end, not charged."""
        now = self.clock()
        if self._pause_checked_at is not None and now - self._pause_checked_at < self.pause_check_every:
            return
        self._pause_checked_at = now
        pause = active_pause(self.ledger, now, self.probes)
        if pause is None:
            return
        held, self._held = self._held, []
        for failure in held:
            self._postpone(failure.kind, failure.key, pause.until, f"not charged: {describe_pause(pause)}", failure.outcome)
        self.tally["paused"] += 1
        raise SystemicOutage(self.flow, list(pause.systems), pause.until, None, found_by=pause.found_by)

    def finish(self) -> None:
        """End of the run: held failures are judged (probe), and the ended pauses of the systems
        this run's successes reached are cleared (the next outage starts again at 5 s). Raises
        SystemicOutage when the probe finds an outage."""
        if self._held:
            self._judge()
        if self._answered:
            now = self.clock()
            for system in self.probes:
                pause = read_pause(self.ledger, system)
                if pause is not None and pause.until <= now:  # one another flow has just written stays
                    self.ledger.set_watermark(pause_name(system), "{}")

    def failed_together(self, kind: str, keys: list[str], error: Exception) -> None:
        """A piece of work for several records at once failed as a whole (a stock push stopped):
        none of them is to blame alone. AuthError stands; a transient error whose system a probe
        finds down postpones them all without charge and pauses the flow (SystemicOutage);
        otherwise each is charged a failed attempt (so a push that keeps failing ends in the
        dead-letter queue, `gave_up`)."""
        if isinstance(error, AuthError):
            return
        if is_transient(error):
            down = self._down([_system(error)])
            if down:
                self._pause(down, error, [_Failure(kind, key, error, {}, Outcome(kind, key)) for key in keys])
        for key in keys:
            self._charge(kind, key, error, {}, Outcome(kind, key))

    def read_failed(self, error: TransientError) -> None:
        """A read the whole run needs (not one record's) failed after the retry policy: when a
        probe finds its system down too, the flow pauses and the run stops (`SystemicOutage`);
        otherwise the error stands and stops the run. No record is charged either way."""
        down = self._down([error.system])
        if down:
            self._pause(down, error)
        raise error

    # ------------------------------------------------------------------ the breaker
    def _hold(self, failure: _Failure) -> None:
        failure.outcome.fate = HELD
        self._held.append(failure)
        if len(self._held) >= self.threshold:
            self._judge()

    def _judge(self) -> None:
        """Probe the systems the held failures came from: all answer -> the failures were the
        records' own and are charged; one does not -> they are postponed, the flow pauses and
        the run stops."""
        held, self._held = self._held, []
        down = self._down([_system(failure.error) for failure in held])
        if not down:
            for failure in held:
                self._charge(failure.kind, failure.key, failure.error, failure.payload, failure.outcome)
            return
        self._pause(down, held[-1].error, held)

    def _down(self, named: list[str | None]) -> list[str]:
        """The systems among `named` (every probed system when one is unknown) whose probe fails."""
        systems = set(self.probes) if None in named else set(named) & set(self.probes)
        down = []
        for system in sorted(systems):
            try:
                self.probes[system]()
            except AuthError:
                raise
            except ApiError as error:
                log.warning("%s: probe of %s failed: %s", self.flow, system, error)
                down.append(system)
        return down

    def _pause(self, down: list[str], cause: BaseException, held: list[_Failure] = ()) -> None:
        """Store the pause of each system in `down` (for every flow), postpone `held` to the end
        of the longest without charging them, and stop."""
        now = self.clock()
        until = now
        for system in down:
            previous = read_pause(self.ledger, system)
            if previous is not None and previous.until > now:  # another flow paused it first: that pause stands
                until = max(until, previous.until)
                continue
            recent = previous is not None and previous.until + 2 * OUTAGE_PAUSE_CAP >= now
            outages = previous.outages + 1 if recent else 1
            ends = now + pause_length(outages)
            self.ledger.set_watermark(pause_name(system), json.dumps({"until": ends.isoformat(), "outages": outages, "found_by": self.flow}))
            until = max(until, ends)
        for failure in held:
            note = f"not charged: {', '.join(down)} not answering ({failure.error})"
            self._postpone(failure.kind, failure.key, until, note, failure.outcome)
        self.tally["outages"] += 1
        raise SystemicOutage(self.flow, down, until, cause) from cause

    # ------------------------------------------------------------------ ledger writes
    def _charge(self, kind: str, key: str, error: BaseException, payload: dict, outcome: Outcome) -> None:
        fate = self.ledger.mark_failed(kind, key, str(error), policy=self.policy, payload=payload)
        if fate.dead_lettered:
            outcome.fate, outcome.reason = DEAD_LETTERED, DeadLetterReason.GAVE_UP.value
            self.tally[DEAD_LETTERED] += 1
            self.tally["gave_up"] += 1
            log.warning("%s %s dead-lettered: gave up after %d failed attempts: %s", kind, key, fate.attempts, error)
        else:
            outcome.fate = RETRYING
            self.tally[RETRYING] += 1

    def _postpone(self, kind: str, key: str, until: datetime, note: str, outcome: Outcome) -> None:
        self.ledger.postpone(kind, key, until, note)
        outcome.fate = POSTPONED
        self.tally[POSTPONED] += 1

    def _dead_letter(self, kind: str, key: str, reason: str, code: str | None, message: str, payload: dict, outcome: Outcome) -> None:
        self.answered()
        self.ledger.dead_letter(kind, key, reason=str(reason), error_code=code, message=message, payload=payload)
        outcome.fate, outcome.reason = DEAD_LETTERED, str(reason)
        self.tally[DEAD_LETTERED] += 1
        log.warning("%s %s dead-lettered: %s %s %s", kind, key, reason, code or "", message)


def mapping_of(config: MappingConfig | Callable[[], MappingConfig], fates: Fates) -> MappingConfig:
    """The run's mapping: `config`, or what the function returns; a transient failure of its reads
    (checking the mapping against the account) goes through `Fates.read_failed`."""
    fates.check_pause()  # no reads while another flow found a system down
    if isinstance(config, MappingConfig):
        return config
    try:
        return config()
    except TransientError as error:
        fates.read_failed(error)
        raise  # unreachable: read_failed raises


class _Recheck(Exception):
    """A skip waiting for its re-check (the message is the skip's reason, stored as last error)."""


def is_transient(error: BaseException) -> bool:
    """A failure of the other system rather than of the record's own making: a transient API
    error, or a `Deferred` caused by one (a create still unconfirmed after its retries)."""
    if isinstance(error, TransientError):
        return True
    return isinstance(error, Deferred) and isinstance(error.__cause__, TransientError)


def _system(error: BaseException) -> str | None:
    """The system a failure came from (`ApiError.system`), looking through a `Deferred`."""
    for candidate in (error, error.__cause__):
        if isinstance(candidate, ApiError):
            return candidate.system
    return None
