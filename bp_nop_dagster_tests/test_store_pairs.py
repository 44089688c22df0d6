"""Several pairs on ONE nopCommerce installation, one store each, each its own Brightpearl account
(README, "Many pairs and scale"; bp_nop_dagster/pairs.py).

The rule, stated here and expected by every test (never read back from the code):
- a record of one store (order, return request, customer registered in it) belongs to the pair
  naming that store in BP_NOP_NOPCOMMERCE_STORE_IDS;
- a product limited to stores belongs to the pair naming all of them; one whose stores are split
  between pairs is a configuration error, refused in words before anything is written;
- a record shared by every store (a product not limited to stores) belongs to the catalogue owner,
  the pair naming the installation's lowest store id;
- two pairs claiming one store of one installation (or one pair with no store list sharing its
  installation) is refused in words.

The sandbox pairs: `north` owns store 1 (the seeded web store) and books into the sandbox's own
Brightpearl account; `south` owns store 2 (the seeded Outlet) and books into a second sandbox's
account (same seed, so the same catalogue). Both read and write the first sandbox's nopCommerce.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import requests

from bp_nop_dagster import settings
from bp_nop_dagster.brightpearl.resource import BrightpearlResource
from bp_nop_dagster.ledger.ledger import Ledger
from bp_nop_dagster.mapping.config import load_mapping_config
from bp_nop_dagster.mapping.purchase_orders import BACKORDER_FIELDS
from bp_nop_dagster.nopcommerce.resource import NopCommerceResource
from bp_nop_dagster.pairs import StoreOwnershipError, StoreScope, apply_pair_environment, store_claim_conflicts, store_scope
from bp_nop_dagster.sandbox.server import RunningSandbox
from bp_nop_dagster.sandbox.world import SandboxWorld
from bp_nop_dagster.sync.catalogue import CatalogueSync
from bp_nop_dagster.sync.purchase_orders import apply_backorders
from bp_nop_dagster.sync.discovery import enqueue_orders_created_between
from bp_nop_dagster.sync.stock import StockSync
from bp_nop_dagster.transport.errors import ConfigurationError
from bp_nop_dagster_tests.defs.test_order_flow import ADDRESS, Flow, flow_resources, linked_orders
from bp_nop_dagster_tests.stock_actions import move_stock

STORE_IDS = settings.BP_NOP_NOPCOMMERCE_STORE_IDS
INSTALLATION = (1, 2, 3)


# ------------------------------------------------------------------ the rule on its own
@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("2", frozenset({2})), ("2,3", frozenset({2, 3})), (" 3; 2 ", frozenset({2, 3})),
])
def test_a_pairs_store_list_reads_commas_semicolons_and_spaces_and_unset_is_every_store(value, expected):
    environ = {} if value is None else {STORE_IDS: value}
    assert store_scope(environ) == StoreScope(expected)


@pytest.mark.parametrize("value", ["0", "two", "2,-1", "2.5"])
def test_a_malformed_store_list_is_refused_naming_the_variable(value):
    with pytest.raises(ConfigurationError, match=STORE_IDS):
        store_scope({STORE_IDS: value})


def test_store_records_belong_to_the_pair_naming_the_store_and_storeless_ones_to_the_lowest_stores_pair():
    north, south = StoreScope(frozenset({1})), StoreScope(frozenset({2, 3}))
    assert [north.owns_store_record(s, INSTALLATION) for s in (1, 2, 3)] == [True, False, False]
    assert [south.owns_store_record(s, INSTALLATION) for s in (1, 2, 3)] == [False, True, True]
    # Store 0 (none) and a store the installation does not have are shared: the owner of store 1.
    assert (north.owns_store_record(0, INSTALLATION), south.owns_store_record(0, INSTALLATION)) == (True, False)
    assert (north.owns_store_record(9, INSTALLATION), south.owns_store_record(9, INSTALLATION)) == (True, False)
    assert StoreScope().owns_store_record(2, INSTALLATION), "one pair for the whole installation owns everything"


def test_a_product_belongs_to_the_pair_owning_all_its_stores_and_a_shared_one_to_the_catalogue_owner():
    north, south = StoreScope(frozenset({1})), StoreScope(frozenset({2, 3}))
    # Limited to store 2, or to 2 and 3: south's alone.
    for stores in ([2], [2, 3]):
        assert (north.owns_product("P", True, stores, INSTALLATION), south.owns_product("P", True, stores, INSTALLATION)) == (False, True)
    # Not limited (its mappings, if any, do not count), or limited to no live store: shared, store 1's pair.
    for limited, stores in ((False, []), (False, [2]), (True, []), (True, [7])):
        assert (north.owns_product("P", limited, stores, INSTALLATION), south.owns_product("P", limited, stores, INSTALLATION)) == (True, False)


def test_a_product_split_between_pairs_is_refused_in_words_by_both():
    for scope in (StoreScope(frozenset({1})), StoreScope(frozenset({2, 3}))):
        with pytest.raises(StoreOwnershipError) as refused:
            scope.owns_product("BPN-00042", True, [1, 2], INSTALLATION)
        message = str(refused.value)
        assert "BPN-00042" in message and "1, 2" in message and "Limit the product to one pair's stores" in message


def test_a_store_the_installation_lacks_is_refused():
    with pytest.raises(ConfigurationError, match="names store 4"):
        StoreScope(frozenset({2, 4})).check_installation(INSTALLATION)
    StoreScope(frozenset({2, 3})).check_installation(INSTALLATION)


SHOP = "https://shop.example/api-backend"


def pairs_environment(**stores: str | None) -> dict[str, str]:
    """Every pair's values under its prefix, as the Docker deployment's daemon holds them."""
    environ = {}
    for pair, value in stores.items():
        environ[f"BP_NOP_{pair.upper()}__{settings.NOPCOMMERCE_BASE_URL}"] = SHOP
        if value is not None:
            environ[f"BP_NOP_{pair.upper()}__{STORE_IDS}"] = value
    return environ


def test_two_pairs_with_their_own_stores_of_one_installation_do_not_conflict():
    assert store_claim_conflicts(pairs_environment(north="1", south="2,3")) == []
    # Two installations: each pair may own all of its own.
    environ = {**pairs_environment(north=None), f"BP_NOP_SOUTH__{settings.NOPCOMMERCE_BASE_URL}": "https://other.example/api-backend"}
    assert store_claim_conflicts(environ) == []


def test_two_pairs_claiming_one_store_or_the_whole_installation_are_named():
    [both] = store_claim_conflicts(pairs_environment(north="1,2", south="2,3"))
    assert "north and south both claim store 2" in both
    [whole] = store_claim_conflicts(pairs_environment(north="1", south=None))
    assert "pair south names no stores" in whole
    # The trailing slash and the case of the URL do not make two installations.
    environ = {**pairs_environment(north="2"), f"BP_NOP_SOUTH__{settings.NOPCOMMERCE_BASE_URL}": SHOP.upper() + "/",
               f"BP_NOP_SOUTH__{STORE_IDS}": "2"}
    assert len(store_claim_conflicts(environ)) == 1


def test_a_code_location_of_a_pair_claiming_another_pairs_store_does_not_load():
    environ = {settings.BP_NOP_PAIR: "south", **pairs_environment(north="1,2", south="2")}
    with pytest.raises(ConfigurationError, match="both claim store 2"):
        apply_pair_environment(environ)
    environ = {settings.BP_NOP_PAIR: "south", **pairs_environment(north="1", south="2")}
    apply_pair_environment(environ)
    assert environ[STORE_IDS] == "2"  # its own list, copied like every pair variable


def test_doctor_fails_on_a_shared_store_and_names_both_pairs(monkeypatch):
    from bp_nop_dagster.doctor import FAIL, Doctor

    for key, value in {settings.BP_NOP_PAIR: "south", **pairs_environment(north="2", south="2")}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(STORE_IDS, "")  # restored by monkeypatch after the doctor copies south's value
    status, text = Doctor().check_stores()
    assert status == FAIL and "north and south both claim store 2" in text


def test_the_docker_deployment_hands_each_pair_its_store_list_and_its_daemon_sees_a_shared_store():
    """Through compose's substitution (deploy/docker/compose.pairs.yml): each pair's code server
    and run container get that pair's store list; the daemon, which holds every pair's values,
    names two pairs claiming one store of one installation."""
    import json

    from bp_nop_dagster_tests.test_deployment_files import option, overlay_environment, pair_services, pairs_env_example

    shared = "https://shop.example/api-backend"
    values = {**pairs_env_example(), "BP_NOP_ACME__NOPCOMMERCE_BASE_URL": shared, "BP_NOP_GLOBEX__NOPCOMMERCE_BASE_URL": shared,
              f"BP_NOP_ACME__{STORE_IDS}": "1", f"BP_NOP_GLOBEX__{STORE_IDS}": "2,3"}
    owned = {"acme": frozenset({1}), "globex": frozenset({2, 3})}
    daemon = overlay_environment("daemon", values)
    for service_name, service in pair_services().items():
        pair = service["environment"][settings.BP_NOP_PAIR]
        entries = json.loads(option(service["command"], "--container-context"))["docker"]["env_vars"]
        run = dict(entry.split("=", 1) if "=" in entry else (entry, daemon[entry]) for entry in entries)
        for environment in (overlay_environment(service_name, values), run):
            apply_pair_environment(environment)
            assert store_scope(environment) == StoreScope(owned[pair]), (service_name, pair)
    assert store_claim_conflicts(daemon) == []
    daemon = overlay_environment("daemon", {**values, f"BP_NOP_GLOBEX__{STORE_IDS}": "1,2"})
    [conflict] = store_claim_conflicts(daemon)
    assert "acme and globex both claim store 1" in conflict


def test_doctor_says_which_pair_is_the_catalogue_owner_and_refuses_a_store_the_shop_lacks(sandbox, monkeypatch):
    from bp_nop_dagster.doctor import FAIL, OK, Doctor

    for key, value in settings.sandbox_environment(sandbox).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(STORE_IDS, "1")
    assert Doctor().check_stores() == (OK, "store 1 of the installation's 1, 2; the catalogue owner: it also writes the products "
                                           "limited to no store and the customers of no store")
    monkeypatch.setenv(STORE_IDS, "2")
    assert Doctor().check_stores() == (OK, "store 2 of the installation's 1, 2; not the catalogue owner (the pair owning store 1 is)")
    monkeypatch.setenv(STORE_IDS, "2,5")
    status, text = Doctor().check_stores()
    assert status == FAIL and "names store 5" in text


# ------------------------------------------------------------------ two pairs on the sandbox
@pytest.fixture
def second_account():
    """A second Brightpearl account (a second sandbox, same seed: the same catalogue)."""
    with RunningSandbox(SandboxWorld(seed=42, scale="small")) as other:
        yield other


def pair_flow(sandbox: RunningSandbox, account: RunningSandbox, folder: Path) -> Flow:
    """The order flow of a pair reading `sandbox`'s nopCommerce and booking into `account`."""
    folder.mkdir()
    flow = Flow(sandbox, folder)
    creds = account.world.credentials
    flow.settings.update(bp_url=account.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                         account_token=creds.brightpearl_account_token)
    flow.resources = flow_resources(**flow.settings)
    flow.world_bp = account.world.brightpearl
    return flow


