"""The one plain-language paragraph a customer reads about their decision."""

from __future__ import annotations

import re

from policies.context import Context
from policies.eligibility import FREE
from policies.policy import amount
from policies.resolution import PlannedLine, chosen
from refunds_plugin.domain.decision import Fee, Resolution, RuleResult
from refunds_plugin.domain.facts import OrderFacts
from refunds_plugin.domain.kinds import Outcome, Reason, ResolutionKind
from refunds_plugin.language.said import N_, Joined, Listed, Said, said
from refunds_plugin.money import ISO_4217


def cannot_fail(facts: OrderFacts) -> bool:
    """Whether ``explain`` is sure not to raise on these facts. Every other input it reads is
    made by the rules (integer amounts, messages as text); from the facts it formats money in
    the order's currency (``Amount``: ``CurrencyError`` for a code that is not ISO 4217) and
    joins and keys the items' names (``TypeError`` for a name that is not text)."""
    cur = facts.currency
    return isinstance(cur, str) and cur.strip().upper() in ISO_4217 and all(
        isinstance(ln.name, str) for ln in facts.lines)


def _join(items: list[str]) -> Listed:
    return Listed(items)


def _units(counts: dict[str, int]) -> Listed:
    return Listed(said("{qty} × {name}", qty=q, name=name) for name, q in counts.items())


def explain(ctx: Context, outcome: Outcome, planned: list[PlannedLine], back: list[bool],
            resolutions: tuple[Resolution, ...], fees: list[Fee], ship: int,
            notes: list[RuleResult], refused: list[RuleResult],
            reviews: list[RuleResult], rounded: RuleResult | None = None,
            held: RuleResult | None = None, *, exchanged: bool = False) -> Joined:
    """Open with the answer, then the money, the fees, what to send back, and what was left out.

    The money named is exactly what the resolutions hold (a refund already rounded to the
    provider's step); ``rounded`` is said only when the rounding left no money at all. Every
    sentence is a ``Said`` (``refunds_plugin.language.said``): the English text is the one the
    ledger keeps, and the structure lets each reader read it in their language.
    """
    cur = ctx.currency
    asked: dict[str, int] = {}  # one entry per order line, however often the request named it
    for pl in planned:
        asked[pl.line.name] = asked.get(pl.line.name, 0) + pl.request.quantity
    items = _units(asked)
    approved = outcome is Outcome.APPROVE
    parts: list[str] = []
    if approved:
        parts.append(said("Your return of {items} is approved.", items=items))
    else:
        parts.append(said("Thank you. Your return of {items} needs a quick check by our team.",
                          items=items))
        parts.extend(dict.fromkeys(r.message for r in reviews))
    if resolutions or not exchanged:  # an even exchange moves no money: nothing to say
        parts.append(_money(resolutions, cur, approved, rounded,
                            chosen(ctx) is ResolutionKind.CREDIT, free=ctx.free))
    if ship:
        parts.append(said("This includes {amount} for the original shipping.",
                          amount=amount(ship, cur)))
    if fees:
        listed = _join([said("{amount} {fee}", amount=amount(f.amount, cur), fee=f.description)
                        for f in fees])
        parts.append(said("We deducted {fees}, as the return is not due to a fault of ours.",
                          fees=listed))
    if notes:
        parts.extend(dict.fromkeys(n.message for n in notes))
    send, keep = _by_line(planned, back, True), _by_line(planned, back, False)
    if send:  # as the status page says it: "Please send back: 2 × Cup."
        parts.append(said("Please send back: {items}.", items=_each(send)) if approved
                     else said("Once it is approved, we will ask you to send back {items}.",
                               items=Listed(send)))
    if keep:  # with their units too, as the pages list them
        parts.append(said("You don't need to send back {items}; please keep them.",
                          items=_each(keep)) if sum(keep.values()) > 1
                     else said("You don't need to send back {items}; please keep it.",
                               items=_each(keep)))
    parts.extend(said("Not included: {why}", why=r.message) for r in refused)
    if approved and resolutions and held is not None:
        parts.append(held.message)
        parts.append(said(HELD_PROMISE, hours=ctx.policy.promise_hours))
    elif approved and resolutions:
        parts.append(said(PROMISE, hours=ctx.policy.promise_hours))
    return Joined(parts)


