"""A return of a free order (a 100% discount code, a giveaway: ``order.paid`` with
``total_amount: 0`` and no payment) is no money question: nothing was owed, so nothing is
missing and nothing is refunded. The items are decided as the policy says (an exchange is still
granted), the customer reads that the order was free, and no refund attempt is made. An order
with a positive total and no payment still goes to a person as ``payment_not_received``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from refunds_plugin.ledger.tables import decisions, ledger_entries, refund_attempts
from tests.fakes.shop import Shop

EXCHANGES = ("currency: EUR\nwindow: {days: 30}\n"
             "resolution: {allow: [refund, exchange], default: refund}\n")
LARGE = {"sku": "SHIRT-L", "name": "Shirt (L)", "unit_amount": 2500}


@pytest.fixture
def shop(any_db_url: str, now: datetime) -> Iterator[Shop]:
    made = Shop(any_db_url, now)
    yield made
    made.runtime.engine.dispose()


def _paid(shop: Shop, order_id: str, total: int, locale: str | None = None) -> dict[str, Any]:
    """A shirt listed at 25.00, sold for ``total`` with no payment named."""
    paid = (shop.now - timedelta(days=3)).isoformat()
    order: dict[str, Any] = {
        "id": order_id, "currency": "EUR", "paid_at": paid, "delivered_at": paid,
        "customer": {"id": "cus_ann", "email": "ann@example.com"},
        "lines": [{"id": "l1", "sku": "SHIRT", "name": "Shirt", "quantity": 1,
                   "unit_amount": 2500, "variants": [LARGE]}],
        "shipping_amount": 0, "total_amount": total, "payment": None}
    if locale:
        order["locale"] = locale
    return shop.send("order.paid", {"order": order})


def _rows(shop: Shop, query: Any) -> list[tuple[Any, ...]]:
    with shop.runtime.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]


def _answer(answer: dict[str, Any]) -> tuple[Any, ...]:
    return (answer["outcome"], answer["reason_code"], answer["amount"], answer["refund_amount"],
            answer["credit_amount"], answer["attempts"], answer["explanation"])


def _journalled(shop: Shop, decision_id: str) -> list[tuple[str, dict[str, Any]]]:
    le = ledger_entries.c
    return [(kind, json.loads(body)) for kind, body in _rows(
        shop, select(le.entry_type, le.body).where(le.subject_id == decision_id)
        .order_by(le.seq))]


def test_a_return_of_a_free_order_is_approved_with_nothing_to_refund_and_no_attempt(
    shop: Shop,
) -> None:
    _paid(shop, "9001", 0)

    answer = shop.ask_return("9001", "r-9001")
    shop.pay_out()

    assert _answer(answer) == (
        "approve", "approved", 0, 0, 0, [],
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
    _paid(shop, "9001", 0, locale="de-DE")

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
        _paid(shop, "9002", 0)

        answer = shop.send("return.requested", {"return": {
            "id": "r-9002", "order_id": "9002", "lines": [
                {"line_id": "l1", "quantity": 1, "reason": "too_small", "exchange_for": LARGE}],
            "requested_at": shop.now.isoformat()}})
        shop.pay_out()

        assert _answer(answer) == (
            "approve", "approved", 0, 0, 0, [],
            "Your return of 1 × Shirt is approved. We will exchange Shirt for Shirt (L). Your new "
            "item ships as soon as the carrier first scans your return. The new item costs the "
            "same: nothing to pay, nothing back. Please send back: Shirt.")
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
    _paid(shop, "9003", 1)

    answer = shop.ask_return("9003", "r-9003")

    assert _answer(answer) == (
        "review", "payment_not_received", 0, 0, 0, [],
        "Thank you. Your return of 1 × Shirt needs a quick check by our team. We have not "
        "received the payment for this order yet; a person will look at your return. Until the "
        "payment reaches us there is nothing to refund from it, so our team will confirm the "
        "amount. Once it is approved, we will ask you to send back Shirt.")
    assert _rows(shop, select(refund_attempts.c.id)) == []
