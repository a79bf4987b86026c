"""Safeguards: amount limits and abuse signals. Both can only send a request to review.

A customer in good standing is never refused by these rules; a person looks instead.
"""

from __future__ import annotations

from policies.context import Context
from policies.policy import money_text
from refunds_plugin.domain import Reason, RuleResult


def _fmt(minor: int | None, currency: str) -> str:
    return "no limit" if minor is None else money_text(minor, currency)


def limits(ctx: Context, gross: int) -> RuleResult:
    """Is the amount within what the policy (and the customer's tier) auto-approves?"""
    cur, base = ctx.currency, ctx.policy.limits
    known_req, per_request = ctx.standing.limit(base.per_request, "per_request", cur)
    known_ord, per_order = ctx.standing.limit(base.per_order, "per_order", cur)
    already = ctx.already_refunded
    saw = {"amount": gross, "per_request": per_request, "per_order": per_order,
           "already_refunded": already, "tier": ctx.standing.tier_name}
    if not (known_req and known_ord):
        return RuleResult("limits", "review", "limit_currency_unknown",
                          f"Our policy sets no automatic limit in {cur}, so our team will "
                          "confirm the amount.", saw)
    if per_request is not None and gross > per_request:
        return RuleResult("limits", "review", "above_request_limit",
                          f"Returns over {_fmt(per_request, cur)} are confirmed by our team.",
                          saw)
    if per_order is not None and already + gross > per_order:
        return RuleResult("limits", "review", "above_order_limit",
                          f"Refunds over {_fmt(per_order, cur)} on one order are confirmed by "
                          "our team.", saw)
    return RuleResult("limits", "pass", "within_limits",
                      "The amount is within what we approve automatically.", saw)


def abuse(ctx: Context, gross: int) -> RuleResult:
    """Do the customer's recent refunds look unusual? If so, a person reviews; never a refusal."""
    rules, hist, cur = ctx.policy.abuse, ctx.facts.history, ctx.currency
    if not rules.enabled:
        return RuleResult("abuse", "skip", "abuse_checks_off", "No abuse checks in this policy.")
    saw: dict[str, object] = {
        "window_days": rules.window_days, "recent_count": hist.refunds_recent_count,
        "recent_amount": hist.refunds_recent_amount, "total_paid": hist.total_paid,
        "total_refunded": hist.total_refunded, "not_received_claims": hist.not_received_claims,
    }
    signals: list[str] = []
    if rules.max_refunds is not None and hist.refunds_recent_count >= rules.max_refunds:
        signals.append("refund_count")
    max_amount = rules.max_refund_amount.get(cur) if rules.max_refund_amount else None
    if max_amount is not None and hist.refunds_recent_amount + gross > max_amount:
        signals.append("refund_amount")
    ratio = rules.max_refund_ratio_percent
    # Refunds with no purchases on record count as an unbounded ratio.
    if ratio is not None and hist.total_refunded > 0 and \
            hist.total_refunded * 100 > ratio * hist.total_paid:
        signals.append("refund_ratio")
    claims_max = rules.max_not_received_claims
    claiming = any(rl.reason is Reason.NOT_RECEIVED for rl in ctx.request.lines)
    if claims_max is not None and claiming and hist.not_received_claims >= claims_max:
        signals.append("not_received_claims")
    saw["signals"] = signals
    if signals:
        return RuleResult("abuse", "review", "abuse_signal",
                          "Because of the returns on your account recently, a member of our "
                          "team will look at this one personally.", saw)
    return RuleResult("abuse", "pass", "no_abuse_signal", "Nothing unusual in recent returns.",
                      saw)
