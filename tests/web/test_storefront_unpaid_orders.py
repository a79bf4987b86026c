"""A return on an order with no payment recorded is never told "already refunded": an
``order.paid`` without a payment, or one naming a payment another order holds (which is left
with that order and opens a ``payment_of_another_order`` follow-up), goes to a person with the
true reason, ``payment_not_received``, in the customer's language.

A free order (a 100% discount code, a giveaway: ``total_amount: 0`` and no payment) is no money
question: nothing was owed, so nothing is missing and nothing is refunded. Its items are decided
as the policy says (an exchange is still granted), the customer reads that the order was free,
and no refund attempt is made."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from refunds_plugin.ledger.tables import (
    decisions,
    follow_ups,
    ledger_entries,
    payments,
    refund_attempts,
)
from tests.fakes.shop import Shop

NOT_PAID = ("Thank you. Your return of 1 × Shirt needs a quick check by our team. We have not "
            "received the payment for this order yet; a person will look at your return. Until "
            "the payment reaches us there is nothing to refund from it, so our team will confirm "
            "the amount. Once it is approved, we will ask you to send back Shirt.")
EXCHANGES = ("currency: EUR\nwindow: {days: 30}\n"
             "resolution: {allow: [refund, exchange], default: refund}\n")
LARGE = {"sku": "SHIRT-L", "name": "Shirt (L)", "unit_amount": 2500}


@pytest.fixture
def shop(any_db_url: str, now: datetime) -> Iterator[Shop]:
    made = Shop(any_db_url, now)
    yield made
    made.runtime.engine.dispose()


def _paid(shop: Shop, order_id: str, payment: dict[str, Any] | None,
          locale: str | None = None, total: int = 2500) -> dict[str, Any]:
    """A shirt listed at 25.00 (another size on offer), sold for ``total``."""
    paid = (shop.now - timedelta(days=3)).isoformat()
    order: dict[str, Any] = {
        "id": order_id, "currency": "EUR", "paid_at": paid, "delivered_at": paid,
        "customer": {"id": "cus_ann", "email": "ann@example.com"},
        "lines": [{"id": "l1", "sku": "SHIRT", "name": "Shirt", "quantity": 1,
                   "unit_amount": 2500, "variants": [LARGE]}],
        "shipping_amount": 0, "total_amount": total, "payment": payment}
    if locale:
        order["locale"] = locale
    return shop.send("order.paid", {"order": order})


def _rows(shop: Shop, query: Any) -> list[tuple[Any, ...]]:
    with shop.runtime.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]


def _answer(answer: dict[str, Any]) -> tuple[Any, ...]:
    return (answer["outcome"], answer["reason_code"], answer["amount"], answer["refund_amount"],
            answer["attempts"], answer["explanation"])


def test_a_return_on_an_order_paid_without_a_payment_goes_to_a_person_not_refunded(
    shop: Shop,
) -> None:
    assert _paid(shop, "8001", None) == {"received": True, "duplicate": False, "updated": False}

    answer = shop.ask_return("8001", "r-8001")

    assert _answer(answer) == ("review", "payment_not_received", 0, 0, [], NOT_PAID)
    assert _rows(shop, select(decisions.c.order_id, decisions.c.outcome,
                              decisions.c.reason_code)) == [
        ("8001", "review", "payment_not_received")]


def test_the_customer_reads_why_in_their_own_language(shop: Shop) -> None:
    _paid(shop, "8001", None, locale="de-DE")

    answer = shop.ask_return("8001", "r-8001")

    assert (answer["reason_code"], answer["explanation"]) == ("payment_not_received", (
        "Vielen Dank. Ihre Rücksendung von 1 × Shirt wird kurz von unserem Team geprüft. Wir "
        "haben die Zahlung für diese Bestellung noch nicht erhalten; ein Mitarbeiter sieht sich "
        "Ihre Rücksendung an. Bis die Zahlung bei uns eingegangen ist, gibt es daraus nichts zu "
        "erstatten, deshalb bestätigt unser Team den Betrag. Sobald sie genehmigt ist, bitten "
        "wir Sie, Shirt zurückzusenden."))


def test_a_payment_another_order_holds_stays_there_and_finance_is_told(shop: Shop) -> None:
    x8002 = {"provider": "stripe", "reference": "x8002", "amount": 2500}
    _paid(shop, "8002", x8002)

    reply = _paid(shop, "8003", x8002)

    assert reply == {"received": True, "duplicate": False, "updated": False, "note": (
        "payment x8002 belongs to order 8002: not recorded for this order (follow-up "
        "payment_of_another_order)")}
    assert _rows(shop, select(payments.c.reference, payments.c.order_id, payments.c.captured)) \
        == [("x8002", "8002", 2500)]
    assert _rows(shop, select(follow_ups.c.kind, follow_ups.c.order_id, follow_ups.c.status,
                              follow_ups.c.payment_reference, follow_ups.c.amount,
                              follow_ups.c.currency, follow_ups.c.detail)) == [
        ("payment_of_another_order", "8003", "open", "x8002", 2500, "EUR",
         "Order 8003 was sent as paid by stripe payment x8002, which is already recorded "
         "for order 8002. No payment is recorded for order 8003: its returns go to review until "
         "one is. Check which order the payment paid; a payment recorded for this order clears "
         "this.")]
    answer = shop.ask_return("8003", "r-8003")
    assert _answer(answer) == ("review", "payment_not_received", 0, 0, [], NOT_PAID)


def test_the_payment_of_another_order_is_listed_for_finance_and_cleared_by_its_own(
    shop: Shop,
) -> None:
    from refunds_plugin.finance.tokens import create_token

    x8002 = {"provider": "stripe", "reference": "x8002", "amount": 2500}
    _paid(shop, "8002", x8002)
    _paid(shop, "8003", x8002)
    _paid(shop, "8003", x8002)  # sent again: still one follow-up
    token = create_token(shop.runtime.engine, "Fin", "finance", shop.now).secret
    client = shop.app.test_client()
    auth = {"Authorization": f"Bearer {token}"}

    listed = client.get("/api/follow-ups", headers=auth).get_json()["data"]
    page = client.get("/finance/follow-ups", headers=auth).get_data(as_text=True)

    assert [(f["kind"], f["order_id"], f["payment_reference"], f["amount_text"], f["status"])
            for f in listed] == [("payment_of_another_order", "8003", "x8002", "25.00 EUR",
                                  "open")]
    assert "payment of another order" in page
    _paid(shop, "8003", {"provider": "stripe", "reference": "x8003", "amount": 2500})
    assert _rows(shop, select(follow_ups.c.kind, follow_ups.c.status)) == [
        ("payment_of_another_order", "cleared")]
    assert sorted(_rows(shop, select(payments.c.reference, payments.c.order_id))) == [
        ("x8002", "8002"), ("x8003", "8003")]


def _journalled(shop: Shop, decision_id: str) -> list[tuple[str, dict[str, Any]]]:
    le = ledger_entries.c
    return [(kind, json.loads(body)) for kind, body in _rows(
        shop, select(le.entry_type, le.body).where(le.subject_id == decision_id)
        .order_by(le.seq))]


def test_a_return_of_a_free_order_is_approved_with_nothing_to_refund_and_no_attempt(
    shop: Shop,
) -> None:
    _paid(shop, "9001", None, total=0)

    answer = shop.ask_return("9001", "r-9001")
    shop.pay_out()

    assert _answer(answer) == (
        "approve", "approved", 0, 0, [],
        "Your return of 1 × Shirt is approved. This order was free, so there is no money to "
        "return. Please send back: Shirt.")
    assert _rows(shop, select(decisions.c.order_id, decisions.c.outcome,
                              decisions.c.reason_code)) == [("9001", "approve", "approved")]
    assert _rows(shop, select(refund_attempts.c.id)) == []
    [(kind, body)] = _journalled(shop, answer["decision_id"])
    decided = body["decision"]
    assert (kind, decided["outcome"], decided["amount"], decided["resolutions"]) == (
        "decision", "approve", 0, [])
    assert [(t["rule"], t["verdict"], t["code"]) for t in decided["trace"]
            if t["rule"] == "payment"] == [("payment", "pass", "free_order")]


def test_the_customer_of_a_free_order_reads_it_in_their_own_language(shop: Shop) -> None:
    _paid(shop, "9001", None, locale="de-DE", total=0)

    answer = shop.ask_return("9001", "r-9001")

    assert (answer["reason_code"], answer["explanation"]) == ("approved", (
        "Ihre Rücksendung von 1 × Shirt ist genehmigt. Diese Bestellung war kostenlos, daher "
        "gibt es kein Geld zurückzuerstatten. Bitte zurücksenden: Shirt."))


def test_a_free_order_can_still_be_exchanged_and_nothing_is_paid_or_charged(
    any_db_url: str, now: datetime, tmp_path: Path,
) -> None:
    policy = tmp_path / "shop.yaml"
    policy.write_text(EXCHANGES, encoding="utf-8")
    shop = Shop(any_db_url, now, policy=str(policy))
    try:
        _paid(shop, "9002", None, total=0)

        answer = shop.send("return.requested", {"return": {
            "id": "r-9002", "order_id": "9002", "lines": [
                {"line_id": "l1", "quantity": 1, "reason": "too_small", "exchange_for": LARGE}],
            "requested_at": shop.now.isoformat()}})
        shop.pay_out()

        assert _answer(answer) == (
            "approve", "approved", 0, 0, [],
            # this shop names no return address: the new item is not held for the parcel
            "Your return of 1 × Shirt is approved. We will exchange Shirt for Shirt (L). Your new "
            "item ships right away: we do not wait for your return to reach us. The new item "
            "costs the same: nothing to pay, nothing back. Please send back: Shirt.")
        journalled = _journalled(shop, answer["decision_id"])
        assert [kind for kind, _ in journalled] == ["decision", "exchange"]
        kind, body = journalled[0]
        decided = body["decision"]
        assert (kind, decided["resolutions"], decided["exchange"]["difference"],
                decided["exchange"]["charge"]) == ("decision", [], 0, 0)
        assert _rows(shop, select(refund_attempts.c.id)) == []
    finally:
        shop.runtime.engine.dispose()


def test_an_order_of_one_cent_without_a_payment_still_waits_for_its_payment(
    shop: Shop,
) -> None:
    _paid(shop, "9003", None, total=1)

    answer = shop.ask_return("9003", "r-9003")

    assert _answer(answer) == ("review", "payment_not_received", 0, 0, [], NOT_PAID)
    assert _rows(shop, select(refund_attempts.c.id)) == []
