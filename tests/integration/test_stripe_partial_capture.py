"""A partial capture's uncaptured rest is no refund: on Stripe API versions before 2025-03-31
Stripe releases it as a Refund and counts it in ``amount_refunded``, but the customer paid only
what was captured, and all of that can still be refunded."""

from __future__ import annotations

from typing import Any

import pytest

from refunds_plugin.ledger import facts
from refunds_plugin.ledger.tables import refund_attempts
from tests.fakes import Harness, order_paid, return_requested, stripe_event
from tests.fakes.stripe_api import FakeStripe

AUTHORISED = 5500  # 2 mugs × 2500 + 500 shipping, authorised on pi_123 (charge ch_123)
CAPTURED = 3000  # the merchant captured 30.00 of it (one mug was out of stock, say)
ONE_MUG = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]
T0 = 1764000000


def event(event_id: str, type_: str, obj: dict[str, Any], created: int,
          api_version: str) -> dict[str, Any]:
    return {**stripe_event(event_id, type_, obj), "created": created, "api_version": api_version}


def captured_in_part(harness: Harness, api_version: str, amount_refunded: int) -> None:
    """payment_intent.succeeded for 30.00 of 55.00, then the charge.refunded Stripe sends."""
    intent = {"id": "pi_123", "object": "payment_intent", "amount": AUTHORISED,
              "amount_received": CAPTURED, "currency": "usd", "latest_charge": "ch_123",
              "status": "succeeded", "livemode": True, "metadata": {"order_id": "1001"}}
    charge = {"id": "ch_123", "object": "charge", "amount": AUTHORISED,
              "amount_captured": CAPTURED, "amount_refunded": amount_refunded,
              "captured": True, "refunded": False, "currency": "usd", "livemode": True,
              "payment_intent": "pi_123", "metadata": {"order_id": "1001"}}
    for sent in (event("evt_pi", "payment_intent.succeeded", intent, T0 + 1, api_version),
                 event("evt_ch", "charge.refunded", charge, T0 + 2, api_version)):
        assert harness.post_stripe(sent).status_code == 200


def refunded_and_refundable(harness: Harness) -> tuple[int, int]:
    with harness.runtime.engine.connect() as conn:
        [pay] = facts.payment_facts(conn, "1001")
    return pay.refunded, pay.refundable


def test_the_released_rest_of_a_partial_capture_is_not_counted_as_refunded(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_payment_intent(CAPTURED, "usd", "pi_123")
    assert harness.post_storefront(order_paid()).status_code == 200
    # API 2024-06-20: Stripe's charge counts the released 25.00 in amount_refunded
    captured_in_part(harness, "2024-06-20", AUTHORISED - CAPTURED)

    assert refunded_and_refundable(harness) == (0, CAPTURED)
    answer = harness.post_storefront(return_requested(lines=ONE_MUG)).json
    harness.drain()

    assert answer is not None
    assert (answer["outcome"], answer["refund_amount"]) == ("approve", 2500)
    assert [c.params["amount"] for c in fake_stripe.calls_to("POST", "/v1/refunds")] == ["2500"]
    [attempt] = harness.rows(refund_attempts)
    assert (attempt.status, attempt.amount) == ("succeeded", 2500)


@pytest.mark.parametrize("api_version", ["2025-03-31.basil", "2026-10-28.endive"])
def test_on_later_api_versions_amount_refunded_is_all_refunds(
    harness: Harness, api_version: str
) -> None:
    """From 2025-03-31 the released rest is not in ``amount_refunded``: 25.00 there is a real
    refund of 25.00, and only 5.00 is left."""
    assert harness.post_storefront(order_paid()).status_code == 200
    captured_in_part(harness, api_version, 2500)

    assert refunded_and_refundable(harness) == (2500, CAPTURED - 2500)


def test_a_refund_after_the_release_counts_only_itself(harness: Harness) -> None:
    assert harness.post_storefront(order_paid()).status_code == 200
    captured_in_part(harness, "2024-06-20", AUTHORISED - CAPTURED)
    charge = {"id": "ch_123", "object": "charge", "amount": AUTHORISED,
              "amount_captured": CAPTURED, "amount_refunded": AUTHORISED - CAPTURED + 1000,
              "captured": True, "currency": "usd", "payment_intent": "pi_123"}
    assert harness.post_stripe(
        event("evt_ch_2", "charge.refunded", charge, T0 + 9, "2024-06-20")).status_code == 200

    assert refunded_and_refundable(harness) == (1000, CAPTURED - 1000)
