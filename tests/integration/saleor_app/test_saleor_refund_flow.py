"""A signed ORDER_FULLY_PAID, then a return request: the right Saleor mutations, exact amounts."""

from __future__ import annotations

import json
from decimal import Decimal

from refunds_plugin.ledger.tables import events, payments, provider_refunds, reviews
from tests.fakes.saleor_api import APP_ID
from tests.fakes.saleor_harness import rows as _rows

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
TX = "VHJhbnNhY3Rpb25JdGVtOjE="
FUL_LINE = "RnVsZmlsbG1lbnRMaW5lO0"


def _paid(shop, lines, shipping):
    shop.saleor.add_order(ORDER, lines=lines, shipping=shipping)
    resp = shop.webhook("ORDER_FULLY_PAID", ORDER)
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_a_usd_return_records_the_return_grants_and_requests_exactly_12_50(installed):
    _paid(installed, [(LINE, 2, "12.50")], "5.00")
    [pay] = _rows(installed, payments)
    assert (pay.provider, pay.reference, pay.captured, pay.currency) == ("saleor", TX, 3000, "USD")

    resp = installed.return_request(ORDER, [(LINE, 1, "changed_mind")])
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["refund_amount"] == 1250
    installed.executor.drain()

    [ret, grant, request] = installed.saleor.mutations()
    assert ret == ("RefundsReturnProducts", {"order": ORDER, "input": {
        "fulfillmentLines": [{"fulfillmentLineId": FUL_LINE, "quantity": 1}],
        "orderLines": [], "refund": False}})
    [attempt] = installed.attempts()
    assert grant[0] == "RefundsGrantRefund"
    assert grant[1]["id"] == ORDER
    assert grant[1]["input"] == {
        "amount": "12.50",
        "reason": f"refunds-plugin attempt {attempt.id}: decision {attempt.decision_id}",
        "lines": [{"id": LINE, "quantity": 1}],
        "transactionId": TX,
    }
    grant_id = installed.saleor.orders[ORDER]["grantedRefunds"][0]["id"]
    assert request == ("RefundsRequestGrantedRefund",
                       {"grantedRefundId": grant_id, "transactionId": TX})
    assert (attempt.status, attempt.sent_amount, attempt.provider_reference) == (
        "sent", 1250, grant_id)

    installed.saleor.settle(grant_id)
    assert installed.webhook("ORDER_REFUNDED", ORDER).get_json()["duplicate"] is False
    [attempt] = installed.attempts()
    assert attempt.status == "succeeded"
    [pay] = _rows(installed, payments)
    assert pay.refunded_reported == 1250
    [pr] = _rows(installed, provider_refunds)
    assert (pr.refund_id, pr.attempt_id, pr.amount, pr.status) == (
        grant_id, attempt.id, 1250, "succeeded")
    # the same change announced again as ORDER_FULLY_REFUNDED / ORDER_UPDATED is one state
    assert installed.webhook("ORDER_FULLY_REFUNDED", ORDER).get_json()["duplicate"] is True
    assert installed.webhook("ORDER_UPDATED", ORDER).get_json()["duplicate"] is True
    assert len(installed.saleor.mutations()) == 3


def test_a_jpy_return_sends_whole_yen(installed):
    installed.saleor.currency = "JPY"
    _paid(installed, [(LINE, 1, "1500")], "500")
    [pay] = _rows(installed, payments)
    assert (pay.captured, pay.currency) == (2000, "JPY")
    resp = installed.return_request(ORDER, [(LINE, 1, "changed_mind")])
    assert resp.get_json()["refund_amount"] == 2000  # the last item brings the shipping back
    installed.executor.drain()
    grant = installed.saleor.mutations("RefundsGrantRefund")[0][1]["input"]
    assert grant["amount"] == "2000"
    [attempt] = installed.attempts()
    assert (attempt.status, attempt.sent_amount, attempt.currency) == ("sent", 2000, "JPY")
    assert installed.saleor.orders[ORDER]["transactions"][0]["refundPendingAmount"]["amount"] \
        == Decimal("2000")


def test_store_credit_becomes_one_gift_card_with_the_bonus_for_the_customer(
    installed_credit,
):
    shop = installed_credit
    _paid(shop, [(LINE, 1, "30.00")], "0.00")
    resp = shop.return_request(ORDER, [(LINE, 1, "changed_mind")], preferred="credit")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_json()
    assert (body["resolution"], body["amount"], body["credit_amount"]) == ("credit", 3000, 3300)
    shop.executor.drain()
    [ret, create] = shop.saleor.mutations()
    assert ret[0] == "RefundsReturnProducts"
    [attempt] = shop.attempts()
    sent = create[1]["input"]
    assert sent["balance"] == {"currency": "USD", "amount": "33.00"}
    assert (sent["userEmail"], sent["channel"], sent["isActive"]) == (
        "ann@example.com", "default-channel", True)
    assert attempt.decision_id in sent["note"]
    assert {m["key"]: m["value"] for m in sent["metadata"]} == {
        "refunds_plugin.decision_id": attempt.decision_id,
        "refunds_plugin.attempt_id": attempt.id,
        "refunds_plugin.order_id": ORDER,
    }
    assert sent["addTags"] == [f"refunds-attempt-{attempt.id}"]
    card = shop.saleor.gift_cards[0]
    assert (attempt.status, attempt.sent_amount, attempt.bonus) == ("succeeded", 3300, 300)
    assert (attempt.provider_reference, attempt.credit_code) == (card["id"], card["code"])


def test_a_refund_that_fails_at_the_payment_app_fails_the_attempt_and_opens_a_review(installed):
    _paid(installed, [(LINE, 2, "12.50")], "5.00")
    installed.return_request(ORDER, [(LINE, 1, "changed_mind")])
    installed.executor.drain()
    grant_id = installed.saleor.orders[ORDER]["grantedRefunds"][0]["id"]
    installed.saleor.settle(grant_id, success=False)
    assert installed.webhook("ORDER_UPDATED", ORDER).status_code == 200
    [attempt] = installed.attempts()
    assert attempt.status == "failed"
    [review] = _rows(installed, reviews)
    assert review.status == "open" and review.decision_id == attempt.decision_id
    [pay] = _rows(installed, payments)
    assert pay.refunded_reported == 0


def test_an_event_this_app_caused_is_recognised_in_the_ledger(installed):
    installed.saleor.add_order(ORDER)
    resp = installed.webhook(
        "ORDER_UPDATED", ORDER, principal={"__typename": "App", "id": APP_ID, "identifier": "x"}
    )
    assert resp.get_json()["self"] is True
    [row] = _rows(installed, events)
    assert row.source == "saleor" and "caused by this app" in row.note
    assert json.loads(row.payload)["issuingPrincipal"]["id"] == APP_ID


def test_a_refund_made_in_saleor_after_payment_is_seen_before_the_return_is_decided(installed):
    _paid(installed, [(LINE, 2, "12.50")], "5.00")
    # staff refunded 25.00 in the Dashboard; no webhook reached us yet
    installed.saleor.refund_outside(ORDER, "25.00")
    resp = installed.return_request(ORDER, [(LINE, 1, "changed_mind")])
    body = resp.get_json()
    assert (body["outcome"], body["reason_code"], body["refund_amount"]) == (
        "review", "exceeds_refundable", 500)  # capped at the 5.00 still refundable
    assert body["attempts"] == [] and installed.saleor.mutations() == []
    [pay] = _rows(installed, payments)
    assert pay.refunded_reported == 2500
