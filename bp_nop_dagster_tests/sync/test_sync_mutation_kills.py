"""Behaviour of `sync/` that its surviving mutants showed unpinned (issue 19, item 5;
docs/mutation.md). Expected values restate the rules in each module's docstring; each test names
the break it was checked against."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from bp_nop_dagster.sync.history import FIRST_IDS, shop_first_order_day


class OrdersById:
    """nopCommerce's Order/GetByIds: the orders among the ids asked for that exist."""

    def __init__(self, *orders) -> None:
        self.orders = {o.id: o for o in orders}
        self.asked: list[list[int]] = []

    def orders_by_ids(self, ids):
        ids = list(ids)
        self.asked.append(ids)
        return [self.orders[i] for i in ids if i in self.orders]


def order(order_id: int, created: datetime) -> SimpleNamespace:
    return SimpleNamespace(id=order_id, created_on_utc=created)


def test_the_shops_first_day_is_the_oldest_of_its_first_fifty_order_ids_in_one_request():
    """nopCommerce numbers orders from 1; ids 1 to 50 are asked for once, deleted ones are absent,
    and the oldest of those found gives the day. Break checked: `range(1, first_ids + 2)` (id 51
    is asked for and its older date wins)."""
    nop = OrdersById(order(3, datetime(2024, 5, 2, 23, 59, tzinfo=UTC)), order(50, datetime(2024, 5, 1, 8, 0, tzinfo=UTC)),
                     order(51, datetime(2023, 1, 1, tzinfo=UTC)), order(7, datetime(2024, 6, 1, tzinfo=UTC)))
    assert shop_first_order_day(nop) == date(2024, 5, 1)
    assert nop.asked == [list(range(1, 51))] and FIRST_IDS == 50


def test_a_shop_without_any_of_its_first_orders_has_no_first_day():
    assert shop_first_order_day(OrdersById(order(60, datetime(2024, 1, 1, tzinfo=UTC)))) is None
    assert shop_first_order_day(OrdersById(order(2, datetime(2024, 1, 1, tzinfo=UTC))), first_ids=1) is None


# month_end.py: the sign-off page's daily bars and its open-items cut-off.

def test_the_daily_bar_is_twenty_blocks_for_the_top_day_and_scales_the_others():
    """The page draws each day's revenue as a bar of up to 20 blocks, the top day's full. Break
    checked: `if top` made `if (top) and False` (no bars at all)."""
    from bp_nop_dagster.reporting import escape_markdown
    from bp_nop_dagster.sync.month_end import month_end, sign_off_page
    from bp_nop_dagster_tests.sync.test_month_end import DAYS, item, order, orders_report, payments_report

    result = month_end("2026-03", DAYS[:2],
                       {DAYS[0]: orders_report(order(1, "10.00")), DAYS[1]: orders_report(order(2, "5.00"))},
                       {DAYS[0]: payments_report(item(DAYS[0], 1, "10.00")), DAYS[1]: payments_report(item(DAYS[1], 2, "5.00"))},
                       channel_names={1: "Web store"}, default_channel=1)
    page = sign_off_page(result, escape_markdown).splitlines()
    assert f"| {DAYS[0]} | 1 | 10.00 | 10.00 | 0 | {'█' * 20} |" in page
    assert f"| {DAYS[1]} | 1 | 5.00 | 5.00 | 0 | {'█' * 10} |" in page


def test_the_page_lists_200_open_items_and_counts_the_rest_as_in_the_csv():
    """Break checked: `> 200` made `>= 200` (a "0 more" line under exactly 200 items)."""
    from bp_nop_dagster.reporting import escape_markdown
    from bp_nop_dagster.sync.month_end import month_end, sign_off_page
    from bp_nop_dagster_tests.sync.test_month_end import DAYS, order, orders_report, payments_report

    def page_with(open_orders: int) -> str:
        rows = [order(i, "1.00", "missing") for i in range(1, open_orders + 1)]
        result = month_end("2026-03", DAYS[:1], {DAYS[0]: orders_report(*rows)}, {DAYS[0]: payments_report()},
                           channel_names={1: "Web store"}, default_channel=1)
        return sign_off_page(result, escape_markdown)

    exactly = page_with(200)
    assert "more in the CSV" not in exactly and exactly.count("| missing |") == 200
    over = page_with(201)
    assert "_1 more in the CSV_" in over and over.count("| missing |") == 200