def place(sandbox: RunningSandbox, store_id: int, email: str) -> int:
    body = {"email": email, "first_name": "Ada", "last_name": "Store", "address": ADDRESS, "store_id": store_id,
            "items": [{"sku": "BPN-00001", "quantity": 1}], "paid": True}
    response = requests.post(f"{sandbox.urls.nopcommerce_root}/__sandbox__/orders", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_each_stores_orders_reach_only_its_own_pairs_account(sandbox, second_account, tmp_path, monkeypatch):
    """Through Dagster (the order sensor, then the order job) for each pair in turn, its store list
    set in the environment as its code location would have it."""
    monkeypatch.setenv(settings.BP_NOP_REPORTS_DIR, str(tmp_path / "reports"))
    flows = {"north": pair_flow(sandbox, sandbox, tmp_path / "north"), "south": pair_flow(sandbox, second_account, tmp_path / "south")}
    stores = {"north": 1, "south": 2}
    orders = {name: [place(sandbox, store, f"{name}{i}@pairs.test") for i in range(2)] for name, store in stores.items()}
    before = {name: set(flow.world_bp.orders) for name, flow in flows.items()}
    for name, flow in flows.items():
        monkeypatch.setenv(STORE_IDS, str(stores[name]))
        with dg.instance_for_test() as instance:
            flow.tick(instance)
            flow.sync(instance)
    for name, flow in flows.items():
        new = {flow.world_bp.orders[i].external_ref for i in set(flow.world_bp.orders) - before[name]}
        # externalRef: the default mapping's prefix "nop-" and the nopCommerce id.
        assert new == {f"nop-{o}" for o in orders[name]}, name
        assert set(linked_orders(flow)) == {str(o) for o in orders[name]}, name


def nop_client(sandbox: RunningSandbox):
    """A run's nopCommerce client, built by the resource (which reads the pair's store list)."""
    creds = sandbox.world.credentials
    return NopCommerceResource(base_url=sandbox.urls.nopcommerce_base_url, email=creds.nopcommerce_email,
                               password=creds.nopcommerce_password).get_client()


def test_an_order_of_another_pairs_store_in_a_pairs_ledger_is_dead_lettered_never_booked(sandbox, second_account, tmp_path,
                                                                                         monkeypatch):
    """A store-1 order left in south's ledger (say, from before south named its stores)."""
    monkeypatch.setenv(settings.BP_NOP_REPORTS_DIR, str(tmp_path / "reports"))
    south = pair_flow(sandbox, second_account, tmp_path / "south")
    order = place(sandbox, 1, "left-behind@pairs.test")
    ledger = south.resources["ledger"].get_ledger()
    ledger.enqueue("order", [str(order)])
    before = set(south.world_bp.orders)
    monkeypatch.setenv(STORE_IDS, "2")
    with dg.instance_for_test() as instance:
        south.sync(instance)
    assert set(south.world_bp.orders) == before
    letters = [d for d in ledger.dead_letters() if d.nop_key == str(order)]
    assert [d.reason for d in letters] == ["unknown_store"]
    assert "store 1, which this pair does not own" in letters[0].message


def test_the_catch_up_sweep_enqueues_only_the_pairs_stores_orders(sandbox, tmp_path, monkeypatch):
    """A sweep over the whole seeded history and one new order: exactly the live orders of the
    pair's store (the sandbox's own order records say which store each was placed in)."""
    start = min(o["created_on_utc"] for o in sandbox.world.nopcommerce.orders.values()).replace(tzinfo=UTC)
    extra = place(sandbox, 2, "outlet@pairs.test")
    for store in (1, 2):
        monkeypatch.setenv(STORE_IDS, str(store))
        ledger = Ledger(f"sqlite:///{tmp_path / f'sweep-{store}.sqlite'}")
        enqueue_orders_created_between(nop_client(sandbox), ledger, start, datetime.now(UTC) + timedelta(minutes=1))
        expected = {str(o["id"]) for o in sandbox.world.nopcommerce.orders.values() if o["store_id"] == store and not o["deleted"]}
        assert expected, f"the seeded shop has orders in store {store}"
        assert set(ledger.unsettled("order")) == expected
        assert (str(extra) in expected) == (store == 2)


# ------------------------------------------------------------------ stock: one writer per product
def stock_run(sandbox: RunningSandbox, account: RunningSandbox, tmp_path: Path, name: str, store_ids: str, monkeypatch, skus,
              *, write: bool = True):
    """One stock run of a pair for `skus` (`write` False: the drift report's reads only), built as
    a run would: the pair's store list from the environment."""
    monkeypatch.setenv(STORE_IDS, store_ids)
    nop = nop_client(sandbox)
    account_creds = account.world.credentials
    bp = BrightpearlResource(base_url=account.urls.brightpearl_base_url, app_ref=account_creds.brightpearl_app_ref,
                             account_token=account_creds.brightpearl_account_token).build_client()
    engine = StockSync(nop=nop, bp=bp, ledger=Ledger(f"sqlite:///{tmp_path / f'stock-{name}.sqlite'}"),
                       stock=load_mapping_config(None).stock)
    ids = account.world.brightpearl.sku_to_product_id()
    return (engine.run if write else engine.plan)(None if skus is None else [ids[sku] for sku in skus])


def stock_products(sandbox: RunningSandbox, count: int) -> list[str]:
    """SKUs stocked as one product-level number on both sides (no warehouses, no combinations)."""
    nop, bp = sandbox.world.nopcommerce, sandbox.world.brightpearl
    tracked = {p.sku for p in bp.products.values() if p.stock_tracked}
    return sorted(p["sku"] for p in nop.products.values() if p["sku"] in tracked and p["manage_inventory_method_id"] == 1
                  and not p["use_multiple_warehouses"] and not p["limited_to_stores"])[:count]


def limit(sandbox: RunningSandbox, sku: str, store_ids: list[int]) -> None:
    nop = sandbox.world.nopcommerce
    product = nop.product_by_sku(sku)
    nop.update_product_store_mappings(product, store_ids)
    product["limited_to_stores"] = True


def expected_stock(account: RunningSandbox, sku: str, in_flight: int) -> int:
    """The stock formula (mapping/stock.py, README "Stock"): on hand of the mapping's counted
    warehouses in the pair's OWN account, minus in flight, minus the buffer, never below 0."""
    stock = load_mapping_config(None).stock
    bp = account.world.brightpearl
    on_hand = sum(bp.on_hand(bp.sku_to_product_id()[sku], w) for w in stock.brightpearl_warehouses)
    return max(0, on_hand - in_flight - stock.buffer)


def test_stock_is_written_by_the_owning_pair_only(sandbox, second_account, tmp_path, monkeypatch):
    outlet, shared, web = stock_products(sandbox, 3)
    limit(sandbox, outlet, [2])
    limit(sandbox, web, [1])
    warehouse = load_mapping_config(None).stock.brightpearl_warehouses[0]
    for sku in (outlet, shared, web):  # different stock in the two accounts: the value tells which one wrote
        move_stock(sandbox.urls.brightpearl_root, sku, warehouse, 20)
        move_stock(second_account.urls.brightpearl_root, sku, warehouse, 45)
    nop = sandbox.world.nopcommerce
    before = {sku: nop.product_by_sku(sku)["stock_quantity"] for sku in (outlet, shared, web)}

    south = stock_run(sandbox, second_account, tmp_path, "south", "2", monkeypatch, [outlet, shared, web])
    rows = {row.sku: row for row in south.rows}
    assert nop.product_by_sku(outlet)["stock_quantity"] == expected_stock(second_account, outlet, rows[outlet].in_flight)
    assert nop.product_by_sku(shared)["stock_quantity"] == before[shared]  # shared: the owner of store 1 writes it
    assert nop.product_by_sku(web)["stock_quantity"] == before[web]
    assert (rows[shared].verdict, rows[web].verdict) == ("other_pair", "other_pair")
    south_value = nop.product_by_sku(outlet)["stock_quantity"]

    north = stock_run(sandbox, sandbox, tmp_path, "north", "1", monkeypatch, [outlet, shared, web])
    rows = {row.sku: row for row in north.rows}
    assert nop.product_by_sku(shared)["stock_quantity"] == expected_stock(sandbox, shared, rows[shared].in_flight)
    assert nop.product_by_sku(web)["stock_quantity"] == expected_stock(sandbox, web, rows[web].in_flight)
    assert nop.product_by_sku(outlet)["stock_quantity"] == south_value  # south's product, left as south wrote it
    assert rows[outlet].verdict == "other_pair"


def test_the_in_flight_count_holds_only_the_pairs_own_stores_orders(sandbox, tmp_path, monkeypatch):
    """Orders not yet in the pair's account are subtracted from its stock targets (in flight):
    only its own stores' orders ever reach its account, so only they count. A shared SKU ordered
    twice, 2 units in store 1 and 3 in store 2: north's (store 1) in-flight grows by 2."""
    [shared] = stock_products(sandbox, 1)

    def north_in_flight() -> int:
        [row] = [r for r in stock_run(sandbox, sandbox, tmp_path, "north", "1", monkeypatch, [shared], write=False).rows if r.sku == shared]
        return row.in_flight

    before = north_in_flight()
    for store, quantity in ((1, 2), (2, 3)):
        body = {"email": f"flight{store}@pairs.test", "first_name": "Ada", "last_name": "Flight", "address": ADDRESS,
                "store_id": store, "items": [{"sku": shared, "quantity": quantity}], "paid": True}
        requests.post(f"{sandbox.urls.nopcommerce_root}/__sandbox__/orders", json=body, timeout=10).raise_for_status()
    assert north_in_flight() - before == 2


def test_a_full_reconcile_reports_another_pairs_shop_only_product_as_that_pairs(sandbox, second_account, tmp_path, monkeypatch):
    """SKUs in nopCommerce only (no Brightpearl account has them): one limited to store 1, one to
    store 2. Each pair's drift report calls its own `nop_only` (create it in Brightpearl) and the
    other pair's `other_pair` (not its business)."""
    root = sandbox.urls.nopcommerce_root
    for sku, store in (("PAIR-NORTH-ONLY", 1), ("PAIR-SOUTH-ONLY", 2)):
        body = {"sku": sku, "name": sku, "price": "9.50", "stock_quantity": 4, "manage_inventory_method_id": 1, "store_ids": [store]}
        requests.post(f"{root}/__sandbox__/products", json=body, timeout=10).raise_for_status()
    for name, account, stores in (("north", sandbox, "1"), ("south", second_account, "2")):
        expected = {"PAIR-NORTH-ONLY": "nop_only" if name == "north" else "other_pair",
                    "PAIR-SOUTH-ONLY": "nop_only" if name == "south" else "other_pair"}
        for run in (stock_run, catalogue_run):
            if run is stock_run:
                rows = stock_run(sandbox, account, tmp_path, name, stores, monkeypatch, None, write=False).rows
            else:
                rows = catalogue_run(sandbox, account, tmp_path, name, stores, monkeypatch, None).rows
            assert {row.sku: row.verdict for row in rows if row.sku.startswith("PAIR-")} == expected, (name, run.__name__)


def test_a_product_in_two_pairs_stores_fails_the_stock_run_before_any_write(sandbox, second_account, tmp_path, monkeypatch):
    outlet, split = stock_products(sandbox, 2)
    limit(sandbox, outlet, [2])
    limit(sandbox, split, [1, 2])
    warehouse = load_mapping_config(None).stock.brightpearl_warehouses[0]
    for sku in (outlet, split):
        move_stock(second_account.urls.brightpearl_root, sku, warehouse, 45)
    nop = sandbox.world.nopcommerce
    before = {sku: nop.product_by_sku(sku)["stock_quantity"] for sku in (outlet, split)}
    with pytest.raises(StoreOwnershipError) as refused:
        stock_run(sandbox, second_account, tmp_path, "south", "2", monkeypatch, [outlet, split])
    assert split in str(refused.value) and "limited to stores 1, 2" in str(refused.value)
    assert {sku: nop.product_by_sku(sku)["stock_quantity"] for sku in (outlet, split)} == before  # nothing written


# ------------------------------------------------------------------ catalogue: one writer per product
def catalogue_run(sandbox: RunningSandbox, account: RunningSandbox, tmp_path: Path, name: str, store_ids: str, monkeypatch, skus):
    """One catalogue run of a pair for `skus` (None: the reconciliation's plan of every SKU)."""
    monkeypatch.setenv(STORE_IDS, store_ids)
    account_creds = account.world.credentials
    bp = BrightpearlResource(base_url=account.urls.brightpearl_base_url, app_ref=account_creds.brightpearl_app_ref,
                             account_token=account_creds.brightpearl_account_token).build_client()
    engine = CatalogueSync(nop=nop_client(sandbox), bp=bp, ledger=Ledger(f"sqlite:///{tmp_path / f'catalogue-{name}.sqlite'}"),
                           mapping=load_mapping_config(None))
    if skus is None:
        return engine.plan()
    ids = account.world.brightpearl.sku_to_product_id()
    return engine.run([ids[sku] for sku in skus])


def test_product_fields_are_written_by_the_owning_pair_only(sandbox, second_account, tmp_path, monkeypatch):
    """Each account names the products its own way (Brightpearl owns `name`, default mapping):
    the name a product ends with tells which pair wrote it."""
    outlet, shared, web = stock_products(sandbox, 3)
    limit(sandbox, outlet, [2])
    limit(sandbox, web, [1])
    for account, prefix in ((sandbox, "North"), (second_account, "South")):
        ids = account.world.brightpearl.sku_to_product_id()
        for sku in (outlet, shared, web):
            response = requests.put(f"{account.urls.brightpearl_root}/__sandbox__/products/{ids[sku]}",
                                    json={"name": f"{prefix} {sku}"}, timeout=10)
            response.raise_for_status()
    nop = sandbox.world.nopcommerce
    before = {sku: nop.product_by_sku(sku)["name"] for sku in (outlet, shared, web)}
    south = catalogue_run(sandbox, second_account, tmp_path, "south", "2", monkeypatch, [outlet, shared, web])
    assert {sku: nop.product_by_sku(sku)["name"] for sku in (outlet, shared, web)} == {
        outlet: f"South {outlet}", shared: before[shared], web: before[web]}
    assert {row.sku: row.verdict for row in south.rows if row.sku != outlet} == {shared: "other_pair", web: "other_pair"}
    catalogue_run(sandbox, sandbox, tmp_path, "north", "1", monkeypatch, [outlet, shared, web])
    assert {sku: nop.product_by_sku(sku)["name"] for sku in (outlet, shared, web)} == {
        outlet: f"South {outlet}", shared: f"North {shared}", web: f"North {web}"}


def test_a_product_in_two_pairs_stores_fails_the_catalogue_run_before_any_write(sandbox, second_account, tmp_path, monkeypatch):
    outlet, split = stock_products(sandbox, 2)
    limit(sandbox, outlet, [2])
    limit(sandbox, split, [1, 2])
    ids = second_account.world.brightpearl.sku_to_product_id()
    for sku in (outlet, split):
        requests.put(f"{second_account.urls.brightpearl_root}/__sandbox__/products/{ids[sku]}", json={"name": f"South {sku}"},
                     timeout=10).raise_for_status()
    nop = sandbox.world.nopcommerce
    before = {sku: nop.product_by_sku(sku)["name"] for sku in (outlet, split)}
    with pytest.raises(StoreOwnershipError, match=split):
        catalogue_run(sandbox, second_account, tmp_path, "south", "2", monkeypatch, [outlet, split])
    assert {sku: nop.product_by_sku(sku)["name"] for sku in (outlet, split)} == before  # nothing written


def test_back_order_settings_are_written_by_the_owning_pair_only(sandbox, tmp_path, monkeypatch):
    """Two out-of-stock SKUs on order (purchase orders): south (store 2) sets back-orders on the
    product limited to store 2 only; the shared one is the catalogue owner's (store 1's pair)."""
    outlet, shared = stock_products(sandbox, 2)
    limit(sandbox, outlet, [2])
    nop = sandbox.world.nopcommerce
    for sku in (outlet, shared):
        nop.product_by_sku(sku)["stock_quantity"] = 0
    before = {sku: {f: nop.product_by_sku(sku)[f] for f in BACKORDER_FIELDS} for sku in (outlet, shared)}
    config = load_mapping_config(None)
    config = config.model_copy(update={"purchase_orders": config.purchase_orders.model_copy(update={"backorders_in_nopcommerce": True})})
    on_order = {outlet: (5, None), shared: (5, None)}
    monkeypatch.setenv(STORE_IDS, "2")
    report = apply_backorders(nop_client(sandbox), Ledger(f"sqlite:///{tmp_path / 'po-south.sqlite'}"), config, on_order)
    assert report.set == [outlet]
    assert {f: nop.product_by_sku(shared)[f] for f in BACKORDER_FIELDS} == before[shared]
    assert {f: nop.product_by_sku(outlet)[f] for f in BACKORDER_FIELDS} != before[outlet]
    monkeypatch.setenv(STORE_IDS, "1")
    report = apply_backorders(nop_client(sandbox), Ledger(f"sqlite:///{tmp_path / 'po-north.sqlite'}"), config, on_order)
    assert report.set == [shared]


# ------------------------------------------------------------------ customers and return requests
def test_customers_and_return_requests_are_read_for_the_pairs_stores_only(sandbox, tmp_path, monkeypatch):
    root = sandbox.urls.nopcommerce_root
    registered = {}
    for store in (1, 2):
        body = {"email": f"member{store}@pairs.test", "first_name": "Ada", "last_name": "Member", "store_id": store, "address": None}
        response = requests.post(f"{root}/__sandbox__/customers/register", json=body, timeout=10)
        assert response.status_code == 201, response.text
        registered[store] = response.json()["id"]
    requested = {}
    for store in (1, 2):
        order = place(sandbox, store, f"returns{store}@pairs.test")
        response = requests.post(f"{root}/__sandbox__/return-requests", json={"order_id": order}, timeout=10)
        assert response.status_code == 201, response.text
        requested[store] = response.json()["id"]
    world = sandbox.world.nopcommerce
    monkeypatch.setenv(STORE_IDS, "")
    installation = nop_client(sandbox).customers()  # one pair for the whole installation: every customer
    live = {s["id"] for s in world.stores.values() if not s["deleted"]}
    for store in (1, 2):
        monkeypatch.setenv(STORE_IDS, str(store))
        client = nop_client(sandbox)
        customers = {c.id for c in client.customers()}
        # Store 1 is the installation's lowest: its pair also owns the customers of no live store.
        expected = {c.id for c in installation
                    if c.registered_in_store_id == store or (store == 1 and c.registered_in_store_id not in live)}
        assert customers == expected and registered[store] in customers and registered[3 - store] not in customers
        requests_read = {r.id for r in client.return_requests()}
        assert requested[store] in requests_read and requested[3 - store] not in requests_read
        assert {r["store_id"] for r in world.return_requests.values() if r["id"] in requests_read} == {store}


def test_a_store_list_naming_a_store_the_installation_lacks_fails_the_first_read(sandbox, monkeypatch):
    monkeypatch.setenv(STORE_IDS, "2,99")
    with pytest.raises(ConfigurationError, match="names store 99"):
        nop_client(sandbox).search_orders()
