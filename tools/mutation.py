"""Mutation testing of one package with mutmut (`make mutation PACKAGE=ledger [EVERY=k]`), and the
report of what it found (`make mutation-report`). See docs/mutation.md.

    python tools/mutation.py run PACKAGE [--every K]
    python tools/mutation.py report [PACKAGE[:K] ...]

`run` tests the mutants of `bp_nop_dagster/PACKAGE` (each against only the tests that reach the
mutated function: mutmut learns that once, from the selection in pyproject's `[tool.mutmut]`, or
from the package's own narrower selection in `SELECTION`).
`--every K` tests a deterministic sample instead: every K-th mutant by name. `report` prints, per
package (`PACKAGE:K`: only the sample of every K-th), the kill rate over the mutants tested so far
and every survivor with file:line and what changed, as Markdown (the tables in docs/mutation.md). Results live in `mutants/` (git-ignored)
and accumulate across runs.

Relies on mutmut's internals for generation and results (pinned exactly: the `mutation` extra).
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("sync", "mapping", "transport", "ledger")
ROOT = Path(__file__).resolve().parents[1]
KILLED = {"killed", "timeout", "caught by type check"}
# A package whose mutants are measured against fewer tests than pyproject's selection (which
# mutmut runs whole once, with tracing, to learn which tests reach which function; one failing
# test there stops the run). Narrower is conservative: a mutant only a left-out test would catch
# counts as survived. `transport/`: every request of every flow goes through it, so with the
# whole selection one surviving transport mutant runs every flow test (minutes each); its own
# tests and the two clients' tests (its only callers) exercise all of it. `sync/`: the flows' own
# tests and the fate policy's, and the Dagster wiring tests (`defs/`) of the flows reached only
# through their assets, without the order flow's file (its own tests cover `orders.py`, and one of
# its tests, a real-clock backoff check, fails under tracing load; the customer flow's are `slow`). `ledger/`: its own tests (SQLite and PostgreSQL) and the flows'
# (`sync/`, the ledger's callers without Dagster), for the same reason; `mapping/` (pure rules):
# its own tests and the flows'.
# Every `defs/` test file but the order flow's, found afresh each run (so a new file is measured).
SYNC_DEFS = sorted(p.stem for p in (ROOT / "bp_nop_dagster_tests" / "defs").glob("test_*.py") if p.name != "test_order_flow.py")
SELECTION = {
    "transport": ["bp_nop_dagster_tests/transport", "bp_nop_dagster_tests/brightpearl", "bp_nop_dagster_tests/nopcommerce"],
    "sync": ["bp_nop_dagster_tests/sync", "bp_nop_dagster_tests/ledger/test_fate.py",
             # the flows reached only through their assets (refunds, journals, catalogue, purchase
             # orders, quality, reports, source tables): every `defs/` file but the order flow's
             *(f"bp_nop_dagster_tests/defs/{name}.py" for name in SYNC_DEFS),
             "bp_nop_dagster_tests/quality/test_wiring_offline.py", "bp_nop_dagster_tests/test_store_pairs_catalogue_owner.py"],
    "ledger": ["bp_nop_dagster_tests/ledger", "bp_nop_dagster_tests/sync"],
    "mapping": ["bp_nop_dagster_tests/mapping", "bp_nop_dagster_tests/sync"],
}


def _mutmut():
    """mutmut's own modules, imported from the project root (it reads pyproject.toml from cwd)."""
    os.chdir(ROOT)
    import mutmut.__main__ as main
    from mutmut.mutation import diff_apply
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code

    return main, diff_apply, SourceFileMutationData, status_by_exit_code


def _results(package: str) -> dict[str, tuple[Path, int | None]]:
    """Every mutant of `package`: name -> (source file, exit code or None when not tested yet)."""
    _, _, SourceFileMutationData, _ = _mutmut()
    found = {}
    for source in sorted((ROOT / "bp_nop_dagster" / package).rglob("*.py")):
        data = SourceFileMutationData(path=source.relative_to(ROOT))
        data.load()
        for name, code in data.exit_code_by_key.items():
            found[name] = (source.relative_to(ROOT), code)
    return found


def _generate() -> None:
    """Write the mutants (mutants/), as the first step of `mutmut run` does, without running any."""
    main, *_ = _mutmut()
    Path("mutants").mkdir(exist_ok=True)
    main.copy_src_dir()
    main.copy_also_copy_files()
    main.create_mutants(os.cpu_count() or 2)


def sample(results: dict, every: int) -> list[str]:
    """Every `every`-th mutant name in sorted order: the same sample on every machine and run."""
    return sorted(results)[::every]


def mutmut_run(package: str, names: list[str], tests: list[str] | None = None, with_slow: bool = False) -> int:
    """`mutmut run NAMES`, with the package's own test selection when it has one (mutmut reads
    its selection from pyproject; its workers are forks, so setting it here reaches them), or with
    `tests` instead; `with_slow` drops pyproject's `-m "not slow"` (for mutants whose only tests
    are marked slow). Another selection makes mutmut forget the verdicts kept in `mutants/`."""
    main, *_ = _mutmut()
    from mutmut.configuration import config

    if tests or package in SELECTION:
        config().pytest_add_cli_args_test_selection = list(tests or SELECTION[package])
    if with_slow:
        args = list(config().pytest_add_cli_args)
        at = args.index("-m")
        config().pytest_add_cli_args = args[:at] + args[at + 2 :]
    return main.cli(["run", *names], standalone_mode=False) or 0