# the promise of when the money leaves, and the same after money held for the parcel: left out
# once the money has arrived, and wherever no money moves (the shop's test mode)
PROMISE = N_("The money will be on its way within {hours} hours.")
HELD_PROMISE = N_("It will then be on its way within {hours} hours.")
_PROMISED = re.compile(r" ?(?:The money will be|It will then be) on its way within \d+ hours\.")


def without_promise(text: str) -> str:
    """The explanation less its promise of when the money will be on its way, for a reader
    whose money has arrived or will not move; the ledger keeps what was said. Sentences stay
    sentences (said again per reader); a text recorded without its message ids loses the
    promise's English words."""
    if isinstance(text, Joined):
        return Joined(without_promise(p) for p in text.parts
                      if getattr(p, "msgid", None) not in (PROMISE, HELD_PROMISE))
    if isinstance(text, Said):
        return text
    return _PROMISED.sub("", text)

# the money sentence, and what it says where no money moves (the shop's dry run): the ledger
# keeps what the policy said, each reader of a dry run reads the conditional
WILL = N_("We will {what}.")
IF_APPROVED = N_("If it is approved, we will {what}.")
DRY_RUN = {WILL: N_("Dry run: we would {what}; no money moves."),
           IF_APPROVED: N_("Dry run: if it is approved, we would {what}; no money moves.")}
# the same in a text recorded without its message ids: "We will refund 25.00 USD to ..." up
# to the full stop ending the sentence (an amount's own point is followed by a digit)
_WILL = re.compile(r"\b(We will|If it is approved, we will) ((?:refund|give you) .*?)\.(?=\s|$)")


def as_dry_run(text: str) -> str:
    """The explanation as a reader of a dry run reads it: no promise of when the money will be
    on its way, and "we would" where the policy said "we will", saying that no money moves.
    Used wherever the order's money goes to the dry run (answer, pages, emails)."""
    if isinstance(text, Joined):
        return Joined(as_dry_run(p) for p in text.parts
                      if getattr(p, "msgid", None) not in (PROMISE, HELD_PROMISE))
    if isinstance(text, Said):
        return Said(DRY_RUN[text.msgid], text.params) if text.msgid in DRY_RUN else text
    return _WILL.sub(lambda m: ("Dry run: we would" if m.group(1) == "We will" else
                                "Dry run: if it is approved, we would")
                     + f" {m.group(2)}; no money moves.", _PROMISED.sub("", text))


# said by decisions recorded before the send-back sentence carried its units: kept in the
# catalogues so those decisions still read in every language
EARLIER = (N_("Please send back {items}."),
           # before the bonus sentences lost their article ("a 8.00 USD bonus"; here and in
           # ``resolution._bonus``)
           N_("give you {amount} in store credit (including a {bonus} bonus for choosing "
              "credit)"),
           N_("give you {amount} in store credit (including a {bonus} bonus)"),
           N_("You get a {amount} bonus {why}."),
           N_("You get a {amount} bonus {why} ({before} rounded down: store credit in "
              "{currency} goes in steps of {step})."))


def _each(units: dict[str, int]) -> Listed:
    """Items with their units as the status page lists them: ``2 × Cup``, a single one by name."""
    return Listed(said("{qty} × {name}", qty=q, name=name) if q > 1 else name
                  for name, q in units.items())


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
           rounded: RuleResult | None, chose_credit: bool, *, free: bool = False) -> str:
    refund = sum(r.amount for r in resolutions if r.kind is ResolutionKind.REFUND)
    credit = [r for r in resolutions if r.kind is ResolutionKind.CREDIT]
    bits: list[str] = []
    if refund:
        bits.append(said("refund {amount} to your original payment",
                         amount=amount(refund, cur)))
    for c in credit:
        # credit given instead of a refund carries the bonus too, but was not chosen
        if c.bonus and chose_credit:
            bits.append(said("give you {amount} in store credit (including a bonus of {bonus} "
                             "for choosing credit)", amount=amount(c.total, cur),
                             bonus=amount(c.bonus, cur)))
        elif c.bonus:
            bits.append(said("give you {amount} in store credit (including a bonus of {bonus})",
                             amount=amount(c.total, cur), bonus=amount(c.bonus, cur)))
        else:
            bits.append(said("give you {amount} in store credit", amount=amount(c.total, cur)))
    if not bits and rounded is not None:
        return rounded.message
    if not bits and free:  # nothing was paid, so no fee took it: say why there is no money
        return FREE
    if not bits:
        return said("After fees there is nothing left to refund.") if approved else ""
    if approved:
        return said(WILL, what=_join(bits))
    return said(IF_APPROVED, what=_join(bits))
