"""Labelled fixtures for the data-quality engines (`bp_nop_dagster/quality/`): realistic data
with planted problems whose labels come from how they were planted, never from an engine.

Deterministic: the same seed builds the same fixture. Independent of the seeded sandbox shop
(`generator.py` is not touched; other tests depend on it), though the mapping profiles read the
simulators' reference data.

- `contact_fixture`: valid contacts in eleven countries, built from each country's published
  formats (Royal Mail postcode format and inward letters, USPS ZIP prefixes per state, Canada
  Post FSA letters per province, Australia Post ranges per state, national mobile number plans:
  Ofcom 07, ARCEP 06/07, ...), with bad postcodes, phones and email typos planted among them.
- `order_fixture`: realistic orders over 180 days (repeat customers, households, shared office
  and carrier IPs, gifts abroad, businesses buying in bulk, a few privacy-minded throwaway
  addresses) with fraud rings, test orders, fat-finger quantities and prices below cost planted
  among them.
- `customer_fixture`: nopCommerce customers and Brightpearl contacts with planted duplicates
  (case, Gmail dots, +tags, name typos, swapped names, guest vs registered, new email same phone
  or address, email typos, and people who moved and changed email: only the name is left) and
  hard negatives (families at one address, common names, shared office mailboxes).
- `sandbox_profile` / `renamed_profile`: both systems' reference data for the mapping suggester,
  each with its gold mapping: the sandbox account's (gold = `mapping/default_mapping.yaml`) and a
  "differently named" account (the same things as a real UK merchant's account would name them).
"""

from __future__ import annotations

import random
import string
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from bp_nop_dagster.brightpearl.models import Channel, OrderStatus, PaymentMethod, PriceList, ShippingMethod, TaxCode, Warehouse
from bp_nop_dagster.mapping.config import load_mapping_config
from bp_nop_dagster.mapping.contacts import ISO2_TO_ISO3, normalise_email
from bp_nop_dagster.quality.contacts import ContactRecord
from bp_nop_dagster.quality.emails import POPULAR_DOMAINS as REAL_PROVIDERS
from bp_nop_dagster.quality.duplicates import BRIGHTPEARL, NOPCOMMERCE, CustomerRecord
from bp_nop_dagster.quality.mapping_suggestions import (
    AWAITING_PAYMENT_STATUS,
    CHANNEL,
    COUNTRY,
    CURRENCY,
    EXEMPT_TAX_CODE,
    NOMINAL_CODE,
    NOP_WAREHOUSE,
    ORDER_STATUS,
    PAYMENT_METHOD,
    PRICE_LIST,
    SHIPPING_DEFAULT,
    SHIPPING_METHOD,
    TAX_RATE,
    WAREHOUSE,
    BrightpearlReference,
    LinkedOrder,
    NominalCode,
    NopCountry,
    NopPaymentMethod,
    NopReference,
    NopStore,
    NopWarehouse,
)
from bp_nop_dagster.quality.mapping_yaml import config_values

FIRST_NAMES = [
    "Oliver", "Amelia", "Jack", "Isla", "Harry", "Ava", "George", "Mia", "Noah", "Ivy", "Charlie", "Freya", "Jacob", "Lily",
    "Alfie", "Florence", "Freddie", "Emily", "Oscar", "Ella", "Leo", "Grace", "Thomas", "Sophie", "Henry", "Evie", "William",
    "Poppy", "Joshua", "Charlotte", "James", "Isabella", "Archie", "Daisy", "Arthur", "Alice", "Theo", "Rosie", "Samuel",
    "Matilda", "Daniel", "Ruby", "Benjamin", "Harper", "Edward", "Phoebe", "Max", "Sienna", "Lucas", "Willow", "Mohammed",
    "Aisha", "Priya", "Arjun", "Zara", "Ibrahim", "Fatima", "Yusuf", "Maryam", "Wei", "Mei", "Hiroshi", "Yuki", "Łukasz",
    "Zofia", "Søren", "Ingrid", "Björn", "Astrid", "Jürgen", "Anneliese", "François", "Élodie", "Chloé", "Théo", "José",
    "María", "Nuño", "Lucía", "Siobhán", "Seán", "Aoife", "Niamh", "Ciarán", "Renée", "Zoë", "Anaïs", "Ümit", "Emre",
    "Olga", "Dmitri", "Katarzyna", "Piotr", "Giulia", "Marco", "Lars", "Sanne", "Pieter", "Eva", "Tomás", "Inés",
]
LAST_NAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright", "Thompson",
    "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Patel", "Khan", "Lewis", "James",
    "Phillips", "Mason", "Mitchell", "Rose", "Davis", "Rodriguez", "Cox", "Alexander", "Morgan", "Moore", "Anderson",
    "Hughes", "Edwards", "Turner", "Hill", "Cooper", "Ward", "Morris", "King", "Harris", "Baker", "Carter", "Shaw",
    "Lloyd", "Bennett", "Griffiths", "Kelly", "Marshall", "Simpson", "Ellis", "Chapman", "Powell", "Webb", "Rogers",
    "Gray", "Mills", "O'Brien", "Murphy", "Byrne", "Ní Bhriain", "MacDonald", "Campbell", "Stewart", "Fraser", "Reid",
    "García", "Martínez", "López", "Peña", "Müller", "Schmidt", "Schneider", "Groß", "Fischer", "Weber", "Dubois",
    "Lefèvre", "Moreau", "Laurent", "Nowak", "Kowalczyk", "Wiśniewska", "Jørgensen", "Svensson", "Lindqvist", "Jónsson",
    "Öztürk", "Yılmaz", "Nguyễn", "Tran", "Chen", "Wang", "Li", "Zhang", "Tanaka", "Sato", "Ahmed", "Hussain", "Ali",
    "Singh", "Sharma", "Gupta", "van der Berg", "de Vries", "Jansen", "Bakker", "Rossi", "Russo", "Bianchi", "d'Arcy",
    "Taylor-Jones", "Brontë", "Okafor", "Adeyemi", "Mensah", "Dlamini", "Costa", "Ferreira", "Silva", "Novak", "Horvat",
    "Kovács", "Nagy", "Popescu", "Ivanova", "Petrov", "Andersen", "Hansen", "Nielsen", "Larsen", "Berg", "Haugen",
]
STREETS = ["High Street", "Station Road", "Church Lane", "Mill Road", "Queen's Avenue", "Victoria Road", "Park Lane",
           "The Green", "Manor Close", "Kings Road", "Orchard Way", "School Lane", "Springfield Road", "Grange Road",
           "Hauptstraße", "Rue de la Paix", "Calle Mayor", "Kerkstraat", "Storgatan", "Main Street"]
PERSONAL_DOMAINS = ["gmail.com", "gmail.com", "gmail.com", "hotmail.com", "hotmail.co.uk", "outlook.com", "yahoo.co.uk",
                    "yahoo.com", "icloud.com", "btinternet.com", "sky.com", "live.co.uk", "googlemail.com", "aol.com"]
TRADES = ["joinery", "bakery", "design", "consulting", "plumbing", "florist", "studio", "accounts", "legal", "motors"]
DISPOSABLE = ["mailinator.com", "guerrillamail.com", "10minutemail.com", "yopmail.com", "trashmail.com", "sharklasers.com"]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss").replace("ł", "l").replace("Ł", "L"))
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum()).lower() or "x"


