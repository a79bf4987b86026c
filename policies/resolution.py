"""Planning the money: keep-the-item, fees, shipping, and the split into refund and credit.

"What to do" only; nothing here moves money. Every function returns the amounts it decided and
the ``RuleResult`` that explains them.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.context import Context
from policies.policy import amount, percent_of
from policies.published import shipping_fee
from policies.words import WORDED, Words
from refunds_plugin.domain.decision import Fee, Resolution
from refunds_plugin.domain.decision import RuleResult as R
from refunds_plugin.domain.facts import OrderLine, ReturnLine
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.language.said import N_, Joined, Listed, Percent, said
from refunds_plugin.money import Money

# Sentences without parameters, said once rather than per decision (equal text, id and
# parameters; nothing changes a message once made).
_RETURN_SHIPPING = said("return shipping")
_NO_FEES = said("No fees apply.")
_OUR_FAULT = said("the problem is ours")
_LAST_ITEM = said("this returns the last item of the order")
_SHIPPING_KEPT = said("Shipping is not refunded.")
_HONOURED = said("Your choice of resolution is honoured.")
_FOR_CHOOSING = said("for choosing store credit")
_ON_CREDIT = said("on your store credit")


@dataclass(slots=True)
class PlannedLine:
    line: OrderLine
    request: ReturnLine
    amount: int
    credit_only: bool


def keep_item(ctx: Context, pl: PlannedLine) -> R:
    """Must this line come back? Not if it never arrived, is cheap, or costs more to ship back."""
    keep = ctx.policy.resolution.keep_item
    below = keep.below.get(ctx.currency) if keep.below else None
    label = keep.return_label_cost.get(ctx.currency) if keep.return_label_cost else None
    saw = {"line_id": pl.line.id, "amount": pl.amount, "keep_below": below,
           "label_cost": label} if ctx.worded else {}
    name = pl.line.name
    if pl.request.reason is Reason.NOT_RECEIVED:
        return ctx.result("keep_item", "adjust", "nothing_to_return",
                          ctx.said("{name} never reached you, so there is nothing to send back.",
                                   name=name), saw)
    if below is not None and pl.amount < below:
        return ctx.result("keep_item", "adjust", "keep_item_low_value",
                          ctx.said("Keep {name}: it is not worth the trip back.", name=name), saw)
    if label is not None and label > pl.amount:
        return ctx.result("keep_item", "adjust", "keep_item_shipping_costs_more",
                          ctx.said("Keep {name}: shipping it back would cost more than it is "
                                   "worth.", name=name), saw)
    return ctx.result("keep_item", "pass", "return_required",
                      ctx.named(N_("Please send {name} back."), name), saw)


def fees(ctx: Context, planned: list[tuple[PlannedLine, bool]]) -> tuple[list[Fee], R]:
    """Restocking and return-shipping fees on customer-reason lines, unless waived."""
    rules, cur = ctx.policy.fees, ctx.currency
    charged = [(pl, back) for pl, back in planned
               if not pl.request.reason.merchant_fault
               and pl.request.reason not in rules.waive_for_reasons]
    base = sum(pl.amount for pl, _ in charged)
    saw: dict[str, object] = {"fee_base": base, "tier": ctx.standing.tier_name,
                              "restocking_percent": str(rules.restocking_percent)} \
        if ctx.worded else {}
    out: list[Fee] = []
    restock = percent_of(base, rules.restocking_percent) if base and rules.restocking_percent \
        else 0
    if restock:
        out.append(Fee("restocking", restock,
                       ctx.said("{percent} restocking fee",  # "10%": "% r" would read as a %-field
                                percent=Percent(rules.restocking_percent))))
    ship, ship_charged = _label_fee(ctx, charged)
    if ship and ship_charged:
        ship = min(ship, base - restock)
        if ship > 0:
            out.append(Fee("return_shipping", ship, _RETURN_SHIPPING))
    if ctx.worded:
        saw["fees"] = {f.code: f.amount for f in out}
    if out and ctx.standing.waive_fees:
        return [], ctx.result("fees", "adjust", "fees_waived_by_tier",
                              ctx.said("As a {tier} customer you pay no return fees.",
                                       tier=ctx.standing.tier_name), saw)
    if not out:
        return [], ctx.result("fees", "pass", "no_fees", _NO_FEES, saw)
    total = amount(sum(f.amount for f in out), cur)
    return out, ctx.result("fees", "adjust", "fees_charged",
                           ctx.said("Fees of {total} are deducted for returns that are not our "
                                    "fault.", total=total), saw)


def _label_fee(ctx: Context, charged: list[tuple[PlannedLine, bool]]) -> tuple[int | None, bool]:
    """The return-shipping fee and whether a line that carries it comes back: the policy's
    ``return_shipping.fee`` when the customer pays the label (not for the reasons or tiers in
    ``free_for``), else the older ``fees.return_shipping``. No label, no label fee: none when the
    policy buys no label (``label: none``) or the shop cannot buy one (``OrderFacts.can_label``,
    told by the caller: no carrier or no return address configured)."""
    rs, cur = ctx.policy.return_shipping, ctx.currency
    table = shipping_fee(ctx.policy, ctx.facts.can_label)  # the published page says the same
    if rs.paid_by != "customer":
        return (table.get(cur) if table else None), any(back for _, back in charged)
    if rs.label == "none" or not ctx.facts.can_label or ctx.standing.tier_name in rs.free_for:
        return None, False
    back = False
    for pl, b in charged:  # a loop, not a generator: this runs for every approval
        if b and pl.request.reason.value not in rs.free_for:
            back = True
            break
    return (table.get(cur) if table else None), back


_WHEN = {"first_scan": N_("the carrier first scans your parcel"),
         "delivered": N_("your parcel reaches us"),
         "inspected": N_("we have received and checked it")}
_HELD = {ResolutionKind.REFUND: N_("Your refund is sent once {when}."),
         ResolutionKind.CREDIT: N_("Your store credit is sent once {when}.")}


def money_moves(ctx: Context, resolutions: tuple[Resolution, ...], back: list[bool],
                instant_exchange: bool = False) -> R | None:
    """When the money moves, if not at approval: only for a return that must come back, by
    the policy's ``refund_on`` for each kind of money, at least until delivery for an instant
    exchange (None: at once, as always). Nothing waits where no return is opened for the
    parcel (``OrderFacts.return_opened`` False: no return address configured)."""
    if not any(back) or not (instant_exchange or ctx.policy.holds_money) \
            or not ctx.facts.return_opened:
        return None  # every kind of money moves at approval
    can_label = ctx.facts.can_label  # no label, no carrier scan: first_scan waits for delivery
    waits = {res.kind: ctx.policy.refund_on_for(res.kind, instant_exchange=instant_exchange,
                                                can_label=can_label).value
             for res in resolutions if res.total > 0}
    held = {k: on for k, on in waits.items() if on != "approval"}
    if not held:
        return None
    text = Joined(ctx.said(_HELD[k], when=ctx.said(_WHEN[on])) for k, on in sorted(held.items()))
    return ctx.result("refund_on", "adjust", "refund_on_" + "_".join(sorted(set(held.values()))),
                      text, {"refund_on": {k.value: on for k, on in waits.items()}})


def shipping(ctx: Context, planned: list[PlannedLine]) -> tuple[int, R]:
    """Original shipping comes back with the order's last item, or when the fault is ours."""
    facts, rules = ctx.facts, ctx.policy.shipping
    # a free order's shipping was paid nothing either (``Context.free``)
    remaining = 0 if ctx.free else max(0, facts.shipping_amount - facts.shipping_refunded)
    gone = dict(ctx.returned)
    fault = False
    for pl in planned:  # loops, not generators: this runs for every approval
        gone[pl.line.id] = gone.get(pl.line.id, 0) + pl.request.quantity
        fault = fault or pl.request.reason.merchant_fault
    last = True
    for ln in facts.lines:
        if gone.get(ln.id, 0) < ln.quantity:
            last = False
            break
    saw = {"remaining_shipping": remaining, "last_item": last, "merchant_fault": fault} \
        if ctx.worded else {}
    if remaining and ((last and rules.refund_with_last_item)
                      or (fault and rules.refund_on_merchant_fault)):
        why = _OUR_FAULT if fault and rules.refund_on_merchant_fault \
            else _LAST_ITEM
        return remaining, ctx.result("shipping", "adjust", "shipping_refunded",
                                     ctx.said("We refund your shipping of {amount} because {why}.",
                                              amount=amount(remaining, ctx.currency), why=why), saw)
    return 0, ctx.result("shipping", "pass", "shipping_kept", _SHIPPING_KEPT, saw)


