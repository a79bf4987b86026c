"""A refund never exceeds captured − refunded − pending, however the requests arrive."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from refunds_plugin.ledger.tables import decisions, refund_attempts
from tests.fakes import Harness, order_paid, return_requested, stripe_event
from tests.fakes.stripe_api import FakeStripe

CAPTURED = 5500  # 2 mugs × 2500 + 500 shipping, paid with pi_123
BOTH_MUGS = [{"line_id": "l1", "quantity": 2, "reason": "changed_mind"}]


def _live_refunds(harness: Harness) -> int:
    ra = refund_attempts.c
    with harness.runtime.engine.connect() as conn:
        return int(conn.execute(
            select(func.coalesce(func.sum(ra.amount), 0)).where(
                ra.kind == "refund",
                ra.status.in_(("pending", "in_progress", "sent", "succeeded")))
        ).scalar_one())


def _at_once(harness: Harness, events: list[dict[str, Any]]) -> list[Any]:
    start = threading.Barrier(len(events))
    answers: list[Any] = [None] * len(events)

    def deliver(i: int) -> None:
        client = harness.client()
        start.wait()
        answers[i] = harness.post_storefront(events[i], client=client)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(len(events))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


def test_two_returns_of_the_whole_order_at_the_same_moment_refund_it_once(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_payment_intent(CAPTURED, "usd", "pi_123")
    harness.post_storefront(order_paid())

    answers = _at_once(harness, [return_requested("r-a", lines=BOTH_MUGS),
                                 return_requested("r-b", lines=BOTH_MUGS)])
    harness.drain()

    won, lost = sorted(answers, key=lambda a: a.status_code)
    assert (won.status_code, won.json["outcome"], won.json["refund_amount"]) == (
        201, "approve", CAPTURED)
    # the loser asks for units no longer left to return: refused whole, nothing recorded
    assert (lost.status_code, lost.json) == (400, {"error": {
        "code": "invalid_line",
        "message": "line l1: a return has already been requested for every unit of Mug"}})
    assert _live_refunds(harness) == CAPTURED
    assert harness.count(decisions) == 1
    assert [c.params["amount"] for c in fake_stripe.calls_to("POST", "/v1/refunds")] == ["5500"]
    assert fake_stripe.refunded("pi_123") == CAPTURED


def test_five_single_mug_returns_at_once_never_refund_more_than_was_captured(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_payment_intent(CAPTURED, "usd", "pi_123")
    harness.post_storefront(order_paid())

    answers = _at_once(harness, [return_requested(f"r-{i}") for i in range(5)])
    harness.drain()

    approved = sorted(a.json["refund_amount"] for a in answers if a.status_code == 201)
    assert approved == [2500, 3000]  # the second mug takes the shipping with it
    assert sorted(a.status_code for a in answers) == [201, 201, 400, 400, 400]  # none left
    assert _live_refunds(harness) == CAPTURED
    assert fake_stripe.refunded("pi_123") == CAPTURED
    assert all(c.status == 200 for c in fake_stripe.calls_to("POST", "/v1/refunds"))


def test_a_refund_reported_by_charge_refunded_is_not_refunded_again(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(order_paid())
    harness.post_stripe(stripe_event("evt_ch_ref", "charge.refunded", {
        "id": "ch_123", "object": "charge", "amount": CAPTURED, "amount_refunded": 5000,
        "currency": "usd", "payment_intent": "pi_123"}))

    answer = harness.post_storefront(return_requested()).json
    harness.drain()

    assert answer is not None
    assert (answer["outcome"], answer["reason_code"], answer["refund_amount"]) == (
        "review", "exceeds_refundable", 500)
    assert harness.rows(refund_attempts) == []
    assert fake_stripe.calls == []


def test_pending_refunds_count_against_what_a_later_return_may_take(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(order_paid())
    first = harness.post_storefront(return_requested("r-1")).json  # approved, not yet executed
    harness.post_stripe(stripe_event("evt_re_out", "refund.created", {
        "id": "re_dashboard", "object": "refund", "amount": 2500, "currency": "usd",
        "payment_intent": "pi_123", "status": "pending", "metadata": {}}))

    second = harness.post_storefront(return_requested("r-2")).json  # the other mug + shipping

    assert first is not None and second is not None
    assert (first["outcome"], first["refund_amount"]) == ("approve", 2500)
    # 5500 captured − 2500 refunded outside (still pending at Stripe) − 2500 ours pending = 500
    assert (second["outcome"], second["reason_code"], second["refund_amount"]) == (
        "review", "exceeds_refundable", 500)
    assert _live_refunds(harness) == 2500
    assert fake_stripe.calls == []