# =============================================================================================
# contacts


@dataclass(frozen=True)
class CountryFormat:
    """How valid postcodes and mobile numbers of one country are written (published formats)."""

    iso2: str
    postcode: Any  # rng -> (postcode, state or None)
    phone: Any  # rng -> national or international number


# Royal Mail postcode areas and their post towns.
_GB_TOWNS = {
    "LS": "Leeds", "M": "Manchester", "B": "Birmingham", "BS": "Bristol", "NR": "Norwich", "OX": "Oxford", "SO": "Southampton",
    "BH": "Bournemouth", "DN": "Doncaster", "RH": "Redhill", "G": "Glasgow", "S": "Sheffield", "L": "Liverpool",
    "NG": "Nottingham", "LE": "Leicester", "CF": "Cardiff", "EH": "Edinburgh", "AB": "Aberdeen", "YO": "York",
    "CB": "Cambridge", "EX": "Exeter", "PL": "Plymouth", "BN": "Brighton", "CV": "Coventry", "HU": "Hull",
    "NE": "Newcastle upon Tyne", "TS": "Middlesbrough", "WV": "Wolverhampton", "ST": "Stoke-on-Trent", "DE": "Derby",
    "PE": "Peterborough", "IP": "Ipswich", "CO": "Colchester", "CT": "Canterbury", "ME": "Rochester", "TN": "Tonbridge",
    "GU": "Guildford", "RG": "Reading", "SL": "Slough", "MK": "Milton Keynes", "LU": "Luton", "AL": "St Albans",
    "CR": "Croydon", "BR": "Bromley", "SS": "Southend-on-Sea", "CM": "Chelmsford", "SN": "Swindon", "BA": "Bath",
    "GL": "Gloucester", "WR": "Worcester", "SY": "Shrewsbury", "CH": "Chester", "WA": "Warrington", "BL": "Bolton",
    "OL": "Oldham", "SK": "Stockport", "HD": "Huddersfield", "BD": "Bradford", "WF": "Wakefield", "HG": "Harrogate",
    "LA": "Lancaster", "PR": "Preston", "FY": "Blackpool", "BB": "Blackburn", "CA": "Carlisle", "DH": "Durham",
    "DL": "Darlington", "PA": "Paisley", "FK": "Falkirk", "KY": "Kirkcaldy", "DD": "Dundee", "IV": "Inverness",
    "SA": "Swansea", "NP": "Newport", "BT": "Belfast",
}
_GB_AREAS = sorted(_GB_TOWNS)
_GB_INWARD = "ABDEFGHJLNPQRSTUWXYZ"  # Royal Mail: the inward code never uses C, I, K, M, O, V
# USPS: the first three ZIP digits by state (WA 980-994: 995-999 is Alaska; MA 010-027: 028-029
# is Rhode Island; FL 320-339: 340 is the armed forces' AA).
_US_ZIPS = {"CA": (900, 961), "NY": (100, 149), "TX": (750, 799), "WA": (980, 994), "IL": (600, 629), "MA": (10, 27),
            "FL": (320, 339)}
_US_AREA_CODES = ["212", "415", "512", "617", "503", "312", "206", "303", "713", "305"]
_CA_FSA = {"ON": "KLMNP", "QC": "GHJ", "BC": "V", "AB": "T"}  # Canada Post: first letter by province
_CA_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"  # never D, F, I, O, Q, U
_AU_RANGES = {"NSW": (2000, 2599), "VIC": (3000, 3999), "QLD": (4000, 4999), "WA": (6000, 6797)}


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _gb_postcode(rng: random.Random) -> tuple[str, None]:
    return f"{rng.choice(_GB_AREAS)}{rng.randrange(1, 10)} {rng.randrange(10)}{rng.choice(_GB_INWARD)}{rng.choice(_GB_INWARD)}", None


def _gb_town(postcode: str) -> str:
    area = postcode[:2] if postcode[:2] in _GB_TOWNS else postcode[:1]
    return _GB_TOWNS[area]


def _us_postcode(rng: random.Random) -> tuple[str, str]:
    state = rng.choice(sorted(_US_ZIPS))
    low, high = _US_ZIPS[state]
    return f"{rng.randrange(low, high + 1):03d}{_digits(rng, 2)}", state


def _ca_postcode(rng: random.Random) -> tuple[str, str]:
    province = rng.choice(sorted(_CA_FSA))
    return f"{rng.choice(_CA_FSA[province])}{rng.randrange(10)}{rng.choice(_CA_LETTERS)} {rng.randrange(10)}{rng.choice(_CA_LETTERS)}{rng.randrange(10)}", province


def _au_postcode(rng: random.Random) -> tuple[str, str]:
    state = rng.choice(sorted(_AU_RANGES))
    low, high = _AU_RANGES[state]
    return str(rng.randrange(low, high + 1)), state


def _ie_postcode(rng: random.Random) -> tuple[str, None]:
    """An Eircode: a routing key and four characters from Eircode's restricted set."""
    letters = "ACDEFHKNPRTVWXY"
    return f"{rng.choice(['D02', 'D04', 'D08', 'T12', 'H91', 'V94'])} {rng.choice(letters)}{_digits(rng, 2)}{rng.choice(letters)}", None


_NL_LETTERS = "ABCDEFGHJKLMNPRTUVWXZ"  # PostNL: the letter pairs SA, SD and SS are not used


def _ip(rng: random.Random) -> str:
    return f"{rng.randrange(2, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _gb_phone(rng: random.Random) -> str:
    number = "07" + rng.choice(["1", "2", "3"]) + _digits(rng, 8)
    return rng.choice([f"{number[:5]} {number[5:]}", f"+44 {number[1:5]} {number[5:]}", f"+44{number[1:]}", number])


COUNTRY_FORMATS: dict[str, CountryFormat] = {
    "GB": CountryFormat("GB", _gb_postcode, _gb_phone),
    "US": CountryFormat("US", _us_postcode,
                        lambda r: f"({r.choice(_US_AREA_CODES)}) {r.randrange(2, 10)}{_digits(r, 2)}-{_digits(r, 4)}"),
    "DE": CountryFormat("DE", lambda r: (f"{r.randrange(1, 10)}{_digits(r, 4)}", None),
                        lambda r: f"+49 {r.choice(['151', '152', '160', '170', '171', '175', '176'])} {_digits(r, 8)}"),
    "FR": CountryFormat("FR", lambda r: (f"{r.randrange(1, 96):02d}{_digits(r, 3)}", None),
                        lambda r: r.choice(["06" + r.choice("01245678"), "07" + r.choice("5678")]) + _digits(r, 7)),
    "IE": CountryFormat("IE", _ie_postcode, lambda r: f"08{r.choice('35679')} {_digits(r, 3)} {_digits(r, 4)}"),
    "ES": CountryFormat("ES", lambda r: (f"{r.randrange(1, 53):02d}{_digits(r, 3)}", None),
                        lambda r: f"6{_digits(r, 2)} {_digits(r, 3)} {_digits(r, 3)}"),
    "NL": CountryFormat("NL", lambda r: (f"{r.randrange(1000, 10000)} {r.choice(_NL_LETTERS)}{r.choice(_NL_LETTERS)}", None),
                        lambda r: f"06{r.choice('12345')}{_digits(r, 7)}"),
    "SE": CountryFormat("SE", lambda r: (f"{r.randrange(100, 985)} {_digits(r, 2)}", None),
                        lambda r: f"07{r.choice('02369')}-{_digits(r, 3)} {_digits(r, 2)} {_digits(r, 2)}"),
    "CA": CountryFormat("CA", _ca_postcode,
                        lambda r: f"({r.choice(['416', '604', '514', '403', '613'])}) {r.randrange(2, 10)}{_digits(r, 2)}-{_digits(r, 4)}"),
    "AU": CountryFormat("AU", _au_postcode, lambda r: f"04{r.choice('0123')}{_digits(r, 1)} {_digits(r, 3)} {_digits(r, 3)}"),
    "IT": CountryFormat("IT", lambda r: (f"{r.randrange(0, 10)}{_digits(r, 4)}", None), lambda r: f"+39 3{r.choice('2345')}{_digits(r, 1)} {_digits(r, 7)}"),
}
CONTACT_COUNTRY_WEIGHTS = {"GB": 50, "US": 10, "DE": 7, "FR": 6, "IE": 5, "ES": 4, "NL": 4, "SE": 3, "CA": 4, "AU": 4, "IT": 3}

