"""What an admin may change when approving a review: the amount, a waived fee, store credit
instead of a refund. The change makes a new set of resolutions for the decision's attempts; the
``decisions`` row and its journal entry keep what the policy said, and the ``review_decided``
entry records the change (``adjusted``) beside the verdict.

Limits: never more than the order's payments still have to give back (``refundable``), never
nothing (a zero payout is a decline), and never an amount the provider would refuse
(``check_steps``: Stripe takes three-decimal currencies in steps of 10 minor units). Whatever
is given as store credit instead of a refund, or at an amount the admin chose, carries no
policy bonus: the bonus belongs to the policy's own offer, and is kept only when the credit's
amount is left as the policy made it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from refunds_plugin.domain.decision import Decision, Resolution
from refunds_plugin.domain.facts import OrderFacts, PaymentFacts
from refunds_plugin.domain.kinds import ResolutionKind
from refunds_plugin.errors import InputError
from refunds_plugin.language.catalogue import english
from refunds_plugin.money import Money, refund_increment
from refunds_plugin.routing import paid_by


class NotRefundable(InputError):
    """Approving would pay out more than the order still has to give back."""

    code = "not_refundable"


@dataclass(frozen=True)
class Adjustment:
    amount: int | None = None  # the new amount to give back, minor units, before any bonus
    to_credit: bool = False
    waive_fees: bool = False

    @property
    def empty(self) -> bool:
        return self.amount is None and not self.to_credit and not self.waive_fees


def adjusted(decision: Decision, payments: tuple[PaymentFacts, ...] | list[PaymentFacts],
             change: Adjustment) -> Decision:
    """``decision`` with the admin's change applied, or ``NotRefundable`` / ``InputError``."""
    cur = decision.currency
    base = decision.amount
    fees = decision.fees
    if change.waive_fees:
        if not fees:
            raise InputError("this decision charged no fee to waive", code="no_fee")
        base += sum(f.amount for f in fees)
        fees = ()
    total = base if change.amount is None else change.amount
    if total <= 0:
        raise InputError(f"the amount must be more than {english(0, cur)}; to give nothing, "
                         "decline instead", code="bad_amount")
    left = sum(p.refundable for p in payments)
    if total > left:
        raise NotRefundable(
            f"{english(total, cur)} is more than the {english(left, cur)} this order still has "
            "to give back"
        )
    credits = [r for r in decision.resolutions if r.kind is ResolutionKind.CREDIT]
    refunds = [r for r in decision.resolutions if r.kind is ResolutionKind.REFUND]
    if change.to_credit or not refunds:
        same = not change.to_credit and total == sum(r.amount for r in credits)
        bonus = sum(r.bonus for r in credits) if same else 0
        made: tuple[Resolution, ...] = (Resolution(ResolutionKind.CREDIT, total, bonus=bonus),)
    else:
        kept = sum(r.amount for r in credits)
        if total < kept:
            raise InputError(
                f"{english(total, cur)} is less than the {english(kept, cur)} already given as "
                "store credit in this decision", code="bad_amount")
        made = (*credits, *_refunds(total - kept, refunds, payments, cur))
    return replace(decision, fees=fees, resolutions=made)


def check_steps(decision: Decision, facts: OrderFacts) -> None:
    """Refuse (``InputError`` ``amount_off_step``) an amount its provider takes only in steps
    (KWD through Stripe: 0.010), naming the step and the two nearest amounts it takes, rather
    than approving what the provider will refuse."""
    cur, by = decision.currency, paid_by(facts)
    for res in decision.resolutions:
        refund = res.kind is ResolutionKind.REFUND
        provider = by.get(res.payment_reference or "", "") if refund else by["credit"]
        amount, step = (res.amount if refund else res.total), refund_increment(provider, cur)
        if amount <= 0 or amount % step == 0:
            continue
        down = amount - amount % step
        near = [Money(m, cur).decimal_string() for m in (down, down + step) if m > 0]
        noun, verb = ("refunds", "go") if refund else ("store credit", "goes")
        raise InputError(
            f"{cur} {noun} through {provider.title()} {verb} in steps of {Money(step, cur)}: "
            f"{' or '.join(near)}", code="amount_off_step")


def _refunds(amount: int, was: list[Resolution], payments: Any, cur: str) -> list[Resolution]:
    """``amount`` spread over the payments, the ones the policy chose first."""
    order = [r.payment_reference for r in was] + [p.reference for p in payments]
    room = {p.reference: p.refundable for p in payments}
    out: list[Resolution] = []
    for ref in dict.fromkeys(order):
        take = min(amount, room.get(ref or "", 0))
        if take > 0:
            out.append(Resolution(ResolutionKind.REFUND, take, payment_reference=ref))
            amount -= take
    if amount > 0:  # pragma: no cover - the total was checked against the same room
        raise NotRefundable(f"{english(amount, cur)} does not fit the order's payments")
    return out


def journal_body(was: Decision, now_is: Decision, change: Adjustment) -> dict[str, Any]:
    """What the ``review_decided`` entry says was changed, in minor units and words."""
    return {
        "amount": now_is.amount,
        "bonus": sum(r.bonus for r in now_is.resolutions),
        "resolution": now_is.resolution_summary,
        "fees_waived": [f.code for f in was.fees] if change.waive_fees else [],
        "was": {"amount": was.amount, "resolution": was.resolution_summary},
    }