def chosen(ctx: Context) -> ResolutionKind:
    """What the request resolves as: the customer's preference where allowed, else the default."""
    wanted, rules = ctx.request.preferred_resolution, ctx.policy.resolution
    return wanted if wanted in rules.allow else rules.default


def split(ctx: Context, planned: list[PlannedLine], ship: int, fee_total: int, *,
          extra_refund: int = 0, extra_credit: int = 0) -> tuple[tuple[Resolution, ...], list[R]]:
    """Refund and/or credit: honour the customer's choice where the policy allows it.

    Lines that are our fault go back to the original payment unless the customer asked for
    credit; credit-only lines go to credit; the rest follow the choice (or the policy default).
    Credit given instead of a refund (a credit-only line when refund was the choice) carries the
    bonus too: the policy promises store credit with its bonus, not store credit without it.
    """
    rules, cur = ctx.policy.resolution, ctx.currency
    wanted = ctx.request.preferred_resolution
    choice = chosen(ctx)
    refund = credit = 0
    forced: list[PlannedLine] = []  # refund was the choice, but these can only be credit
    for pl in planned:
        if (pl.request.reason.merchant_fault and wanted is not ResolutionKind.CREDIT) \
                or (choice is ResolutionKind.REFUND and not pl.credit_only):
            refund += pl.amount
        else:
            credit += pl.amount
            if choice is ResolutionKind.REFUND:
                forced.append(pl)
    if refund:
        refund += ship
    else:
        credit += ship
    # Fees come out of the part the customer chose, where the lines that carry them went.
    if choice is ResolutionKind.REFUND:
        taken = min(refund, fee_total)
        refund, credit = refund - taken, credit - min(credit, fee_total - taken)
    else:
        taken = min(credit, fee_total)
        credit, refund = credit - taken, refund - min(refund, fee_total - taken)
    # an exchange's cheaper price difference, already net of its own fees (``exchange.settle``)
    refund, credit = refund + extra_refund, credit + extra_credit
    results = [_resolution_said(ctx, wanted, choice, forced, refund, credit)]
    over = refund + credit - ctx.refundable
    if over > 0:
        cut = min(credit, over)
        credit, refund = credit - cut, refund - (over - cut)
        # say only what is true: with nothing refunded yet, the payment simply holds less
        if ctx.disputed:
            why = ctx.said("A disputed payment cannot be refunded until the dispute is settled")
        elif not ctx.captured:  # an order.paid before its payment (eligibility.payment)
            why = ctx.said("Until the payment reaches us there is nothing to refund from it")
        elif ctx.already_refunded:
            why = ctx.said("Part of this order's payment is already refunded or on its way")
        else:
            why = ctx.said("This is more than the order's payment holds")
        results.append(ctx.result("refundable_cap", "review", "exceeds_refundable",
                                  ctx.said("{why}, so our team will confirm the amount.", why=why),
                                  {"over_by": over, "refundable": ctx.refundable}))
    refund, credit = _not_automatic(ctx, refund, credit, results)
    step = ctx.facts.refund_increment  # store credit goes out through the same provider
    credit, credit_rounded = credit_rounding(cur, step, credit, words=ctx)
    bonus = 0
    if (choice is ResolutionKind.CREDIT or forced) and credit > 0 and rules.credit_bonus_percent:
        bonus, bonus_said = _bonus(ctx, credit, step, chose=not forced)
        results.append(bonus_said)
    out, left = _refunds(ctx, refund)
    rounded = rounding(cur, step, refund, refund - left, words=ctx)
    if rounded is not None:
        results.append(rounded)
    if credit_rounded is not None:
        results.append(credit_rounded)
    if credit > 0:
        out.append(Resolution(ResolutionKind.CREDIT, credit, bonus=bonus))
    return tuple(out), results


