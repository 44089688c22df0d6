"""Reading a list reply item by item (DESIGN principle 12: one bad record stops nothing).

A list the other system sends may hold one item our model rejects (a `tax_rates` that does not
parse, a quantity of 1.5). Parsing the list as a whole would fail every item with it; here each
item is parsed on its own, the good ones are returned in reply order and each bad one is handed
back as a `Malformed` with its id (when the id itself can be read) and the validation problem,
so the caller can park that record (`malformed_record`) and carry on with the rest.

The problem text names the fields and pydantic's messages, never the values (they may hold
personal data).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

log = logging.getLogger("bp_nop_dagster.transport.parsing")

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Malformed:
    """One list item the model rejected: its id (None when unreadable) and what is wrong."""

    id: int | None
    problem: str


class _Rejects:
    malformed: list[Malformed]

    @property
    def malformed_ids(self) -> dict[int, str]:
        """id -> problem of the rejected items whose id could be read."""
        return {bad.id: bad.problem for bad in self.malformed if bad.id is not None}


class Items(_Rejects, list, Generic[M]):
    """The items that parsed, in reply order (a plain list to every caller), and `malformed`:
    those that did not."""

    def __init__(self, items: Iterable[M] = (), malformed: Iterable[Malformed] = ()) -> None:
        super().__init__(items)
        self.malformed = list(malformed)


class ById(_Rejects, dict):
    """Items that parsed keyed by id (a plain dict to every caller), and `malformed`: those that
    did not."""

    def __init__(self, items: Iterable[tuple[int, Any]] = (), malformed: Iterable[Malformed] = ()) -> None:
        super().__init__(items)
        self.malformed = list(malformed)


def describe(error: PydanticValidationError) -> str:
    """Every problem of a validation error as `field: message`, without the rejected values."""
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem.get("loc", ())) or "top level"
        parts.append(f"{where}: {problem.get('msg', '')}")
    return "; ".join(parts)


def item_id(raw: Any, *id_fields: str) -> int | None:
    """The item's id from the first of `id_fields` that holds a positive integer, else None."""
    if not isinstance(raw, dict):
        return None
    for name in id_fields or ("id",):
        value = raw.get(name)
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and value > 0:
            return value
        if isinstance(value, str) and value.strip().isdigit() and int(value) > 0:
            return int(value)
    return None


def parse_items(model: type[M], raw_items: Iterable[Any], *, where: str, id_fields: tuple[str, ...] = ("id",)) -> Items[M]:
    """Each of `raw_items` through `model`; the rejected ones as `Malformed` (logged once, with
    their ids, under `where`: the system and path)."""
    items: list[M] = []
    malformed: list[Malformed] = []
    for raw in raw_items:
        try:
            items.append(model.model_validate(raw))
        except PydanticValidationError as error:
            malformed.append(Malformed(item_id(raw, *id_fields), describe(error)))
    if malformed:
        log.warning("%s: %d item(s) the model rejects, ids %s: %s", where, len(malformed),
                    [m.id for m in malformed], malformed[0].problem)
    return Items(items, malformed)