# Bad values, each a realistic mistake (kind, country, rng -> (value, state)).
_BAD_POSTCODES: list[tuple[str, str, Any]] = [
    ("incomplete", "GB", lambda r: (f"{r.choice(_GB_AREAS)}{r.randrange(1, 10)}", None)),
    ("digits_only", "GB", lambda r: (_digits(r, 5), None)),
    ("short_inward", "GB", lambda r: (_gb_postcode(r)[0][:-1], None)),
    ("letter_o_for_zero", "GB", lambda r: (f"{r.choice(_GB_AREAS)}{r.randrange(1, 10)} O{r.choice(_GB_INWARD)}{r.choice(_GB_INWARD)}", None)),
    ("inward_bad_letter", "GB", lambda r: (f"{r.choice(_GB_AREAS)}{r.randrange(1, 10)} {r.randrange(10)}{r.choice('CIKMOV')}{r.choice(_GB_INWARD)}", None)),
    ("four_digits", "US", lambda r: (_digits(r, 4), _us_postcode(r)[1])),
    ("six_digits", "US", lambda r: (_digits(r, 6), _us_postcode(r)[1])),
    ("letters", "US", lambda r: ("".join(r.choice(string.ascii_uppercase) for _ in range(5)), _us_postcode(r)[1])),
    ("wrong_state", "US", lambda r: ("9" + _digits(r, 4) if r.random() < 0.5 else "1" + r.choice("01234") + _digits(r, 3), "TX")),
    ("four_digits", "DE", lambda r: (_digits(r, 4), None)),
    ("country_prefix", "DE", lambda r: (f"D-{r.randrange(1, 10)}{_digits(r, 4)}", None)),
    ("four_digits", "FR", lambda r: (_digits(r, 4), None)),
    ("no_letters", "NL", lambda r: (str(r.randrange(1000, 10000)), None)),
    ("leading_zero", "NL", lambda r: (f"0{_digits(r, 3)} AB", None)),
    ("excluded_letters", "NL", lambda r: (f"{r.randrange(1000, 10000)} S{r.choice('ADS')}", None)),
    ("six_digits", "SE", lambda r: (f"{_digits(r, 3)} {_digits(r, 3)}", None)),
    ("short", "CA", lambda r: (_ca_postcode(r)[0][:-1], _ca_postcode(r)[1])),
    ("wrong_province", "CA", lambda r: (f"V{r.randrange(10)}{r.choice(_CA_LETTERS)} {r.randrange(10)}{r.choice(_CA_LETTERS)}{r.randrange(10)}", "ON")),
    ("three_digits", "AU", lambda r: (_digits(r, 3), "NSW")),
    ("wrong_state", "AU", lambda r: (str(r.randrange(3000, 4000)), "NSW")),
    ("routing_key_only", "IE", lambda r: (r.choice(["D02", "T12", "H91"]), None)),
]
_BAD_PHONES: list[tuple[str, Any]] = [
    ("too_short", lambda r, c: COUNTRY_FORMATS[c].phone(r)[:-4]),
    ("too_long", lambda r, c: COUNTRY_FORMATS[c].phone(r) + _digits(r, 3)),
    ("not_a_number", lambda r, c: r.choice(["n/a", "none", "call me", "-", "tbc", "no phone"])),
    ("all_zeros", lambda r, c: "0" * r.choice([6, 10, 11])),
    ("unallocated", lambda r, c: "04" + _digits(r, 9) if c == "GB" else ("(123) 456-7890" if c in ("US", "CA") else "00" + _digits(r, 4))),
]


def _typo(domain: str, rng: random.Random) -> str:
    """One realistic edit of `domain`: adjacent letters swapped, one dropped, one doubled, or a
    TLD slip (.con, .cm, .co for .com)."""
    sld, _, tld = domain.partition(".")
    kind = rng.choice(["swap", "drop", "double", "tld"])
    if kind == "tld" and tld == "com":
        return f"{sld}.{rng.choice(['con', 'cm', 'co', 'comm', 'cpm'])}"
    if kind == "tld" and tld == "co.uk":
        return f"{sld}.{rng.choice(['co.ik', 'co.uj', 'couk', 'co.uk.'])}".rstrip(".") if rng.random() < 0.5 else f"{sld}.co.k"
    i = rng.randrange(len(sld) - 1) if len(sld) > 1 else 0
    if kind == "swap" and len(sld) > 2:
        sld = sld[:i] + sld[i + 1] + sld[i] + sld[i + 2:]
    elif kind == "drop" and len(sld) > 3:
        sld = sld[:i] + sld[i + 1:]
    else:
        sld = sld[:i] + sld[i] + sld[i:]
    return f"{sld}.{tld}"


_BAD_EMAILS: list[tuple[str, Any]] = [
    ("syntax_comma", lambda r, local, domain: f"{local}@{domain.replace('.', ',', 1)}"),
    ("syntax_space", lambda r, local, domain: f"{local[: len(local) // 2]} {local[len(local) // 2:]}@{domain}"),
    ("syntax_double_at", lambda r, local, domain: f"{local}@@{domain}"),
    ("syntax_no_at", lambda r, local, domain: f"{local}{domain}"),
]
TYPO_DOMAINS = ["gmail.com", "hotmail.com", "hotmail.co.uk", "outlook.com", "yahoo.com", "yahoo.co.uk", "icloud.com",
                "btinternet.com", "googlemail.com", "live.co.uk"]


@dataclass(frozen=True)
class ContactFixture:
    """`records`; `planted[record_id] = (field, kind)` for each bad record (one problem each);
    `typo_of[record_id]` = the domain a planted typo came from."""

    records: list[ContactRecord]
    planted: dict[str, tuple[str, str]]
    typo_of: dict[str, str]


