"""no-hassle: any reason, any time, refund or credit; items under 20.00 stay with the customer;
only an abuse signal sends a request to a person."""

from __future__ import annotations

import pytest
from policy_builders import NOW, Expect, ask, order

from policies import evaluate, load_policy
from refunds_plugin.domain.facts import CustomerHistory
from refunds_plugin.domain.kinds import Outcome, Reason, ResolutionKind

POLICY = load_policy("preset:no-hassle")
R, CREDIT, REFUND = Reason, ResolutionKind.CREDIT, ResolutionKind.REFUND

CASES = [
    ("a_change_of_mind_two_years_later_is_refunded_in_full",
     order(days=730), ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=4000)),
    ("an_order_with_no_known_dates_is_still_covered_for_life",
     order(days=None), ask(("shirt", 1, R.OTHER)),
     Expect("approve", "approved", refund=4000)),
    ("a_customer_who_prefers_credit_gets_credit",
     order(), ask(("shirt", 1, R.CHANGED_MIND), prefer=CREDIT),
     Expect("approve", "approved", credit=4000)),
    ("a_final_sale_item_comes_back_as_store_credit_instead_of_a_refusal",
     order(), ask(("dress", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", credit=12000)),
    ("a_final_sale_item_and_a_regular_item_are_split_into_credit_and_refund",
     order(), ask(("dress", 1, R.CHANGED_MIND), ("shirt", 1, R.TOO_SMALL), prefer=REFUND),
     Expect("approve", "approved", refund=4000, credit=12000)),
    ("an_item_under_20_is_kept_and_refunded",
     order(), ask(("socks", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=400, return_required=False)),
    ("a_damaged_item_is_refunded_in_full_with_shipping_and_no_fee",
     order(), ask(("shirt", 1, R.DAMAGED)),
     Expect("approve", "approved", refund=4800, shipping=800)),
    ("a_300_jacket_is_approved_at_once",
     order(), ask(("jacket", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=30000)),
    ("a_first_not_received_claim_is_refunded_with_shipping_and_nothing_to_send_back",
     order(), ask(("shirt", 2, R.NOT_RECEIVED)),
     Expect("approve", "approved", refund=8800, shipping=800, return_required=False)),
    ("a_third_not_received_claim_goes_to_a_person",
     order(history=CustomerHistory(not_received_claims=2)), ask(("shirt", 2, R.NOT_RECEIVED)),
     Expect("review", "abuse_signal", refund=8800, shipping=800, return_required=False)),
    ("a_sixth_refund_in_90_days_goes_to_a_person",
     order(history=CustomerHistory(refunds_recent_count=5)), ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("review", "abuse_signal", refund=4000)),
    ("refunds_passing_1000_in_90_days_go_to_a_person",
     order(history=CustomerHistory(refunds_recent_amount=97000)),
     ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("review", "abuse_signal", refund=4000)),
    ("refunds_just_reaching_1000_in_90_days_are_approved",
     order(history=CustomerHistory(refunds_recent_amount=96000)),
     ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=4000)),
    ("a_customer_with_over_60_percent_refunded_goes_to_a_person",
     order(history=CustomerHistory(total_paid=10000, total_refunded=6001, order_count=3)),
     ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("review", "abuse_signal", refund=4000)),
    ("refunds_with_no_purchases_on_record_go_to_a_person",
     order(history=CustomerHistory(total_paid=0, total_refunded=1)),
     ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("review", "abuse_signal", refund=4000)),
]


@pytest.mark.parametrize(("facts", "request_", "expect"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_no_hassle_promise(facts, request_, expect):
    expect.check(evaluate(POLICY, facts, request_, NOW))


@pytest.mark.parametrize("history", [
    CustomerHistory(refunds_recent_count=50, refunds_recent_amount=10**7, total_paid=100,
                    total_refunded=100, not_received_claims=9),
])
def test_abuse_signals_never_refuse_a_customer(history):
    d = evaluate(POLICY, order(history=history),
                 ask(("shirt", 2, R.NOT_RECEIVED), ("jacket", 1, R.CHANGED_MIND)), NOW)
    assert d.outcome is Outcome.REVIEW
    abuse = next(r for r in d.trace if r.rule == "abuse")
    assert abuse.saw["signals"] == ["refund_count", "refund_amount", "refund_ratio",
                                    "not_received_claims"]
