"""A dispute's life on a Stripe payment (real signatures): open, the payment's returns go to a
person; won, warning_closed or prevented, decided by the policy again; lost, still a person's
(the bank gave the money back already). Events in any order: the newest word stands."""

from __future__ import annotations

import json
from typing import Any

import pytest

from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.ledger.tables import decisions, ledger_entries, payments, refund_attempts
from tests.fakes import Harness, order_paid, return_requested, stripe_event
from tests.fakes.stripe_api import FakeStripe

T0 = 1764000000


def _paid(harness: Harness, fake_stripe: FakeStripe) -> None:
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    assert harness.post_storefront(order_paid()).status_code in (200, 201)
    assert harness.post_stripe(stripe_event("evt_ch", "charge.succeeded", {
        "id": "ch_123", "object": "charge", "amount": 5500, "amount_captured": 5500,
        "currency": "usd", "payment_intent": "pi_123", "captured": True,
        "metadata": {"order_id": "1001"}})).status_code == 200


def _dispute(harness: Harness, event_id: str, type_: str, status: str, at: int) -> str:
    event: dict[str, Any] = stripe_event(event_id, f"charge.dispute.{type_}", {
        "id": "dp_1", "object": "dispute", "charge": "ch_123", "payment_intent": "pi_123",
        "amount": 5500, "currency": "usd", "status": status, "reason": "product_not_received"})
    event["created"] = at
    resp = harness.post_stripe(event)
    assert resp.status_code == 200 and resp.json is not None, resp.get_data(as_text=True)
    return str(resp.json["note"])


def _status(harness: Harness) -> str:
    [pay] = harness.rows(payments)
    return str(pay.status)


def _journalled(harness: Harness) -> list[tuple[str, int]]:
    return [(json.loads(r.body)["status"], json.loads(r.body)["as_of"])
            for r in harness.rows(ledger_entries) if r.entry_type == "stripe_dispute"]


def test_a_won_dispute_lets_the_policy_refund_the_return_again(
    harness: Harness, fake_stripe: FakeStripe,
) -> None:
    _paid(harness, fake_stripe)
    assert _dispute(harness, "evt_1", "created", "needs_response", T0 + 10) == \
        "payment marked disputed (dispute needs_response)"
    assert _dispute(harness, "evt_2", "updated", "under_review", T0 + 20) == \
        "payment marked disputed (dispute under_review)"
    assert _status(harness) == "disputed"

    assert _dispute(harness, "evt_3", "closed", "won", T0 + 30) == \
        "dispute won: the payment is no longer disputed"
    assert _dispute(harness, "evt_4", "funds_reinstated", "won", T0 + 31) == "dispute won"
    assert _status(harness) == "succeeded"
    fake_stripe.payment_intents["pi_123"]["disputed"] = False  # as Stripe: refundable again

    answer = harness.post_storefront(return_requested()).json
    harness.drain()
    assert answer is not None
    assert (answer["outcome"], answer["amount"]) == ("approve", 2500), answer
    assert [(r.amount, r.status) for r in harness.rows(refund_attempts)] == [(2500, "succeeded")]
    assert fake_stripe.refunded("pi_123") == 2500
    assert _journalled(harness) == [("needs_response", T0 + 10), ("under_review", T0 + 20),
                                    ("won", T0 + 30), ("won", T0 + 31)]
    assert verify_ledger(harness.runtime.engine) == []


def test_a_lost_dispute_keeps_the_return_with_a_person_and_nothing_is_paid_twice(
    harness: Harness, fake_stripe: FakeStripe,
) -> None:
    _paid(harness, fake_stripe)
    _dispute(harness, "evt_1", "created", "needs_response", T0 + 10)
    assert _dispute(harness, "evt_2", "closed", "lost", T0 + 30) == (
        "dispute lost (55.00 USD given back by the bank): the payment stays disputed, so "
        "returns of the order go to a person")
    assert _status(harness) == "disputed"

    answer = harness.post_storefront(return_requested()).json
    harness.drain()
    assert answer is not None
    assert (answer["outcome"], answer["reason_code"], answer["amount"]) == (
        "review", "payment_disputed", 0)
    assert harness.rows(refund_attempts) == []
    assert fake_stripe.calls_to("POST", "/v1/refunds") == []


def test_a_created_arriving_after_the_won_close_does_not_dispute_the_payment_again(
    harness: Harness, fake_stripe: FakeStripe,
) -> None:
    _paid(harness, fake_stripe)
    assert _dispute(harness, "evt_3", "closed", "won", T0 + 30) == "dispute won"
    assert _dispute(harness, "evt_1", "created", "needs_response", T0 + 10) == (
        "dispute needs_response as of an older event: the newer word (won) stands")
    assert _status(harness) == "succeeded"
    assert _journalled(harness) == [("won", T0 + 30)]


