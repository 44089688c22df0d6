"""The fidelity table: every endpoint and behaviour the simulators implement, with its source.

DESIGN principle 11: the real APIs are the authority, known through their sources. Each simulator
package lists its facts in `FACTS` (`sandbox/brightpearl/fidelity.py`, `sandbox/nopcommerce/fidelity.py`);
`render()` turns them into `docs/fidelity.md` (`bp-nop fidelity --write`), and tests check that every
API route of each simulator has a fact and that the document is current.

Confidence levels:
- `confirmed`: an official documentation page or the plugin's / product's own source says so;
- `recorded`: seen in recorded real traffic or in a working open-source integrator's code;
- `inferred`: no source settles it. Such a behaviour must be configurable (`configurable` says how)
  and is listed so that a first live run (`bp-nop probe`) checks it.

Pure data, no imports from the simulators (they import this).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CONFIDENCE = ("confirmed", "recorded", "inferred")
SYSTEMS = ("brightpearl", "nopcommerce")


@dataclass(frozen=True)
class Fact:
    """One endpoint or behaviour of a simulator and where it comes from.

    `subject` is `"METHOD /route/template"` for an endpoint (the template as the simulator's router
    has it, relative to the API root) or a short name for a behaviour (`"allocation on order create"`).
    `source` names the evidence precisely enough to find it again: a doc URL, a recording file, a
    plugin source file, an integrator's repository and path."""

    system: str
    subject: str
    behaviour: str
    source: str
    confidence: str
    configurable: str | None = None

    def __post_init__(self) -> None:
        if self.system not in SYSTEMS:
            raise ValueError(f"unknown system {self.system!r}")
        if self.confidence not in CONFIDENCE:
            raise ValueError(f"confidence must be one of {CONFIDENCE}, not {self.confidence!r}")
        if not self.source.strip() or not self.behaviour.strip():
            raise ValueError(f"{self.subject}: a fact needs a behaviour and a source")
        if self.confidence == "inferred" and not self.configurable:
            raise ValueError(f"{self.subject}: an inferred behaviour must say how it is configured")

    @property
    def is_endpoint(self) -> bool:
        method = self.subject.split(" ", 1)[0]
        return method in {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def render(facts: Iterable[Fact]) -> str:
    """The markdown document: endpoints then behaviours per system, inferred ones listed again at the end."""
    facts = list(facts)
    out = [
        "# Simulator fidelity",
        "",
        "Generated from `bp_nop_dagster/sandbox/*/fidelity.py` by `bp-nop fidelity --write`; do not edit by hand.",
        "",
        "Confidence: **confirmed** (official documentation or the product's own source), **recorded** (real",
        "recorded traffic or a working open-source integrator), **inferred** (no source: configurable, and",
        "checked first by `bp-nop probe` on a live account).",
        "",
    ]
    for system in SYSTEMS:
        mine = [f for f in facts if f.system == system]
        if not mine:
            continue
        out += [f"## {system.capitalize() if system == 'brightpearl' else 'nopCommerce'}", ""]
        for title, group in (("Endpoints", [f for f in mine if f.is_endpoint]), ("Behaviours", [f for f in mine if not f.is_endpoint])):
            if not group:
                continue
            out += [f"### {title}", "", "| subject | behaviour | source | confidence |", "|---|---|---|---|"]
            out += [f"| `{_cell(f.subject)}` | {_cell(f.behaviour)} | {_cell(f.source)} | {f.confidence} |" for f in group]
            out.append("")
    inferred = [f for f in facts if f.confidence == "inferred"]
    out += ["## Inferred: check these first on a live account", ""]
    if inferred:
        out += ["| system | subject | behaviour | how to configure |", "|---|---|---|---|"]
        out += [f"| {f.system} | `{_cell(f.subject)}` | {_cell(f.behaviour)} | {_cell(f.configurable)} |" for f in inferred]
    else:
        out.append("_none_")
    out.append("")
    return "\n".join(out)
