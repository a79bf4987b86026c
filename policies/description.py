"""A policy in plain words, one sentence per rule (``refunds policy check`` prints these)."""

from __future__ import annotations

from policies.policy import Action, AmountTable, Anchor, Policy, RefundOn, Scope, ShipOn
from policies.published import fault_window_ends
from refunds_plugin.domain.kinds import ResolutionKind
from refunds_plugin.money import Money


def _amount(table: AmountTable | None, none: str = "no limit") -> str:
    if table is None:
        return none
    return " / ".join(str(Money(minor, cur)) for cur, minor in table.amounts)


def _days(days: int | None) -> str:
    return "any time (lifetime guarantee)" if days is None else f"within {days} days"


# after the promise, in test mode: what the customer is told then (``explain``'s money line)
TEST_MODE = ("Test mode (no REFUNDS_STRIPE_API_KEY, or a test key), as the service sees it: no "
             "real money moves for orders paid with Stripe, and their customers are not told "
             "when money goes.")

_OUTSIDE = {Action.DECLINE: "declined", Action.REVIEW: "sent to review",
            Action.CREDIT: "offered store credit", Action.ACCEPT: "accepted"}


def describe(policy: Policy, *, can_label: bool = True, returns_open: bool = True,
             test_mode: bool = False) -> list[str]:
    """Every rule the policy sets, as a merchant would say it to a customer; ``can_label``:
    whether the shop can buy the prepaid labels the policy asks for (a carrier is configured);
    ``returns_open``: whether a return is opened for the parcel (a return address is
    configured): without one nothing waits for a parcel, as the service then acts;
    ``test_mode``: Stripe has no key or a test key, so its customers are told no promise."""
    w, r, f = policy.window, policy.resolution, policy.fees
    out = [f"Policy {policy.name} (sha256 {policy.content_hash[:12]}…)."]
    if policy.title:
        out.append(policy.title)
    if w.days is None:
        out.append("Returns are accepted any time (lifetime guarantee).")
    else:
        first, then = (a.value for a in Anchor if a is not w.start)  # context.start_date's order
        out.append(f"Returns are accepted within {w.days} days of {w.start.value} (if that date "
                   f"is unknown: the {first} date, else the {then} date); later requests "
                   f"are {_OUTSIDE[w.outside]}.")
    out += [f"Items with {o.match} {o.value!r}: returns {_days(o.days)}." for o in w.overrides]
    if policy.final_sale.tags:
        out.append(f"Items tagged {', '.join(policy.final_sale.tags)} are final sale: "
                   f"{_OUTSIDE[policy.final_sale.action]} unless the problem is ours.")
    shipping = " with shipping" if policy.shipping.refund_on_merchant_fault else ""
    if fault_window_ends(policy):  # the window applies to our faults too
        out.append("Damaged, defective, wrong, not-as-described or never-received items get a "
                   f"full refund{shipping} and no fees within the return window (later requests "
                   f"are {_OUTSIDE[w.outside]}).")
    else:
        out.append("Damaged, defective, wrong, not-as-described or never-received items always "
                   f"get a full refund{shipping} and no fees.")
    for reason, action in policy.reasons:
        label = reason.value.replace("_", " ")
        said = "store credit only" if action is Action.CREDIT else _OUTSIDE[action]
        out.append(f"Reason '{label}': {said}.")
    out.append(_limits(policy))
    for t in policy.tiers:
        extra = "unlimited window" if t.extra_window_days is None \
            else f"+{t.extra_window_days} days on the window"
        out.append(f"Tier {t.name} (projected value ≥ {_amount(t.min_projected_value, 'any')}, "
                   f"≥ {t.min_orders} orders, ≥ {t.min_months} months): {extra}, limits "
                   f"{_amount(t.limits.per_request, 'unchanged')} per request and "
                   f"{_amount(t.limits.per_order, 'unchanged')} per order"
                   f"{', no fees' if t.waive_fees else ''}.")
    out.append(_abuse(policy))
    allowed = " or ".join(k.value for k in r.allow)
    if len(r.allow) == 1:  # the customer has no choice: "as the customer prefers" misled
        out.append(f"Resolution: always {allowed}, whatever the customer prefers.")
    else:
        out.append(f"Resolution: {allowed} as the customer prefers (default {r.default.value}).")
    out += _exchange(policy, can_label, returns_open)
    if r.refund_within_days is not None:
        out.append(f"Refunds to the original payment within {r.refund_within_days} days; "
                   "store credit after that.")
    if r.credit_bonus_percent:
        most = "no maximum" if r.credit_bonus_max is None else \
            f"at most {_amount(r.credit_bonus_max)}"
        out.append(f"Choosing store credit earns a {r.credit_bonus_percent}% bonus ({most}).")
    k = r.keep_item
    keep = [f"worth under {_amount(k.below)}" if k.below else "",
            f"whose return label ({_amount(k.return_label_cost)}) would cost more than the item"
            if k.return_label_cost else ""]
    if any(keep):
        out.append(f"Customers keep items {' or '.join(x for x in keep if x)}.")
    if f.restocking_percent or f.return_shipping:
        waived = ", ".join(x.value for x in f.waive_for_reasons) or "none"
        out.append(f"Fees on other reasons: {f.restocking_percent}% restocking, "
                   f"{_amount(f.return_shipping, 'no')} return shipping (waived for: {waived}).")
    else:
        out.append("No return fees besides the label below."
                   if _label_fee_taken(policy, can_label) else "No return fees.")
    s = policy.shipping
    out.append("Original shipping is refunded " + (" or ".join(
        [x for x, on in (("with the last item of an order", s.refund_with_last_item),
                         ("when the problem is ours", s.refund_on_merchant_fault)) if on])
        or "never") + ".")
    out.extend(_return_shipping(policy, can_label) if returns_open else _no_return(policy))
    if test_mode:
        out.append(TEST_MODE)
    trouble = policy.trouble
    out.append(f"We look for trouble: overpayments {_on(trouble.overpayment.enabled)}, "
               f"duplicate charges {_on(trouble.duplicate_charge.enabled)} "
               f"({trouble.duplicate_charge.window_hours} h), failed payments "
               f"{_on(trouble.failed_payment.enabled)} "
               f"(follow up after {trouble.failed_payment.follow_up_after_hours} h).")
    if trouble.auto_correct_order_updates:
        out.append("Corrections on an order changed by a re-sent order.paid are made without a "
                   "person.")
    return out


