"""An unpaid exchange (the customer never paid a dearer item's difference) falls back to the
refund the policy offers; under ``refund_on: delivered`` that refund waits for the parcel, as
its explanation says and as an out-of-stock fallback's does, and goes out once the parcel is
received: never before."""

from __future__ import annotations

import json
from typing import Any

import pytest

from refunds_plugin.ledger.tables import decisions, exchanges, refund_attempts
from tests.fakes import Harness, stripe_event
from tests.fakes.outbound_receiver import ANNOUNCED
from tests.fakes.stripe_api import FakeStripe
from tests.integration.shipping.conftest import SHOP
from tests.integration.test_exchange_stripe import shoe_order, swap

pytestmark = pytest.mark.usefixtures("merchant_hook")

HELD = """
currency: USD
window: {days: 60}
resolution: {allow: [refund, credit, exchange]}
refund_on: delivered
exchange:
  scope: same_product
  price_difference: {lower: refund, higher: charge}
"""


def _fell_back(policy_harness: Any, fake_stripe: FakeStripe) -> tuple[Harness, str, str]:
    h = policy_harness(HELD, return_addresses=(SHOP,), **ANNOUNCED)
    fake_stripe.add_payment_intent(10000, "USD", "pi_123")
    assert h.post_storefront(shoe_order("USD", 10000, 12500)).status_code == 200
    decision_id = h.post_storefront(swap()).json["decision_id"]
    [cs_id] = fake_stripe.checkout_sessions
    h.post_stripe(stripe_event("evt_cs_x", "checkout.session.expired",
                               fake_stripe.expire_session(cs_id)))
    h.drain()
    [row] = h.rows(exchanges)
    assert row.status == "fallen_back"
    return h, decision_id, row.fallback_decision_id


def test_an_unpaid_exchanges_refund_waits_for_the_parcel_then_goes_once(
    policy_harness: Any, fake_stripe: FakeStripe,
) -> None:
    h, decision_id, fallback_id = _fell_back(policy_harness, fake_stripe)
    [fallback] = h.rows(decisions, id=fallback_id)
    assert "Your refund is sent once your parcel reaches us." in \
        json.loads(fallback.body)["explanation"]
    [attempt] = h.rows(refund_attempts)
    assert (attempt.decision_id, attempt.kind, attempt.amount, attempt.currency,
            attempt.status) == (fallback_id, "refund", 10000, "USD", "held")
    h.drain()
    assert [a.status for a in h.rows(refund_attempts)] == ["held"]
    assert fake_stripe.refunded("pi_123") == 0  # no parcel, no money

    receipt = h.runtime.service.receive(decision_id, {"l1": ("as_new", None, False)}, "dock")
    assert receipt.released == (attempt.id,)
    h.drain()
    [attempt] = h.rows(refund_attempts)
    assert attempt.status == "succeeded"
    assert fake_stripe.refunded("pi_123") == 10000
