"""The one retry policy of the project (DESIGN principle 4), used by both API clients.

Transient failures (connection errors, timeouts, 5xx, malformed replies, throttling) are retried
with exponential backoff and full jitter; a throttled reply waits at least the server's period,
and never longer than `limits.MAX_SERVER_WAIT_SECONDS`.
Validation, not-found and auth errors are never retried here. Requests that change state and are
not idempotent raise `OutcomeUnknownError` instead of being retried (see `Transport.request`).
"""

from __future__ import annotations

from dataclasses import dataclass

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bp_nop_dagster.transport.errors import OutcomeUnknownError, ThrottledError, TransientError
from bp_nop_dagster.transport.limits import capped_wait


@dataclass(frozen=True)
class RetrySettings:
    """How hard to try: attempts in all (first try included), and the backoff bounds in seconds."""

    max_attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 30.0
    jitter: float = 1.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_wait < 0 or self.max_wait < self.initial_wait:
            raise ValueError("need 0 <= initial_wait <= max_wait")


class _WaitHonouringThrottle:
    """Exponential backoff with jitter, but never shorter than a throttled reply's wait (capped)."""

    def __init__(self, settings: RetrySettings) -> None:
        self.backoff = wait_exponential_jitter(multiplier=settings.initial_wait, max=settings.max_wait, jitter=settings.jitter)

    def __call__(self, retry_state: RetryCallState) -> float:
        wait = self.backoff(retry_state)
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, ThrottledError):
            wait = max(wait, capped_wait(error.retry_after))
        return wait


def retrying(settings: RetrySettings, sleep=None) -> Retrying:
    """A tenacity `Retrying` for one logical request; re-raises the last error when it gives up."""
    kwargs = {"sleep": sleep} if sleep is not None else {}
    return Retrying(
        retry=retry_if_exception_type(TransientError) & retry_if_not_exception_type(OutcomeUnknownError),
        stop=stop_after_attempt(settings.max_attempts),
        wait=_WaitHonouringThrottle(settings),
        reraise=True,
        **kwargs,
    )
