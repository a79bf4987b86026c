"""standard-30-day: 30 days from delivery, final sale is final, the customer pays 5.95 return
shipping for a change of mind, sizing and our mistakes are free, a person checks big refunds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from policy_builders import NOW, SHIRT, Expect, ask, order

from policies import evaluate, load_policy
from refunds_plugin.domain.facts import CustomerHistory, PaymentFacts
from refunds_plugin.domain.kinds import Reason

POLICY = load_policy("preset:standard-30-day")
R = Reason
LOYAL = CustomerHistory(total_paid=120000, order_count=6, first_order_at=NOW - timedelta(days=730))

CASES = [
    ("a_change_of_mind_within_30_days_is_refunded_less_return_shipping",
     order(), ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=3405, fees={"return_shipping": 595})),
    ("day_30_is_still_inside_the_window",
     order(days=30), ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=3405, fees={"return_shipping": 595})),
    ("day_31_is_outside_the_window_and_declined",
     order(days=31), ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("decline", "outside_window", return_required=False)),
    ("a_size_return_pays_no_return_shipping",
     order(), ask(("shirt", 1, R.TOO_SMALL)),
     Expect("approve", "approved", refund=4000)),
    ("a_damaged_item_is_refunded_in_full_with_shipping_and_no_fee",
     order(), ask(("shirt", 1, R.DAMAGED)),
     Expect("approve", "approved", refund=4800, shipping=800)),
    ("a_final_sale_item_cannot_be_returned_for_a_change_of_mind",
     order(), ask(("dress", 1, R.CHANGED_MIND)),
     Expect("decline", "final_sale", return_required=False)),
    ("a_defective_final_sale_item_is_still_refunded_with_shipping",
     order(), ask(("dress", 1, R.DEFECTIVE)),
     Expect("approve", "approved", refund=12800, shipping=800)),
    ("a_final_sale_item_is_left_out_while_the_rest_is_refunded",
     order(), ask(("dress", 1, R.CHANGED_MIND), ("shirt", 1, R.TOO_LARGE)),
     Expect("approve", "partially_approved", refund=4000)),
    ("a_refund_above_250_is_checked_by_a_person",
     order(), ask(("jacket", 1, R.CHANGED_MIND)),
     Expect("review", "above_request_limit", refund=29405, fees={"return_shipping": 595})),
    ("an_item_under_5_is_kept_and_pays_no_return_shipping",
     order(), ask(("socks", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=400, return_required=False)),
    ("an_other_reason_is_checked_by_a_person",
     order(), ask(("shirt", 1, R.OTHER)),
     Expect("review", "reason_review", refund=3405, fees={"return_shipping": 595})),
    ("a_holiday_gift_can_come_back_for_60_days",
     order(days=45), ask(("scarf", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=1905, fees={"return_shipping": 595})),
    ("returning_the_last_item_refunds_the_original_shipping",
     order(lines=(SHIRT,)), ask(("shirt", 2, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=8205, shipping=800, fees={"return_shipping": 595})),
    ("a_loyal_customer_gets_60_days_and_no_fees",
     order(days=45, history=LOYAL), ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=4000)),
    ("a_loyal_customer_is_approved_up_to_500_without_review",
     order(history=LOYAL), ask(("jacket", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=30000)),
    ("a_fifth_refund_within_90_days_goes_to_a_person_not_a_refusal",
     order(history=CustomerHistory(refunds_recent_count=4)), ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("review", "abuse_signal", refund=3405, fees={"return_shipping": 595})),
    ("a_disputed_payment_is_reviewed_and_never_refunded_automatically",
     order(payments=(PaymentFacts("stripe", "pi_1", 57700, disputed=True),)),
     ask(("shirt", 1, R.TOO_SMALL)),
     Expect("review", "payment_disputed")),
    ("refunds_above_500_on_one_order_are_checked_by_a_person",
     order(payments=(PaymentFacts("stripe", "pi_1", 57700, refunded=45000),)),
     ask(("shirt", 2, R.TOO_SMALL)),
     Expect("review", "above_order_limit", refund=8000)),
]


@pytest.mark.parametrize(("facts", "request_", "expect"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_standard_30_day_promise(facts, request_, expect):
    expect.check(evaluate(POLICY, facts, request_, NOW))


def test_a_loyal_customer_is_told_why_the_fee_was_waived():
    d = evaluate(POLICY, order(history=LOYAL), ask(("shirt", 1, R.CHANGED_MIND)), NOW)
    assert [r.code for r in d.trace if r.rule in ("tier", "fees")] == [
        "tier_loyal", "fees_waived_by_tier"]
    assert "loyal customer" in d.explanation


def test_the_loyal_tier_needs_three_orders():
    history = CustomerHistory(total_paid=120000, order_count=2,
                              first_order_at=NOW - timedelta(days=730))
    d = evaluate(POLICY, order(days=45, history=history), ask(("shirt", 1, R.CHANGED_MIND)), NOW)
    assert (d.outcome.value, d.reason_code) == ("decline", "outside_window")



def test_a_review_tells_the_customer_why_and_what_they_will_get():
    d = evaluate(POLICY, order(), ask(("jacket", 1, R.CHANGED_MIND)), NOW)
    assert d.explanation == (
        "Thank you. Your return of 1 × Leather jacket needs a quick check by our team. "
        "Returns over 250.00 USD are confirmed by our team. If it is approved, we will refund "
        "294.05 USD to your original payment. We deducted 5.95 USD return shipping, as the "
        "return is not due to a fault of ours. Once it is approved, we will ask you to send "
        "back Leather jacket.")
