"""A transaction no app can refund — recorded by staff, or its payment app switched off — is
seen on the order (``createdBy``) before deciding: the return goes to a person, or becomes store
credit where the policy offers it, with the reason said; nothing is granted in Saleor, nothing
promised that Saleor would refuse (MISSING_TRANSACTION_ACTION_REQUEST_WEBHOOK)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from refunds_plugin.ledger.tables import decisions, payments
from tests.fakes.saleor_payment_app import STAFF

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
TX = "VHJhbnNhY3Rpb25JdGVtOjE="
DISABLED = {"__typename": "App", "id": "QXBwOjI=", "isActive": False}
STAFF_WHY = ("This order's payment was recorded by our staff rather than taken by a payment "
             "app, so it can't be refunded automatically")
OFF_WHY = ("The payment app that took this order's payment is switched off, so it can't be "
           "refunded automatically")


def _paid(shop, created_by):
    shop.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00",
                          created_by=created_by)
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200


@pytest.mark.parametrize(("created_by", "why"), [(STAFF, STAFF_WHY), (DISABLED, OFF_WHY)])
def test_a_refund_no_app_can_make_goes_to_review_and_nothing_is_asked_of_saleor(
    installed, created_by, why
):
    _paid(installed, created_by)
    body = installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).get_json()
    assert (body["outcome"], body["reason_code"], body["refund_amount"]) == (
        "review", "refund_not_automatic", 1250)
    assert f"{why}, so our team will refund it by hand." in body["explanation"]
    assert body["attempts"] == []
    installed.executor.drain()
    assert installed.saleor.mutations() == []  # no return recorded, no grant, no money moved
    with installed.engine.connect() as conn:
        [pay] = conn.execute(select(payments)).all()
        [decision] = conn.execute(select(decisions)).all()
    assert (pay.captured, pay.refunded_reported) == (3000, 0)
    [rule] = [r for r in json.loads(decision.body)["trace"] if r["rule"] == "refund_route"]
    assert (rule["verdict"], rule["saw"]) == ("review", {"payments": [TX], "not_automatic": 1250})


def test_where_the_policy_offers_credit_it_becomes_store_credit_without_a_refund(
    installed_credit,
):
    shop = installed_credit
    _paid(shop, STAFF)
    body = shop.return_request(ORDER, [(LINE, 1, "changed_mind")], preferred="refund").get_json()
    assert (body["outcome"], body["resolution"], body["refund_amount"],
            body["credit_amount"]) == ("approve", "credit", 0, 1250)
    assert (f"{STAFF_WHY}; 12.50 USD comes back as store credit instead."
            in body["explanation"])
    shop.executor.drain()
    names = [name for name, _ in shop.saleor.mutations()]
    assert names == ["RefundsReturnProducts", "RefundsGiftCardCreate"]
    [attempt] = shop.attempts()
    assert (attempt.kind, attempt.amount, attempt.status) == ("credit", 1250, "succeeded")
    assert shop.saleor.gift_cards[0]["input"]["balance"] == {"currency": "USD", "amount": "12.50"}
