"""The carrier Protocol: buy a prepaid return label once per reference, void an unused one.

A carrier never reads the ledger: ``LabelRequest`` carries what it needs. Errors are the
provider errors of ``refunds_plugin.errors`` (retryable or final), so the label step retries
as an attempt does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from refunds_plugin.config import Parcel


@dataclass(frozen=True)
class LabelRequest:
    reference: str  # ours: the same on every try, so a second try finds the first's shipment
    to_address: dict[str, str]  # the shop's return address
    from_address: dict[str, str] | None  # the customer's, when the order carried one
    parcel: Parcel
    carriers: tuple[str, ...] = ()  # allowed (empty: any)
    services: tuple[str, ...] = ()
    # a label dearer than this (in ``currency``) is not bought: the customer keeps the item
    max_amount: int | None = None
    currency: str = "USD"


@dataclass(frozen=True)
class Label:
    shipment_id: str
    tracking_code: str
    label_url: str
    qr_code_url: str | None
    carrier: str  # the carrier's name (USPS, UPS, DHL …)
    service: str
    amount: int  # what it cost, minor units of ``currency``
    currency: str


@dataclass(frozen=True)
class NoLabel:
    """Why no label was bought (the customer still gets the instructions)."""

    code: str  # no_rate | too_dear | address_rejected
    message: str
    detail: dict[str, Any] | None = None


class Carrier(Protocol):
    name: str

    def buy_return_label(self, request: LabelRequest) -> Label | NoLabel:
        """Buy (or find, if a try before bought it) the return label for ``request``."""
        ...

    def void(self, shipment_id: str) -> str:
        """Ask for an unused label's money back; returns the carrier's refund status."""
        ...
