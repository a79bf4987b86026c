"""Safeguards: amount limits and abuse signals. Both can only send a request to review.

A customer in good standing is never refused by these rules; a person looks instead.
"""

from __future__ import annotations

from decimal import Decimal

from policies.context import Context
from policies.policy import amount, money_text
from refunds_plugin.domain.decision import RuleResult
from refunds_plugin.domain.kinds import Reason
from refunds_plugin.language.said import N_, Listed, said

# Sentences without parameters, said once rather than per decision (equal text, id and
# parameters; nothing changes a message once made).
_WITHIN_LIMITS = said("The amount is within what we approve automatically.")
_ABUSE_OFF = said("No abuse checks in this policy.")
_OUR_FAULT_UNCOUNTED = said("Returns that are our fault never count against you.")
_NOTHING_UNUSUAL = said("Nothing unusual in recent returns.")


def _fmt(minor: int | None, currency: str) -> str:
    return "no limit" if minor is None else money_text(minor, currency)


def _amount(minor: int | None, currency: str) -> str:
    return said("no limit") if minor is None else amount(minor, currency)


def limits(ctx: Context, gross: int) -> RuleResult:
    """Is the amount within what the policy (and the customer's tier) auto-approves?"""
    cur, base = ctx.currency, ctx.policy.limits
    known_req, per_request = ctx.standing.limit(base.per_request, "per_request", cur)
    known_ord, per_order = ctx.standing.limit(base.per_order, "per_order", cur)
    already = ctx.already_refunded
    saw = {"amount": gross, "per_request": per_request, "per_order": per_order,
           "already_refunded": already, "tier": ctx.standing.tier_name} if ctx.worded else {}
    if not (known_req and known_ord):
        return ctx.result("limits", "review", "limit_currency_unknown",
                          ctx.said("Our policy sets no automatic limit in {currency}, so our team "
                                   "will confirm the amount.", currency=cur), saw)
    if per_request is not None and gross > per_request:
        return ctx.result("limits", "review", "above_request_limit",
                          ctx.said("Returns over {amount} are confirmed by our team.",
                                   amount=_amount(per_request, cur)),
                          saw)
    if per_order is not None and already + gross > per_order:
        return ctx.result("limits", "review", "above_order_limit",
                          ctx.said("Refunds over {amount} on one order are confirmed by our team.",
                                   amount=_amount(per_order, cur)), saw)
    return ctx.result("limits", "pass", "within_limits",
                      _WITHIN_LIMITS, saw)


