"""Mapping suggestions: for every nopCommerce value the mapping file needs, the top Brightpearl
candidates, each with a score and its evidence, and a status: `confident` (written into the
mapping), `review` (candidates shown, a person chooses) or `abstain` (nothing fits). The engine
behind a later `bp-nop init`; it never guesses: ties and low scores are left unmapped and said.

Evidence, strongest first:
1. exact keys: the store currency, ISO country codes;
2. co-occurrence on orders linked in both systems: how often a nopCommerce value went with a
   Brightpearl value (41 of 43 orders paid "Payments.Manual" carry payment code CARD). With at
   least `min_support` linked orders for a value, the shares are the scores (names agreeing with
   the top share add `agreement_bonus`): history outranks names;
3. numbers and kinds: a tax rate only maps to codes of that rate; statuses only to sales-order
   statuses of a compatible state (a cancelled status for "Cancelled"); price lists only to
   selling lists in the store's currency, the web channel's default list first;
4. names: both names read as concepts with synonyms (`vocabulary`: check ~ cheque, manual ~ card,
   Ground ~ standard, ...), scored 0.8 x concept agreement (mean of overlap and Dice) + 0.2 x
   rapidfuzz token-set similarity of the plain words.

A value is `confident` when its best score is at least `accept` and beats the second by at least
`margin`; `review` when the best is at least `floor`; else `abstain`. Some choices are business
decisions no name settles (a purchase order paid later: which Brightpearl payment method records
it?): those are always `review` unless linked orders decide.

Values that are policy, not reference data (what to do per nopCommerce payment status, shipping
status codes, price mode, discount allocation, the placeholder SKU), are not suggested here: the
YAML renderer writes the documented defaults, marked for review.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from decimal import Decimal
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict
from rapidfuzz import fuzz

from bp_nop_dagster.brightpearl.models import Channel, OrderStatus, PaymentMethod, PriceList, ShippingMethod, TaxCode, Warehouse
from bp_nop_dagster.mapping.config import NOP_ORDER_STATUSES
from bp_nop_dagster.mapping.contacts import ISO2_TO_ISO3
from bp_nop_dagster.quality.vocabulary import VOCABULARY_VERSION, concepts, known_concepts

CONFIDENT, REVIEW, ABSTAIN = "confident", "review", "abstain"

# table names (one per kind of value the mapping file needs)
ORDER_STATUS = "order_status"
AWAITING_PAYMENT_STATUS = "awaiting_payment_status"
CHANNEL = "channel"
WAREHOUSE = "warehouse"
NOP_WAREHOUSE = "nop_warehouse"
PRICE_LIST = "price_list"
CURRENCY = "currency"
TAX_RATE = "tax_rate"
EXEMPT_TAX_CODE = "exempt_tax_code"
SHIPPING_METHOD = "shipping_method"
SHIPPING_DEFAULT = "shipping_default"
PAYMENT_METHOD = "payment_method"
NOMINAL_CODE = "nominal_code"
COUNTRY = "country"

NOMINAL_ROWS = {"sales": "Sales", "shipping": "Shipping / carriage", "discount": "Discounts", "payment_fee": "Payment fee"}
NOMINAL_CONCEPT = {"sales": "sales", "shipping": "carriage", "discount": "discount", "payment_fee": "fee"}
# Brightpearl order status `state` values each nopCommerce order status may map to (None: any).
STATUS_STATES = {10: {"open", "draft"}, 20: {"open"}, 30: {"completed", "invoiced", "closed"}, 40: {"cancelled"}}
CHANNEL_CONCEPTS = frozenset({"web", "phone", "marketplace"})
#: The vocabulary's stop-word table each suggestion table reads its source names with.
VOCABULARY_TABLE = {AWAITING_PAYMENT_STATUS: ORDER_STATUS, WAREHOUSE: "warehouse", NOP_WAREHOUSE: "warehouse", PRICE_LIST: "price_list",
                    TAX_RATE: "tax_code", EXEMPT_TAX_CODE: "tax_code", NOMINAL_CODE: "nominal_code"}
#: Source concepts whose mapping is a business decision: never confident on names alone.
ALWAYS_REVIEW: dict[str, frozenset[str]] = {PAYMENT_METHOD: frozenset({"account"})}


class SuggestionRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    accept: float = 0.8
    margin: float = 0.1
    floor: float = 0.5
    min_support: int = 5
    agreement_bonus: float = 0.1
    top_k: int = 3
    #: Read names through the vocabulary's synonyms (False: plain words only, a baseline).
    synonyms: bool = True


# ------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class NopPaymentMethod:
    system_name: str  # "Payments.Manual" (what orders carry)
    friendly_name: str | None = None  # "Credit Card" (the plugin's FriendlyName)


@dataclass(frozen=True)
class NopStore:
    id: int
    name: str
    url: str | None = None


@dataclass(frozen=True)
class NopWarehouse:
    id: int
    name: str


@dataclass(frozen=True)
class NopCountry:
    iso2: str
    iso3: str
    name: str = ""


@dataclass(frozen=True)
class NopReference:
    """nopCommerce's side: what its orders can carry."""

    currency_code: str
    payment_methods: tuple[NopPaymentMethod, ...] = ()
    shipping_methods: tuple[str, ...] = ()
    tax_rates: tuple[Decimal, ...] = ()
    stores: tuple[NopStore, ...] = ()
    warehouses: tuple[NopWarehouse, ...] = ()
    countries: tuple[NopCountry, ...] = ()
    order_statuses: Mapping[int, str] = field(default_factory=lambda: dict(NOP_ORDER_STATUSES))