# payment_reconcile.py: each cause explains its part of the difference, and nothing twice.

def test_a_refund_missing_in_brightpearl_is_the_only_cause_and_the_item_names_its_journal():
    """nopCommerce refunded 5.00 of 30.00, Brightpearl received 30.00: the missing refund explains
    the whole difference, so no amount difference is added. Breaks checked: `residual += refunded`
    made `residual = refunded` (a second, "not explained" cause); the `journal_ids` key mutated."""
    from bp_nop_dagster_tests.sync.test_payment_reconcile import by_order, items, nop, pay, sr

    frame = items([nop(1, "30.00", status=35, refunded="5.00")], {1: 301}, [pay(1, 301, "RECEIPT", "30.00", journal=91)],
                  [sr(91, 301, "30.00")])
    row = by_order(frame)[1]
    assert row["reason"] == "nopCommerce refunded 5.00 GBP; Brightpearl has no PAYMENT for it"
    assert (row["journal_ids"], row["transaction_refs"]) == ("91", "RECEIPT T1")


def test_a_method_that_differs_keeps_the_summary_from_balancing_even_when_the_amounts_agree():
    """Balanced means no differing item and both differences zero. Break checked: `and` made `or`
    (an item booked under another method, amounts equal, counted as balanced)."""
    from bp_nop_dagster.sync.payment_reconcile import payment_summary
    from bp_nop_dagster_tests.sync.test_payment_reconcile import DAY, by_order, items, nop, pay, sr

    frame = items([nop(1, "12.00")], {1: 301}, [pay(1, 301, "RECEIPT", "12.00", journal=91, code="PAYPAL")], [sr(91, 301, "12.00")])
    assert by_order(frame)[1]["verdict"] == "method_differs"
    [summary] = payment_summary(DAY, frame).to_dict("records")
    assert (summary["nop_vs_brightpearl"], summary["brightpearl_vs_journals"], summary["differences"]) == (0, 0, 1)
    assert summary["verdict"] == "differences"


# refund_reconcile.py: the report lists orders by nopCommerce id.

def test_the_refund_report_lists_orders_by_nopcommerce_order_id():
    """Break checked: `sorted(rows, key=...)` made `key=None` (rows are not orderable)."""
    from bp_nop_dagster.sync.refund_reconcile import OrderRefunds, report_rows

    rows = report_rows([OrderRefunds(9, 309, 500, 500, 500), OrderRefunds(3, 303, 0), OrderRefunds(5, None, 100)])
    assert [r["nop_order_id"] for r in rows] == [3, 5, 9]


# orders.py: a customer Brightpearl already has is matched by email, never created twice.

def test_a_contact_brightpearl_already_has_is_matched_by_email_and_counted_unchanged(sandbox, tmp_path):
    """The order flow matches an existing customer by email before creating one (orders.py). A
    second ledger knows nothing of the first run's contact, so the second order's contact must be
    found in Brightpearl by its email. Breaks checked: the lookup sent `None` instead of the email
    (a second contact is created); `contacts.created += 2`."""
    from bp_nop_dagster.brightpearl.resource import BrightpearlResource
    from bp_nop_dagster.ledger import Ledger
    from bp_nop_dagster.mapping.config import load_mapping_config
    from bp_nop_dagster.nopcommerce.client import NopCommerceClient
    from bp_nop_dagster.sync.orders import ORDER, OrderSync
    from bp_nop_dagster_tests.sync.test_orders import place

    creds = sandbox.world.credentials
    nop = NopCommerceClient(sandbox.urls.nopcommerce_base_url, creds.nopcommerce_email, creds.nopcommerce_password)
    bp = BrightpearlResource(base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                             account_token=creds.brightpearl_account_token).build_client()
    reports = []
    with nop:
        for name in ("first", "second"):
            with Ledger(f"sqlite:///{tmp_path / name}.sqlite") as ledger:
                ledger.enqueue(ORDER, [str(place(sandbox))])
                reports.append(OrderSync(nop=nop, bp=bp, ledger=ledger, config=load_mapping_config(), owner="test").run())
        contacts = bp.find_contacts_by_email("absent@flow.test")
    first, second = reports
    assert (first.orders.created, first.contacts.created, first.contacts.unchanged) == (1, 1, 0)
    assert (second.orders.created, second.contacts.created, second.contacts.unchanged) == (1, 0, 1)
    assert len(contacts) == 1


