"""Compare two JSON bodies by shape, not by value: the rule the recording tests and `bp-nop probe`
share (pure, no I/O).

`shape_problems(recorded, actual, optional)` walks the recorded body and reports every key path
whose value in `actual` is missing or of another JSON kind (string / number / bool / object /
array). Three refinements make it fit Brightpearl's wire format:

- a `null` in the recording says nothing about the type, so it is skipped;
- an object whose keys are all ids (`{"1532": {...}}`, goods-out notes, availability) is a map:
  every actual entry is compared with the shape of the first recorded entry (path `.{id}`);
- a search row (`...results[]`) is positional: entry `n` is compared with the recorded entry `n`
  (path `results[][n]`), and the row lengths must agree.

Paths are normalised (`[]` a list element, `{id}` an id-keyed entry, `[n]` a search-row
position); paths listed in `optional` may be missing or null.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from decimal import Decimal
from typing import Any

_ID_KEY = re.compile(r"-?\d+")
MISSING_SUFFIX = ": missing"


def kind(value: Any) -> str:
    """The JSON kind of a parsed value: bool, number, string, array, object or null."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, Decimal)):  # the transport parses fractions as Decimal
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def is_id_keyed(value: dict) -> bool:
    """True for a non-empty object whose keys are all (possibly negative) integers."""
    return bool(value) and all(_ID_KEY.fullmatch(k) for k in value)


def shape_problems(recorded: Any, actual: Any, optional: Collection[str] = (), path: str = "") -> list[str]:
    """Every difference in shape between `recorded` and `actual`, one line each (`path: what`)."""
    if recorded is None:
        return []
    if actual is None:
        return [] if path in optional else [f"{path or '$'}: null or missing, recorded {kind(recorded)}"]
    if kind(recorded) != kind(actual):
        return [f"{path or '$'}: {kind(actual)}, recorded {kind(recorded)}"]
    problems: list[str] = []
    if isinstance(recorded, dict):
        if is_id_keyed(recorded):
            if actual and not is_id_keyed(actual):
                return [f"{path}: keys are not ids: {sorted(actual)[:5]}"]
            sample = next(iter(recorded.values()))
            for value in actual.values():
                problems += shape_problems(sample, value, optional, f"{path}.{{id}}")
            return problems
        for key, value in recorded.items():
            child = f"{path}.{key}" if path else key
            if key not in actual:
                if child not in optional:
                    problems.append(f"{child}{MISSING_SUFFIX}")
                continue
            problems += shape_problems(value, actual[key], optional, child)
        return problems
    if isinstance(recorded, list) and recorded and actual:
        if path.endswith("results[]"):  # a positional search row
            if len(recorded) != len(actual):
                return [f"{path}: {len(actual)} positions, recorded {len(recorded)}"]
            for index, (r, a) in enumerate(zip(recorded, actual)):
                problems += shape_problems(r, a, optional, f"{path}[{index}]")
            return problems
        for value in actual:
            problems += shape_problems(recorded[0], value, optional, f"{path}[]")
    return problems
