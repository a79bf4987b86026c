"""Properties that hold for any policy, order and request (hypothesis).

- no decision gives out more than is refundable, nor more than the lines asked for plus shipping;
  a credit bonus is the only extra and it stays within the policy's percentage and cap;
- every refund and every store credit (with its bonus) is a multiple of the order's
  refund_increment (the provider's step), and what the rounding left out is in the trace and
  less than one step per payment, plus one for the store credit;
- a longer window or a higher tier never gives a worse answer;
- the same inputs always give the same decision;
- every decision carries an explanation and a trace.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_builders import NOW

from policies import Policy, evaluate, load_policy_text
from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import (
    CustomerHistory,
    OrderFacts,
    OrderLine,
    PaymentFacts,
    ReturnLine,
    ReturnRequest,
)
from refunds_plugin.domain.kinds import Outcome, Reason, ResolutionKind

# Hypothesis's failure report touches a deprecated mypy_extensions name; under the project's
# filterwarnings=error that would hide the falsifying example behind an INTERNALERROR.
pytestmark = pytest.mark.filterwarnings(
    "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")

RANK = {Outcome.DECLINE: 0, Outcome.REVIEW: 1, Outcome.APPROVE: 2}
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def usd(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


amounts = st.integers(min_value=0, max_value=200_000)
opt_amount = st.none() | amounts.map(usd)
actions = st.sampled_from(["accept", "credit", "review", "decline"])
days = st.integers(min_value=0, max_value=400) | st.just("unlimited")


@st.composite
def policy_docs(draw: Any) -> dict[str, Any]:
    allow = draw(st.sampled_from([["refund"], ["credit"], ["refund", "credit"]]))
    tiers = [{"name": "silver", "min_orders": draw(st.integers(0, 5)),
              "extra_window_days": draw(days), "waive_fees": draw(st.booleans()),
              "limits": {"auto_approve_per_request": draw(opt_amount)}},
             {"name": "gold", "min_projected_value": draw(amounts.map(usd)),
              "extra_window_days": draw(days), "waive_fees": draw(st.booleans()),
              "limits": {"auto_approve_per_order": draw(opt_amount)}}]
    return {
        "currency": "USD",
        "window": {"days": draw(days), "start": draw(st.sampled_from(
            ["delivery", "fulfilment", "payment"])),
                   "outside": draw(st.sampled_from(["decline", "review", "credit"]))},
        "final_sale": {"tags": ["final-sale"], "guarantee": draw(st.sampled_from(
            ["decline", "review", "credit"]))},
        "reasons": {r: draw(actions) for r in ("changed_mind", "too_small", "too_large",
                                               "other")},
        "limits": {"auto_approve_per_request": draw(opt_amount),
                   "auto_approve_per_order": draw(opt_amount)},
        "tiers": draw(st.sampled_from([[], tiers])),
        "abuse": draw(st.none() | st.fixed_dictionaries({
            "max_refunds": st.integers(0, 6), "max_refund_amount": amounts.map(usd),
            "max_refund_ratio_percent": st.integers(0, 100),
            "max_not_received_claims": st.integers(0, 3)})),
        "resolution": {
            "default": draw(st.sampled_from(allow)), "allow": allow,
            # a refund period only where refunds are offered (the file refuses it elsewhere)
            "refund_within_days": draw(st.none() | st.integers(0, 60))
            if "refund" in allow else None,
            "credit_bonus_percent": draw(st.integers(0, 30)),
            "credit_bonus_max": draw(opt_amount),
            "keep_item": {"below": draw(opt_amount), "return_label_cost": draw(opt_amount)}},
        "fees": {"restocking_percent": draw(st.integers(0, 30)),
                 "return_shipping": draw(opt_amount),
                 "waive_for_reasons": draw(st.lists(st.sampled_from(
                     ["changed_mind", "too_small", "too_large", "other"]), unique=True))},
        "shipping": {"refund_with_last_item": draw(st.booleans()),
                     "refund_on_merchant_fault": draw(st.booleans())},
    }


def load(doc: dict[str, Any]) -> Policy:
    return load_policy_text(yaml.safe_dump(doc), "generated")


@st.composite
def orders(draw: Any) -> OrderFacts:
    n = draw(st.integers(1, 4))
    lines = tuple(OrderLine(f"l{i}", f"SKU{i}", f"Item {i}", draw(st.integers(1, 3)),
                            draw(st.integers(1, 50_000)),
                            tags=draw(st.sampled_from([(), ("final-sale",)])))
                  for i in range(n))
    shipping = draw(st.integers(0, 2000))
    total = sum(ln.amount for ln in lines) + shipping
    first = draw(st.integers(0, total))
    payments = [PaymentFacts("stripe", "pi_1", first, refunded=draw(st.integers(0, first)),
                             disputed=draw(st.booleans()) and draw(st.booleans()))]
    if total - first:
        rest = total - first
        payments.append(PaymentFacts("stripe", "pi_2", rest, pending=draw(st.integers(0, rest))))
    returned = tuple((ln.id, draw(st.integers(0, ln.quantity))) for ln in lines)
    ago = draw(st.none() | st.integers(0, 900))
    at = None if ago is None else NOW - timedelta(days=ago)
    return OrderFacts(
        order_id="1001", currency=draw(st.sampled_from(["USD", "USD", "USD", "EUR", "KWD"])),
        lines=lines, shipping_amount=shipping, total_amount=total, paid_at=at,
        fulfilled_at=at, delivered_at=at, payments=tuple(payments), returned_quantities=returned,
        shipping_refunded=draw(st.integers(0, shipping)), history=draw(histories()),
        refund_increment=draw(st.sampled_from([1, 1, 10, 100])))


def histories() -> st.SearchStrategy[CustomerHistory]:
    return st.builds(
        CustomerHistory, total_paid=st.integers(0, 500_000), order_count=st.integers(0, 20),
        first_order_at=st.none() | st.integers(0, 2000).map(lambda d: NOW - timedelta(days=d)),
        total_refunded=st.integers(0, 100_000), refunds_recent_count=st.integers(0, 8),
        refunds_recent_amount=st.integers(0, 100_000), not_received_claims=st.integers(0, 4))


@st.composite
def requests(draw: Any, facts: OrderFacts, max_lines: int = 4) -> ReturnRequest:
    picked = draw(st.lists(st.sampled_from(facts.lines), min_size=1, max_size=max_lines,
                           unique_by=lambda ln: ln.id))
    lines = tuple(ReturnLine(ln.id, draw(st.integers(1, ln.quantity)),
                             draw(st.sampled_from(list(Reason)))) for ln in picked)
    prefer = draw(st.none() | st.sampled_from(list(ResolutionKind)))
    return ReturnRequest("r1", facts.order_id, lines, preferred_resolution=prefer)


def rounded_off(d: Decision) -> int:
    """Money the provider's step left out of ``d`` (its ``rounding`` trace entries: card refunds
    and store credit)."""
    return sum(r.saw.get("not_refunded", r.saw.get("not_credited", 0))
               for r in d.trace if r.code == "provider_rounding")


def not_worse(better: Decision, worse: Decision) -> bool:
    """A higher outcome, or the same outcome with at least as much money.

    Money is compared before the provider's step: better terms can turn store credit (rounded
    down once) into card refunds (rounded down per payment), which is not a worse answer.

    One exception: when the better terms make the customer owed more than the order can still
    refund, a person confirms the capped amount (``exceeds_refundable``). That review pays at
    least as much and is the order's money running out, not a stricter policy.
    """
    capped = [r.code for r in better.trace if r.verdict == "review"] == ["exceeds_refundable"]
    owed_better = better.amount + rounded_off(better)
    owed_worse = worse.amount + rounded_off(worse)
    if capped and owed_better >= owed_worse:
        return True
    if RANK[better.outcome] != RANK[worse.outcome]:
        return RANK[better.outcome] > RANK[worse.outcome]
    return owed_better >= owed_worse


@SETTINGS
@given(policy_docs(), orders(), st.data())
def test_no_decision_gives_more_than_is_refundable_or_was_asked_for(doc, facts, data):
    pol = load(doc)
    req = data.draw(requests(facts))
    d = evaluate(pol, facts, req, NOW)
    assert d.amount <= facts.refundable
    if d.outcome is not Outcome.DECLINE:
        asked = sum(facts.line(rl.line_id).unit_amount * rl.quantity for rl in req.lines)
        assert d.amount <= asked + max(0, facts.shipping_amount - facts.shipping_refunded)
        owed = sum(ln.amount for ln in d.lines) + d.shipping_refund - sum(f.amount for f in d.fees)
        capped = any(r.code == "exceeds_refundable" for r in d.trace)
        assert owed >= 0
        lost = rounded_off(d)
        assert d.amount + lost == (facts.refundable if capped else owed)
        assert d.outcome is Outcome.REVIEW or not capped
    step = facts.refund_increment
    # under one step per payment for the refund, and under one step for the store credit
    assert rounded_off(d) == 0 if step == 1 else rounded_off(d) < step * (len(facts.payments) + 1)
    by_payment = {p.reference: p.refundable for p in facts.payments}
    for r in d.resolutions:
        assert r.amount > 0
        if r.kind is ResolutionKind.REFUND:
            assert r.amount % step == 0
            assert r.amount <= by_payment[r.payment_reference]
            by_payment[r.payment_reference] -= r.amount
        else:
            assert (r.amount % step, r.bonus % step) == (0, 0)
            pct = pol.resolution.credit_bonus_percent
            assert r.bonus * 100 <= r.amount * pct + 50
            cap = pol.resolution.credit_bonus_max
            if cap is not None and cap.get(facts.currency) is not None:
                assert r.bonus <= cap.get(facts.currency)
    assert all(r.bonus == 0 for r in d.resolutions if r.kind is ResolutionKind.REFUND)


@SETTINGS
@given(policy_docs(), orders(), st.data())
def test_decisions_are_deterministic_and_always_explained(doc, facts, data):
    pol = load(doc)
    req = data.draw(requests(facts))
    first, second = evaluate(pol, facts, req, NOW), evaluate(pol, facts, req, NOW)
    assert first == second
    assert first.explanation.strip() and first.trace
    assert first.policy_hash == pol.content_hash


@SETTINGS
@given(policy_docs(), orders(), st.data(), st.integers(1, 400))
def test_a_longer_window_never_gives_a_worse_answer(doc, facts, data, more):
    req = data.draw(requests(facts, max_lines=1))
    base = doc["window"]["days"]
    longer = "unlimited" if base == "unlimited" else data.draw(st.sampled_from(
        [base + more, "unlimited"]))
    short = evaluate(load(doc), facts, req, NOW)
    long = evaluate(load({**doc, "window": {**doc["window"], "days": longer}}), facts, req, NOW)
    assert not_worse(long, short), (short.explanation, long.explanation)


@SETTINGS
@given(policy_docs(), orders(), st.data(), st.integers(0, 500_000), st.integers(0, 10))
def test_a_higher_tier_never_gives_a_worse_answer(doc, facts, data, paid_more, orders_more):
    req = data.draw(requests(facts, max_lines=1))
    h = facts.history
    richer = replace(facts, history=replace(h, total_paid=h.total_paid + paid_more,
                                            order_count=h.order_count + orders_more))
    pol = load(doc)
    assert not_worse(evaluate(pol, richer, req, NOW), evaluate(pol, facts, req, NOW))


@SETTINGS
@given(policy_docs(), orders(), st.data(), st.integers(1, 400))
def test_a_longer_window_never_takes_a_line_away(doc, facts, data, more):
    req = data.draw(requests(facts))
    if doc["window"]["days"] == "unlimited":
        return
    long_doc = {**doc, "window": {**doc["window"], "days": doc["window"]["days"] + more}}
    short = evaluate(load(doc), facts, req, NOW)
    long = evaluate(load(long_doc), facts, req, NOW)
    assert {ln.line_id for ln in short.lines} <= {ln.line_id for ln in long.lines}


@SETTINGS
@given(policy_docs(), orders(), st.data())
def test_qualifying_for_every_tier_never_gives_a_worse_answer_than_none(doc, facts, data):
    doc = {**doc, "tiers": [{"name": "silver", "min_orders": 1,
                             "extra_window_days": data.draw(days),
                             "waive_fees": data.draw(st.booleans()),
                             "limits": {"auto_approve_per_request": data.draw(opt_amount)}},
                            {"name": "gold", "min_projected_value": "1000.00",
                             "extra_window_days": data.draw(days),
                             "waive_fees": data.draw(st.booleans()),
                             "limits": {"auto_approve_per_order": data.draw(opt_amount)}}]}
    req = data.draw(requests(facts, max_lines=1))
    nobody = replace(facts, history=CustomerHistory())
    regular = replace(facts, history=CustomerHistory(
        total_paid=10_000_000, order_count=20, first_order_at=NOW - timedelta(days=400)))
    pol = load(doc)
    assert not_worse(evaluate(pol, regular, req, NOW), evaluate(pol, nobody, req, NOW))