@dataclass(frozen=True)
class NominalCode:
    code: str
    name: str


@dataclass(frozen=True)
class BrightpearlReference:
    """One Brightpearl account's reference data, as the client's models read it."""

    order_statuses: tuple[OrderStatus, ...] = ()
    payment_methods: tuple[PaymentMethod, ...] = ()
    shipping_methods: tuple[ShippingMethod, ...] = ()
    tax_codes: tuple[TaxCode, ...] = ()
    warehouses: tuple[Warehouse, ...] = ()
    channels: tuple[Channel, ...] = ()
    price_lists: tuple[PriceList, ...] = ()
    nominal_codes: tuple[NominalCode, ...] = ()


@dataclass(frozen=True)
class LinkedOrder:
    """One order present in both systems, with what each side recorded. Row-level pairs:
    `tax_pairs` (nop line tax rate, Brightpearl row tax code), `nominal_pairs` (row kind "sales",
    "shipping", "discount" or "payment_fee", nominal code)."""

    nop_order_status_id: int | None = None
    nop_payment_status_id: int | None = None
    nop_payment_method: str | None = None
    nop_shipping_method: str | None = None
    nop_store_id: int | None = None
    bp_status_id: int | None = None
    bp_payment_method_code: str | None = None
    bp_shipping_method_id: int | None = None
    bp_channel_id: int | None = None
    bp_warehouse_id: int | None = None
    bp_price_list_id: int | None = None
    tax_pairs: tuple[tuple[Decimal, str], ...] = ()
    nominal_pairs: tuple[tuple[str, str], ...] = ()


# ------------------------------------------------------------------------------------ outputs


@dataclass(frozen=True)
class Candidate:
    target: Any  # what the mapping file holds: an id or a code
    label: str
    score: float
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Suggestion:
    table: str
    source: Any  # the nopCommerce value (status id, system name, rate, ...)
    source_label: str
    candidates: tuple[Candidate, ...]
    status: str
    note: str = ""

    @property
    def choice(self) -> Candidate | None:
        """The confident candidate, else None."""
        return self.candidates[0] if self.status == CONFIDENT else None


SUGGESTION_COLUMNS = ["table", "source", "source_label", "status", "rank", "target", "label", "score", "evidence", "note"]