def abuse(ctx: Context, own: int | None, credit: int) -> RuleResult:
    """Do the customer's earlier returns look unusual? If so, a person reviews; never a refusal.

    ``own`` is what the request's lines that are not our fault are worth (None: every line is
    our fault); ``credit`` is the store credit this request gives (without a bonus). Our
    mistakes never count: a request wholly our fault is looked at only for repeated "not
    received" claims, and earlier returns wholly our fault are not in the history at all.
    """
    rules, hist, cur = ctx.policy.abuse, ctx.facts.history, ctx.currency
    if not rules.enabled:
        return ctx.result("abuse", "skip", "abuse_checks_off",
                          _ABUSE_OFF)
    credits = rules.count_store_credit
    count = hist.refunds_recent_count + (hist.credits_recent_count if credits else 0)
    recent = hist.refunds_recent_amount + (hist.credits_recent_amount if credits else 0)
    lifetime = hist.total_refunded + (hist.total_credited if credits else 0)
    # store credit is taken from the customer-reason part first: it is what they chose
    now_counted = 0 if own is None else own if credits else max(0, own - credit)
    limit = rules.refund_count_limit(hist.order_count)
    saw: dict[str, object] = {
        "window_days": rules.window_days, "recent_count": count, "recent_amount": recent,
        "this_request": now_counted, "total_paid": hist.total_paid, "total_refunded": lifetime,
        "orders": hist.order_count, "refund_count_limit": limit,
        "not_received_claims": hist.not_received_claims, "store_credit_counts": credits,
        "our_fault": own is None,
    } if ctx.worded else {}
    found: dict[str, str] = {}
    if own is not None:
        found.update(_volume(ctx, count, recent, lifetime, now_counted, limit))
        ratio = rules.max_refund_ratio_percent
        # Refunds with no purchases on record count as an unbounded ratio.
        if ratio is not None and lifetime > 0 and lifetime * 100 > ratio * hist.total_paid:
            found["refund_ratio"] = (f"{_fmt(lifetime, cur)} of {_fmt(hist.total_paid, cur)} "
                                     f"paid came back ({_share(lifetime, hist.total_paid)}), "
                                     f"over {ratio}%")
    claims_max = rules.max_not_received_claims
    claiming = any(rl.reason is Reason.NOT_RECEIVED for rl in ctx.request.lines)
    if claims_max is not None and claiming and hist.not_received_claims >= claims_max:
        found["not_received_claims"] = (f"{hist.not_received_claims} earlier \"not received\" "
                                        f"claims, reviewed from {claims_max}")
    saw["signals"] = list(found)
    saw["findings"] = found
    if found:
        # no earlier refund in the window: the amount signal is this request alone
        why = ["refund_amount_now" if s == "refund_amount" and recent == 0 else s for s in found]
        return ctx.result("abuse", "review", "abuse_signal", _kindly(ctx, why), saw)
    if own is None:
        return ctx.result("abuse", "pass", "our_fault_not_counted",
                          _OUR_FAULT_UNCOUNTED, saw)
    return ctx.result("abuse", "pass", "no_abuse_signal",
                      _NOTHING_UNUSUAL, saw)


def _volume(ctx: Context, count: int, recent: int, lifetime: int, now_counted: int,
            limit: int | None) -> dict[str, str]:
    """The count and amount signals, when the customer's lifetime share allows them."""
    rules, cur, paid = ctx.policy.abuse, ctx.currency, ctx.facts.history.total_paid
    need = rules.recent_signals_need_ratio_percent
    share = lifetime + now_counted
    if need is not None and paid > 0 and share * 100 < need * paid:
        return {}  # most of what they bought stays with them: busy is not suspicious
    gate = "" if need is None else f"; {_share(share, paid)} of {_fmt(paid, cur)} paid came back"
    found = {}
    days = rules.window_days
    if limit is not None and count >= limit:
        found["refund_count"] = (f"{count} earlier refunds in {days} days, reviewed from "
                                 f"{limit} with {ctx.facts.history.order_count} orders{gate}")
    max_amount = rules.max_refund_amount.get(cur) if rules.max_refund_amount else None
    if max_amount is not None and recent + now_counted > max_amount:
        found["refund_amount"] = (f"{_fmt(recent, cur)} refunded in {days} days + "
                                  f"{_fmt(now_counted, cur)} now = "
                                  f"{_fmt(recent + now_counted, cur)}, over "
                                  f"{_fmt(max_amount, cur)}{gate}")
    return found


def _share(part: int, whole: int) -> str:
    if whole <= 0:
        return "all (no purchases on record)"
    return f"{(Decimal(part * 100) / whole).quantize(Decimal('0.1'))}%"


_WHY = {
    "refund_count": N_("you have made several returns with us in the last {days} days"),
    "refund_amount": N_("your refunds in the last {days} days add up to a large amount"),
    "refund_amount_now": N_("this refund is a large amount"),
    "refund_ratio": N_("much of what you have bought from us has come back"),
    "not_received_claims": N_("this is not the first parcel of yours that has not arrived"),
}


def _kindly(ctx: Context, signals: list[str]) -> str:
    """One kind sentence naming the true reason(s), never a figure the customer cannot check."""
    why = [ctx.said(_WHY[s], days=ctx.policy.abuse.window_days) for s in signals]
    return ctx.said("As {why}, a member of our team will look at this one personally; this is "
                    "a routine check, not a refusal.", why=Listed(why))
