"""One payment is one payment: the same Stripe money named by its charge and by its
PaymentIntent, in either order of arrival, is recorded once and never refunded as a duplicate;
a correction resting on a payment no provider confirmed waits for a person (issue 13).

Signed storefront and Stripe webhooks go through the real app; the in-repo Stripe fake counts
every refund, so "no money moved" is asserted on what Stripe was asked, not on our own rows.
"""

from __future__ import annotations

from typing import Any

import pytest

from refunds_plugin.ledger.tables import (
    decisions,
    ledger_entries,
    payments,
    provider_refunds,
    refund_attempts,
    reviews,
)
from tests.fakes import Harness, stripe_event
from tests.fakes.stripe_api import FakeStripe
from tests.fakes.stripe_shapes import T0, charge, pay, payment_intent, storefront_order

ARRIVALS = [
    ("payment_intent.succeeded", "storefront_first"),
    ("payment_intent.succeeded", "stripe_first"),
    ("charge.succeeded", "storefront_first"),
    ("charge.succeeded", "stripe_first"),
]


def stripe_says(h: Harness, type_: str, pi_id: str, amount: int) -> Any:
    obj = (payment_intent(pi_id, amount, created=T0) if type_ == "payment_intent.succeeded"
           else charge(pi_id, amount, created=T0))
    resp = h.post_stripe(stripe_event(f"evt_{type_}_{pi_id}", type_, obj))
    assert resp.status_code == 200, resp.json
    return resp


def payment_rows(h: Harness) -> list[tuple[Any, ...]]:
    return sorted((p.provider, p.reference, p.charge_id, p.order_id, p.captured,
                   p.confirmed_at is not None) for p in h.rows(payments))


def entry_types(h: Harness) -> list[str]:
    return [e.entry_type for e in h.rows(ledger_entries)]


@pytest.mark.parametrize(("type_", "first"), ARRIVALS, ids=[f"{t}-{f}" for t, f in ARRIVALS])
def test_a_storefront_charge_id_and_stripes_payment_intent_are_one_payment_and_nothing_moves(
    harness: Harness, fake_stripe: FakeStripe, type_: str, first: str
) -> None:
    fake_stripe.add_payment_intent(10000, "usd", "pi_first", order_id="1001")
    storefront = storefront_order(reference="ch_first")  # the charge of pi_first

    if first == "storefront_first":
        assert harness.post_storefront(storefront).json == {
            "received": True, "duplicate": False, "updated": False}
        resp = stripe_says(harness, type_, "pi_first", 10000)
        assert resp.json["note"] == "payment recorded (the payment known as ch_first)"
        named = "ch_first"  # the first name stays the row's name
    else:
        assert stripe_says(harness, type_, "pi_first", 10000).json["note"] == "payment recorded"
        assert harness.post_storefront(storefront).json == {
            "received": True, "duplicate": False, "updated": False}
        named = "pi_first"

    assert payment_rows(harness) == [("stripe", named, "ch_first", "1001", 10000, True)]
    assert harness.count(decisions) == 0
    assert harness.count(refund_attempts) == 0
    harness.drain()
    assert fake_stripe.refunds == []
    assert "decision" not in entry_types(harness)
    assert harness.chain_problem() is None


def test_after_the_merge_stripes_refund_events_find_the_payment_by_either_name(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_payment_intent(10000, "usd", "pi_first", order_id="1001")
    harness.post_storefront(storefront_order(reference="ch_first"))
    stripe_says(harness, "payment_intent.succeeded", "pi_first", 10000)
    refund = fake_stripe.create_refund({"payment_intent": "pi_first", "amount": 3000})

    harness.post_stripe(stripe_event(f"evt_{refund['id']}", "refund.created", refund))
    obj = charge("pi_first", 10000, created=T0, refunded=3000)
    harness.post_stripe(stripe_event("evt_chr_1", "charge.refunded", obj))

    assert [(r.refund_id, r.payment_reference, r.order_id, r.amount)
            for r in harness.rows(provider_refunds)] == [(refund["id"], "ch_first", "1001", 3000)]
    [row] = harness.rows(payments)
    assert (row.reference, row.captured, row.refunded_reported) == ("ch_first", 10000, 3000)
    assert harness.count(decisions) == 0
    assert fake_stripe.refunded("pi_first") == 3000  # only the merchant's own refund


def test_a_real_second_charge_is_still_refunded_once_the_two_names_are_one(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_payment_intent(10000, "usd", "pi_first", order_id="1001")
    harness.post_storefront(storefront_order(reference="ch_first"))
    stripe_says(harness, "charge.succeeded", "pi_first", 10000)

    resp = pay(harness, fake_stripe, "pi_again", 10000, created=T0 + 90)

    assert resp.json["note"] == "payment recorded; duplicate_charge 100.00 USD on pi_again: approve"
    harness.drain()
    assert [(r["payment_intent"], r["amount"], r["reason"]) for r in fake_stripe.refunds] == [
        ("pi_again", 10000, "duplicate")]
    assert fake_stripe.refunded("pi_first") == 0


UNCONFIRMED_REASON = (
    "unconfirmed_payment: This rests on ch_elsewhere, which the payment provider never "
    "confirmed as a payment of its own (only the storefront named it), so a person checks that "
    "it is not the same money under another name before any goes back.")


def test_a_duplicate_resting_on_a_payment_stripe_never_confirmed_waits_for_a_person(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    """The storefront names a charge no Stripe event ever named: it may be the same money as
    pi_first under a name we cannot link, so nothing is refunded without a person."""
    harness.post_storefront(storefront_order(reference="ch_elsewhere"))
    harness.clock.advance(60)
    created = int(harness.clock.timestamp())  # a minute after the storefront's order.paid

    resp = pay(harness, fake_stripe, "pi_first", 10000, created=created)

    assert resp.json["note"] == "payment recorded; duplicate_charge 100.00 USD on pi_first: review"
    assert payment_rows(harness) == [
        ("stripe", "ch_elsewhere", "ch_elsewhere", "1001", 10000, False),
        ("stripe", "pi_first", "ch_first", "1001", 10000, True),
    ]
    [d] = harness.rows(decisions)
    assert (d.kind, d.request_key, d.outcome, d.reason_code, d.amount, d.refund_amount) == (
        "duplicate_charge", "duplicate_charge:pi_first", "review", "unconfirmed_payment",
        10000, 10000)
    assert d.explanation == (
        "We noticed you may have been charged twice for order 1001. Our team is checking it "
        "with the payment provider; if so, we will refund the extra 100.00 USD within 48 hours.")
    assert [(r.decision_id, r.status, r.reason) for r in harness.rows(reviews)] == [
        (d.id, "open", UNCONFIRMED_REASON)]
    assert harness.count(refund_attempts) == 0
    harness.drain()
    assert fake_stripe.refunds == []
    assert entry_types(harness).count("decision") == 1
    assert entry_types(harness).count("review_opened") == 1
    assert harness.chain_problem() is None
