"""What to do about each dead letter. The replay command's run config is checked against the real
`replay_dead_letters` job of the code location (its op and config schema), so it cannot drift."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field

import dagster as dg
import pytest

from bp_nop_dagster.definitions import defs
from bp_nop_dagster.ledger.kinds import DeadLetterReason
from bp_nop_dagster.quality.resolution import RESOLUTIONS, replay_command, replay_run_config, suggest, suggest_all


@dataclass
class Letter:
    id: int = 7
    kind: str = "order"
    nop_key: str = "1042"
    reason: str = "unknown_sku"
    error_code: str | None = None
    message: str = ""
    payload: dict = field(default_factory=dict)
    attempts: int = 1


def test_every_reason_has_an_action():
    assert set(RESOLUTIONS) == set(DeadLetterReason)
    for reason in DeadLetterReason:
        s = suggest(Letter(reason=reason.value, message="it failed"))
        assert s.action and "{" not in s.action and s.reason == reason.value
        assert "replay_dead_letters" in s.replay_command


def test_unknown_sku_names_the_sku_and_what_to_do():
    letter = Letter(kind="goods_out_note", nop_key="88", reason="unknown_sku",
                    message="goods-out note 88: order row 3 (SKU 'BPN-00042 ') matches no item of the nopCommerce order",
                    payload={"goods_out_note_id": 88, "bp_order_id": 5, "nop_order_id": 1042})
    s = suggest(letter)
    assert "'BPN-00042 '" in s.action and "Create it in Brightpearl" in s.action
    assert s.data["skus"] == ["BPN-00042 "] and s.data["payload"]["nop_order_id"] == 1042
    assert s.replay_config == {"ops": {"release_dead_letters": {"config": {"ids": [7]}}}}


@pytest.mark.parametrize(
    "message, fix",
    [
        ("address 12 has no first address line", "first address line"),
        ("address 12: postcode 'SW1A 1AA SW1A 1AA SW1A 1AA' is longer than 20 characters", "Shorten the postcode"),
        ("country 'XK' has no ISO alpha-3 code in the mapping (add it under `countries:`)", "`countries:`"),
    ],
)
def test_address_problems_say_where_to_fix_them(message, fix):
    s = suggest(Letter(reason="invalid_address", message=message, payload={"order_id": 1042}))
    assert fix in s.action and "nopCommerce order 1042" in s.action


def test_credentials_are_replayed_by_reason_and_gave_up_says_how_often():
    assert suggest(Letter(reason="auth", message="401")).replay_config == {"ops": {"release_dead_letters": {"config": {"reason": "auth"}}}}
    assert "failed 20 times" in suggest(Letter(reason="gave_up", message="timeout", attempts=20)).action
    assert "(CMNC-400)" in suggest(Letter(reason="validation_error", error_code="CMNC-400", message="bad")).action
    assert suggest(Letter(reason="no_such_reason", message="x")).reason == "other"


def test_the_replay_config_fits_the_real_job():
    job = defs().resolve_job_def("replay_dead_letters")
    for config in (replay_run_config(ids=[3, 7, 3]), replay_run_config(reason="invalid_address")):
        assert dg.validate_run_config(job, config)
    assert replay_run_config(ids=[7, 3, 3]) == {"ops": {"release_dead_letters": {"config": {"ids": [3, 7]}}}}
    with pytest.raises(ValueError, match="exactly one"):
        replay_run_config()
    with pytest.raises(ValueError, match="not be empty"):
        replay_run_config(ids=[])


def test_the_commands_are_shell_safe():
    config = replay_run_config(ids=[3])
    for command in (replay_command(config), replay_command(config, local=True)):
        words = shlex.split(command.replace("$PWD", "/srv"))
        assert words[words.index("-j") + 1] == "replay_dead_letters"
        assert json.loads(words[words.index("--config-json") + 1]) == config
    assert replay_command(config).startswith("docker compose exec daemon dagster job launch -w /opt/dagster/dagster_home/workspace.yaml")


def test_a_table_for_many_letters():
    frame = suggest_all([Letter(id=1), Letter(id=2, reason="gave_up", message="timeout", attempts=8)])
    assert list(frame["id"]) == [1, 2] and list(frame.columns) == ["id", "reason", "action", "data", "replay_command"]
    assert json.loads(frame.loc[1, "data"])["attempts"] == 8
