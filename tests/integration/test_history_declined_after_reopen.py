"""A return the policy approved, re-opened (payout refused, or another item came back) and then
declined by a person, is no refund in the customer's history: the abuse signals do not count
it, so the customer's next return is approved where one refund in the window sends it to a
person. While the person has not decided, the policy's approval still counts."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import select

from refunds_plugin.domain.facts import Customer
from refunds_plugin.ledger.history import customer_history
from refunds_plugin.ledger.tables import decisions
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.reopened import DOCK, WAYS, approved, decline
from tests.fakes.stripe_api import FakeStripe

ONE_REFUND = "abuse: {window_days: 90, max_refunds: 1}\n"  # one refund in 90 days: a person looks


def history(h: Harness) -> tuple[int, int, int, int, int, int]:
    """Ann's history in USD: (paid, orders, refunded, refunds in 90 days, their amount,
    "not received" claims)."""
    with h.runtime.engine.connect() as conn:
        got = customer_history(conn, Customer("c-7", "ann@example.com"), h.clock(), 90, "USD")
    return (got.total_paid, got.order_count, got.total_refunded, got.refunds_recent_count,
            got.refunds_recent_amount, got.not_received_claims)


def ask_again(h: Harness, fake: FakeStripe) -> tuple[str, str, list[str]]:
    """Ann's next order (1002, on pi_456), one mug asked back: the outcome, its reason code and
    the abuse rule's signals."""
    fake.add_payment_intent(5500, "usd", "pi_456")
    assert h.post_storefront(order_paid("1002", reference="pi_456")).status_code == 200
    answer = h.post_storefront(return_requested("r-1002", "1002"))
    assert answer.status_code == 201 and answer.json is not None
    with h.runtime.engine.connect() as conn:
        body = conn.execute(select(decisions.c.body).where(decisions.c.order_id == "1002")
                            ).scalar_one()
    [abuse] = [r for r in json.loads(body)["trace"] if r["rule"] == "abuse"]
    return answer.json["outcome"], answer.json["reason_code"], abuse["saw"]["signals"]


@pytest.mark.parametrize("way", WAYS)
def test_a_return_declined_after_it_was_reopened_does_not_count_against_the_customer(
    policy_harness: Callable[..., Harness], fake_stripe: FakeStripe, way: str,
) -> None:
    policy, reopen = WAYS[way]
    h = policy_harness(policy + ONE_REFUND, return_addresses=(DOCK,))
    decision_id = approved(h, fake_stripe)
    reopen(h, fake_stripe, decision_id)
    # a person looks: until they decide, the policy's 25.00 refund counts
    assert history(h) == (5500, 1, 2500, 1, 2500, 0)

    decline(h, decision_id)

    assert history(h) == (5500, 1, 0, 0, 0, 0)
    assert ask_again(h, fake_stripe) == ("approve", "approved", [])
    assert history(h) == (11000, 2, 2500, 1, 2500, 0)  # the new one counts

