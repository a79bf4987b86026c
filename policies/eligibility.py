"""Eligibility rules: is the request well formed, is there money, and may each line come back?

Each rule is a small pure function answering one question with a ``RuleResult``. Per-line
verdicts: ``pass`` (accept), ``adjust`` (accept as store credit only), ``review``, ``decline``.
"""

from __future__ import annotations

from policies.context import Context
from policies.policy import Action, WindowOverride
from refunds_plugin.domain import OrderLine, Reason, ReturnLine, RuleResult

_OUTSIDE = {Action.DECLINE: ("outside_window", "."),
            Action.REVIEW: ("outside_window_review", "; our team will look at it."),
            Action.CREDIT: ("outside_window_credit", ", so we can offer store credit."),
            Action.ACCEPT: ("within_window", ".")}
_FINAL_SALE = {
    Action.DECLINE: ("final_sale", "{name} was sold as final sale and cannot be returned."),
    Action.REVIEW: ("final_sale_review", "{name} was sold as final sale; our team will decide."),
    Action.CREDIT: ("final_sale_credit", "{name} was sold as final sale, so our guarantee gives "
                                         "you store credit for it."),
    Action.ACCEPT: ("final_sale_accepted", "{name} was final sale, but we accept it anyway."),
}
_REASON = {
    Action.ACCEPT: ("reason_accepted", "Returns because of '{label}' are accepted."),
    Action.CREDIT: ("reason_credit_only",
                    "Returns because of '{label}' are refunded as store credit."),
    Action.REVIEW: ("reason_review", "Returns because of '{label}' are checked by our team."),
    Action.DECLINE: ("reason_not_accepted", "Returns because of '{label}' are not accepted."),
}
_ACTION_VERDICT = {Action.ACCEPT: "pass", Action.CREDIT: "adjust", Action.REVIEW: "review",
                   Action.DECLINE: "decline"}
# (verdict, code, sentence) for each action on each reason, worded once rather than per line.
_REASON_SAID = {(action, r): (_ACTION_VERDICT[action], code, text.format(label=r.replace("_", " ")))
                for action, (code, text) in _REASON.items() for r in Reason}


def request_lines(ctx: Context) -> RuleResult:
    """Does every requested line exist on the order, with units still left to return?"""
    req, facts = ctx.request, ctx.facts
    saw: dict[str, object] = {"order_id": facts.order_id, "request_order_id": req.order_id}
    if req.order_id != facts.order_id:
        return RuleResult("request_lines", "decline", "order_mismatch",
                          f"This request is for order {req.order_id}, not {facts.order_id}.", saw)
    if not req.lines:
        return RuleResult("request_lines", "decline", "empty_request",
                          "The request does not name any item to return.", saw)
    wanted: dict[str, int] = {}
    for rl in req.lines:
        if rl.line_id in wanted:  # never merged: two lines would be valued as if each came first
            saw.update(line_id=rl.line_id)
            return RuleResult("request_lines", "decline", "duplicate_line",
                              f"Item {rl.line_id} is named more than once.", saw)
        wanted[rl.line_id] = rl.quantity
    returned = ctx.returned
    for line_id, qty in wanted.items():
        line = ctx.lines.get(line_id)
        if line is None:
            saw.update(line_id=line_id, quantity=qty)
            return RuleResult("request_lines", "decline", "unknown_line",
                              f"Order {facts.order_id} has no item {line_id}.", saw)
        remaining = line.quantity - returned.get(line_id, 0)
        if qty <= 0 or qty > remaining:
            saw.update(line_id=line_id, quantity=qty, remaining=remaining)
        if qty <= 0:
            return RuleResult("request_lines", "decline", "invalid_quantity",
                              f"The quantity of {line.name} to return must be at least 1.", saw)
        if qty > remaining:
            said = (f"{line.name} has already been returned." if remaining == 0 else
                    f"Only {remaining} of {line.name} can still be returned, not {qty}.")
            return RuleResult("request_lines", "decline", "quantity_exceeds_remaining", said,
                              saw)
    return RuleResult("request_lines", "pass", "lines_valid",
                      "Every item asked for is on the order and not yet returned.",
                      {"lines": len(wanted)})


