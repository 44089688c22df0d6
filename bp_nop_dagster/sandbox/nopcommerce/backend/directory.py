"""Countries (plugin Controllers/Directory/CountryController.cs over core CountryService)."""

from __future__ import annotations

from bp_nop_dagster.sandbox.nopcommerce.backend.state import ShopState, by_ids
from bp_nop_dagster.sandbox.nopcommerce.wire import new_entity

# Countries seeded into every shop, with fixed ids (id, name, iso2, iso3, numeric, subject_to_vat, display_order).
COUNTRIES: list[tuple[int, str, str, str, int, bool, int]] = [
    (1, "United States", "US", "USA", 840, False, 100),
    (2, "Canada", "CA", "CAN", 124, False, 100),
    (3, "United Kingdom", "GB", "GBR", 826, True, 1),
    (4, "Germany", "DE", "DEU", 276, True, 100),
    (5, "France", "FR", "FRA", 250, True, 100),
    (6, "Ireland", "IE", "IRL", 372, True, 100),
    (7, "Spain", "ES", "ESP", 724, True, 100),
    (8, "Italy", "IT", "ITA", 380, True, 100),
    (9, "Netherlands", "NL", "NLD", 528, True, 100),
    (10, "Belgium", "BE", "BEL", 56, True, 100),
    (11, "Sweden", "SE", "SWE", 752, True, 100),
    (12, "Australia", "AU", "AUS", 36, False, 100),
]

# States and provinces seeded with the countries: the 50 US states and DC (USPS abbreviations) and
# Canada's provinces and territories (Canada Post abbreviations), ids in this order. nopCommerce's
# installation seeds states for these countries too; its exact list and ids were not read (inferred).
STATE_PROVINCES: dict[str, list[tuple[str, str]]] = {
    "US": [("Alabama", "AL"), ("Alaska", "AK"), ("Arizona", "AZ"), ("Arkansas", "AR"), ("California", "CA"), ("Colorado", "CO"),
           ("Connecticut", "CT"), ("Delaware", "DE"), ("District of Columbia", "DC"), ("Florida", "FL"), ("Georgia", "GA"),
           ("Hawaii", "HI"), ("Idaho", "ID"), ("Illinois", "IL"), ("Indiana", "IN"), ("Iowa", "IA"), ("Kansas", "KS"),
           ("Kentucky", "KY"), ("Louisiana", "LA"), ("Maine", "ME"), ("Maryland", "MD"), ("Massachusetts", "MA"),
           ("Michigan", "MI"), ("Minnesota", "MN"), ("Mississippi", "MS"), ("Missouri", "MO"), ("Montana", "MT"),
           ("Nebraska", "NE"), ("Nevada", "NV"), ("New Hampshire", "NH"), ("New Jersey", "NJ"), ("New Mexico", "NM"),
           ("New York", "NY"), ("North Carolina", "NC"), ("North Dakota", "ND"), ("Ohio", "OH"), ("Oklahoma", "OK"),
           ("Oregon", "OR"), ("Pennsylvania", "PA"), ("Rhode Island", "RI"), ("South Carolina", "SC"), ("South Dakota", "SD"),
           ("Tennessee", "TN"), ("Texas", "TX"), ("Utah", "UT"), ("Vermont", "VT"), ("Virginia", "VA"), ("Washington", "WA"),
           ("West Virginia", "WV"), ("Wisconsin", "WI"), ("Wyoming", "WY")],
    "CA": [("Alberta", "AB"), ("British Columbia", "BC"), ("Manitoba", "MB"), ("New Brunswick", "NB"),
           ("Newfoundland and Labrador", "NL"), ("Northwest Territories", "NT"), ("Nova Scotia", "NS"), ("Nunavut", "NU"),
           ("Ontario", "ON"), ("Prince Edward Island", "PE"), ("Quebec", "QC"), ("Saskatchewan", "SK"), ("Yukon", "YT")],
}


class DirectoryMixin(ShopState):
    def _seed_countries(self) -> None:
        for cid, name, iso2, iso3, numeric, vat, order in COUNTRIES:
            self.countries[cid] = new_entity(
                "country", id=cid, name=name, allows_billing=True, allows_shipping=True, two_letter_iso_code=iso2,
                three_letter_iso_code=iso3, numeric_iso_code=numeric, subject_to_vat=vat, published=True, display_order=order,
                limited_to_stores=False,
            )
        self._next_ids["country"] = max(self.countries)

    def _seed_state_provinces(self) -> None:
        for iso2, states in STATE_PROVINCES.items():
            country_id = self.country_id_by_iso2(iso2)
            for order, (name, abbreviation) in enumerate(states, start=1):
                sid = self._next_id("state_province")
                self.state_provinces[sid] = new_entity("state_province", id=sid, country_id=country_id, name=name,
                                                       abbreviation=abbreviation, published=True, display_order=order)

    def state_provinces_of(self, country_id: int, show_hidden: bool = False) -> list[dict]:
        """StateProvinceService.GetStateProvincesByCountryIdAsync: the country's published states
        unless showHidden, ordered by DisplayOrder then Name."""
        found = [s for s in self.state_provinces.values() if s["country_id"] == country_id and (show_hidden or s["published"])]
        return sorted(found, key=lambda s: (s["display_order"], s["name"] or ""))

    def state_province_id(self, iso2: str, abbreviation: str) -> int:
        """For the control API and the generator: the seeded state of this country and abbreviation."""
        country_id = self.country_id_by_iso2(iso2)
        for state in self.state_provinces_of(country_id, show_hidden=True):
            if (state["abbreviation"] or "").lower() == abbreviation.strip().lower():
                return state["id"]
        raise ValueError(f"unknown state {abbreviation!r} of {iso2}")

    def all_countries(self, show_hidden: bool = False, *, billing: bool = False, shipping: bool = False) -> list[dict]:
        """CountryService.GetAllCountries[ForBilling|ForShipping]Async: published ones unless
        showHidden, ordered by DisplayOrder then Name; the billing/shipping variants keep those
        that allow it."""
        found = [c for c in self.countries.values() if show_hidden or c["published"]]
        if billing:
            found = [c for c in found if c["allows_billing"]]
        if shipping:
            found = [c for c in found if c["allows_shipping"]]
        return sorted(found, key=lambda c: (c["display_order"], c["name"] or ""))

    def countries_by_ids(self, ids: list[int]) -> list[dict]:
        return by_ids(self.countries, ids)

    def country_by_iso_code(self, code: str | None, *, letters: int) -> dict | None:
        """CountryService.GetCountryByTwo|ThreeLetterIsoCodeAsync (compared as SQL Server's
        case-insensitive collation does)."""
        if not code:
            return None
        field = "two_letter_iso_code" if letters == 2 else "three_letter_iso_code"
        return next((c for c in sorted(self.countries.values(), key=lambda c: c["id"])
                     if (c[field] or "").lower() == code.strip().lower()), None)

    def country_id_by_iso2(self, iso2: str) -> int:
        """For the control API and the generator: the seeded country with this ISO code."""
        country = self.country_by_iso_code(iso2, letters=2)
        if country is None:
            raise ValueError(f"unknown country {iso2!r}")
        return country["id"]
