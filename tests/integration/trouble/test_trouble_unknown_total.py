"""Two equal Stripe payments for an order whose total we do not know: a person decides.

A Stripe-only shop sends no ``order.paid``, so nothing says whether two equal payments are a
double charge or one order paid in two equal halves (two cards). The finding is still recorded
and explained, but as a review (``order_total_unknown``): nothing is refunded until a person
approves. With a known total the duplicate is refunded automatically, as before.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import update

from refunds_plugin.intake.reviews import ReviewOutcome, decide, open_reviews
from refunds_plugin.ledger.tables import decisions, refund_attempts, reviews
from tests.fakes import Harness
from tests.fakes.stripe_api import FakeStripe
from tests.fakes.stripe_shapes import T0, outside_refund, pay, storefront_order

UNKNOWN_TEXT = (
    "We noticed two payments of the same amount for order 1001. We do not know the order's "
    "total, so our team is checking whether you were charged twice; if you were, we will "
    "refund the extra 50.00 USD within 48 hours.")
UNKNOWN_REASON = ("order_total_unknown: Without the order's total, two equal payments may be one "
                  "order paid in two parts, so a person decides.")


def decided(h: Harness) -> list[tuple[Any, ...]]:
    return sorted(
        (d.kind, d.request_key, d.outcome, d.reason_code, d.amount, d.refund_amount, d.currency)
        for d in h.rows(decisions)
    )


def test_two_equal_payments_without_an_order_total_go_to_review_and_nothing_is_refunded(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    pay(harness, fake_stripe, "pi_card_a", 5000, created=T0)

    resp = pay(harness, fake_stripe, "pi_card_b", 5000, created=T0 + 120)

    assert resp.json["note"] == "payment recorded; duplicate_charge 50.00 USD on pi_card_b: review"
    assert decided(harness) == [
        ("duplicate_charge", "duplicate_charge:pi_card_b", "review", "order_total_unknown",
         5000, 5000, "USD")]
    [decision] = harness.rows(decisions)
    assert decision.explanation == UNKNOWN_TEXT
    body = json.loads(decision.body)
    assert [(r["kind"], r["amount"], r["payment_reference"]) for r in body["resolutions"]] == [
        ("refund", 5000, "pi_card_b")]
    [trouble] = body["trace"]
    assert (trouble["rule"], trouble["verdict"], trouble["code"], trouble["message"]) == (
        "trouble", "review", "order_total_unknown",
        "Without the order's total, two equal payments may be one order paid in two parts, "
        "so a person decides.")
    assert (trouble["saw"]["order_total_known"], trouble["saw"]["granted"]) == (False, 5000)
    assert harness.count(refund_attempts) == 0
    assert [(r.decision_id, r.status, r.reason) for r in harness.rows(reviews)] == [
        (decision.id, "open", UNKNOWN_REASON)]
    with harness.runtime.engine.connect() as conn:
        [queued] = open_reviews(conn)
    assert (queued.decision_id, queued.order_id, queued.amount, queued.reason,
            queued.explanation) == (decision.id, "1001", 5000, UNKNOWN_REASON,
                                    UNKNOWN_TEXT)

    harness.drain()

    assert fake_stripe.refunds == []
    assert harness.count(refund_attempts) == 0
    assert harness.chain_problem() is None


def test_the_order_total_arriving_later_adds_nothing_while_the_review_holds_the_amount(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    pay(harness, fake_stripe, "pi_card_a", 5000, created=T0)
    pay(harness, fake_stripe, "pi_card_b", 5000, created=T0 + 120)

    # the order was 100.00, paid in two halves: nothing is extra, and nothing new is decided
    harness.post_storefront(storefront_order(total=10000, reference="pi_card_a"))

    assert decided(harness) == [
        ("duplicate_charge", "duplicate_charge:pi_card_b", "review", "order_total_unknown",
         5000, 5000, "USD")]
    assert (harness.count(refund_attempts), fake_stripe.refunds) == (0, [])


def review_two_equal_payments(
    harness: Harness, fake_stripe: FakeStripe, *, approve: bool, note: str
) -> ReviewOutcome:
    """Two equal payments without an order total, then a person's verdict, then the executor."""
    pay(harness, fake_stripe, "pi_card_a", 5000, created=T0)
    pay(harness, fake_stripe, "pi_card_b", 5000, created=T0 + 120)
    [decision] = harness.rows(decisions)
    out = decide(harness.runtime.engine, harness.runtime.service, decision.id, approve=approve,
                 by="fin@example.com", note=note, now=harness.clock.now)
    harness.drain()
    return out


