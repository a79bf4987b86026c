"""Our refund request on a Saleor transaction is settled by its own outcome, never by another
request's: staff may ask for a refund of the same amount on the same transaction, and the
payment app may answer theirs first (``saleor/request_outcomes.py``). Paired by amount alone,
a staff request declined first made our correction read as failed, its amount freed and a
review opened whose approval asked Saleor for the same 25.00 again."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from refunds_plugin.finance.detail import decision_detail
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger import facts
from refunds_plugin.ledger.tables import reviews
from tests.fakes.saleor_api import money
from tests.fakes.saleor_harness import rows

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
TX = "VHJhbnNhY3Rpb25JdGVtOjE="


def _overcharged(shop: Any) -> dict[str, Any]:
    """A 25.00 USD order whose one transaction charged 50.00 (Saleor: OVERCHARGED); the
    correction of 25.00 is decided and asked for (our REFUND_REQUEST, not answered yet)."""
    order = shop.saleor.add_order(ORDER, lines=[(LINE, 2, "10.00")], shipping="5.00",
                                  paid_at="2026-11-20T10:00:00+00:00")
    tx = order["transactions"][0]
    tx["chargedAmount"]["amount"] = Decimal("50.00")
    tx["events"][0]["amount"] = money("50.00", "USD")
    order["totalCharged"]["amount"] = Decimal("50.00")
    shop.saleor._charge_status(order)
    assert order["chargeStatus"] == "OVERCHARGED"
    assert "overpayment 25.00 USD" in shop.webhook("ORDER_UPDATED", ORDER).get_json()["note"]
    shop.executor.drain()
    [attempt] = shop.attempts()
    assert (attempt.kind, attempt.amount, attempt.status) == ("refund", 2500, "sent")
    return order


def _asked(shop: Any) -> list[dict[str, Any]]:
    return [v for name, v in shop.saleor.mutations() if name == "RefundsTransactionRefund"]


def _refundable(shop: Any) -> int:
    with shop.engine.connect() as conn:
        [pay] = facts.payment_facts(conn, ORDER)
    return pay.refundable


def test_a_staff_request_declined_first_does_not_settle_ours(installed: Any) -> None:
    shop = installed
    _overcharged(shop)
    [ours] = shop.attempts()
    staff = shop.saleor.request_outside(ORDER, "25.00")  # the same amount, the same transaction
    shop.saleor.settle_request(TX, success=False, request_id=staff)  # the app declines theirs
    shop.webhook("ORDER_UPDATED", ORDER)

    [attempt] = shop.attempts()
    assert attempt.status == "sent"  # nothing has answered ours yet
    assert rows(shop, reviews) == []
    assert _refundable(shop) == 2500  # 50.00 charged, our 25.00 still held

    shop.saleor.settle_request(TX, success=True, request_id=ours.provider_reference)
    shop.webhook("ORDER_REFUNDED", ORDER)
    [attempt] = shop.attempts()
    assert attempt.status == "succeeded"
    assert _refundable(shop) == 2500  # 25.00 refunded, 25.00 left: the order's total
    shop.executor.drain()
    assert _asked(shop) == [{"id": TX, "amount": "25.00"}]  # asked once


def test_an_outcome_without_a_reference_that_could_be_either_settles_neither(
    installed: Any, clock: Any,
) -> None:
    """Saleor gave up on the app for one of two requests of 25.00, neither answered: its
    REFUND_FAILURE carries no reference, so whose it is cannot be told. Ours is not failed on
    it (its amount stays held, nothing is asked again), nor left sent with nobody told: its
    outcome is unknown and a person is asked to look, until the app answers it; then the
    failure is the other's."""
    shop = installed
    _overcharged(shop)
    [ours] = shop.attempts()
    staff = shop.saleor.request_outside(ORDER, "25.00")
    shop.saleor.give_up_on(ORDER, staff)
    shop.webhook("ORDER_UPDATED", ORDER)
    [attempt] = shop.attempts()
    why = ("Saleor gave up on a 25.00 USD refund request on this transaction without saying "
           "which: this one, or another of the same amount still waiting. Check the "
           "transaction's events in the Saleor Dashboard; the amount stays held until "
           "Saleor's answer tells")
    assert (attempt.status, attempt.last_error) == ("unknown", why)
    [review] = rows(shop, reviews)
    assert (review.decision_id, review.status, review.reason) == (
        attempt.decision_id, "open", f"attempt_unknown: {why}")
    assert _refundable(shop) == 2500  # 50.00 charged, our 25.00 still held
    assert decision_detail(shop.engine, attempt.decision_id)["moved"] == (
        "25.00 USD unknown: saleor gave up on a refund request of this amount without saying "
        "whether it was this one, it may have moved")
    shop.webhook("ORDER_UPDATED", ORDER)  # the same state again: still unknown, once
    assert [a.status for a in shop.attempts()] == ["unknown"]
    assert len(rows(shop, reviews)) == 1
    # a person who approves it asks Saleor for nothing again: the attempt keeps its request
    decide(shop.engine, shop.runtime.service, attempt.decision_id, approve=True, by="ann",
           note="checked", now=clock())
    shop.executor.drain()
    assert [(a.status, a.provider_reference) for a in shop.attempts()] == [
        ("sent", ours.provider_reference)]
    assert _asked(shop) == [{"id": TX, "amount": "25.00"}]

    shop.saleor.settle_request(TX, success=True, request_id=ours.provider_reference)
    shop.webhook("ORDER_REFUNDED", ORDER)
    [attempt] = shop.attempts()
    assert attempt.status == "succeeded"
    shop.executor.drain()
    assert _asked(shop) == [{"id": TX, "amount": "25.00"}]


