"""Where returned items go and in what parcel: the ``[[return_addresses]]`` and
``[return_parcel]`` settings as values (read and checked by ``config``), and which address
serves a customer's country."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReturnAddress:
    """Where returned items go (``[[return_addresses]]`` in the TOML file). ``countries``: the
    customers' countries this address serves; an address without any serves everyone else.
    ``region``: the state or province, where the country's post wants one (US, CA, AU:
    "Austin, TX 78701", ``language/postal.py``)."""

    name: str
    street: str
    city: str
    postal_code: str
    country: str
    countries: tuple[str, ...] = ()
    region: str = ""

    def as_dict(self) -> dict[str, str]:
        out = {"name": self.name, "street": self.street, "city": self.city,
               "postal_code": self.postal_code, "country": self.country}
        return out | ({"region": self.region} if self.region else {})


@dataclass(frozen=True)
class Parcel:
    """The default parcel of a return label (``[return_parcel]``), grams and centimetres."""

    weight_grams: int = 1000
    length_cm: int = 30
    width_cm: int = 20
    height_cm: int = 10


def choose_address(addresses: tuple[ReturnAddress, ...],
                   country: str | None) -> ReturnAddress | None:
    """The address serving ``country`` (the customer's), else the first that serves anyone."""
    wanted = (country or "").upper()
    for address in addresses:
        if wanted and wanted in address.countries:
            return address
    return next((a for a in addresses if not a.countries), addresses[0] if addresses else None)
