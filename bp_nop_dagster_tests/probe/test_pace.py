"""The probe's gentle rate, on a fake clock: at least `interval` seconds between two requests to
one system, and never more than `brightpearl_per_minute` Brightpearl requests in any rolling
minute (the account's quota is 200 per rolling minute: help.brightpearl.com article 212644823;
the probe's cap is 5% by default, 10% at most)."""

from __future__ import annotations

import io

import pytest

from bp_nop_dagster.cli import build_parser
from bp_nop_dagster.probe.command import run_probe_command
from bp_nop_dagster.probe.endpoints import BRIGHTPEARL, ENDPOINTS, NOPCOMMERCE
from bp_nop_dagster.probe.runner import DEFAULT_BRIGHTPEARL_PER_MINUTE, MAX_BRIGHTPEARL_PER_MINUTE, Pace


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _send_times(pace: Pace, clock: FakeClock, systems: list[str]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {BRIGHTPEARL: [], NOPCOMMERCE: []}
    for system in systems:
        pace.wait(system)
        times[system].append(clock.now)
    return times


def test_defaults_keep_brightpearl_to_five_percent_and_one_request_a_second():
    clock = FakeClock()
    pace = Pace(clock=clock, sleep=clock.sleep)
    bp_calls = [e for e in ENDPOINTS if e.system == BRIGHTPEARL]
    times = _send_times(pace, clock, [BRIGHTPEARL] * len(bp_calls) + [NOPCOMMERCE] * 5)
    bp = times[BRIGHTPEARL]
    assert DEFAULT_BRIGHTPEARL_PER_MINUTE * 20 <= 200  # 5% of the quota
    for start in bp:
        assert sum(1 for t in bp if start <= t < start + 60) <= DEFAULT_BRIGHTPEARL_PER_MINUTE
    for series in times.values():
        assert all(b - a >= 1.0 for a, b in zip(series, series[1:]))
    # a first live check of the Brightpearl reads takes minutes, not hours
    assert 60 <= bp[-1] - bp[0] <= 5 * 60


def test_interval_zero_still_caps_brightpearl_per_minute():
    clock = FakeClock()
    pace = Pace(0.0, 3, clock=clock, sleep=clock.sleep)
    bp = _send_times(pace, clock, [BRIGHTPEARL] * 7)[BRIGHTPEARL]
    assert bp[:3] == [1000.0] * 3 and bp[3] == 1060.0 and bp[6] == 1120.0


@pytest.mark.parametrize("per_minute", [0, MAX_BRIGHTPEARL_PER_MINUTE + 1])
def test_more_than_ten_percent_of_the_quota_is_refused(per_minute):
    with pytest.raises(ValueError, match="10% of the quota"):
        Pace(1.0, per_minute)
    out = io.StringIO()
    args = build_parser().parse_args(["probe", "--brightpearl-per-minute", str(per_minute)])
    assert run_probe_command(args, out, {}) == 2 and "10% of the quota" in out.getvalue()