def test_a_person_who_finds_a_split_payment_declines_the_review_and_nothing_moves(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    out = review_two_equal_payments(
        harness, fake_stripe, approve=False, note="two cards, one order of 100.00")

    assert (out.status, out.attempt_ids) == ("declined", ())
    assert [(r.status, r.decided_by, r.note) for r in harness.rows(reviews)] == [
        ("declined", "fin@example.com", "two cards, one order of 100.00")]
    assert (harness.count(refund_attempts), fake_stripe.refunds) == (0, [])
    assert harness.chain_problem() is None


def test_a_person_who_finds_a_double_charge_approves_and_the_extra_payment_is_refunded_once(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    out = review_two_equal_payments(harness, fake_stripe, approve=True, note="same cart paid twice")

    assert out.status == "approved" and len(out.attempt_ids) == 1
    assert [(a.id, a.payment_reference, a.amount, a.reason, a.status) for a in
            harness.rows(refund_attempts)] == [
        (out.attempt_ids[0], "pi_card_b", 5000, "duplicate", "succeeded")]
    assert [(r["payment_intent"], r["amount"], r["reason"]) for r in fake_stripe.refunds] == [
        ("pi_card_b", 5000, "duplicate")]
    assert harness.chain_problem() is None


def test_paying_again_after_the_first_payment_was_refunded_in_the_dashboard_is_no_duplicate(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    # the merchant refunded the first payment in Stripe's Dashboard; the customer paid again
    pay(harness, fake_stripe, "pi_card_a", 5000, created=T0)
    outside_refund(harness, fake_stripe, "pi_card_a", 5000)

    resp = pay(harness, fake_stripe, "pi_card_b", 5000, created=T0 + 3600)

    assert resp.json["note"] == "payment recorded"
    assert decided(harness) == []
    assert harness.count(reviews) == 0


def test_a_first_payment_partly_refunded_outside_leaves_only_the_rest_doubled(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    pay(harness, fake_stripe, "pi_card_a", 5000, created=T0)
    outside_refund(harness, fake_stripe, "pi_card_a", 2000)

    resp = pay(harness, fake_stripe, "pi_card_b", 5000, created=T0 + 120)

    assert resp.json["note"] == "payment recorded; duplicate_charge 30.00 USD on pi_card_b: review"
    assert decided(harness) == [
        ("duplicate_charge", "duplicate_charge:pi_card_b", "review", "order_total_unknown",
         3000, 3000, "USD")]
    assert harness.count(refund_attempts) == 0


def test_with_a_known_total_a_duplicate_is_still_refunded_automatically(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(storefront_order(total=5000, reference="pi_card_a"))
    pay(harness, fake_stripe, "pi_card_a", 5000, created=T0)

    resp = pay(harness, fake_stripe, "pi_card_b", 5000, created=T0 + 120)

    assert resp.json["note"] == "payment recorded; duplicate_charge 50.00 USD on pi_card_b: approve"
    assert decided(harness) == [
        ("duplicate_charge", "duplicate_charge:pi_card_b", "approve",
         "duplicate_charge_corrected", 5000, 5000, "USD")]
    assert [(a.payment_reference, a.amount, a.reason, a.status) for a in
            harness.rows(refund_attempts)] == [("pi_card_b", 5000, "duplicate", "pending")]
    assert harness.count(reviews) == 0
    harness.drain()
    assert [(r["payment_intent"], r["amount"], r["reason"]) for r in fake_stripe.refunds] == [
        ("pi_card_b", 5000, "duplicate")]


def test_an_order_whose_review_cannot_be_read_has_nothing_decided_on_a_guess_and_others_go_on(
    harness: Harness, fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture,
) -> None:
    pay(harness, fake_stripe, "pi_card_a", 5000, created=T0)
    pay(harness, fake_stripe, "pi_card_b", 5000, created=T0 + 120)
    [held] = harness.rows(decisions)
    with harness.runtime.engine.begin() as conn:  # the review's stored body, cut short
        conn.execute(update(decisions).where(decisions.c.id == held.id)
                     .values(body='{"resolutions": [{"kind": "refund", "amou'))
    caplog.clear()

    # a third payment of the same order, and two equal ones of another
    third = pay(harness, fake_stripe, "pi_card_c", 5000, created=T0 + 240)
    pay(harness, fake_stripe, "pi_other_a", 3000, created=T0, order_id="1002")
    other = pay(harness, fake_stripe, "pi_other_b", 3000, created=T0 + 60, order_id="1002")

    # recorded (Stripe is not left re-sending it) with nothing decided for 1001: what its
    # unreadable review holds is unknown; 1002's duplicate goes to a person as usual
    assert third.json["note"] == "payment recorded"
    assert other.json["note"] == (
        "payment recorded; duplicate_charge 30.00 USD on pi_other_b: review")
    assert sorted((d.order_id, d.request_key, d.outcome) for d in harness.rows(decisions)) == [
        ("1001", "duplicate_charge:pi_card_b", "review"),
        ("1002", "duplicate_charge:pi_other_b", "review")]
    harness.drain()
    assert (harness.count(refund_attempts), fake_stripe.refunds) == (0, [])
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f"order 1001: no trouble is looked for: correction {held.id}'s stored body "
        "(decisions.body) cannot be read (not valid JSON: Unterminated string starting at: "
        "line 1 column 37 (char 36)); a person must repair the row"]
    assert '"amou' not in caplog.text
