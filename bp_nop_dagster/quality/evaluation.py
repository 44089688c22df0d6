"""Measuring the engines on labelled fixtures (`sandbox/quality_fixtures.py`): precision, recall
and accuracy counted against the planted labels. The test that asserts the quality targets and
`bench/data_quality.py` both use these, so the figures in the README are the ones tested."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from bp_nop_dagster.quality.anomalies import score_orders
from bp_nop_dagster.quality.contacts import ContactValidator
from bp_nop_dagster.quality.duplicates import LIKELY, POSSIBLE, STRONG, find_duplicates
from bp_nop_dagster.quality.mapping_suggestions import COUNTRY, SuggestionRules, suggest_mapping


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class ValidationQuality:
    valid_records: int
    errors_on_valid: int
    warnings_on_valid: int
    caught: dict[str, tuple[int, int]]  # planted category -> (caught, planted)
    typo_suggestions_right: tuple[int, int]

    def rate(self, category: str) -> float:
        return _share(*self.caught[category])


def measure_validation(fixture) -> ValidationQuality:
    """A planted bad value is caught when the validator reports an issue on its field; a planted
    typo's suggestion is right when it names the domain the typo was made from."""
    validator = ContactValidator()
    checked = {c.record.record_id: c for c in (validator.check(r) for r in fixture.records)}
    valid = [c for rid, c in checked.items() if rid not in fixture.planted]
    caught: Counter = Counter()
    planted: Counter = Counter()
    right = 0
    for record_id, (field, kind) in fixture.planted.items():
        category = {"zip_postal_code": "postcode", "phone": "phone"}.get(field) or (
            "email_typo" if kind == "typo" else "email_disposable" if kind == "disposable" else "email_syntax")
        planted[category] += 1
        issues = [i for i in checked[record_id].issues if i.field == field]
        if issues:
            caught[category] += 1
        if kind == "typo":
            suggestion = next((i.suggestion for i in issues if i.code == "EMAIL_DOMAIN_TYPO"), None)
            right += bool(suggestion) and suggestion.rsplit("@", 1)[1] == fixture.typo_of[record_id]
    return ValidationQuality(
        valid_records=len(valid),
        errors_on_valid=sum(1 for c in valid for i in c.issues if i.severity.value == "ERROR"),
        warnings_on_valid=sum(1 for c in valid for i in c.issues if i.severity.value == "WARN"),
        caught={k: (caught[k], planted[k]) for k in sorted(planted)},
        typo_suggestions_right=(right, planted["email_typo"]),
    )


@dataclass(frozen=True)
class AnomalyQuality:
    orders: int
    planted: int
    flagged: int
    true_flags: int
    normal_flagged: int
    recall_by_kind: dict[str, tuple[int, int]]

    @property
    def precision(self) -> float:
        return _share(self.true_flags, self.flagged)

    @property
    def recall(self) -> float:
        return _share(self.true_flags, self.planted)

    @property
    def normal_flagged_share(self) -> float:
        return _share(self.normal_flagged, self.orders - self.planted)


def measure_anomalies(fixture, rules=None) -> AnomalyQuality:
    result = score_orders(fixture.orders, fixture.lines, now=fixture.now, rules=rules)
    scores = result.scores
    flagged = set(result.flagged()["order_id"])
    planted = set(fixture.planted)
    by_kind: dict[str, tuple[int, int]] = {}
    for kind in sorted(set(fixture.planted.values())):
        ids = {i for i, k in fixture.planted.items() if k == kind}
        by_kind[kind] = (len(ids & flagged), len(ids))
    return AnomalyQuality(len(scores), len(planted), len(flagged), len(flagged & planted), len(flagged - planted), by_kind)


@dataclass(frozen=True)
class DuplicateQuality:
    records: int
    true_pairs: int
    pairs_compared: int
    band_sizes: dict[str, int]
    band_correct: dict[str, int]
    found_strong_likely: int
    missed_by_kind: dict[str, int]

    def precision(self, band: str) -> float:
        return _share(self.band_correct[band], self.band_sizes[band])

    @property
    def recall(self) -> float:
        return _share(self.found_strong_likely, self.true_pairs)


def measure_duplicates(fixture, rules=None) -> DuplicateQuality:
    review = find_duplicates(fixture.records, rules)
    truth = fixture.true_pairs()
    sizes, correct, found = {}, {}, set()
    for band in (STRONG, LIKELY, POSSIBLE):
        rows = review.queue[review.queue["band"] == band]
        pairs = {frozenset(p) for p in zip(rows["left"], rows["right"])}
        sizes[band], correct[band] = len(pairs), len(pairs & truth)
        if band != POSSIBLE:
            found |= pairs & truth
    def how(pair: frozenset) -> str:  # the planted change, else "brightpearl_contact", else two first records
        kinds = sorted((fixture.kind[r] for r in pair if r in fixture.kind), key=lambda k: k == "brightpearl_contact")
        return kinds[0] if kinds else "first records"

    missed = Counter(how(pair) for pair in truth - found)
    return DuplicateQuality(len(fixture.records), len(truth), review.pairs_compared, sizes, correct, len(found), dict(missed))


@dataclass(frozen=True)
class MappingQuality:
    profile: str
    setting: str
    values: int
    correct: int
    confident_wrong: int
    left_to_a_person: int
    wrong: tuple[tuple[Any, Any, Any], ...]  # (table, source, suggested)

    @property
    def top1(self) -> float:
        return _share(self.correct, self.values)

    @property
    def confident_wrong_share(self) -> float:
        return _share(self.confident_wrong, self.values)


def measure_mapping(profile, *, linked: bool, synonyms: bool = True) -> MappingQuality:
    """Top-1 accuracy over every value the gold mapping holds for this nopCommerce side, except the
    exact country joins (reported apart): a value counts as correct only when its confident
    suggestion is the gold one; a review or an abstention counts as not correct, never as wrong."""
    result = suggest_mapping(profile.nop, profile.bp, profile.linked if linked else (), SuggestionRules(synonyms=synonyms))
    values = correct = wrong_count = person = 0
    wrong = []
    for (table, source), gold in sorted(profile.gold.items(), key=str):
        if table == COUNTRY:
            continue
        values += 1
        found = result.get(table, source)
        choice = found.choice if found else None
        if choice is None:
            person += 1
        elif choice.target == gold:
            correct += 1
        else:
            wrong_count += 1
            wrong.append((table, source, choice.target))
    setting = ("names + history" if linked else "names") + ("" if synonyms else ", no synonyms")
    return MappingQuality(profile.name, setting, values, correct, wrong_count, person, tuple(wrong))


__all__ = [
    "AnomalyQuality",
    "DuplicateQuality",
    "MappingQuality",
    "ValidationQuality",
    "measure_anomalies",
    "measure_duplicates",
    "measure_mapping",
    "measure_validation",
]