@dataclass(frozen=True)
class MappingSuggestions:
    suggestions: tuple[Suggestion, ...]
    vocabulary_version: str = VOCABULARY_VERSION

    def get(self, table: str, source: Any) -> Suggestion | None:
        return next((s for s in self.suggestions if s.table == table and s.source == source), None)

    def table(self, table: str) -> list[Suggestion]:
        return [s for s in self.suggestions if s.table == table]

    def frame(self) -> pd.DataFrame:
        """One row per candidate (an abstention keeps one row without a target): the CSV a person
        reviews."""
        rows = []
        for s in self.suggestions:
            for rank, c in enumerate(s.candidates or [None], start=1):
                rows.append({"table": s.table, "source": str(s.source), "source_label": s.source_label, "status": s.status,
                             "rank": rank if c else None, "target": None if c is None else str(c.target),
                             "label": None if c is None else c.label, "score": None if c is None else round(c.score, 3),
                             "evidence": "" if c is None else "; ".join(c.evidence), "note": s.note})
        return pd.DataFrame(rows, columns=SUGGESTION_COLUMNS)


# ------------------------------------------------------------------------------------ scoring


@dataclass(frozen=True)
class _Target:
    target: Any
    label: str
    concepts: frozenset[str]
    plain: tuple[str, ...]
    facts: tuple[str, ...] = ()  # evidence that came with the candidate (rate, state, ...)
    bonus: float = 0.0  # a fact that favours it (the channel's default price list)


def _target(target: Any, name: str | None, code: str | None, table: str, facts: tuple[str, ...] = (), bonus: float = 0.0,
            *, synonyms: bool = True) -> _Target:
    found, plain = concepts(name, table, synonyms=synonyms)
    label = f"{name} ({code})" if code and name and code != name else (name or code or str(target))
    return _Target(target, label, found | known_concepts(code, table, synonyms=synonyms), plain, facts, bonus)


def name_score(source: frozenset[str], source_plain: Sequence[str], target: _Target, *, context: str | None = None) -> float:
    """0.8 x concept agreement (mean of overlap coefficient and Dice) + 0.2 x token-set similarity
    of the plain words; with a `context` (a channel), channel words are set aside: +0.1 when the
    target names the same channel, -0.3 when it names another."""
    a, b = set(source), set(target.concepts)
    adjust = 0.0
    if context:
        channels = b & CHANNEL_CONCEPTS
        a, b = a - CHANNEL_CONCEPTS, b - CHANNEL_CONCEPTS
        adjust = 0.1 if context in channels else (-0.3 if channels else 0.0)
    if not a or not b:
        agreement = 0.0
    else:
        common = len(a & b)
        agreement = 0.5 * common / min(len(a), len(b)) + 0.5 * 2 * common / (len(a) + len(b))
    raw = fuzz.token_set_ratio(" ".join(source_plain), " ".join(target.plain)) / 100 if source_plain and target.plain else 0.0
    return max(0.0, min(1.0, 0.8 * agreement + 0.2 * raw + adjust))


def _decide(
    table: str,
    source: Any,
    source_label: str,
    targets: Sequence[_Target],
    rules: SuggestionRules,
    *,
    source_concepts: frozenset[str] | None = None,
    context: str | None = None,
    cooccurrence: Counter | None = None,
    empty_note: str = "no Brightpearl value of this kind",
) -> Suggestion:
    words_of = VOCABULARY_TABLE.get(table, table)
    if source_concepts is None:
        source_concepts, plain = concepts(source_label, words_of, synonyms=rules.synonyms)
    else:
        plain = concepts(source_label, words_of, synonyms=rules.synonyms)[1]
    if not targets:
        return Suggestion(table, source, source_label, (), ABSTAIN, empty_note)
    names = {t.target: name_score(source_concepts, plain, t, context=context) for t in targets}
    support = sum(cooccurrence.values()) if cooccurrence else 0
    scored: list[Candidate] = []
    by_history = support >= rules.min_support
    top_name = max(names, key=lambda k: names[k])
    for t in targets:
        evidence = [*t.facts, f"name {names[t.target]:.2f}"]
        if by_history:
            count = cooccurrence.get(t.target, 0)
            score = count / support
            if count:
                evidence.insert(0, f"co-occurrence {count}/{support} linked orders")
            if t.target == top_name and count and count == max(cooccurrence.values()) and names[t.target] >= rules.floor:
                score += rules.agreement_bonus
                evidence.append("names agree")
        else:
            score = names[t.target] + t.bonus
        scored.append(Candidate(t.target, t.label, round(min(score, 1.0), 4), tuple(evidence)))
    scored.sort(key=lambda c: (-c.score, str(c.target)))
    top = tuple(scored[: rules.top_k])
    best = top[0].score
    second = top[1].score if len(top) > 1 else 0.0
    if best < rules.floor:
        return Suggestion(table, source, source_label, top, ABSTAIN, f"no candidate scores {rules.floor} or more")
    if best < rules.accept:
        return Suggestion(table, source, source_label, top, REVIEW, f"best score {best:.2f} is under {rules.accept}")
    if best - second < rules.margin:
        return Suggestion(table, source, source_label, top, REVIEW, f"a tie: {top[0].label} and {top[1].label} score within {rules.margin}")
    if not by_history and source_concepts & ALWAYS_REVIEW.get(table, frozenset()):
        return Suggestion(table, source, source_label, top, REVIEW, "a business decision names cannot settle; confirm it (or let linked orders decide)")
    return Suggestion(table, source, source_label, top, CONFIDENT)


