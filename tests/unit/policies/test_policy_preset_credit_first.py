"""credit-first: store credit with a 10% bonus (at most 50.00) by default; a refund to the card
if asked within 14 days of delivery; returns accepted for 90 days; our mistakes always refunded."""

from __future__ import annotations

import pytest
from policy_builders import NOW, Expect, ask, order

from policies import evaluate, load_policy
from refunds_plugin.domain.facts import OrderLine
from refunds_plugin.domain.kinds import Reason, ResolutionKind

POLICY = load_policy("preset:credit-first")
R, CREDIT, REFUND = Reason, ResolutionKind.CREDIT, ResolutionKind.REFUND
COAT = OrderLine("coat", "COAT-W", "Wool coat", 1, 60000)

CASES = [
    ("store_credit_with_a_10_percent_bonus_is_the_default",
     order(), ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", credit=4000, bonus=400)),
    ("a_refund_to_the_card_is_given_when_asked_within_14_days",
     order(days=14), ask(("shirt", 1, R.CHANGED_MIND), prefer=REFUND),
     Expect("approve", "approved", refund=4000)),
    ("after_14_days_a_refund_request_becomes_store_credit_with_the_bonus",
     order(days=15), ask(("shirt", 1, R.CHANGED_MIND), prefer=REFUND),
     Expect("approve", "approved", credit=4000, bonus=400)),
    ("after_14_days_our_mistake_is_refunded_and_only_the_forced_credit_has_a_bonus",
     order(days=20), ask(("shirt", 1, R.CHANGED_MIND), ("socks", 1, R.DAMAGED), prefer=REFUND),
     Expect("approve", "approved", refund=1200, credit=4000, bonus=400, shipping=800,
            return_required=True)),
    ("day_91_is_outside_the_window_and_declined",
     order(days=91), ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("decline", "outside_window", return_required=False)),
    ("a_damaged_item_is_refunded_in_full_with_shipping_even_after_14_days",
     order(days=40), ask(("shirt", 1, R.DAMAGED)),
     Expect("approve", "approved", refund=4800, shipping=800)),
    ("a_damaged_item_goes_to_credit_with_bonus_only_when_the_customer_asks_for_credit",
     order(), ask(("shirt", 1, R.DAMAGED), prefer=CREDIT),
     Expect("approve", "approved", credit=4800, bonus=480, shipping=800)),
    ("a_final_sale_item_comes_back_as_credit_with_the_bonus",
     order(), ask(("dress", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", credit=12000, bonus=1200)),
    ("the_bonus_is_capped_at_50_and_a_large_credit_is_checked_by_a_person",
     order(lines=(COAT,)), ask(("coat", 1, R.CHANGED_MIND)),
     Expect("review", "above_request_limit", credit=60800, bonus=5000, shipping=800)),
    ("an_item_under_10_is_kept_and_credited_with_the_bonus",
     order(), ask(("socks", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", credit=400, bonus=40, return_required=False)),
]


@pytest.mark.parametrize(("facts", "request_", "expect"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_credit_first_promise(facts, request_, expect):
    expect.check(evaluate(POLICY, facts, request_, NOW))


def test_the_customer_reads_about_the_bonus_and_the_14_day_refund_period():
    d = evaluate(POLICY, order(days=20), ask(("shirt", 1, R.CHANGED_MIND), prefer=REFUND), NOW)
    assert "Refunds to the original payment are available for 14 days" in d.explanation
    d = evaluate(POLICY, order(), ask(("shirt", 1, R.CHANGED_MIND)), NOW)
    assert "44.00 USD in store credit (including a bonus of 4.00 USD" in d.explanation


def _said(decision, rule):
    return [(t.verdict, t.code, t.message) for t in decision.trace if t.rule == rule]


def test_a_refund_turned_into_credit_after_14_days_says_so_and_carries_the_bonus():
    """Issue 13: the title promises "store credit with a 10% bonus"; credit forced on a late
    refund request got none, and the trace said "your choice of resolution is honoured"."""
    d = evaluate(POLICY, order(days=20), ask(("shirt", 1, R.CHANGED_MIND), prefer=REFUND), NOW)
    assert [(r.kind, r.amount, r.bonus) for r in d.resolutions] == [(CREDIT, 4000, 400)]
    assert _said(d, "resolution") == [
        ("adjust", "resolution_credit_instead",
         "You asked for a refund, but Linen shirt can only be given as store credit, as "
         "explained above.")]
    assert _said(d, "credit_bonus") == [
        ("adjust", "credit_bonus", "You get a bonus of 4.00 USD on your store credit.")]
    assert d.explanation == (
        "Your return of 1 × Linen shirt is approved. We will give you 44.00 USD in store credit "
        "(including a bonus of 4.00 USD). Refunds to the original payment are available for 14 "
        "days; after that we give store credit. Please send back: Linen shirt. The money will be "
        "on its way within 24 hours.")
    assert all("honoured" not in t.message for t in d.trace)


def test_a_chosen_credit_keeps_its_words_and_an_honoured_refund_is_still_said_honoured():
    d = evaluate(POLICY, order(), ask(("shirt", 1, R.CHANGED_MIND), prefer=CREDIT), NOW)
    assert _said(d, "resolution") == [
        ("pass", "resolution_credit", "Your choice of resolution is honoured.")]
    assert _said(d, "credit_bonus") == [
        ("adjust", "credit_bonus", "You get a bonus of 4.00 USD for choosing store credit.")]
    assert "(including a bonus of 4.00 USD for choosing credit)" in d.explanation
    d = evaluate(POLICY, order(days=14), ask(("shirt", 1, R.CHANGED_MIND), prefer=REFUND), NOW)
    assert _said(d, "resolution") == [
        ("pass", "resolution_refund", "Your choice of resolution is honoured.")]
