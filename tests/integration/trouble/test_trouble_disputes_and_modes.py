"""Looking for trouble only in money the merchant really holds: a disputed payment's money is
with the card network (Stripe withdrew it when the dispute opened, and refuses a refund of it
with ``charge_disputed``), and a payment Stripe took in its test mode took no real money. Neither
makes a later live payment a duplicate or an overpayment; a test-mode failure or success neither
opens, blocks nor clears a follow-up for a real customer.

Signed Stripe and storefront webhooks through the Flask app; Stripe is the in-repo fake.
"""

from __future__ import annotations

from typing import Any

from refunds_plugin.ledger.tables import decisions, follow_ups, payments, refund_attempts
from refunds_plugin.trouble import missed_payments
from tests.fakes import Harness, stripe_event
from tests.fakes.stripe_api import FakeStripe
from tests.fakes.stripe_shapes import T0, failed_intent, pay, payment_intent, storefront_order


def corrections(h: Harness) -> list[tuple[Any, ...]]:
    return sorted((d.kind, d.request_key, d.outcome, d.amount) for d in h.rows(decisions))


def dispute(h: Harness, pi_id: str, amount: int) -> None:
    """``charge.dispute.created`` as Stripe sends it: a Dispute naming the charge and intent."""
    obj = {"id": "dp_" + pi_id, "object": "dispute", "amount": amount, "currency": "usd",
           "charge": "ch_" + pi_id.removeprefix("pi_"), "payment_intent": pi_id,
           "status": "needs_response", "reason": "fraudulent", "created": T0 + 120,
           "livemode": True}
    resp = h.post_stripe(stripe_event("evt_dp_" + pi_id, "charge.dispute.created", obj))
    assert resp.status_code == 200, resp.json
    assert resp.json["note"] == "payment marked disputed (dispute needs_response)"


def dispute_closed(h: Harness, pi_id: str, status: str) -> str:
    """``charge.dispute.closed``: won (the money back with the merchant) or lost."""
    obj = {"id": "dp_" + pi_id, "object": "dispute", "amount": 10000, "currency": "usd",
           "charge": "ch_" + pi_id.removeprefix("pi_"), "payment_intent": pi_id,
           "status": status, "reason": "fraudulent", "created": T0 + 120, "livemode": True}
    resp = h.post_stripe(stripe_event(f"evt_dp_{pi_id}_{status}", "charge.dispute.closed", obj))
    assert resp.status_code == 200, resp.json
    return str(resp.json["note"])


def paid_in_mode(h: Harness, fake: FakeStripe, pi_id: str, amount: int, *, created: int,
                 livemode: bool) -> dict[str, Any]:
    """Stripe took ``amount`` on ``pi_id`` in the given mode; the object and event say it."""
    fake.add_payment_intent(amount, "usd", pi_id, order_id="1001")
    obj = {**payment_intent(pi_id, amount, created=created), "livemode": livemode}
    resp = h.post_stripe(stripe_event(f"evt_{pi_id}", "payment_intent.succeeded", obj,
                                      livemode=livemode))
    assert resp.status_code == 200, resp.json
    return dict(resp.json)


