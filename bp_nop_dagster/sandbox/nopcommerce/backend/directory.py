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


class DirectoryMixin(ShopState):
    def _seed_countries(self) -> None:
        for cid, name, iso2, iso3, numeric, vat, order in COUNTRIES:
            self.countries[cid] = new_entity(
                "country", id=cid, name=name, allows_billing=True, allows_shipping=True, two_letter_iso_code=iso2,
                three_letter_iso_code=iso3, numeric_iso_code=numeric, subject_to_vat=vat, published=True, display_order=order,
                limited_to_stores=False,
            )
        self._next_ids["country"] = max(self.countries)

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