def _resolution_said(ctx: Context, wanted: ResolutionKind | None, choice: ResolutionKind,
                     forced: list[PlannedLine], refund: int, credit: int) -> R:
    """The resolution rule's sentence: "honoured" only when every line went where asked."""
    saw: dict[str, object] = {"preferred": None if wanted is None else wanted.value,
                              "choice": choice.value, "refund": refund, "credit": credit,
                              "refundable": ctx.refundable} if ctx.worded else {}
    if forced:
        saw["credit_instead_of_refund"] = list(dict.fromkeys(pl.line.id for pl in forced))
        names = list(dict.fromkeys(pl.line.name for pl in forced))
        if wanted is ResolutionKind.REFUND:
            text = ctx.said("You asked for a refund, but {items} can only be given as store "
                            "credit, as explained above.", items=Listed(names))
        else:
            names[0] = names[0][:1].upper() + names[0][1:]
            text = ctx.said("{items} can only be given as store credit, as explained above.",
                            items=Listed(names))
        return ctx.result("resolution", "adjust", "resolution_credit_instead", text, saw)
    return ctx.result("resolution", "pass", f"resolution_{choice.value}",
                      _HONOURED if wanted is choice
                      else ctx.said("Our policy resolves returns as {choice}.",
                                    choice=choice.value), saw)


