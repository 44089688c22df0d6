"""Order anomaly signals without a trained model: each order gets a score 0-100 with reason codes
and evidence, from robust statistics, velocity and plain rules; a configurable threshold flags
it. Nothing is cancelled: ACCEPT, FLAG (push with the reasons) or HOLD (a person releases it).

Rules (code: what fires it; points and thresholds in `AnomalyRules`, versioned by `version`):

- AMOUNT_OUTLIER: the order total is far from its channel's usual totals: modified z-score of
  log(total), 0.6745 * (x - median) / MAD, beyond `amount_z` (Iglewicz & Hoaglin's 3.5) on
  either side; channels with fewer than `amount_min_orders` orders are not judged. A MAD of 0
  (most totals equal) is floored at `mad_floor`.
- CUSTOMER_AMOUNT_OUTLIER: the same against the customer's own orders (email key), high side
  only, for customers with at least `customer_min_orders` orders.
- FIRST_ORDER_HIGH_VALUE: no earlier order of the email key in the history and a total above
  the channel's `first_order_quantile`.
- NEW_CUSTOMER_EXPRESS: a first order shipped by an express method (`express_methods`).
- VELOCITY_EMAIL / VELOCITY_CARD / VELOCITY_ADDRESS / VELOCITY_IP: at least the key's threshold
  of orders with the same key within `velocity_hours` before or after this order, among the
  orders visible at `now`; for card, address and IP the customer's own other orders are left out
  (a customer ordering twice is not two people on one card). Scoring an order as it arrives sees
  only earlier ones; re-scoring recent orders sees the whole burst. Absent keys are not counted.
- MULTI_CARD: the email key paid with at least `multi_card` distinct cards in the history.
- ADDRESS_MANY_NAMES: at least `address_names` distinct customer names ship to one address in
  the history (a household has fewer).
- BILLING_SHIPPING_COUNTRY_MISMATCH: billing and shipping countries differ (weak alone).
- DISPOSABLE_EMAIL: a throwaway email domain. INVALID_CONTACT: the order's contact has an ERROR
  from the contact validator (column `contact_errors`, optional).
- TEST_PATTERN: a name or email word is a test marker (`test_markers`: "test", "asdf", ...).
- QTY_OUTLIER: a line's quantity above max(`qty_quantile_factor` x the SKU's `qty_quantile`
  quantile (95th; the lower value, so a few outliers do not lift their own limit),
  `qty_median_factor` x its median, `qty_floor`), for SKUs with at least `qty_min_lines` lines;
  rarer SKUs use `qty_rare_sku`; and above `qty_customer_factor` x the largest line quantity of
  the customer's other orders (a business that always buys 20 is not unusual at 20). An order
  naming a company (billing company or VAT number: column `company`) may buy in bulk: its limit
  is `qty_business_factor` times higher.
- PRICE_BELOW_COST: a line sold below its unit cost (cost > 0).

Score = min(100, sum of points); FLAG at `flag_at`, HOLD at `hold_at`. History = orders created in
the `history_days` before `now` (a frozen clock passed in); later orders are invisible.

Inputs: `orders` with `order_id`, `created` (UTC), `total`, `email`, and optionally `channel`,
`customer_name`, `company`, `ip`, `card`, `billing_country`, `shipping_country`, `address_key` (else built
from `shipping_country`, `shipping_postcode`, `shipping_street`), `shipping_method`,
`contact_errors`; `lines` with `order_id`, `sku`, `quantity`, `unit_price` and optionally
`unit_cost`. Fraud precision in real life is unknown until chargebacks and reviewer verdicts exist:
store them, they are the labels any later model would need.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from bp_nop_dagster.mapping.contacts import normalise_email
from bp_nop_dagster.quality.common import words
from bp_nop_dagster.quality.emails import is_disposable

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

RULESET_VERSION = "2026.1"

AMOUNT_OUTLIER = "AMOUNT_OUTLIER"
CUSTOMER_AMOUNT_OUTLIER = "CUSTOMER_AMOUNT_OUTLIER"
FIRST_ORDER_HIGH_VALUE = "FIRST_ORDER_HIGH_VALUE"
NEW_CUSTOMER_EXPRESS = "NEW_CUSTOMER_EXPRESS"
VELOCITY_EMAIL = "VELOCITY_EMAIL"
VELOCITY_CARD = "VELOCITY_CARD"
VELOCITY_ADDRESS = "VELOCITY_ADDRESS"
VELOCITY_IP = "VELOCITY_IP"
MULTI_CARD = "MULTI_CARD"
ADDRESS_MANY_NAMES = "ADDRESS_MANY_NAMES"
BILLING_SHIPPING_COUNTRY_MISMATCH = "BILLING_SHIPPING_COUNTRY_MISMATCH"
DISPOSABLE_EMAIL = "DISPOSABLE_EMAIL"
INVALID_CONTACT = "INVALID_CONTACT"
TEST_PATTERN = "TEST_PATTERN"
QTY_OUTLIER = "QTY_OUTLIER"
PRICE_BELOW_COST = "PRICE_BELOW_COST"

DEFAULT_POINTS: dict[str, int] = {
    AMOUNT_OUTLIER: 30,
    CUSTOMER_AMOUNT_OUTLIER: 20,
    FIRST_ORDER_HIGH_VALUE: 25,
    NEW_CUSTOMER_EXPRESS: 10,
    VELOCITY_EMAIL: 25,
    VELOCITY_CARD: 25,
    VELOCITY_ADDRESS: 25,
    VELOCITY_IP: 20,
    MULTI_CARD: 25,
    ADDRESS_MANY_NAMES: 30,
    BILLING_SHIPPING_COUNTRY_MISMATCH: 15,
    DISPOSABLE_EMAIL: 20,
    INVALID_CONTACT: 10,
    TEST_PATTERN: 60,
    QTY_OUTLIER: 60,
    PRICE_BELOW_COST: 60,
}


class AnomalyRules(BaseModel):
    """The ruleset: points per reason code and every threshold. Change `version` with any edit,
    so stored scores say which rules made them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = RULESET_VERSION
    points: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_POINTS))
    flag_at: int = Field(default=50, ge=1, le=100)
    hold_at: int = Field(default=80, ge=1, le=100)
    history_days: int = Field(default=180, ge=1)
    amount_z: float = 3.5
    amount_min_orders: int = 20
    mad_floor: float = 0.05
    customer_min_orders: int = 5
    first_order_quantile: float = 0.95
    express_methods: tuple[str, ...] = ("next day", "express", "overnight", "priority", "special delivery", "1st class")
    velocity_hours: float = 24.0
    velocity_email: int = 3
    velocity_card: int = 3
    velocity_address: int = 4
    velocity_ip: int = 5
    multi_card: int = 3
    address_names: int = 4
    test_markers: frozenset[str] = frozenset({"test", "testing", "tester", "asdf", "qwerty", "dummy", "xxx", "aaa", "donotship"})
    qty_min_lines: int = 20
    qty_quantile: float = 0.95
    qty_quantile_factor: float = 2.0
    qty_median_factor: float = 3.0
    qty_floor: int = 5
    qty_rare_sku: int = 20
    qty_customer_factor: float = 2.0
    qty_business_factor: float = 5.0

    def points_for(self, code: str) -> int:
        return self.points.get(code, DEFAULT_POINTS[code])


