"""What the policy answered: each rule's result, the lines, fees, the resolution,
an exchange, and the decision itself. Amounts are integer minor units.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from refunds_plugin.domain.kinds import DecisionKind, Outcome, ResolutionKind
from refunds_plugin.slots import slot_init as _slot_init


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
    unit_amount: int  # the new item's price: its list price, or a running promotion's
    variant_id: str | None = None
    # the returned units at their list price, kept only when they were paid otherwise (an order
    # discount, or tax, spread over the line): the new units then cost the same share of their
    # own list price (``carried``); None: they cost ``unit_amount``, as before
    out_list: int | None = None
    # the new item's list price where a promotion sells it for less (``Variant.list_amount``)
    in_list: int | None = None

    @property
    def in_amount(self) -> int:
        """What the new units cost the customer."""
        price = self.unit_amount * self.quantity
        if self.out_list is None:
            return price
        return swapped(price, None if self.in_list is None else self.in_list * self.quantity,
                       self.out_amount, self.out_list)


def carried(list_in: int, paid_out: int, list_out: int) -> int:
    """The price of new items listed at ``list_in`` for a customer whose returned items, listed
    at ``list_out``, were paid ``paid_out``: the discount (or tax) the line was paid with carries
    over, ``list_in × paid_out / list_out``, rounded down to the minor unit (in the customer's
    favour). Items paid their list price, or without one, cost ``list_in``."""
    if paid_out == list_out or list_out <= 0:
        return list_in
    return list_in * paid_out // list_out


def swapped(price: int, listed: int | None, paid_out: int, list_out: int) -> int:
    """What new items selling for ``price`` cost in exchange for returned items listed at
    ``list_out`` and paid ``paid_out``: their list price (``listed``; None: ``price`` is it) with
    the returned items' discount carried over, and never more than ``price``, so a promotion
    that discounted the returned items and still runs on the new ones is not taken twice."""
    if listed is None:
        return carried(price, paid_out, list_out)
    return min(price, carried(listed, paid_out, list_out))


@_slot_init
@dataclass(frozen=True, slots=True)
class Exchange:
    """The exchanged lines of a decision and how their price difference is settled.

    ``difference`` is what the new items cost over the returned ones plus any fees that apply
    (negative: cheaper). It is settled as ``back`` (refunded or credited, per ``lower``),
    ``waived`` and ``charge`` (what the customer pays before the exchange goes ahead); the three
    always add up to ``difference`` in absolute value. ``ship_on`` says when the new items ship,
    as decided: ``first_scan`` only where a label is bought for the return, else ``delivered``
    (``Policy.ship_on_for``: no label, no carrier scan).
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

    def units_back(self) -> dict[str, int]:
        """Per order line, the units that come back as a plain return: the lines the decision
        asks back, less those an exchange swaps (its own return records them)."""
        wanted: dict[str, int] = {}
        if self.return_required:
            for ln in self.lines:
                if ln.return_required:
                    wanted[ln.line_id] = wanted.get(ln.line_id, 0) + ln.quantity
        for swapped in self.exchange.lines if self.exchange else ():
            wanted[swapped.line_id] = wanted.get(swapped.line_id, 0) - swapped.quantity
        return {lid: q for lid, q in wanted.items() if q > 0}

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


def answered_at(outcome: str, review: str | None, reviewed_at: datetime | None,
                created_at: datetime) -> datetime | None:
    """When the customer's answer was given: None while a person has yet to decide an open
    review. An approval whose money a person is now looking at (a refused refund, an exchange
    that could not go ahead) was still given when it was recorded; a closed review was given
    when the person decided it."""
    if review == "open" and outcome != Outcome.APPROVE.value:
        return None
    return reviewed_at or created_at
