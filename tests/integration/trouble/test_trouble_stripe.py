"""Looking for trouble on Stripe: signed events in, exactly the excess refunded, once.

Every test sends real, signed Stripe (and storefront) webhooks through the Flask app; the
executor then talks to the in-repo Stripe fake, which refuses a refund above what is left on a
payment intent, so an over-refund would fail loudly.
"""

from __future__ import annotations

import json
from typing import Any

from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.tables import decisions, events, refund_attempts, reviews
from tests.fakes import Harness, stripe_event
from tests.fakes.stripe_api import FakeStripe
from tests.fakes.stripe_shapes import (
    T0,
    charge,
    outside_refund,
    pay,
    payment_intent,
    storefront_order,
)


def corrections(h: Harness) -> list[tuple[Any, ...]]:
    return sorted(
        (d.kind, d.request_key, d.outcome, d.amount, d.refund_amount, d.currency)
        for d in h.rows(decisions)
    )


def attempts(h: Harness) -> list[tuple[Any, ...]]:
    return sorted(
        (a.payment_reference, a.amount, a.kind, a.reason, a.provider)
        for a in h.rows(refund_attempts)
    )


def stripe_refunds(fake: FakeStripe) -> list[tuple[Any, ...]]:
    return [(r["payment_intent"], r["amount"], r["reason"]) for r in fake.refunds]


