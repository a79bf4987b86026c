"""Exchanges: may a returned line be swapped for the item the customer chose, what does the price
difference cost, and when does the new item ship. Pure, like the other rules.

A line asks for an exchange with ``exchange_for``. One that cannot be exchanged (not offered, not
for this reason, out of stock, not the same product, a difference we cannot charge) is not
refused: it comes back as the refund or store credit the policy would give, and the customer is
told why and what they get instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policies import resolution
from policies.context import Context
from policies.eligibility import LABELS
from policies.policy import Scope, ShipOn, amount
from policies.resolution import PlannedLine
from refunds_plugin.domain.decision import Exchange, ExchangeLine
from refunds_plugin.domain.decision import RuleResult as R
from refunds_plugin.domain.facts import Variant
from refunds_plugin.domain.kinds import ResolutionKind
from refunds_plugin.language.said import N_
from refunds_plugin.money import stripe_minimum_charge

# payments through which a price difference can be charged (a Checkout Session)
CHARGEABLE = frozenset({"stripe"})


@dataclass(slots=True)
class Plan:
    """The request's lines split into swaps (with the item each becomes) and the rest."""

    swaps: list[tuple[PlannedLine, Variant]] = field(default_factory=list)
    rest: list[PlannedLine] = field(default_factory=list)
    notes: list[R] = field(default_factory=list)


def instead(ctx: Context, pl: PlannedLine) -> str:
    """What a line that cannot be exchanged comes back as, in words."""
    rules = ctx.policy.resolution
    if pl.credit_only or resolution.chosen(ctx) is ResolutionKind.CREDIT:
        if rules.credit_bonus_percent and not pl.credit_only:
            return ctx.said("store credit with its {percent}% bonus",
                            percent=str(rules.credit_bonus_percent))
        return ctx.said("store credit")
    return ctx.said("a refund")


def _known(pl: PlannedLine, item: Variant) -> Variant | None:
    """The order's own record of the chosen item (``variants`` of the line), if it has one."""
    return next((v for v in pl.line.variants if v.sku == item.sku
                 or (item.variant_id and v.variant_id == item.variant_id)), None)


def _refusal(ctx: Context, pl: PlannedLine, item: Variant) -> tuple[str, str] | None:
    """(code, why) when this line cannot become ``item``; None when it can."""
    x, name = ctx.policy.exchange, pl.line.name
    if not x.allowed:
        return "exchange_not_offered", ctx.said("we do not offer exchanges")
    reason = pl.request.reason
    if x.reasons and reason not in x.reasons:
        return ("exchange_not_for_reason",
                ctx.said("exchanges are not offered for items returned as '{label}'",
                         label=ctx.said(LABELS[reason])))
    known = _known(pl, item)
    if item.in_stock is False or (known is not None and known.in_stock is False):
        return "exchange_out_of_stock", ctx.said("{item} is out of stock", item=item.name)
    same = known is not None or item.sku == pl.line.sku
    if x.scope is Scope.SAME_PRODUCT and not same:
        return ("exchange_not_same_product",
                ctx.said("{item} is not another size or colour of {name}, and we exchange "
                         "only for the same product", item=item.name, name=name))
    return None


def plan(ctx: Context, planned: list[PlannedLine]) -> Plan:
    """Which lines are swapped; every line that asked and cannot be says why and what instead."""
    out = Plan()
    for pl in planned:
        item = pl.request.exchange_for
        if item is None:
            out.rest.append(pl)
            continue
        refused = _refusal(ctx, pl, item)
        saw = {"line_id": pl.line.id, "sku": item.sku, "unit_amount": item.unit_amount}
        if refused is None:
            out.swaps.append((pl, item))
            out.notes.append(ctx.result("exchange", "adjust", "exchange_approved",
                                       ctx.said("We will exchange {name} for {item}.",
                                                name=pl.line.name, item=item.name), saw))
            continue
        out.rest.append(pl)
        code, why = refused
        saw["instead"] = instead(ctx, pl)
        out.notes.append(ctx.result("exchange", "adjust", code,
                                   ctx.said("We can't exchange {name}: {why}, so it comes back as "
                                            "{instead} instead.", name=pl.line.name, why=why,
                                            instead=saw["instead"]), saw))
    return out


