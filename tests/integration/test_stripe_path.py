"""The Stripe path end to end: a signed return in, the exact refund at the Stripe fake, every step
recorded; and what the ledger says when Stripe fails, times out or refuses."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from refunds_plugin.ledger.tables import refund_attempts, reviews
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe, FakeStripeServer


def mug_order(currency: str, unit_amount: int, shipping: int = 0) -> dict[str, Any]:
    lines = [{"id": "l1", "sku": "MUG-1", "name": "Mug", "quantity": 2,
              "unit_amount": unit_amount, "tags": []}]
    return order_paid(currency=currency, lines=lines, shipping=shipping)


@pytest.mark.parametrize(("currency", "unit", "sent", "explained"), [
    # the customer reads it grouped; the ledger, the attempt and the call keep 1500
    pytest.param("JPY", 1500, 1500, "We will refund 1,500 JPY", id="JPY-zero-decimal"),
    # Stripe takes KWD refunds in steps of 10 fils: the decision, the explanation, the attempt
    # and the call all name 12.340, never the 12.345 that cannot be sent
    pytest.param("KWD", 12345, 12340, "We will refund 12.340 KWD", id="KWD-three-decimal"),
    pytest.param("USD", 1999, 1999, "We will refund 19.99 USD", id="USD-two-decimal"),
])
def test_a_return_reaches_stripe_with_the_exact_amount_in_its_currency(
    harness: Harness, fake_stripe: FakeStripe, currency: str, unit: int, sent: int,
    explained: str,
) -> None:
    fake_stripe.add_payment_intent(2 * unit, currency, "pi_123")
    harness.post_storefront(mug_order(currency, unit))

    answer = harness.post_storefront(return_requested()).json
    harness.drain()

    assert answer is not None
    assert (answer["outcome"], answer["amount"], answer["currency"]) == ("approve", sent, currency)
    assert explained in answer["explanation"]
    [attempt] = harness.rows(refund_attempts)
    assert (attempt.status, attempt.currency, attempt.amount, attempt.sent_amount) == (
        "succeeded", currency, sent, sent)
    [call] = fake_stripe.calls_to("POST", "/v1/refunds")
    assert call.params == {
        "payment_intent": "pi_123", "amount": str(sent), "reason": "requested_by_customer",
        "metadata": {"attempt_id": attempt.id, "decision_id": attempt.decision_id,
                     "order_id": "1001", "policy_hash": harness.runtime.policy.content_hash,
                     "source": "refunds-plugin"}}
    assert call.idempotency_key == attempt.idempotency_key
    assert fake_stripe.refunded("pi_123") == sent
    assert harness.chain_problem() is None


def _one_attempt(harness: Harness) -> Any:
    [attempt] = harness.rows(refund_attempts)
    return attempt


def _approved_return(harness: Harness, fake: FakeStripe) -> None:
    fake.add_payment_intent(5500, "usd", "pi_123")
    harness.post_storefront(order_paid())
    harness.post_storefront(return_requested())


def test_a_stripe_500_leaves_the_attempt_pending_and_the_retry_reuses_its_key(
    harness: Harness, fake_stripe: FakeStripe, clock: Clock
) -> None:
    _approved_return(harness, fake_stripe)
    fake_stripe.fail_next(1, status=500)

    harness.drain()

    attempt = _one_attempt(harness)
    assert (attempt.status, attempt.tries, attempt.provider_reference) == ("pending", 1, None)
    assert attempt.last_error == "APIError: Something went wrong on Stripe's end."
    wait = (attempt.next_try_at.replace(tzinfo=clock.now.tzinfo) - clock.now).total_seconds()
    assert 1.0 <= wait <= 2.0  # backoff base 2 s with jitter in [½, 1]
    assert fake_stripe.refunds == []

    clock.advance(2.5)
    harness.drain()

    attempt = _one_attempt(harness)
    assert (attempt.status, attempt.tries, attempt.sent_amount) == ("succeeded", 2, 2500)
    calls = fake_stripe.calls_to("POST", "/v1/refunds")
    assert [(c.status, c.idempotency_key) for c in calls] == [
        (500, attempt.idempotency_key), (200, attempt.idempotency_key)]
    assert fake_stripe.refunded("pi_123") == 2500


def test_a_500_that_stripe_saved_under_the_key_is_replayed_and_the_attempt_stays_pending(
    harness: Harness, fake_stripe: FakeStripe, clock: Clock
) -> None:
    _approved_return(harness, fake_stripe)
    fake_stripe.fail_next(1, status=500, saved=True)
    harness.drain()
    clock.advance(2.5)

    harness.drain()

    attempt = _one_attempt(harness)
    assert (attempt.status, attempt.tries) == ("pending", 2)
    calls = fake_stripe.calls_to("POST", "/v1/refunds")
    assert [(c.status, c.replayed, c.idempotency_key) for c in calls] == [
        (500, False, attempt.idempotency_key), (500, True, attempt.idempotency_key)]
    assert fake_stripe.refunds == []


def test_a_timeout_is_retried_with_the_same_key_and_stripe_refunds_only_once(
    harness: Harness, fake_stripe: FakeStripe, clock: Clock
) -> None:
    _approved_return(harness, fake_stripe)
    fake_stripe.hang_next(1, seconds=4.0)  # our timeout is 3 s; Stripe finishes the refund

    harness.drain()

    attempt = _one_attempt(harness)
    assert (attempt.status, attempt.tries) == ("pending", 1)
    assert attempt.last_error is not None and attempt.last_error.startswith(
        "APIConnectionError: ")
    deadline = time.monotonic() + 5
    while not fake_stripe.refunds and time.monotonic() < deadline:
        time.sleep(0.05)
    [refund] = fake_stripe.refunds

    clock.advance(2.5)
    harness.drain()

    attempt = _one_attempt(harness)
    assert (attempt.status, attempt.provider_reference, attempt.sent_amount) == (
        "succeeded", refund["id"], 2500)
    calls = fake_stripe.calls_to("POST", "/v1/refunds")
    assert [(c.idempotency_key, c.replayed) for c in calls] == [
        (attempt.idempotency_key, False), (attempt.idempotency_key, True)]
    assert fake_stripe.refunded("pi_123") == 2500


@pytest.mark.parametrize(("prepare", "code", "reason"), [
    pytest.param("refund_all", "charge_already_refunded",
                 "the charge was already refunded in full", id="already-refunded"),
    pytest.param("dispute", "charge_disputed",
                 "the charge is disputed; Stripe refuses refunds while it is", id="disputed"),
])
def test_a_final_stripe_refusal_fails_the_attempt_and_opens_a_review(
    harness: Harness, fake_stripe: FakeStripe, prepare: str, code: str, reason: str
) -> None:
    _approved_return(harness, fake_stripe)
    if prepare == "dispute":
        fake_stripe.dispute("pi_123")
    else:
        fake_stripe.create_refund({"payment_intent": "pi_123"})  # made in the Dashboard

    harness.drain()
    harness.drain()  # a final error is not retried

    attempt = _one_attempt(harness)
    assert (attempt.status, attempt.tries, attempt.last_error) == (
        "failed", 1, f"{code}: {reason}")
    [review] = harness.rows(reviews)
    assert (review.decision_id, review.status, review.reason) == (
        attempt.decision_id, "open", f"attempt_failed: {code}: {reason}")
    assert len(fake_stripe.calls_to("POST", "/v1/refunds")) == 1
    assert harness.chain_problem() is None


@pytest.fixture
def credit_harness(
    sqlite_url: str, clock: Clock, stripe_server: FakeStripeServer
) -> Iterator[Harness]:
    h = Harness(sqlite_url, clock, stripe_server.url, {"policy": "preset:credit-first"})
    assert h.runtime.executor is not None
    h.runtime.executor.start()
    yield h
    h.close()


def test_store_credit_for_a_stripe_shop_is_a_promotion_code_returned_to_the_storefront(
    credit_harness: Harness, fake_stripe: FakeStripe
) -> None:
    h = credit_harness
    event = order_paid()
    event["data"]["order"]["delivered_at"] = "2026-11-20T10:00:00Z"
    h.post_storefront(event)

    resp = h.post_storefront(return_requested(preferred="credit"))

    answer = resp.json
    assert answer is not None
    assert (answer["outcome"], answer["resolution"], answer["credit_amount"]) == (
        "approve", "credit", 2750)
    [shown] = answer["attempts"]
    attempt = _one_attempt(h)
    assert (attempt.kind, attempt.amount, attempt.bonus, attempt.sent_amount,
            attempt.status) == ("credit", 2500, 250, 2750, "succeeded")
    [coupon_call] = fake_stripe.calls_to("POST", "/v1/coupons")
    assert {k: coupon_call.params[k] for k in ("amount_off", "currency", "duration",
                                              "max_redemptions")} == {
        "amount_off": "2750", "currency": "usd", "duration": "once", "max_redemptions": "1"}
    [promo_call] = fake_stripe.calls_to("POST", "/v1/promotion_codes")
    [coupon] = fake_stripe.coupons.values()
    assert promo_call.params["promotion"] == {"type": "coupon", "coupon": coupon["id"]}
    [promo] = fake_stripe.promotion_codes.values()
    assert attempt.credit_code == promo["code"]
    assert (shown["status"], shown["credit_code"]) == ("succeeded", promo["code"])
    assert fake_stripe.refunds == []


def _client(server: FakeStripeServer) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_fake", base_addresses={"api": server.url},
                               max_network_retries=0)


def test_the_fake_refuses_a_reused_key_with_other_parameters_as_stripe_does(
    stripe_server: FakeStripeServer,
) -> None:
    stripe_server.fake.add_payment_intent(5000, "usd", "pi_k")
    client = _client(stripe_server)
    first = client.v1.refunds.create(params={"payment_intent": "pi_k", "amount": 1000},
                                     options={"idempotency_key": "k-1"})
    again = client.v1.refunds.create(params={"payment_intent": "pi_k", "amount": 1000},
                                     options={"idempotency_key": "k-1"})

    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create(params={"payment_intent": "pi_k", "amount": 2000},
                                 options={"idempotency_key": "k-1"})
    with pytest.raises(stripe.InvalidRequestError) as over:
        client.v1.refunds.create(params={"payment_intent": "pi_k", "amount": 4001},
                                 options={"idempotency_key": "k-2"})

    assert again.id == first.id
    assert stripe_server.fake.refunded("pi_k") == 1000
    assert (over.value.param, over.value.code) == ("amount", None)


def test_the_fake_lists_refunds_newest_first_in_pages(stripe_server: FakeStripeServer) -> None:
    fake = stripe_server.fake
    fake.add_payment_intent(5000, "usd", "pi_l")
    made = [fake.create_refund({"payment_intent": "pi_l", "amount": 100})["id"]
            for _ in range(5)]
    client = _client(stripe_server)

    page1 = client.v1.refunds.list(params={"limit": 2})
    page2 = client.v1.refunds.list(params={"limit": 2, "starting_after": page1.data[-1].id})
    recent = client.v1.refunds.list(params={"created": {"gte": 0}, "limit": 100})

    assert [r.id for r in page1.data] == made[::-1][:2] and page1.has_more
    assert [r.id for r in page2.data] == made[::-1][2:4] and page2.has_more
    assert len(recent.data) == 5 and not recent.has_more
