"""One attempt whose stored JSON is corrupted (edited by hand, truncated) fails alone: it is
not sent, a person is asked to look, and every other due attempt of its batch is sent once."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from refunds_plugin.ledger import tables
from refunds_plugin.ledger.tables import decisions, ledger_entries, orders, refund_attempts, reviews
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe

ORDERS = ("1001", "1002", "1003")


def three_due_refunds(harness: Harness, fake: FakeStripe) -> dict[str, str]:
    """Orders 1001-1003, each paid 55.00 on its own payment intent, one mug (25.00) returned
    from each: three pending refunds, one per order, due in the same batch."""
    attempts: dict[str, str] = {}
    for order in ORDERS:
        fake.add_payment_intent(5500, "usd", f"pi_{order}")
        paid = order_paid(order, reference=f"pi_{order}")
        assert harness.post_storefront(paid).status_code == 200
        answer = harness.post_storefront(return_requested(f"r-{order}", order))
        assert answer.status_code == 201
        [attempt] = answer.json["attempts"]
        assert (attempt["amount"], attempt["status"]) == (2500, "pending")
        attempts[order] = str(attempt["id"])
    return attempts


def refund_keys(fake: FakeStripe) -> list[str | None]:
    return [c.idempotency_key for c in fake.calls_to("POST", "/v1/refunds")]


def corrupt(harness: Harness, where: str, attempt_id: str) -> str:
    """Truncate one row's stored JSON; returns the words the attempt's note must carry."""
    [row] = harness.rows(refund_attempts, id=attempt_id)
    with harness.runtime.engine.begin() as conn:
        if where == "decision body":
            conn.execute(update(decisions).where(decisions.c.id == row.decision_id)
                         .values(body='{"outcome": "approve", "resolu'))
            return f"decision {row.decision_id}'s stored body is not valid JSON"
        if where == "decision body of the wrong shape":
            conn.execute(update(decisions).where(decisions.c.id == row.decision_id)
                         .values(body='["approve", 2500]'))
            return f"decision {row.decision_id}'s stored body is JSON of the wrong shape"
        if where == "order facts of the wrong shape":
            conn.execute(update(orders).where(orders.c.order_id == row.order_id)
                         .values(extra='"saleor"'))
            return (f"order {row.order_id}'s stored facts (orders.extra) is JSON of the wrong "
                    "shape")
        if where == "order facts":
            conn.execute(update(orders).where(orders.c.order_id == row.order_id)
                         .values(extra='{"saleor": '))
            return f"order {row.order_id}'s stored facts (orders.extra) is not valid JSON"
        conn.execute(update(refund_attempts).where(refund_attempts.c.id == attempt_id)
                     .values(progress='{"refund_id": "re_'))
        return f"attempt {attempt_id}'s stored progress is not valid JSON"


@pytest.mark.parametrize("where", ["decision body", "order facts", "attempt progress",
                                   "decision body of the wrong shape",
                                   "order facts of the wrong shape"])
def test_one_unreadable_attempt_fails_alone_and_the_rest_of_its_batch_is_paid_once(
    harness: Harness, fake_stripe: FakeStripe, where: str
) -> None:
    attempts = three_due_refunds(harness, fake_stripe)
    bad = attempts["1002"]
    words = corrupt(harness, where, bad)

    harness.drain()

    good = [attempts["1001"], attempts["1003"]]
    keys = {aid: harness.rows(refund_attempts, id=aid)[0].idempotency_key
            for aid in attempts.values()}
    assert sorted(refund_keys(fake_stripe)) == sorted(keys[aid] for aid in good)
    assert [fake_stripe.refunded(f"pi_{o}") for o in ORDERS] == [2500, 0, 2500]
    for aid in good:
        [row] = harness.rows(refund_attempts, id=aid)
        assert (row.status, row.tries, row.sent_amount) == ("succeeded", 1, 2500)

    [row] = harness.rows(refund_attempts, id=bad)
    assert row.last_error.startswith(f"instruction_unreadable: not sent: {words} (")
    if where == "attempt progress":
        # progress is what an earlier provider call saved: that call may have paid, so the
        # amount stays reserved (unknown) and the note says so
        assert row.status == "unknown"
        assert row.last_error.endswith(
            "); an earlier try may have paid, check the provider; a person must repair it")
    else:  # no try of it ever reached Stripe: final, the amount freed
        assert row.status == "failed"
        assert row.last_error.endswith("); a person must repair it")
        assert "earlier try" not in row.last_error
    assert (row.tries, row.claimed_by, row.lease_until) == (1, None, None)
    [review] = harness.rows(reviews, decision_id=row.decision_id)
    assert review.status == "open"
    assert review.reason == f"attempt_{row.status}: {row.last_error}"[:500]
    journalled = [e for e in harness.rows(ledger_entries, entry_type="attempt", subject_id=bad)
                  if '"last_error"' in e.body]
    assert len(journalled) == 1 and '"instruction_unreadable: not sent' in journalled[0].body

    harness.clock.advance(3600)  # well past any backoff or lease
    harness.drain()
    assert len(refund_keys(fake_stripe)) == 2
    assert [fake_stripe.refunded(f"pi_{o}") for o in ORDERS] == [2500, 0, 2500]
    assert harness.rows(refund_attempts, id=bad)[0].status == row.status
    assert harness.chain_problem() is None


def test_refunds_of_an_order_whose_lines_are_unreadable_are_paid_and_told_like_any_other(
    harness: Harness, fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture,
) -> None:
    attempts = three_due_refunds(harness, fake_stripe)
    with harness.runtime.engine.begin() as conn:  # a restore cut 1002's lines short
        conn.execute(update(orders).where(orders.c.order_id == "1002")
                     .values(lines='[{"id": "l1", "name": "Mu'))

    harness.drain()

    assert [fake_stripe.refunded(f"pi_{o}") for o in ORDERS] == [2500, 2500, 2500]
    for aid in attempts.values():
        [row] = harness.rows(refund_attempts, id=aid)
        assert (row.status, row.tries, row.sent_amount) == ("succeeded", 1, 2500)
    told = sorted((json.loads(m.context)["order_number"], m.cause)
                  for m in harness.rows(tables.outbox, kind="refund_sent"))
    assert told == sorted((o, f"attempt:{attempts[o]}") for o in ORDERS)
    assert harness.rows(reviews) == []
    # the refund's messages name no item: the bad lines are not even read
    assert "refunds.notify" not in {rec.name for rec in caplog.records}
    assert harness.chain_problem() is None


def test_a_return_request_on_an_order_whose_lines_are_unreadable_decides_nothing(
    harness: Harness, fake_stripe: FakeStripe,
) -> None:
    fake_stripe.add_payment_intent(5500, "usd", "pi_1001")
    assert harness.post_storefront(order_paid("1001", reference="pi_1001")).status_code == 200
    with harness.runtime.engine.begin() as conn:
        conn.execute(update(orders).where(orders.c.order_id == "1001")
                     .values(lines='[{"id": "l1", "name": "Mu'))

    answer = harness.post_storefront(return_requested("r-1001", "1001"))

    # as before: the facts cannot be read, so the event is not recorded and the sender retries
    assert (answer.status_code, answer.json) == (500, {"error": {
        "code": "internal_error", "message": "the event could not be recorded; please retry"}})
    assert harness.rows(decisions) == [] and harness.rows(tables.outbox) == []
    assert harness.rows(refund_attempts) == []