def settle(ctx: Context, swaps: list[tuple[PlannedLine, Variant]],
           fee_total: int) -> tuple[Exchange, R]:
    """The price difference of the swapped lines, settled as the policy says.

    The new items cost their list price with the discount the returned units were paid with
    carried over (``ExchangeLine.out_list``, ``domain.decision.carried``: rounded down, in the
    customer's favour): a shirt listed 50.00 and bought at 40.00 after a 20% code swaps for
    another size listed 50.00 at no cost, for one listed 60.00 at 8.00 more. An item a running
    promotion sells below its list price (``Variant.list_amount``) never costs more than that
    (``domain.decision.swapped``).

    Lower: ``back`` as a refund or store credit. Higher: waived up to the policy's amount in the
    order's currency, the rest charged; a charge is taken in the provider's step (tens of fils
    for KWD on Stripe), the odd remainder waived rather than rounded up against the customer.
    ``fee_total``: the return fees of the swapped lines, counted only with ``fees: apply``.
    """
    x, cur = ctx.policy.exchange, ctx.currency
    lines = tuple(ExchangeLine(pl.line.id, pl.request.quantity, pl.amount, item.sku, item.name,
                               item.unit_amount, item.variant_id, _out_list(pl),
                               item.list_amount)
                  for pl, item in swaps)
    fees = fee_total if x.fees_apply else 0
    out_amount = sum(ln.out_amount for ln in lines)
    in_amount = sum(ln.in_amount for ln in lines)
    diff = in_amount - out_amount + fees
    saw: dict[str, object] = {"out": out_amount, "in": in_amount, "fees": fees,
                              "difference": diff}
    ex = Exchange(lines=lines, difference=diff, fees=fees, lower=x.lower.value)
    fee_said = ctx.said(" (with {amount} of return fees)", amount=amount(fees, cur)) if fees else ""
    if diff == 0:
        return ex, ctx.result("exchange_price", "pass", "exchange_even",
                              ctx.said("The new item costs the same{fees}: nothing to pay, "
                                       "nothing back.", fees=fee_said), saw)
    if diff < 0:
        back = -diff
        how = ctx.said("as store credit") if x.lower is ResolutionKind.CREDIT else \
            ctx.said("to your original payment")
        ex = Exchange(lines=lines, difference=diff, fees=fees, back=back, lower=x.lower.value)
        return ex, ctx.result("exchange_price", "adjust", f"exchange_lower_{x.lower.value}",
                              ctx.said("The new item costs {amount} less{fees}; that difference "
                                       "comes back {how}.", amount=amount(back, cur),
                                       fees=fee_said, how=how), saw)
    limit = (x.waive_up_to.get(cur) or 0) if x.waive_up_to is not None else 0
    waived = min(diff, limit)
    charge = diff - waived
    step = ctx.facts.refund_increment
    if charge % step:
        waived, charge = waived + charge % step, charge - charge % step
    minimum = stripe_minimum_charge(cur) if chargeable(ctx) else None
    below = bool(charge and minimum and charge < minimum)
    if below:  # Stripe would refuse so small a charge: waived, and said so
        waived, charge = waived + charge, 0
    saw.update(waive_limit=limit, waived=waived, charge=charge,
               **({"minimum_charge": minimum} if below else {}))
    ex = Exchange(lines=lines, difference=diff, fees=fees, lower=x.lower.value, waived=waived,
                  charge=charge)
    more = ctx.said("The new item costs {amount} more{fees}", amount=amount(diff, cur),
                    fees=fee_said)
    if below:
        assert minimum is not None
        return ex, ctx.result("exchange_price", "adjust", "exchange_higher_below_minimum",
                              ctx.said("{more}; that is less than the smallest amount we can "
                                       "charge by card ({minimum}), so we waive it.", more=more,
                                       minimum=amount(minimum, cur)), saw)
    if not charge:
        return ex, ctx.result("exchange_price", "adjust", "exchange_higher_waived",
                              ctx.said("{more}; we waive the difference.", more=more), saw)
    part = ctx.said("we waive {waived} and you pay {charge}", waived=amount(waived, cur),
                    charge=amount(charge, cur)) \
        if waived else ctx.said("you pay {charge}", charge=amount(charge, cur))
    return ex, ctx.result("exchange_price", "adjust", "exchange_higher_charged",
                          ctx.said("{more}: {part}. Your exchange goes ahead once you have paid.",
                                   more=more, part=part), saw)


