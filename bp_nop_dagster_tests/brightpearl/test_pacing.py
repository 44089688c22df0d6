"""QuotaPacer: own sliding-window budget and server-header back-off, on a fake clock.

The HTTP drain against the sandbox throttle is in test_client.py (`test_pacer_drains_without_a_503`).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bp_nop_dagster.brightpearl.pacing import QuotaPacer


class FakeClock:
    """A clock that only moves when slept on (or advanced by the test)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "the pacer must never sleep for nothing"
        self.sleeps.append(seconds)
        self.now += seconds


def make(quota=200, window=60.0, headroom=0.10):
    clock = FakeClock()
    return QuotaPacer(quota, window, headroom, clock=clock, sleep=clock.sleep), clock


def headers(remaining, period_ms=None):
    h = {"brightpearl-requests-remaining": str(remaining)}
    if period_ms is not None:
        h["brightpearl-next-throttle-period"] = str(period_ms)
    return h


def test_limit_is_floor_of_quota_without_headroom():
    assert make(200, 60, 0.10)[0].limit == 180
    assert make(20, 2, 0.10)[0].limit == 18
    assert make(7, 1, 0.5)[0].limit == 3
    assert make(1, 1, 0.5)[0].limit == 1  # never zero
    assert make(200, 60, 0.10)[0].reserve == pytest.approx(20)


def test_full_budget_goes_at_once_then_waits_for_the_oldest_to_leave():
    pacer, clock = make(200, 60, 0.10)
    for _ in range(180):
        assert pacer.acquire() == 0
    assert clock.sleeps == []
    assert pacer.acquire() == pytest.approx(60.0)
    assert clock.sleeps == [pytest.approx(60.0)]
    assert pacer.in_window() == 1  # at t+60 the first 180 have left the window


def test_window_slides_request_by_request():
    pacer, clock = make(10, 10, 0.0)
    for _ in range(10):
        pacer.acquire()
        clock.now += 1.0  # one a second: t = 1000..1009
    # t = 1010: the request of t = 1000 just left the window
    assert pacer.acquire() == 0
    # the next one has to wait for the request sent at t = 1001
    assert pacer.acquire() == pytest.approx(1.0)


def test_remaining_header_at_reserve_waits_for_the_period():
    pacer, clock = make(200, 60, 0.10)
    pacer.acquire()
    pacer.observe(headers(20, 1500))  # 20 <= reserve 20
    assert pacer.acquire() == pytest.approx(1.5)


def test_remaining_header_above_reserve_does_not_wait():
    pacer, clock = make(200, 60, 0.10)
    pacer.acquire()
    pacer.observe(headers(21, 59000))
    assert pacer.acquire() == 0
    assert clock.sleeps == []


def test_reserve_without_a_period_waits_a_whole_window():
    pacer, clock = make(20, 2.0, 0.10)
    pacer.observe(headers(0))
    assert pacer.acquire() == pytest.approx(2.0)


@pytest.mark.parametrize("bad", [{}, {"brightpearl-requests-remaining": "lots"}, {"brightpearl-next-throttle-period": "10"}])
def test_missing_or_garbage_headers_are_ignored(bad):
    pacer, clock = make()
    pacer.observe(bad)
    assert pacer.acquire() == 0


def test_block_for_holds_requests():
    pacer, clock = make()
    pacer.block_for(3.25)
    assert pacer.acquire() == pytest.approx(3.25)
    assert pacer.acquire() == 0


def test_a_sleep_that_does_not_move_the_clock_cannot_hang_the_pacer():
    calls = []
    pacer = QuotaPacer(2, 10.0, 0.0, clock=lambda: 0.0, sleep=calls.append)
    for _ in range(6):
        pacer.acquire()
    # it trusted each sleep to have lasted (virtual time) instead of spinning on a frozen clock
    assert calls and all(c > 0 for c in calls)


def test_a_sleep_that_ends_early_is_topped_up():
    clock = FakeClock(0.0)
    first = []

    def short_then_exact(seconds: float) -> None:
        clock.sleeps.append(seconds)
        clock.now += seconds * (0.9 if not first else 1.0)
        first.append(1)

    pacer = QuotaPacer(1, 10.0, 0.0, clock=clock, sleep=short_then_exact)
    pacer.acquire()
    pacer.acquire()
    assert clock.sleeps == [pytest.approx(10.0), pytest.approx(1.0)]
    assert clock.now >= 10.0


@pytest.mark.parametrize("kwargs", [{"quota": 0}, {"window_seconds": 0}, {"headroom": 1.0}, {"headroom": -0.1}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        QuotaPacer(**kwargs)


# --- property: never more than floor(quota*(1-headroom)) in any sliding window ----------------

steps = st.lists(
    st.tuples(
        # time passing before the request (often none: bursts)
        st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=5.0, allow_nan=False, allow_infinity=False)),
        # the response's headers: remaining (or absent) and next period ms (or absent)
        st.one_of(st.none(), st.integers(min_value=0, max_value=60)),
        st.one_of(st.none(), st.integers(min_value=0, max_value=5000)),
    ),
    min_size=1,
    max_size=150,
)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    quota=st.integers(min_value=1, max_value=40),
    window=st.sampled_from([0.5, 1.0, 2.0, 3.7, 60.0]),
    headroom=st.sampled_from([0.0, 0.05, 0.10, 0.25, 0.5]),
    steps=steps,
)
@example(  # found by hypothesis: a float sum an ulp short of the window's end
    quota=10, window=60.0, headroom=0.5,
    steps=[(2.6351256180798726, None, None)] + [(0.0, None, None)] * 4 + [(2.0, None, None)],
)
def test_never_more_than_the_budget_in_any_window(quota, window, headroom, steps):
    clock = FakeClock(start=0.0)
    pacer = QuotaPacer(quota, window, headroom, clock=clock, sleep=clock.sleep)
    limit = max(1, math.floor(quota * (1 - headroom)))
    sent: list[float] = []
    for gap, remaining, period_ms in steps:
        clock.now += gap
        pacer.acquire()
        sent.append(clock.now)
        h = {}
        if remaining is not None:
            h["brightpearl-requests-remaining"] = str(remaining)
        if period_ms is not None:
            h["brightpearl-next-throttle-period"] = str(period_ms)
        pacer.observe(h)
    assert sent == sorted(sent)
    for i, start in enumerate(sent):
        in_window = sum(1 for t in sent[i:] if t < start + window)
        assert in_window <= limit, f"{in_window} requests within {window}s of t={start} (limit {limit})"


@settings(max_examples=200, deadline=None)
@given(
    quota=st.integers(min_value=1, max_value=40),
    gaps=st.lists(st.floats(min_value=0.0, max_value=3.0, allow_nan=False), min_size=1, max_size=100),
)
def test_without_server_pressure_it_only_waits_when_its_window_is_full(quota, gaps):
    clock = FakeClock(start=0.0)
    pacer = QuotaPacer(quota, 2.0, 0.10, clock=clock, sleep=clock.sleep)
    for gap in gaps:
        clock.now += gap
        full = pacer.in_window() >= pacer.limit
        waited = pacer.acquire()
        assert (waited > 0) == full
