"""A return on an order with no payment recorded is never told "already refunded": an
``order.paid`` without a payment, or one naming a payment another order holds (which is left
with that order and opens a ``payment_of_another_order`` follow-up), goes to a person with the
true reason, ``payment_not_received``, in the customer's language."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from refunds_plugin.ledger.tables import decisions, follow_ups, payments
from tests.fakes.shop import Shop

NOT_PAID = ("Thank you. Your return of 1 × Shirt needs a quick check by our team. We have not "
            "received the payment for this order yet; a person will look at your return. Until "
            "the payment reaches us there is nothing to refund from it, so our team will confirm "
            "the amount. Once it is approved, we will ask you to send back Shirt.")


@pytest.fixture
def shop(any_db_url: str, now: datetime) -> Iterator[Shop]:
    made = Shop(any_db_url, now)
    yield made
    made.runtime.engine.dispose()


def _paid(shop: Shop, order_id: str, payment: dict[str, Any] | None,
          locale: str | None = None) -> dict[str, Any]:
    paid = (shop.now - timedelta(days=3)).isoformat()
    order: dict[str, Any] = {
        "id": order_id, "currency": "EUR", "paid_at": paid, "delivered_at": paid,
        "customer": {"id": "cus_ann", "email": "ann@example.com"},
        "lines": [{"id": "l1", "sku": "SHIRT", "name": "Shirt", "quantity": 1,
                   "unit_amount": 2500}],
        "shipping_amount": 0, "total_amount": 2500, "payment": payment}
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
