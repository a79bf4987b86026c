"""The one plain-language paragraph a customer reads about their decision."""

from __future__ import annotations

from policies.context import Context
from policies.policy import money_text
from policies.resolution import PlannedLine, chosen
from refunds_plugin.domain import Fee, Outcome, Reason, Resolution, ResolutionKind, RuleResult


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def explain(ctx: Context, outcome: Outcome, planned: list[PlannedLine], back: list[bool],
            resolutions: tuple[Resolution, ...], fees: list[Fee], ship: int,
            notes: list[RuleResult], refused: list[RuleResult],
            reviews: list[RuleResult], rounded: RuleResult | None = None,
            held: RuleResult | None = None, *, exchanged: bool = False) -> str:
    """Open with the answer, then the money, the fees, what to send back, and what was left out.

    The money named is exactly what the resolutions hold (a refund already rounded to the
    provider's step); ``rounded`` is said only when the rounding left no money at all.
    """
    cur = ctx.currency
    asked: dict[str, int] = {}  # one entry per order line, however often the request named it
    for pl in planned:
        asked[pl.line.name] = asked.get(pl.line.name, 0) + pl.request.quantity
    items = _join([f"{q} × {name}" for name, q in asked.items()])
    approved = outcome is Outcome.APPROVE
    if approved:
        parts = [f"Your return of {items} is approved."]
    else:
        why = " ".join(dict.fromkeys(r.message for r in reviews))
        parts = [f"Thank you. Your return of {items} needs a quick check by our team. {why}"]
    if resolutions or not exchanged:  # an even exchange moves no money: nothing to say
        parts.append(_money(resolutions, cur, approved, rounded,
                            chosen(ctx) is ResolutionKind.CREDIT))
    if ship:
        parts.append(f"This includes {money_text(ship, cur)} for the original shipping.")
    if fees:
        listed = _join([f"{money_text(f.amount, cur)} {f.description}" for f in fees])
        parts.append(f"We deducted {listed}, as the return is not due to a fault of ours.")
    if notes:
        parts.extend(dict.fromkeys(n.message for n in notes))
    send, keep = _by_line(planned, back, True), _by_line(planned, back, False)
    if send:
        parts.append(f"Please send back {_join(list(send))}." if approved
                     else f"Once it is approved, we will ask you to send back {_join(list(send))}.")
    if keep:
        them = "them" if sum(keep.values()) > 1 else "it"
        parts.append(f"You don't need to send back {_join(list(keep))}; please keep {them}.")
    parts.extend(f"Not included: {r.message}" for r in refused)
    if approved and resolutions and held is not None:
        parts.append(f"{held.message} It will then be on its way within "
                     f"{ctx.policy.promise_hours} hours.")
    elif approved and resolutions:
        parts.append(f"The money will be on its way within {ctx.policy.promise_hours} hours.")
    return " ".join(filter(None, parts))


def _by_line(planned: list[PlannedLine], back: list[bool], sent: bool) -> dict[str, int]:
    """Item names to send back (or keep) with their units, each order line once; a line that
    never arrived is in neither list (there is nothing to send or keep)."""
    units: dict[str, int] = {}
    for pl, b in zip(planned, back, strict=True):
        if b is sent and pl.request.reason is not Reason.NOT_RECEIVED:
            units[pl.line.id] = units.get(pl.line.id, 0) + pl.request.quantity
    names = {pl.line.id: pl.line.name for pl in planned}
    return {names[lid]: q for lid, q in units.items()}


def _money(resolutions: tuple[Resolution, ...], cur: str, approved: bool,
           rounded: RuleResult | None, chose_credit: bool) -> str:
    refund = sum(r.amount for r in resolutions if r.kind is ResolutionKind.REFUND)
    credit = [r for r in resolutions if r.kind is ResolutionKind.CREDIT]
    bits = []
    if refund:
        bits.append(f"refund {money_text(refund, cur)} to your original payment")
    for c in credit:
        # credit given instead of a refund carries the bonus too, but was not chosen
        why = " for choosing credit" if chose_credit else ""
        bonus = f" (including a {money_text(c.bonus, cur)} bonus{why})" if c.bonus else ""
        bits.append(f"give you {money_text(c.total, cur)} in store credit{bonus}")
    if not bits and rounded is not None:
        return rounded.message
    if not bits:
        return "After fees there is nothing left to refund." if approved else ""
    lead = "We will" if approved else "If it is approved, we will"
    return f"{lead} {_join(bits)}."