def _label_fee_taken(policy: Policy, can_label: bool) -> bool:
    """Whether the customer can pay the label fee: they pay it, and a label is bought
    (``resolution._label_fee``: no label, no label fee)."""
    rs = policy.return_shipping
    return rs.paid_by == "customer" and rs.label == "easypost" and can_label


def _return_shipping(policy: Policy, can_label: bool = True) -> list[str]:
    """How items come back and when the money moves, in plain words."""
    rs = policy.return_shipping
    labelled = rs.label == "easypost" and can_label
    label = ("a prepaid EasyPost label (the cheapest allowed rate)" if labelled
             else "return instructions (the customer ships it)")
    out = [f"Items that must come back get {label}; they must be sent within "
           f"{rs.return_by_days} days of approval (a return not scanned "
           f"{rs.grace_days} days after that expires"
           + (" and its label is voided)." if labelled else ").")]
    if rs.label == "easypost" and not can_label:
        out.append("The policy asks for a prepaid EasyPost label, but this shop cannot buy one "
                   "(no REFUNDS_EASYPOST_API_KEY or no return address), so no label is "
                   "promised" + (f" and the {_amount(rs.fee)} label fee is not deducted."
                                 if rs.paid_by == "customer" else "."))
    elif _label_fee_taken(policy, can_label):
        out.append(f"The customer pays {_amount(rs.fee)} for the return label, deducted from "
                   f"the refund (free for: {', '.join(rs.free_for) or 'nobody'}).")
    elif rs.paid_by == "customer":
        out.append(f"No label is bought (label: none), so the {_amount(rs.fee)} label fee is "
                   "never deducted.")
    elif labelled:
        out.append("The shop pays for the return label.")
    out.extend(f"Packing notes{f' ({code})' if code else ''}: {text}"
               for code, text in rs.packing_notes)
    # no label, no carrier scan: first_scan waits for delivery (``Policy.refund_on_for``)
    ons = {kind: policy.refund_on_for(kind, can_label=can_label) for kind, _ in policy.refund_on}
    if policy.waits_for_a_scan and not policy.labels_scanned(can_label):
        out.append("The policy sends money at the carrier's first scan, but without a prepaid "
                   "label no carrier scan reaches the shop, so that money waits for delivery "
                   "to the shop instead (the warehouse records the parcel).")
    out.append(f"Money is on its way within {_after(policy, ons)}.")
    if policy.instant_holds_more:  # the new item ships first: the money waits for the parcel
        x = policy.exchange
        who = f" for {' and '.join(x.instant_for_tiers)} customers" if x.instant_for_tiers else ""
        held = {kind: policy.refund_on_for(kind, instant_exchange=True, can_label=can_label)
                for kind, _ in policy.refund_on}
        out.append(f"An instant exchange (its new item ships at approval{who}) holds the money "
                   f"of its return: on its way within {_after(policy, held)}.")
    return out


_WORDS = {"approval": "approval", "first_scan": "the carrier's first scan",
          "delivered": "delivery to the shop", "inspected": "the warehouse's inspection"}


def _after(policy: Policy, ons: dict[ResolutionKind, RefundOn]) -> str:
    """"48 hours of approval", or per kind when the kinds wait for different moments."""
    if len(set(ons.values())) == 1:
        return f"{policy.promise_hours} hours of {_WORDS[next(iter(ons.values())).value]}"
    return f"{policy.promise_hours} hours of " + "; ".join(
        f"{_WORDS[on.value]} ({kind.value})" for kind, on in ons.items())


