"""credit-first end to end: a refund asked for after the 14 days becomes store credit with the
10% bonus the preset's title promises, and nothing goes back to the card (issue 13).

The preset's own file is the policy; the request is a signed storefront webhook; the credit is
issued by the Stripe provider against the in-repo fake (a coupon), which also counts refunds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources

from refunds_plugin.ledger.tables import decisions, refund_attempts, reviews
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe

CREDIT_FIRST = resources.files("policies").joinpath("presets", "credit-first.yaml").read_text()


def test_a_late_refund_request_becomes_store_credit_with_the_bonus_and_no_card_refund(
    policy_harness: Callable[[str], Harness], fake_stripe: FakeStripe
) -> None:
    h = policy_harness(CREDIT_FIRST)
    fake_stripe.add_payment_intent(5500, "usd", "pi_123", order_id="1001")
    h.post_storefront(order_paid(reference="pi_123"))  # paid 23 days before the request

    resp = h.post_storefront(return_requested(preferred="refund"))

    assert resp.status_code == 201
    answer = resp.json
    assert (answer["outcome"], answer["resolution"], answer["amount"], answer["refund_amount"],
            answer["credit_amount"]) == ("approve", "credit", 2500, 0, 2750)  # with the bonus
    assert [(a["kind"], a["amount"], a["bonus"]) for a in answer["attempts"]] == [
        ("credit", 2500, 250)]
    assert answer["explanation"] == (
        "Your return of 1 × Mug is approved. We will give you 27.50 USD in store credit "
        "(including a bonus of 2.50 USD). Refunds to the original payment are available for 14 "
        "days; after that we give store credit. Please send back: Mug. The money will be on its "
        "way within 24 hours.")
    [d] = h.rows(decisions)
    said = {t["rule"]: (t["code"], t["message"]) for t in json.loads(d.body)["trace"]}
    assert said["resolution"] == (
        "resolution_credit_instead",
        "You asked for a refund, but Mug can only be given as store credit, as explained above.")
    assert said["credit_bonus"] == ("credit_bonus", "You get a bonus of 2.50 USD on your store "
                                    "credit.")
    h.drain()
    [attempt] = h.rows(refund_attempts)
    assert (attempt.status, attempt.amount, attempt.bonus, attempt.sent_amount) == (
        "succeeded", 2500, 250, 2750)
    [coupon] = fake_stripe.calls_to("POST", "/v1/coupons")
    assert int(coupon.params["amount_off"]) == 2750
    assert fake_stripe.refunds == []  # nothing back to the card
    assert h.count(reviews) == 0
    assert h.chain_problem() is None