REASON_COLUMNS = ["order_id", "code", "points", "value", "threshold", "message"]
SCORE_COLUMNS = ["order_id", "score", "level", "action", "reasons", "ruleset_version", "history_n"]


@dataclass(frozen=True)
class RiskScores:
    """`scores`: one row per scored order (`SCORE_COLUMNS`; `reasons` is a list of dicts);
    `reasons`: one row per fired rule (`REASON_COLUMNS`)."""

    scores: pd.DataFrame
    reasons: pd.DataFrame
    rules: AnomalyRules

    def flagged(self) -> pd.DataFrame:
        return self.scores[self.scores["action"] != "ACCEPT"]


def _email_keys(emails: pd.Series) -> pd.Series:
    import pandas as pd
    cache: dict[Any, str | None] = {}
    out = []
    for email in emails:
        if email not in cache:
            cache[email] = normalise_email(email) if isinstance(email, str) else None
        out.append(cache[email])
    return pd.Series(out, index=emails.index, dtype="object")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """The column as stripped text, with blanks and missing values as None."""
    import pandas as pd
    if column not in frame:
        return pd.Series([None] * len(frame), index=frame.index, dtype="object")

    def clean(value: Any) -> str | None:
        if isinstance(value, str):
            return value.strip() or None
        return None if pd.isna(value) else str(value)

    return pd.Series([clean(v) for v in frame[column]], index=frame.index, dtype="object")


