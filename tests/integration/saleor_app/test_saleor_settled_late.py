"""A grant that succeeds after its attempt was marked failed (a merchant re-requests it from the
Dashboard): the attempt is settled succeeded, journalled with what saw it; the review it opened
is closed and a pending retry canceled, so the money is counted once. ``refunds reconcile
--provider saleor`` names every difference between the ledger and Saleor."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, update

from refunds_plugin.errors import ReviewClosed
from refunds_plugin.execution.poller import SaleorPoller
from refunds_plugin.finance.reconcile import Mismatch, reconcile_saleor
from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger import facts
from refunds_plugin.ledger.tables import ledger_entries, payments, provider_refunds, reviews
from tests.fakes.saleor_harness import journal as _journal
from tests.fakes.saleor_harness import rows as _rows

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="


def _failed(shop, clock):
    shop.saleor.add_order(ORDER, lines=[(LINE, 1, "25.00")], shipping="5.00")
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert shop.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201
    shop.saleor.decline_next()
    shop.executor.drain()
    clock.advance(5)
    SaleorPoller(shop.engine, shop.runtime.service.saleor_requery, clock).poll_once()
    [attempt] = shop.attempts()
    assert attempt.status == "failed"
    return attempt, shop.saleor.orders[ORDER]["grantedRefunds"][0]


def _differences(shop, clock):
    since = clock().replace(year=2020)
    return reconcile_saleor(shop.runtime.saleor_events, shop.engine, since)


def test_a_failed_grant_paid_from_the_dashboard_settles_the_attempt_once(installed, clock):
    attempt, grant = _failed(installed, clock)
    assert _differences(installed, clock) == []
    installed.saleor.dashboard_rerequest(grant["id"])
    installed.saleor.settle(grant["id"])
    note = installed.webhook("ORDER_REFUNDED", ORDER).get_json()["note"]
    assert f"attempt {attempt.id} succeeded after it had failed" in note

    [row] = installed.attempts()
    assert (row.status, row.provider_reference) == ("succeeded", grant["id"])
    last = _journal(installed, attempt.id)[-1]
    assert {k: last[k] for k in ("status", "provider_reference", "note")} == {
        "status": "succeeded", "provider_reference": grant["id"],
        "note": "succeeded after the attempt had failed: saleor granted refund SUCCESS "
                "(seen by order_refunded)"}
    [review] = _rows(installed, reviews)
    assert (review.status, review.decided_by) == ("approved", "saleor")
    with pytest.raises(ReviewClosed):
        decide(installed.engine, installed.runtime.service, attempt.decision_id, approve=True,
               by="ann", note="pay again", now=clock())
    [pay] = _rows(installed, payments)
    assert (pay.captured, pay.refunded_reported) == (3000, 3000)
    [pr] = _rows(installed, provider_refunds)
    assert (pr.attempt_id, pr.amount, pr.status) == (attempt.id, 3000, "succeeded")
    with installed.engine.connect() as conn:
        assert facts.payment_facts(conn, ORDER)[0].refundable == 0
    assert verify_ledger(installed.engine) == []
    assert _differences(installed, clock) == []


def test_a_pending_retry_is_canceled_when_the_failed_grant_succeeds(installed, clock):
    attempt, grant = _failed(installed, clock)
    done = decide(installed.engine, installed.runtime.service, attempt.decision_id, approve=True,
                  by="ann", note="try again", now=clock())
    [retry_id] = done.attempt_ids
    installed.saleor.dashboard_rerequest(grant["id"])  # before the executor ran the retry
    installed.saleor.settle(grant["id"])
    assert installed.webhook("ORDER_REFUNDED", ORDER).status_code == 200
    calls = len(installed.saleor.mutations())
    installed.executor.drain()
    assert len(installed.saleor.mutations()) == calls  # the retry never asks Saleor
    [old, retry] = installed.attempts()
    assert (old.status, retry.id, retry.status) == ("succeeded", retry_id, "canceled")
    [pay] = _rows(installed, payments)
    assert pay.refunded_reported == 3000
    tx = installed.saleor.orders[ORDER]["transactions"][0]
    assert tx["refundedAmount"]["amount"] == Decimal("30.00")  # paid once
    assert verify_ledger(installed.engine) == []


def test_reconcile_names_what_saleor_says_and_the_ledger_does_not(installed, clock):
    attempt, grant = _failed(installed, clock)
    # the grant succeeded in Saleor and no webhook reached the ledger yet
    installed.saleor.dashboard_rerequest(grant["id"])
    installed.saleor.settle(grant["id"])
    # and staff granted 1.00 of their own in the Dashboard
    installed.saleor.orders[ORDER]["grantedRefunds"].append({
        "id": "T3JkZXJHcmFudGVkUmVmdW5kOjk5", "status": "NONE", "reason": "goodwill",
        "createdAt": "2026-11-24T11:00:00+00:00", "updatedAt": "2026-11-24T11:00:00+00:00",
        "amount": {"amount": Decimal("1.00"), "currency": "USD"},
        "transaction": {"id": grant["transaction"]["id"]}, "transactionEvents": [],
        "lines": []})
    tx_id = grant["transaction"]["id"]
    assert _differences(installed, clock) == [
        Mismatch("status", grant["id"], attempt.id, "30.00 USD failed", "30.00 USD succeeded"),
        Mismatch("missing_in_ledger", "T3JkZXJHcmFudGVkUmVmdW5kOjk5", None, "-",
                 "1.00 USD granted"),
        Mismatch("refunded_total", tx_id, None, "0.00 USD refunded", "30.00 USD refunded"),
    ]


def test_a_late_success_whose_retries_cannot_be_read_goes_to_a_person_not_a_guess(
    installed, clock, caplog,
):
    attempt, grant = _failed(installed, clock)
    done = decide(installed.engine, installed.runtime.service, attempt.decision_id, approve=True,
                  by="ann", note="try again", now=clock())
    [retry_id] = done.attempt_ids
    with installed.engine.begin() as conn:  # the retry's journal entry, cut short
        seq = conn.execute(select(ledger_entries.c.seq).where(
            ledger_entries.c.subject_id == retry_id,
            ledger_entries.c.body.like('%"retry_of"%'))).scalar_one()
        conn.execute(update(ledger_entries).where(ledger_entries.c.seq == seq)
                     .values(body='{"retry_of": "' + attempt.id[:8]))
    installed.saleor.dashboard_rerequest(grant["id"])
    installed.saleor.settle(grant["id"])
    caplog.clear()

    answer = installed.webhook("ORDER_REFUNDED", ORDER)

    # taken (Saleor is not left re-sending it); nothing settled or canceled on a guess
    assert answer.status_code == 200
    cannot = (f"journal entry {seq} (of attempt {retry_id}) cannot be read (not valid JSON), "
              "so its retries cannot be known")
    assert f"attempt {attempt.id} stays failed: {cannot}; a person must look" in (
        answer.get_json()["note"])
    [old, retry] = installed.attempts()
    assert (old.status, retry.status) == ("failed", "pending")
    why = (f"late_outcome: the provider reports the refund of failed attempt {attempt.id} "
           "succeeded (saleor granted refund SUCCESS (seen by order_refunded)), but "
           f"{cannot}; check whether a retry paid it too")
    [review] = _rows(installed, reviews)
    assert (review.status, review.reason) == ("open", why)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f"attempt {attempt.id} stays failed: {why}"]
    assert "retry_of" not in caplog.text
    installed.executor.drain()  # the retry: Saleor refuses a second grant of the same line
    assert [a.status for a in installed.attempts()] == ["failed", "failed"]
    tx = installed.saleor.orders[ORDER]["transactions"][0]
    assert tx["refundedAmount"]["amount"] == Decimal("30.00")  # paid once
