"""Tests of simulator behaviour name their source (issue 19 item 4), and no test is one that cannot fail.

A test under sandbox/, brightpearl/, nopcommerce/ or contracts/ that asserts what a server does must
say where that comes from, in its docstring or a comment in (or just above) it: a doc page (DOC,
api-docs / help.brightpearl), a recording (REC, a `*.json` of the vendored recordings), the plugin
or core source (WAPI, CORE, PLUGIN, the contract), the reference notes (NOTES, §), a fidelity-table
row (FIDELITY '<subject>', a row of docs/fidelity.md), an integrator (AIRBYTE, MEDUSA, ...), or the
client RULE it checks. Named recordings and fidelity rows must exist, so a citation cannot drift.

Exceptions are listed here by name with their reason: modules that assert no simulator behaviour,
modules whose every test reads its expected values from one source file, and the backlog of tests
not cited yet (which may only shrink: a listed test that now cites, or no longer exists, fails).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bp_nop_dagster.contracts import BRIGHTPEARL_RECORDINGS
from bp_nop_dagster.sandbox.fidelity_doc import DOCUMENT

TESTS = Path(__file__).resolve().parents[1]
SCOPES = ("sandbox", "brightpearl", "nopcommerce", "contracts")

CITATION = re.compile(
    r"\b(DOC|REC|NOTES|FIDELITY|CONTRACT|PLUGIN|WAPI|CORE|HELP|RULE|RETURNS|AIRBYTE|MEDUSA|MAG|RFC|JAVA|VCR)\b"
    r"|api-docs|help\.brightpearl|webapi-contract|\brecordings?\b|\.json\b|§")
RECORDING_NAME = re.compile(r"\b([a-z][a-z0-9_]*\.json)\b")
FIDELITY_ROW = re.compile(r"FIDELITY '([^']+)'")
SOURCE_FILES = {"webapi-contract.json", "documented.json"}

# Modules that assert no simulator behaviour: what they test instead.
NOT_WIRE = {
    "sandbox/test_generator.py": "the seeded shop's own promises (determinism, UTC anchor, planted data problems)",
    "sandbox/test_profiles.py": "the drift wrapper on a tiny ASGI app and the profile options",
    "sandbox/test_fidelity_doc.py": "docs/fidelity.md is the rendering of the facts (the sources live in the facts)",
    "brightpearl/test_pacing.py": "the client's own pacer on a fake clock",
    "brightpearl/test_resource.py": "Dagster resource configuration and secrets",
    "nopcommerce/test_resource.py": "Dagster resource configuration and secrets",
    "contracts/test_sources_cited.py": "this checker",
}

# Modules whose every test takes its expected values from one source, named in the module docstring;
# the token must occur in the module (the file or constant the tests read).
WHOLE_MODULE_SOURCE = {
    "brightpearl/test_sourced_wire.py": "BRIGHTPEARL_RECORDINGS",
    "brightpearl/test_returns_catalogue_wire.py": "BRIGHTPEARL_RECORDINGS",
    "brightpearl/test_contract_recordings.py": "BRIGHTPEARL_RECORDINGS",
    "sandbox/test_brightpearl_recordings.py": "BRIGHTPEARL_RECORDINGS",
    "sandbox/test_brightpearl_throttle.py": "212644823",
    "sandbox/test_nopcommerce_typescript_client.py": "manuel3108/nopcommerce-api",
    "contracts/test_conformance.py": "contracts.brightpearl_documented()",
    "contracts/test_nopcommerce_contract.py": "NOPCOMMERCE_CONTRACT",
    "contracts/test_cassettes.py": "BRIGHTPEARL_RECORDINGS",
}

# The backlog: tests that assert simulator or client behaviour against the simulator and do not name
# their source yet. Only shrinks (see the module docstring).
NOT_YET_CITED: dict[str, set[str]] = {
    "sandbox/test_brightpearl_catalogue.py": {
        "test_a_failed_patch_test_changes_nothing",
        "test_staff_edit_products_and_contacts_through_the_control_api",
        "test_what_moves_a_products_updated_on_is_switchable",
    },
    "sandbox/test_brightpearl_fidelity.py": {
        "test_a_new_sales_order_allocates_on_hand_stock_without_a_goods_movement",
        "test_a_phone_order_is_not_allocated_on_create_unless_the_account_does_so",
        "test_a_receipt_and_a_refund_create_sales_receipt_journals_read_by_get_and_search",
        "test_an_auth_needs_its_authorization_expiry",
        "test_every_api_route_has_exactly_one_fact_and_every_endpoint_fact_a_route",
        "test_every_inferred_fact_names_the_option_that_switches_it",
        "test_fidelity_options_are_read_and_changed_through_the_control_api",
    },
    "sandbox/test_brightpearl_returns.py": {
        "test_a_paid_order_is_cancelled_once_its_payment_is_reversed",
        "test_staff_make_a_credit_closed_and_refunded_through_the_control_api",
        "test_the_inferred_quarantine_behaviours_are_switchable",
    },
    "sandbox/test_brightpearl_webhooks.py": {
        "test_a_drop_chance_loses_some_events_and_not_others",
        "test_a_dropped_event_is_never_sent",
        "test_an_id_set_subscription_gets_one_request_for_the_products_moved_together",
        "test_failed_deliveries_are_retried_as_the_quality_of_service_says",
        "test_without_id_sets_each_id_is_its_own_request",
    },
    "sandbox/test_nopcommerce_api.py": {
        "test_auth_checked_before_validation",
        "test_bearer_and_bare_token_both_work",
        "test_customers",
        "test_expire_tokens_invalidates_issued_tokens",
        "test_fault_drop_reply_after_write",
        "test_fault_latency",
        "test_order_dto_wire_format",
        "test_order_items_and_addresses",
        "test_order_search_status_and_other_filters",
        "test_order_totals_multi_rate_add_up",
        "test_paging_semantics",
        "test_reset_empty_and_seeded",
    },
    "sandbox/test_nopcommerce_catalog.py": {
        "test_adjust_inventory_by_attribute_combinations",
        "test_adjust_inventory_multiple_warehouses",
        "test_product_dto_and_sku_lookups",
        "test_product_get_all_paging_and_filters",
        "test_product_warehouse_crud",
    },
    "sandbox/test_nopcommerce_catalogue_customers.py": {
        "test_admin_edit_stamps_updated_on_the_api_update_does_not",
        "test_attribute_combination_create_and_update",
        "test_customer_edits_in_the_shop",
        "test_product_create_is_a_plain_insert",
        "test_registration_converts_the_visitor_guest",
    },
    "sandbox/test_nopcommerce_fulfilment.py": {
        "test_multi_warehouse_ship_books_reserved_stock",
        "test_shipment_get_all_filters_and_paging",
    },
    "sandbox/test_nopcommerce_refunds.py": {
        "test_a_gateway_that_refuses_returns_its_errors_and_changes_nothing",
        "test_full_refund_offline_marks_the_total_refunded",
        "test_online_partial_refund_reaching_the_total_is_refunded",
        "test_online_refund_needs_a_gateway_that_refunds",
        "test_partial_refunds_until_the_total_then_refunded",
    },
    "sandbox/test_nopcommerce_returns.py": {
        "test_search_filters_and_order",
        "test_storefront_return_window_counts_from_the_order_creation",
    },
    "nopcommerce/test_fulfilment_writes.py": {
        "test_a_create_with_a_lost_reply_is_not_resent",
        "test_a_state_changing_get_is_not_resent_after_an_unknown_outcome",
    },
    "nopcommerce/test_models.py": {
        "test_card_data_is_never_kept",
        "test_custom_order_number_int_becomes_text",
        "test_datetimes_are_utc",
        "test_masked_card_number_is_really_masked",
        "test_minimal_order_defaults",
        "test_notes_order_sample",
        "test_optional_datetime_unset",
        "test_order_required_fields",
        "test_paged_envelope",
        "test_samples",
        "test_tax_rates_malformed_is_an_error",
        "test_tax_rates_parse",
        "test_token_hidden_in_repr",
        "test_unknown_status_gives_none_not_an_error",
    },
    "nopcommerce/test_refunds_and_writes.py": {
        "test_can_refund_twins_are_retried_like_reads",
        "test_combinations_by_sku",
        "test_customer_and_address_writes",
        "test_full_refund_and_gateway_refusal",
        "test_refund_amount_travels_exactly",
        "test_refund_amounts_are_exact_and_positive",
        "test_refunds_are_never_resent_after_an_unknown_outcome",
        "test_registered_customers_resolve_the_role_by_system_name",
        "test_return_request_filters_update_and_lookups",
        "test_update_product_keeps_an_admin_edit",
    },
}


def _modules() -> list[tuple[str, Path]]:
    return [(f"{scope}/{path.name}", path) for scope in SCOPES for path in sorted((TESTS / scope).glob("test_*.py"))]


def _tests(path: Path) -> dict[str, str]:
    """Each test function's text: its decorators, body and the comment lines just above it."""
    source = path.read_text()
    lines = source.splitlines()
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            while start > 0 and lines[start - 1].strip().startswith("#"):
                start -= 1
            found[node.name] = "\n".join(lines[start:node.end_lineno])
    return found


