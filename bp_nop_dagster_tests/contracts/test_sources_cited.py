"""Tests of simulator behaviour name their source (issue 19 item 4), and no test is one that cannot fail.

A test under sandbox/, brightpearl/, nopcommerce/ or contracts/ that asserts what a server does must
say where that comes from, in its docstring or a comment in (or just above) it: a doc page (DOC,
api-docs / help.brightpearl), a recording (REC, a `*.json` of the vendored recordings), the plugin
or core source (WAPI, CORE, PLUGIN, the contract), the reference notes (NOTES, §), a fidelity-table
row (FIDELITY '<subject>', a row of docs/fidelity.md), an integrator (AIRBYTE, MEDUSA, ...), the
client RULE it checks, or, where no source settles a behaviour, that there is none and the
FidelityOptions switch that covers both readings (the fidelity table's "inferred" rows). Named
recordings and fidelity rows must exist, so a citation cannot drift.

Exceptions are listed here by name with their reason: modules that assert no simulator behaviour,
and modules whose every test reads its expected values from one source file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bp_nop_dagster.contracts import BRIGHTPEARL_RECORDINGS
from bp_nop_dagster.sandbox.fidelity_doc import DOCUMENT

TESTS = Path(__file__).resolve().parents[1]
SCOPES = ("sandbox", "brightpearl", "nopcommerce", "contracts")

CITATION = re.compile(
    r"\b(DOC|REC|NOTES|FIDELITY|CONTRACT|PLUGIN|WAPI|CORE|HELP|RULE|RETURNS|AIRBYTE|MEDUSA|MAG|RFC|JAVA|VCR)\b"
    r"|api-docs|help\.brightpearl|\bhelp \d{6,}|\bdoc\b|webapi-contract|\brecordings?\b|\b[\w-]+\.json\b(?!\()|§"
    r"|FidelityOptions|\bno source\b")
RECORDING_NAME = re.compile(r"\b([a-z][a-z0-9_]*\.json)\b")
FIDELITY_ROW = re.compile(r"FIDELITY '([^']+)'")
SOURCE_FILES = {"webapi-contract.json", "documented.json"}

# Modules that assert no simulator behaviour: what they test instead.
NOT_WIRE = {
    "sandbox/test_generator.py": "the seeded shop's own promises (determinism, UTC anchor, planted data problems)",
    "sandbox/test_profiles.py": "the drift wrapper on a tiny ASGI app and the profile options",
    "sandbox/test_fidelity_doc.py": "docs/fidelity.md is the rendering of the facts (the sources live in the facts)",
    "brightpearl/test_pacing.py": "the client's own pacer on a fake clock",
    "brightpearl/test_resource.py": "Dagster resource configuration and secrets",
    "nopcommerce/test_resource.py": "Dagster resource configuration and secrets",
    "contracts/test_sources_cited.py": "this checker",
}

# Modules whose every test takes its expected values from one source, named in the module docstring;
# the token must occur in the module (the file or constant the tests read).
WHOLE_MODULE_SOURCE = {
    "brightpearl/test_sourced_wire.py": "BRIGHTPEARL_RECORDINGS",
    "brightpearl/test_returns_catalogue_wire.py": "BRIGHTPEARL_RECORDINGS",
    "brightpearl/test_contract_recordings.py": "BRIGHTPEARL_RECORDINGS",
    "sandbox/test_brightpearl_recordings.py": "BRIGHTPEARL_RECORDINGS",
    "sandbox/test_brightpearl_throttle.py": "212644823",
    "sandbox/test_nopcommerce_typescript_client.py": "manuel3108/nopcommerce-api",
    "contracts/test_conformance.py": "contracts.brightpearl_documented()",
    "contracts/test_nopcommerce_contract.py": "NOPCOMMERCE_CONTRACT",
    "contracts/test_cassettes.py": "BRIGHTPEARL_RECORDINGS",
    "nopcommerce/test_models.py": "NOTES_ORDER",
}


def _modules() -> list[tuple[str, Path]]:
    return [(f"{scope}/{path.name}", path) for scope in SCOPES for path in sorted((TESTS / scope).glob("test_*.py"))]


def _tests(path: Path) -> dict[str, str]:
    """Each test function's text: its decorators, body and the comment lines just above it."""
    source = path.read_text()
    lines = source.splitlines()
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            while start > 0 and lines[start - 1].strip().startswith("#"):
                start -= 1
            found[node.name] = "\n".join(lines[start:node.end_lineno])
    return found


def _fidelity_subjects() -> set[str]:
    assert DOCUMENT is not None and DOCUMENT.is_file()
    return {cell.strip().strip("`") for line in DOCUMENT.read_text().splitlines() if line.startswith("| ")
            for cell in line.split("|")[1:3]}


def test_every_test_of_simulator_behaviour_names_its_source():
    uncited = [f"{name}::{test}" for name, path in _modules() if name not in NOT_WIRE and name not in WHOLE_MODULE_SOURCE
               for test, text in _tests(path).items() if not CITATION.search(text)]
    assert uncited == [], "tests that name no source (DOC/REC/FIDELITY/WAPI/CORE/RULE ...)"


def test_exceptions_name_existing_modules_and_whole_module_sources_are_read():
    names = {name for name, _ in _modules()}
    assert set(NOT_WIRE) <= names and set(WHOLE_MODULE_SOURCE) <= names
    for name, token in WHOLE_MODULE_SOURCE.items():
        assert token in (TESTS / name).read_text(), f"{name} does not read {token}"


def test_named_recordings_and_fidelity_rows_exist():
    recordings = {p.name for p in BRIGHTPEARL_RECORDINGS.glob("*.json")} | SOURCE_FILES
    subjects = _fidelity_subjects()
    wrong: list[str] = []
    for name, path in _modules():
        if name in NOT_WIRE:
            continue
        for test, text in _tests(path).items():
            cited = "\n".join(line for line in text.splitlines() if "REC" in line or "recording" in line)
            wrong += [f"{name}::{test}: recording {r}" for r in RECORDING_NAME.findall(cited) if r not in recordings]
            wrong += [f"{name}::{test}: fidelity row {s!r}" for s in FIDELITY_ROW.findall(" ".join(text.replace('"""', " ").split()))
                      if s not in subjects]
    assert wrong == []


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def test_no_test_expects_any_exception_where_a_specific_error_is_meant():
    """`pytest.raises(Exception)` (or BaseException) passes on any bug at all: every expected error is named."""
    broad: list[str] = []
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "raises" and node.args:
                if _names(node.args[0]) & {"Exception", "BaseException"}:
                    broad.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert broad == []


def test_every_test_asserts_something():
    """A test with no assert, no expected error and no assert_/check_/expect_ helper cannot fail on a wrong value."""
    empty: list[str] = []
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                calls = {n for n in _names(node) if n.lstrip("_").startswith(("assert", "check", "expect", "verify")) or n in {"raises", "warns", "fail"}}
                if not calls and not any(isinstance(n, ast.Assert) for n in ast.walk(node)):
                    empty.append(f"{path.relative_to(TESTS)}::{node.name}")
    assert empty == []