def _address_keys(frame: pd.DataFrame) -> pd.Series:
    import pandas as pd
    if "address_key" in frame:
        return _text(frame, "address_key")
    country, postcode, street = (_text(frame, c) for c in ("shipping_country", "shipping_postcode", "shipping_street"))
    keys = []
    for c, p, s in zip(country, postcode, street):
        if not p and not s:
            keys.append(None)
        else:
            keys.append(f"{(c or '').upper()}|{(p or '').upper().replace(' ', '')}|{' '.join(words(s))}")
    return pd.Series(keys, index=frame.index, dtype="object")


def _window_counts(keys: pd.Series, seconds: np.ndarray, window: float) -> np.ndarray:
    """For each row, how many rows share its key within `window` seconds either side (itself
    included); 0 where the key is missing."""
    import numpy as np
    import pandas as pd
    present = keys.notna().to_numpy()
    counts = np.zeros(len(keys), dtype=np.int64)
    if not present.any():
        return counts
    codes, _ = pd.factorize(keys[present])
    t = seconds[present]
    # one sorted axis: key first, time second (times are < 2**33 s, keys < 2**29)
    composite = codes.astype(np.int64) * (1 << 34) + (t - t.min()).astype(np.int64)
    order = np.argsort(composite, kind="stable")
    ordered = composite[order]
    w = int(window)
    lo = np.searchsorted(ordered, composite - w, side="left")
    hi = np.searchsorted(ordered, composite + w, side="right")
    counts[present] = hi - lo
    return counts


def _distinct_per(group: pd.Series, values: pd.Series) -> np.ndarray:
    """For each row, the number of distinct non-missing `values` among rows of its `group`."""
    import pandas as pd
    frame = pd.DataFrame({"g": group, "v": values})
    frame = frame[frame["g"].notna() & frame["v"].notna()]
    counts = frame.groupby("g")["v"].nunique()
    return group.map(counts).fillna(0).astype(int).to_numpy()


