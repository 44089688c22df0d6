"""Entities as the plugin's DTOs: JSON in both directions, no HTTP.

Entities are plain dicts keyed by their DTO's snake_case property names, with native values
(`Decimal` money, naive-UTC `datetime`). `SCHEMAS` comes from the contract (`contract.schemas`),
so an entity has exactly its DTO's properties. `to_wire` renders every property, nulls included
(Newtonsoft's default NullValueHandling.Include, contract notes); `from_wire` maps a request body
onto a *fresh* entity, which is how the plugin's `model.FromDto<T>()` behaves in Create and the
full-replace Update: omitted properties take the C# defaults (0, false, null, 0001-01-01).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from bp_nop_dagster.sandbox.nopcommerce.contract import schemas

MIN_DATE = datetime(1, 1, 1)  # C# DateTime.MinValue: a non-nullable DateTime nobody set
INT_MAX = 2_147_483_647
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"

SCHEMAS: dict[str, dict[str, str]] = schemas()

_DEFAULTS = {"int": 0, "int?": None, "bool": False, "str": None, "dec": Decimal("0"), "dec?": None, "dt": MIN_DATE, "dt?": None,
             "guid": EMPTY_GUID}


class FieldError(Exception):
    """A body value that cannot be converted to its DTO type (a model-binding error: ProblemDetails 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def format_datetime(value: datetime) -> str:
    """Newtonsoft's default ISO form for an Unspecified-kind DateTime: no offset, no `Z`,
    fractional seconds only when non-zero with trailing zeros dropped (`2018-04-04T09:33:39.303`)."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.year < 1000:
        text = f"{value.year:04d}" + text[len(str(value.year)):]
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text


def parse_datetime(text: str) -> datetime:
    """ISO 8601, with or without `Z`/offset; an offset is converted to naive UTC."""
    raw = text.strip()
    if not raw:
        raise ValueError("empty")
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    value = datetime.fromisoformat(raw)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def to_wire(kind: str, entity: dict) -> dict:
    out: dict[str, Any] = {}
    for name, code in SCHEMAS[kind].items():
        value = entity.get(name, _DEFAULTS[code])
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, datetime):
            value = format_datetime(value)
        out[name] = value
    return out


def _convert(field: str, code: str, value: Any) -> Any:
    if value is None:
        if code in ("int?", "str", "dec?", "dt?"):
            return None
        raise FieldError(field, f"Error converting value {{null}} to type '{code}'. Path '{field}'.")
    try:
        if code in ("int", "int?"):
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                value = int(value)
            result = int(value)
            if not -INT_MAX - 1 <= result <= INT_MAX:
                raise ValueError
            return result
        if code == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ValueError
        if code == "str":
            if isinstance(value, (dict, list)):
                raise ValueError
            if isinstance(value, bool):
                return "true" if value else "false"
            return str(value)
        if code in ("dec", "dec?"):
            if isinstance(value, (bool, dict, list)):
                raise ValueError
            return Decimal(str(value))
        if code in ("dt", "dt?"):
            if not isinstance(value, str):
                raise ValueError
            return parse_datetime(value)
        if code == "guid":
            return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, InvalidOperation):
        pass
    raise FieldError(field, f"Error converting value {json.dumps(value)} to type '{code}'. Path '{field}'.")


def from_wire(kind: str, body: Any) -> dict:
    """Map a request body onto a fresh entity: omitted properties take C# defaults, unknown ones
    are ignored, and names match case-insensitively when no exact match exists (Newtonsoft's
    MissingMemberHandling.Ignore and its case-insensitive property lookup)."""
    if not isinstance(body, dict):
        raise FieldError("", f"Cannot deserialize the current JSON value into type '{kind}'.")
    folded = {str(key).lower(): key for key in body}
    entity: dict[str, Any] = {}
    for name, code in SCHEMAS[kind].items():
        key = name if name in body else folded.get(name)
        entity[name] = _convert(name, code, body[key]) if key is not None else _DEFAULTS[code]
    return entity


def fields_from_wire(kind: str, changes: Any) -> dict:
    """Some properties of `kind` from JSON (an edit made in the shop's own UI, for the control
    API): each converted as `from_wire` converts it; a name the DTO lacks is a FieldError."""
    if not isinstance(changes, dict):
        raise FieldError("", f"changes to a {kind} must be an object")
    unknown = sorted(set(changes) - set(SCHEMAS[kind]))
    if unknown:
        raise FieldError(unknown[0], f"{kind} has no properties {unknown}")
    return {name: _convert(name, SCHEMAS[kind][name], value) for name, value in changes.items()}


_BLANK = {kind: {name: _DEFAULTS[code] for name, code in fields.items()} for kind, fields in SCHEMAS.items()}


def new_entity(kind: str, **values: Any) -> dict:
    """A fresh entity of `kind` with C# defaults, then `values`. Only DTO properties are allowed."""
    unknown = set(values) - set(SCHEMAS[kind])
    if unknown:
        raise KeyError(f"{kind} has no properties {sorted(unknown)}")
    entity = dict(_BLANK[kind])
    entity.update(values)
    return entity
