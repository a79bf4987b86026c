"""``evaluate_correction``: "looking for trouble" decisions we start before the customer asks.

An overpayment or a duplicate charge found by a detector becomes a Decision like any other, so
finance sees it in the same ledger with the same policy stamp.
"""

from __future__ import annotations

from datetime import datetime

from policies.policy import Detector, Policy
from policies.resolution import credit_rounding, rounding
from refunds_plugin.domain.decision import Decision, Resolution, RuleResult
from refunds_plugin.domain.facts import OrderFacts
from refunds_plugin.domain.kinds import DecisionKind, Outcome, ResolutionKind
from refunds_plugin.language.said import Amount, said


def evaluate_correction(policy: Policy, facts: OrderFacts, kind: DecisionKind, amount: int,
                        payment_reference: str, now: datetime, detail: str, *,
                        order_total_known: bool = True, unconfirmed: tuple[str, ...] = (),
                        order_updated: bool = False) -> Decision:
    """Decide a correction of ``amount`` on one payment; pure, capped at what it can refund.

    Nobody asked for this money back, so it moves without a person only on firm evidence:
    - a duplicate charge found without an order total (``order_total_known=False``) may be one
      order paid in equal parts: review, ``order_total_unknown``;
    - evidence resting on payments the provider never confirmed as payments of their own
      (``unconfirmed``: named only by a storefront, perhaps the same money under another name):
      review, ``unconfirmed_payment``;
    - an order a re-sent ``order.paid`` changed (``order_updated``): review, ``order_updated``,
      unless the policy's ``trouble.auto_correct_order_updates`` allows it.
    """
    cur, order = facts.currency, facts.order_id
    saw: dict[str, object] = {"kind": kind.value, "amount": amount,
                              "payment_reference": payment_reference, "detail": detail,
                              "at": now.isoformat()}
    if not order_total_known:
        saw["order_total_known"] = False

    rounded: RuleResult | None = None

    def decide(outcome: Outcome, code: str, message: str, text: str,
               resolutions: tuple[Resolution, ...] = ()) -> Decision:
        verdict = outcome.value
        rule = RuleResult("trouble", verdict, code, message, saw)
        trace = (rule,) if rounded is None else (rule, rounded)
        return Decision(outcome=outcome, reason_code=code, explanation=text, currency=cur,
                        policy_name=policy.name, policy_hash=policy.content_hash, kind=kind,
                        resolutions=resolutions, return_required=False, trace=trace,
                        promise_hours=policy.promise_hours)

    detector = _detector(policy, kind)
    if detector is None or not detector.enabled:
        msg = said("The {check} check is switched off in this policy.",
                   check=kind.value.replace("_", " "))
        return decide(Outcome.DECLINE, "detector_disabled", msg, msg)
    pay = next((p for p in facts.payments if p.reference == payment_reference), None)
    if pay is None:
        msg = said("Order {order} has no payment {payment}.", order=order,
                   payment=payment_reference)
        return decide(Outcome.DECLINE, "unknown_payment", msg, msg)
    saw["refundable"] = pay.refundable
    if pay.disputed:
        msg = said("The payment is disputed with the bank, so our team will look at this by "
                   "hand.")
        return decide(Outcome.REVIEW, "payment_disputed", msg, msg)
    grant = min(amount, pay.refundable)
    if grant <= 0:
        msg = said("Nothing is left to refund on that payment.")
        return decide(Outcome.DECLINE, "nothing_refundable", msg, msg)
    step = facts.refund_increment  # refund or store credit, in the provider's steps, down
    if detector.resolution is ResolutionKind.REFUND:
        rounded = rounding(cur, step, grant, grant - grant % step)
        grant -= grant % step
    else:
        grant, rounded = credit_rounding(cur, step, grant)
    if grant <= 0 and rounded is not None:
        return decide(Outcome.DECLINE, "provider_rounding", rounded.message, rounded.message)
    saw["granted"] = grant
    money = Amount(grant, cur)
    hours = policy.promise_hours
    if detector.resolution is ResolutionKind.REFUND:
        res = Resolution(ResolutionKind.REFUND, grant, payment_reference=payment_reference)
        extra = said("the extra {amount}", amount=money)
    else:
        res = Resolution(ResolutionKind.CREDIT, grant)
        extra = said("the extra {amount} as store credit", amount=money)
    twice = kind is DecisionKind.DUPLICATE_CHARGE
    what = (said("you were charged twice for order {order}", order=order) if twice
            else said("you paid more than the total of order {order}", order=order))
    if kind is DecisionKind.DUPLICATE_CHARGE and not order_total_known:
        text = said("We noticed two payments of the same amount for order {order}. We do not "
                    "know the order's total, so our team is checking whether you were charged "
                    "twice; if you were, we will refund {extra} within {hours} hours.",
                    order=order, extra=extra, hours=hours)
        return decide(Outcome.REVIEW, "order_total_unknown",
                      "Without the order's total, two equal payments may be one order paid in "
                      "two parts, so a person decides.", text, (res,))
    maybe = (said("you may have been charged twice for order {order}", order=order) if twice
             else said("you may have paid more than the total of order {order}", order=order))
    if unconfirmed:
        saw["unconfirmed_payments"] = list(unconfirmed)
        named = ", ".join(unconfirmed)
        text = said("We noticed {maybe}. Our team is checking it with the payment provider; if "
                    "so, we will refund {extra} within {hours} hours.", maybe=maybe,
                    extra=extra, hours=hours)
        return decide(Outcome.REVIEW, "unconfirmed_payment",
                      f"This rests on {named}, which the payment provider never confirmed as a "
                      "payment of its own (only the storefront named it), so a person checks "
                      "that it is not the same money under another name before any goes back.",
                      text, (res,))
    if order_updated and not policy.trouble.auto_correct_order_updates:
        saw["order_updated"] = True
        text = said("We noticed {maybe} after the order was changed. Our team is checking it; "
                    "if so, we will refund {extra} within {hours} hours.", maybe=maybe,
                    extra=extra, hours=hours)
        return decide(Outcome.REVIEW, "order_updated",
                      f"Order {order} was changed by a re-sent order.paid; money found after an "
                      "order update goes back only when a person confirms it (the policy's "
                      "trouble.auto_correct_order_updates is off).", text, (res,))
    limit = detector.auto_approve_up_to.get(cur) if detector.auto_approve_up_to else None
    saw["auto_approve_up_to"] = limit
    if detector.auto_approve_up_to is not None and (limit is None or grant > limit):
        text = said("We noticed {what}; our team is confirming a refund of {extra} within "
                    "{hours} hours.", what=what, extra=extra, hours=hours)
        return decide(Outcome.REVIEW, "above_auto_approve_limit",
                      "Corrections above the automatic limit are confirmed by a person.",
                      text, (res,))
    text = (said("We noticed {what} and refunded {extra}.", what=what, extra=extra)
            if detector.resolution is ResolutionKind.REFUND
            else said("We noticed {what} and credited {extra}.", what=what, extra=extra))
    return decide(Outcome.APPROVE, f"{kind.value}_corrected", text, text, (res,))


def _detector(policy: Policy, kind: DecisionKind) -> Detector | None:
    if kind is DecisionKind.OVERPAYMENT:
        return policy.trouble.overpayment
    if kind is DecisionKind.DUPLICATE_CHARGE:
        return policy.trouble.duplicate_charge
    return None
