"""A transaction no app can refund — recorded by staff, its payment app switched off, or no
longer offering REFUND in its ``actions`` — is seen on the order before deciding: the return
goes to a person, or becomes store credit where the policy offers it, with the reason said;
nothing is granted in Saleor, nothing promised that Saleor would refuse
(MISSING_TRANSACTION_ACTION_REQUEST_WEBHOOK). A gift-card payment Saleor refunds itself
(``createdBy`` null) is refunded."""

from __future__ import annotations

import json
from decimal import Decimal

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


NO_REFUND_WHY = ("The payment provider no longer offers a refund of this order's payment, so "
                 "it can't be refunded automatically")


def _paid(shop, created_by, **order):
    shop.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00",
                          created_by=created_by, **order)
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200


@pytest.mark.parametrize("order", [
    {"actions": ()},  # the payment app's own app, but it offers no REFUND (e.g. refunded)
    {"actions": ("CANCEL",)},
    {"actions": (), "gift_card_payment": True},
])
def test_a_transaction_that_offers_no_refund_goes_to_review_and_nothing_is_asked(
    installed, order
):
    _paid(installed, None, **order)
    body = installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).get_json()
    assert (body["outcome"], body["reason_code"], body["refund_amount"]) == (
        "review", "refund_not_automatic", 1250)
    assert f"{NO_REFUND_WHY}, so our team will refund it by hand." in body["explanation"]
    installed.executor.drain()
    assert installed.saleor.mutations() == []


def test_a_gift_card_payment_saleor_refunds_itself_is_refunded_not_sent_to_review(installed):
    """Saleor's gift-card gateway (3.22+) leaves ``createdBy`` null (an app identifier with no
    App) and offers REFUND: Saleor refunds it itself, onto the gift card."""
    _paid(installed, None, gift_card_payment=True)
    [tx] = installed.saleor.orders[ORDER]["transactions"]
    assert (tx["createdBy"], tx["actions"]) == (None, ["REFUND"])
    body = installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).get_json()
    assert (body["outcome"], body["refund_amount"]) == ("approve", 1250)
    installed.executor.drain()
    [attempt] = installed.attempts()
    assert (attempt.provider, attempt.status, attempt.amount) == ("saleor", "succeeded", 1250)
    [grant] = installed.saleor.orders[ORDER]["grantedRefunds"]
    assert grant["status"] == "SUCCESS"
    assert tx["refundedAmount"]["amount"] == Decimal("12.50")


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
