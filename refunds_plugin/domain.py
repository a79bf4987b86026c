"""The vocabulary the policy and the service speak: order facts, return requests, decisions.

All amounts are integer minor units of the order's ``currency`` (see ``money.py``). Everything
here is a frozen dataclass with no I/O, so a decision can be replayed from stored facts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from refunds_plugin.slots import slot_init as _slot_init


class Outcome(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    DECLINE = "decline"


class ResolutionKind(StrEnum):
    REFUND = "refund"  # back to the original payment
    CREDIT = "credit"  # store credit (Stripe promotion code, Saleor gift card)


class Reason(StrEnum):
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    NOT_RECEIVED = "not_received"
    CHANGED_MIND = "changed_mind"
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"
    OTHER = "other"

    @property
    def merchant_fault(self) -> bool:
        return self in MERCHANT_FAULT


MERCHANT_FAULT = frozenset(
    {
        Reason.DAMAGED,
        Reason.DEFECTIVE,
        Reason.WRONG_ITEM,
        Reason.NOT_AS_DESCRIBED,
        Reason.NOT_RECEIVED,
    }
)


class DecisionKind(StrEnum):
    RETURN = "return"  # a customer asked
    OVERPAYMENT = "overpayment"  # we noticed they paid more than the order total
    DUPLICATE_CHARGE = "duplicate_charge"  # we noticed the same order charged twice


class AttemptStatus(StrEnum):
    """A refund attempt's state, as stored (the state machine is drawn in ``ledger/attempts``)."""

    PENDING = "pending"
    HELD = "held"  # reserved, waiting for the parcel (``refund_on``); never claimed
    IN_PROGRESS = "in_progress"  # claimed by a worker, under a lease
    SENT = "sent"  # the provider accepted it and confirms later
    UNKNOWN = "unknown"  # out of tries on a retryable error: the money may have moved
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


_A = AttemptStatus
TERMINAL = (_A.SUCCEEDED, _A.FAILED, _A.CANCELED)
UNCLAIMED = (_A.SENT, _A.UNKNOWN)  # not terminal, but nobody holds them: the claim is cleared
NEEDS_REVIEW = (_A.FAILED, _A.UNKNOWN)  # a person looks at these
WAITING = (_A.PENDING, _A.IN_PROGRESS)  # ours to send: the provider has not answered yet
# what a provider's report may settle (a held attempt was never sent, so no report is about it)
SETTLES = (_A.PENDING, _A.IN_PROGRESS, _A.SENT, _A.UNKNOWN)
# money held back from the refundable remainder
RESERVED = (*SETTLES, _A.HELD)
LIVE = (_A.PENDING, _A.HELD, _A.IN_PROGRESS, _A.SENT, _A.SUCCEEDED)  # count against the refundable
HANDED_OVER = (_A.IN_PROGRESS, _A.SENT, _A.SUCCEEDED, _A.UNKNOWN)  # the provider may count it


# --- facts ---------------------------------------------------------------------------------------


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


# Fields written into stored bodies only when set, so bodies without an exchange stay as they were
# (the journal hashes them): read by ``ledger.journal.plain``.
OMIT_EMPTY = frozenset({"variants", "exchange_for", "exchange"})


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
    # returns granted (approved, or approved by a person), as finally granted (an admin's change
    # on approval), and of each only the share of its lines that were not our fault. A return
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


# --- decisions -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, init=False)
class RuleResult:
    """One rule's answer: what it looked at, what it concluded, in words for a customer."""

    rule: str
    verdict: str  # "pass" | "approve" | "review" | "decline" | "adjust" | "skip"
    code: str
    message: str
    saw: dict[str, Any] = field(default_factory=dict)

    def __init__(self, rule: str, verdict: str, code: str, message: str,
                 saw: dict[str, Any] | None = None) -> None:
        # Written out because a decision builds ~15 of these: setting the slots directly costs
        # ~0.34 us where the generated frozen __init__ (object.__setattr__ per field) costs ~0.54.
        _set_rule(self, rule)
        _set_verdict(self, verdict)
        _set_code(self, code)
        _set_message(self, message)
        _set_saw(self, {} if saw is None else saw)


_set_rule, _set_verdict, _set_code, _set_message, _set_saw = (
    getattr(RuleResult, f).__set__ for f in ("rule", "verdict", "code", "message", "saw"))


@_slot_init
@dataclass(frozen=True, slots=True)
class LineDecision:
    line_id: str
    quantity: int
    amount: int  # refundable value of these units before fees
    reason: str
    return_required: bool = True


@_slot_init
@dataclass(frozen=True, slots=True)
class Fee:
    code: str  # "restocking" | "return_shipping"
    amount: int
    description: str