def run(package: str, every: int) -> int:
    os.chdir(ROOT)
    mutmut = [sys.executable, str(Path(__file__).resolve()), "mutmut-run", package]
    if every == 1:
        return subprocess.call([*mutmut, f"bp_nop_dagster.{package}.*"])
    _generate()
    results = _results(package)
    names = sample(results, every)
    untested = [name for name in names if results[name][1] is None]
    print(f"{package}: sample of {len(names)} mutants (every {every}th of {len(results)}), "
          f"{len(names) - len(untested)} already tested, testing {len(untested)}", flush=True)
    if not untested:
        return 0
    return subprocess.call([*mutmut, *untested])


@dataclass
class Survivor:
    where: str
    change: str


def _function_start(tree: ast.Module, mangled: str) -> int | None:
    """The first line (decorators included) of the function mutmut names `mangled`:
    `x_name` for a module function, `xǁClassǁname` for a method."""
    if mangled.startswith("xǁ"):
        _, class_name, function_name = mangled.split("ǁ")
        scopes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name]
        bodies = [n.body for n in scopes]
    else:
        function_name, bodies = mangled[2:], [tree.body]
    for body in bodies:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function_name:
                return min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return None


def _survivor(name: str, source: Path) -> Survivor:
    """Where the mutant changed the source and how: the first changed line of mutmut's diff,
    found in the file near where the function's diff hunk says it is."""
    _, diff_apply, *_ = _mutmut()
    diff = diff_apply.get_diff_for_mutant(name, path=source).splitlines()
    removed = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    hunk = next((line for line in diff if line.startswith("@@")), "@@ -1 @@")
    offset = int(hunk.split()[1].lstrip("-").split(",")[0])
    text = source.read_text().splitlines()
    mangled = name.rpartition(".")[2].rsplit("__mutmut_", 1)[0]
    start = _function_start(ast.parse("\n".join(text)), mangled) or 1
    guess = start + offset - 1
    line = guess
    if removed:
        wanted = removed[0].strip()
        candidates = [i + 1 for i, t in enumerate(text) if t.strip() == wanted]
        if candidates:
            line = min(candidates, key=lambda n: abs(n - guess))
    before, after = _changed_part(" / ".join(r.strip() for r in removed), " / ".join(a.strip() for a in added))
    return Survivor(f"{source}:{line}", f"`{before}` → `{after}`".replace("|", "\\|"))


def _changed_part(before: str, after: str, context: int = 25) -> tuple[str, str]:
    """The two texts cut to what differs plus `context` characters either side (… marks a cut)."""
    prefix = 0
    while prefix < min(len(before), len(after)) and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(before), len(after)) - prefix and before[-1 - suffix] == after[-1 - suffix]:
        suffix += 1

    def cut(text: str) -> str:
        start, end = max(0, prefix - context), min(len(text), len(text) - suffix + context)
        return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")

    return cut(before), cut(after)


def report(packages: list[str], every: dict[str, int]) -> None:
    """The table and the survivors; a package in `every` counts only its sample's mutants."""
    *_, status_by_exit_code = _mutmut()
    rows, survivors = [], {}
    for package in packages:
        results = _results(package)
        counted = sample(results, every.get(package, 1))
        tested = {name: status_by_exit_code[results[name][1]] for name in counted if results[name][1] is not None}
        counts = Counter(tested.values())
        killed = sum(counts[s] for s in KILLED)
        rate = f"{100 * killed / len(tested):.1f}%" if tested else "-"
        scope = "all" if every.get(package, 1) == 1 else f"every {every[package]}th: {len(counted)}"
        rows.append(f"| `{package}/` | {len(results)} | {scope} | {len(tested)} | {killed} | {counts['survived']} | "
                    f"{counts['no tests']} | {counts['suspicious'] + counts['segfault']} | {rate} |")
        survivors[package] = [_survivor(name, results[name][0]) for name, status in sorted(tested.items())
                              if status not in KILLED]
    print("| package | mutants | measured | tested | killed | survived | no tests | suspicious | kill rate |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    for package, found in survivors.items():
        print(f"\n### `{package}/`: {len(found)} not killed\n")
        if found:
            print("| where | change |\n|---|---|")
            print("\n".join(f"| {s.where} | {s.change} |" for s in sorted(found, key=lambda s: _sort_key(s.where))))


def _sort_key(where: str) -> tuple[str, int]:
    path, _, line = where.rpartition(":")
    return path, int(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="test the mutants of one package")
    run_parser.add_argument("package", choices=PACKAGES)
    run_parser.add_argument("--every", type=int, default=1, help="test every K-th mutant only (a deterministic sample)")
    mutmut_parser = commands.add_parser("mutmut-run", help="mutmut run NAMES with the package's test selection (used by run)")
    mutmut_parser.add_argument("package", choices=PACKAGES)
    mutmut_parser.add_argument("names", nargs="+")
    mutmut_parser.add_argument("--tests", help="test selection instead of the package's: pytest paths, space-separated")
    mutmut_parser.add_argument("--with-slow", action="store_true", help="include tests marked slow")
    report_parser = commands.add_parser("report", help="kill rate and survivors per package, as Markdown")
    report_parser.add_argument("packages", nargs="*", metavar="PACKAGE[:K]",
                               help=f"default: {' '.join(PACKAGES)}; PACKAGE:K counts only the sample of every K-th mutant")
    args = parser.parse_args()
    if args.command == "run":
        if args.every < 1:
            parser.error("--every must be at least 1")
        return run(args.package, args.every)
    if args.command == "mutmut-run":
        return mutmut_run(args.package, args.names, args.tests.split() if args.tests else None, args.with_slow)
    every = {}
    for spec in args.packages or PACKAGES:
        package, _, k = spec.partition(":")
        if package not in PACKAGES or (k and not k.isdigit()) or k == "0":
            parser.error(f"not a PACKAGE[:K]: {spec!r}; packages: {' '.join(PACKAGES)}")
        every[package] = int(k or 1)
    report(list(every), every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