def _fidelity_subjects() -> set[str]:
    assert DOCUMENT is not None and DOCUMENT.is_file()
    return {cell.strip().strip("`") for line in DOCUMENT.read_text().splitlines() if line.startswith("| ")
            for cell in line.split("|")[1:3]}


def test_every_test_of_simulator_behaviour_names_its_source():
    uncited: dict[str, set[str]] = {}
    for name, path in _modules():
        if name in NOT_WIRE or name in WHOLE_MODULE_SOURCE:
            continue
        missing = {test for test, text in _tests(path).items() if not CITATION.search(text)}
        if missing:
            uncited[name] = missing
    new = {name: sorted(tests - NOT_YET_CITED.get(name, set())) for name, tests in uncited.items()}
    assert not {k: v for k, v in new.items() if v}, "tests that name no source (DOC/REC/FIDELITY/WAPI/RULE ...)"
    settled = {name: sorted(tests - uncited.get(name, set())) for name, tests in NOT_YET_CITED.items()}
    assert not {k: v for k, v in settled.items() if v}, "cited or gone: remove them from NOT_YET_CITED"


def test_exceptions_name_existing_modules_and_whole_module_sources_are_read():
    names = {name for name, _ in _modules()}
    assert set(NOT_WIRE) <= names and set(WHOLE_MODULE_SOURCE) <= names and set(NOT_YET_CITED) <= names
    for name, token in WHOLE_MODULE_SOURCE.items():
        assert token in (TESTS / name).read_text(), f"{name} does not read {token}"


