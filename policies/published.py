"""The policy as the shop publishes it: sentences for customers, and schema.org's
``MerchantReturnPolicy`` (JSON-LD) for search engines, both read from the same policy fields.

``description.py`` says every rule in the merchant's English (content hash, tiers, abuse checks,
limits: none of it for customers), so the customer's sentences are built here, once, as ``said``
messages that the returns page renders in the reader's language. Pure: no I/O; the caller says
whether the shop can buy the labels the policy asks for (``can_label``), as ``describe`` takes it.
"""

from __future__ import annotations

from typing import Any

from policies.policy import CUSTOMER_REASONS, Action, AmountTable, Anchor, Policy
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.language.said import N_, Amount, Listed, Percent, Said, said
from refunds_plugin.money import Money

SCHEMA = "https://schema.org/"

_WITHIN = {Anchor.DELIVERY: N_("You can return items within {days} days of delivery."),
           Anchor.FULFILMENT: N_("You can return items within {days} days of dispatch."),
           Anchor.PAYMENT: N_("You can return items within {days} days of payment.")}


_FINAL_SALE = {
    Action.CREDIT: N_("Items sold as final sale can be returned for store credit only."),
    Action.DECLINE: N_("Items sold as final sale can be returned only if something went wrong "
                       "on our side."),
    Action.REVIEW: N_("A return of an item sold as final sale is looked at by a person first."),
}

# why a customer's own return costs nothing, as the end of "No fees are taken when …"
_WHY = {frozenset({Reason.TOO_SMALL, Reason.TOO_LARGE}): N_("an item does not fit"),
        frozenset({Reason.TOO_SMALL}): N_("an item is too small"),
        frozenset({Reason.TOO_LARGE}): N_("an item is too large"),
        frozenset({Reason.CHANGED_MIND}): N_("you changed your mind"),
        frozenset({Reason.OTHER}): N_("you return an item for another reason")}


def _whys(reasons: set[Reason]) -> list[Said]:
    """``reasons`` as the fewest "when …" phrases: not fitting, too small or large alone, a
    change of mind, another reason."""
    out: list[Said] = []
    for group, why in _WHY.items():
        if group <= reasons:
            out.append(said(why))
            reasons = reasons - group
    return out


def _free_of_fees(policy: Policy, fee: AmountTable | None) -> list[Said]:
    """The customer reasons that pay no fee (``fees.waive_for_reasons``: none at all) or no
    return shipping (``return_shipping.free_for``, when the customer pays the label)."""
    if fee is None and not policy.fees.restocking_percent:
        return []
    free_all = {r for r in CUSTOMER_REASONS if r in policy.fees.waive_for_reasons}
    rs = policy.return_shipping
    free_ship = {r for r in CUSTOMER_REASONS if r.value in rs.free_for} - free_all \
        if fee is not None and rs.paid_by == "customer" else set()
    if not policy.fees.restocking_percent:  # the shipping fee is the only fee
        free_all, free_ship = free_all | free_ship, set()
    return ([said("No fees are taken when {why}.", why=w) for w in _whys(free_all)]
            + [said("No return shipping is taken when {why}.", why=w) for w in _whys(free_ship)])


def _reason_rules(policy: Policy) -> list[Said]:
    """The customer reasons the policy declines, and those it settles in store credit only
    (``reasons``): "within 30 days" alone would promise them a refund."""
    declined = {r for r in CUSTOMER_REASONS if policy.reason_action(r) is Action.DECLINE}
    credit = {r for r in CUSTOMER_REASONS if policy.reason_action(r) is Action.CREDIT}
    return ([said("No return is accepted when {why}.", why=w) for w in _whys(declined)]
            + [said("You get store credit only when {why}.", why=w) for w in _whys(credit)])


def returns_permitted(policy: Policy) -> bool:
    """Whether a customer may send anything back for their own reasons: not when every
    customer reason is declined (what is our fault is always taken back)."""
    return any(policy.reason_action(r) is not Action.DECLINE for r in CUSTOMER_REASONS)


