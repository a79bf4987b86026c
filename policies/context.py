"""Everything a rule may look at for one evaluation, computed once: facts, request, tier, dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from policies.policy import Anchor, Policy
from policies.tiers import Standing, standing
from refunds_plugin.domain import OrderFacts, ReturnRequest

_CHAIN = (Anchor.DELIVERY, Anchor.FULFILMENT, Anchor.PAYMENT)


@dataclass(slots=True)
class Context:
    """Built fresh for each evaluation and never changed (not frozen only because that is slow)."""

    policy: Policy
    facts: OrderFacts
    request: ReturnRequest
    now: datetime
    standing: Standing
    anchor: Anchor | None  # which date the windows count from (None: no date known)
    anchor_at: datetime | None
    refundable: int  # facts.refundable, computed once
    disputed: bool
    age_days: int | None  # whole days since the anchor date (0 if in the future)

    @property
    def currency(self) -> str:
        return self.facts.currency


def build_context(policy: Policy, facts: OrderFacts, request: ReturnRequest,
                  now: datetime) -> Context:
    anchor, anchor_at = start_date(policy.window.start, facts)
    return Context(policy, facts, request, now,
                   standing(policy, facts.history, facts.currency, now), anchor, anchor_at,
                   facts.refundable, facts.disputed,
                   None if anchor_at is None else max(0, (now - anchor_at).days))


def start_date(start: Anchor, facts: OrderFacts) -> tuple[Anchor | None, datetime | None]:
    """The policy's chosen date, else the others in the order delivery, fulfilment, payment."""
    dates = {Anchor.DELIVERY: facts.delivered_at, Anchor.FULFILMENT: facts.fulfilled_at,
             Anchor.PAYMENT: facts.paid_at}
    for anchor in (start, *(a for a in _CHAIN if a is not start)):
        if dates[anchor] is not None:
            return anchor, dates[anchor]
    return None, None
