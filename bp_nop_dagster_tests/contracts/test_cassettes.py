"""Cassettes replay through the client's models: the vendored recordings and the packaged cassette
folders (`contracts/brightpearl/cassettes/`, `contracts/nopcommerce/cassettes/`, written by
`bp-nop probe --record` on a live account), and a set recorded here from the sandbox, which also
proves the scrubbing: no token, password, app reference, API user or unmasked email in the files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError as ModelValidationError

from bp_nop_dagster import contracts
from bp_nop_dagster.probe.cassettes import MASK, Scrubber, endpoint_for, write_cassettes
from bp_nop_dagster.sandbox.server import RunningSandbox
from bp_nop_dagster.sandbox.world import SandboxCredentials, SandboxWorld
from bp_nop_dagster.transport.errors import ApiError
from bp_nop_dagster_tests.probe.conftest import populate, probe

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def replay(path: Path) -> tuple[int, list[str], list[str]]:
    """(replies parsed, interactions no probe endpoint reads, parse failures) of one cassette."""
    parsed, unmatched, failures = 0, [], []
    for interaction in json.loads(path.read_text(encoding="utf-8"))["interactions"]:
        endpoint = endpoint_for(interaction["method"], interaction["path"])
        if endpoint is None or not 200 <= interaction["status"] < 300:
            unmatched.append(f"{interaction['method']} {interaction['path']} {interaction['status']}")
            continue
        try:
            endpoint.parse(interaction["body"])
        except (ModelValidationError, ApiError, KeyError, TypeError, ValueError) as error:
            failures.append(f"{path.name}: {endpoint.name}: {type(error).__name__}: {error}")
        else:
            parsed += 1
    return parsed, unmatched, failures


def test_packaged_cassettes_replay_through_the_client_models():
    parsed, failures = 0, []
    for path in contracts.cassette_paths():
        count, unmatched, problems = replay(path)
        parsed += count
        failures += problems
        if path.parent != contracts.BRIGHTPEARL_RECORDINGS:  # probe cassettes hold only what the probe reads
            assert not unmatched, (path, unmatched)
    assert not failures, "\n".join(failures)
    assert parsed >= 20  # the vendored recordings alone hold this many replies of endpoints the flows read


CREDENTIALS = SandboxCredentials(
    brightpearl_account_code="acme-shop", brightpearl_app_ref="acme_probe01", brightpearl_account_token="tok-3f9c1e77aa",
    nopcommerce_email="api-user@acme-shop.test", nopcommerce_password="pw-8d7a55c1",
)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("cassettes")
    with RunningSandbox(SandboxWorld(seed=42, scale="small", credentials=CREDENTIALS)) as sandbox:
        populate(sandbox)
        replies = []
        probe(sandbox, record=replies)
    secrets = [CREDENTIALS.brightpearl_account_token, CREDENTIALS.nopcommerce_password, CREDENTIALS.brightpearl_app_ref,
               CREDENTIALS.nopcommerce_email]
    written = write_cassettes(directory, replies, Scrubber(secrets))
    assert len(written) == len(replies) >= 35
    return directory


def test_recorded_cassettes_replay(recorded):
    files = sorted(recorded.glob("*/*.json"))
    total = 0
    for path in files:
        parsed, unmatched, failures = replay(path)
        assert not unmatched and not failures, (path, unmatched, failures)
        total += parsed
    assert total == len(files)
    assert {p.parent.name for p in files} == {"brightpearl", "nopcommerce"}


def test_recorded_cassettes_are_scrubbed(recorded):
    texts = {path: path.read_text(encoding="utf-8") for path in recorded.glob("*/*.json")}
    everything = "\n".join(texts.values())
    for secret in ("tok-3f9c1e77aa", "pw-8d7a55c1", "acme_probe01", "api-user@acme-shop.test", "acme-shop", "Bearer", "eyJ"):
        assert secret not in everything, secret
    emails = set(EMAIL.findall(everything))
    assert emails and all(re.fullmatch(r"person\d+@example\.invalid", e) for e in emails), sorted(emails)[:5]
    for path, text in texts.items():
        cassette = json.loads(text)
        for interaction in cassette["interactions"]:
            assert set(interaction) == {"method", "path", "query", "request_body", "status", "headers", "body"}
            assert set(interaction["headers"]) <= {"content-type", "message-type", "brightpearl-requests-remaining",
                                                   "brightpearl-next-throttle-period"}
            assert interaction["path"].startswith(("/public-api/<ACCOUNT>/", "/api-backend/"))
    address = json.loads(texts[recorded / "nopcommerce" / "get_address_getbyid_id.json"])["interactions"][0]["body"]
    assert address["first_name"] == address["last_name"] == address["address1"] == MASK
    contacts = json.loads(texts[recorded / "brightpearl" / "get_contact_service_contact_search.json"])["interactions"][0]["body"]
    names = [c["name"] for c in contacts["response"]["metaData"]["columns"]]
    for row in contacts["response"]["results"]:
        assert row[names.index("lastName")] in (MASK, "")
        assert row[names.index("contactId")] > 0  # ids stay: they are what makes the replay meaningful


def test_scrubber_keeps_equal_emails_equal_and_shapes_intact():
    scrubber = Scrubber(["s3cret-token"])
    body = {"a": "Ann@Example.com", "b": ["ann@example.com", "bob@x.org"], "note": "call bob@x.org", "phone": "+44 1",
            "date_of_birth": "1980-02-03T00:00:00", "n": 3, "first_name": None}
    assert scrubber.value(body) == {"a": "person1@example.invalid", "b": ["person1@example.invalid", "person2@example.invalid"],
                                    "note": "call person2@example.invalid", "phone": MASK, "date_of_birth": "2000-01-01T00:00:00",
                                    "n": 3, "first_name": None}
    assert scrubber.secrets('{"x": "s3cret-token"}') == '{"x": "***"}'