@_slot_init
@dataclass(frozen=True, slots=True)
class Resolution:
    kind: ResolutionKind
    amount: int  # what the customer is owed from the order's money
    bonus: int = 0  # extra store credit on top (credit only)
    payment_reference: str | None = None  # which payment a refund goes back to

    @property
    def total(self) -> int:
        return self.amount + self.bonus


@_slot_init
@dataclass(frozen=True, slots=True)
class ExchangeLine:
    """One line swapped: ``quantity`` units of the order's line out, as many of ``sku`` in."""

    line_id: str
    quantity: int
    out_amount: int  # what the returned units are worth
    sku: str
    name: str
    unit_amount: int
    variant_id: str | None = None

    @property
    def in_amount(self) -> int:
        return self.unit_amount * self.quantity


@_slot_init
@dataclass(frozen=True, slots=True)
class Exchange:
    """The exchanged lines of a decision and how their price difference is settled.

    ``difference`` is what the new items cost over the returned ones plus any fees that apply
    (negative: cheaper). It is settled as ``back`` (refunded or credited, per ``lower``),
    ``waived`` and ``charge`` (what the customer pays before the exchange goes ahead); the three
    always add up to ``difference`` in absolute value. ``ship_on`` says when the new items ship.
    """

    lines: tuple[ExchangeLine, ...]
    difference: int
    fees: int = 0
    back: int = 0
    lower: str = "refund"  # how ``back`` goes: refund | credit
    waived: int = 0
    charge: int = 0
    ship_on: str = "first_scan"

    @property
    def settled_as(self) -> str:
        """In one word: none | refund | credit | waived | charge | waived+charge."""
        if self.back:
            return self.lower
        said = [w for w, v in (("waived", self.waived), ("charge", self.charge)) if v]
        return "+".join(said) or "none"

    @property
    def out_amount(self) -> int:
        return sum(ln.out_amount for ln in self.lines)

    @property
    def instant(self) -> bool:
        """The new items ship at approval, before the original is back."""
        return self.ship_on == "approval"

    @property
    def in_amount(self) -> int:
        return sum(ln.in_amount for ln in self.lines)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Exchange:
        return cls(lines=tuple(ExchangeLine(**ln) for ln in data["lines"]),
                   **{k: v for k, v in data.items() if k != "lines"})


@_slot_init
@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reason_code: str
    explanation: str
    currency: str
    policy_name: str
    policy_hash: str
    kind: DecisionKind = DecisionKind.RETURN
    lines: tuple[LineDecision, ...] = ()
    shipping_refund: int = 0
    fees: tuple[Fee, ...] = ()
    resolutions: tuple[Resolution, ...] = ()
    return_required: bool = True
    trace: tuple[RuleResult, ...] = ()
    promise_hours: int | None = None  # how soon the policy promises the money is on its way
    exchange: Exchange | None = None  # lines swapped for other items, if any

    @property
    def amount(self) -> int:
        """Money owed out of the order (refund + credit, before any credit bonus)."""
        return sum(r.amount for r in self.resolutions)

    @property
    def refund_amount(self) -> int:
        return sum(r.amount for r in self.resolutions if r.kind is ResolutionKind.REFUND)

    @property
    def credit_amount(self) -> int:
        return sum(r.total for r in self.resolutions if r.kind is ResolutionKind.CREDIT)

    @property
    def resolution_summary(self) -> str:
        kinds = sorted({r.kind.value for r in self.resolutions if r.total > 0})
        return "+".join(kinds) if kinds else "none"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.exchange is None:
            del data["exchange"]
        data["amount"] = self.amount
        data["resolution"] = self.resolution_summary
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        return cls(
            outcome=Outcome(data["outcome"]),
            reason_code=data["reason_code"],
            explanation=data["explanation"],
            currency=data["currency"],
            policy_name=data["policy_name"],
            policy_hash=data["policy_hash"],
            kind=DecisionKind(data.get("kind", "return")),
            lines=tuple(LineDecision(**ln) for ln in data.get("lines", ())),
            shipping_refund=data.get("shipping_refund", 0),
            fees=tuple(Fee(**f) for f in data.get("fees", ())),
            resolutions=tuple(
                Resolution(
                    kind=ResolutionKind(r["kind"]),
                    amount=r["amount"],
                    bonus=r.get("bonus", 0),
                    payment_reference=r.get("payment_reference"),
                )
                for r in data.get("resolutions", ())
            ),
            return_required=data.get("return_required", True),
            trace=tuple(RuleResult(**t) for t in data.get("trace", ())),
            promise_hours=data.get("promise_hours"),
            exchange=Exchange.from_dict(data["exchange"]) if data.get("exchange") else None,
        )
