"""What a decision is made on: the order's facts (lines, payments, the customer's
history) and the return request. Amounts are integer minor units of the order's
``currency`` (see ``money.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.slots import slot_init as _slot_init


@_slot_init
@dataclass(frozen=True, slots=True)
class Customer:
    id: str | None = None
    email: str | None = None


@_slot_init
@dataclass(frozen=True, slots=True)
class Variant:
    """An item the storefront sells that a returned line may be exchanged for."""

    sku: str
    name: str
    unit_amount: int
    in_stock: bool | None = None  # None: the storefront did not say
    variant_id: str | None = None
    # its list price where a promotion running today sells it for less (``unit_amount``): a
    # Saleor variant's ``priceUndiscounted``; None: ``unit_amount`` is its list price
    list_amount: int | None = None


# Fields written into stored bodies only when set, so bodies without an exchange stay as they were
# (the journal hashes them): read by ``ledger.journal.plain``.
OMIT_EMPTY = frozenset({"variants", "exchange_for", "exchange", "out_list", "list_amount",
                        "in_list"})


@_slot_init
@dataclass(frozen=True, slots=True)
class OrderLine:
    id: str
    sku: str
    name: str
    quantity: int
    unit_amount: int
    tags: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    product_id: str | None = None
    # What the whole line was charged, when that is not unit × quantity: Saleor spreads an
    # order voucher over the lines and rounds the unit price (3 × 81.67 for a 245.00 line).
    total_amount: int | None = None
    variants: tuple[Variant, ...] = ()  # what this line may be exchanged for, where known

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OrderLine:
        """From its stored JSON form (lists where the dataclass holds tuples)."""
        variants = d.get("variants")  # mostly none: no generator for them
        return cls(**{**d, "tags": tuple(d.get("tags") or ()),
                      "collections": tuple(d.get("collections") or ()),
                      "variants": tuple([Variant(**v) for v in variants]) if variants else ()})

    @property
    def amount(self) -> int:
        return self.unit_amount * self.quantity if self.total_amount is None \
            else self.total_amount

    def units_amount(self, quantity: int, already_returned: int = 0) -> int:
        """What ``quantity`` more units are worth after ``already_returned`` came back: each unit
        a whole-minor-unit share of the line total, the last unit taking the remainder, so all
        units together are exactly the line total."""
        if self.total_amount is None:
            return self.unit_amount * quantity
        return self._first_units(already_returned + quantity) - self._first_units(
            already_returned)

    def _first_units(self, n: int) -> int:
        n = max(0, min(n, self.quantity))
        if n == self.quantity:
            return self.amount
        return (self.amount // self.quantity) * n


@_slot_init
@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """One captured payment of an order, with what is already refunded or on its way."""

    provider: str  # "stripe" | "saleor" | "storefront" ...
    reference: str  # payment intent id, Saleor transaction id, ...
    captured: int
    refunded: int = 0
    pending: int = 0
    disputed: bool = False
    # why money cannot go back to this payment automatically (no app can refund it), told to
    # the customer; None: it can
    blocked: str | None = None

    @property
    def refundable(self) -> int:
        if self.disputed:
            return 0
        return max(0, self.captured - self.refunded - self.pending)


@_slot_init
@dataclass(frozen=True, slots=True)
class CustomerHistory:
    """What the ledger knows of this customer across all orders (for lifetime value and abuse)."""

    total_paid: int = 0
    order_count: int = 0
    first_order_at: datetime | None = None
    # Earlier returns, as the abuse signals count them (``ledger.facts.customer_history``): only
    # returns granted (``rollups.granted``: approved by a person, or by the policy and not
    # declined by a person since), as finally granted (an admin's change on approval), and of
    # each only the share of its lines that were not our fault. A return
    # with money back to the payment is a refund; one settled wholly in store credit is a credit
    # (the policy's ``abuse.count_store_credit`` says whether credits count too). Amounts are
    # in the order's currency only (no exchange rates); counts are across currencies.
    total_refunded: int = 0  # lifetime, money back to the payment
    refunds_recent_count: int = 0  # in the policy's rolling window, computed by the caller
    refunds_recent_amount: int = 0
    not_received_claims: int = 0
    window_days: int = 90
    total_credited: int = 0  # lifetime store credit (without bonuses)
    credits_recent_count: int = 0  # returns in the window settled wholly in store credit
    credits_recent_amount: int = 0  # store credit in the window


@_slot_init
@dataclass(frozen=True, slots=True)
class OrderFacts:
    order_id: str
    currency: str
    lines: tuple[OrderLine, ...]
    shipping_amount: int
    total_amount: int
    customer: Customer = field(default_factory=Customer)
    paid_at: datetime | None = None
    fulfilled_at: datetime | None = None
    delivered_at: datetime | None = None
    payments: tuple[PaymentFacts, ...] = ()
    returned_quantities: tuple[tuple[str, int], ...] = ()  # (line_id, qty) already returned
    shipping_refunded: int = 0
    history: CustomerHistory = field(default_factory=CustomerHistory)
    source: str = "storefront"
    channel: str | None = None
    # smallest step, in minor units, in which money can go back to the original payment
    # (Stripe: 10 for three-decimal currencies; see money.refund_increment)
    refund_increment: int = 1
    # whether a dearer exchange's difference can be taken through the order's provider: False
    # when the service would not move its money (a Stripe order without a key: the dry run)
    can_charge: bool = True
    # whether a prepaid return label can be bought for this order (a label platform and a
    # return address are configured): False when the customer posts the items themselves, so
    # no label is promised and no label fee is taken (``policies/resolution``)
    can_label: bool = True
    # whether a return that comes back is opened for its parcel (a return address is
    # configured): False when no parcel can be recorded, so neither money nor an exchange's new
    # item waits for one (``policies/exchange.ship_on``, ``policies/resolution.money_moves``)
    return_opened: bool = True

    def line(self, line_id: str) -> OrderLine | None:
        return next((ln for ln in self.lines if ln.id == line_id), None)

    def returned(self, line_id: str) -> int:
        return sum(q for lid, q in self.returned_quantities if lid == line_id)

    @property
    def captured(self) -> int:
        return sum(p.captured for p in self.payments)

    @property
    def refundable(self) -> int:
        """Captured minus refunded minus pending, across payments that are not disputed."""
        return sum(p.refundable for p in self.payments)

    @property
    def disputed(self) -> bool:
        return any(p.disputed for p in self.payments)

    @property
    def free(self) -> bool:
        """A free order: nothing was owed and nothing captured, so no money can go back."""
        return self.total_amount == 0 and self.captured == 0


@_slot_init
@dataclass(frozen=True, slots=True)
class ReturnLine:
    line_id: str
    quantity: int
    reason: Reason
    exchange_for: Variant | None = None


@_slot_init
@dataclass(frozen=True, slots=True)
class ReturnRequest:
    request_id: str
    order_id: str
    lines: tuple[ReturnLine, ...]
    preferred_resolution: ResolutionKind | None = None
    comment: str = ""
    requested_at: datetime | None = None
    channel: str = "storefront"


