"""Duplicate customers across nopCommerce (guest checkouts make separate records) and Brightpearl
contacts: a review queue `{left, right, score, band, reasons, suggested_survivor}` (left: the lower record id). Nothing is
merged; a person decides (CRMs suggest, people merge: merges are irreversible).

1. Normalised keys: the email key (`mapping.contacts.normalise_email`: case, Gmail dots, +tags),
   names folded (accents, punctuation, titles), the phone as E.164 (valid numbers only), the
   postcode upper-cased without spaces, the street with its common abbreviations.
2. Blocking (pairs are only compared within a block): same email key; same mailbox name (the
   part before the @, at least three characters: a mistyped domain); same phone; same country +
   postcode + sound key (metaphone) of the first or last name; same country + city + first
   initial + last-name sound key. A block larger than `max_block` is compared by sorted
   neighbourhood (sorted by name, each record against the next `window`), so the pairs compared
   grow about linearly with the number of customers.
3. Each pair's evidence: email key equal or a typo apart (`_emails_near`), phone equal, full-name similarity
   (rapidfuzz token sort: word order does not matter, so swapped names match), first-name
   Jaro-Winkler, postcode equal, street similarity.
4. Bands, first match wins:
   - household (not listed): same address, or a shared email or phone, with similar last names
     but first names that do not fit (Jaro-Winkler under `first_name_same`, no fitting initial),
     however alike the full names ("Søren" and "Seán van der Berg"): a family, not a duplicate;
   - STRONG: same email key and compatible names (similarity >= `name_compatible`, or an
     initial that fits, or a name missing on one side);
   - LIKELY: similar names (>= `name_similar`) and the same phone, the same address (postcode and
     street >= `street_similar`) or an email one edit away; or the same email and first name
     with another last name (a new surname);
   - POSSIBLE: the same email with different names (a shared mailbox?), similar names at one
     postcode, or the same phone with somewhat similar names.
5. The suggested survivor: the Brightpearl contact (the ERP record orders are booked against),
   else a registered customer over a guest, else the one with more orders, else the older record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from typing import TYPE_CHECKING

import jellyfish
import phonenumbers
from pydantic import BaseModel, ConfigDict
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, OSA

from bp_nop_dagster.mapping.contacts import normalise_email
from bp_nop_dagster.quality.common import words

if TYPE_CHECKING:
    import pandas as pd

STRONG, LIKELY, POSSIBLE = "strong", "likely", "possible"
NOPCOMMERCE, BRIGHTPEARL = "nopcommerce", "brightpearl"
TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "jr", "sr", "ii", "iii"})
STREET_WORDS = {"street": "st", "road": "rd", "avenue": "ave", "lane": "ln", "drive": "dr", "close": "cl", "court": "ct",
                "place": "pl", "square": "sq", "crescent": "cres", "terrace": "ter", "gardens": "gdns", "strasse": "str",
                "flat": "", "apartment": "", "apt": "", "unit": ""}
QUEUE_COLUMNS = ["left", "right", "score", "band", "reasons", "suggested_survivor", "survivor_reason"]


class DuplicateRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_block: int = 50
    window: int = 10
    name_compatible: int = 85
    name_similar: int = 90
    street_similar: int = 85
    first_name_same: float = 0.9  # Jaro-Winkler


@dataclass(frozen=True)
class CustomerRecord:
    """One customer record: a nopCommerce customer (guest or registered) or a Brightpearl contact."""

    record_id: str
    source: str  # "nopcommerce" | "brightpearl"
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    country_iso2: str | None = None
    postcode: str | None = None
    city: str | None = None
    street: str | None = None
    is_guest: bool = False
    orders: int = 0
    created: datetime | None = None


@dataclass(frozen=True)
class _Keys:
    email: str | None
    first: str
    last: str
    full: str
    phone: str | None
    postcode: str | None
    country: str
    city: str
    street: str
    first_sound: str | None
    last_sound: str | None


@dataclass(frozen=True)
class DuplicateReview:
    """`queue`: the review queue (`QUEUE_COLUMNS`, strongest first); `households`: pairs set
    aside as families; `pairs_compared`: how many pairs were scored."""

    queue: pd.DataFrame
    households: pd.DataFrame
    pairs_compared: int
    records: int


def _name_words(text: str | None) -> list[str]:
    return [w for w in words(text) if w not in TITLES]


def _sound(name_words: list[str]) -> str | None:
    joined = "".join(name_words)
    return jellyfish.metaphone(joined) or None if joined else None


def _phone(text: str | None, country: str) -> str | None:
    if not text or not text.strip():
        return None
    try:
        number = phonenumbers.parse(text, country if country in phonenumbers.SUPPORTED_REGIONS else None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if phonenumbers.is_valid_number(number) else None


def _keys(record: CustomerRecord) -> _Keys:
    first_words, last_words = _name_words(record.first_name), _name_words(record.last_name)
    country = (record.country_iso2 or "").strip().upper()
    street = " ".join(STREET_WORDS.get(w, w) for w in words(record.street) if STREET_WORDS.get(w, w))
    return _Keys(
        email=normalise_email(record.email),
        first=" ".join(first_words),
        last=" ".join(last_words),
        full=" ".join(first_words + last_words),
        phone=_phone(record.phone, country),
        postcode=(record.postcode or "").upper().replace(" ", "") or None,
        country=country,
        city=" ".join(words(record.city)),
        street=street,
        first_sound=_sound(first_words),
        last_sound=_sound(last_words),
    )


def _blocks(keys: Sequence[_Keys]) -> dict[tuple, list[int]]:
    blocks: dict[tuple, list[int]] = defaultdict(list)
    for index, k in enumerate(keys):
        if k.email:
            blocks[("email", k.email)].append(index)
            local = k.email.rpartition("@")[0]
            if len(local) >= 3:  # the same mailbox name at another (mistyped) domain
                blocks[("mailbox", local)].append(index)
        if k.phone:
            blocks[("phone", k.phone)].append(index)
        if k.postcode:
            for sound in {k.first_sound, k.last_sound} - {None}:
                blocks[("postcode", k.country, k.postcode, sound)].append(index)
        if k.city and k.last_sound and k.first:
            blocks[("city", k.country, k.city, k.first[0], k.last_sound)].append(index)
    return blocks


def candidate_pairs(keys: Sequence[_Keys], rules: DuplicateRules) -> set[tuple[int, int]]:
    """Every pair sharing a block; blocks over `max_block` by sorted neighbourhood."""
    pairs: set[tuple[int, int]] = set()
    for members in _blocks(keys).values():
        if len(members) < 2:
            continue
        if len(members) <= rules.max_block:
            pairs.update(combinations(sorted(members), 2))
            continue
        ordered = sorted(members, key=lambda i: (keys[i].full, i))
        for position, left in enumerate(ordered):
            for right in ordered[position + 1: position + 1 + rules.window]:
                pairs.add((min(left, right), max(left, right)))
    return pairs


def _emails_near(a: str, b: str) -> bool:
    """A typo apart: the same mailbox name at domains at most two edits apart (hotmail.com /
    hotmial.com), or the same domain and mailbox names one edit apart that is not a digit
    (john.smith6 and john.smith are two accounts)."""
    local_a, _, domain_a = a.rpartition("@")
    local_b, _, domain_b = b.rpartition("@")
    if local_a == local_b:
        return OSA.distance(domain_a, domain_b, score_cutoff=2) <= 2
    if domain_a != domain_b or OSA.distance(local_a, local_b, score_cutoff=1) > 1:
        return False
    return "".join(ch for ch in local_a if not ch.isdigit()) != "".join(ch for ch in local_b if not ch.isdigit())


def _initial_fits(a: str, b: str) -> bool:
    """"j" fits "john"; both empty fit nothing."""
    return bool(a and b) and (len(a) == 1 or len(b) == 1) and a[0] == b[0]


def _judge(a: _Keys, b: _Keys, rules: DuplicateRules) -> tuple[str | None, float, list[str]]:
    """(band or "household" or None, score 0-100, reasons) for one pair."""
    reasons: list[str] = []
    email_same = bool(a.email) and a.email == b.email
    email_near = bool(a.email and b.email) and not email_same and _emails_near(a.email, b.email)
    phone_same = bool(a.phone) and a.phone == b.phone
    postcode_same = bool(a.postcode) and a.postcode == b.postcode and a.country == b.country
    street = fuzz.token_sort_ratio(a.street, b.street) if a.street and b.street else 0.0
    address_same = postcode_same and street >= rules.street_similar
    name = fuzz.token_sort_ratio(a.full, b.full) if a.full and b.full else 0.0
    last = fuzz.ratio(a.last, b.last) if a.last and b.last else 0.0
    first_jw = JaroWinkler.similarity(a.first, b.first) if a.first and b.first else 0.0
    first_fits = first_jw >= rules.first_name_same or _initial_fits(a.first, b.first)
    name_missing = not a.full or not b.full
    compatible = name_missing or name >= rules.name_compatible or (first_fits and last >= rules.name_similar)

    if email_same:
        reasons.append(f"same email key {a.email}")
    if email_near:
        reasons.append("emails a typo apart")
    if phone_same:
        reasons.append(f"same phone {a.phone}")
    if not name_missing:
        reasons.append(f"names {name:.0f}% alike")
    if address_same:
        reasons.append(f"same address ({a.postcode}, street {street:.0f}% alike)")
    elif postcode_same:
        reasons.append(f"same postcode {a.postcode}")
    score = min(100.0, 45 * email_same + 20 * email_near + 25 * phone_same + 20 * address_same + 5 * postcode_same + 0.3 * name)

    shared = address_same or email_same or phone_same
    if shared and a.first and b.first and last >= rules.name_similar and not first_fits:
        return "household", score, reasons + ["same family name, different first names: a household"]
    if email_same and compatible:
        return STRONG, score, reasons
    if not name_missing and name >= rules.name_similar and (phone_same or address_same or email_near):
        return LIKELY, score, reasons
    if email_same and first_fits and not name_missing:
        return LIKELY, score, reasons + ["same email and first name, other last name (a new surname?)"]
    if email_same:
        return POSSIBLE, score, reasons + ["same email, different names (a shared mailbox?)"]
    if not name_missing and name >= rules.name_similar and postcode_same:
        return POSSIBLE, score, reasons
    if phone_same and name >= 70:
        return POSSIBLE, score, reasons
    return None, score, reasons


def _survivor(a: CustomerRecord, b: CustomerRecord) -> tuple[str, str]:
    if a.source != b.source:
        keep = a if a.source == BRIGHTPEARL else b
        return keep.record_id, "the Brightpearl contact (orders are booked against it)"
    if a.is_guest != b.is_guest:
        keep = b if a.is_guest else a
        return keep.record_id, "the registered customer, not the guest checkout"
    if a.orders != b.orders:
        keep = a if a.orders > b.orders else b
        return keep.record_id, "the record with more orders"
    if a.created and b.created and a.created != b.created:
        keep = a if a.created < b.created else b
        return keep.record_id, "the older record"
    keep = min(a, b, key=lambda r: r.record_id)
    return keep.record_id, "the lower id (nothing else tells them apart)"


def find_duplicates(records: Iterable[CustomerRecord], rules: DuplicateRules | None = None) -> DuplicateReview:
    """The review queue for `records` (see the module docstring)."""
    import pandas as pd
    rules = rules or DuplicateRules()
    records = list(records)
    keys = [_keys(r) for r in records]
    pairs = candidate_pairs(keys, rules)
    rank = {STRONG: 0, LIKELY: 1, POSSIBLE: 2}
    queue, households = [], []
    for left, right in sorted(pairs):
        band, score, reasons = _judge(keys[left], keys[right], rules)
        if band is None:
            continue
        a, b = sorted((records[left], records[right]), key=lambda r: r.record_id)
        if band == "household":
            households.append({"left": a.record_id, "right": b.record_id, "reasons": reasons})
            continue
        if a.is_guest != b.is_guest and a.source == b.source:
            reasons.append("a guest checkout and a registered customer")
        survivor, why = _survivor(a, b)
        queue.append({"left": a.record_id, "right": b.record_id, "score": round(score, 1), "band": band, "reasons": reasons,
                      "suggested_survivor": survivor, "survivor_reason": why, "_rank": rank[band]})
    frame = pd.DataFrame(queue, columns=[*QUEUE_COLUMNS, "_rank"])
    frame = frame.sort_values(["_rank", "score", "left", "right"], ascending=[True, False, True, True], kind="stable")
    return DuplicateReview(
        queue=frame.drop(columns="_rank").reset_index(drop=True),
        households=pd.DataFrame(households, columns=["left", "right", "reasons"]),
        pairs_compared=len(pairs),
        records=len(records),
    )


__all__ = ["BRIGHTPEARL", "CustomerRecord", "DuplicateReview", "DuplicateRules", "LIKELY", "NOPCOMMERCE", "POSSIBLE",
           "QUEUE_COLUMNS", "STRONG", "candidate_pairs", "find_duplicates"]
