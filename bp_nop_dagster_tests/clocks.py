"""Fake clocks for tests, so nothing waits for a lease, a token or a throttle window to pass.

- `VirtualSeconds`: monotonic seconds that move only when someone sleeps on it or `advance`s it.
  Shared by the Brightpearl simulator's throttle (`use_virtual_throttle`) and a client's pacer
  and retry waits, a wait for the throttle window takes no wall time and is exact.
- A fixed, settable UTC clock is `bp_nop_dagster_tests.ledger.clock.Clock`: the simulators'
  clocks (`world.nopcommerce.clock`, tokens' nbf/exp), a client's `clock=`, and, through the
  `ledger_clock` fixture (conftest), every ledger a test builds through `LedgerResource`.

What no fake clock can drive (another process starting or stopping, a server thread finishing a
request) is waited for with `wait_until`: a condition polled until it holds or a deadline passes,
never a fixed sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from bp_nop_dagster.sandbox.brightpearl.throttle import Throttle


T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, what: str, *, poll: float = 0.05) -> T:
    """`condition()`'s first truthy value, polled every `poll` seconds; AssertionError naming
    `what` once `timeout` seconds have passed without one."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)


class VirtualSeconds:
    """Seconds on a virtual monotonic clock; `sleep` records the wait and moves the clock."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def use_virtual_throttle(sandbox) -> VirtualSeconds:
    """Put the running sandbox's Brightpearl throttle (default quota and window; `PUT
    /__sandbox__/throttle` still reconfigures it) on a new virtual clock, and return the clock.
    The next sandbox reset builds a new backend with a real-time throttle again."""
    clock = VirtualSeconds()
    sandbox.world.brightpearl.throttle = Throttle(clock=clock)
    return clock