def test_our_request_declined_fails_ours_alone(installed: Any) -> None:
    shop = installed
    _overcharged(shop)
    [ours] = shop.attempts()
    staff = shop.saleor.request_outside(ORDER, "25.00")
    shop.saleor.settle_request(TX, success=False, request_id=ours.provider_reference)
    shop.webhook("ORDER_UPDATED", ORDER)
    [attempt] = shop.attempts()
    assert (attempt.status, attempt.last_error) == (
        "failed", "Saleor reports the refund request REFUND_FAILURE")
    shop.saleor.settle_request(TX, success=True, request_id=staff)  # theirs goes through
    shop.webhook("ORDER_REFUNDED", ORDER)
    [attempt] = shop.attempts()
    assert attempt.status == "failed"


def test_a_refund_pending_on_the_transaction_that_leaves_too_little_is_not_asked_for(
    installed: Any,
) -> None:
    """Saleor clamps a request to what is still charged (net of refunds pending on the
    transaction): with staff's 40.00 pending, ours would become a 10.00 request. It is not
    asked for; the attempt fails saying why, and a person looks."""
    shop = installed
    order = shop.saleor.add_order(ORDER, lines=[(LINE, 2, "10.00")], shipping="5.00",
                                  paid_at="2026-11-20T10:00:00+00:00")
    tx = order["transactions"][0]
    tx["chargedAmount"]["amount"] = Decimal("50.00")
    order["totalCharged"]["amount"] = Decimal("50.00")
    shop.saleor._charge_status(order)
    shop.webhook("ORDER_UPDATED", ORDER)
    shop.saleor.request_outside(ORDER, "40.00")  # before the executor runs
    shop.executor.drain()
    [attempt] = shop.attempts()
    assert (attempt.amount, attempt.status, attempt.last_error) == (
        2500, "failed",
        f"not_enough_charged: transaction {TX} has only 10.00 USD still charged (refunds "
        "pending on it hold the rest), less than the 25.00 USD to refund: nothing was asked")
    assert _asked(shop) == []
    assert [r.decision_id for r in rows(shop, reviews)] == [attempt.decision_id]


def test_saleor_giving_up_on_both_requests_fails_ours(installed: Any) -> None:
    """The payment app is down: Saleor gives up on ours and on staff's request of the same
    25.00, each REFUND_FAILURE without a reference. Whichever is whose, ours failed: it is not
    left sent with its amount held for ever; a review opens and the 25.00 is free again."""
    shop = installed
    _overcharged(shop)
    [ours] = shop.attempts()
    staff = shop.saleor.request_outside(ORDER, "25.00")
    shop.saleor.give_up_on(ORDER, staff)
    shop.saleor.give_up_on(ORDER, ours.provider_reference)
    shop.webhook("ORDER_UPDATED", ORDER)
    [attempt] = shop.attempts()
    assert (attempt.status, attempt.last_error) == (
        "failed", "Saleor reports the refund request REFUND_FAILURE")
    assert [r.decision_id for r in rows(shop, reviews)] == [attempt.decision_id]
    assert _refundable(shop) == 5000  # nothing refunded: the 50.00 charged is free again
    assert _asked(shop) == [{"id": TX, "amount": "25.00"}]
