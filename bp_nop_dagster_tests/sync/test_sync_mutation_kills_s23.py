"""Report rules of `sync/` the session-23 mutation sample showed unpinned (issue 19 item 5;
docs/mutation.md, "session 23"). Expected values restate each module's docstring or the rule
written in the test; each test names the break it was checked against (applied by hand: the test
fails)."""

from __future__ import annotations

from bp_nop_dagster.reporting import escape_markdown
from bp_nop_dagster.sync.month_end import _ranges, month_end, sign_off_page
from bp_nop_dagster.sync.reconcile import LedgerEntry
from bp_nop_dagster.sync.refund_reconcile import OrderRefunds, report_rows
from bp_nop_dagster_tests.sync.test_month_end import DAYS, item, order, orders_report, payments_report
from bp_nop_dagster_tests.sync.test_reconcile import bp, nop, verdicts


def test_days_not_reconciled_are_named_as_runs_and_single_days():
    """`_ranges`: "`2026-03-01..2026-03-04, 2026-03-09` for a sorted list of days": consecutive
    days as one run, a day alone by itself, wherever it stands. Break checked: a lone day before
    another run written as `run[1]` (IndexError)."""
    assert _ranges(["2026-03-01", "2026-03-03", "2026-03-04", "2026-03-09"]) == "2026-03-01, 2026-03-03..2026-03-04, 2026-03-09"
    assert _ranges(["2026-03-01", "2026-03-02", "2026-03-05"]) == "2026-03-01..2026-03-02, 2026-03-05"


def test_an_open_order_keeps_both_order_ids_and_an_item_without_a_reason_shows_an_empty_reason():
    """The month-end open items name the nopCommerce and the Brightpearl order of each open
    difference (the order report's own columns), and the sign-off page prints an item's reason as
    it is, empty when it has none. Breaks checked: the open row's `brightpearl_order_id` key
    upper-cased, in the order report's open row and in the payment report's (the column comes out
    empty); `r.reason or 'XXXX'`."""
    open_order = {**order(1, "10.00", "total_mismatch"), "reason": ""}
    open_payment = item(DAYS[0], 2, "4.00", "refund_not_in_brightpearl", refunded="1.00", bp_net="4.00")
    result = month_end("2026-03", DAYS[:1], {DAYS[0]: orders_report(open_order, order(2, "4.00"))},
                       {DAYS[0]: payments_report(item(DAYS[0], 1, "10.00"), open_payment)},
                       channel_names={1: "Web store"}, default_channel=1)
    rows = [(r["report"], r["nop_order_id"], r["brightpearl_order_id"], r["verdict"]) for r in result.open_items.to_dict("records")]
    assert rows == [("order_sync", 1, 301, "total_mismatch"), ("payments", 2, 302, "refund_not_in_brightpearl")]
    page = sign_off_page(result, escape_markdown).splitlines()
    assert f"| {DAYS[0]} | order_sync | 1 | 301 | 0.00 GBP | total_mismatch |  | act |" in page


def test_the_refunds_report_shows_what_brightpearl_paid_out():
    """`reconciliation/refunds`: per order what nopCommerce refunded, what Brightpearl credited and
    what it paid out, in money. Break checked: the `bp_paid_out` key renamed (the column is lost)."""
    [row] = report_rows([OrderRefunds(7, 307, 1250, 1250, 1000, credits=[41])])
    assert (row["nop_refunded"], row["bp_credited"], row["bp_paid_out"], row["credits"]) == ("12.50", "12.50", "10.00", "41")


