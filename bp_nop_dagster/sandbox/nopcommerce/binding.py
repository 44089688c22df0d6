"""Requests bound the way ASP.NET Core binds the plugin's action parameters, and the plugin's
response shapes (parse and render; no shop state here).

Binding follows the action's declared parameters in the contract (`contract.Action`), in the
order ASP.NET runs it: after the auth filters, before the action body. Every binding error of a
request is collected into one `[ApiController]` ProblemDetails 400, so a request with a bad
parameter never reaches the action (no 404 for an unknown id, no state change). Rules
(ASP.NET Core SimpleTypeModelBinder, ModelBindingMessageProvider, [Required]):

- query names match case-insensitively; the first value of a repeated name is used, except for
  collections (`IList<int>`), which take every value;
- a missing parameter takes its C# default; a missing `[Required]` one is an error
  ("The notifyCustomer field is required.");
- an empty value is null for strings and nullable types, and an error for other value types
  ("The value '' is invalid.");
- a value that does not convert is an error ("The value 'x' is not valid for pageIndex.");
- an undefined enum value is an error; a name matches case-insensitively;
- a parameter the action does not declare is never read: reading one is a simulator bug
  (`UndeclaredParameter`), since the real action ignores it.

Bodies are JSON for `[FromBody]` parameters: a DTO is mapped onto a fresh entity (`wire.from_wire`);
an empty body for a DTO is an error; a `string` body (attributesXml) may be empty (its default).
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.responses import Response

from bp_nop_dagster.sandbox.instrumentation import json_bytes
from bp_nop_dagster.sandbox.nopcommerce.backend.state import PRODUCT_TYPES, RETURN_REQUEST_STATUSES
from bp_nop_dagster.sandbox.nopcommerce.contract import KIND_FOR_DTO, Action, Param
from bp_nop_dagster.sandbox.nopcommerce.wire import INT_MAX, FieldError, from_wire, parse_datetime

JSON_TYPE = "application/json; charset=utf-8"
PROBLEM_TYPE = "application/problem+json; charset=utf-8"

# Enums bound from query strings (name or value), as core defines them.
ENUMS: dict[str, dict[str, int]] = {
    "ReturnRequestStatus": RETURN_REQUEST_STATUSES,
    "ProductType": PRODUCT_TYPES,
    "ProductSortingEnum": {"Position": 0, "NameAsc": 5, "NameDesc": 6, "PriceAsc": 10, "PriceDesc": 11, "CreatedOn": 15},
    "ShoppingCartType": {"ShoppingCart": 1, "Wishlist": 2},
}


# ---------------------------------------------------------------------------------------------
# responses
class ApiError(Exception):
    """A finished error response, raised from anywhere in a request's handling."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class UndeclaredParameter(LookupError):
    """A route read a parameter its plugin action does not declare (a simulator bug: the real
    action would ignore it)."""


def ok(payload: Any) -> Response:
    return Response(json_bytes(payload), status_code=200, media_type=JSON_TYPE)


def ok_empty() -> Response:
    """`return Ok();`: 200 with no body."""
    return Response(b"", status_code=200)


def ok_or_no_content(payload: Any) -> Response:
    """`Ok(dto)` where the DTO may be null: ASP.NET's HttpNoContentOutputFormatter answers a null
    value with 204 and no body."""
    return Response(b"", status_code=204) if payload is None else ok(payload)


def bad_request() -> Response:
    """`return BadRequest();` (an id <= 0): 400 with no body."""
    return Response(b"", status_code=400)


def not_found(message: str) -> Response:
    """`return NotFound("...")`: 404 with the message as a JSON string."""
    return Response(json_bytes(message), status_code=404, media_type=JSON_TYPE)


def problem(errors: dict[str, list[str]]) -> Response:
    # ASP.NET [ApiController] validation answer; `type`/`traceId` as ASP.NET Core 8 adds them
    # (the exact shape is UNCONFIRMED in the notes, §6).
    return Response(json_bytes({
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": errors,
        "traceId": "00-00000000000000000000000000000000-0000000000000000-00",
    }), status_code=400, media_type=PROBLEM_TYPE)


def exception_body(message: str, inner: str | None = None) -> bytes:
    """ErrorHandlerMiddleware's body; the stack trace only in developer mode (off)."""
    return json_bytes({"message": message, "inner_exception_message": inner, "stack_trace": ""})


UNAUTHORIZED = json_bytes({"message": "Unauthorized"})
ACCESS_DENIED = json_bytes({"message": "Access denied."})


