"""Looking for trouble on Saleor: an OVERCHARGED order, told by signed webhooks, gives one
refund of the excess through ``transactionRequestAction`` on the extra transaction only."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from refunds_plugin.ledger.tables import decisions, provider_refunds, refund_attempts

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
FIRST = "VHJhbnNhY3Rpb25JdGVtOjE="  # the legitimate payment (Saleor's first createdAt)
EXTRA = "VHJhbnNhY3Rpb25JdGVtOjA="  # charged 3 minutes later; its id sorts before the first's


def _rows(shop: Any, table: Any) -> list[Any]:
    with shop.engine.connect() as conn:
        return list(conn.execute(select(table)))


def _paid_twice(shop: Any, extra_amount: str) -> None:
    """An order of 25.00 USD, paid, then charged again by the payment app."""
    shop.saleor.add_order(ORDER, lines=[(LINE, 2, "10.00")], shipping="5.00",
                          paid_at="2026-11-20T10:00:00+00:00")
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    shop.saleor.add_transaction(ORDER, extra_amount, "2026-11-20T10:03:00+00:00", EXTRA)
    assert shop.saleor.orders[ORDER]["chargeStatus"] == "OVERCHARGED"


def test_a_double_charge_on_saleor_refunds_exactly_the_extra_transaction_once(installed):
    _paid_twice(installed, "25.00")
    assert _rows(installed, decisions) == []  # the first payment alone is no trouble

    first = installed.webhook("ORDER_UPDATED", ORDER).get_json()
    assert first["duplicate"] is False
    assert f"duplicate_charge 25.00 USD on {EXTRA}: approve" in first["note"]
    [decision] = _rows(installed, decisions)
    assert (decision.kind, decision.outcome, decision.amount, decision.request_key) == (
        "duplicate_charge", "approve", 2500, f"duplicate_charge:{EXTRA}")
    [attempt] = installed.attempts()
    assert (attempt.provider, attempt.kind, attempt.payment_reference, attempt.amount,
            attempt.reason, attempt.status) == (
        "saleor", "refund", EXTRA, 2500, "duplicate", "pending")

    # the same state again, under any event name, is one state
    assert installed.webhook("ORDER_UPDATED", ORDER).get_json()["duplicate"] is True
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).get_json()["duplicate"] is True

    installed.executor.drain()
    assert installed.saleor.mutations() == [
        ("RefundsTransactionRefund", {"id": EXTRA, "amount": "25.00"})]
    [attempt] = installed.attempts()
    [request] = [e for e in installed.saleor.orders[ORDER]["transactions"][1]["events"]
                 if e["type"] == "REFUND_REQUEST"]
    assert (attempt.status, attempt.sent_amount, attempt.provider_reference) == (
        "sent", 2500, request["id"])

    # Saleor announces the pending refund: still OVERCHARGED, nothing new is decided
    pending = installed.webhook("ORDER_UPDATED", ORDER).get_json()
    assert pending["duplicate"] is False and "duplicate_charge" not in pending["note"]

    installed.saleor.settle_request(EXTRA)
    assert installed.webhook("ORDER_REFUNDED", ORDER).get_json()["duplicate"] is False
    [attempt] = installed.attempts()
    assert attempt.status == "succeeded"
    [pr] = _rows(installed, provider_refunds)
    assert (pr.refund_id, pr.payment_reference, pr.attempt_id, pr.amount, pr.status) == (
        request["id"], EXTRA, attempt.id, 2500, "succeeded")
    assert len(_rows(installed, decisions)) == 1
    installed.executor.drain()
    assert [m[1]["id"] for m in installed.saleor.mutations()] == [EXTRA]  # never the first


def test_an_overpayment_on_saleor_refunds_only_the_excess_from_the_later_transaction(installed):
    _paid_twice(installed, "7.50")
    installed.webhook("ORDER_UPDATED", ORDER)
    [decision] = _rows(installed, decisions)
    assert (decision.kind, decision.outcome, decision.amount) == ("overpayment", "approve", 750)
    body = json.loads(decision.body)
    assert body["explanation"] == (
        f"We noticed you paid more than the total of order {ORDER} and refunded the extra "
        "7.50 USD.")
    installed.executor.drain()
    assert installed.saleor.mutations() == [
        ("RefundsTransactionRefund", {"id": EXTRA, "amount": "7.50"})]
    assert [(a.payment_reference, a.amount, a.status) for a in installed.attempts()] == [
        (EXTRA, 750, "sent")]


def test_saleor_events_out_of_order_and_redelivered_give_one_correction(installed, clock):
    installed.saleor.add_order(ORDER, lines=[(LINE, 2, "10.00")], shipping="5.00",
                               paid_at="2026-11-20T10:00:00+00:00")
    installed.saleor.add_transaction(ORDER, "25.00", "2026-11-20T10:03:00+00:00", EXTRA)
    txs = installed.saleor.orders[ORDER]["transactions"]
    txs.reverse()  # Saleor lists the later charge first; only createdAt says which came first

    # ORDER_UPDATED overtakes ORDER_FULLY_PAID, and both are delivered twice
    for event in ("ORDER_UPDATED", "ORDER_FULLY_PAID", "ORDER_UPDATED", "ORDER_FULLY_PAID"):
        assert installed.webhook(event, ORDER).status_code == 200
    [decision] = _rows(installed, decisions)
    assert (decision.kind, decision.amount) == ("duplicate_charge", 2500)

    # the answer to the refund request is lost: the retry finds the request, does not ask again
    installed.saleor.fail["RefundsTransactionRefund"] = ["network_after"]
    installed.executor.drain()
    assert installed.saleor.mutations() == [
        ("RefundsTransactionRefund", {"id": EXTRA, "amount": "25.00"})]
    clock.advance(3600)
    installed.executor.drain()
    assert len(installed.saleor.mutations()) == 1
    [attempt] = installed.attempts()
    assert (attempt.payment_reference, attempt.amount, attempt.status) == (EXTRA, 2500, "sent")
    with installed.engine.connect() as conn:
        assert len(conn.execute(select(refund_attempts)).all()) == 1
