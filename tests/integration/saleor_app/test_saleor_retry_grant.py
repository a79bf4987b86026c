"""Retrying a failed Saleor refund: Saleor counts the lines of every granted refund, failed ones
included, so a second grant for the same lines is refused (QUANTITY_GREATER_THAN_AVAILABLE).
An approved retry re-requests the decision's earlier FAILURE grant instead; a refusal's line
errors reach the attempt and the review word for word."""

from __future__ import annotations

import json

from refunds_plugin.execution.poller import SaleorPoller
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.tables import payments, provider_refunds, reviews
from tests.fakes.saleor_harness import rows as _rows

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
TX = "VHJhbnNhY3Rpb25JdGVtOjE="


def _failed_once(shop, clock):
    """30.00 (the only line, 25.00, and its 5.00 shipping) granted, declined by the app."""
    shop.saleor.add_order(ORDER, lines=[(LINE, 1, "25.00")], shipping="5.00")
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert shop.return_request(ORDER, [(LINE, 1, "changed_mind")]).get_json()[
        "refund_amount"] == 3000
    shop.saleor.decline_next()
    shop.executor.drain()
    clock.advance(5)
    assert SaleorPoller(shop.engine, shop.runtime.service.saleor_requery, clock).poll_once() == 1
    [attempt] = shop.attempts()
    assert attempt.status == "failed"
    return attempt


def test_an_approved_retry_re_requests_the_failed_grant_and_pays_once(installed, clock):
    first = _failed_once(installed, clock)
    [grant] = installed.saleor.orders[ORDER]["grantedRefunds"]
    assert grant["status"] == "FAILURE"
    done = decide(installed.engine, installed.runtime.service, first.decision_id, approve=True,
                  by="ann", note="the card works again", now=clock())
    [retry_id] = done.attempt_ids
    installed.executor.drain()

    assert installed.saleor.mutations()[-2:] == [
        ("RefundsRequestGrantedRefund", {"grantedRefundId": grant["id"], "transactionId": TX}),
        ("RefundsRequestGrantedRefund", {"grantedRefundId": grant["id"], "transactionId": TX}),
    ]
    assert [name for name, _ in installed.saleor.mutations()].count("RefundsGrantRefund") == 1
    assert len(installed.saleor.orders[ORDER]["grantedRefunds"]) == 1
    [old, retry] = installed.attempts()
    assert (old.id, old.status) == (first.id, "failed")
    assert (retry.id, retry.status, retry.amount, retry.provider_reference) == (
        retry_id, "sent", 3000, grant["id"])
    assert json.loads(retry.progress)["granted_refund"] == grant["id"]

    installed.saleor.settle(grant["id"])
    assert installed.webhook("ORDER_REFUNDED", ORDER).status_code == 200
    [old, retry] = installed.attempts()
    assert (old.status, retry.status) == ("failed", "succeeded")
    [pay] = _rows(installed, payments)
    assert (pay.captured, pay.refunded_reported) == (3000, 3000)
    [pr] = _rows(installed, provider_refunds)
    assert (pr.refund_id, pr.attempt_id, pr.amount, pr.status) == (
        grant["id"], retry_id, 3000, "succeeded")


def test_a_grant_refused_for_its_lines_says_which_line_and_why(installed, clock):
    installed.saleor.add_order(ORDER, lines=[(LINE, 1, "25.00")], shipping="5.00")
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201
    # staff granted a refund for the line in the Dashboard first; it failed at the app
    installed.saleor.orders[ORDER]["grantedRefunds"].append({
        "id": "T3JkZXJHcmFudGVkUmVmdW5kOjk5", "status": "FAILURE", "reason": "staff",
        "createdAt": "2026-11-24T11:00:00+00:00", "updatedAt": "2026-11-24T11:00:00+00:00",
        "amount": {"amount": 25, "currency": "USD"}, "transaction": {"id": TX},
        "transactionEvents": [], "lines": [{"id": "GL9", "quantity": 1,
                                            "orderLine": {"id": LINE}}]})
    installed.executor.drain()
    [attempt] = installed.attempts()
    why = ("invalid: orderGrantRefundCreate refused: INVALID: Provided input for lines is "
           f"invalid. (line {LINE} quantity QUANTITY_GREATER_THAN_AVAILABLE: Provided quantity "
           "is bigger than quantity from order line or quantity already granted.)")
    assert (attempt.status, attempt.last_error) == ("failed", why)
    [review] = _rows(installed, reviews)
    assert review.status == "open" and review.reason == f"attempt_failed: {why}"
    [pay] = _rows(installed, payments)
    assert pay.refunded_reported == 0  # no money moved


def test_a_grant_whose_request_saleor_refused_is_requested_again_not_granted_twice(
    installed, clock
):
    """The payment app was switched off between the grant and its request: Saleor refuses the
    request (MISSING_TRANSACTION_ACTION_REQUEST_WEBHOOK) and the grant stays NONE, holding its
    lines. Once the app is on again, the approved retry requests that grant; a second grant for
    the same lines Saleor would refuse (QUANTITY_GREATER_THAN_AVAILABLE), and nothing would
    ever be paid."""
    shop = installed
    shop.saleor.add_order(ORDER, lines=[(LINE, 1, "25.00")], shipping="5.00")
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert shop.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201
    [tx] = shop.saleor.orders[ORDER]["transactions"]
    granting = shop.saleor._op_RefundsGrantRefund

    def then_app_off(v):
        answer = granting(v)
        tx["createdBy"]["isActive"] = False
        return answer

    shop.saleor._op_RefundsGrantRefund = then_app_off
    shop.executor.drain()
    [first] = shop.attempts()
    assert (first.status, first.last_error) == (
        "failed", "missing_transaction_action_request_webhook: "
        "transactionRequestRefundForGrantedRefund refused: "
        "MISSING_TRANSACTION_ACTION_REQUEST_WEBHOOK: missing transaction action request webhook")
    [grant] = shop.saleor.orders[ORDER]["grantedRefunds"]
    assert grant["status"] == "NONE"

    tx["createdBy"]["isActive"] = True
    done = decide(shop.engine, shop.runtime.service, first.decision_id, approve=True,
                  by="ann", note="the payment app is on again", now=clock())
    [retry_id] = done.attempt_ids
    shop.executor.drain()
    assert [name for name, _ in shop.saleor.mutations()].count("RefundsGrantRefund") == 1
    assert shop.saleor.mutations()[-1] == (
        "RefundsRequestGrantedRefund", {"grantedRefundId": grant["id"], "transactionId": TX})
    [old, retry] = shop.attempts()
    assert (old.status, retry.id, retry.status, retry.provider_reference) == (
        "failed", retry_id, "sent", grant["id"])
    shop.saleor.settle(grant["id"])
    assert shop.webhook("ORDER_REFUNDED", ORDER).status_code == 200
    [old, retry] = shop.attempts()
    assert (old.status, retry.status) == ("failed", "succeeded")
    [pay] = _rows(shop, payments)
    assert (pay.captured, pay.refunded_reported) == (3000, 3000)