def _valid_contact(rng: random.Random, record_id: str, country: str | None = None) -> ContactRecord:
    country = country or rng.choices(list(CONTACT_COUNTRY_WEIGHTS), weights=list(CONTACT_COUNTRY_WEIGHTS.values()))[0]
    fmt = COUNTRY_FORMATS[country]
    postcode, state = fmt.postcode(rng)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = rng.choice([f"{_ascii(first)}.{_ascii(last)}", f"{_ascii(first)[0]}{_ascii(last)}", f"{_ascii(first)}{rng.randrange(1, 99)}"])
    domain = rng.choice(PERSONAL_DOMAINS) if rng.random() < 0.8 else f"{_ascii(last)}-{rng.choice(TRADES)}.co.uk"
    email = rng.choice([local, local.title(), local.upper()]) + "@" + rng.choice([domain, domain, domain.upper()])
    phone = fmt.phone(rng) if rng.random() < 0.85 else None
    return ContactRecord(record_id, country, state, postcode, None, phone, email)


def contact_fixture(seed: int = 16, *, valid: int = 3000, bad_postcodes: int = 200, bad_phones: int = 200,
                    typos: int = 200, bad_syntax: int = 60, disposable: int = 40) -> ContactFixture:
    """`valid` clean contacts, then the planted bad ones (one problem per record), shuffled."""
    rng = random.Random(seed)
    records = [_valid_contact(rng, f"valid-{n}") for n in range(valid)]
    planted: dict[str, tuple[str, str]] = {}
    typo_of: dict[str, str] = {}
    for n in range(bad_postcodes):
        kind, country, make = _BAD_POSTCODES[n % len(_BAD_POSTCODES)]
        base = _valid_contact(rng, f"bad-postcode-{n}", country)
        postcode, state = make(rng)
        records.append(ContactRecord(base.record_id, country, state, postcode, None, base.phone, base.email))
        planted[base.record_id] = ("zip_postal_code", kind)
    for n in range(bad_phones):
        kind, make = _BAD_PHONES[n % len(_BAD_PHONES)]
        base = _valid_contact(rng, f"bad-phone-{n}")
        records.append(ContactRecord(base.record_id, base.country_iso2, base.state, base.zip_postal_code, None,
                                     make(rng, base.country_iso2), base.email))
        planted[base.record_id] = ("phone", kind)
    for n in range(typos):
        base = _valid_contact(rng, f"typo-{n}")
        domain = TYPO_DOMAINS[n % len(TYPO_DOMAINS)]
        typed = _typo(domain, rng)
        while typed == domain or typed in REAL_PROVIDERS:  # "gmail.com" minus its "g" is mail.com, a real provider
            typed = _typo(domain, rng)
        local = base.email.split("@", 1)[0]
        records.append(ContactRecord(base.record_id, base.country_iso2, base.state, base.zip_postal_code, None, base.phone, f"{local}@{typed}"))
        planted[base.record_id] = ("email", "typo")
        typo_of[base.record_id] = domain
    for n in range(bad_syntax):
        kind, make = _BAD_EMAILS[n % len(_BAD_EMAILS)]
        base = _valid_contact(rng, f"syntax-{n}")
        local, domain = base.email.split("@", 1)
        records.append(ContactRecord(base.record_id, base.country_iso2, base.state, base.zip_postal_code, None, base.phone,
                                     make(rng, local, domain.lower())))
        planted[base.record_id] = ("email", kind)
    for n in range(disposable):
        base = _valid_contact(rng, f"disposable-{n}")
        local = base.email.split("@", 1)[0]
        records.append(ContactRecord(base.record_id, base.country_iso2, base.state, base.zip_postal_code, None, base.phone,
                                     f"{local}@{DISPOSABLE[n % len(DISPOSABLE)]}"))
        planted[base.record_id] = ("email", "disposable")
    rng.shuffle(records)
    return ContactFixture(records, planted, typo_of)


# =============================================================================================
# orders

FRAUD_RING, TEST_ORDER, FAT_FINGER, BELOW_COST = "fraud_ring", "test_order", "fat_finger", "below_cost"
SHIPPING = [("Ground", 4.95, 70), ("Next Day Air", 9.95, 20), ("In-Store Pickup", 0.0, 10)]
#: Planted anomalies per 1,000 orders: about 0.9 %, within the 0.5-1 % of orders that card fraud,
#: test orders and keying errors make up in small shops.
PER_1000 = {FRAUD_RING: 4.0, TEST_ORDER: 1.0, FAT_FINGER: 3.0, BELOW_COST: 1.0}


@dataclass(frozen=True)
class OrderFixture:
    """`orders` and `lines` in `score_orders`' columns; `planted[order_id]` = the kind of each
    planted anomaly; `now` = the end of the history (the frozen clock)."""

    orders: pd.DataFrame
    lines: pd.DataFrame
    planted: dict[int, str]
    now: datetime


