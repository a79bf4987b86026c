"""Saleor refusing or failing mid-sequence leaves a truthful ledger; a retry doubles nothing."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select

from refunds_plugin.ledger.tables import reviews

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="


def _decided(shop):
    shop.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert shop.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201


def _retry(shop, clock):
    clock.advance(3600)
    shop.executor.drain()


def _names(shop):
    return [name for name, _ in shop.saleor.mutations()]


def _grants(shop):
    return shop.saleor.orders[ORDER]["grantedRefunds"]


def _progress(attempt):
    return json.loads(attempt.progress)


def test_permission_denied_keeps_the_attempt_pending_and_the_retry_grants_once(installed, clock):
    _decided(installed)
    installed.saleor.fail["RefundsGrantRefund"] = ["permission"]
    installed.executor.drain()
    [attempt] = installed.attempts()
    assert attempt.status == "pending"
    assert attempt.last_error.startswith("permission_denied:")
    assert _grants(installed) == []
    assert _progress(attempt)["return_fulfillment"]  # the return step is done and remembered
    _retry(installed, clock)
    assert _names(installed) == [
        "RefundsReturnProducts", "RefundsGrantRefund", "RefundsGrantRefund",
        "RefundsRequestGrantedRefund",
    ]
    assert len(_grants(installed)) == 1
    [attempt] = installed.attempts()
    assert (attempt.status, attempt.tries) == ("sent", 2)


def test_a_network_failure_after_the_grant_retries_only_the_refund_request(installed, clock):
    _decided(installed)
    installed.saleor.fail["RefundsRequestGrantedRefund"] = ["network_before"]
    installed.executor.drain()
    [attempt] = installed.attempts()
    assert attempt.status == "pending" and attempt.last_error.startswith("network_error:")
    grant_id = _grants(installed)[0]["id"]
    assert _progress(attempt)["granted_refund"] == grant_id
    assert _grants(installed)[0]["status"] == "NONE"  # Saleor holds a grant, no refund yet
    _retry(installed, clock)
    assert _names(installed) == [
        "RefundsReturnProducts", "RefundsGrantRefund", "RefundsRequestGrantedRefund",
    ]
    assert len(_grants(installed)) == 1
    [attempt] = installed.attempts()
    assert (attempt.status, attempt.provider_reference) == ("sent", grant_id)


def test_a_lost_answer_to_the_grant_is_found_by_its_reason_not_granted_again(installed, clock):
    _decided(installed)
    installed.saleor.fail["RefundsGrantRefund"] = ["network_after"]
    installed.executor.drain()
    assert len(_grants(installed)) == 1
    [attempt] = installed.attempts()
    assert attempt.status == "pending" and "granted_refund" not in _progress(attempt)
    _retry(installed, clock)
    assert _names(installed) == [
        "RefundsReturnProducts", "RefundsGrantRefund", "RefundsRequestGrantedRefund",
    ]
    assert len(_grants(installed)) == 1
    [attempt] = installed.attempts()
    assert (attempt.status, attempt.provider_reference) == ("sent", _grants(installed)[0]["id"])


def test_a_lost_answer_to_the_refund_request_meets_refund_is_pending_and_is_sent(
    installed, clock
):
    _decided(installed)
    installed.saleor.fail["RefundsRequestGrantedRefund"] = ["network_after"]
    installed.executor.drain()
    [attempt] = installed.attempts()
    assert attempt.status == "pending"
    _retry(installed, clock)
    assert _names(installed).count("RefundsRequestGrantedRefund") == 2
    tx = installed.saleor.orders[ORDER]["transactions"][0]
    assert tx["refundPendingAmount"]["amount"] == Decimal("12.50")  # requested once, not twice
    [attempt] = installed.attempts()
    assert (attempt.status, attempt.sent_amount) == ("sent", 1250)


def test_refund_already_processed_on_a_retry_means_the_refund_is_done(installed, clock):
    _decided(installed)
    installed.saleor.fail["RefundsRequestGrantedRefund"] = ["network_after"]
    installed.executor.drain()
    installed.saleor.settle(_grants(installed)[0]["id"])
    _retry(installed, clock)
    [attempt] = installed.attempts()
    assert (attempt.status, attempt.sent_amount) == ("succeeded", 1250)
    tx = installed.saleor.orders[ORDER]["transactions"][0]
    assert tx["refundedAmount"]["amount"] == Decimal("12.50")
    assert len(_grants(installed)) == 1


def test_amount_greater_than_available_fails_the_attempt_for_review_and_stops(installed, clock):
    _decided(installed)
    # staff refunded the whole transaction in the Dashboard before our executor ran
    installed.saleor.refund_outside(ORDER, "30.00")
    installed.executor.drain()
    [attempt] = installed.attempts()
    assert attempt.status == "failed"
    assert "AMOUNT_GREATER_THAN_AVAILABLE" in attempt.last_error
    assert _progress(attempt)["granted_refund"] == _grants(installed)[0]["id"]
    with installed.engine.connect() as conn:
        [review] = conn.execute(select(reviews)).all()
    assert review.status == "open" and review.decision_id == attempt.decision_id
    calls = len(installed.saleor.calls)
    _retry(installed, clock)
    assert len(installed.saleor.calls) == calls  # nothing is retried behind the reviewer's back
    assert len(_grants(installed)) == 1


def test_a_lost_answer_to_the_gift_card_is_found_by_its_tag_not_created_again(
    installed_credit, clock
):
    shop = installed_credit
    shop.saleor.add_order(ORDER, lines=[(LINE, 1, "30.00")], shipping="0.00")
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert shop.return_request(ORDER, [(LINE, 1, "changed_mind")], "credit").status_code == 201
    shop.saleor.fail["RefundsGiftCardCreate"] = ["network_after"]
    shop.executor.drain()
    [attempt] = shop.attempts()
    assert attempt.status == "pending" and len(shop.saleor.gift_cards) == 1
    _retry(shop, clock)
    assert len(shop.saleor.gift_cards) == 1
    [attempt] = shop.attempts()
    card = shop.saleor.gift_cards[0]
    assert (attempt.status, attempt.provider_reference, attempt.credit_code) == (
        "succeeded", card["id"], card["code"])
    assert _names(shop).count("RefundsReturnProducts") == 1


def test_a_lost_answer_to_the_return_is_recognised_and_not_returned_twice(installed, clock):
    _decided(installed)
    installed.saleor.fail["RefundsReturnProducts"] = ["network_after"]
    installed.executor.drain()
    _retry(installed, clock)
    assert _names(installed) == [
        "RefundsReturnProducts", "RefundsGrantRefund", "RefundsRequestGrantedRefund",
    ]
    returned = [f for f in installed.saleor.orders[ORDER]["fulfillments"]
                if f["status"] == "RETURNED"]
    assert len(returned) == 1
    [attempt] = installed.attempts()
    assert _progress(attempt)["return_fulfillment"] == returned[0]["id"]