def _not_automatic(ctx: Context, refund: int, credit: int, results: list[R]) -> tuple[int, int]:
    """The part of ``refund`` only payments that no app can refund could take (``blocked``: a
    Saleor transaction staff recorded, or whose app is off) becomes store credit where the
    policy offers credit; otherwise a person refunds it by hand (review)."""
    auto, blocked = 0, []
    for p in ctx.facts.payments:  # one pass, no generator: this runs for every approval
        if p.blocked is None:
            auto += p.refundable
        elif p.refundable > 0:
            blocked.append(p)
    short = refund - auto
    if short <= 0 or not blocked:
        return refund, credit
    why, cur = blocked[0].blocked, ctx.currency
    saw: dict[str, object] = {"payments": [p.reference for p in blocked], "not_automatic": short}
    if ResolutionKind.CREDIT in ctx.policy.resolution.allow:
        results.append(ctx.result("refund_route", "adjust", "credit_not_refund",
                                  ctx.said("{why}; {amount} comes back as store credit instead.",
                                           why=why, amount=amount(short, cur)),
                                  saw))
        return refund - short, credit + short
    results.append(ctx.result("refund_route", "review", "refund_not_automatic",
                              ctx.said("{why}, so our team will refund it by hand.", why=why), saw))
    return refund, credit


def rounding(cur: str, step: int, wanted: int, refunded: int, *,
             words: Context | Words = WORDED) -> R | None:
    """Why ``wanted`` became ``refunded``: the provider takes refunds only in ``step``s.
    ``words``: the decision's context, to say it as the other rules do (``policies/words.py``)."""
    lost = wanted - refunded
    if lost <= 0:
        return None
    return words.result(
        "rounding", "adjust", "provider_rounding",
        words.said("Card refunds in {currency} go in steps of {step}; {lost} could not be "
                   "refunded to your card.", currency=cur,
                   step=Money(step, cur).decimal_string(), lost=amount(lost, cur)),
        {"refund_increment": step, "wanted": wanted, "refunded": refunded,
         "not_refunded": lost})


def credit_rounding(cur: str, step: int, wanted: int, *,
                    words: Context | Words = WORDED) -> tuple[int, R | None]:
    """Store credit rounded down to the provider's ``step`` (a Stripe coupon in KWD is in tens
    of fils), so what is recorded and told is exactly what the provider issues. ``words``: as
    for ``rounding``."""
    given = wanted - wanted % step
    if given == wanted:
        return given, None
    lost = wanted - given
    return given, words.result(
        "rounding", "adjust", "provider_rounding",
        words.said("Store credit in {currency} goes in steps of {step}; {lost} could not be "
                   "given as store credit.", currency=cur,
                   step=Money(step, cur).decimal_string(), lost=amount(lost, cur)),
        {"credit_increment": step, "wanted": wanted, "credited": given, "not_credited": lost})


def _bonus(ctx: Context, credit: int, step: int, *, chose: bool) -> tuple[int, R]:
    """The store-credit bonus: its percentage, its cap, then down to the provider's step.
    ``chose``: the customer (or the policy's default) chose credit, rather than a refund
    that could only be given as credit."""
    rules, cur = ctx.policy.resolution, ctx.currency
    bonus = percent_of(credit, rules.credit_bonus_percent)
    cap = rules.credit_bonus_max.get(cur) if rules.credit_bonus_max else None
    bonus = bonus if cap is None else min(bonus, cap)
    given = bonus - bonus % step
    saw: dict[str, object] = {"percent": str(rules.credit_bonus_percent), "cap": cap,
                              "bonus": given} if ctx.worded else {}
    why = _FOR_CHOOSING if chose else _ON_CREDIT
    text = ctx.said("You get a bonus of {amount} {why}.", amount=amount(given, cur), why=why)
    if given != bonus:
        saw.update(bonus_before_rounding=bonus, credit_increment=step)
        text = ctx.said("You get a bonus of {amount} {why} ({before} rounded down: store credit "
                        "in {currency} goes in steps of {step}).", amount=amount(given, cur),
                        why=why, before=amount(bonus, cur), currency=cur,
                        step=Money(step, cur).decimal_string())
    return given, ctx.result("credit_bonus", "adjust", "credit_bonus", text, saw)


def _refunds(ctx: Context, amount: int) -> tuple[list[Resolution], int]:
    """Spread a refund over the order's payments, in order, each up to what it can refund.

    Each part is rounded down to the order's ``refund_increment`` (what the provider accepts);
    a payment's odd remainder is left for the next payment to cover. Returns the parts and
    what none of them could take.
    """
    out = []
    step = ctx.facts.refund_increment
    # payments an app can refund first: the others only in what a person refunds by hand
    for pay in sorted(ctx.facts.payments, key=lambda p: p.blocked is not None):
        if amount < step:
            break
        part = min(amount, pay.refundable)
        part -= part % step
        if part > 0:
            out.append(Resolution(ResolutionKind.REFUND, part, payment_reference=pay.reference))
            amount -= part
    return out, amount
