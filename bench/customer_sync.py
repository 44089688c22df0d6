"""Customer-sync cost: 10,000 linked customers, 2 % of them changed, measured in one run against one
sandbox (served in this process), beside a naive full push.

Set-up: 10,000 registered nopCommerce customers and 10,000 Brightpearl contacts with the same
email, names, phone and address; each pair linked in the ledger; one warm-up run of the customer
flow (every customer queued by the Brightpearl sweep) stores the values both sides agree on.

The change (200 customers = 2 %): 80 change their email in the shop (My account), 80 get a new
phone from staff in Brightpearl (contact PATCH: moves `updatedOn`), 40 get a new address in
Brightpearl (postal-address PUT: does not move `updatedOn` by default, so only the hourly sweep
finds them).

1. Incremental (ours): the nopCommerce sensor's discovery, the Brightpearl sensor's discovery, the
   hourly sweep, then one run of the customer flow (`CustomerSync`, as the asset runs it).
   The minimum, stated:
   - Brightpearl: 1 contact-search page (contacts changed since the watermark; 80 rows + the
     echo-free flow), the reads of the changed customers' contacts and addresses by ID sets
     (2 x ceil(200 / 200)), 1 write per customer whose shop change goes to Brightpearl (80 PATCH);
     the sweep adds 2 x ceil(10,000 / 200) = 100 reads, reported apart (it is what finds address
     edits an address PUT hides from `updatedOn`).
   - nopCommerce: 1 Customer/GetAll page of active customers (page size 100: ceil(80 / 100)), the
     changed customers by ID sets of 100 (ceil(200 / 100)), 1 billing-address read per changed
     customer (200), 1 role look-up, 1 country list, 1 token, and per customer whose Brightpearl
     change goes to the shop a read and a full-replace write (Customer/Update 80 x 2, Address/Update
     40 x 2).
2. Naive full push, in the style of simple connectors: every customer read, its contact found by
   email (contact-search), then PATCHed with every field and its address PUT.

Calls are counted by the sandbox (every request that reached it); the Brightpearl throttle is
lifted, so calls are counted, not paced.

Run: `.venv/bin/python -m bench.customer_sync` (a few minutes, mostly the naive push); results in
bench/results/customer_sync.json.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from bench.sandbox_throughput import save_results
from bp_nop_dagster.brightpearl.client import BrightpearlClient
from bp_nop_dagster.ledger import Ledger
from bp_nop_dagster.mapping.config import load_mapping_config
from bp_nop_dagster.nopcommerce.client import NopCommerceClient
from bp_nop_dagster.sandbox.server import RunningSandbox
from bp_nop_dagster.sandbox.world import SandboxWorld
from bp_nop_dagster.sync.cursor import SensorCursor
from bp_nop_dagster.sync.customers import CUSTOMER, CustomerSync, discover_bp_changes, discover_nop_changes, sweep_brightpearl

CUSTOMERS, EMAIL_IN_SHOP, PHONE_IN_BP, ADDRESS_IN_BP = 10_000, 80, 80, 40
UNTHROTTLED = {"quota": 1_000_000, "window_seconds": 60.0}


def populate(world: SandboxWorld, ledger: Ledger) -> list[tuple[int, int]]:
    """The customers and contacts (same person on both sides), linked in the ledger."""
    shop, bp = world.nopcommerce, world.brightpearl
    start = datetime.now(UTC) - timedelta(days=30)
    pairs = []
    for index in range(CUSTOMERS):
        email, phone = f"customer{index}@bench.example", f"+44 7700 9{index:05d}"
        address = dict(address1=f"{index % 250 + 1} Bench Street", city="Leeds", zip_postal_code=f"LS{index % 9 + 1} 1AA", country_iso2="GB")
        customer_id = shop.add_customer(email=email, first_name=f"First{index}", last_name=f"Last{index}", phone=phone,
                                        created_on=start.replace(tzinfo=None), **address)
        contact_id = bp.add_contact(first_name=f"First{index}", last_name=f"Last{index}", email=email, phone=phone, created_on=start,
                                    address={"addressLine1": address["address1"], "addressLine3": "Leeds",
                                             "postalCode": address["zip_postal_code"], "countryIsoCode": "GBR"})
        pairs.append((customer_id, contact_id))
    for customer_id, contact_id in pairs:
        ledger.link(CUSTOMER, str(customer_id), contact_id)
    return pairs


def counts(root: str) -> dict[str, int]:
    return requests.get(f"{root}/__sandbox__/stats", timeout=30).json()["requests"]


def clear(*roots: str) -> None:
    for root in roots:
        requests.delete(f"{root}/__sandbox__/stats", timeout=30).raise_for_status()


def total(stats: dict[str, int]) -> int:
    return sum(stats.values())


def main() -> int:
    world = SandboxWorld(seed=7, scale="small")
    world.reset(empty=True)
    with RunningSandbox(world) as sandbox, tempfile.TemporaryDirectory() as folder:
        bp_root, nop_root = sandbox.urls.brightpearl_root, sandbox.urls.nopcommerce_root
        requests.put(f"{bp_root}/__sandbox__/throttle", json=UNTHROTTLED, timeout=30).raise_for_status()
        creds = world.credentials
        ledger = Ledger(f"sqlite:///{Path(folder) / 'ledger.sqlite'}")
        config = load_mapping_config(None)

        def clients():
            return (BrightpearlClient(sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                                      account_token=creds.brightpearl_account_token, **UNTHROTTLED),
                    NopCommerceClient(sandbox.urls.nopcommerce_base_url, creds.nopcommerce_email, creds.nopcommerce_password))

        started = time.monotonic()
        pairs = populate(world, ledger)
        bp, nop = clients()
        sweep_brightpearl(bp, ledger)
        warm = CustomerSync(nop=nop, bp=bp, ledger=ledger, config=config, owner="bench-warm-up").run()
        assert warm.processed == CUSTOMERS and warm.updated_brightpearl == warm.updated_nopcommerce == 0, warm
        print(f"set-up and warm-up: {time.monotonic() - started:.0f} s", file=sys.stderr)

        # ---- the change: 2 % of the customers
        watermark = datetime.now(UTC)
        cursors = {"nop": SensorCursor(watermark=watermark), "bp": SensorCursor(watermark=watermark)}
        time.sleep(1.1)  # the changes are dated after the watermark (both sandboxes run on the wall clock)
        shop, account = world.nopcommerce, world.brightpearl
        changed = pairs[: EMAIL_IN_SHOP + PHONE_IN_BP + ADDRESS_IN_BP]
        for customer_id, _ in changed[:EMAIL_IN_SHOP]:
            shop.edit_customer_info(customer_id, {"email": f"new.{customer_id}@bench.example"})
        for _, contact_id in changed[EMAIL_IN_SHOP : EMAIL_IN_SHOP + PHONE_IN_BP]:
            account.contact_service.api_patch_contact(str(contact_id), [
                {"op": "replace", "path": "/communication/telephones/PRI", "value": f"+44 7800 9{contact_id:05d}"}])
        for _, contact_id in changed[EMAIL_IN_SHOP + PHONE_IN_BP :]:
            address_id = account.contacts[contact_id].addresses["DEF"]
            account.contact_service.api_update_postal_address(str(address_id), {
                "addressLine1": f"{contact_id} Moved Road", "addressLine3": "York", "postalCode": "YO1 7HH", "countryIsoCode": "GBR"})

        # ---- 1. incremental
        clear(bp_root, nop_root)
        bp, nop = clients()
        now = datetime.now(UTC)
        discover_nop_changes(nop, ledger, cursors["nop"], now)
        discover_bp_changes(bp, ledger, cursors["bp"], now)
        sensor_bp = total(counts(bp_root))
        sweep_brightpearl(bp, ledger)
        sweep_bp = total(counts(bp_root)) - sensor_bp
        report = CustomerSync(nop=nop, bp=bp, ledger=ledger, config=config, owner="bench-run").run()
        bp_calls, nop_calls = counts(bp_root), counts(nop_root)
        incremental_bp = total(bp_calls) - sweep_bp
        bp_minimum = 1 + 2 * math.ceil(len(changed) / 200) + EMAIL_IN_SHOP
        nop_minimum = (math.ceil(EMAIL_IN_SHOP / 100) + math.ceil(len(changed) / 100) + len(changed) + 3
                       + 2 * PHONE_IN_BP + 2 * ADDRESS_IN_BP)
        assert report.processed == len(changed), report
        assert all(account.contacts[c].email == f"new.{k}@bench.example" for k, c in changed[:EMAIL_IN_SHOP])

        # ---- 2. naive full push: every customer's contact found by email, PATCHed whole, address PUT
        clear(bp_root, nop_root)
        bp, nop = clients()
        for customer in nop.customers():
            if not customer.email or customer.email == creds.nopcommerce_email:
                continue
            address = nop.customer_billing_address(customer.id)
            rows = bp.find_contacts_by_email(customer.email)
            if not rows:
                continue
            contact = rows[0].contact_id
            bp.patch_contact(contact, [{"op": "replace", "path": "/firstName", "value": customer.first_name},
                                       {"op": "replace", "path": "/lastName", "value": customer.last_name},
                                       {"op": "replace", "path": "/communication/telephones/PRI", "value": customer.phone}])
            if address is not None:
                bp.update_postal_address(account.contacts[contact].addresses["DEF"], {
                    "addressLine1": address.address1, "addressLine3": address.city, "postalCode": address.zip_postal_code,
                    "countryIsoCode": "GBR"})
        naive_bp, naive_nop = total(counts(bp_root)), total(counts(nop_root))

        results = {
            "customers": CUSTOMERS, "changed": len(changed),
            "changes": {"email_in_shop": EMAIL_IN_SHOP, "phone_in_brightpearl": PHONE_IN_BP, "address_in_brightpearl": ADDRESS_IN_BP},
            "incremental": {
                "brightpearl_calls": incremental_bp, "brightpearl_minimum": bp_minimum,
                "brightpearl_ratio_to_minimum": round(incremental_bp / bp_minimum, 2),
                "brightpearl_sweep_calls": sweep_bp, "brightpearl_calls_by_endpoint": bp_calls,
                "nopcommerce_calls": total(nop_calls), "nopcommerce_minimum": nop_minimum,
                "nopcommerce_ratio_to_minimum": round(total(nop_calls) / nop_minimum, 2),
                "nopcommerce_calls_by_endpoint": nop_calls,
                "written": {"to_brightpearl": report.to_brightpearl, "to_nopcommerce": report.to_nopcommerce},
            },
            "naive_full_push": {"brightpearl_calls": naive_bp, "nopcommerce_calls": naive_nop,
                                "brightpearl_calls_vs_incremental": round(naive_bp / max(1, incremental_bp + sweep_bp), 1)},
        }
        save_results("customer_sync", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
