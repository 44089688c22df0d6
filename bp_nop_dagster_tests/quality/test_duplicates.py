"""The duplicate suggester on hand-made pairs; expected bands from the rules in the module
docstring."""

from __future__ import annotations

from datetime import datetime

from bp_nop_dagster.quality.duplicates import (
    BRIGHTPEARL,
    NOPCOMMERCE,
    CustomerRecord,
    DuplicateRules,
    _keys,
    candidate_pairs,
    find_duplicates,
)


def nop(record_id: str, **fields) -> CustomerRecord:
    base = dict(first_name="Ada", last_name="Lovelace", country_iso2="GB", postcode="LS1 4AB", city="Leeds", street="1 Mill Road")
    return CustomerRecord(record_id=record_id, source=NOPCOMMERCE, **{**base, **fields})


def band_of(*records: CustomerRecord) -> dict[frozenset, str]:
    queue = find_duplicates(records).queue
    return {frozenset((left, right)): band for left, right, band in zip(queue["left"], queue["right"], queue["band"])}


def test_the_same_email_key_with_compatible_names_is_strong():
    bands = band_of(
        nop("a", email="Ada.Lovelace@Gmail.com"),
        nop("b", email="adalovelace+shop@gmail.com", is_guest=True, street="9 Other Street", postcode="M1 1AA", city="Manchester"),
        nop("c", email="ADA.LOVELACE@googlemail.com", first_name="Lovelace", last_name="Ada"),  # swapped names
        nop("d", email="ada.lovelace@gmail.com", first_name="Adda"),  # a typo in the first name
    )
    assert set(bands.values()) == {"strong"} and len(bands) == 6


def test_other_evidence_with_similar_names_is_likely():
    bands = band_of(
        nop("a", email="ada@example.com", phone="07911 123456"),
        nop("b", email="lovelace@work.example", phone="+44 7911 123456", postcode="M1 1AA", street="2 Other Road"),  # same phone
        nop("c", email="a.l@another.example"),  # same address, no phone
        nop("d", email="ada@exmaple.com", street="99 Far Lane", postcode="SW1A 1AA", city="London"),  # a domain typo apart
    )
    assert bands[frozenset(("a", "b"))] == "likely"
    assert bands[frozenset(("a", "c"))] == "likely"
    assert bands[frozenset(("a", "d"))] == "likely"


def test_households_are_not_duplicates():
    review = find_duplicates([
        nop("mum", email="ada@example.com", phone="0113 496 0000"),
        nop("son", email="byron@example.com", first_name="Byron", phone="0113 496 0000"),
        nop("dad", email="family@example.com", first_name="William"),
        nop("kid", email="family@example.com", first_name="Annabella"),
    ])
    assert review.queue.empty
    assert len(review.households) == 6  # every pair of the family: same address, same family name, other first names
    # a long family name makes the full names alike (91 %); the first names still tell them apart
    brothers = find_duplicates([nop("s1", email="soren@example.com", first_name="Søren", last_name="van der Berg"),
                                nop("s2", email="sean@example.com", first_name="Seán", last_name="van der Berg")])
    assert brothers.queue.empty and len(brothers.households) == 1


def test_a_shared_mailbox_is_only_possible_and_common_names_elsewhere_are_nothing():
    bands = band_of(
        nop("x", email="info@acme.example", first_name="Ada", last_name="Lovelace"),
        nop("y", email="info@acme.example", first_name="Charles", last_name="Babbage"),
        nop("j1", email="john.smith@example.com", first_name="John", last_name="Smith", postcode="LS6 1AA", street="4 Oak Road"),
        nop("j2", email="jsmith77@example.org", first_name="John", last_name="Smith", postcode="LS9 8ZZ", street="12 Elm Road"),
    )
    assert bands == {frozenset(("x", "y")): "possible"}


def test_digits_make_two_accounts_not_a_typo():
    bands = band_of(nop("a", email="john.smith@example.com", postcode="LS6 1AA", street="4 Oak Road"),
                    nop("b", email="john.smith6@example.com", postcode="LS9 8ZZ", street="12 Elm Road"))
    assert bands == {}


def test_the_survivor_is_the_brightpearl_contact_then_the_registered_customer():
    queue = find_duplicates([
        nop("nop:1", email="ada@example.com", is_guest=True, orders=1),
        nop("nop:2", email="ADA@example.com", orders=1, created=datetime(2024, 1, 1)),
        CustomerRecord("bp:7", BRIGHTPEARL, email="ada@example.com", first_name="Ada", last_name="Lovelace"),
    ]).queue.set_index(["left", "right"])
    assert queue.loc[("nop:1", "nop:2"), "suggested_survivor"] == "nop:2"
    assert "guest checkout" in " ".join(queue.loc[("nop:1", "nop:2"), "reasons"])
    assert queue.loc[("bp:7", "nop:1"), "suggested_survivor"] == "bp:7"
    assert queue.loc[("bp:7", "nop:2"), "survivor_reason"].startswith("the Brightpearl contact")


def test_big_blocks_are_compared_by_sorted_neighbourhood():
    """Sixty records in one city block: all pairs would be 1,770; with max_block 50 and window 10,
    each record meets at most the next ten (60 x 10 - 55 = 545 pairs)."""
    records = [nop(f"r{n}", first_name="Ann", last_name=f"Lee{'e' * (n % 3)}", email=f"ann{n}@example.com",
                   postcode=None, street=None, phone=None) for n in range(60)]
    keys = [_keys(r) for r in records]
    pairs = candidate_pairs(keys, DuplicateRules(max_block=50, window=10))
    assert len(pairs) == 60 * 10 - sum(range(1, 11))
    assert len(candidate_pairs(keys, DuplicateRules(max_block=100))) == 60 * 59 // 2