def payment(ctx: Context) -> RuleResult:
    """Is there captured money to give back, and is none of it disputed?"""
    saw = {"captured": ctx.captured, "refundable": ctx.refundable,
           "disputed": ctx.disputed}
    if ctx.disputed:
        return RuleResult("payment", "review", "payment_disputed",
                          "A payment on this order is disputed with your bank, so our team "
                          "will look at this by hand.", saw)
    if ctx.refundable <= 0:
        return RuleResult("payment", "decline", "nothing_refundable",
                          "Everything paid for this order has already been refunded.", saw)
    return RuleResult("payment", "pass", "refundable", "There is money on the order to return.",
                      saw)


def window(ctx: Context, line: OrderLine, rl: ReturnLine) -> RuleResult:
    """Is this line still inside its return window (with SKU/tag/collection and tier overrides)?"""
    days, source = window_days(ctx, line)
    saw: dict[str, object] = {"line_id": line.id, "days": days, "set_by": source,
                              "from": str(ctx.anchor) if ctx.anchor else None,
                              "age_days": ctx.age_days, "tier": ctx.standing.tier_name}
    if days is None:
        return RuleResult("window", "pass", "lifetime_guarantee",
                          f"{line.name} is covered for life.", saw)
    age = ctx.age_days
    if age is None:
        return RuleResult("window", "review", "no_start_date",
                          "We could not tell when your order was delivered, so our team will "
                          "check the dates.", saw)
    if age <= days:
        return RuleResult("window", "pass", "within_window",
                          f"{line.name} is within its {days}-day return window.", saw)
    action = ctx.policy.window.outside
    code, tail = _OUTSIDE[action]
    return RuleResult("window", _ACTION_VERDICT[action], code,
                      f"The {days}-day return window for {line.name} has passed "
                      f"({age} days since {saw['from']}){tail}", saw)


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
    saw = {"line_id": line.id, "final_sale_tags": tags}
    if not tags:
        return RuleResult("final_sale", "pass", "not_final_sale",
                          f"{line.name} is not a final-sale item.", saw)
    if rl.reason.merchant_fault:
        return RuleResult("final_sale", "pass", "final_sale_merchant_fault",
                          f"{line.name} was final sale, but the problem is ours, so that "
                          "does not apply.", saw)
    code, text = _FINAL_SALE[rules.action]
    return RuleResult("final_sale", _ACTION_VERDICT[rules.action], code,
                      text.format(name=line.name), saw)


def reason(ctx: Context, line: OrderLine, rl: ReturnLine) -> RuleResult:
    """Is the reason the merchant's fault (always a full refund) or one the policy accepts?"""
    saw = {"line_id": line.id, "reason": str(rl.reason)}
    if rl.reason.merchant_fault:
        return RuleResult("reason", "pass", "merchant_fault",
                          f"{line.name}: the problem is ours, so you get a full refund with "
                          "no fees.", saw)
    verdict, code, text = _REASON_SAID[ctx.policy.reason_action(rl.reason), rl.reason]
    return RuleResult("reason", verdict, code, text, saw)


def refund_period(ctx: Context, line: OrderLine, rl: ReturnLine) -> RuleResult:
    """Past the refund period, customer-reason returns go to store credit (credit-first)."""
    limit = ctx.policy.resolution.refund_within_days
    saw = {"line_id": line.id, "refund_within_days": limit, "age_days": ctx.age_days}
    if limit is None or rl.reason.merchant_fault or (ctx.age_days is not None
                                                      and ctx.age_days <= limit):
        return RuleResult("refund_period", "pass", "refund_available",
                          "A refund to your original payment is available.", saw)
    return RuleResult("refund_period", "adjust", "refund_period_over",
                      f"Refunds to the original payment are available for {limit} days; after "
                      "that we give store credit.", saw)


