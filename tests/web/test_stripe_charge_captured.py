"""A Charges-API payment captured later (no PaymentIntent): Stripe sends ``charge.succeeded``
while it is only authorised and ``charge.captured`` when it is captured; the capture records it."""

from __future__ import annotations

from typing import Any

from refunds_plugin.ledger.tables import events, payments, refund_attempts
from tests.fakes import Harness, order_paid, return_requested, stripe_event
from tests.fakes.stripe_api import FakeStripe


def charge(captured: bool, amount_captured: int) -> dict[str, Any]:
    return {"id": "ch_9", "object": "charge", "amount": 5500, "amount_captured": amount_captured,
            "amount_refunded": 0, "currency": "usd", "captured": captured,
            "payment_intent": None, "livemode": True,
            "billing_details": {"email": "ann@example.com"}, "metadata": {"order_id": "1001"}}


def test_a_charge_captured_later_records_the_captured_payment(harness: Harness) -> None:
    authorised = harness.post_stripe(stripe_event("evt_ch_auth", "charge.succeeded",
                                                  charge(False, 0)))
    assert authorised.json is not None
    assert authorised.json["note"] == "authorisation only: nothing captured yet"
    assert harness.rows(payments) == []

    resp = harness.post_stripe(stripe_event("evt_ch_cap", "charge.captured", charge(True, 5000)))

    assert resp.status_code == 200 and resp.json is not None
    assert resp.json["note"] == "payment recorded"
    [row] = harness.rows(payments)
    assert (row.reference, row.order_id, row.currency, row.captured, row.charge_id,
            row.customer_email, row.livemode) == (
        "ch_9", "1001", "USD", 5000, "ch_9", "ann@example.com", True)
    assert row.confirmed_at is not None
    assert [(e.event_id, e.status) for e in harness.rows(events)] == [
        ("evt_ch_auth", "processed"), ("evt_ch_cap", "processed")]


def test_a_return_on_a_payment_captured_later_is_refunded_against_the_capture(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    """The storefront's order says 55.00; Stripe captured 50.00 of it: Stripe's word stands."""
    fake_stripe.add_payment_intent(5000, "usd", "pi_unused")
    harness.post_storefront(order_paid(reference="ch_9"))
    harness.post_stripe(stripe_event("evt_ch_cap", "charge.captured", charge(True, 5000)))

    [row] = harness.rows(payments)
    assert (row.reference, row.captured) == ("ch_9", 5000)
    answer = harness.post_storefront(return_requested(lines=[
        {"line_id": "l1", "quantity": 2, "reason": "changed_mind"}])).json

    assert answer is not None
    assert (answer["outcome"], answer["reason_code"], answer["refund_amount"]) == (
        "review", "exceeds_refundable", 5000)
    assert harness.rows(refund_attempts) == [] and fake_stripe.calls == []