def render_error(status: int, message: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Bodies for injected faults, as the real stack would send each status."""
    json_header = [(b"content-type", JSON_TYPE.encode())]
    if status == 401:
        return UNAUTHORIZED, json_header
    if status == 403:
        return ACCESS_DENIED, json_header
    if status in (502, 503, 504):
        title = {502: "502 Bad Gateway", 503: "503 Service Unavailable", 504: "504 Gateway Time-out"}[status]
        return f"<html><body><h1>{title}</h1></body></html>".encode(), [(b"content-type", b"text/html")]
    if status == 429:
        return b"", [(b"retry-after", b"1")]
    return exception_body(message), json_header


# ---------------------------------------------------------------------------------------------
# binding
class _Invalid(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def parse_int(raw: str) -> int | None:
    """Int32 as .NET parses it (surrounding blanks and a sign allowed), or None."""
    text = raw.strip()
    if not text or not (text.isdigit() or (text[0] in "+-" and text[1:].isdigit())):
        return None
    value = int(text)
    return value if -INT_MAX - 1 <= value <= INT_MAX else None


def id_array(raw: str | None) -> list[int]:
    """Helpers/StringExtensions.ToIdArray: split on `;`, keep what parses as an int, skip the rest."""
    return [value for part in (raw or "").split(";") if (value := parse_int(part)) is not None]


def _convert(cs_type: str, raw: str) -> Any:
    """One non-empty text value as `cs_type`; ValueError when it does not convert."""
    base = cs_type.rstrip("?")
    if base == "int":
        value = parse_int(raw)
        if value is None:
            raise ValueError
        return value
    if base == "bool":
        text = raw.strip().lower()
        if text not in ("true", "false"):
            raise ValueError
        return text == "true"
    if base == "decimal":
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            raise ValueError from None
        if not value.is_finite():
            raise ValueError
        return value
    if base == "DateTime":
        return parse_datetime(raw)
    if base == "Guid":
        return str(uuid.UUID(raw.strip()))
    if base in ENUMS:
        members = ENUMS[base]
        number = parse_int(raw)
        if number is not None:
            if number not in members.values():
                raise ValueError
            return number
        for name, value in members.items():
            if name.lower() == raw.strip().lower():
                return value
        raise ValueError
    if base == "string":
        return raw
    raise TypeError(f"no binding for {cs_type}")


def _default(param: Param) -> Any:
    text = param.default
    if text is None or text == "null":
        return None
    if text == '""':
        return ""
    if text == "int.MaxValue":
        return INT_MAX
    if text in ("true", "false"):
        return text == "true"
    if "." in text and text.split(".")[0] in ENUMS:
        return ENUMS[text.split(".")[0]][text.split(".")[1]]
    return _convert(param.cs_type, text)


class Call:
    """One API request after binding: `call["name"]` is the bound value of a declared parameter."""

    def __init__(self, action: Action, path_params: dict[str, str], query: list[tuple[str, str]], body: bytes) -> None:
        self.action = action
        self._values: dict[str, Any] = {}
        query_values: dict[str, list[str]] = {}
        for key, value in query:
            query_values.setdefault(key.lower(), []).append(value)
        errors: dict[str, list[str]] = {}
        for param in action.params:
            try:
                if param.location == "path":
                    self._values[param.name] = self._bind_path(param, path_params[param.name])
                elif param.location == "query":
                    self._values[param.name] = self._bind_query(param, query_values.get(param.name.lower()))
                else:
                    self._values[param.name] = self._bind_body(param, body)
            except _Invalid as invalid:
                errors.setdefault(invalid.key, []).append(invalid.message)
        if errors:
            raise ApiError(problem(errors))

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            raise UndeclaredParameter(f"{self.action.verb} {self.action.template} declares no parameter {name!r}")
        return self._values[name]

    def if_declared(self, name: str, default: Any) -> Any:
        """The bound value where the action declares `name`, else `default` (the action ignores
        the query parameter of that name, e.g. getOnlyTotalCount on Shipment/GetAll)."""
        return self._values.get(name, default)

    @staticmethod
    def _bind_path(param: Param, raw: str) -> Any:
        try:
            return _convert(param.cs_type, raw)
        except ValueError:
            raise _Invalid(param.name, f"The value '{raw}' is not valid.") from None

    @staticmethod
    def _bind_query(param: Param, values: list[str] | None) -> Any:
        if param.cs_type == "IList<int>":
            if not values:
                return None
            found = []
            for raw in values:
                value = parse_int(raw)
                if value is None:
                    raise _Invalid(param.name, f"The value '{raw}' is not valid for {param.name}.")
                found.append(value)
            return found
        if values is None:
            if param.required:
                raise _Invalid(param.name, f"The {param.name} field is required.")
            return _default(param)
        raw = values[0]
        if not raw.strip():
            if param.nullable:
                if param.required:
                    raise _Invalid(param.name, f"The {param.name} field is required.")
                return None
            raise _Invalid(param.name, f"The value '{raw}' is invalid.")
        try:
            return _convert(param.cs_type, raw)
        except ValueError:
            raise _Invalid(param.name, f"The value '{raw}' is not valid for {param.name}.") from None

    @staticmethod
    def _bind_body(param: Param, body: bytes) -> Any:
        if not body.strip():
            if param.cs_type == "string" and param.default is not None:
                return _default(param)
            raise _Invalid("", "A non-empty request body is required.")
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            message = getattr(error, "msg", str(error))
            raise _Invalid("", f"Unexpected character encountered while parsing value: {message}. Path '', line 1.") from None
        if param.cs_type == "string":
            if data is not None and not isinstance(data, str):
                raise _Invalid("", "Error converting value to type 'System.String'. Path '', line 1.")
            return data
        kind = KIND_FOR_DTO.get(param.cs_type)
        if kind is None:  # a request model that is no DTO of ours (AuthenticateAdminRequest)
            if not isinstance(data, dict):
                raise _Invalid("", f"Cannot deserialize the current JSON value into type '{param.cs_type}'.")
            return data
        try:
            return from_wire(kind, data)
        except FieldError as error:
            raise _Invalid(error.field, error.message) from None
