"""Everything a rule may look at for one evaluation, computed once: facts, request, tier, dates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from policies.policy import Anchor, Policy
from policies.tiers import Standing, standing
from policies.words import UNWORDED, WORDED, named
from refunds_plugin.domain.decision import RuleResult
from refunds_plugin.domain.facts import OrderFacts, OrderLine, ReturnRequest
from refunds_plugin.language.said import said

_CHAIN = (Anchor.DELIVERY, Anchor.FULFILMENT, Anchor.PAYMENT)
# Where to look for the start date: the policy's choice first, then the others in _CHAIN order.
_SEARCH = {start: (start, *(a for a in _CHAIN if a is not start)) for start in _CHAIN}
_DATE = {Anchor.DELIVERY: attrgetter("delivered_at"), Anchor.FULFILMENT: attrgetter("fulfilled_at"),
         Anchor.PAYMENT: attrgetter("paid_at")}


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
    currency: str
    captured: int  # facts.captured, computed once
    already_refunded: int  # refunded and pending over all the order's payments
    # nothing was owed (a 100% discount code, a giveaway): the order's total is 0 and no payment
    # captured anything, so its returns move no money (``eligibility.payment``)
    free: bool
    lines: dict[str, OrderLine]  # the order's lines by id
    returned: dict[str, int]  # units of each line already returned before this request
    # how the rules put what they found into words (``policies/words.py``): worded, or not
    # (then a rule's ``saw`` is not made either: the values it would hold are plain reads)
    worded: bool = True
    said: Callable[..., str] = said
    named: Callable[..., str] = named
    result: Callable[..., RuleResult] = RuleResult


def build_context(policy: Policy, facts: OrderFacts, request: ReturnRequest,
                  now: datetime, *, worded: bool = True) -> Context:
    anchor, anchor_at = start_date(policy.window.start, facts)
    words = WORDED if worded else UNWORDED
    captured = refundable = already = 0
    disputed = False
    for pay in facts.payments:  # what facts.captured, .refundable, .disputed say, in one pass
        captured += pay.captured
        refundable += pay.refundable
        already += pay.refunded + pay.pending
        disputed = disputed or pay.disputed
    returned: dict[str, int] = {}
    for lid, q in facts.returned_quantities:
        returned[lid] = returned.get(lid, 0) + q
    return Context(
        policy=policy, facts=facts, request=request, now=now,
        standing=standing(policy, facts.history, facts.currency, now),
        anchor=anchor, anchor_at=anchor_at, refundable=refundable, disputed=disputed,
        age_days=None if anchor_at is None else max(0, (now - anchor_at).days),
        currency=facts.currency, captured=captured, already_refunded=already,
        free=facts.total_amount == 0 and captured == 0,  # ``OrderFacts.free``, in this pass
        lines={ln.id: ln for ln in facts.lines}, returned=returned,
        worded=worded, said=words.said, named=words.named, result=words.result,
    )


def start_date(start: Anchor, facts: OrderFacts) -> tuple[Anchor | None, datetime | None]:
    """The policy's chosen date, else the others in the order delivery, fulfilment, payment."""
    for anchor in _SEARCH[start]:
        at = _DATE[anchor](facts)
        if at is not None:
            return anchor, at
    return None, None
