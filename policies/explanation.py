"""The one plain-language paragraph a customer reads about their decision."""

from __future__ import annotations

from policies.context import Context
from policies.policy import money_text
from policies.resolution import PlannedLine
from refunds_plugin.domain import Fee, Outcome, Resolution, ResolutionKind, RuleResult


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def explain(ctx: Context, outcome: Outcome, planned: list[PlannedLine], back: list[bool],
            resolutions: tuple[Resolution, ...], fees: list[Fee], ship: int,
            notes: list[RuleResult], refused: list[RuleResult],
            reviews: list[RuleResult], rounded: RuleResult | None = None) -> str:
    """Open with the answer, then the money, the fees, what to send back, and what was left out.

    The money named is exactly what the resolutions hold (a refund already rounded to the
    provider's step); ``rounded`` is said only when the rounding left no money at all.
    """
    cur = ctx.currency
    items = _join([f"{pl.request.quantity} × {pl.line.name}" for pl in planned])
    approved = outcome is Outcome.APPROVE
    if approved:
        parts = [f"Your return of {items} is approved."]
    else:
        why = " ".join(dict.fromkeys(r.message for r in reviews))
        parts = [f"Thank you. Your return of {items} needs a quick check by our team. {why}"]
    parts.append(_money(resolutions, cur, approved, rounded))
    if ship:
        parts.append(f"This includes {money_text(ship, cur)} for the original shipping.")
    if fees:
        listed = _join([f"{money_text(f.amount, cur)} {f.description}" for f in fees])
        parts.append(f"We deducted {listed}, as the return is not due to a fault of ours.")
    if notes:
        parts.extend(dict.fromkeys(n.message for n in notes))
    send = [pl.line.name for pl, b in zip(planned, back, strict=True) if b]
    keep = [pl.line.name for pl, b in zip(planned, back, strict=True) if not b]
    if send:
        parts.append(f"Please send back {_join(send)}." if approved
                     else f"Once it is approved, we will ask you to send back {_join(send)}.")
    if keep:
        parts.append(f"You don't need to send back {_join(keep)}; please keep it.")
    parts.extend(f"Not included: {r.message}" for r in refused)
    if approved and resolutions:
        parts.append(f"The money will be on its way within {ctx.policy.promise_hours} hours.")
    return " ".join(filter(None, parts))


def _money(resolutions: tuple[Resolution, ...], cur: str, approved: bool,
           rounded: RuleResult | None) -> str:
    refund = sum(r.amount for r in resolutions if r.kind is ResolutionKind.REFUND)
    credit = [r for r in resolutions if r.kind is ResolutionKind.CREDIT]
    bits = []
    if refund:
        bits.append(f"refund {money_text(refund, cur)} to your original payment")
    for c in credit:
        bonus = (f" (including a {money_text(c.bonus, cur)} bonus for choosing credit)"
                 if c.bonus else "")
        bits.append(f"give you {money_text(c.total, cur)} in store credit{bonus}")
    if not bits and rounded is not None:
        return rounded.message
    if not bits:
        return "After fees there is nothing left to refund." if approved else ""
    lead = "We will" if approved else "If it is approved, we will"
    return f"{lead} {_join(bits)}."