def test_the_ledger_disagreeing_about_an_order_brightpearl_holds_says_what_the_ledger_has():
    """`reconciliation/order_sync`: an order Brightpearl holds that the ledger does not have as
    synced to that order is flagged "the ledger disagrees", saying what the ledger has: its status
    and link, or no record. Break checked: `"no record of it" if (entry is None) or True`."""
    frame = verdicts(nop(1, "5.00") + nop(2, "6.00") + nop(3, "7.00"),
                     bp(301, "nop-1", "5.00") + bp(302, "nop-2", "6.00") + bp(303, "nop-3", "7.00"),
                     ledger={"1": LedgerEntry("failed", attempts=2), "2": LedgerEntry("synced", bp_id=999)})
    assert "the ledger disagrees: it has failed, no link, but Brightpearl holds order 301" in frame.loc[1, "reason"]
    assert "the ledger disagrees: it has synced, linked to 999, but Brightpearl holds order 302" in frame.loc[2, "reason"]
    assert "the ledger disagrees: it has no record of it, but Brightpearl holds order 303" in frame.loc[3, "reason"]


# payment_reconcile.py: one item per order, the journal item's words, the summary's order.

def test_an_order_read_as_several_lines_is_one_payment_item():
    """`reconciliation/payments` has one item per nopCommerce order; the shop's table repeats an
    order on each of its lines (`order_id` with an `item_id` per line), and those are still one
    order. Break checked: `drop_duplicates(None)` (rows differing in `item_id` kept: two items)."""
    from bp_nop_dagster_tests.sync.test_payment_reconcile import by_order, items, pay, sr
    from bp_nop_dagster_tests.sync.test_payment_reconcile import nop as nop_payment

    lines = [{**nop_payment(1, "9.00"), "item_id": 11}, {**nop_payment(1, "9.00"), "item_id": 12}]
    frame = items(lines, {1: 301}, [pay(1, 301, "RECEIPT", "9.00", journal=91)], [sr(91, 301, "9.00")])
    assert len(frame) == 1 and by_order(frame)[1]["nop_net"] == 9.00


def test_a_journal_no_payment_names_says_so_in_its_reason():
    """The item of a Sales Receipt journal "no payment names" (module docstring) says which journal,
    its amount and order, and that no customer payment names it. Break checked: the reason's
    closing words changed."""
    from bp_nop_dagster_tests.sync.test_payment_reconcile import items, pay, sr
    from bp_nop_dagster_tests.sync.test_payment_reconcile import nop as nop_payment

    frame = items([nop_payment(1, "9.00")], {1: 301}, [pay(1, 301, "RECEIPT", "9.00", journal=91)], [sr(91, 301, "9.00"), sr(93, 301, "4.00")])
    [extra] = frame[frame["verdict"] == "journal_without_payment"].to_dict("records")
    assert extra["reason"] == "Sales Receipt journal 93 (4.00 GBP) on Brightpearl order 301 is named by no customer payment"


def test_the_payment_summary_lists_methods_in_code_order():
    """The summary has a row per Brightpearl payment method and currency, listed by method code
    (then currency), whatever order the items come in. Break checked: `groupby(..., sort=None)`
    (first-seen order)."""
    from bp_nop_dagster.sync.payment_reconcile import payment_summary
    from bp_nop_dagster_tests.sync.test_payment_reconcile import DAY, items, pay
    from bp_nop_dagster_tests.sync.test_payment_reconcile import nop as nop_payment

    frame = items([nop_payment(1, "5.00", method="Payments.PayPalStandard"), nop_payment(2, "7.00")], {1: 301, 2: 302},
                  [pay(1, 301, "RECEIPT", "5.00", code="PAYPAL"), pay(2, 302, "RECEIPT", "7.00")])
    assert list(frame["payment_method_code"]) == ["PAYPAL", "CARD"]  # the items: by order id
    assert list(payment_summary(DAY, frame)["payment_method_code"]) == ["CARD", "PAYPAL"]


# source_tables.py and refunds.py: rows read from Brightpearl orders.

