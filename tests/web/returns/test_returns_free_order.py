"""A free order (nothing owed, nothing captured) is told the truth on the returns page: no fee
took its money, and there is no payment to send it back to."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.fakes.returns_client import open_form, reader, submit, words
from tests.fakes.returns_shop import ReturnsShop, order_event

FREE = "This order was free, so there is no money to return."
ASK = {"line-0-qty": "1", "line-0-reason": "changed_mind"}  # the gift, for a change of mind


@pytest.fixture
def free_shop(sqlite_url: str, now: datetime) -> Iterator[ReturnsShop]:
    s = ReturnsShop(sqlite_url, lambda: now)
    event = order_event("1001", lines=[{"id": "l1", "sku": "GIFT", "name": "Gift", "quantity": 1,
                                        "unit_amount": 1000}], shipping=0)
    order = event["data"]["order"]
    order["total_amount"] = 0
    del order["payment"]
    s.seed(event)
    yield s
    s.close()


def test_a_free_orders_form_quote_and_answer_say_no_money_is_due(
    free_shop: ReturnsShop,
) -> None:
    client = free_shop.app.test_client()
    form = open_form(client)
    page = form.get_data(as_text=True)
    assert FREE in page
    assert "Your money goes back to your original payment." not in page
    quote = submit(client, form, step="quote", **ASK)
    assert words(quote, "amount") == ["No money is due for this request."]
    answer = submit(client, form, step="send", **ASK)
    assert words(answer, "amount") == ["No money is due for this request."]
    assert "After fees" not in answer.get_data(as_text=True)


def test_a_free_order_reads_the_same_in_german(free_shop: ReturnsShop) -> None:
    client = reader(free_shop, "de")
    form = open_form(client)
    assert "Diese Bestellung war kostenlos" in form.get_data(as_text=True)
    quote = submit(client, form, step="quote", **ASK)
    assert words(quote, "amount") == ["Für diese Anfrage ist kein Geld fällig."]
