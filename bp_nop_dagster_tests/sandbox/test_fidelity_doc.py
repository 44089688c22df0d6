"""`docs/fidelity.md` is the rendering of both simulators' facts (`bp-nop fidelity --write`):
regenerate it after changing a fact. Also the command's modes."""

from __future__ import annotations

import sys
import types

from bp_nop_dagster.cli import main
from bp_nop_dagster.sandbox import fidelity_doc
from bp_nop_dagster.sandbox.fidelity import Fact, render


def test_docs_fidelity_is_current():
    assert fidelity_doc.DOCUMENT is not None and fidelity_doc.DOCUMENT.is_file()
    assert fidelity_doc.DOCUMENT.read_text(encoding="utf-8") == fidelity_doc.document(), "run `bp-nop fidelity --write`"


def test_command_prints_and_writes(tmp_path, capsys):
    assert main(["fidelity"]) == 0
    assert capsys.readouterr().out == fidelity_doc.document()
    target = tmp_path / "fidelity.md"
    assert main(["fidelity", "--write", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == fidelity_doc.document()


def test_facts_of_both_simulators_are_collected_and_a_missing_list_tolerated(monkeypatch):
    fact = Fact("nopcommerce", "GET /Country/GetAllCountries", "every country", "plugin CountryController.cs", "confirmed")
    monkeypatch.setitem(sys.modules, "bp_nop_dagster.sandbox.nopcommerce.fidelity", types.SimpleNamespace(FACTS=[fact]))
    monkeypatch.setitem(sys.modules, "bp_nop_dagster.sandbox.brightpearl.fidelity", types.SimpleNamespace())
    assert fidelity_doc.all_facts() == [fact]
    assert "`GET /Country/GetAllCountries`" in fidelity_doc.document() == render([fact])