def fault_window_ends(policy: Policy) -> bool:
    """Whether a return that is our fault can come too late: the window (``eligibility.window``)
    applies to every reason, so only an unlimited window (no override ending either) takes it
    back always (``outside`` is decline, review or credit: none of them is a full refund)."""
    w = policy.window
    return w.outside is not Action.ACCEPT and (
        w.days is not None or any(o.days is not None for o in w.overrides))


def shipping_fee(policy: Policy, can_label: bool) -> AmountTable | None:
    """The return-shipping fee a customer may pay for a return that is not our fault: the label
    fee when they pay the label and one is bought, else the older ``fees.return_shipping``
    (``resolution._label_fee`` deducts it by the same choice)."""
    rs = policy.return_shipping
    if rs.paid_by != "customer":
        return policy.fees.return_shipping
    if rs.label == "none" or not can_label:
        return None
    return rs.fee


def _amounts(table: AmountTable) -> Listed:
    return Listed(Amount(minor, cur) for cur, minor in table.amounts)


def customer_sentences(policy: Policy, *, can_label: bool = True, returns_open: bool = True,
                       promise: bool = True) -> list[str]:
    """The policy in the customer's words, one ``said`` sentence each, in reading order.

    ``returns_open``: a return is opened for the parcel (a return address is configured,
    ``[[return_addresses]]``); without one no deadline is kept and no money waits for a parcel,
    so neither is said. ``promise``: say when the money goes (not in a dry run or test mode,
    where none moves, as the answers leave it out)."""
    w, r, f = policy.window, policy.resolution, policy.fees
    out: list[str] = []
    if not returns_permitted(policy):
        out.append(said("We do not take back items you no longer want."))
    elif w.days is None:
        out.append(said("You can return items at any time."))
    else:
        out.append(said(_WITHIN[w.start], days=w.days))
    if returns_permitted(policy) and any(o.days != w.days for o in w.overrides):
        out.append(said("Some items have a different return window; the return form of your "
                        "order shows the date for each item."))
    if returns_permitted(policy) and w.days is not None and w.outside is Action.CREDIT:
        out.append(said("After that, you can still return them for store credit."))
    if returns_permitted(policy):
        out += _reason_rules(policy)
    if policy.final_sale.tags:  # for every customer reason; a fault of ours is refunded
        out.append(said(_FINAL_SALE[policy.final_sale.action]))
    shipping = policy.shipping.refund_on_merchant_fault
    if fault_window_ends(policy):  # a fault told after the window is decided as the window says
        out.append(said("If an item arrives damaged, faulty or wrong, or never arrives, and you "
                        "tell us within the return window, you get a full refund, including "
                        "shipping, with no fees.") if shipping else
                   said("If an item arrives damaged, faulty or wrong, or never arrives, and you "
                        "tell us within the return window, you get a full refund with no fees."))
    else:
        out.append(said("If an item arrives damaged, faulty or wrong, or never arrives, you "
                        "always get a full refund, including shipping, with no fees.")
                   if shipping else
                   said("If an item arrives damaged, faulty or wrong, or never arrives, you "
                        "always get a full refund with no fees."))
    kinds = set(r.allow)
    if kinds == {ResolutionKind.REFUND}:
        out.append(said("Your money goes back to your original payment."))
    elif kinds == {ResolutionKind.CREDIT}:
        out.append(said("You get store credit for what you return."))
    else:
        out.append(said("You can choose a refund to your original payment or store credit."))
    if policy.exchange.allowed:
        out.append(said("You can also exchange an item for another one."))
    if r.refund_within_days is not None and ResolutionKind.REFUND in kinds:
        out.append(said("A refund to your original payment is possible for {days} days; after "
                        "that, you get store credit.", days=r.refund_within_days))
    if r.credit_bonus_percent and ResolutionKind.CREDIT in kinds:
        cap = r.credit_bonus_max
        out.append(said("Choosing store credit adds a bonus of {percent}, up to {amounts}, in "
                        "the currency you paid in.", percent=Percent(r.credit_bonus_percent),
                        amounts=_amounts(cap))  # the bonus is capped at that
                   if cap is not None and cap.amounts else
                   said("Choosing store credit adds a bonus of {percent}.",  # "10%"
                        percent=Percent(r.credit_bonus_percent)))
    fee = shipping_fee(policy, can_label)
    labelled = policy.return_shipping.label == "easypost" and can_label
    out.append(said("We give you a prepaid return label.") if labelled else
               said("You send items back yourself, by post, with the instructions we give you."))
    if returns_open:
        out.append(said("Please send them within {days} days of our answer.",
                        days=policy.return_shipping.return_by_days))
    if fee is not None and fee.amounts:
        out.append(said("For a return that is not our fault, return shipping is taken from "
                        "your refund: {amounts}, in the currency you paid in.",
                        amounts=_amounts(fee)))
    if f.restocking_percent:
        out.append(said("For a return that is not our fault, a restocking fee of {percent} "
                        "is taken from your refund.", percent=Percent(f.restocking_percent)))
    out += _free_of_fees(policy, fee)
    if fee is None and not f.restocking_percent:
        out.append(said("No fees are taken from your refund."))
    if r.keep_item.below or r.keep_item.return_label_cost:
        out.append(said("For some low-priced items, you keep the item and still get your "
                        "money back."))
    if promise:
        out.append(said("We send your money within {hours} hours once your return is "
                        "approved.", hours=policy.promise_hours)
                   if not (policy.holds_money and returns_open) else
                   said("We send your money within {hours} hours once your parcel is on its "
                        "way back to us or has arrived.", hours=policy.promise_hours))
        if returns_open and policy.instant_holds_more:
            out.append(said("If we send you a new item before your return reaches us, no money "
                            "for that return is sent before your parcel has arrived."))
    return out