def _exact(table: str, source: Any, label: str, target: Any, target_label: str, evidence: str) -> Suggestion:
    return Suggestion(table, source, label, (Candidate(target, target_label, 1.0, (evidence,)),), CONFIDENT)


def _pairs(linked: Iterable[LinkedOrder], extract: Callable[[LinkedOrder], Iterable[tuple[Any, Any]]]) -> dict[Any, Counter]:
    counts: dict[Any, Counter] = defaultdict(Counter)
    for order in linked:
        for source, target in extract(order):
            if source is not None and target is not None:
                counts[source][target] += 1
    return counts


# ------------------------------------------------------------------------------------ tables


def _sales_statuses(bp: BrightpearlReference) -> list[OrderStatus]:
    return [s for s in bp.order_statuses if (s.order_type_code in (None, "SO")) and not s.disabled]


def _status_targets(bp: BrightpearlReference, states: set[str] | None, target: Callable[..., _Target]) -> list[_Target]:
    out = []
    for s in _sales_statuses(bp):
        if states is not None and s.state is not None and s.state not in states:
            continue
        out.append(target(s.id, s.name, None, ORDER_STATUS, (f"state {s.state}",) if s.state else ()))
    return out


def suggest_mapping(
    nop: NopReference,
    bp: BrightpearlReference,
    linked: Sequence[LinkedOrder] = (),
    rules: SuggestionRules | None = None,
) -> MappingSuggestions:
    """Every suggestion the mapping file needs (see the module docstring)."""
    rules = rules or SuggestionRules()
    out: list[Suggestion] = []
    target = partial(_target, synonyms=rules.synonyms)

    # order statuses (open orders still awaiting payment are the awaiting-payment status's evidence:
    # the documented default lists, payment status 10 on order statuses 10 and 20)
    def awaiting_payment(o: LinkedOrder) -> bool:
        return o.nop_payment_status_id == 10 and o.nop_order_status_id in (10, 20)

    status_pairs = _pairs(linked, lambda o: [] if awaiting_payment(o) else [(o.nop_order_status_id, o.bp_status_id)])
    for status_id, name in sorted(nop.order_statuses.items()):
        out.append(_decide(ORDER_STATUS, status_id, name, _status_targets(bp, STATUS_STATES.get(status_id), target), rules,
                           context="web", cooccurrence=status_pairs.get(status_id)))
    awaiting = _pairs(linked, lambda o: [("awaiting", o.bp_status_id)] if awaiting_payment(o) else [])
    out.append(_decide(AWAITING_PAYMENT_STATUS, "awaiting", "Awaiting payment", _status_targets(bp, {"open"}, target), rules,
                       context="web", cooccurrence=awaiting.get("awaiting")))

    # channel: the nopCommerce store is the web channel
    channel_pairs = _pairs(linked, lambda o: [("web", o.bp_channel_id)])
    store_words = " ".join(f"{s.name} {s.url or ''}" for s in nop.stores)
    channels = [target(c.id, c.name, None, CHANNEL) for c in bp.channels]
    channel = _decide(CHANNEL, "web", f"web store {store_words}".strip(), channels, rules, source_concepts=frozenset({"web"}),
                      cooccurrence=channel_pairs.get("web"))
    out.append(channel)
    chosen_channel = next((c for c in bp.channels if channel.choice and c.id == channel.choice.target), None)

    # warehouses: each nopCommerce warehouse by name; the default one for new orders
    warehouse_targets = [target(w.id, w.name, None, "warehouse") for w in bp.warehouses]
    for warehouse in sorted(nop.warehouses, key=lambda w: w.id):
        out.append(_decide(NOP_WAREHOUSE, warehouse.id, warehouse.name, warehouse_targets, rules))
    warehouse_pairs = _pairs(linked, lambda o: [("default", o.bp_warehouse_id)])
    first = min(nop.warehouses, key=lambda w: w.id) if nop.warehouses else None
    default_targets = [
        target(w.id, w.name, None, "warehouse",
                ("default warehouse of the web channel",) if chosen_channel and chosen_channel.default_warehouse_id == w.id else (),
                0.2 if chosen_channel and chosen_channel.default_warehouse_id == w.id else 0.0)
        for w in bp.warehouses
    ]
    out.append(_decide(WAREHOUSE, "default", first.name if first else "main", default_targets, rules,
                       source_concepts=None if first else frozenset({"main"}), cooccurrence=warehouse_pairs.get("default")))

    # currency and price list
    currencies = {p.currency_code for p in bp.price_lists if p.currency_code}
    if nop.currency_code in currencies or not bp.price_lists:
        out.append(_exact(CURRENCY, "primary", "store primary currency", nop.currency_code, nop.currency_code,
                          f"exact: the store's primary currency {nop.currency_code}"
                          + (" and a Brightpearl price list in it" if nop.currency_code in currencies else "")))
    else:
        out.append(Suggestion(CURRENCY, "primary", "store primary currency",
                              (Candidate(nop.currency_code, nop.currency_code, 0.6, ("no Brightpearl price list in this currency",)),),
                              REVIEW, f"Brightpearl has no price list in {nop.currency_code}"))
    price_pairs = _pairs(linked, lambda o: [("retail", o.bp_price_list_id)])
    selling = [p for p in bp.price_lists if p.price_list_type_code in (None, "SELL") and p.currency_code in (None, nop.currency_code)]
    price_targets = [
        target(p.id, p.name, p.code, "price_list",
                ("default price list of the web channel",) if chosen_channel and chosen_channel.default_price_list_id == p.id else (),
                0.3 if chosen_channel and chosen_channel.default_price_list_id == p.id else 0.0)
        for p in selling
    ]
    out.append(_decide(PRICE_LIST, "retail", "retail", price_targets, rules, cooccurrence=price_pairs.get("retail"),
                       empty_note=f"no selling price list in {nop.currency_code}"))

    # tax: numbers first, then names among codes of the same rate
    tax_pairs = _pairs(linked, lambda o: list(o.tax_pairs))

    def rate_of(tax: TaxCode) -> Decimal:
        return Decimal(tax.rate) if tax.rate is not None else Decimal(0)

    for rate in sorted(set(nop.tax_rates), reverse=True):
        same = [t for t in bp.tax_codes if rate_of(t) == rate]
        targets = [target(t.code, t.description, t.code, "tax_code", (f"rate {rate:g}" + (", the only code with this rate" if len(same) == 1 else ""),),
                           1.0 if len(same) == 1 else 0.0)
                   for t in same]
        label = f"{rate:g}%" + (" zero rated" if rate == 0 else "")
        out.append(_decide(TAX_RATE, rate, label, targets, rules, cooccurrence=tax_pairs.get(rate),
                           empty_note=f"no Brightpearl tax code with rate {rate:g}"))
    zero = [target(t.code, t.description, t.code, "tax_code", ("rate 0",)) for t in bp.tax_codes if rate_of(t) == 0]
    out.append(_decide(EXEMPT_TAX_CODE, "exempt", "exempt", zero, rules, empty_note="no Brightpearl tax code with rate 0"))

    # shipping methods and the default
    ship_pairs = _pairs(linked, lambda o: [(o.nop_shipping_method, o.bp_shipping_method_id)])
    ship_targets = [target(m.id, m.name, m.code, SHIPPING_METHOD) for m in bp.shipping_methods]
    shipping = [_decide(SHIPPING_METHOD, name, name, ship_targets, rules, cooccurrence=ship_pairs.get(name)) for name in nop.shipping_methods]
    out.extend(shipping)
    out.append(_default_shipping(shipping, ship_pairs))

    # payment methods (only those with a code: payments carry the code)
    pay_pairs = _pairs(linked, lambda o: [(o.nop_payment_method, o.bp_payment_method_code)])
    pay_targets = [target(m.code, m.name, m.code, PAYMENT_METHOD) for m in bp.payment_methods if m.code and m.is_active is not False]
    for method in nop.payment_methods:
        label = " ".join(x for x in (method.system_name.removeprefix("Payments."), method.friendly_name) if x)
        out.append(_decide(PAYMENT_METHOD, method.system_name, label, pay_targets, rules, cooccurrence=pay_pairs.get(method.system_name),
                           empty_note="the account lists no payment method codes"))

    # nominal codes
    nominal_pairs = _pairs(linked, lambda o: list(o.nominal_pairs))
    nominal_targets = [target(n.code, n.name, None, "nominal_code") for n in bp.nominal_codes]
    nominal = {}
    for row, label in NOMINAL_ROWS.items():
        nominal[row] = _decide(NOMINAL_CODE, row, label, nominal_targets, rules,
                               source_concepts=frozenset({NOMINAL_CONCEPT[row]}), cooccurrence=nominal_pairs.get(row))
    sales = nominal["sales"].choice
    for row in ("discount", "payment_fee"):
        s = nominal[row]
        if s.status == ABSTAIN and sales is not None:
            nominal[row] = Suggestion(NOMINAL_CODE, row, s.source_label,
                                      (Candidate(sales.target, sales.label, 1.0, ("fallback: no code named for it, so the sales code",)),),
                                      CONFIDENT)
    out.extend(nominal.values())

    # countries: exact ISO codes; only those the built-in table lacks or spells otherwise
    for country in sorted(nop.countries, key=lambda c: c.iso2):
        iso2, iso3 = country.iso2.upper(), country.iso3.upper()
        known = ISO2_TO_ISO3.get(iso2)
        out.append(_exact(COUNTRY, iso2, country.name or iso2, iso3, iso3,
                          "exact: nopCommerce's three-letter ISO code" + (" (built in)" if known == iso3 else " (not built in: written)")))
    return MappingSuggestions(tuple(out))


