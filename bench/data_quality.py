"""Data-quality benchmark (issue 16), measured in one run on the labelled fixtures
(`bp_nop_dagster/sandbox/quality_fixtures.py`):

1. Validation and anomaly scoring throughput on 100,000 orders: one billing contact per order
   validated (postcode, state, phone, email; every contact distinct, so no cache helps), and every
   order scored against the whole 180-day history. Target: under 5% of the order-sync time for
   the same orders. The order-sync time is computed at the real Brightpearl quota (200 requests
   per rolling minute) from the minimum Brightpearl calls per order of `bench/order_flow.py`
   (`minimum_calls`: 1 sales order + 1 RECEIPT per paid order + 3 per new customer, with that
   bench's mix), and, stricter, from 1 call per order (the sales order alone): no order sync can
   be faster than that.
2. Duplicate detection on 50,000 customer records (time, pairs compared), and on 12,500 and
   25,000 to show how the pairs grow.
3. The quality figures the tests assert (`bp_nop_dagster_tests/quality/test_measured_quality.py`),
   plus the same on the 100,000 orders and the 50,000 customers, and the mapping suggester
   without its synonyms (the baseline the vocabulary is measured against).

Run: `.venv/bin/python -m bench.data_quality` (about two minutes); results in
bench/results/data_quality.json. Single process, no network.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import asdict
from datetime import date

from bench.order_flow import NEW_SHARE, PAID_SHARE
from bench.sandbox_throughput import save_results
from bp_nop_dagster.quality.anomalies import score_orders
from bp_nop_dagster.quality.contacts import ContactValidator
from bp_nop_dagster.quality.duplicates import find_duplicates
from bp_nop_dagster.quality.evaluation import measure_anomalies, measure_duplicates, measure_mapping, measure_validation
from bp_nop_dagster.sandbox.quality_fixtures import contact_fixture, customer_fixture, order_fixture, renamed_profile, sandbox_profile

ORDERS = 100_000
QUOTA_PER_MINUTE = 200
CUSTOMERS = 50_000


def timed(work):
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def throughput() -> dict:
    orders = order_fixture(16, orders=ORDERS)
    contacts = contact_fixture(16, valid=len(orders.orders), bad_postcodes=0, bad_phones=0, typos=0, bad_syntax=0, disposable=0)
    _, validation_seconds = timed(lambda: [ContactValidator().check(r) for r in contacts.records])
    scores, scoring_seconds = timed(lambda: score_orders(orders.orders, orders.lines, now=orders.now))
    n = len(orders.orders)
    minimum_per_order = 1 + PAID_SHARE + 3 * NEW_SHARE  # bench/order_flow.py minimum_calls, with its mix
    sync_seconds = n * minimum_per_order / QUOTA_PER_MINUTE * 60
    floor_seconds = n * 1 / QUOTA_PER_MINUTE * 60
    quality_seconds = validation_seconds + scoring_seconds
    return {
        "orders": n, "order_lines": len(orders.lines), "contacts_validated": len(contacts.records),
        "validation_seconds": round(validation_seconds, 2), "validation_per_second": round(len(contacts.records) / validation_seconds),
        "scoring_seconds": round(scoring_seconds, 2), "scoring_per_second": round(n / scoring_seconds),
        "scored": len(scores.scores),
        "order_sync_seconds_at_quota": round(sync_seconds), "brightpearl_calls_per_order": round(minimum_per_order, 2),
        "share_of_order_sync": round(quality_seconds / sync_seconds, 5),
        "order_sync_seconds_at_one_call_per_order": round(floor_seconds),
        "share_of_one_call_per_order_sync": round(quality_seconds / floor_seconds, 5),
        "target_share": 0.05,
    }


def duplicates_at_scale() -> dict:
    out = {}
    for people in (8_500, 17_000, 34_000):  # about 12,500, 25,000 and 50,000 records
        fixture = customer_fixture(16, people=people)
        review, seconds = timed(lambda: find_duplicates(fixture.records))
        out[str(len(fixture.records))] = {
            "records": len(fixture.records), "seconds": round(seconds, 2), "pairs_compared": review.pairs_compared,
            "pairs_per_record": round(review.pairs_compared / len(fixture.records), 3), "queue": len(review.queue),
            "all_pairs_would_be": len(fixture.records) * (len(fixture.records) - 1) // 2,
        }
    return out


def quality() -> dict:
    validation = measure_validation(contact_fixture())
    anomalies = {f"seed {seed}, {orders:,} orders": measure_anomalies(order_fixture(seed, orders=orders))
                 for seed, orders in ((16, 20_000), (17, 20_000), (16, ORDERS))}
    dupes = {f"{people:,} people": measure_duplicates(customer_fixture(16, people=people)) for people in (3_000, 34_000)}
    mapping = [measure_mapping(p, linked=linked, synonyms=synonyms) for p in (sandbox_profile(), renamed_profile())
               for linked, synonyms in ((False, True), (True, True), (False, False))]
    return {
        "validation": {**asdict(validation), "caught_rate": {k: round(validation.rate(k), 4) for k in validation.caught}},
        "anomalies": {name: {**asdict(q), "precision": round(q.precision, 4), "recall": round(q.recall, 4),
                             "normal_flagged_share": round(q.normal_flagged_share, 5)} for name, q in anomalies.items()},
        "duplicates": {name: {**asdict(q), "precision_strong": round(q.precision("strong"), 4), "precision_likely": round(q.precision("likely"), 4),
                              "recall_strong_likely": round(q.recall, 4)} for name, q in dupes.items()},
        "mapping": [{**asdict(q), "top1": round(q.top1, 4), "confident_wrong_share": round(q.confident_wrong_share, 4),
                     "wrong": [list(map(str, w)) for w in q.wrong]} for q in mapping],
    }


def main() -> int:
    results = {"date": date.today().isoformat()}
    results["throughput_100k_orders"] = throughput()
    results["duplicates_by_size"] = duplicates_at_scale()
    results["quality"] = quality()
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    save_results("data_quality", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