def test_in_the_same_second_an_ended_dispute_stands_against_an_open_one(
    harness: Harness, fake_stripe: FakeStripe,
) -> None:
    _paid(harness, fake_stripe)
    _dispute(harness, "evt_2", "closed", "warning_closed", T0 + 30)
    assert _dispute(harness, "evt_1", "created", "warning_needs_response", T0 + 30) == (
        "dispute warning_needs_response as of an older event: the newer word "
        "(warning_closed) stands")
    assert _status(harness) == "succeeded"
    _dispute(harness, "evt_3", "updated", "needs_response", T0 + 31)  # a chargeback after all
    assert _status(harness) == "disputed"
    assert [r.outcome for r in harness.rows(decisions)] == []


def _intent_succeeded(harness: Harness, fake_stripe: FakeStripe) -> str:
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    resp = harness.post_stripe(stripe_event("evt_pi", "payment_intent.succeeded", {
        "id": "pi_123", "object": "payment_intent", "amount": 5500, "amount_received": 5500,
        "currency": "usd", "latest_charge": "ch_123", "status": "succeeded",
        "metadata": {"order_id": "1001"}}))
    assert resp.status_code == 200 and resp.json is not None
    return str(resp.json["note"])


def test_a_dispute_delivered_before_its_payment_is_kept_and_applied_when_the_payment_arrives(
    harness: Harness, fake_stripe: FakeStripe,
) -> None:
    assert _dispute(harness, "evt_1", "created", "needs_response", T0 + 10) == (
        "dispute needs_response for a payment we have not seen: kept, and applied when "
        "Stripe's event for the payment arrives")
    assert harness.rows(payments) == []

    assert _intent_succeeded(harness, fake_stripe) == (
        "payment recorded; a dispute Stripe reported before it applied")
    assert _status(harness) == "disputed"
    assert harness.post_storefront(order_paid()).status_code in (200, 201)
    assert _status(harness) == "disputed"

    answer = harness.post_storefront(return_requested()).json
    harness.drain()
    assert answer is not None
    assert (answer["outcome"], answer["reason_code"], answer["amount"]) == (
        "review", "payment_disputed", 0)
    assert harness.rows(refund_attempts) == []
    assert fake_stripe.calls_to("POST", "/v1/refunds") == []
    assert verify_ledger(harness.runtime.engine) == []


def test_a_dispute_won_before_its_payment_arrived_leaves_the_payment_ordinary(
    harness: Harness, fake_stripe: FakeStripe,
) -> None:
    _dispute(harness, "evt_1", "created", "needs_response", T0 + 10)
    _dispute(harness, "evt_3", "closed", "won", T0 + 30)
    assert _dispute(harness, "evt_2", "updated", "under_review", T0 + 20) == (
        "dispute for a payment we have not seen, as of an older event: not kept")

    _intent_succeeded(harness, fake_stripe)

    assert _status(harness) == "succeeded"
    # a later word goes on from the one kept: an older one changes nothing
    assert _dispute(harness, "evt_0", "updated", "needs_response", T0 + 25) == (
        "dispute needs_response as of an older event: the newer word (won) stands")
    assert _status(harness) == "succeeded"


@pytest.mark.parametrize("named", ["pi_123", "ch_123"])
def test_a_dispute_delivered_before_the_storefronts_order_paid_is_applied_by_it(
    harness: Harness, fake_stripe: FakeStripe, named: str,
) -> None:
    """No Stripe payment event yet (delayed, or not subscribed): the storefront's order.paid
    naming the payment by either of its names applies the dispute Stripe reported first."""
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    _dispute(harness, "evt_1", "created", "needs_response", T0 + 10)

    assert harness.post_storefront(order_paid(reference=named)).status_code in (200, 201)

    [pay] = harness.rows(payments)
    assert (pay.reference, pay.status) == (named, "disputed")
    answer = harness.post_storefront(return_requested()).json
    harness.drain()
    assert answer is not None
    assert (answer["outcome"], answer["reason_code"], answer["amount"]) == (
        "review", "payment_disputed", 0)
    assert harness.rows(refund_attempts) == []
    assert fake_stripe.calls_to("POST", "/v1/refunds") == []
    # Stripe's payment event afterwards changes nothing more
    _intent_succeeded(harness, fake_stripe)
    assert _status(harness) == "disputed"
    assert verify_ledger(harness.runtime.engine) == []


def test_a_dispute_won_before_the_storefronts_order_paid_leaves_the_payment_ordinary(
    harness: Harness, fake_stripe: FakeStripe,
) -> None:
    _dispute(harness, "evt_1", "created", "needs_response", T0 + 10)
    _dispute(harness, "evt_3", "closed", "won", T0 + 30)

    assert harness.post_storefront(order_paid()).status_code in (200, 201)

    assert _status(harness) == "succeeded"