def _default_shipping(shipping: list[Suggestion], pairs: Mapping[Any, Counter]) -> Suggestion:
    """The shipping method for orders without a known method: the most used nopCommerce method's
    target (linked orders), else the confident target of the method that reads as standard."""
    used = sorted(((sum(c.values()), name) for name, c in pairs.items() if name is not None), reverse=True)
    if used:
        top = next((s for s in shipping if s.source == used[0][1] and s.choice), None)
        if top:
            return Suggestion(SHIPPING_DEFAULT, "default", "default", (Candidate(top.choice.target, top.choice.label, top.choice.score,
                              (f"the target of {top.source}, the most used method ({used[0][0]} linked orders)",)),), CONFIDENT)
    standard = [s for s in shipping if "standard" in concepts(s.source_label, SHIPPING_METHOD)[0] and s.choice]
    if len(standard) == 1:
        choice = standard[0].choice
        return Suggestion(SHIPPING_DEFAULT, "default", "default",
                          (Candidate(choice.target, choice.label, choice.score, (f"the target of {standard[0].source}, the standard method",)),),
                          CONFIDENT)
    return Suggestion(SHIPPING_DEFAULT, "default", "default", (), ABSTAIN, "no single standard method and no linked orders")


__all__ = [
    "ABSTAIN",
    "BrightpearlReference",
    "CONFIDENT",
    "Candidate",
    "LinkedOrder",
    "MappingSuggestions",
    "NominalCode",
    "NopCountry",
    "NopPaymentMethod",
    "NopReference",
    "NopStore",
    "NopWarehouse",
    "REVIEW",
    "SUGGESTION_COLUMNS",
    "Suggestion",
    "SuggestionRules",
    "suggest_mapping",
]
