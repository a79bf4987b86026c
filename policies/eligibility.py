"""Eligibility rules: is the request well formed, is there money, and may each line come back?

Each rule is a small pure function answering one question with a ``RuleResult``. Per-line
verdicts: ``pass`` (accept), ``adjust`` (accept as store credit only), ``review``, ``decline``.
"""

from __future__ import annotations

from policies.context import Context
from policies.policy import Action, Anchor, WindowOverride
from refunds_plugin.domain.decision import RuleResult
from refunds_plugin.domain.facts import OrderLine, ReturnLine
from refunds_plugin.domain.kinds import Reason
from refunds_plugin.language.said import N_, said

# Sentences without parameters, said once rather than per decision (equal text, id and
# parameters; nothing changes a message once made).
_LINES_VALID = said("Every item asked for is on the order and not yet returned.")
_REFUNDABLE = said("There is money on the order to return.")
_REFUND_AVAILABLE = said("A refund to your original payment is available.")
FREE = said("This order was free, so there is no money to return.")
# Earlier wordings, no longer said: a stored decision keeps its English words (and its journal
# entry's hash) and its message id (``decisions.said``), so each stays in the catalogues for
# those decisions to be read in the reader's language (``said.render``).
EARLIER = (N_("Only {left} of {name} can still be returned, not {qty}."),
           N_("{name} has already been returned."))

_OUTSIDE = {
    Action.DECLINE: ("outside_window", N_("The {days}-day return window for {name} has passed "
                                          "({age} days since {start}).")),
    Action.REVIEW: ("outside_window_review", N_("The {days}-day return window for {name} has "
                    "passed ({age} days since {start}); our team will look at it.")),
    Action.CREDIT: ("outside_window_credit", N_("The {days}-day return window for {name} has "
                    "passed ({age} days since {start}), so we can offer store credit.")),
    Action.ACCEPT: ("within_window", N_("The {days}-day return window for {name} has passed "
                                        "({age} days since {start}).")),
}
# the date a window counts from, as a word in the sentences above (translated with its article)
_START = {Anchor.DELIVERY: N_("delivery"), Anchor.FULFILMENT: N_("fulfilment"),
          Anchor.PAYMENT: N_("payment")}
_FINAL_SALE = {
    Action.DECLINE: ("final_sale", N_("{name} was sold as final sale and cannot be returned.")),
    Action.REVIEW: ("final_sale_review",
                    N_("{name} was sold as final sale; our team will decide.")),
    Action.CREDIT: ("final_sale_credit", N_("{name} was sold as final sale, so our guarantee "
                                            "gives you store credit for it.")),
    Action.ACCEPT: ("final_sale_accepted", N_("{name} was final sale, but we accept it anyway.")),
}
_REASON = {
    Action.ACCEPT: ("reason_accepted", N_("Returns because of '{label}' are accepted.")),
    Action.CREDIT: ("reason_credit_only",
                    N_("Returns because of '{label}' are refunded as store credit.")),
    Action.REVIEW: ("reason_review", N_("Returns because of '{label}' are checked by our team.")),
    Action.DECLINE: ("reason_not_accepted", N_("Returns because of '{label}' are not accepted.")),
}
_ACTION_VERDICT = {Action.ACCEPT: "pass", Action.CREDIT: "adjust", Action.REVIEW: "review",
                   Action.DECLINE: "decline"}
# each reason as the explanation names it (the returns page has its own, longer labels)
LABELS = {Reason.DAMAGED: N_("damaged"), Reason.DEFECTIVE: N_("defective"),
          Reason.WRONG_ITEM: N_("wrong item"), Reason.NOT_AS_DESCRIBED: N_("not as described"),
          Reason.NOT_RECEIVED: N_("not received"), Reason.CHANGED_MIND: N_("changed mind"),
          Reason.TOO_SMALL: N_("too small"), Reason.TOO_LARGE: N_("too large"),
          Reason.OTHER: N_("other")}
# (verdict, code, sentence) for each action on each reason, worded once rather than per line.
_REASON_SAID = {(action, r): (_ACTION_VERDICT[action], code,
                              said(text, label=said(LABELS[r])))
                for action, (code, text) in _REASON.items() for r in Reason}


