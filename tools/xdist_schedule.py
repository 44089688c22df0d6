"""Estimate how long `make test`'s pytest run takes on two workers under each way of handing out
the tests, from measured per-test durations, without running the whole suite.

It replays pytest-xdist 3.8's `--dist loadfile` scheduler (LoadScopeScheduling): a file is a unit;
the queue is ordered by tests per file (xdist's default) or by collection order
(`--no-loadscope-reorder`); each worker gets one unit, then one more while two tests or fewer
are pending on it, and again after each finished test. The collection order is a pytest-randomly
shuffle of the files and of the tests in each file, over many seeds; "slow first" is the stable
sort of bp_nop_dagster_tests/conftest.py.

Durations: pytest `--junitxml` files and the "slowest durations" section of pytest logs
(`--durations=N`, setup + call + teardown summed); a test found in neither takes `--default`
seconds (measure it on a few fast directories). Times measured on a busy machine are longer
than on an idle one: compare the lines with each other, not with a clock.

    .venv/bin/python tools/xdist_schedule.py --junit slow.xml --durations-log e2e.log --default 0.373
"""

from __future__ import annotations

import argparse
import heapq
import random
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

DURATION_LINE = re.compile(r"^([0-9.]+)s (setup|call|teardown)\s+(\S+)$")
E2E_FILES = ("e2e/test_kill_9_under_a_storm.py", "e2e/test_two_deployments.py")


def collected(*args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", *args],
                         capture_output=True, text=True, check=False).stdout
    return [line.strip() for line in out.splitlines() if "::" in line]


def measured(junits: list[str], logs: list[str]) -> dict[str, float]:
    times: dict[str, float] = defaultdict(float)
    for path in junits:
        for case in ET.parse(path).getroot().iter("testcase"):
            times[f"{case.get('classname').replace('.', '/')}.py::{case.get('name')}"] = float(case.get("time"))
    for path in logs:
        for line in open(path, errors="replace"):
            match = DURATION_LINE.match(line.strip())
            if match:
                times[match[3]] += float(match[1])
    return times


def makespan(units: list[list[float]], workers: int = 2) -> float:
    queue, pending, done = list(units), [[] for _ in range(workers)], [0.0] * workers

    def assign(worker: int) -> None:
        if queue:
            pending[worker].extend(queue.pop(0))

    for worker in range(workers):
        assign(worker)
    for worker in range(workers):
        if len(pending[worker]) <= 2:
            assign(worker)
    events = [(0.0, worker) for worker in range(workers)]
    while events:
        now, worker = heapq.heappop(events)
        if not pending[worker]:
            done[worker] = now
            continue
        end = now + pending[worker].pop(0)
        if len(pending[worker]) <= 2:
            assign(worker)
        heapq.heappush(events, (end, worker))
    return max(done)


def units(tests: dict[str, float], slow: set[str], seed: int, *, reorder: bool, slow_first: bool) -> list[list[float]]:
    rnd = random.Random(seed)
    files: dict[str, list[str]] = defaultdict(list)
    for nodeid in tests:
        files[nodeid.split("::")[0]].append(nodeid)
    names = list(files)
    rnd.shuffle(names)
    items = [nodeid for name in names for nodeid in rnd.sample(files[name], len(files[name]))]
    if slow_first:
        items.sort(key=lambda nodeid: nodeid not in slow)
    by_file: dict[str, list[float]] = {}
    for nodeid in items:
        by_file.setdefault(nodeid.split("::")[0], []).append(tests[nodeid])
    result = list(by_file.values())
    if reorder:
        result.sort(key=lambda unit: -len(unit))
    return result


def one_e2e_file(nodeid: str) -> str:
    for name in E2E_FILES:
        nodeid = nodeid.replace(name, "e2e/test_fault_and_crash.py")
    return nodeid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--junit", action="append", default=[])
    parser.add_argument("--durations-log", action="append", default=[])
    parser.add_argument("--default", type=float, required=True, help="seconds for a test measured nowhere")
    parser.add_argument("--seeds", type=int, default=400)
    args = parser.parse_args()
    times = measured(args.junit, args.durations_log)
    nodeids, slow = collected(), set(collected("-m", "slow"))
    tests = {nodeid: times.get(nodeid, args.default) for nodeid in nodeids}
    print(f"{len(tests)} tests, {sum(n in times for n in nodeids)} measured, {sum(tests.values()):.0f} s in all; "
          f"lower bound {max(sum(tests.values()) / 2, max(tests.values())):.0f} s")
    merged = {one_e2e_file(n): t for n, t in tests.items()}
    merged_slow = {one_e2e_file(n) for n in slow}
    for label, data, slow_set, reorder, slow_first in [
        ("before: --dist loadfile, e2e in one file", merged, merged_slow, True, False),
        ("slow first, --no-loadscope-reorder, e2e in one file", merged, merged_slow, False, True),
        ("after: slow first, --no-loadscope-reorder, e2e in three files", tests, slow, False, True),
    ]:
        spans = sorted(makespan(units(data, slow_set, seed, reorder=reorder, slow_first=slow_first)) for seed in range(args.seeds))
        print(f"{label}: median {spans[len(spans) // 2]:.0f} s, p90 {spans[len(spans) * 9 // 10]:.0f} s, worst {spans[-1]:.0f} s")


if __name__ == "__main__":
    main()
