"""What a person should do about a dead letter: for every `DeadLetterReason`, the action in words,
the data that caused it (from the letter's payload, error code and message) and the command that
replays it once the cause is fixed.

The replay is the `replay_dead_letters` job (`defs/orders/dead_letters.py`): its op
`release_dead_letters` takes exactly one of `all: true`, `reason: <reason>` or `ids: [...]` and puts
the letters back to pending; the sync sensor picks them up. It is launched from the UI (Jobs ->
replay_dead_letters -> Launchpad, with the run config) or with `dagster job launch`; both command
lines are given: inside the docker-compose deployment (the daemon container has the workspace
file) and on a local instance (`make demo`'s `.dagster_home`).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol


from bp_nop_dagster.ledger.kinds import DeadLetterReason

if TYPE_CHECKING:
    import pandas as pd

REPLAY_JOB = "replay_dead_letters"
REPLAY_OP = "release_dead_letters"
COMPOSE_LAUNCH = "docker compose exec daemon dagster job launch -w /opt/dagster/dagster_home/workspace.yaml"
LOCAL_LAUNCH = "DAGSTER_HOME=$PWD/.dagster_home dagster job launch -m bp_nop_dagster.definitions"


class DeadLetterLike(Protocol):
    """What `suggest` reads of a dead letter (the ledger's `DeadLetter` has all of it)."""

    id: int
    kind: str
    nop_key: str
    reason: str
    error_code: str | None
    message: str
    payload: dict
    attempts: int


@dataclass(frozen=True)
class Resolution:
    """The standing advice for one reason; `{...}` fields are filled from the letter."""

    reason: DeadLetterReason
    action: str
    replay_by_reason: bool = False  # one fix releases them all (credentials): replay the reason, not ids


RESOLUTIONS: dict[DeadLetterReason, Resolution] = {
    DeadLetterReason.UNKNOWN_SKU: Resolution(
        DeadLetterReason.UNKNOWN_SKU,
        "Brightpearl has no product with SKU {sku}. Create it in Brightpearl with exactly this SKU, or correct the "
        "SKU on the nopCommerce product (a case or spacing difference is enough to miss), then replay."),
    DeadLetterReason.INVALID_ADDRESS: Resolution(
        DeadLetterReason.INVALID_ADDRESS,
        "The address of {record} cannot be sent to Brightpearl: {message}. {address_fix} Then replay."),
    DeadLetterReason.VALIDATION_ERROR: Resolution(
        DeadLetterReason.VALIDATION_ERROR,
        "The target system refused {record}{code}: {message}. Correct what the message names in nopCommerce or in "
        "the mapping file (`bp-nop doctor` checks every mapped id and code against the account), then replay."),
    DeadLetterReason.AUTH: Resolution(
        DeadLetterReason.AUTH,
        "The credentials were refused ({message}). Check the Brightpearl and nopCommerce credentials with "
        "`bp-nop doctor`, fix them in the environment, restart the code server, then replay every auth dead letter.",
        replay_by_reason=True),
    DeadLetterReason.MALFORMED_ORDER: Resolution(
        DeadLetterReason.MALFORMED_ORDER,
        "{record} cannot be read: {message}. Complete it in nopCommerce (lines, totals, addresses), then replay; "
        "a junk record (a test order) can stay dead-lettered."),
    DeadLetterReason.MALFORMED_RECORD: Resolution(
        DeadLetterReason.MALFORMED_RECORD,
        "{record} cannot be read: {message}. Correct it where it lives, then replay; a junk record can stay dead-lettered."),
    DeadLetterReason.DUPLICATE: Resolution(
        DeadLetterReason.DUPLICATE,
        "{record} already exists in the target: {message}. Check that the existing record is the same one (for an "
        "order, its externalRef nop-<order id>); if so, nothing is lost; if not, correct the source and replay."),
    DeadLetterReason.NOT_FOUND: Resolution(
        DeadLetterReason.NOT_FOUND,
        "What {record} refers to is gone: {message}. Restore it (or create it again) and replay, or leave the letter "
        "if the deletion was intended."),
    DeadLetterReason.UNEXPECTED: Resolution(
        DeadLetterReason.UNEXPECTED,
        "An error no rule classifies, on {record}: {message}. Report it with dead letter {id} (a bug or an "
        "undocumented reply); replay after the fix."),
    DeadLetterReason.GAVE_UP: Resolution(
        DeadLetterReason.GAVE_UP,
        "{record} failed {attempts} times; the last error: {message}. Usually an outage that lasted too long: check "
        "both systems with `bp-nop doctor`, then replay."),
    DeadLetterReason.GATEWAY_REFUSED: Resolution(
        DeadLetterReason.GATEWAY_REFUSED,
        "The payment gateway refused the refund of {record}: {message}. Fix what the gateway names and replay; or "
        "refund the customer another way (the gateway's dashboard) and leave the letter, after checking the order's "
        "refunded amount in nopCommerce so the customer is not refunded twice."),
    DeadLetterReason.UNKNOWN_STORE: Resolution(
        DeadLetterReason.UNKNOWN_STORE,
        "{record} belongs to a nopCommerce store the mapping does not list: {message}. Add the store under `stores:` "
        "in the mapping file (its channel, price list and warehouse), then replay every unknown_store dead letter.",
        replay_by_reason=True),
    DeadLetterReason.OTHER: Resolution(
        DeadLetterReason.OTHER,
        "{record}: {message}. Fix the cause the message names, then replay."),
}

_SKU_IN_MESSAGE = re.compile(r"SKU\s+'([^']*)'|SKU\s+\"([^\"]*)\"")


@dataclass(frozen=True)
class ResolutionSuggestion:
    letter_id: int
    reason: str
    action: str
    data: dict[str, Any]
    replay_config: dict[str, Any]
    replay_command: str
    replay_command_local: str


def replay_run_config(*, ids: Sequence[int] | None = None, reason: str | None = None) -> dict[str, Any]:
    """The run config of `replay_dead_letters` for these ids, or for one reason."""
    if (ids is None) == (reason is None):
        raise ValueError("give exactly one of ids or reason")
    chosen: dict[str, Any] = {"ids": sorted(set(ids))} if ids is not None else {"reason": reason}
    if ids is not None and not chosen["ids"]:
        raise ValueError("ids must not be empty")
    return {"ops": {REPLAY_OP: {"config": chosen}}}


def replay_command(config: Mapping[str, Any], *, local: bool = False) -> str:
    """The shell command that launches `replay_dead_letters` with `config`."""
    launch = LOCAL_LAUNCH if local else COMPOSE_LAUNCH
    return f"{launch} -j {REPLAY_JOB} --config-json {shlex.quote(json.dumps(config, separators=(',', ':')))}"


def _describe(letter: DeadLetterLike) -> str:
    payload = letter.payload or {}
    if payload.get("order_id") is not None or letter.kind == "order":
        return f"nopCommerce order {payload.get('order_id', letter.nop_key)}"
    if payload.get("goods_out_note_id") is not None:
        return (f"goods-out note {payload['goods_out_note_id']} (Brightpearl order {payload.get('bp_order_id')}, "
                f"nopCommerce order {payload.get('nop_order_id')})")
    return f"{letter.kind.replace('_', ' ')} {letter.nop_key}"


def _skus(letter: DeadLetterLike) -> list[str]:
    payload = letter.payload or {}
    found = [str(s) for s in payload.get("skus", [])] + ([str(payload["sku"])] if payload.get("sku") else [])
    found += [a or b for a, b in _SKU_IN_MESSAGE.findall(letter.message or "")]
    return list(dict.fromkeys(found))


def _address_fix(message: str) -> str:
    text = message.lower()
    if "held for review" in text:
        return "Correct the address in nopCommerce (each issue above names the field, and its suggestion where there is one)."
    if "first address line" in text:
        return "Add the street (first address line) to the customer's address in nopCommerce."
    if "postcode" in text and "longer" in text:
        return "Shorten the postcode in nopCommerce to the real one (Brightpearl takes at most 20 characters)."
    if "alpha-3" in text or "countries:" in text:
        return "Add the country's ISO 2 -> 3 letter code under `countries:` in the mapping file."
    if "no country" in text:
        return "Set the address's country in nopCommerce."
    if "no billing or shipping address" in text:
        return "Give the order a billing address in nopCommerce."
    return "Correct the address in nopCommerce as the message says."


def suggest(letter: DeadLetterLike) -> ResolutionSuggestion:
    """The action, the data and the replay command for one dead letter."""
    try:
        reason = DeadLetterReason(letter.reason)
    except ValueError:
        reason = DeadLetterReason.OTHER
    resolution = RESOLUTIONS[reason]
    message = " ".join((letter.message or "no message").split())
    skus = _skus(letter)
    fields = {
        "id": letter.id, "record": _describe(letter), "message": message, "attempts": letter.attempts,
        "code": f" ({letter.error_code})" if letter.error_code else "",
        "sku": ", ".join(repr(s) for s in skus) if skus else "(named in the message)",
        "address_fix": _address_fix(message),
    }
    action = resolution.action.format(**fields)
    action = action[0].upper() + action[1:]
    config = replay_run_config(reason=reason.value) if resolution.replay_by_reason else replay_run_config(ids=[letter.id])
    data = {"kind": letter.kind, "key": letter.nop_key, "error_code": letter.error_code, "message": message,
            "attempts": letter.attempts, **({"skus": skus} if skus else {}), "payload": dict(letter.payload or {})}
    return ResolutionSuggestion(letter.id, reason.value, action, data, config, replay_command(config), replay_command(config, local=True))


def suggest_all(letters: Iterable[DeadLetterLike]) -> pd.DataFrame:
    """One row per dead letter: id, reason, action, data (JSON), replay command."""
    import pandas as pd
    rows = []
    for letter in letters:
        s = suggest(letter)
        rows.append({"id": s.letter_id, "reason": s.reason, "action": s.action, "data": json.dumps(s.data, default=str),
                     "replay_command": s.replay_command})
    return pd.DataFrame(rows, columns=["id", "reason", "action", "data", "replay_command"])


__all__ = [
    "RESOLUTIONS",
    "REPLAY_JOB",
    "REPLAY_OP",
    "Resolution",
    "ResolutionSuggestion",
    "replay_command",
    "replay_run_config",
    "suggest",
    "suggest_all",
]