def test_the_sales_credit_table_names_each_row_by_its_own_id():
    """`source_tables.order_rows`: the sales-order table's columns from the order GET shape, one
    row per order row (`row_id`: that row's id), and one row with the row columns empty for an
    order without rows. Break checked: `row.id if (row) and False` (every `row_id` empty)."""
    from decimal import Decimal
    from types import SimpleNamespace

    from bp_nop_dagster.sync.source_tables import order_rows

    def credit(credit_id: int, rows: list) -> SimpleNamespace:
        return SimpleNamespace(id=credit_id, reference=f"SC-{credit_id}", external_ref=None, created_on=None, placed_on=None,
                               customer_contact_id=7, status_id=1, status_name="New", order_payment_status="PAID",
                               shipping_status_code=None, channel_id=1, warehouse_id=2, currency_code="GBP", totals=None, rows=rows)

    line = SimpleNamespace(id=51, product_id=1001, product_sku="SKU-1", product_name="Widget", external_ref="11",
                           quantity=Decimal("2"), row_net=Decimal("10.00"), row_tax=Decimal("2.00"), tax_code="T20")
    frame = order_rows([credit(5, [line]), credit(6, [])])
    assert [(r["order_id"], r["row_id"], r["sku"]) for r in frame.to_dict("records")][0] == (5, 51, "SKU-1")
    assert frame["row_id"].isna().tolist() == [False, True]


def test_a_sales_order_row_without_net_or_tax_counts_as_zero_for_a_credit():
    """`OrderRow` amounts are row totals; a Brightpearl row that gives no net or tax (a free line)
    is credited as 0. Break checked: the net fallback `Decimal("XX0XX")` (InvalidOperation)."""
    from decimal import Decimal
    from types import SimpleNamespace

    from bp_nop_dagster.mapping.refunds import OrderRow
    from bp_nop_dagster.sync.refunds import RefundSync

    free = SimpleNamespace(external_ref="12", product_id=1002, name="Gift wrap", quantity=Decimal("1"), net=None, tax=None,
                           tax_code="T0", nominal_code="4000")
    assert RefundSync._order_rows(SimpleNamespace(rows=[free])) == [
        OrderRow("12", 1002, "Gift wrap", Decimal("1"), Decimal("0"), Decimal("0"), "T0", "4000")]


def test_the_order_report_keeps_the_shops_order_number():
    """`reconciliation/order_sync` shows each order's nopCommerce order number beside its id (the
    number a person searches for in the shop). Break checked: the row's `custom_order_number` key
    upper-cased (the column comes out empty)."""
    frame = verdicts(nop(1, "5.00"), bp(301, "nop-1", "5.00"), ledger={"1": LedgerEntry("synced", bp_id=301)})
    assert frame.loc[1, "custom_order_number"] == "1"


def test_the_sales_order_table_keeps_each_orders_currency():
    """`source_tables.sales_order_rows`: one row per order row in the sales-order GET shape, with
    the order's header on each (its currency among them). Break checked: the `currency` key
    upper-cased (the column comes out empty)."""
    from types import SimpleNamespace

    from bp_nop_dagster.sync.source_tables import sales_order_rows

    order = SimpleNamespace(id=301, ref="SO-301", external_ref="nop-1", created_on=None, placed_on=None, customer_id=7, status_id=2,
                            payment_status="PAID", shipping_status_code=None, channel_id=1, warehouse_id=2, currency_code="EUR",
                            net=None, tax=None, total=None, rows=[])
    [row] = sales_order_rows([order], {2: "New web order"}).to_dict("records")
    assert (row["order_id"], row["currency"], row["status_name"]) == (301, "EUR", "New web order")


def test_a_decimal_goes_on_the_wire_as_a_json_number():
    """`catalogue._wire_number`: "A model value as the raw DTO carries it (decimals as JSON
    numbers), for write guards" (the guard compares with the DTO read back, where 12.5 is a
    float). Break checked: the Decimal passed through unchanged."""
    from decimal import Decimal

    from bp_nop_dagster.sync.catalogue import _wire_number

    assert _wire_number(Decimal("12.50")) == 12.5 and type(_wire_number(Decimal("12.50"))) is float
    assert _wire_number("SKU-1") == "SKU-1" and _wire_number(3) == 3


