"""Does a reply conform to its contract? Pure checks (no I/O beyond reading the vendored contracts),
used by `bp-nop probe` on live replies and by the contract tests.

Three kinds of contract, each with its source:

- `recorded:<file>`: a vendored Brightpearl recording (real traffic). The reply must have the
  recording's shape (`shapes.shape_problems`). A recorded key the reply lacks is only a *note*:
  Brightpearl omits null fields (help.brightpearl.com/hc/en-us/articles/212644943), so absence
  cannot tell a drift from a null. A different JSON kind, a search column the recording has and
  the reply lacks, or a different number of row positions is a *difference*.
- `documented:<key>`: what api-docs.brightpearl.com says (`brightpearl/documented.json`): the
  columns of a search (each must be in `metaData.columns`, row values of the documented kind) or
  the fields of a GET reply's items (their kinds; the fields the page marks Required must be there).
- `webapi:<VERB> <route>`: the nopCommerce Web API Backend plugin's action (`webapi-contract.json`):
  its return type, and every property of each DTO with its JSON types. The plugin serializes every
  property, nulls included (Newtonsoft, NullValueHandling.Include), so a missing property and a
  property the DTO does not have are both differences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bp_nop_dagster import contracts
from bp_nop_dagster.contracts.shapes import MISSING_SUFFIX, kind, shape_problems

# Brightpearl search data type -> JSON kind of a row value (rule stated in documented.json's note,
# checked against every recorded search by the contract tests).
SEARCH_TYPE_KIND = {
    "INTEGER": "number",
    "IDSET": "number",
    "BOOLEAN": "bool",
    "STRING": "string",
    "SEARCH_STRING": "string",
    "STRING_SET": "string",
    "PERIOD": "string",
    "DATETIME": "string",
    "FREE_TEXT_QUERY": "string",
}
# webapi-contract.json JSON type names -> shapes.kind names (an int is an "integer", a bool never is).
_WEBAPI_KIND = {"string": "string", "number": "number", "integer": "number", "boolean": "bool", "array": "array",
                "object": "object", "null": "null"}


@dataclass
class Findings:
    """What a check found: `differences` make a probe row `differs`; `notes` are shown, not failed."""

    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def extend(self, other: Findings) -> None:
        self.differences += other.differences
        self.notes += other.notes

    def deduplicated(self) -> Findings:
        return Findings(list(dict.fromkeys(self.differences)), list(dict.fromkeys(self.notes)))


def check(contract: str, body: Any) -> Findings:
    """Check `body` (the parsed reply) against one contract named `kind:argument`."""
    kind_, _, argument = contract.partition(":")
    if kind_ == "recorded":
        return check_recorded(argument, body)
    if kind_ == "documented":
        return check_documented(argument, body)
    if kind_ == "webapi":
        verb, _, route = argument.partition(" ")
        return check_webapi(verb, route, body)
    raise ValueError(f"unknown contract {contract!r}")


# --------------------------------------------------------------------------------- Brightpearl


def check_recorded(name: str, body: Any) -> Findings:
    """`body` against the first successful GET interaction of recording `name`."""
    recorded = _recorded_body(name)
    findings = Findings()
    for problem in shape_problems(recorded, body):
        if problem.endswith(MISSING_SUFFIX) or ": null or missing," in problem:
            findings.notes.append(f"absent (Brightpearl omits nulls): {problem.split(':', 1)[0]}")
        else:
            findings.differences.append(problem)
    recorded_columns, actual_columns = _search_columns(recorded), _search_columns(body)
    if recorded_columns is not None and actual_columns is not None:
        missing = [c for c in recorded_columns if c not in actual_columns]
        extra = [c for c in actual_columns if c not in recorded_columns]
        if missing:
            findings.differences.append(f"search columns missing (recorded): {', '.join(missing)}")
        if extra:
            findings.notes.append(f"search columns not in the recording: {', '.join(extra)}")
    return findings.deduplicated()


def _recorded_body(name: str) -> Any:
    interactions = contracts.recording(name)["interactions"]
    for interaction in interactions:
        if interaction["method"] in ("GET", "OPTIONS") and 200 <= interaction["status"] < 300:
            return interaction["body"]
    raise ValueError(f"recording {name} has no successful GET interaction")


def _search_columns(body: Any) -> list[str] | None:
    try:
        columns = body["response"]["metaData"]["columns"]
    except (KeyError, TypeError):
        return None
    return [str(c.get("name")) for c in columns if isinstance(c, dict)]


def check_documented(key: str, body: Any) -> Findings:
    """`body` against the documented search columns or object fields named `key`."""
    documented = contracts.brightpearl_documented()
    if key in documented["searches"]:
        return _check_search_columns(documented["searches"][key], body)
    if key in documented["objects"]:
        return _check_object_fields(documented["objects"][key], body)
    raise ValueError(f"no documented Brightpearl contract {key!r}")


def _check_search_columns(spec: dict, body: Any) -> Findings:
    findings = Findings()
    columns = _search_columns(body)
    if columns is None:
        findings.differences.append("not a search reply (no response.metaData.columns)")
        return findings
    rows = body["response"].get("results") or []
    for name, data_type in spec["columns"]:
        if name not in columns:
            findings.differences.append(f"column {name}: missing (documented {data_type})")
            continue
        position = columns.index(name)
        wanted = SEARCH_TYPE_KIND[data_type]
        for row in rows:
            value = row[position] if isinstance(row, list) and position < len(row) else None
            if value is not None and kind(value) != wanted:
                findings.differences.append(f"column {name}: {kind(value)} values, documented {data_type} ({wanted})")
    documented = {name for name, _ in spec["columns"]}
    extra = [c for c in columns if c not in documented]
    if extra:
        if spec.get("complete", True):
            findings.differences.append(f"columns not documented: {', '.join(extra)}")
        else:
            findings.notes.append(f"columns beyond the documented part of the list: {', '.join(extra)}")
    if not rows:
        findings.notes.append("no rows: value types not checked")
    return findings.deduplicated()


def _check_object_fields(spec: dict, body: Any) -> Findings:
    findings = Findings()
    items = body.get("response") if isinstance(body, dict) else None
    if not isinstance(items, list):
        findings.differences.append(f"response: {kind(items)}, documented a list of objects")
        return findings
    if not items:
        findings.notes.append("empty list: fields not checked")
    required = set(spec.get("required", []))
    for item in items:
        for path, wanted in spec["item_fields"].items():
            values = list(_values_at(item, path))
            if not values:
                if path in required:
                    findings.differences.append(f"{path}: missing (documented as required)")
                continue
            for value in values:
                if value is not None and wanted is not None and kind(value) != wanted:
                    findings.differences.append(f"{path}: {kind(value)}, documented {wanted}")
    return findings.deduplicated()


def _values_at(value: Any, path: str) -> Iterator[Any]:
    """Values at a documented key path (`a.b`, `a[].b`); nothing when a key is absent."""
    if not path:
        yield value
        return
    head, _, rest = path.partition(".")
    each = head.endswith("[]")
    key = head[:-2] if each else head
    if not isinstance(value, dict) or key not in value:
        return
    child = value[key]
    if each:
        for element in child if isinstance(child, list) else []:
            yield from _values_at(element, rest)
    else:
        yield from _values_at(child, rest)


# --------------------------------------------------------------------------------- nopCommerce

_GENERIC = re.compile(r"^(paged|list)<(.+)>$")


def check_webapi(verb: str, route: str, body: Any) -> Findings:
    """`body` against the return type of the plugin's action `verb route` (route relative to
    `api-backend/`, e.g. `Product/GetAll`)."""
    action = contracts.nopcommerce_action(verb, route)
    findings = Findings()
    _check_return(action["returns"], body, "", findings)
    return findings.deduplicated()


def _check_return(returns: str, body: Any, path: str, findings: Findings) -> None:
    generic = _GENERIC.match(returns)
    if generic:
        wrapper, inner = generic.groups()
        if wrapper == "paged":
            _check_dto("PagedListDto", body, path, findings)
            items = body.get("items") if isinstance(body, dict) else None
            path = f"{path}items"
        else:
            items = body
        if not isinstance(items, list):
            findings.differences.append(f"{path or '$'}: {kind(items)}, contract {returns}")
            return
        if not items:
            findings.notes.append(f"{path or '$'}: empty list: {inner} not checked")
        for item in items:
            _check_return(inner, item, f"{path}[].", findings)
        return
    if returns in contracts.nopcommerce_contract()["dtos"]:
        _check_dto(returns, body, path, findings)
        return
    wanted = {"bool": "bool", "int": "number", "string": "string", "decimal": "number"}.get(returns)
    if wanted is not None and kind(body) != wanted:
        findings.differences.append(f"{path.rstrip('.') or '$'}: {kind(body)}, contract {returns}")


def _check_dto(name: str, value: Any, path: str, findings: Findings) -> None:
    properties = contracts.nopcommerce_contract()["dtos"][name]
    where = path.rstrip(".") or "$"
    if not isinstance(value, dict):
        findings.differences.append(f"{where}: {kind(value)}, contract {name} object")
        return
    missing = [prop for prop in properties if prop not in value]
    if missing:
        findings.differences.append(f"{where}: {name} properties missing: {', '.join(missing)}")
    unknown = [prop for prop in value if prop not in properties]
    if unknown:
        findings.differences.append(f"{where}: not properties of {name}: {', '.join(unknown)}")
    for prop, spec in properties.items():
        if prop not in value:
            continue
        allowed = {_WEBAPI_KIND[t] for t in spec["json"]}
        actual = value[prop]
        if kind(actual) not in allowed or ("integer" in spec["json"] and isinstance(actual, (float, Decimal))):
            findings.differences.append(f"{path}{prop}: {_json_type(actual)}, contract {'|'.join(spec['json'])}")


def _json_type(value: Any) -> str:
    if isinstance(value, (float, Decimal)):
        return "number"
    return {"bool": "boolean", "number": "integer"}.get(kind(value), kind(value))


def contract_sources(names: Iterable[str]) -> str:
    """Where each contract comes from, for the probe's table."""
    parts = []
    for name in names:
        kind_, _, argument = name.partition(":")
        if kind_ == "documented":
            documented = contracts.brightpearl_documented()
            spec = documented["searches"].get(argument) or documented["objects"].get(argument)
            parts.append(spec["source"].split(" ", 1)[0])
        elif kind_ == "recorded":
            parts.append(f"recording {argument}")
        else:
            parts.append(f"plugin {argument}")
    return "; ".join(parts)
