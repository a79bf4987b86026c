"""``POST /webhooks/stripe``: real Stripe signatures (with rotation) and what each event records."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

from refunds_plugin.ledger.tables import (
    decisions,
    events,
    payments,
    provider_refunds,
    refund_attempts,
)
from refunds_plugin.ledger.tables import reviews as reviews_table
from tests.fakes import STRIPE_SECRETS, Harness, order_paid, return_requested, stripe_event
from tests.fakes.stripe_api import FakeStripe

NOTHING = {"events": 0, "decisions": 0, "refund_attempts": 0, "ledger_entries": 0}


def payment_intent(pi_id: str = "pi_123", amount: int = 5500, currency: str = "usd",
                   order_id: str | None = "1001") -> dict[str, Any]:
    return {"id": pi_id, "object": "payment_intent", "amount": amount, "amount_received": amount,
            "currency": currency, "customer": "cus_ann", "receipt_email": "ann@example.com",
            "latest_charge": "ch_" + pi_id.removeprefix("pi_"), "status": "succeeded",
            "metadata": {"order_id": order_id} if order_id else {}}


def refund_object(refund_id: str, amount: int, status: str = "succeeded",
                  metadata: dict[str, str] | None = None, pi_id: str = "pi_123") -> dict[str, Any]:
    return {"id": refund_id, "object": "refund", "amount": amount, "currency": "usd",
            "payment_intent": pi_id, "charge": "ch_" + pi_id.removeprefix("pi_"),
            "status": status, "metadata": metadata or {}}


def test_payment_intent_succeeded_records_the_payment_for_the_order_in_its_metadata(
    harness: Harness,
) -> None:
    resp = harness.post_stripe(stripe_event("evt_pi_1", "payment_intent.succeeded",
                                            payment_intent()))

    assert resp.status_code == 200
    assert resp.json == {"received": True, "duplicate": False, "note": "payment recorded"}
    [row] = harness.rows(payments)
    assert (row.provider, row.reference, row.order_id, row.currency, row.captured,
            row.refunded_reported, row.status, row.customer_id, row.customer_email,
            row.charge_id) == ("stripe", "pi_123", "1001", "USD", 5500, 0, "succeeded",
                               "cus_ann", "ann@example.com", "ch_123")
    assert [(e.source, e.event_id, e.status) for e in harness.rows(events)] == [
        ("stripe", "evt_pi_1", "processed")]


def test_charge_succeeded_records_the_payment_under_its_payment_intent(harness: Harness) -> None:
    charge = {"id": "ch_9", "object": "charge", "amount": 1200, "amount_captured": 1200,
              "currency": "jpy", "captured": True, "payment_intent": "pi_9",
              "billing_details": {"email": "bo@example.com"}, "metadata": {"order_id": "77"}}

    resp = harness.post_stripe(stripe_event("evt_ch_1", "charge.succeeded", charge))

    assert resp.status_code == 200
    [row] = harness.rows(payments)
    assert (row.reference, row.order_id, row.currency, row.captured, row.charge_id,
            row.customer_email) == ("pi_9", "77", "JPY", 1200, "ch_9", "bo@example.com")


def test_a_redelivered_stripe_event_is_recognised_and_changes_nothing(harness: Harness) -> None:
    event = stripe_event("evt_pi_1", "payment_intent.succeeded", payment_intent())
    harness.post_stripe(event)
    before = harness.money_rows()

    resp = harness.post_stripe(event)

    assert resp.status_code == 200
    assert resp.json == {"received": True, "duplicate": True}
    assert harness.money_rows() == before


@pytest.mark.parametrize("secret", STRIPE_SECRETS)
def test_events_signed_with_either_secret_during_rotation_are_accepted(
    harness: Harness, secret: str
) -> None:
    resp = harness.post_stripe(stripe_event("evt_rot", "payment_intent.succeeded",
                                            payment_intent()), secret=secret)

    assert resp.status_code == 200
    assert harness.count(payments) == 1


def test_a_header_carrying_several_signatures_is_accepted_when_one_matches(
    harness: Harness,
) -> None:
    text = json.dumps(stripe_event("evt_multi", "payment_intent.succeeded", payment_intent()))
    ts = int(harness.clock.timestamp())
    good = stripe.WebhookSignature.generate_signature_header(text, STRIPE_SECRETS[1], ts)
    header = f"{good},v1={'0' * 64}"

    resp = harness.client().post("/webhooks/stripe", data=text,
                                 headers={"Stripe-Signature": header})

    assert resp.status_code == 200
    assert harness.count(payments) == 1


@pytest.mark.parametrize(("how", "code", "message"), [
    pytest.param({"secret": "whsec_retired"}, "signature_mismatch",
                 "no Stripe-Signature signature matches the body: wrong secret, or the body was "
                 "changed", id="retired-secret"),
    pytest.param({"shift": -301}, "signature_expired",
                 "signature timestamp is 301 s old (tolerance 300 s)", id="stale"),
    pytest.param({"shift": 301}, "signature_from_future",
                 "signature timestamp is 301 s in the future (tolerance 300 s)", id="future"),
    pytest.param({"tamper": True}, "signature_mismatch",
                 "no Stripe-Signature signature matches the body: wrong secret, or the body was "
                 "changed", id="body-changed"),
])
def test_a_badly_signed_stripe_event_is_refused_and_nothing_is_recorded(
    harness: Harness, how: dict[str, Any], code: str, message: str
) -> None:
    text = json.dumps(stripe_event("evt_bad", "payment_intent.succeeded", payment_intent()))
    ts = int(harness.clock.timestamp()) + how.get("shift", 0)
    header = stripe.WebhookSignature.generate_signature_header(
        text, how.get("secret", STRIPE_SECRETS[0]), ts)
    body = text.replace('"amount_received": 5500', '"amount_received": 9900') if how.get(
        "tamper") else text

    resp = harness.client().post("/webhooks/stripe", data=body,
                                 headers={"Stripe-Signature": header})

    assert resp.status_code == 400
    assert resp.json == {"error": {"code": code, "message": message}}
    assert harness.money_rows() == NOTHING
    assert harness.count(payments) == 0


@pytest.mark.parametrize(("change", "problem"), [
    ({"amount_received": None}, "data.object.amount_received: Field may not be null."),
    ({"amount_received": -5}, "data.object.amount_received: Must be greater than or equal to 0."),
    ({"amount_received": 55.5}, "data.object.amount_received: Not a valid integer."),
    ({"currency": "zzz"},
     "data.object.currency: unknown currency 'zzz': expected an ISO 4217 code such as USD"),
])
def test_a_stripe_event_with_a_bad_amount_or_currency_is_refused_and_nothing_is_recorded(
    harness: Harness, change: dict[str, Any], problem: str
) -> None:
    obj = {**payment_intent(), **change}

    resp = harness.post_stripe(stripe_event("evt_bad", "payment_intent.succeeded", obj))

    assert resp.status_code == 400
    assert resp.json == {"error": {
        "code": "invalid_payload", "message": problem, "fields": [problem]}}
    assert harness.money_rows() == NOTHING
    assert harness.count(payments) == 0


def test_an_unhandled_stripe_event_type_is_acknowledged_and_nothing_is_recorded(
    harness: Harness,
) -> None:
    resp = harness.post_stripe(stripe_event("evt_cust", "customer.created", {"id": "cus_1"}))

    assert resp.status_code == 200
    assert resp.json == {"received": True, "ignored": "customer.created"}
    assert harness.money_rows() == NOTHING


def test_a_refund_made_outside_the_service_shrinks_what_a_later_return_can_refund(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(order_paid())  # 2 × 2500 + 500 shipping, paid with pi_123
    resp = harness.post_stripe(stripe_event("evt_re_out", "refund.created",
                                            refund_object("re_dashboard", 4000)))
    assert resp.json == {"received": True, "duplicate": False,
                         "note": "refund made outside this service recorded"}
    [outside] = harness.rows(provider_refunds)
    assert (outside.refund_id, outside.order_id, outside.payment_reference, outside.attempt_id,
            outside.amount, outside.status) == ("re_dashboard", "1001", "pi_123", None, 4000,
                                                "succeeded")

    answer = harness.post_storefront(return_requested()).json  # one mug, worth 2500
    harness.drain()

    assert answer is not None
    assert (answer["outcome"], answer["reason_code"], answer["refund_amount"]) == (
        "review", "exceeds_refundable", 1500)
    assert harness.rows(refund_attempts) == []
    assert fake_stripe.calls == []
    [review] = harness.rows(reviews_table)
    assert (review.status, review.reason) == ("open", "exceeds_refundable")


# before API version 2024-10-28 a card refund's changes come as charge.refund.updated
@pytest.mark.parametrize("type_", ["refund.updated", "charge.refund.updated"])
def test_refund_events_move_our_own_attempt_to_what_stripe_reports(
    harness: Harness, fake_stripe: FakeStripe, type_: str
) -> None:
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    fake_stripe.next_refund_status = "pending"
    harness.post_storefront(order_paid())
    harness.post_storefront(return_requested())
    harness.drain()
    [attempt] = harness.rows(refund_attempts)
    assert (attempt.status, attempt.sent_amount) == ("sent", 2500)

    harness.post_stripe(stripe_event("evt_re_1", type_, refund_object(
        attempt.provider_reference, 2500, "succeeded", {"attempt_id": attempt.id})))

    [attempt] = harness.rows(refund_attempts)
    assert attempt.status == "succeeded"
    [ours] = harness.rows(provider_refunds)
    assert (ours.attempt_id, ours.amount, ours.status) == (attempt.id, 2500, "succeeded")
    assert harness.chain_problem() is None


@pytest.mark.parametrize("type_", ["refund.failed", "charge.refund.updated"])
def test_a_failed_refund_event_fails_the_attempt_and_sends_it_to_review(
    harness: Harness, fake_stripe: FakeStripe, type_: str
) -> None:
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    fake_stripe.next_refund_status = "pending"
    harness.post_storefront(order_paid())
    harness.post_storefront(return_requested())
    harness.drain()
    [attempt] = harness.rows(refund_attempts)
    failed = refund_object(attempt.provider_reference, 2500, "failed")  # no metadata: by id
    failed["failure_reason"] = "expired_or_canceled_card"

    resp = harness.post_stripe(stripe_event("evt_re_f", type_, failed))

    assert resp.json is not None and resp.json["note"] == "attempt failed"
    [attempt] = harness.rows(refund_attempts)
    assert (attempt.status, attempt.last_error) == ("failed", "expired_or_canceled_card")
    [review] = harness.rows(reviews_table)
    assert (review.decision_id, review.status, review.reason) == (
        attempt.decision_id, "open", "attempt_failed: expired_or_canceled_card")


def test_a_disputed_payment_sends_a_later_return_to_review_and_refunds_nothing(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(order_paid())
    harness.post_stripe(stripe_event("evt_pi", "charge.succeeded", {
        "id": "ch_123", "object": "charge", "amount": 5500, "currency": "usd",
        "payment_intent": "pi_123", "captured": True, "metadata": {"order_id": "1001"}}))

    resp = harness.post_stripe(stripe_event("evt_dp", "charge.dispute.created", {
        "id": "dp_1", "object": "dispute", "charge": "ch_123", "amount": 5500,
        "currency": "usd"}))
    assert resp.json is not None and resp.json["note"] == "payment marked disputed"
    [pay] = harness.rows(payments)
    assert pay.status == "disputed"

    answer = harness.post_storefront(return_requested()).json
    harness.drain()

    assert answer is not None
    assert (answer["outcome"], answer["reason_code"], answer["amount"]) == (
        "review", "payment_disputed", 0)
    assert "disputed" in answer["explanation"]
    assert harness.rows(refund_attempts) == []
    assert fake_stripe.calls == []
    [decision] = harness.rows(decisions)
    [review] = harness.rows(reviews_table)
    assert (review.decision_id, review.reason) == (decision.id, "payment_disputed")
