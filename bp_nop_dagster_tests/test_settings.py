"""Every environment variable is named in one module, `bp_nop_dagster/settings.py` (issue 12, F):
elsewhere the code reads `os.environ.get(settings.X)` / `dg.EnvVar(settings.X)`, never a literal
name, so the README's "Configuration" table can be checked against one list."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bp_nop_dagster import settings

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*(ROOT / "bp_nop_dagster").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
SETTINGS_FILE = ROOT / "bp_nop_dagster" / "settings.py"
# Our prefixes and Dagster's variables we read (DAGSTER_HOME, DAGSTER_PG_*).
VARIABLE_NAME = re.compile(r"(BP_NOP|BRIGHTPEARL|NOPCOMMERCE|DAGSTER)_[A-Z0-9_]+")
READERS = {"get", "getenv", "EnvVar", "setdefault", "pop"}


def literal_variable_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants that are variable names, and reads of the environment by a literal."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and VARIABLE_NAME.fullmatch(node.value):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            receiver = ast.unparse(node.func.value) if isinstance(node.func, ast.Attribute) else ""
            if name in READERS and ("environ" in receiver or name in ("getenv", "EnvVar")):
                found.append((node.lineno, node.args[0].value))
        elif isinstance(node, ast.Subscript) and "environ" in ast.unparse(node.value) and isinstance(node.slice, ast.Constant):
            found.append((node.lineno, node.slice.value))
    return found


def test_no_module_but_settings_names_an_environment_variable():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in SOURCES if path != SETTINGS_FILE
        for line, name in literal_variable_reads(ast.parse(path.read_text(), str(path)))
    ]
    assert offenders == []


def test_the_readme_configuration_table_lists_every_variable_settings_names():
    readme = (ROOT / "README.md").read_text()
    names = {value for name, value in vars(settings).items() if name.isupper() and isinstance(value, str)}
    assert names, "settings names no variables"
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert missing == []