def request_lines(ctx: Context) -> RuleResult:
    """Does every requested line exist on the order, with units still left to return?"""
    req, facts = ctx.request, ctx.facts
    saw: dict[str, object] = {"order_id": facts.order_id, "request_order_id": req.order_id} \
        if ctx.worded else {}
    if req.order_id != facts.order_id:
        return ctx.result("request_lines", "decline", "order_mismatch",
                          ctx.said("This request is for order {asked}, not {order}.",
                                   asked=req.order_id, order=facts.order_id), saw)
    if not req.lines:
        return ctx.result("request_lines", "decline", "empty_request",
                          ctx.said("The request does not name any item to return."), saw)
    wanted: dict[str, int] = {}
    for rl in req.lines:
        if rl.line_id in wanted:  # never merged: two lines would be valued as if each came first
            saw.update(line_id=rl.line_id)
            return ctx.result("request_lines", "decline", "duplicate_line",
                              ctx.said("Item {line} is named more than once.",
                                       line=rl.line_id), saw)
        wanted[rl.line_id] = rl.quantity
    returned = ctx.returned
    for line_id, qty in wanted.items():
        line = ctx.lines.get(line_id)
        if line is None:
            saw.update(line_id=line_id, quantity=qty)
            return ctx.result("request_lines", "decline", "unknown_line",
                              ctx.said("Order {order} has no item {line}.", order=facts.order_id,
                                       line=line_id), saw)
        remaining = line.quantity - returned.get(line_id, 0)
        if qty <= 0 or qty > remaining:
            saw.update(line_id=line_id, quantity=qty, remaining=remaining)
        if qty <= 0:
            return ctx.result("request_lines", "decline", "invalid_quantity",
                              ctx.said("The quantity of {name} to return must be at least 1.",
                                       name=line.name), saw)
        if qty > remaining:
            # ``returned`` counts every unit of an approved or in-review return, received or
            # not: "requested" is true of each; "returned" only of those back at the shop
            text = (ctx.said("A return has already been requested for {item}.", item=line.name)
                    if remaining == 0
                    else ctx.said("{name}: only {left} can still be returned, not {qty}.",
                                  left=remaining, name=line.name, qty=qty))
            return ctx.result("request_lines", "decline", "quantity_exceeds_remaining", text,
                              saw)
    return ctx.result("request_lines", "pass", "lines_valid",
                      _LINES_VALID,
                      {"lines": len(wanted)})


def payment(ctx: Context) -> RuleResult:
    """Is there captured money to give back, and is none of it disputed? With no payment
    recorded at all (an ``order.paid`` before the provider's payment event) a person looks:
    nothing was refunded, so "already refunded" would not be true. A free order (total 0,
    nothing captured) owed nothing: its return is no money question, and the items are
    decided as the policy says, worth 0 (``Context.free``)."""
    saw = {"captured": ctx.captured, "refundable": ctx.refundable,
           "disputed": ctx.disputed} if ctx.worded else {}
    if ctx.disputed:
        return ctx.result("payment", "review", "payment_disputed",
                          ctx.said("A payment on this order is disputed with your bank, so our "
                                   "team will look at this by hand."), saw)
    if ctx.free:  # nothing was owed, so nothing is missing: not "not received"
        return ctx.result("payment", "pass", "free_order", FREE, saw)
    if ctx.captured <= 0:  # no payment recorded (yet): not "refunded already"
        return ctx.result("payment", "review", "payment_not_received",
                          ctx.said("We have not received the payment for this order yet; a "
                                   "person will look at your return."), saw)
    if ctx.refundable <= 0:
        return ctx.result("payment", "decline", "nothing_refundable",
                          ctx.said("Everything paid for this order has already been refunded."),
                          saw)
    return ctx.result("payment", "pass", "refundable",
                      _REFUNDABLE, saw)


