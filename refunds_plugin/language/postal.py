"""A postal address in the lines its country's post expects, for the returns pages and the
emails: "78701 Austin" is how Germany writes a town line, not how the United States does.

The United States, Canada and Australia write the city, then the region (the state or
province, ``region`` in ``[[return_addresses]]`` and on a shipping address) and the postal
code: "Austin, TX 78701", "Ottawa ON K1A 0B1". Without a region they keep that order ("Austin
78701"): a US address needs its state for the post, so ``region`` should be set there
(README). The United Kingdom and Ireland put the postcode on a line of its own under the town.
Elsewhere, as in most of Europe, the postal code comes first: "10115 Berlin". The last line is
the country code, as configured.
"""

from __future__ import annotations

from collections.abc import Mapping

CITY_REGION_CODE = ("US", "CA", "AU")
CODE_OWN_LINE = ("GB", "IE")


def lines(address: Mapping[str, str]) -> list[str]:
    """Name, street, the town line(s) and the country, blanks left out."""
    city = (address.get("city") or "").strip()
    code = (address.get("postal_code") or "").strip()
    region = (address.get("region") or "").strip()
    country = (address.get("country") or "").strip().upper()
    if country == "US":
        town = [" ".join(p for p in (f"{city}," if region else city, region, code) if p)]
    elif country in CITY_REGION_CODE:
        town = [" ".join(p for p in (city, region, code) if p)]
    elif country in CODE_OWN_LINE:
        town = [city, code]
    else:
        town = [" ".join(p for p in (code, city) if p)]
    return [p for p in (address.get("name"), address.get("street"), *town, country) if p]
