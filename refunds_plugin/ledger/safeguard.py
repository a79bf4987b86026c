"""The recording transaction's own check that an approval fits what the payments still hold.

The policy already caps every refund at the refundable remainder; this is the second line of
defence, run on the facts read inside the same transaction that records the decision.
"""

from __future__ import annotations

from dataclasses import replace

from refunds_plugin.domain import Decision, OrderFacts, Outcome, ResolutionKind, RuleResult


def guard_refundable(decision: Decision, facts: OrderFacts) -> Decision:
    """Second line of defence, in the recording transaction: an approval that would send more
    back to a payment than it still holds goes to a person instead of to the provider."""
    if decision.outcome is not Outcome.APPROVE:
        return decision
    left = {p.reference: p.refundable for p in facts.payments}
    wanted: dict[str, int] = {}
    for res in decision.resolutions:
        if res.kind is ResolutionKind.REFUND:
            ref = res.payment_reference or ""
            wanted[ref] = wanted.get(ref, 0) + res.amount
    over = {ref: amount for ref, amount in wanted.items() if amount > left.get(ref, 0)}
    if not over:
        return decision
    saw = {ref: {"wanted": amount, "refundable": left.get(ref, 0)} for ref, amount in over.items()}
    guard = RuleResult("ledger_guard", "review", "exceeds_refundable",
                       "The refund would be more than the payment still holds, so a person will "
                       "check it before any money moves.", saw)
    return replace(decision, outcome=Outcome.REVIEW, reason_code="exceeds_refundable",
                   trace=(*decision.trace, guard),
                   explanation=f"{decision.explanation} {guard.message}")
