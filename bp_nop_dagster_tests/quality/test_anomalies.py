"""The order risk scorer, rule by rule on tiny frames; expected values from the rules as stated
in the module docstring (modified z = 0.6745 (x - median) / MAD, Iglewicz & Hoaglin)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from bp_nop_dagster.quality.anomalies import DEFAULT_POINTS, RULESET_VERSION, AnomalyRules, score_orders

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def orders(*rows: dict) -> pd.DataFrame:
    base = {"created": NOW - timedelta(days=1), "total": 50.0, "channel": "1"}
    return pd.DataFrame([{**base, "order_id": n, "email": f"c{n}@example.com", **row} for n, row in enumerate(rows, start=1)])


def codes(result, order_id) -> list[str]:
    row = result.scores.set_index("order_id").loc[order_id]
    return sorted(r["code"] for r in row["reasons"])


def history(n: int, **row) -> list[dict]:
    """`n` ordinary orders from `n` customers, spread over the last 60 days."""
    return [{"created": NOW - timedelta(days=1 + (k % 60), hours=k % 24), "total": 40.0 + (k % 7) * 5, **row} for k in range(n)]


def test_modified_z_score_on_known_values():
    # totals 40..70 in steps of 5 repeat; median log total and MAD are those of the seven values
    rows = history(70) + [{"total": 4000.0}]
    result = score_orders(orders(*rows), now=NOW)
    values = [math.log(40.0 + k * 5) for k in range(7)]
    median = sorted(values)[3]
    mad = sorted(abs(v - median) for v in values)[3]
    expected = round(0.6745 * (math.log(4000.0) - median) / mad, 2)
    outlier = result.reasons[(result.reasons["order_id"] == 71) & (result.reasons["code"] == "AMOUNT_OUTLIER")]
    assert outlier["value"].iloc[0] == pytest.approx(expected, abs=0.01)
    assert outlier["threshold"].iloc[0] == 3.5
    assert "far above" in outlier["message"].iloc[0]
    assert (result.reasons["code"] == "AMOUNT_OUTLIER").sum() == 1  # the seventy ordinary orders are not outliers


def test_a_mad_of_zero_is_floored_and_small_channels_are_not_judged():
    same = [{"total": 50.0} for _ in range(30)]  # every total equal: MAD 0
    result = score_orders(orders(*same, {"total": 51.0}, {"total": 500.0}), now=NOW)
    assert "AMOUNT_OUTLIER" in codes(result, 32)
    # 51 vs 50: z = 0.6745 * log(51/50) / 0.05 = 0.27: not an outlier even though MAD is 0
    assert "AMOUNT_OUTLIER" not in codes(result, 31)
    small = score_orders(orders(*[{"total": 50.0}] * 5, {"total": 5000.0}), now=NOW)
    assert "AMOUNT_OUTLIER" not in codes(small, 6)  # under amount_min_orders (20) orders: no judgement


def test_the_clock_is_frozen_and_must_be_timezone_aware():
    rows = orders({"created": NOW - timedelta(hours=1)}, {"created": NOW + timedelta(hours=1)},
                  {"created": NOW - timedelta(days=181)})
    result = score_orders(rows, now=NOW)
    assert list(result.scores["order_id"]) == [1]  # later orders are invisible, older ones out of the history
    with pytest.raises(ValueError, match="timezone-aware"):
        score_orders(rows, now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="'email'"):
        score_orders(rows.drop(columns=["email"]), now=NOW)


def test_velocity_counts_orders_within_the_window_either_side():
    same = {"email": "jo@example.com"}
    rows = orders({**same, "created": NOW - timedelta(hours=30)}, {**same, "created": NOW - timedelta(hours=20)},
                  {**same, "created": NOW - timedelta(hours=10)}, {**same, "created": NOW - timedelta(days=9)})
    result = score_orders(rows, now=NOW)
    reasons = result.reasons[result.reasons["code"] == "VELOCITY_EMAIL"].set_index("order_id")
    # 30 h and 10 h ago are 20 h apart: all three recent orders see each other; nine days ago sees none
    assert dict(reasons["value"]) == {1: 3, 2: 3, 3: 3}


def test_card_address_and_ip_velocity_leave_out_the_customers_own_repeats():
    card = {"card": "4242", "ip": "203.0.113.9", "shipping_postcode": "LS1 4AB", "shipping_street": "1 Mill Road"}
    one_customer = orders(*[{**card, "email": "jo@example.com", "created": NOW - timedelta(hours=h)} for h in (1, 2, 3, 4, 5)])
    result = score_orders(one_customer, now=NOW)
    assert set(result.reasons["code"]) == {"VELOCITY_EMAIL"}
    ring = orders(*[{**card, "created": NOW - timedelta(hours=h)} for h in (1, 2, 3, 4, 5)])  # five emails
    found = score_orders(ring, now=NOW).reasons
    assert set(found["code"]) >= {"VELOCITY_CARD", "VELOCITY_ADDRESS", "VELOCITY_IP"}
    assert set(found.loc[found["code"] == "VELOCITY_CARD", "value"]) == {5}


def test_first_order_high_value_and_new_customer_express():
    rows = history(40) + [{"total": 900.0, "email": "new@example.com", "shipping_method": "Next Day Air"},
                          {"total": 900.0, "email": "c1@example.com"}]  # c1 ordered before (history row 1)
    result = score_orders(orders(*rows), now=NOW)
    assert {"FIRST_ORDER_HIGH_VALUE", "NEW_CUSTOMER_EXPRESS"} <= set(codes(result, 41))
    assert "FIRST_ORDER_HIGH_VALUE" not in codes(result, 42)


def test_several_cards_and_many_names_at_one_address():
    cards = orders(*[{"email": "jo@example.com", "card": c, "created": NOW - timedelta(days=d)} for c, d in (("1111", 3), ("2222", 9), ("3333", 20))])
    assert all("MULTI_CARD" in codes(score_orders(cards, now=NOW), i) for i in (1, 2, 3))
    address = {"shipping_postcode": "LS1 4AB", "shipping_street": "1 Mill Road", "shipping_country": "GB"}
    family = orders(*[{**address, "customer_name": n, "created": NOW - timedelta(days=d)} for n, d in (("Ann Lee", 1), ("Bo Lee", 9), ("Cy Lee", 30))])
    assert "ADDRESS_MANY_NAMES" not in codes(score_orders(family, now=NOW), 1)  # three names: a household
    drop = orders(*[{**address, "customer_name": n, "created": NOW - timedelta(days=d)}
                    for n, d in (("Ann Lee", 1), ("Bo Tan", 9), ("Cy Roe", 30), ("Di Fox", 40))])
    assert "ADDRESS_MANY_NAMES" in codes(score_orders(drop, now=NOW), 1)


def test_contact_signals_and_test_orders():
    rows = orders({"billing_country": "US", "shipping_country": "GB"}, {"email": "x@mailinator.com"},
                  {"contact_errors": 2}, {"customer_name": "Test Test"}, {"email": "asdf@example.com"},
                  {"customer_name": "Tess Testament"})
    result = score_orders(rows, now=NOW)
    assert codes(result, 1) == ["BILLING_SHIPPING_COUNTRY_MISMATCH"]
    assert codes(result, 2) == ["DISPOSABLE_EMAIL"]
    assert codes(result, 3) == ["INVALID_CONTACT"]
    assert codes(result, 4) == ["TEST_PATTERN"] and codes(result, 5) == ["TEST_PATTERN"]
    assert codes(result, 6) == []  # whole words only


def line_history(sku: str, n: int, quantity: int = 1) -> tuple[list[dict], list[dict]]:
    rows = [{"order_id": 100 + k, "email": f"h{k}@example.com", "created": NOW - timedelta(days=2, minutes=k)} for k in range(n)]
    return rows, [{"order_id": 100 + k, "sku": sku, "quantity": quantity + (k % 4 == 0), "unit_price": 10.0, "unit_cost": 4.0}
                  for k in range(n)]


def test_unusual_quantities_per_sku_customer_and_business():
    # a hundred lines of 1 (three in four) and 2: with the five below, the 95th percentile (lower) is 2 and
    # the median 1, so the limit is max(2 x 2, 3 x 1, 5) = 5
    rows, lines = line_history("MUG", 100)
    rows += [{"order_id": 1, "email": "a@example.com"}, {"order_id": 2, "email": "b@example.com"},
             {"order_id": 3, "email": "c@example.com", "company": "Acme Ltd"}, {"order_id": 4, "email": "e@example.com", "company": "Bo Ltd"},
             {"order_id": 5, "email": "d@example.com"}, {"order_id": 6, "email": "f@example.com"}, {"order_id": 7, "email": "f@example.com"}]
    lines += [{"order_id": 1, "sku": "MUG", "quantity": 5, "unit_price": 10.0}, {"order_id": 2, "sku": "MUG", "quantity": 6, "unit_price": 10.0},
              {"order_id": 3, "sku": "MUG", "quantity": 20, "unit_price": 10.0}, {"order_id": 4, "sku": "MUG", "quantity": 30, "unit_price": 10.0},
              {"order_id": 5, "sku": "RARE", "quantity": 21, "unit_price": 10.0}, {"order_id": 6, "sku": "MUG", "quantity": 12, "unit_price": 10.0},
              {"order_id": 7, "sku": "MUG", "quantity": 24, "unit_price": 10.0}]
    frame = pd.DataFrame([{"created": NOW - timedelta(hours=1), "total": 50.0, **r} for r in rows])
    result = score_orders(frame, pd.DataFrame(lines), now=NOW)
    assert "QTY_OUTLIER" not in codes(result, 1)  # 5 is the limit itself
    assert "QTY_OUTLIER" in codes(result, 2)
    assert "QTY_OUTLIER" not in codes(result, 3)  # a business: its limit is 5 x 5 = 25
    assert "QTY_OUTLIER" in codes(result, 4)  # 30 is over even a business's limit
    assert "QTY_OUTLIER" in codes(result, 5)  # a rare SKU (fewer than 20 lines): the fallback limit 20
    assert "QTY_OUTLIER" not in codes(result, 6)  # 12, but this customer bought 24 elsewhere: not over 2 x 24
    assert "QTY_OUTLIER" not in codes(result, 7)  # 24 is not over 2 x 12 either
    message = result.reasons[(result.reasons["order_id"] == 2) & (result.reasons["code"] == "QTY_OUTLIER")]["message"].iloc[0]
    assert "quantity 6 of MUG" in message and "limit 5" in message


def test_price_below_cost():
    rows = orders({}, {})
    lines = pd.DataFrame([{"order_id": 1, "sku": "A", "quantity": 1, "unit_price": 1.99, "unit_cost": 8.0},
                          {"order_id": 2, "sku": "A", "quantity": 1, "unit_price": 19.99, "unit_cost": 8.0},
                          {"order_id": 2, "sku": "B", "quantity": 1, "unit_price": 0.0, "unit_cost": 0.0}])  # a free gift: no cost, no issue
    result = score_orders(rows, lines, now=NOW)
    assert codes(result, 1) == ["PRICE_BELOW_COST"] and codes(result, 2) == []
    reason = result.scores.set_index("order_id").loc[1, "reasons"][0]
    assert (reason["value"], reason["threshold"]) == (1.99, 8.0)


def test_score_is_capped_actions_follow_the_thresholds_and_the_ruleset_is_named():
    rows = orders({"customer_name": "Test Test", "email": "x@mailinator.com", "billing_country": "US", "shipping_country": "GB"},
                  {"customer_name": "Test Test"}, {"billing_country": "US", "shipping_country": "GB"})
    result = score_orders(rows, now=NOW)
    scores = result.scores.set_index("order_id")
    assert scores.loc[1, "score"] == min(100, DEFAULT_POINTS["TEST_PATTERN"] + DEFAULT_POINTS["DISPOSABLE_EMAIL"]
                                         + DEFAULT_POINTS["BILLING_SHIPPING_COUNTRY_MISMATCH"]) == 95
    assert scores.loc[1, "action"] == "HOLD" and scores.loc[2, "action"] == "FLAG" and scores.loc[3, "action"] == "ACCEPT"
    assert set(scores["ruleset_version"]) == {RULESET_VERSION} and set(scores["history_n"]) == {3}
    assert [r["code"] for r in scores.loc[1, "reasons"]] == ["TEST_PATTERN", "DISPOSABLE_EMAIL", "BILLING_SHIPPING_COUNTRY_MISMATCH"]
    stricter = score_orders(rows, now=NOW, rules=AnomalyRules(version="shop-2", flag_at=10, points={**DEFAULT_POINTS, "TEST_PATTERN": 5}))
    s = stricter.scores.set_index("order_id")
    assert s.loc[2, "score"] == 5 and s.loc[2, "action"] == "ACCEPT" and s.loc[3, "action"] == "FLAG"
    assert set(s["ruleset_version"]) == {"shop-2"}


def test_only_the_asked_orders_are_scored_against_the_whole_history():
    rows = orders(*history(30), {"total": 9000.0})
    result = score_orders(rows, now=NOW, score_ids=[31])
    assert list(result.scores["order_id"]) == [31] and set(result.reasons["order_id"]) == {31}
    assert "AMOUNT_OUTLIER" in codes(result, 31)


def test_frames_from_nopcommerce_orders():
    from decimal import Decimal

    from bp_nop_dagster.nopcommerce.models import Address, Order, OrderDetails, OrderItem
    from bp_nop_dagster.quality.anomalies import frames_from_nop

    order = Order(id=9, customer_id=1, order_status_id=10, shipping_status_id=20, payment_status_id=30, order_total=Decimal("42.50"),
                  created_on_utc=NOW, customer_ip="203.0.113.9", masked_credit_card_number="************4242",
                  shipping_method="Ground", vat_number="GB123", store_id=1)
    billing = Address(id=1, first_name="Ada", last_name="Lovelace", email="ada@example.com", country_id=3, zip_postal_code="LS1 4AB",
                      address1="1 Mill Road")
    items = [OrderItem(id=1, order_id=9, product_id=5, quantity=2, unit_price_excl_tax=Decimal("10"), original_product_cost=Decimal("4"))]
    orders_frame, lines = frames_from_nop([OrderDetails(order=order, items=items, billing_address=billing)],
                                          country_iso2={3: "GB"}, product_skus={5: "MUG"})
    row = orders_frame.iloc[0]
    assert (row["order_id"], row["total"], row["email"], row["card"], row["company"], row["customer_name"]) == \
        (9, 42.5, "ada@example.com", "4242", "GB123", "Ada Lovelace")
    assert (row["billing_country"], row["shipping_country"], row["shipping_postcode"], row["channel"]) == ("GB", "GB", "LS1 4AB", "1")
    assert lines.to_dict("records") == [{"order_id": 9, "sku": "MUG", "quantity": 2, "unit_price": 10.0, "unit_cost": 4.0}]
    assert len(score_orders(orders_frame, lines, now=NOW + timedelta(minutes=1)).scores) == 1