def test_named_recordings_and_fidelity_rows_exist():
    recordings = {p.name for p in BRIGHTPEARL_RECORDINGS.glob("*.json")} | SOURCE_FILES
    subjects = _fidelity_subjects()
    wrong: list[str] = []
    for name, path in _modules():
        if name in NOT_WIRE:
            continue
        for test, text in _tests(path).items():
            cited = "\n".join(line for line in text.splitlines() if "REC" in line or "recording" in line)
            wrong += [f"{name}::{test}: recording {r}" for r in RECORDING_NAME.findall(cited) if r not in recordings]
            wrong += [f"{name}::{test}: fidelity row {s!r}" for s in FIDELITY_ROW.findall(" ".join(text.replace('"""', " ").split()))
                      if s not in subjects]
    assert wrong == []


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def test_no_test_expects_any_exception_where_a_specific_error_is_meant():
    """`pytest.raises(Exception)` (or BaseException) passes on any bug at all: every expected error is named."""
    broad: list[str] = []
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "raises" and node.args:
                if _names(node.args[0]) & {"Exception", "BaseException"}:
                    broad.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert broad == []


def test_every_test_asserts_something():
    """A test with no assert, no expected error and no assert_/check_/expect_ helper cannot fail on a wrong value."""
    empty: list[str] = []
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                calls = {n for n in _names(node) if n.lstrip("_").startswith(("assert", "check", "expect", "verify")) or n in {"raises", "warns", "fail"}}
                if not calls and not any(isinstance(n, ast.Assert) for n in ast.walk(node)):
                    empty.append(f"{path.relative_to(TESTS)}::{node.name}")
    assert empty == []
