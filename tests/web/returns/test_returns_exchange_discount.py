"""A shirt M listed 50.00 USD and bought at 40.00 USD with a 20% code: the returns page offers
the other sizes at the price the customer would pay for the swap (the code carried over), and
the swap is priced so: size L at the same list price goes ahead with nothing to pay, size XL
(60.00 list) costs 8.00 USD more, size S (45.00 list) gives 4.00 USD back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import TestResponse

from refunds_plugin.ledger.tables import decisions, exchanges
from tests.fakes.returns_client import open_form, submit, text, words
from tests.fakes.returns_shop import ReturnsShop, order_event, with_stripe
from tests.fakes.stripe_api import FakeStripeServer
from tests.integration.shipping.conftest import SHOP

POLICY = """
window: {days: 60}
resolution: {allow: [refund, credit, exchange]}
exchange: {scope: same_product, price_difference: {lower: refund, higher: charge}}
"""
SIZES = [{"sku": "SHIRT-L", "name": "Shirt L", "unit_amount": 5000, "in_stock": True},
         {"sku": "SHIRT-XL", "name": "Shirt XL", "unit_amount": 6000, "in_stock": True},
         {"sku": "SHIRT-S", "name": "Shirt S", "unit_amount": 4500, "in_stock": True}]


@pytest.fixture
def shop(sqlite_url: str, now: datetime, tmp_path: Path,
         stripe_server: FakeStripeServer) -> Iterator[ReturnsShop]:
    policy = tmp_path / "swap.yaml"
    policy.write_text(POLICY)
    stripe_server.fake.add_payment_intent(4500, "usd", "pi_1001")
    s = ReturnsShop(sqlite_url, lambda: now,
                    {"policy": str(policy), **with_stripe(stripe_server.url),
                     "return_addresses": (SHOP,)})  # a return is opened: the swap waits for it
    event = order_event("1001", lines=[{"id": "l1", "sku": "SHIRT-M", "name": "Shirt M",
                                        "quantity": 1, "unit_amount": 5000,
                                        "variants": SIZES}])
    event["data"]["order"]["total_amount"] = 4000 + 500  # the 20% code, spread on the line
    s.seed(event)
    yield s
    s.close()


def _swap(shop: ReturnsShop, sku: str) -> TestResponse:
    client = shop.app.test_client()
    form = open_form(client)
    return submit(client, form, **{"line-0-qty": "1", "line-0-reason": "too_small",
                                   "line-0-exchange": sku})  # follows the 303 to the answer


def test_the_form_offers_each_size_at_the_price_the_swap_would_cost(shop: ReturnsShop) -> None:
    form = open_form(shop.app.test_client())
    html = form.get_data(as_text=True)

    assert words(form, "price") == ["40.00 USD each"]
    assert re.findall(r'<option value="(SHIRT-[A-Z]+)">([^<]*)</option>', html) == [
        ("SHIRT-L", "Shirt L (40.00 USD)"), ("SHIRT-XL", "Shirt XL (48.00 USD)"),
        ("SHIRT-S", "Shirt S (36.00 USD)")]


def test_the_same_list_price_goes_ahead_with_nothing_to_pay(
    shop: ReturnsShop, stripe_server: FakeStripeServer,
) -> None:
    sent = _swap(shop, "SHIRT-L")

    assert sent.status_code == 200, sent.get_data(as_text=True)
    assert "The new item costs the same: nothing to pay, nothing back." in text(sent)
    assert "more" not in text(sent) and words(sent, "exchange-pay") == []
    assert words(sent, "amount") == ["In exchange you get: Shirt L"]
    assert stripe_server.fake.checkout_sessions == {}
    assert _exchange(shop) == ("waiting", 0, 0, 0)


def test_a_dearer_size_costs_the_discounted_difference(
    shop: ReturnsShop, stripe_server: FakeStripeServer,
) -> None:
    sent = _swap(shop, "SHIRT-XL")

    assert sent.status_code == 200, sent.get_data(as_text=True)
    assert ("The new item costs 8.00 USD more: you pay 8.00 USD. Your exchange goes ahead once "
            "you have paid.") in text(sent)
    [session] = stripe_server.fake.checkout_sessions.values()
    assert session["amount_total"] == 800
    assert _exchange(shop) == ("awaiting_payment", 800, 800, 0)


def test_a_cheaper_size_gives_the_discounted_difference_back(shop: ReturnsShop) -> None:
    sent = _swap(shop, "SHIRT-S")

    assert sent.status_code == 200, sent.get_data(as_text=True)
    assert ("The new item costs 4.00 USD less; that difference comes back to your original "
            "payment.") in text(sent)
    assert _exchange(shop)[1:] == (-400, 0, 400)
    at = list(decisions.c.keys()).index("refund_amount")
    assert [int(row[at]) for row in shop.rows(decisions)] == [400]


def _exchange(shop: ReturnsShop) -> tuple[Any, ...]:
    """(status, difference, charge, back) of the one exchange."""
    [row] = shop.rows(exchanges)
    cols = list(exchanges.c.keys())
    return tuple(row[cols.index(c)] for c in ("status", "difference", "charge_amount",
                                              "back_amount"))
