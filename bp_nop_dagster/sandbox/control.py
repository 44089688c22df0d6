"""Control API routes both simulators share, under `/__sandbox__/` (not part of either real API).

- `POST /__sandbox__/reset` `{"seed": 42, "scale": "small", "empty": false}`: rebuild both systems.
- `GET /__sandbox__/stats`, `DELETE /__sandbox__/stats`: requests per method and path template,
  per status, and the throttled count of this server.
- `GET|PUT|DELETE /__sandbox__/faults`: `{"rules": [FaultRule...], "seed": 7}` replaces this server's rules.
  GET also answers `injected` (faults applied so far) and `holding` (`{"latency": n, "reply": n}`:
  requests a rule's latency holds before the simulator sees them, and committed writes whose reply
  a `timeout` drop holds back, right now). `holding` is a test control: a test waits for it to
  kill a client mid-write at a known point; it changes nothing on the wire.

Control errors answer 400 `{"error": "..."}`; the control API is for tests and demos, so it
speaks plainly rather than in either vendor's envelope.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bp_nop_dagster.sandbox.instrumentation import CONTROL_PREFIX, FaultRule, json_bytes
from bp_nop_dagster.sandbox.world import Scale, SandboxWorld

System = Literal["brightpearl", "nopcommerce"]


class ControlError(Exception):
    """A bad control request: answered 400 with its message."""


def control_json(payload: Any, status: int = 200) -> Response:
    return Response(json_bytes(payload), status_code=status, media_type="application/json")


def control_error(message: str, status: int = 400) -> Response:
    return control_json({"error": message}, status)


async def read_control_body(request: Request, model: type[BaseModel] | None = None) -> Any:
    """Parse a control request's JSON body (empty means `{}`), validated by `model` if given."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as error:
        raise ControlError(f"body is not JSON: {error.msg}") from error
    if model is None:
        return data
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ControlError("; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors())) from error


def control_endpoint(handler):
    """Turn `ControlError` (and lookups of unknown ids) into a 400 answer."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ControlError as error:
            return control_error(str(error))
        except KeyError as error:
            return control_error(f"not found: {error.args[0]}", 404)

    return endpoint


class ResetBody(BaseModel):
    seed: int | None = None
    scale: Scale | None = None
    empty: bool = False


class FaultsBody(BaseModel):
    rules: list[FaultRule] = []
    seed: int | None = None


def shared_control_routes(world: SandboxWorld, system: System) -> list[Route]:
    def stats():
        return world.brightpearl_stats if system == "brightpearl" else world.nopcommerce_stats

    def faults():
        return world.brightpearl_faults if system == "brightpearl" else world.nopcommerce_faults

    async def reset(request: Request) -> Response:
        body = await read_control_body(request, ResetBody)
        world.reset(seed=body.seed, scale=body.scale, empty=body.empty)
        return control_json({"seed": world.seed, "scale": world.scale, "empty": body.empty})

    async def get_stats(request: Request) -> Response:
        return control_json(stats().snapshot())

    async def clear_stats(request: Request) -> Response:
        stats().reset()
        return control_json(stats().snapshot())

    async def get_faults(request: Request) -> Response:
        injector = faults()
        return control_json({"rules": [rule.model_dump() for rule in injector.rules], "injected": dict(injector.injected),
                             "holding": injector.holding})

    async def put_faults(request: Request) -> Response:
        body = await read_control_body(request, FaultsBody)
        faults().set_rules(body.rules, seed=body.seed)
        return control_json({"rules": [rule.model_dump() for rule in body.rules]})

    async def clear_faults(request: Request) -> Response:
        faults().clear()
        return control_json({"rules": []})

    return [
        Route(f"{CONTROL_PREFIX}/reset", control_endpoint(reset), methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/stats", control_endpoint(get_stats), methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/stats", control_endpoint(clear_stats), methods=["DELETE"]),
        Route(f"{CONTROL_PREFIX}/faults", control_endpoint(get_faults), methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/faults", control_endpoint(put_faults), methods=["PUT"]),
        Route(f"{CONTROL_PREFIX}/faults", control_endpoint(clear_faults), methods=["DELETE"]),
    ]