def window(ctx: Context, line: OrderLine, rl: ReturnLine) -> RuleResult:
    """Is this line still inside its return window (with SKU/tag/collection and tier overrides)?"""
    days, source = window_days(ctx, line)
    saw: dict[str, object] = {"line_id": line.id, "days": days, "set_by": source,
                              "from": str(ctx.anchor) if ctx.anchor else None,
                              "age_days": ctx.age_days, "tier": ctx.standing.tier_name} \
        if ctx.worded else {}
    if days is None:
        return ctx.result("window", "pass", "lifetime_guarantee",
                          ctx.named(N_("{name} is covered for life."), line.name), saw)
    age = ctx.age_days
    if age is None:
        return ctx.result("window", "review", "no_start_date",
                          ctx.said("We could not tell when your order was delivered, so our team "
                                   "will check the dates."), saw)
    if age <= days:
        return ctx.result("window", "pass", "within_window",
                          ctx.named(N_("{name} is within its {days}-day return window."),
                                    line.name, days), saw)
    action = ctx.policy.window.outside
    code, text = _OUTSIDE[action]
    return ctx.result("window", _ACTION_VERDICT[action], code,
                      ctx.said(text, days=days, name=line.name, age=age, start=_start(ctx)),
                      saw)


def _start(ctx: Context) -> str:
    """The window's start as a word: English as the policy names it, translatable."""
    word = _START.get(ctx.anchor) if ctx.anchor is not None else None
    return ctx.said(word) if word is not None else str(ctx.anchor)


def window_days(ctx: Context, line: OrderLine) -> tuple[int | None, str]:
    """Days for this line (None = unlimited): SKU beats tag beats collection beats the default."""
    rules = ctx.policy.window
    days, source = rules.days, "default"
    if rules.overrides:
        for kind, values in (("sku", (line.sku,)), ("tag", line.tags),
                             ("collection", line.collections)):
            hits = [o for o in rules.overrides if o.match == kind and o.value in values]
            if hits:
                days, source = _most_generous(hits), f"{kind}:{hits[0].value}"
                break
    if days is not None and ctx.standing.tiers:
        extra = ctx.standing.extra_window_days
        days = None if extra is None else days + extra
    return days, source


def _most_generous(hits: list[WindowOverride]) -> int | None:
    if any(o.days is None for o in hits):
        return None
    return max(o.days or 0 for o in hits)


def final_sale(ctx: Context, line: OrderLine, rl: ReturnLine) -> RuleResult:
    """Is the line tagged final sale, and what does the guarantee turn that into?"""
    rules = ctx.policy.final_sale
    tags = sorted(set(line.tags).intersection(rules.tags)) if line.tags and rules.tags else []
    saw = {"line_id": line.id, "final_sale_tags": tags} if ctx.worded else {}
    if not tags:
        return ctx.result("final_sale", "pass", "not_final_sale",
                          ctx.named(N_("{name} is not a final-sale item."), line.name), saw)
    if rl.reason.merchant_fault:
        return ctx.result("final_sale", "pass", "final_sale_merchant_fault",
                          ctx.said("{name} was final sale, but the problem is ours, so that "
                                   "does not apply.", name=line.name), saw)
    code, text = _FINAL_SALE[rules.action]
    return ctx.result("final_sale", _ACTION_VERDICT[rules.action], code,
                      ctx.said(text, name=line.name), saw)


def reason(ctx: Context, line: OrderLine, rl: ReturnLine) -> RuleResult:
    """Is the reason the merchant's fault (always a full refund) or one the policy accepts?"""
    saw = {"line_id": line.id, "reason": str(rl.reason)} if ctx.worded else {}
    if rl.reason.merchant_fault:
        return ctx.result("reason", "pass", "merchant_fault",
                          ctx.named(N_("{name}: the problem is ours, so you get a full refund with "
                                       "no fees."), line.name), saw)
    verdict, code, text = _REASON_SAID[ctx.policy.reason_action(rl.reason), rl.reason]
    return ctx.result("reason", verdict, code, text, saw)


def refund_period(ctx: Context, line: OrderLine, rl: ReturnLine) -> RuleResult:
    """Past the refund period, customer-reason returns go to store credit (credit-first)."""
    limit = ctx.policy.resolution.refund_within_days
    saw = {"line_id": line.id, "refund_within_days": limit, "age_days": ctx.age_days} \
        if ctx.worded else {}
    if limit is None or rl.reason.merchant_fault or (ctx.age_days is not None
                                                      and ctx.age_days <= limit):
        return ctx.result("refund_period", "pass", "refund_available",
                          _REFUND_AVAILABLE, saw)
    return ctx.result("refund_period", "adjust", "refund_period_over",
                      ctx.said("Refunds to the original payment are available for {days} days; "
                               "after that we give store credit.", days=limit), saw)


