"""Failed payouts and reviews, on SQLite and PostgreSQL: a refusal frees the amount and a person
approves a new attempt; a provider that never answered keeps the amount reserved and the same
idempotency key is sent again; a review decided before is re-opened by a later failure."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select, text

from refunds_plugin.domain.facts import PaymentFacts
from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.intake.reviews import NotRefundable, ReviewOutcome, decide
from refunds_plugin.ledger import facts
from refunds_plugin.ledger.tables import ledger_entries, refund_attempts, reviews
from tests.fakes import Harness, order_paid, return_requested, stripe_event
from tests.fakes.stripe_api import FakeStripe

PI = "pi_123"
DISPUTED = "charge_disputed: the charge is disputed; Stripe refuses refunds while it is"


def decide_one_refund(harness: Harness, fake: FakeStripe) -> str:
    """Order 1001 (2 mugs at 25.00 + 5.00 shipping) paid 55.00 on pi_123; one mug returned."""
    fake.add_payment_intent(5500, "usd", PI)
    assert harness.post_storefront(order_paid()).status_code == 200
    answer = harness.post_storefront(return_requested())
    assert answer.status_code == 201
    [attempt] = answer.json["attempts"]
    [row] = harness.rows(refund_attempts, id=attempt["id"])
    return str(row.decision_id)


def attempts(harness: Harness, decision_id: str) -> list[tuple[Any, ...]]:
    with harness.runtime.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(refund_attempts.c.seq, refund_attempts.c.status, refund_attempts.c.amount,
                   refund_attempts.c.tries, refund_attempts.c.idempotency_key)
            .where(refund_attempts.c.decision_id == decision_id)
            .order_by(refund_attempts.c.seq))]


def review_row(harness: Harness, decision_id: str) -> tuple[Any, ...]:
    [row] = harness.rows(reviews, decision_id=decision_id)
    return (row.status, row.reason, row.decided_by, row.decided_at, row.note)


def last_seq(harness: Harness) -> int:
    with harness.runtime.engine.connect() as conn:
        return int(conn.execute(select(func.max(ledger_entries.c.seq))).scalar_one())


def journal_after(harness: Harness, seq: int) -> list[tuple[str, str, dict[str, Any]]]:
    le = ledger_entries.c
    with harness.runtime.engine.connect() as conn:
        rows = conn.execute(select(le.entry_type, le.subject_id, le.body)
                            .where(le.seq > seq).order_by(le.seq)).all()
    return [(t, s, json.loads(b)) for t, s, b in rows]


def payment(harness: Harness) -> PaymentFacts:
    with harness.runtime.engine.connect() as conn:
        [pay] = facts.payment_facts(conn, "1001")
    return pay


def approve(harness: Harness, decision_id: str, note: str = "the customer's bank fixed it"
            ) -> ReviewOutcome:
    return decide(harness.runtime.engine, harness.runtime.service, decision_id, approve=True,
                  by="Ada Admin", note=note, now=harness.clock())


def set_max_tries(harness: Harness, tries: int) -> None:
    executor = harness.runtime.executor
    assert executor is not None
    executor.config = replace(harness.runtime.config, executor_max_tries=tries)


def test_a_refused_payout_frees_the_amount_and_an_approval_pays_it_under_a_new_key_once(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    decision_id = decide_one_refund(harness, fake_stripe)
    fake_stripe.dispute(PI)
    harness.drain()
    [(_, status, _, _, first_key)] = attempts(harness, decision_id)
    assert status == "failed"
    assert (payment(harness).refunded, payment(harness).pending) == (0, 0)  # nothing reserved
    assert review_row(harness, decision_id) == ("open", f"attempt_failed: {DISPUTED}",
                                                None, None, None)
    fake_stripe.payment_intents[PI]["disputed"] = False  # the merchant won the dispute
    before = last_seq(harness)

    outcome = approve(harness, decision_id)

    [(_, _, _, _, key0), (seq, _, _, _, new_key)] = attempts(harness, decision_id)
    new_id = outcome.attempt_ids[0]
    assert (outcome.status, len(outcome.attempt_ids), seq) == ("approved", 1, 1)
    assert new_key == f"refunds-plugin-attempt-{new_id}" and new_key != first_key == key0
    assert attempts(harness, decision_id) == [
        (0, "failed", 2500, 1, first_key), (1, "pending", 2500, 0, new_key)]
    assert payment(harness).pending == 2500
    [(t1, s1, b1), (t2, s2, b2)] = journal_after(harness, before)
    assert (t1, s1) == ("attempt", new_id)
    assert {k: b1[k] for k in ("status", "amount", "currency", "idempotency_key", "retry_of")} == {
        "status": "pending", "amount": 2500, "currency": "USD", "idempotency_key": new_key,
        "retry_of": harness.rows(refund_attempts, seq=0)[0].id}
    assert (t2, s2, b2["status"], b2["attempt_ids"]) == (
        "review_decided", decision_id, "approved", [new_id])

    harness.drain()
    assert [(s, st) for s, st, *_ in attempts(harness, decision_id)] == [
        (0, "failed"), (1, "succeeded")]
    assert [c.idempotency_key for c in fake_stripe.calls_to("POST", "/v1/refunds")] == [
        first_key, new_key]
    assert fake_stripe.refunded(PI) == 2500 and len(fake_stripe.refunds) == 1
    assert (payment(harness).refunded, payment(harness).pending) == (2500, 0)
    assert verify_ledger(harness.runtime.engine) == []


def test_a_payout_that_fails_after_its_review_was_approved_reopens_the_review(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    decision_id = decide_one_refund(harness, fake_stripe)
    fake_stripe.dispute(PI)
    harness.drain()
    approve(harness, decision_id, "try again")
    assert review_row(harness, decision_id)[0] == "approved"
    harness.clock.advance(60)
    before = last_seq(harness)

    harness.drain()  # still disputed: the new attempt is refused too

    assert [(s, st) for s, st, *_ in attempts(harness, decision_id)] == [
        (0, "failed"), (1, "failed")]
    assert review_row(harness, decision_id) == ("open", f"attempt_failed: {DISPUTED}",
                                                None, None, None)
    entries = journal_after(harness, before)
    assert [(t, s) for t, s, _ in entries][-1] == ("review_reopened", decision_id)
    assert entries[-1][2] == {"reason": f"attempt_failed: {DISPUTED}", "status": "open"}
    assert verify_ledger(harness.runtime.engine) == []

    # approved again: only the newest refusal is paid again, the first was replaced already
    fake_stripe.payment_intents[PI]["disputed"] = False
    outcome = approve(harness, decision_id, "dispute won")
    assert len(outcome.attempt_ids) == 1
    harness.drain()
    assert [(s, st) for s, st, *_ in attempts(harness, decision_id)] == [
        (0, "failed"), (1, "failed"), (2, "succeeded")]
    assert fake_stripe.refunded(PI) == 2500 and len(fake_stripe.refunds) == 1
    assert verify_ledger(harness.runtime.engine) == []


def test_approving_a_refused_payout_is_refused_when_the_payment_was_refunded_meanwhile(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    decision_id = decide_one_refund(harness, fake_stripe)
    fake_stripe.dispute(PI)
    harness.drain()
    with harness.runtime.engine.begin() as conn:  # as a charge.refunded event would report
        conn.execute(text("UPDATE payments SET refunded_reported = 4000 WHERE reference = :p"),
                     {"p": PI})
    before = last_seq(harness)

    with pytest.raises(NotRefundable, match=r"^payment pi_123 has 15\.00 USD left to refund; "
                       r"this decision would refund 25\.00 USD$"):
        approve(harness, decision_id)

    assert [(s, st) for s, st, *_ in attempts(harness, decision_id)] == [(0, "failed")]
    assert review_row(harness, decision_id)[0] == "open"
    assert journal_after(harness, before) == []


def test_after_the_last_retryable_try_the_outcome_is_unknown_and_the_amount_stays_reserved(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    set_max_tries(harness, 3)
    decision_id = decide_one_refund(harness, fake_stripe)
    fake_stripe.fail_next(3, status=503)
    for _ in range(3):
        harness.drain()
        harness.clock.advance(700)  # beyond the backoff cap
    [row] = harness.rows(refund_attempts, decision_id=decision_id)
    assert (row.status, row.tries, row.claimed_by, row.completed_at) == ("unknown", 3, None, None)
    assert row.last_error.startswith("gave up after 3 tries")
    assert (payment(harness).refunded, payment(harness).pending) == (0, 2500)  # still held
    assert review_row(harness, decision_id)[:2] == (
        "open", f"attempt_unknown: {row.last_error}")
    with harness.runtime.engine.connect() as conn:
        bodies = [json.loads(b) for b in conn.execute(
            select(ledger_entries.c.body).where(ledger_entries.c.subject_id == row.id)
            .order_by(ledger_entries.c.seq)).scalars()]
    assert [b["status"] for b in bodies] == ["pending", "pending", "pending", "unknown"]
    assert fake_stripe.refunds == []
    # the other mug's return may have only what is not reserved: 55.00 - 25.00
    assert payment(harness).refundable == 3000
    assert verify_ledger(harness.runtime.engine) == []


def test_approving_an_unknown_outcome_sends_the_same_key_again_and_pays_once(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    set_max_tries(harness, 1)
    decision_id = decide_one_refund(harness, fake_stripe)
    fake_stripe.hang_next(1, seconds=4.0)  # Stripe refunds, but our 3 s timeout gives up
    harness.drain()
    [(_, status, _, tries, key)] = attempts(harness, decision_id)
    assert (status, tries) == ("unknown", 1)
    deadline = time.monotonic() + 5
    while not fake_stripe.saved and time.monotonic() < deadline:  # the hung call finishes
        time.sleep(0.05)
    assert fake_stripe.refunded(PI) == 2500  # the money did move
    assert payment(harness).refundable == 3000  # and the ledger kept it reserved
    before = last_seq(harness)

    outcome = approve(harness, decision_id)

    [attempt] = harness.rows(refund_attempts, decision_id=decision_id)
    assert outcome.attempt_ids == (attempt.id,)
    assert attempts(harness, decision_id) == [(0, "pending", 2500, 0, key)]
    [(t1, s1, b1), (t2, _, b2)] = journal_after(harness, before)
    assert (t1, s1, b1["status"], b1["tries"]) == ("attempt", attempt.id, "pending", 0)
    assert (t2, b2["attempt_ids"], b2["requeued"]) == ("review_decided", [], [attempt.id])

    fake_stripe.saved.clear()  # approved days later: Stripe has pruned the idempotency key
    harness.drain()
    assert attempts(harness, decision_id) == [(0, "succeeded", 2500, 1, key)]
    # the requeued try looks for a refund carrying its attempt id before asking for one
    assert len(fake_stripe.calls_to("GET", "/v1/refunds")) == 1
    calls = fake_stripe.calls_to("POST", "/v1/refunds")
    assert [(c.idempotency_key, c.replayed) for c in calls] == [(key, False)]
    assert fake_stripe.refunded(PI) == 2500 and len(fake_stripe.refunds) == 1
    [row] = harness.rows(refund_attempts, decision_id=decision_id)
    assert row.provider_reference == fake_stripe.refunds[0]["id"]
    assert verify_ledger(harness.runtime.engine) == []


def refund_object(refund_id: str, status: str, attempt_id: str) -> dict[str, Any]:
    return {"id": refund_id, "object": "refund", "amount": 2500, "currency": "usd",
            "payment_intent": PI, "charge": "ch_123", "status": status,
            "failure_reason": "lost_or_stolen_card" if status == "failed" else None,
            "metadata": {"attempt_id": attempt_id}}


def test_a_stripe_refund_that_fails_after_it_succeeded_frees_the_amount_and_reopens_the_review(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    decision_id = decide_one_refund(harness, fake_stripe)
    harness.drain()
    [attempt] = harness.rows(refund_attempts, decision_id=decision_id)
    assert attempt.status == "succeeded"
    assert (payment(harness).refunded, payment(harness).refundable) == (2500, 3000)
    before = last_seq(harness)

    resp = harness.post_stripe(stripe_event(
        "evt_re_late", "refund.updated",
        refund_object(attempt.provider_reference, "failed", attempt.id)))

    assert resp.json is not None
    assert resp.json["note"] == "attempt failed after it had succeeded"
    [attempt] = harness.rows(refund_attempts, decision_id=decision_id)
    assert (attempt.status, attempt.last_error) == ("failed", "lost_or_stolen_card")
    assert (payment(harness).refunded, payment(harness).refundable) == (0, 5500)
    assert review_row(harness, decision_id)[:2] == ("open", "attempt_failed: lost_or_stolen_card")
    assert [(t, s, b.get("status")) for t, s, b in journal_after(harness, before)] == [
        ("attempt", attempt.id, "failed"), ("review_opened", decision_id, None)]
    # a redelivery of the same event, and a later refund.failed, change nothing more
    again = harness.post_stripe(stripe_event(
        "evt_re_late2", "refund.failed",
        refund_object(attempt.provider_reference, "failed", attempt.id)))
    assert again.json is not None and again.json["note"] == "attempt already failed"
    assert len(journal_after(harness, before)) == 2
    assert verify_ledger(harness.runtime.engine) == []