def test_a_second_charge_of_the_same_amount_is_refunded_as_a_duplicate_and_the_first_kept(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    assert harness.post_storefront(storefront_order(reference="pi_first")).status_code == 200
    pay(harness, fake_stripe, "pi_first", 10000, created=T0)

    resp = pay(harness, fake_stripe, "pi_again", 10000, created=T0 + 90)

    assert resp.json["note"] == (
        "payment recorded; duplicate_charge 100.00 USD on pi_again: approve"
    )
    assert corrections(harness) == [
        ("duplicate_charge", "duplicate_charge:pi_again", "approve", 10000, 10000, "USD")
    ]
    assert attempts(harness) == [("pi_again", 10000, "refund", "duplicate", "stripe")]
    harness.drain()
    assert stripe_refunds(fake_stripe) == [("pi_again", 10000, "duplicate")]
    assert fake_stripe.refunded("pi_first") == 0
    [decision] = harness.rows(decisions)
    assert decision.explanation == (
        "We noticed you were charged twice for order 1001 and refunded the extra 100.00 USD."
    )
    assert json.loads(decision.body)["trace"][0]["saw"]["detail"] == (
        "pi_again charged the same 100.00 USD as pi_first 1m later")
    assert harness.chain_problem() is None


def test_an_overpayment_is_refunded_from_the_extra_payment_and_never_from_the_first(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(storefront_order(reference="pi_first"))
    pay(harness, fake_stripe, "pi_first", 10000, created=T0)

    pay(harness, fake_stripe, "pi_extra", 2500, created=T0 + 600)

    assert corrections(harness) == [
        ("overpayment", "overpayment:12500:pi_extra", "approve", 2500, 2500, "USD")
    ]
    assert attempts(harness) == [("pi_extra", 2500, "refund", "requested_by_customer", "stripe")]
    harness.drain()
    assert stripe_refunds(fake_stripe) == [("pi_extra", 2500, "requested_by_customer")]
    assert fake_stripe.refunded("pi_first") == 0
    [decision] = harness.rows(decisions)
    assert decision.explanation == (
        "We noticed you paid more than the total of order 1001 and refunded the extra 25.00 USD."
    )


def test_a_partly_refunded_overpayment_refunds_only_what_is_still_extra_once_the_total_arrives(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    pay(harness, fake_stripe, "pi_first", 10000, created=T0)
    pay(harness, fake_stripe, "pi_extra", 5000, created=T0 + 600)
    outside_refund(harness, fake_stripe, "pi_extra", 2000)
    assert harness.count(decisions) == 0  # no order total yet: nothing to compare with

    resp = harness.post_storefront(storefront_order(reference="pi_first"))

    assert resp.status_code == 200
    assert corrections(harness) == [
        ("overpayment", "overpayment:15000:pi_extra", "approve", 3000, 3000, "USD")
    ]
    assert attempts(harness) == [("pi_extra", 3000, "refund", "requested_by_customer", "stripe")]
    harness.drain()
    assert stripe_refunds(fake_stripe) == [
        ("pi_extra", 2000, None), ("pi_extra", 3000, "requested_by_customer")
    ]
    assert fake_stripe.refunded("pi_extra") == 5000
    assert fake_stripe.refunded("pi_first") == 0


def test_a_refund_that_arrives_before_its_charge_is_counted_and_only_the_rest_is_refunded(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(storefront_order(reference="pi_first"))
    pay(harness, fake_stripe, "pi_first", 10000, created=T0)
    fake_stripe.add_payment_intent(10000, "usd", "pi_again", order_id="1001")
    outside_refund(harness, fake_stripe, "pi_again", 4000)  # its events overtake the payment's

    pay(harness, None, "pi_again", 10000, created=T0 + 60)

    assert corrections(harness) == [
        ("duplicate_charge", "duplicate_charge:pi_again", "approve", 6000, 6000, "USD")
    ]
    assert attempts(harness) == [("pi_again", 6000, "refund", "duplicate", "stripe")]
    harness.drain()
    assert fake_stripe.refunded("pi_again") == 10000
    assert fake_stripe.refunded("pi_first") == 0


def test_when_the_second_charge_arrives_first_the_later_created_one_is_still_the_one_refunded(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    pay(harness, fake_stripe, "pi_aa_second", 10000, created=T0 + 120)
    assert harness.count(decisions) == 0
    harness.clock.advance(30)  # received later, created earlier (and sorting first by name)

    pay(harness, fake_stripe, "pi_zz_first", 10000, created=T0)
    harness.post_storefront(storefront_order(reference="pi_zz_first"))

    # found before the order total arrived, so a person confirms it (order_total_unknown);
    # the total arriving later decides nothing more
    assert corrections(harness) == [
        ("duplicate_charge", "duplicate_charge:pi_aa_second", "review", 10000, 10000, "USD")
    ]
    [decision] = harness.rows(decisions)
    decide(harness.runtime.engine, harness.runtime.service, decision.id, approve=True,
           by="fin@example.com", note="charged twice", now=harness.clock.now)
    assert attempts(harness) == [("pi_aa_second", 10000, "refund", "duplicate", "stripe")]
    harness.drain()
    assert stripe_refunds(fake_stripe) == [("pi_aa_second", 10000, "duplicate")]


def test_redelivered_and_overlapping_events_give_one_correction_not_two(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    order = storefront_order(reference="pi_first")
    harness.post_storefront(order)
    pay(harness, fake_stripe, "pi_first", 10000, created=T0)
    pay(harness, fake_stripe, "pi_again", 10000, created=T0 + 90)
    before = harness.money_rows()

    again = payment_intent("pi_again", 10000, created=T0 + 90)
    assert harness.post_stripe(
        stripe_event("evt_pi_again", "payment_intent.succeeded", again)
    ).json["duplicate"] is True
    for pi_id, created in (("pi_first", T0), ("pi_again", T0 + 90)):
        resp = harness.post_stripe(stripe_event(
            f"evt_ch_{pi_id}", "charge.succeeded", charge(pi_id, 10000, created=created + 1)
        ))
        assert resp.json["note"] == "payment recorded"
    assert harness.post_storefront(order).json["duplicate"] is True
    harness.post_storefront({**order, "id": "evt_paid_again"})

    assert harness.money_rows() == {**before, "events": before["events"] + 3}
    assert corrections(harness) == [
        ("duplicate_charge", "duplicate_charge:pi_again", "approve", 10000, 10000, "USD")
    ]
    harness.drain()
    assert stripe_refunds(fake_stripe) == [("pi_again", 10000, "duplicate")]
    assert sorted(e.event_id for e in harness.rows(events, type="charge.succeeded")) == [
        "evt_ch_pi_again", "evt_ch_pi_first"
    ]


def test_a_correction_above_the_policy_limit_waits_for_review_and_is_not_decided_twice(
    harness_with_policy: Any, fake_stripe: FakeStripe
) -> None:
    h = harness_with_policy(
        "trouble:\n"
        "  overpayment: {enabled: true, resolution: refund, auto_approve_up_to: {USD: '10.00'}}\n"
        "  duplicate_charge: {window_hours: 72, auto_approve_up_to: {USD: '10.00'}}\n"
    )
    h.post_storefront(storefront_order(reference="pi_first"))
    pay(h, fake_stripe, "pi_first", 10000, created=T0)
    pay(h, fake_stripe, "pi_extra", 2500, created=T0 + 600)
    h.post_stripe(stripe_event("evt_ch_extra", "charge.succeeded",
                               charge("pi_extra", 2500, created=T0 + 601)))

    assert corrections(h) == [
        ("overpayment", "overpayment:12500:pi_extra", "review", 2500, 2500, "USD")
    ]
    assert h.count(refund_attempts) == 0
    assert [(r.status, r.reason) for r in h.rows(reviews)] == [
        ("open", "above_auto_approve_limit: Corrections above the automatic limit are "
                 "confirmed by a person.")
    ]
