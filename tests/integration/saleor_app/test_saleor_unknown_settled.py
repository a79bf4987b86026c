"""An attempt whose outcome was unknown (out of tries on lost answers) is settled by the Saleor
webhook that shows what became of it, as Stripe's refund.updated settles one there: the
granted refund's SUCCESS makes it succeeded, FAILURE makes it failed and frees the amount."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.ledger import facts
from refunds_plugin.ledger.tables import ledger_entries, provider_refunds, reviews

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
TX = "VHJhbnNhY3Rpb25JdGVtOjE="
EXTRA = "VHJhbnNhY3Rpb25JdGVtOjA="


def _rows(shop: Any, table: Any) -> list[Any]:
    with shop.engine.connect() as conn:
        return list(conn.execute(select(table)))


def _journal(shop: Any, subject: str) -> list[dict[str, Any]]:
    le = ledger_entries.c
    with shop.engine.connect() as conn:
        return [json.loads(b) for b in conn.execute(
            select(le.body).where(le.subject_id == subject).order_by(le.seq)).scalars()]


def _payment(shop: Any, reference: str) -> Any:
    with shop.engine.connect() as conn:
        return next(p for p in facts.payment_facts(conn, ORDER) if p.reference == reference)


def _out_of_tries(shop: Any, clock: Any, fail: dict[str, list[str]]) -> Any:
    """Two tries, both answers lost: the attempt's outcome is unknown."""
    shop.executor.config = replace(shop.runtime.config, executor_max_tries=2)
    shop.saleor.fail.update(fail)
    shop.executor.drain()
    clock.advance(3600)
    shop.executor.drain()
    [attempt] = shop.attempts()
    assert (attempt.status, attempt.tries, attempt.provider_reference) == ("unknown", 2, None)
    assert attempt.last_error.startswith("gave up after 2 tries: network_error:")
    return attempt


def _granted_and_unknown(shop: Any, clock: Any) -> tuple[Any, str]:
    """12.50 of an order of 30.00 granted and requested at Saleor; both answers lost."""
    shop.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert shop.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201
    attempt = _out_of_tries(
        shop, clock, {"RefundsRequestGrantedRefund": ["network_after", "network_after"]})
    [grant] = shop.saleor.orders[ORDER]["grantedRefunds"]
    assert grant["status"] == "PENDING"  # Saleor did ask the payment app, once
    assert (_payment(shop, TX).refunded, _payment(shop, TX).pending) == (0, 1250)
    [review] = _rows(shop, reviews)
    assert (review.status, review.reason) == ("open", f"attempt_unknown: {attempt.last_error}")
    return attempt, str(grant["id"])


def test_a_granted_refund_shown_succeeded_settles_an_unknown_attempt_as_succeeded(
    installed, clock
):
    attempt, grant_id = _granted_and_unknown(installed, clock)

    installed.saleor.settle(grant_id)
    answer = installed.webhook("ORDER_REFUNDED", ORDER).get_json()

    assert f"attempt {attempt.id} succeeded" in answer["note"]
    [row] = installed.attempts()
    assert (row.status, row.provider_reference, row.last_error) == (
        "succeeded", grant_id, attempt.last_error)
    assert row.completed_at is not None
    last = _journal(installed, attempt.id)[-1]
    assert {k: last[k] for k in ("status", "provider_reference", "note")} == {
        "status": "succeeded", "provider_reference": grant_id,
        "note": "saleor granted refund SUCCESS (seen by order_refunded)"}
    [pr] = _rows(installed, provider_refunds)
    assert (pr.refund_id, pr.attempt_id, pr.amount, pr.status) == (
        grant_id, attempt.id, 1250, "succeeded")
    pay = _payment(installed, TX)
    assert (pay.refunded, pay.pending, pay.refundable) == (1250, 0, 1750)
    # as with Stripe, the review stays for a person to close; approving it pays nothing again
    [review] = _rows(installed, reviews)
    assert review.status == "open"
    assert len(installed.saleor.mutations("RefundsGrantRefund")) == 1
    assert verify_ledger(installed.engine) == []


def test_a_granted_refund_shown_failed_settles_an_unknown_attempt_as_failed(installed, clock):
    attempt, grant_id = _granted_and_unknown(installed, clock)

    installed.saleor.settle(grant_id, success=False)
    answer = installed.webhook("ORDER_UPDATED", ORDER).get_json()

    assert f"attempt {attempt.id} failed" in answer["note"]
    [row] = installed.attempts()
    assert (row.status, row.provider_reference, row.last_error) == (
        "failed", grant_id, "Saleor reports the granted refund FAILURE")
    assert [b["status"] for b in _journal(installed, attempt.id)][-2:] == ["unknown", "failed"]
    pay = _payment(installed, TX)
    assert (pay.refunded, pay.pending, pay.refundable) == (0, 0, 3000)  # the amount is free
    [review] = _rows(installed, reviews)
    assert review.status == "open"
    assert verify_ledger(installed.engine) == []


def test_a_pending_grant_shows_an_unknown_attempt_reached_saleor_and_it_waits_as_sent(
    installed, clock
):
    attempt, grant_id = _granted_and_unknown(installed, clock)

    installed.saleor.orders[ORDER]["updatedAt"] = "2026-11-24T12:59:00+00:00"
    answer = installed.webhook("ORDER_UPDATED", ORDER).get_json()

    assert f"attempt {attempt.id} sent" in answer["note"]
    [row] = installed.attempts()
    assert (row.status, row.provider_reference, row.completed_at) == ("sent", grant_id, None)
    assert _payment(installed, TX).pending == 1250  # still on its way: still reserved
    installed.saleor.settle(grant_id)
    installed.webhook("ORDER_REFUNDED", ORDER)
    [row] = installed.attempts()
    assert row.status == "succeeded"
    assert [b["status"] for b in _journal(installed, attempt.id)][-3:] == [
        "unknown", "sent", "succeeded"]


def test_a_transaction_refund_shown_succeeded_settles_an_unknown_duplicate_charge_refund(
    installed, clock
):
    installed.saleor.add_order(ORDER, lines=[(LINE, 2, "10.00")], shipping="5.00",
                               paid_at="2026-11-20T10:00:00+00:00")
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    installed.saleor.add_transaction(ORDER, "25.00", "2026-11-20T10:03:00+00:00", EXTRA)
    note = installed.webhook("ORDER_UPDATED", ORDER).get_json()["note"]
    assert "duplicate_charge 25.00 USD" in note
    # the request reaches Saleor but its answer is lost; the retry cannot read the order
    attempt = _out_of_tries(installed, clock, {"RefundsTransactionRefund": ["network_after"],
                                               "RefundsOrder": ["network_before"]})
    [request] = [e for e in installed.saleor.orders[ORDER]["transactions"][1]["events"]
                 if e["type"] == "REFUND_REQUEST"]
    assert request["amount"]["amount"] == Decimal("25.00")

    installed.saleor.settle_request(EXTRA)
    answer = installed.webhook("ORDER_REFUNDED", ORDER).get_json()

    assert f"attempt {attempt.id} succeeded" in answer["note"]
    [row] = installed.attempts()
    assert (row.status, row.provider_reference) == ("succeeded", request["id"])
    [pr] = _rows(installed, provider_refunds)
    assert (pr.refund_id, pr.payment_reference, pr.attempt_id, pr.amount, pr.status) == (
        request["id"], EXTRA, attempt.id, 2500, "succeeded")
    assert installed.saleor.mutations("RefundsTransactionRefund") == [
        ("RefundsTransactionRefund", {"id": EXTRA, "amount": "25.00"})]
    assert verify_ledger(installed.engine) == []