def order_fixture(seed: int = 16, *, orders: int = 20_000, now: datetime | None = None, days: int = 180) -> OrderFixture:
    """About `orders` normal orders over `days` days, with anomalies planted (`PER_1000`)."""
    rng = random.Random(seed)
    now = now or datetime(2026, 6, 1, tzinfo=UTC)
    start = now - timedelta(days=days)
    # catalogue: popularity falls with rank; prices log-uniform, cost 40-70 % of price
    skus = []
    for n in range(max(60, orders // 60)):
        price = round(2 ** rng.uniform(2.3, 7.2), 2)
        skus.append((f"SKU-{n:05d}", price, round(price * rng.uniform(0.4, 0.7), 2)))
    weights = [1 / (rank + 5) for rank in range(len(skus))]
    # customers: households share an address, some offices and mobile carriers share an IP
    shared_ips = [f"100.64.{rng.randrange(256)}.{rng.randrange(256)}" for _ in range(max(5, orders // 2000))]
    customers = []
    address_pool: list[tuple[str, str, str, str]] = []
    order_counts, count_weights = [1, 2, 3, 5, 8], [50, 20, 12, 12, 6]
    mean_orders = sum(c * w for c, w in zip(order_counts, count_weights)) / sum(count_weights)
    for n in range(max(50, round(orders / mean_orders))):
        country = rng.choices(["GB", "DE", "FR", "IE", "NL", "US"], weights=[75, 6, 5, 5, 4, 5])[0]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if address_pool and rng.random() < 0.08:  # a household member: same address and family name
            country, postcode, street, last = rng.choice(address_pool)
        else:
            postcode, street = COUNTRY_FORMATS[country].postcode(rng)[0], f"{rng.randrange(1, 300)} {rng.choice(STREETS)}"
            address_pool.append((country, postcode, street, last))
        business = rng.random() < 0.04  # an office or small business: buys in bulk, now and then, and comes back
        domain = f"{_ascii(last)}-{rng.choice(TRADES)}.co.uk" if business else (
            rng.choice(DISPOSABLE) if rng.random() < 0.005 else rng.choice(PERSONAL_DOMAINS))
        customers.append({
            "business": business,
            # businesses name their company at checkout; now and then a consumer fills the field too
            "company": f"{last} {rng.choice(TRADES).title()} Ltd" if business or rng.random() < 0.01 else None,
            "email": f"{_ascii(first)}.{_ascii(last)}{n}@{domain}", "customer_name": f"{first} {last}",
            "ip": rng.choice(shared_ips) if rng.random() < 0.05 else _ip(rng),
            "cards": [_digits(rng, 4) for _ in range(rng.choice([1, 1, 1, 2]))],
            "country": country, "postcode": postcode, "street": street,
            "orders": rng.choices(order_counts, weights=count_weights)[0] + (2 if business else 0),
            "channel": "1" if country in ("GB", "IE", "US") else rng.choice(["1", "2"]),
        })
    rows, lines, planted = [], [], {}
    next_id = 1

    def add_order(customer: dict, when: datetime, *, items: list[tuple[str, float, float, int]], **override: Any) -> int:
        nonlocal next_id
        order_id = next_id
        next_id += 1
        method, _fee, _ = rng.choices(SHIPPING, weights=[w for *_, w in SHIPPING])[0]
        billing = customer["country"] if rng.random() < 0.97 else rng.choice(["GB", "DE", "FR", "US", "ES"])
        row = {
            "order_id": order_id, "created": when, "channel": customer["channel"], "email": customer["email"],
            "customer_name": customer["customer_name"], "company": customer.get("company"), "ip": customer["ip"],
            "card": rng.choice(customer["cards"]),
            "billing_country": billing, "shipping_country": customer["country"], "shipping_postcode": customer["postcode"],
            "shipping_street": customer["street"], "shipping_method": method,
        }
        row.update(override)  # the total is the lines' sum plus the shipping fee, set at the end
        rows.append(row)
        lines.extend({"order_id": order_id, "sku": sku, "quantity": qty, "unit_price": price, "unit_cost": cost}
                     for sku, price, cost, qty in items)
        return order_id

    def basket(business: bool) -> list[tuple[str, float, float, int]]:
        items = []
        for sku, price, cost in {s[0]: s for s in rng.choices(skus, weights=weights, k=rng.choice([1, 1, 2, 2, 3, 4]))}.values():
            qty = rng.choices([1, 2, 3, 4, 5, 6], weights=[70, 18, 7, 3, 1, 1])[0]
            if business and rng.random() < 0.2:
                qty = rng.choice([6, 10, 12, 20, 24])  # a legit bulk line: an office buying for its staff
            discounted = round(price * (1 - rng.choice([0, 0, 0, 0.1, 0.2])), 2)
            items.append((sku, discounted, cost, qty))
        return items

    span = (now - start).total_seconds()
    for customer in customers:
        for at in sorted(rng.uniform(0, span) for _ in range(customer["orders"])):
            add_order(customer, start + timedelta(seconds=at), items=basket(customer["business"]))
    normal_ids = [r["order_id"] for r in rows]

    # fraud rings: several orders in a day or two to one drop address, new names, emails and cards,
    # one or two IPs, expensive baskets, mostly express, cards often from abroad
    expensive = sorted(skus, key=lambda s: -s[1])[: max(10, len(skus) // 10)]
    for ring in range(max(3, round(orders * PER_1000[FRAUD_RING] / 1000 / 5.5))):
        drop = {"country": "GB", "postcode": _gb_postcode(rng)[0], "street": f"Unit {rng.randrange(1, 40)}, {rng.choice(STREETS)}"}
        ips = [_ip(rng) for _ in range(rng.choice([1, 2]))]
        burst = start + timedelta(seconds=rng.uniform(0, span - 2 * 86_400))
        for member in range(rng.randrange(4, 8)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{_ascii(first)}{_ascii(last)}{rng.randrange(100, 999)}@{rng.choice(DISPOSABLE) if rng.random() < 0.5 else 'gmail.com'}"
            fake = {"email": email, "customer_name": f"{first} {last}", "ip": rng.choice(ips), "cards": [_digits(rng, 4)],
                    "channel": "1", **drop}
            items = [(sku, price, cost, rng.choice([1, 1, 2])) for sku, price, cost in rng.sample(expensive, rng.randrange(2, 5))]
            order_id = add_order(fake, burst + timedelta(seconds=rng.uniform(0, 36 * 3600)), items=items,
                                 billing_country=rng.choice(["US", "NG", "RO", "GB", "FR"]),
                                 shipping_method="Next Day Air" if rng.random() < 0.7 else "Ground")
            planted[order_id] = FRAUD_RING
    # test orders by staff
    staff_ip = "81.2.69.160"
    for n in range(max(3, round(orders * PER_1000[TEST_ORDER] / 1000))):
        name = rng.choice(["Test Test", "Test Order", "asdf asdf", "Testing Shop", "Dummy Customer"])
        local = rng.choice(["test", "test123", "testing", "qa.test", "dummy"])
        fake = {"email": f"{local}{n}@{rng.choice(['gmail.com', 'example-shop.co.uk'])}", "customer_name": name, "ip": staff_ip,
                "cards": ["1111"], "channel": "1", "country": "GB", "postcode": "LS1 4AB", "street": "1 Mill Road"}
        sku, price, cost = rng.choice(skus)
        order_id = add_order(fake, start + timedelta(seconds=rng.uniform(0, span)), items=[(sku, rng.choice([price, 0.01]), cost, 1)])
        planted[order_id] = TEST_ORDER
    # fat-finger quantities and prices below cost on otherwise normal orders
    fat_count = max(3, round(orders * PER_1000[FAT_FINGER] / 1000))
    victims = rng.sample(normal_ids, fat_count + max(3, round(orders * PER_1000[BELOW_COST] / 1000)))
    fat, cheap = victims[:fat_count], victims[fat_count:]
    frame = pd.DataFrame(lines)
    for order_id in fat:
        index = frame.index[frame["order_id"] == order_id][0]
        frame.loc[index, "quantity"] = rng.choice([10, 11, 12, 20, 22, 30, 50, 100, 111])
        planted[order_id] = FAT_FINGER
    for order_id in cheap:
        index = frame.index[frame["order_id"] == order_id][0]
        frame.loc[index, "unit_price"] = round(float(frame.loc[index, "unit_price"]) / 10, 2)  # a slipped decimal point
        planted[order_id] = BELOW_COST
    totals = (frame["quantity"] * frame["unit_price"]).groupby(frame["order_id"]).sum()
    orders_frame = pd.DataFrame(rows)
    fees = orders_frame["shipping_method"].map({m: f for m, f, _ in SHIPPING})
    orders_frame["total"] = (orders_frame["order_id"].map(totals) + fees).round(2)
    orders_frame["created"] = pd.to_datetime(orders_frame["created"], utc=True)
    return OrderFixture(orders_frame.sort_values("created", kind="stable").reset_index(drop=True), frame, planted, now)


# =============================================================================================
# customers (duplicates)

#: How a planted duplicate differs from the person's first record ("brightpearl_contact": the
#: same person as a Brightpearl contact, the email as typed or with its case swapped).
PLANTED_DUPLICATES = ("case", "gmail_dots", "plus_tag", "name_typo", "swapped_names", "guest_registered",
                      "new_email_same_phone", "new_email_same_address", "email_typo", "moved")
DUPLICATE_KINDS = (*PLANTED_DUPLICATES, "brightpearl_contact")
COMMON_NAMES = [("John", "Smith"), ("Sarah", "Jones"), ("David", "Williams"), ("Mohammed", "Khan"), ("Emma", "Brown"),
                ("James", "Taylor"), ("Laura", "Wilson")]


@dataclass(frozen=True)
class CustomerFixture:
    """`records`; `entity[record_id]` = the person behind it (duplicates share one);
    `kind[record_id]` = how a planted duplicate record differs from its person's first record."""

    records: list[CustomerRecord]
    entity: dict[str, int]
    kind: dict[str, str] = field(default_factory=dict)

    def true_pairs(self) -> set[frozenset[str]]:
        by_entity: dict[int, list[str]] = {}
        for record_id, person in self.entity.items():
            by_entity.setdefault(person, []).append(record_id)
        return {frozenset((a, b)) for ids in by_entity.values() for i, a in enumerate(ids) for b in ids[i + 1:]}


def _name_typo(name: str, rng: random.Random) -> str:
    if len(name) < 4:
        return name + name[-1]
    i = rng.randrange(1, len(name) - 1)
    return rng.choice([name[:i] + name[i + 1:], name[:i] + name[i] + name[i:], name[:i] + name[i + 1] + name[i] + name[i + 2:]])


def customer_fixture(seed: int = 16, *, people: int = 3000, duplicate_share: float = 0.15) -> CustomerFixture:
    """`people` people (each a nopCommerce record; about a third also a Brightpearl contact), with
    duplicates planted for `duplicate_share` of them and the hard negatives described above."""
    rng = random.Random(seed)
    records: list[CustomerRecord] = []
    entity: dict[str, int] = {}
    kind: dict[str, str] = {}
    counter = {"nop": 0, "bp": 0}

    def add(person: int, source: str, **fields: Any) -> str:
        prefix = "nop" if source == NOPCOMMERCE else "bp"
        counter[prefix] += 1
        record_id = f"{prefix}:{counter[prefix]}"
        records.append(CustomerRecord(record_id=record_id, source=source, **fields))
        entity[record_id] = person
        return record_id

    households: list[dict] = []
    taken: set[str | None] = set()
    person = 0
    for n in range(people):
        person += 1
        if households and rng.random() < 0.1:  # a family member: same address and family name, own email
            home = rng.choice(households)
            first = rng.choice([f for f in FIRST_NAMES if f not in home["firsts"]])
            home["firsts"].append(first)
            last, city, postcode, street = home["last"], home["city"], home["postcode"], home["street"]
            phone = home["landline"] if home["landline"] and rng.random() < 0.5 else None
        else:
            first, last = rng.choice(COMMON_NAMES) if rng.random() < 0.04 else (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
            postcode, street = _gb_postcode(rng)[0], f"{rng.randrange(1, 300)} {rng.choice(STREETS)}"
            city = _gb_town(postcode)
            phone = None
            home = {"last": last, "city": city, "postcode": postcode, "street": street, "firsts": [first],
                    "landline": f"0113 {rng.randrange(200, 999)} {_digits(rng, 4)}" if rng.random() < 0.3 else None}
            households.append(home)
        if phone is None and rng.random() < 0.6:
            phone = _gb_phone(rng)
        domain = rng.choice(PERSONAL_DOMAINS)
        local = rng.choice([f"{_ascii(first)}.{_ascii(last)}", f"{_ascii(first)}{_ascii(last)}{rng.randrange(1, 99)}",
                            f"{_ascii(first)[0]}{_ascii(last)}{rng.randrange(100)}"])
        while normalise_email(f"{local}@{domain}") in taken:  # a mailbox belongs to one person
            local = f"{local}{rng.randrange(10)}"
        email = f"{local}@{domain}"
        taken.add(normalise_email(email))
        base = dict(email=email, first_name=first, last_name=last, phone=phone, country_iso2="GB", postcode=postcode,
                    city=city, street=street)
        guest = rng.random() < 0.25
        add(person, NOPCOMMERCE, **base, is_guest=guest, orders=rng.randrange(1, 6))
        if rng.random() < 0.3:
            add(person, BRIGHTPEARL, **{**base, "email": email.swapcase() if rng.random() < 0.5 else email})
            kind[f"bp:{counter['bp']}"] = "brightpearl_contact"
        if rng.random() < duplicate_share:
            what = rng.choice(PLANTED_DUPLICATES)
            dup = dict(base)
            if what == "case":
                dup["email"] = rng.choice([email.upper(), email.title(), email.swapcase()])
            elif what == "gmail_dots":
                dup["email"] = f"{'.'.join(local.replace('.', ''))[:40]}@gmail.com" if domain in ("gmail.com", "googlemail.com") else email.upper()
                if domain not in ("gmail.com", "googlemail.com"):
                    what = "case"
            elif what == "plus_tag":
                if domain in ("gmail.com", "outlook.com", "hotmail.com", "icloud.com", "hotmail.co.uk", "live.co.uk", "googlemail.com"):
                    dup["email"] = f"{local}+{rng.choice(['shop', 'orders', 'promo', 'x'])}@{domain}"
                else:
                    what, dup["email"] = "case", email.title()
            elif what == "name_typo":
                dup["first_name"] = _name_typo(first, rng)
            elif what == "swapped_names":
                dup["first_name"], dup["last_name"] = last, first
            elif what == "guest_registered":
                dup["phone"] = None
            elif what == "new_email_same_phone":
                if phone:
                    dup["email"] = f"{_ascii(first)}.{_ascii(last)}@{_ascii(last)}-{rng.choice(TRADES)}.co.uk"
                    dup["postcode"], dup["street"] = _gb_postcode(rng)[0], f"{rng.randrange(1, 300)} {rng.choice(STREETS)}"
                    dup["city"] = _gb_town(dup["postcode"])
                else:
                    what, dup["email"] = "case", email.upper()
            elif what == "new_email_same_address":
                dup["email"], dup["phone"] = f"{_ascii(first)}{rng.randrange(1000)}@{rng.choice(PERSONAL_DOMAINS)}", None
            elif what == "email_typo":
                dup["email"] = f"{local}@{_typo(domain, rng)}"
                dup["phone"] = None
            elif what == "moved":  # new home, new email, no phone: nothing but the name is left to match on
                dup["email"] = f"{_ascii(first)}{rng.randrange(1000, 9999)}@{rng.choice(PERSONAL_DOMAINS)}"
                dup["phone"], dup["postcode"] = None, _gb_postcode(rng)[0]
                dup["street"], dup["city"] = f"{rng.randrange(1, 300)} {rng.choice(STREETS)}", _gb_town(dup["postcode"])
            dup_id = add(person, NOPCOMMERCE, **dup, is_guest=True, orders=1)
            kind[dup_id] = what
    # shared office mailboxes: colleagues (different names) using one address at one office
    for office in range(max(3, people // 300)):
        company = f"{_ascii(rng.choice(LAST_NAMES))}-{rng.choice(TRADES)}.co.uk"
        mailbox = f"{rng.choice(['info', 'accounts', 'office', 'orders'])}@{company}"
        postcode, street = _gb_postcode(rng)[0], f"Unit {rng.randrange(1, 40)}, {rng.choice(STREETS)}"
        city = _gb_town(postcode)
        for _ in range(rng.randrange(3, 6)):
            person += 1
            add(person, NOPCOMMERCE, email=mailbox, first_name=rng.choice(FIRST_NAMES), last_name=rng.choice(LAST_NAMES),
                country_iso2="GB", postcode=postcode, city=city, street=street, is_guest=True, orders=1)
    order = list(range(len(records)))
    rng.shuffle(order)
    return CustomerFixture([records[i] for i in order], entity, kind)


# =============================================================================================
# mapping profiles


@dataclass(frozen=True)
class MappingProfile:
    """Both systems' reference data, the gold mapping `(table, source) -> value` and the orders
    linked in both systems (generated from the gold mapping with realistic drift)."""

    name: str
    nop: NopReference
    bp: BrightpearlReference
    gold: dict[tuple[str, Any], Any]
    linked: list[LinkedOrder]


#: nopCommerce's own plugins: SystemName and FriendlyName from each plugin.json
#: (nopSolutions/nopCommerce src/Plugins/Nop.Plugin.Payments.*/plugin.json).
NOP_PAYMENT_PLUGINS = (
    NopPaymentMethod("Payments.Manual", "Credit Card"),
    NopPaymentMethod("Payments.PayPalStandard", "PayPal Standard"),
    NopPaymentMethod("Payments.CheckMoneyOrder", "Check / Money Order"),
    NopPaymentMethod("Payments.PurchaseOrder", "Purchase Order"),
)


def _sandbox_nop() -> NopReference:
    from bp_nop_dagster.sandbox.generator import NOP_WAREHOUSES, SHIPPING_OPTIONS
    from bp_nop_dagster.sandbox.nopcommerce.backend.catalog import TAX_CATEGORIES
    from bp_nop_dagster.sandbox.nopcommerce.backend.directory import COUNTRIES

    return NopReference(
        currency_code="GBP",
        payment_methods=NOP_PAYMENT_PLUGINS,
        shipping_methods=tuple(name for name, _ in SHIPPING_OPTIONS),
        tax_rates=tuple(sorted({rate for _, rate in TAX_CATEGORIES.values()}, reverse=True)),
        stores=(NopStore(1, "Sandbox Store", "http://localhost/"),),
        warehouses=tuple(NopWarehouse(i, name) for i, name in enumerate(NOP_WAREHOUSES, start=1)),
        countries=tuple(NopCountry(iso2, iso3, name) for _, name, iso2, iso3, *_ in COUNTRIES),
    )


def _linked(nop: NopReference, gold: dict[tuple[str, Any], Any], statuses: list[int], rng: random.Random, count: int) -> list[LinkedOrder]:
    """Orders synced with the gold mapping, with drift: 15 % of Brightpearl statuses moved on by
    the warehouse team, 3 % of payment and shipping methods edited by hand."""
    out = []
    methods = [m.system_name for m in nop.payment_methods]
    for _ in range(count):
        method = rng.choices(methods, weights=[55, 25, 12, 8][: len(methods)])[0]
        payment_status = rng.choices([30, 20, 10], weights=[75, 10, 15])[0]
        order_status = rng.choices([10, 20, 30, 40], weights=[30, 35, 30, 5])[0]
        shipping = rng.choices(list(nop.shipping_methods), weights=[70, 20, 10][: len(nop.shipping_methods)])[0]
        if payment_status == 10 and order_status in (10, 20):
            status = gold[(AWAITING_PAYMENT_STATUS, "awaiting")]
        else:
            status = gold[(ORDER_STATUS, order_status)]
        if rng.random() < 0.15:
            status = rng.choice(statuses)
        code = gold.get((PAYMENT_METHOD, method)) if payment_status != 10 else None
        if code and rng.random() < 0.03:
            code = rng.choice(sorted({v for (t, _), v in gold.items() if t == PAYMENT_METHOD}))
        ship = gold[(SHIPPING_METHOD, shipping)]
        if rng.random() < 0.03:
            ship = rng.choice(sorted({v for (t, _), v in gold.items() if t == SHIPPING_METHOD}))
        rates = rng.choices(list(nop.tax_rates), weights=[80, 15, 5][: len(nop.tax_rates)], k=rng.randrange(1, 4))
        out.append(LinkedOrder(
            nop_order_status_id=order_status, nop_payment_status_id=payment_status, nop_payment_method=method,
            nop_shipping_method=shipping, nop_store_id=1, bp_status_id=status, bp_payment_method_code=code,
            bp_shipping_method_id=ship, bp_channel_id=gold[(CHANNEL, "web")], bp_warehouse_id=gold[(WAREHOUSE, "default")],
            bp_price_list_id=gold[(PRICE_LIST, "retail")], tax_pairs=tuple((Decimal(r), gold[(TAX_RATE, Decimal(r))]) for r in rates),
            nominal_pairs=(("sales", gold[(NOMINAL_CODE, "sales")]), ("shipping", gold[(NOMINAL_CODE, "shipping")])),
        ))
    return out


def _gold_for(nop: NopReference, values: dict[tuple[str, Any], Any]) -> dict[tuple[str, Any], Any]:
    """Only the gold values this nopCommerce side asks for."""
    wanted = {(ORDER_STATUS, s) for s in nop.order_statuses} | {(AWAITING_PAYMENT_STATUS, "awaiting"), (CHANNEL, "web"),
             (WAREHOUSE, "default"), (PRICE_LIST, "retail"), (CURRENCY, "primary"), (EXEMPT_TAX_CODE, "exempt"),
             (SHIPPING_DEFAULT, "default")}
    wanted |= {(NOP_WAREHOUSE, w.id) for w in nop.warehouses} | {(TAX_RATE, Decimal(r)) for r in nop.tax_rates}
    wanted |= {(SHIPPING_METHOD, m) for m in nop.shipping_methods} | {(PAYMENT_METHOD, m.system_name) for m in nop.payment_methods}
    wanted |= {(NOMINAL_CODE, row) for row in ("sales", "shipping", "discount", "payment_fee")}
    wanted |= {(COUNTRY, c.iso2) for c in nop.countries}
    return {key: value for key, value in values.items() if key in wanted}


def sandbox_profile(seed: int = 16, *, linked: int = 400) -> MappingProfile:
    """The sandbox account: the Brightpearl simulator's reference data (as its API answers it,
    read through the client's models), the shop generator's warehouses; gold = the packaged
    `default_mapping.yaml`."""
    from bp_nop_dagster.mapping.config import DEFAULT_MAPPING_FILE
    from bp_nop_dagster.sandbox.brightpearl.backend import reference as ref
    from bp_nop_dagster.sandbox.generator import BP_WAREHOUSES

    nop = _sandbox_nop()
    bp = BrightpearlReference(
        order_statuses=tuple(OrderStatus.model_validate(s) for s in ref.ORDER_STATUSES),
        payment_methods=tuple(PaymentMethod(id=i, name=name, code=code, is_active=True) for i, (code, name) in enumerate(ref.PAYMENT_METHODS, 1)),
        shipping_methods=tuple(ShippingMethod.model_validate(m) for m in ref.SHIPPING_METHODS),
        tax_codes=tuple(TaxCode.model_validate(t) for t in ref.TAX_CODES),
        warehouses=tuple(Warehouse(id=i, name=name) for i, (name, _code) in enumerate(BP_WAREHOUSES, start=1)),
        channels=tuple(Channel.model_validate(c) for c in ref.CHANNELS),
        price_lists=tuple(PriceList.model_validate(p) for p in ref.PRICE_LISTS),
        nominal_codes=tuple(NominalCode(n["code"], n["name"]) for n in ref.NOMINAL_CODES),
    )
    gold = _gold_for(nop, config_values(load_mapping_config(DEFAULT_MAPPING_FILE)))
    statuses = [s.id for s in bp.order_statuses if s.order_type_code == "SO"]
    return MappingProfile("sandbox", nop, bp, gold, _linked(nop, gold, statuses, random.Random(seed), linked))


def renamed_profile(seed: int = 16, *, linked: int = 400) -> MappingProfile:
    """A "differently named" account: the same things as the sandbox's, named, coded and numbered
    as a real UK merchant's account names them (merchant-defined statuses after Brightpearl's help
    examples "Quote -> Stock allocated -> Please Ship -> Packed -> Closed:Shipped"; VAT codes T0
    zero-rated, T2 exempt, T20 standard, T4 EU, T9 outside the scope, as UK Brightpearl accounts use
    them; a Sage-style chart of accounts; UK carriers' services)."""
    nop = _sandbox_nop()

    def status(i: int, name: str, state: str, kind: str = "SO") -> OrderStatus:
        return OrderStatus.model_validate({"statusId": i, "name": name, "orderTypeCode": kind, "state": state, "disabled": False})

    bp = BrightpearlReference(
        order_statuses=(
            status(31, "Quote", "draft"), status(32, "Web Order - New", "open"), status(33, "Phone Order - New", "open"),
            status(34, "Payment Pending", "open"), status(35, "Stock allocated", "open"), status(36, "Please Ship", "open"),
            status(37, "Packed", "open"), status(38, "Closed: Shipped", "completed"), status(39, "Closed: Other", "completed"),
            status(40, "Invoiced", "invoiced"), status(41, "Cancelled - do not ship", "cancelled"),
            status(50, "Credit - New", "open", "SC"), status(51, "Credit - Refunded", "completed", "SC"),
            status(52, "Credit - Cancelled", "cancelled", "SC"),
        ),
        payment_methods=tuple(PaymentMethod(id=i, name=name, code=code, is_active=True) for i, (code, name) in enumerate([
            ("SAGEPAY_UK", "Sage Pay (cards)"), ("PAYPAL_EXPRESS", "PayPal Express"), ("CHQ", "Cheques"),
            ("BACS", "BACS / bank transfer"), ("AMAZON_PAY", "Amazon Pay"), ("CASH", "Cash (shop till)"),
            ("ACCOUNT", "On account (credit terms)"), ("GIFT_VOUCHER", "Gift voucher"),
        ], start=101)),
        shipping_methods=(
            ShippingMethod(id=11, name="Royal Mail 2nd Class", code="RM2"), ShippingMethod(id=12, name="Royal Mail 1st Class", code="RM1"),
            ShippingMethod(id=13, name="DPD Next Day", code="DPDND"), ShippingMethod(id=14, name="Collect in store", code="COLLECT"),
            ShippingMethod(id=15, name="Royal Mail Special Delivery", code="RMSD"), ShippingMethod(id=16, name="Parcelforce Worldwide", code="PFW"),
        ),
        tax_codes=(
            TaxCode(id=1, code="T0", description="Zero rated"), TaxCode(id=2, code="T2", description="Tax exempt"),
            TaxCode(id=3, code="T20", description="Standard rate : 20% VAT", rate=Decimal(20)),
            TaxCode(id=4, code="T5", description="Reduced rate : 5% VAT", rate=Decimal(5)),
            TaxCode(id=5, code="T4", description="EU sales (VAT registered customer)"),
            TaxCode(id=6, code="T9", description="Outside the scope of VAT"),
        ),
        warehouses=(Warehouse(id=11, name="Manchester DC"), Warehouse(id=12, name="Bath shop"), Warehouse(id=13, name="iForce Leeds (3PL)")),
        channels=(
            Channel(id=1, name="Amazon UK", default_price_list_id=22), Channel(id=2, name="eBay", default_price_list_id=22),
            Channel(id=3, name="Website (nopCommerce)", default_price_list_id=23, default_warehouse_id=11),
            Channel(id=4, name="Telephone sales", default_price_list_id=23),
        ),
        price_lists=(
            PriceList(id=21, name="Cost price", code="COST", currency_code="GBP", price_list_type_code="BUY"),
            PriceList(id=22, name="Trade", code="TRADE", currency_code="GBP", price_list_type_code="SELL"),
            PriceList(id=23, name="RRP", code="RRP", currency_code="GBP", price_list_type_code="SELL", gross=True),
            PriceList(id=24, name="Euro retail", code="EUR", currency_code="EUR", price_list_type_code="SELL", gross=True),
        ),
        nominal_codes=(
            NominalCode("1200", "Bank Current Account"), NominalCode("2200", "Sales Tax Control Account"),
            NominalCode("4000", "Sales Type A"), NominalCode("4009", "Discounts Allowed"), NominalCode("4900", "Miscellaneous Income"),
            NominalCode("4905", "Distribution and Carriage"), NominalCode("5000", "Cost of sales - goods"),
        ),
    )
    named: dict[tuple[str, Any], Any] = {
        (ORDER_STATUS, 10): 32, (ORDER_STATUS, 20): 36, (ORDER_STATUS, 30): 38, (ORDER_STATUS, 40): 41,
        (AWAITING_PAYMENT_STATUS, "awaiting"): 34, (CHANNEL, "web"): 3, (WAREHOUSE, "default"): 11,
        (NOP_WAREHOUSE, 1): 11, (NOP_WAREHOUSE, 2): 13, (PRICE_LIST, "retail"): 23, (CURRENCY, "primary"): "GBP",
        (TAX_RATE, Decimal(20)): "T20", (TAX_RATE, Decimal(5)): "T5", (TAX_RATE, Decimal(0)): "T0", (EXEMPT_TAX_CODE, "exempt"): "T2",
        (SHIPPING_METHOD, "Ground"): 11, (SHIPPING_METHOD, "Next Day Air"): 13, (SHIPPING_METHOD, "In-Store Pickup"): 14,
        (SHIPPING_DEFAULT, "default"): 11,
        (PAYMENT_METHOD, "Payments.Manual"): "SAGEPAY_UK", (PAYMENT_METHOD, "Payments.PayPalStandard"): "PAYPAL_EXPRESS",
        (PAYMENT_METHOD, "Payments.CheckMoneyOrder"): "CHQ", (PAYMENT_METHOD, "Payments.PurchaseOrder"): "BACS",
        (NOMINAL_CODE, "sales"): "4000", (NOMINAL_CODE, "shipping"): "4905", (NOMINAL_CODE, "discount"): "4009",
        (NOMINAL_CODE, "payment_fee"): "4000",
    }
    named.update({(COUNTRY, c.iso2): ISO2_TO_ISO3.get(c.iso2, c.iso3) for c in nop.countries})
    gold = _gold_for(nop, named)
    statuses = [s.id for s in bp.order_statuses if s.order_type_code == "SO"]
    return MappingProfile("renamed", nop, bp, gold, _linked(nop, gold, statuses, random.Random(seed), linked))


__all__ = [
    "BELOW_COST",
    "COUNTRY_FORMATS",
    "ContactFixture",
    "CustomerFixture",
    "DUPLICATE_KINDS",
    "FAT_FINGER",
    "FRAUD_RING",
    "MappingProfile",
    "NOP_PAYMENT_PLUGINS",
    "OrderFixture",
    "TEST_ORDER",
    "contact_fixture",
    "customer_fixture",
    "order_fixture",
    "renamed_profile",
    "sandbox_profile",
]