def test_paying_again_after_disputing_the_first_payment_is_not_refunded_as_a_duplicate(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(storefront_order(reference="pi_first"))
    pay(harness, fake_stripe, "pi_first", 10000, created=T0)
    dispute(harness, "pi_first", 10000)  # Stripe has taken the 100.00 back for the dispute

    resp = pay(harness, fake_stripe, "pi_again", 10000, created=T0 + 3600)

    assert resp.json["note"] == "payment recorded"
    assert corrections(harness) == []
    assert harness.count(refund_attempts) == 0
    harness.drain()
    assert fake_stripe.refunds == []


def test_a_dispute_the_merchant_wins_makes_the_payment_count_again_and_the_duplicate_found(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(storefront_order(reference="pi_first"))
    pay(harness, fake_stripe, "pi_first", 10000, created=T0)
    dispute(harness, "pi_first", 10000)
    pay(harness, fake_stripe, "pi_again", 10000, created=T0 + 3600)
    assert corrections(harness) == []

    note = dispute_closed(harness, "pi_first", "won")  # Stripe gives the 100.00 back

    assert note == ("dispute won: the payment is no longer disputed; "
                    "duplicate_charge 100.00 USD on pi_again: approve")
    assert corrections(harness) == [
        ("duplicate_charge", "duplicate_charge:pi_again", "approve", 10000)]
    harness.drain()
    assert [(r["payment_intent"], r["amount"]) for r in fake_stripe.refunds] == [
        ("pi_again", 10000)]
    assert sorted((p.reference, p.status) for p in harness.rows(payments)) == [
        ("pi_again", "succeeded"), ("pi_first", "succeeded")]


def test_a_dispute_the_merchant_loses_leaves_the_payment_disputed_and_finds_nothing(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(storefront_order(reference="pi_first"))
    pay(harness, fake_stripe, "pi_first", 10000, created=T0)
    dispute(harness, "pi_first", 10000)
    pay(harness, fake_stripe, "pi_again", 10000, created=T0 + 3600)

    note = dispute_closed(harness, "pi_first", "lost")

    assert note == ("dispute lost (100.00 USD given back by the bank): the payment stays "
                    "disputed, so returns of the order go to a person")
    assert corrections(harness) == []
    assert sorted((p.reference, p.status) for p in harness.rows(payments)) == [
        ("pi_again", "succeeded"), ("pi_first", "disputed")]


def test_a_disputed_extra_payment_is_left_to_its_dispute_not_refunded_as_an_overpayment(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    # no order total yet: the two payments are not compared until order.paid arrives
    pay(harness, fake_stripe, "pi_first", 10000, created=T0)
    pay(harness, fake_stripe, "pi_extra", 2500, created=T0 + 600)
    dispute(harness, "pi_extra", 2500)  # Stripe refuses a refund of it: charge_disputed

    resp = harness.post_storefront(storefront_order(reference="pi_first"))

    assert resp.status_code == 200, resp.json
    assert corrections(harness) == []
    assert harness.count(refund_attempts) == 0


def test_a_test_mode_payment_of_the_same_order_is_no_duplicate_of_the_live_one(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    # the merchant tried order 1001 with a test key before the live order 1001 was paid
    paid_in_mode(harness, fake_stripe, "pi_test", 10000, created=T0, livemode=False)
    harness.post_storefront(storefront_order(reference="pi_live"))

    answer = paid_in_mode(harness, fake_stripe, "pi_live", 10000, created=T0 + 600,
                          livemode=True)

    assert answer["note"] == "payment recorded"
    assert corrections(harness) == []
    assert harness.count(refund_attempts) == 0


def test_a_live_payment_is_no_overpayment_of_a_test_mode_one_of_the_same_order(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(storefront_order(reference="pi_live"))
    paid_in_mode(harness, fake_stripe, "pi_live", 10000, created=T0, livemode=True)

    answer = paid_in_mode(harness, fake_stripe, "pi_test", 2500, created=T0 + 600,
                          livemode=False)

    assert answer["note"] == "payment recorded"
    assert corrections(harness) == []


def test_two_test_mode_payments_are_still_compared_with_each_other(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    # a shop trying the detectors with a test key sees them work, on test money only
    harness.post_storefront(storefront_order(reference="pi_test1"))
    paid_in_mode(harness, fake_stripe, "pi_test1", 10000, created=T0, livemode=False)

    answer = paid_in_mode(harness, fake_stripe, "pi_test2", 10000, created=T0 + 60,
                          livemode=False)

    assert answer["note"] == "payment recorded; duplicate_charge 100.00 USD on pi_test2: approve"
    assert corrections(harness) == [
        ("duplicate_charge", "duplicate_charge:pi_test2", "approve", 10000)]


def failed_in_mode(h: Harness, pi_id: str, *, livemode: bool, order_id: str = "1001") -> str:
    """``payment_intent.payment_failed`` in the given mode (a declined card)."""
    obj = {**failed_intent(pi_id, 10000, order_id=order_id), "livemode": livemode}
    resp = h.post_stripe(stripe_event(f"evt_{pi_id}_failed", "payment_intent.payment_failed",
                                      obj, livemode=livemode))
    assert resp.status_code == 200, resp.json
    return str(resp.json["note"])


def open_follow_ups(h: Harness) -> list[tuple[Any, ...]]:
    return sorted((f.kind, f.order_id, f.payment_reference, f.amount, f.status)
                  for f in h.rows(follow_ups))


def test_a_declined_test_card_opens_no_follow_up_live_or_in_a_scan(harness: Harness) -> None:
    note = failed_in_mode(harness, "pi_t_declined", livemode=False, order_id="2002")

    assert note == ("payment failed; a failure in Stripe's test mode: no customer to chase, "
                    "no follow-up")
    assert open_follow_ups(harness) == []
    with harness.runtime.engine.connect() as conn:
        assert missed_payments.missed(conn, harness.runtime.policy, None) == []


def test_a_live_failure_is_followed_up_though_a_test_payment_named_the_same_order(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    paid_in_mode(harness, fake_stripe, "pi_test", 10000, created=T0, livemode=False)

    note = failed_in_mode(harness, "pi_live", livemode=True)

    assert note == "payment failed; follow-up opened"
    assert open_follow_ups(harness) == [("failed_payment", "1001", "pi_live", 10000, "open")]


def test_a_test_payment_does_not_clear_a_live_customers_failed_payment(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    failed_in_mode(harness, "pi_live", livemode=True)

    paid_in_mode(harness, fake_stripe, "pi_test", 10000, created=T0 + 60, livemode=False)

    assert open_follow_ups(harness) == [("failed_payment", "1001", "pi_live", 10000, "open")]
    paid_in_mode(harness, fake_stripe, "pi_live", 10000, created=T0 + 120, livemode=True)
    assert open_follow_ups(harness) == [("failed_payment", "1001", "pi_live", 10000, "cleared")]