def _out_list(pl: PlannedLine) -> int | None:
    """The returned units at their list price, when they were paid another amount (a discount
    or tax spread over the line: ``OrderLine.total_amount``); None when paid their list price."""
    listed = pl.line.unit_amount * pl.request.quantity
    return None if pl.amount == listed or listed <= 0 else listed


def chargeable(ctx: Context) -> bool:
    """Whether a price difference can be charged on this order: a Stripe payment, and the
    service able to take money through it (``OrderFacts.can_charge``; not in a dry run)."""
    return ctx.facts.can_charge and any(p.provider in CHARGEABLE for p in ctx.facts.payments)


def ship_on(ctx: Context, all_kept: bool) -> tuple[ShipOn, R]:
    """When the new items ship: the policy's ``ship_on``; instant only for its tiers; at once when
    nothing has to come back first, or when no return is opened for the parcel
    (``OrderFacts.return_opened`` False: no return address, so nothing could release them);
    ``first_scan`` as ``delivered`` where no label is bought (``OrderFacts.can_label`` False or
    ``label: none``): no carrier scan can come then."""
    x = ctx.policy.exchange
    tier = ctx.standing.tier_name
    saw: dict[str, object] = {"ship_on": x.ship_on.value, "tier": tier,
                              "instant_for_tiers": list(x.instant_for_tiers)}
    if all_kept:
        return ShipOn.APPROVAL, ctx.result(
            "exchange_ship", "adjust", "exchange_ships_now",
            ctx.said("Your new item ships right away: nothing has to come back first."), saw)
    if not ctx.facts.return_opened:  # no return address: no parcel can be recorded to wait for
        saw["return_opened"] = False
        return ShipOn.APPROVAL, ctx.result(
            "exchange_ship", "adjust", "exchange_ships_approval_no_return_address",
            ctx.said("Your new item ships right away: we do not wait for your return to reach "
                     "us."), saw)
    when = x.ship_on
    not_instant = when is ShipOn.APPROVAL and bool(x.instant_for_tiers) \
        and tier not in x.instant_for_tiers
    if not_instant:
        when = ShipOn.FIRST_SCAN
    # no label, no carrier scan: first_scan waits for delivery (``Policy.ship_on_for``)
    ships = ctx.policy.ship_on_for(when, can_label=ctx.facts.can_label)
    if ships is not when:
        saw["carrier_scan"] = False
    if not_instant:
        names = " and ".join(x.instant_for_tiers)  # the merchant's tier names
        return ships, ctx.result(
            "exchange_ship", "adjust", "exchange_not_instant_for_tier",
            ctx.said("Instant exchanges are for {tiers} customers, so your new item ships {when}.",
                     tiers=names, when=ctx.said(_WHEN[ships])), saw)
    return ships, ctx.result("exchange_ship", "adjust", f"exchange_ships_{ships.value}",
                             ctx.said("Your new item ships {when}.", when=ctx.said(_WHEN[ships])),
                             saw)


_WHEN = {ShipOn.APPROVAL: N_("right away, before your return reaches us"),
         ShipOn.FIRST_SCAN: N_("as soon as the carrier first scans your return"),
         ShipOn.DELIVERED: N_("as soon as your return is delivered to us"),
         ShipOn.INSPECTED: N_("as soon as we have inspected your return")}