# exactly_once.py: a renewal that fails is tried again at the next beat.

class RenewalFailsOnce:
    """A ledger whose first lease renewal fails (the database briefly unreachable); the later
    ones reach the real ledger, each signalled on `renewed`."""

    def __init__(self, ledger) -> None:
        import threading

        self.ledger, self.calls, self.renewed = ledger, 0, threading.Semaphore(0)

    def renew_intent(self, *args):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("database briefly unreachable")
        held = self.ledger.renew_intent(*args)
        self.renewed.release()
        return held


def test_a_lease_renewal_that_fails_once_is_tried_again_at_the_next_beat():
    """LeaseKeeper's docstring: a renewal that fails is logged and tried again at the next beat.
    Break checked: `continue` after the failure made `break` (the keeper stops renewing for good
    and the lease lapses under a live owner)."""
    from bp_nop_dagster.ledger import Ledger
    from bp_nop_dagster.sync.exactly_once import LeaseKeeper
    from bp_nop_dagster_tests.ledger.clock import Clock

    book = Ledger("sqlite://", clock=Clock())
    book.begin_intent("order", "1", owner="run-a", lease_seconds=60.0)
    flaky = RenewalFailsOnce(book)
    with LeaseKeeper(flaky, "order", "1", "run-a", 60.0, every=0.002) as keeper:
        assert flaky.renewed.acquire(timeout=5)
    assert keeper.renewals >= 1 and not keeper.lost and flaky.calls >= 2
    book.close()


def test_an_order_flagged_for_review_keeps_the_flag_when_it_is_polled_again(sandbox, tmp_path):
    """A flag for review is the operator's to clear (ledger: `needs_review` is set as given), so a
    re-poll of an order already in Brightpearl carries it over. Break checked: the carried-over
    value made `None` (the flag silently cleared)."""
    from bp_nop_dagster.brightpearl.resource import BrightpearlResource
    from bp_nop_dagster.ledger import Ledger
    from bp_nop_dagster.mapping.config import load_mapping_config
    from bp_nop_dagster.nopcommerce.client import NopCommerceClient
    from bp_nop_dagster.sync.orders import ORDER, OrderSync
    from bp_nop_dagster_tests.sync.test_orders import place

    creds = sandbox.world.credentials
    nop = NopCommerceClient(sandbox.urls.nopcommerce_base_url, creds.nopcommerce_email, creds.nopcommerce_password)
    bp = BrightpearlResource(base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                             account_token=creds.brightpearl_account_token).build_client()
    with nop, Ledger(f"sqlite:///{tmp_path / 'ledger'}.sqlite") as ledger:
        key = str(place(sandbox))
        ledger.enqueue(ORDER, [key])
        sync = lambda: OrderSync(nop=nop, bp=bp, ledger=ledger, config=load_mapping_config(), owner="test").run()  # noqa: E731
        assert sync().orders.created == 1
        ledger.mark_synced(ORDER, key, needs_review=True)  # flagged, as a run that created it with a difference does
        ledger.requeue(ORDER, [key])
        sync()
        record = ledger.status(ORDER, key)
    assert (record.status, record.needs_review) == ("synced", True)


# fate.py: a record that gives up keeps what is needed to replay it.