def _no_return(policy: Policy) -> list[str]:
    """``_return_shipping`` for a shop with no return address: no return is opened, so no
    deadline, label or scan, and every refund and credit moves at approval."""
    out = ["Items that must come back get no address, deadline or label from this shop (no "
           "return address is configured): the customer is told \"The shop will tell you where "
           "to send it.\""]
    if policy.holds_money:
        out.append("The policy holds money for the parcel (refund_on), but with no return "
                   "address no return waits for one, so the money moves at approval instead.")
    out.append(f"Money is on its way within {policy.promise_hours} hours of approval.")
    return out


def _limits(policy: Policy) -> str:
    """The automatic-approval limits; a limit that is not set is said as such, never as
    "up to no limit"."""
    lim = policy.limits
    if lim.per_request is None and lim.per_order is None:
        return "Approved automatically at any amount: no limit per request or per order."
    said = [f"{_amount(t)} per {what}" for t, what in
            ((lim.per_request, "request"), (lim.per_order, "order")) if t is not None]
    unset = [f"no limit per {what}" for t, what in
             ((lim.per_request, "request"), (lim.per_order, "order")) if t is None]
    return (f"Approved automatically up to {' and '.join(said)}{'; ' + unset[0] if unset else ''}"
            "; above that a person reviews.")


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def _abuse(policy: Policy) -> str:
    a = policy.abuse
    if not a.enabled:
        return "No abuse checks."
    signals = []
    if a.max_refunds is not None:
        more = (f" (one more for every {a.orders_per_extra_refund} orders they have placed)"
                if a.orders_per_extra_refund else "")
        signals.append(f"already had {a.max_refunds} refunds in the last {a.window_days} days"
                       f"{more}")
    if a.max_refund_amount is not None:
        signals.append(f"would pass {_amount(a.max_refund_amount)} refunded in that time")
    if a.max_refund_ratio_percent is not None:
        signals.append(f"has had over {a.max_refund_ratio_percent}% of purchases refunded")
    if a.max_not_received_claims is not None:
        signals.append(f"claims 'not received' after {a.max_not_received_claims} such claims")
    said = "A person reviews (never refuses) when a customer " + "; or ".join(signals) + "."
    if a.recent_signals_need_ratio_percent is not None and (a.max_refunds is not None or
                                                            a.max_refund_amount is not None):
        said += (" The count and amount of recent refunds matter only once at least "
                 f"{a.recent_signals_need_ratio_percent}% of what the customer paid has come back.")
    credit = "counts" if a.count_store_credit else "does not count"
    return (f"{said} Store credit {credit} as money refunded; returns wholly our fault never "
            "count as refunds.")


def _exchange(policy: Policy, can_label: bool = True, returns_open: bool = True) -> list[str]:
    """What an exchange is: which items, the price difference, fees, when the new item ships
    (``first_scan`` as delivery where no label is bought: ``Policy.ship_on_for``; at approval
    where no return is opened)."""
    x = policy.exchange
    if not x.allowed:
        return []
    which = "another size or colour of the same product" if x.scope is Scope.SAME_PRODUCT \
        else "any product we sell"
    why = "" if not x.reasons else \
        f" (for the reasons {', '.join(r.value.replace('_', ' ') for r in x.reasons)} only)"
    lower = "store credit" if x.lower is ResolutionKind.CREDIT else "a refund"
    higher = "the customer pays the difference" if x.waive_up_to is None else \
        f"we waive up to {_amount(x.waive_up_to)} of the difference and the customer pays the rest"
    fees = "the return fees apply to it" if x.fees_apply else "no return fees"
    ship = _SHIP_ON[policy.ship_on_for(x.ship_on, can_label=can_label)]
    if not returns_open:
        ship = "at once, on approval (no return address is configured, so no return waits " \
            "for its parcel)"
    elif x.ship_on is ShipOn.APPROVAL and x.instant_for_tiers:
        later = _SHIP_ON[policy.ship_on_for(ShipOn.FIRST_SCAN, can_label=can_label)]
        ship = f"{ship} for {' and '.join(x.instant_for_tiers)} customers; for others {later}"
    out = [f"Exchanges: a returned item may be swapped for {which}{why}. A cheaper item: the "
           f"difference comes back as {lower}; a dearer one: {higher}. An exchange has "
           f"{fees}. The new item ships {ship}. An exchange we cannot make (out of stock, not "
           "allowed) is offered as a refund or store credit instead."]
    if returns_open and policy.ships_on_a_scan and not policy.labels_scanned(can_label):
        out.append("The policy ships an exchange's new item at the carrier's first scan, but "
                   "without a prepaid label no carrier scan reaches the shop, so it ships when "
                   "the return is delivered to the shop instead (the warehouse records the "
                   "parcel).")
    return out


_SHIP_ON = {ShipOn.APPROVAL: "at once, on approval (instant exchange)",
            ShipOn.FIRST_SCAN: "when the carrier first scans the return",
            ShipOn.DELIVERED: "when the return is delivered to us",
            ShipOn.INSPECTED: "when we have inspected the return"}