def test_a_guests_blank_fields_come_from_its_latest_orders_billing_address():
    """`quality.customer_records`: every nopCommerce customer, "its blanks (a guest's email and
    name) filled from its latest order's billing address". Break checked: the first name read
    from the address by the attribute name `None` (TypeError)."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from bp_nop_dagster.sync.quality import customer_records

    def address(first: str, email: str) -> SimpleNamespace:
        return SimpleNamespace(email=email, first_name=first, last_name="Lee", phone_number="0113 496 0000",
                               zip_postal_code="LS1 4AB", city="Leeds", address1="1 Mill Road", country_id=77)

    def detail(when: datetime, billing: SimpleNamespace) -> SimpleNamespace:
        return SimpleNamespace(order=SimpleNamespace(customer_id=5, created_on_utc=when), billing_address=billing)

    guest = SimpleNamespace(id=5, deleted=False, is_system_account=False, username=None, email=None, first_name=None, last_name=None,
                            phone=None, country_id=None, zip_postal_code=None, city=None, street_address=None,
                            created_on_utc=datetime(2026, 3, 1, tzinfo=UTC))
    shop = SimpleNamespace(customers=lambda: [guest])
    brightpearl = SimpleNamespace(contact_search=lambda: [])
    details = [detail(datetime(2026, 3, 2, tzinfo=UTC), address("Ann", "ann@new.example")),
               detail(datetime(2026, 3, 1, tzinfo=UTC), address("Anne", "anne@old.example"))]
    [record] = customer_records(shop, brightpearl, details, iso2=lambda country_id: {77: "GB"}.get(country_id))
    assert (record.record_id, record.email, record.first_name, record.last_name) == ("nop:5", "ann@new.example", "Ann", "Lee")
    assert (record.country_iso2, record.postcode, record.street, record.is_guest, record.orders) == ("GB", "LS1 4AB", "1 Mill Road", True, 2)


def test_orders_left_out_of_the_quality_checks_are_named_in_the_warning(caplog):
    """`quality.recent_order_details`: "An order whose items or addresses the models reject is left
    out (the order flow dead-letters it)"; the warning an operator reads says how many and which.
    Break checked: the ids dropped from the warning's arguments (the message cannot be formatted)."""
    import logging
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from bp_nop_dagster.sync.quality import recent_order_details

    read = SimpleNamespace(failed={}, malformed={9: "items.0.quantity", 7: "tax_rates"}, details=["detail of order 8"])
    shop = SimpleNamespace(orders_created_between=lambda start, end: {7: None, 8: None, 9: None},
                           read_order_details=lambda ids, stop_after_failures: read)
    with caplog.at_level(logging.WARNING, logger="bp_nop_dagster.sync.quality"):
        assert recent_order_details(shop, datetime(2026, 3, 2, tzinfo=UTC), 7) == ["detail of order 8"]
    assert [r.getMessage() for r in caplog.records] == ["2 orders left out: their items or addresses do not parse (9, 7)"]


def test_the_catalogue_runs_metadata_names_its_call_counts_as_the_report_does():
    """A run's numeric metadata (what the UI shows, what a person compares between runs) uses the
    report's own counter names, as every flow's report does (`CustomerReport.as_metadata` flattens
    its fields). Break checked: `"BRIGHTPEARL_CALLS"`."""
    from bp_nop_dagster.sync.catalogue import CatalogueReport

    metadata = CatalogueReport(brightpearl_calls=3, nopcommerce_calls=5, nopcommerce_writes=2).as_metadata()
    assert (metadata["brightpearl_calls"], metadata["nopcommerce_calls"], metadata["nopcommerce_writes"]) == (3, 5, 2)