def test_a_record_that_gives_up_is_dead_lettered_with_its_payload():
    """The fate policy parks a record that keeps failing (`gave_up` at the policy's last attempt)
    with the payload the flow settled it with, so `replay_dead_letters` can act on it. Break
    checked: the failure charged without `payload=` (the letter's payload is empty)."""
    from bp_nop_dagster.ledger import DEFAULT_POLICY, Ledger, RecordKind
    from bp_nop_dagster.sync.exactly_once import Deferred
    from bp_nop_dagster.sync.fate import DEAD_LETTERED, Fates
    from bp_nop_dagster_tests.ledger.clock import Clock
    from bp_nop_dagster_tests.sync.test_fate import BP, Probe

    clock = Clock()
    with Ledger("sqlite://", clock=clock) as ledger:
        ledger.enqueue(RecordKind.ORDER, ["8"])
        for attempt in range(1, DEFAULT_POLICY.give_up_after + 1):
            run = Fates(ledger, flow="orders", probes={BP: Probe()}, clock=clock)
            with run.settle(RecordKind.ORDER, "8", payload={"order_id": 8, "store": "main"}) as outcome:
                raise Deferred(f"create still unconfirmed, attempt {attempt}")
            run.finish()
            if outcome.fate != DEAD_LETTERED:
                clock.now = ledger.status(RecordKind.ORDER, "8").next_attempt_at
        (letter,) = ledger.dead_letters()
    assert (outcome.fate, letter.reason, letter.payload) == (DEAD_LETTERED, "gave_up", {"order_id": 8, "store": "main"})


# stock.py: warehouse records are read only for products that keep stock per warehouse.

def test_warehouse_inventory_is_read_only_for_products_that_use_multiple_warehouses(sandbox):
    """nopCommerce keeps ProductWarehouseInventory rows only for a product with
    `use_multiple_warehouses` (its stock is the warehouses' sum); any other product's stock is its
    own `stock_quantity`, so reading its warehouse rows is a wasted request. Break checked:
    `combination is None and use_multiple_warehouses` made `or` (every simple product's rows read)."""
    from bp_nop_dagster_tests.sync.test_stock import Shop

    shop = Shop(sandbox)
    engine = shop.engine()
    engine.run()
    simple = shop.product_of_kind(method=1)
    multi = shop.product_of_kind(method=1, multi=True)
    read = []
    real = shop.nop.product_warehouse_inventory
    shop.nop.product_warehouse_inventory = lambda product_id: read.append(product_id) or real(product_id)
    engine.run([shop.move(simple["sku"], 3, 4), shop.move(multi["sku"], 3, 4)])
    assert read == [multi["id"]]


def test_an_order_line_of_a_simple_product_books_that_product_in_brightpearl(sandbox, tmp_path):
    """A simple product's order line carries the product's SKU, which names the Brightpearl
    product of the row (orders.py `_line_skus`). Break checked: the product looked up by `None`
    (the line loses its SKU)."""
    from bp_nop_dagster.brightpearl.resource import BrightpearlResource
    from bp_nop_dagster.ledger import Ledger
    from bp_nop_dagster.mapping.config import load_mapping_config
    from bp_nop_dagster.nopcommerce.client import NopCommerceClient
    from bp_nop_dagster.sync.orders import ORDER, OrderSync
    from bp_nop_dagster_tests.sync.test_orders import place

    creds = sandbox.world.credentials
    nop = NopCommerceClient(sandbox.urls.nopcommerce_base_url, creds.nopcommerce_email, creds.nopcommerce_password)
    bp = BrightpearlResource(base_url=sandbox.urls.brightpearl_base_url, app_ref=creds.brightpearl_app_ref,
                             account_token=creds.brightpearl_account_token).build_client()
    with nop, Ledger(f"sqlite:///{tmp_path / 'ledger'}.sqlite") as ledger:
        key = str(place(sandbox))  # one line: BPN-00001 x 1
        ledger.enqueue(ORDER, [key])
        assert OrderSync(nop=nop, bp=bp, ledger=ledger, config=load_mapping_config(), owner="test").run().orders.created == 1
        rows = bp.order(ledger.bp_id(ORDER, key)).rows
    product_id = sandbox.world.brightpearl.sku_to_product_id()["BPN-00001"]
    # Rows without a product (the shipping row) carry productId 0 or none.
    assert [(row.product_id, row.quantity) for row in rows if row.product_id] == [(product_id, 1)]