def _money(minor: int, currency: str) -> dict[str, str]:
    return {"@type": "MonetaryAmount", "currency": currency,
            "value": Money(minor, currency).decimal_string()}


def _number(value: Any) -> int | float:
    """A percentage as a JSON number (schema.org's ``restockingFee`` is a Number): whole ones
    as integers, others as the nearest float (12.5)."""
    return int(value) if value == int(value) else float(value)


def merchant_return_policy(policy: Policy, *, link: str, can_label: bool = True,
                           country: str | None = None) -> dict[str, Any]:
    """schema.org ``MerchantReturnPolicy`` of the policy. ``link``: the published page's URL;
    ``country``: ``applicableCountry``, only when the shop configured one (never guessed).
    A fee in several currencies is one ``MonetaryAmount`` per currency."""
    out: dict[str, Any] = {"@context": "https://schema.org", "@type": "MerchantReturnPolicy",
                           "merchantReturnLink": link}
    if country:
        out["applicableCountry"] = country
    if not returns_permitted(policy):
        out["returnPolicyCategory"] = SCHEMA + "MerchantReturnNotPermitted"
        return out
    if policy.window.days is None:
        out["returnPolicyCategory"] = SCHEMA + "MerchantReturnUnlimitedWindow"
    else:
        out["returnPolicyCategory"] = SCHEMA + "MerchantReturnFiniteReturnWindow"
        out["merchantReturnDays"] = policy.window.days
    out["returnMethod"] = SCHEMA + "ReturnByMail"
    fee = shipping_fee(policy, can_label)
    if fee is not None and fee.amounts:
        out["returnFees"] = SCHEMA + "ReturnShippingFees"
        amounts = [_money(minor, cur) for cur, minor in fee.amounts]
        out["returnShippingFeesAmount"] = amounts[0] if len(amounts) == 1 else amounts
    elif policy.return_shipping.label == "easypost" and can_label:
        # the label is free; a restocking fee is not, so the return is not called free
        out["returnFees"] = SCHEMA + ("RestockingFees" if policy.fees.restocking_percent
                                      else "FreeReturn")
    else:  # no label bought: the customer posts the parcel at their own cost
        out["returnFees"] = SCHEMA + "ReturnFeesCustomerResponsibility"
    if policy.fees.restocking_percent:
        out["restockingFee"] = _number(policy.fees.restocking_percent)
    kinds = {ResolutionKind.REFUND: "FullRefund", ResolutionKind.CREDIT: "StoreCreditRefund"}
    refund = [SCHEMA + kinds[k] for k in policy.resolution.allow if k in kinds]
    if policy.exchange.allowed:
        refund.append(SCHEMA + "ExchangeRefund")
    out["refundType"] = refund[0] if len(refund) == 1 else refund
    return out
