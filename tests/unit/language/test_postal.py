"""Addresses in the order their country's post reads them: a US town line is "Austin, TX
78701", never "78701 Austin"; Europe's puts the postal code first."""

from __future__ import annotations

import pytest

from refunds_plugin.language.postal import lines
from refunds_plugin.saleor.order import shipping_address

DOCK = {"name": "Our shop returns", "street": "1 Dock Rd", "city": "Austin",
        "postal_code": "78701", "country": "US"}


@pytest.mark.parametrize(("address", "said"), [
    ({**DOCK, "region": "TX"}, ["Our shop returns", "1 Dock Rd", "Austin, TX 78701", "US"]),
    # no state configured: still the US order, city then ZIP code, nothing made up
    (DOCK, ["Our shop returns", "1 Dock Rd", "Austin 78701", "US"]),
    ({"name": "Returns", "street": "1 Main St", "city": "Ottawa", "postal_code": "K1A 0B1",
      "region": "ON", "country": "CA"}, ["Returns", "1 Main St", "Ottawa ON K1A 0B1", "CA"]),
    ({"name": "Returns", "street": "1 George St", "city": "Sydney", "postal_code": "2000",
      "region": "NSW", "country": "AU"}, ["Returns", "1 George St", "Sydney NSW 2000", "AU"]),
    ({"name": "Returns", "street": "10 Dock St", "city": "London", "postal_code": "E1 8AA",
      "country": "gb"}, ["Returns", "10 Dock St", "London", "E1 8AA", "GB"]),
    # a region given where the post does not use it is left out
    ({"name": "Unser Lager", "street": "Lagerweg 2", "city": "Berlin", "postal_code": "10115",
      "region": "BE", "country": "DE"}, ["Unser Lager", "Lagerweg 2", "10115 Berlin", "DE"]),
])
def test_each_country_reads_its_town_line_its_own_way(address: dict[str, str],
                                                       said: list[str]) -> None:
    assert lines(address) == said


def test_a_saleor_shipping_address_keeps_its_state_as_the_region() -> None:
    saleor = {"firstName": "Ann", "lastName": "Lee", "streetAddress1": "9 Elm St",
              "city": "BOSTON", "postalCode": "02108", "countryArea": "MA",
              "country": {"code": "US"}}

    address = shipping_address(saleor)

    assert address == {"name": "Ann Lee", "street": "9 Elm St", "city": "BOSTON",
                       "postal_code": "02108", "country": "US", "region": "MA"}
    assert lines(address) == ["Ann Lee", "9 Elm St", "BOSTON, MA 02108", "US"]
    # Saleor's empty countryArea (most of Europe) adds nothing
    assert "region" not in shipping_address({**saleor, "countryArea": ""})