def _robust_z(values: pd.Series, groups: pd.Series, *, min_n: int, floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Modified z-scores of `values` within `groups` (NaN for groups under `min_n`), and each
    row's group median and MAD."""
    import numpy as np
    import pandas as pd
    frame = pd.DataFrame({"g": groups, "x": values})
    grouped = frame.groupby("g")["x"]
    median = grouped.transform("median")
    mad = (frame["x"] - median).abs().groupby(frame["g"]).transform("median").clip(lower=floor)
    n = grouped.transform("size")
    z = 0.6745 * (frame["x"] - median) / mad
    z[n < min_n] = np.nan
    return z.to_numpy(dtype=float, copy=True), median.to_numpy(dtype=float), mad.to_numpy(dtype=float)


def score_orders(
    orders: pd.DataFrame,
    lines: pd.DataFrame | None = None,
    *,
    now: datetime,
    rules: AnomalyRules | None = None,
    score_ids: Iterable[Any] | None = None,
) -> RiskScores:
    """Score the orders visible at `now` (or only `score_ids` among them) against the history
    in `orders` (see the module docstring)."""
    import numpy as np
    import pandas as pd
    rules = rules or AnomalyRules()
    for column in ("order_id", "created", "total", "email"):
        if column not in orders:
            raise ValueError(f"orders need a {column!r} column")
    now_ts = pd.Timestamp(now)
    if now_ts.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    created = pd.to_datetime(orders["created"], utc=True)
    visible = (created <= now_ts) & (created > now_ts - timedelta(days=rules.history_days))
    o = orders.loc[visible].copy()
    o["created"] = created[visible]
    o = o.sort_values(["created", "order_id"], kind="stable").reset_index(drop=True)
    n = len(o)
    reasons: list[pd.DataFrame] = []
    ids = o["order_id"].to_numpy()

    def fire(mask: Any, code: str, value: Any, threshold: Any, message: str, **fields: Any) -> None:
        """Record `code` for the rows in `mask`; `message` is formatted per fired row with
        `fields` (arrays aligned with the orders) plus `value` and `threshold`."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return

        def pick(v: Any) -> list:
            return list(np.asarray(v, dtype=object)[mask]) if isinstance(v, (np.ndarray, pd.Series, list)) else [v] * int(mask.sum())

        values, thresholds = pick(value), pick(threshold)
        columns = {name: pick(v) for name, v in fields.items()}
        messages = [message.format(value=values[i], threshold=thresholds[i], **{k: c[i] for k, c in columns.items()})
                    for i in range(len(values))]
        reasons.append(pd.DataFrame({"order_id": ids[mask], "code": code, "points": rules.points_for(code),
                                     "value": values, "threshold": thresholds, "message": messages}))

    channel = _text(o, "channel").fillna("web")
    email_key = _email_keys(o["email"])
    total = pd.to_numeric(o["total"], errors="coerce").fillna(0.0).astype(float)
    log_total = np.log(total.clip(lower=0.01))
    seconds = ((o["created"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)
    hours = f"{rules.velocity_hours:g}"

    # amounts: channel and customer
    z, median, _mad = _robust_z(log_total, channel, min_n=rules.amount_min_orders, floor=rules.mad_floor)
    z0 = np.nan_to_num(z)
    fire(np.abs(z0) > rules.amount_z, AMOUNT_OUTLIER, np.round(z, 2), rules.amount_z,
         "total {total:.2f} is {side} the channel's usual {usual:.2f} (robust z {value})",
         total=total.to_numpy(), usual=np.exp(median), side=np.where(z0 > 0, "far above", "far below"))
    cz, cmedian, _ = _robust_z(log_total, email_key.fillna("\0missing"), min_n=rules.customer_min_orders, floor=rules.mad_floor)
    cz[email_key.isna().to_numpy()] = np.nan
    fire(np.nan_to_num(cz) > rules.amount_z, CUSTOMER_AMOUNT_OUTLIER, np.round(cz, 2), rules.amount_z,
         "total {total:.2f} is far above this customer's usual {usual:.2f}", total=total.to_numpy(), usual=np.exp(cmedian))

    # first orders
    first = (email_key.isna() | ~email_key.duplicated(keep="first")).to_numpy()
    quantile = channel.map(total.groupby(channel).quantile(rules.first_order_quantile)).to_numpy(dtype=float)
    fire(first & (total.to_numpy() > quantile), FIRST_ORDER_HIGH_VALUE, total.round(2).to_numpy(), np.round(quantile, 2),
         f"first order of this customer, total {{value:.2f}} above the channel's {rules.first_order_quantile:.0%} quantile {{threshold:.2f}}")
    method = _text(o, "shipping_method")
    express = np.array([bool(m) and any(word in m.casefold() for word in rules.express_methods) for m in method], dtype=bool)
    fire(first & express, NEW_CUSTOMER_EXPRESS, method.to_numpy(), "express", "first order shipped by {value}")

    # velocity and key reuse
    address_key = _address_keys(o)
    window = rules.velocity_hours * 3600
    counts = _window_counts(email_key, seconds, window)
    fire(counts >= rules.velocity_email, VELOCITY_EMAIL, counts, rules.velocity_email, f"{{value}} orders from this email within {hours} h")
    for code, keys, threshold, what in (
        (VELOCITY_CARD, _text(o, "card"), rules.velocity_card, "on this card"),
        (VELOCITY_ADDRESS, address_key, rules.velocity_address, "to this address"),
        (VELOCITY_IP, _text(o, "ip"), rules.velocity_ip, "from this IP address"),
    ):
        # a customer's own repeat orders are VELOCITY_EMAIL's: count this email once
        together = pd.Series([f"{k}\0{e}" if k is not None and e is not None else None for k, e in zip(keys, email_key)],
                             index=keys.index, dtype="object")
        counts = _window_counts(keys, seconds, window) - np.maximum(_window_counts(together, seconds, window) - 1, 0)
        fire(counts >= threshold, code, counts, threshold, f"{{value}} orders {what} within {hours} h, from other emails")
    cards = _distinct_per(email_key, _text(o, "card"))
    fire(cards >= rules.multi_card, MULTI_CARD, cards, rules.multi_card, "{value} different cards for this email")
    names = pd.Series([" ".join(sorted(words(v))) if v else None for v in _text(o, "customer_name")], index=o.index, dtype="object")
    many = _distinct_per(address_key, names)
    fire(many >= rules.address_names, ADDRESS_MANY_NAMES, many, rules.address_names, "{value} different names ship to this address")
    billing = pd.Series([v.upper() if v else None for v in _text(o, "billing_country")], dtype="object")
    shipping = pd.Series([v.upper() if v else None for v in _text(o, "shipping_country")], dtype="object")
    mismatch = np.array([bool(b and s_ and b != s_) for b, s_ in zip(billing, shipping)], dtype=bool)
    fire(mismatch, BILLING_SHIPPING_COUNTRY_MISMATCH, [f"{b}/{s_}" for b, s_ in zip(billing, shipping)], "same",
         "billed in {billing}, shipped to {shipping}", billing=billing.to_numpy(), shipping=shipping.to_numpy())

    # contact
    domains = [e.rsplit("@", 1)[1] if e and "@" in e else None for e in email_key]
    disposable_cache: dict[str, bool] = {}
    disposable = np.array([bool(d) and disposable_cache.setdefault(d, is_disposable(d)) for d in domains], dtype=bool)
    fire(disposable, DISPOSABLE_EMAIL, domains, "not disposable", "throwaway email domain {value}")
    if "contact_errors" in o:
        errors = pd.to_numeric(o["contact_errors"], errors="coerce").fillna(0).to_numpy()
        fire(errors > 0, INVALID_CONTACT, errors, 0, "{value:.0f} contact error(s)")
    found = [", ".join(sorted((set(words(n)) | set(words((e or "").split("@", 1)[0]))) & rules.test_markers))
             for n, e in zip(_text(o, "customer_name"), _text(o, "email"))]
    fire(np.array([bool(f) for f in found], dtype=bool), TEST_PATTERN, found, "no test words", "test words in name or email: {value}")

    if lines is not None and len(lines):
        _line_rules(o, email_key, lines, rules, fire)

    return _assemble(o, reasons, rules, n, score_ids)


def _customer_usual(o: pd.DataFrame, email_key: pd.Series, order_max: pd.Series) -> pd.Series:
    """Per order: the largest line quantity on the customer's *other* orders (0 without any)."""
    import numpy as np
    import pandas as pd
    frame = pd.DataFrame({"key": email_key.to_numpy(), "max": o["order_id"].map(order_max).fillna(0).to_numpy(),
                          "order_id": o["order_id"].to_numpy()})
    frame = frame[frame["key"].notna()].sort_values(["key", "max"], ascending=[True, False], kind="stable")
    rank = frame.groupby("key").cumcount()
    top1 = frame[rank == 0].set_index("key")["max"]
    top2 = frame[rank == 1].set_index("key")["max"]
    first_of = frame[rank == 0].set_index("order_id")["key"]
    best = frame["key"].map(top1)
    second = frame["key"].map(top2).fillna(0.0)
    usual = np.where(frame["order_id"].isin(first_of.index), second, best)
    return pd.Series(usual, index=frame["order_id"].to_numpy()).reindex(o["order_id"]).fillna(0.0)


def _line_rules(o: pd.DataFrame, email_key: pd.Series, lines: pd.DataFrame, rules: AnomalyRules, fire) -> None:
    import numpy as np
    import pandas as pd
    for column in ("order_id", "sku", "quantity", "unit_price"):
        if column not in lines:
            raise ValueError(f"lines need a {column!r} column")
    li = lines[lines["order_id"].isin(set(o["order_id"]))].copy()
    li["quantity"] = pd.to_numeric(li["quantity"], errors="coerce").fillna(0)
    grouped = li.groupby("sku")["quantity"]
    sku = li["sku"]
    limit = np.maximum(
        np.maximum(sku.map(grouped.quantile(rules.qty_quantile, interpolation="lower")) * rules.qty_quantile_factor,
                   sku.map(grouped.median()) * rules.qty_median_factor),
        rules.qty_floor,
    )
    limit = limit.where(sku.map(grouped.size()) >= rules.qty_min_lines, rules.qty_rare_sku)
    usual = li["order_id"].map(_customer_usual(o, email_key, li.groupby("order_id")["quantity"].max()))
    business = li["order_id"].map(pd.Series(_text(o, "company").notna().to_numpy(), index=o["order_id"])).fillna(False).astype(bool)
    limit = limit.where(~business, limit * rules.qty_business_factor)
    over_mask = (li["quantity"] > limit) & (li["quantity"] > rules.qty_customer_factor * usual)
    over = li[over_mask].assign(limit=limit[over_mask], usual=usual[over_mask])
    per_order = over.sort_values("quantity", ascending=False).drop_duplicates("order_id").set_index("order_id")
    position = o["order_id"].isin(per_order.index).to_numpy()
    picked = per_order.reindex(o["order_id"])
    fire(position, QTY_OUTLIER, picked["quantity"].to_numpy(), np.round(picked["limit"].to_numpy(dtype=float), 1),
         "quantity {value:g} of {sku} is far above its usual (limit {threshold:g}; this customer's largest elsewhere {usual:g})",
         sku=picked["sku"].to_numpy(), usual=picked["usual"].to_numpy())
    if "unit_cost" in li:
        price = pd.to_numeric(li["unit_price"], errors="coerce")
        cost = pd.to_numeric(li["unit_cost"], errors="coerce")
        below = li[(cost > 0) & (price < cost)].assign(price=price, cost=cost)
        below = below.assign(margin=below["price"] - below["cost"]).sort_values("margin").drop_duplicates("order_id").set_index("order_id")
        position = o["order_id"].isin(below.index).to_numpy()
        picked = below.reindex(o["order_id"])
        fire(position, PRICE_BELOW_COST, picked["price"].round(2).to_numpy(), picked["cost"].round(2).to_numpy(),
             "{sku} sold at {value:.2f}, below its cost {threshold:.2f}", sku=picked["sku"].to_numpy())


def _assemble(o: pd.DataFrame, reasons: list[pd.DataFrame], rules: AnomalyRules, history_n: int, score_ids) -> RiskScores:
    import numpy as np
    import pandas as pd
    fired = pd.concat(reasons, ignore_index=True) if reasons else pd.DataFrame(columns=REASON_COLUMNS)
    ids = o["order_id"]
    if score_ids is not None:
        wanted = set(score_ids)
        ids = ids[ids.isin(wanted)]
        fired = fired[fired["order_id"].isin(wanted)]
    fired = fired.sort_values(["order_id", "points", "code"], ascending=[True, False, True], kind="stable").reset_index(drop=True)
    totals = fired.groupby("order_id")["points"].sum() if len(fired) else pd.Series(dtype=int)
    lists: dict[Any, list[dict]] = {}
    for record in fired.to_dict("records"):
        lists.setdefault(record["order_id"], []).append({k: record[k] for k in ("code", "points", "value", "threshold", "message")})
    score = ids.map(totals).fillna(0).clip(upper=100).astype(int)
    action = np.where(score >= rules.hold_at, "HOLD", np.where(score >= rules.flag_at, "FLAG", "ACCEPT"))
    level = np.where(score >= rules.hold_at, "high", np.where(score >= rules.flag_at, "medium", "low"))
    scores = pd.DataFrame({
        "order_id": ids.to_numpy(), "score": score.to_numpy(), "level": level, "action": action,
        "reasons": [lists.get(i, []) for i in ids], "ruleset_version": rules.version, "history_n": history_n,
    }, columns=SCORE_COLUMNS)
    return RiskScores(scores=scores, reasons=fired[REASON_COLUMNS], rules=rules)


def frames_from_nop(details: Iterable[Any], *, country_iso2: Mapping[int, str], product_skus: Mapping[int, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(orders, lines) for `score_orders` from nopCommerce `OrderDetails` (order, items,
    addresses): country ids through `country_iso2`, product ids through `product_skus`; the
    card is the masked number's last four digits, the cost each item's `original_product_cost`."""
    import pandas as pd
    orders, lines = [], []
    for detail in details:
        order, billing, shipping = detail.order, detail.billing_address, detail.shipping_address or detail.billing_address
        name = " ".join(x for x in ((billing.first_name if billing else None), (billing.last_name if billing else None)) if x)
        card = "".join(ch for ch in (order.masked_credit_card_number or "") if ch.isdigit())[-4:] or None
        orders.append({
            "order_id": order.id, "created": order.created_on_utc, "total": float(order.order_total),
            "email": billing.email if billing else None, "channel": str(order.store_id), "customer_name": name or None,
            "company": (billing.company if billing else None) or order.vat_number,
            "ip": order.customer_ip, "card": card, "shipping_method": order.shipping_method,
            "billing_country": country_iso2.get(billing.country_id) if billing and billing.country_id else None,
            "shipping_country": country_iso2.get(shipping.country_id) if shipping and shipping.country_id else None,
            "shipping_postcode": shipping.zip_postal_code if shipping else None,
            "shipping_street": shipping.address1 if shipping else None,
        })
        for item in detail.items:
            lines.append({
                "order_id": order.id, "sku": product_skus.get(item.product_id, f"product:{item.product_id}"),
                "quantity": item.quantity, "unit_price": float(item.unit_price_excl_tax), "unit_cost": float(item.original_product_cost),
            })
    return pd.DataFrame(orders), pd.DataFrame(lines, columns=["order_id", "sku", "quantity", "unit_price", "unit_cost"])


__all__ = [
    "AnomalyRules",
    "DEFAULT_POINTS",
    "REASON_COLUMNS",
    "RULESET_VERSION",
    "RiskScores",
    "SCORE_COLUMNS",
    "frames_from_nop",
    "score_orders",
]
