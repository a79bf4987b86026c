"""The returns page offers "exchange for another size/colour" on a line whose order came with
variants; the choice becomes the request's ``exchange_for``, a dearer one's Checkout Session link
is on the answer and the status page, and a choice no longer offered is named, nothing recorded.
A Saleor order's choices are read from Saleor (the product's variants and stock)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from werkzeug.test import TestResponse

from refunds_plugin.domain.facts import OrderFacts, OrderLine
from refunds_plugin.ledger.tables import decisions, exchanges
from refunds_plugin.saleor.client import SaleorClient
from refunds_plugin.saleor.variants import order_variants
from tests.fakes.outbound_receiver import ANNOUNCED, HOOK, Receiver
from tests.fakes.returns_client import errors, open_form, submit, text, words
from tests.fakes.returns_shop import ReturnsShop, order_event, with_stripe
from tests.fakes.saleor_api import API_URL, TOKEN, FakeSaleor, money
from tests.fakes.stripe_api import FakeStripeServer

POLICY = """
window: {days: 60}
resolution: {allow: [refund, credit, exchange]}
exchange: {scope: same_product, price_difference: {higher: charge}}
"""
SIZES = [{"sku": "TEE-L", "name": "Linen shirt L", "unit_amount": 4500, "in_stock": True},
         {"sku": "TEE-S", "name": "Linen shirt S", "unit_amount": 4000, "in_stock": False}]


@pytest.fixture
def swap_shop(sqlite_url: str, now: datetime, tmp_path: Path,
              stripe_server: FakeStripeServer) -> Iterator[ReturnsShop]:
    policy = tmp_path / "swap.yaml"
    policy.write_text(POLICY)
    stripe_server.fake.add_payment_intent(9500, "usd", "pi_1001")
    s = ReturnsShop(sqlite_url, lambda: now,
                    {"policy": str(policy), **with_stripe(stripe_server.url)})
    lines = [{"id": "l1", "sku": "MUG-1", "name": "Blue enamel mug", "quantity": 2,
              "unit_amount": 2500},
             {"id": "l2", "sku": "TEE-M", "name": "Linen shirt", "quantity": 1,
              "unit_amount": 4000, "variants": SIZES}]
    s.seed(order_event("1001", lines=lines))
    yield s
    s.close()


def test_the_form_offers_the_other_sizes_only_where_the_order_has_them(
    swap_shop: ReturnsShop,
) -> None:
    form = open_form(swap_shop.app.test_client())
    html = form.get_data(as_text=True)
    assert 'name="line-0-exchange"' not in html  # the mug has no variants
    assert "Exchange for another size/colour" in text(form)
    options = re.findall(r'<option value="(TEE-[A-Z])"( disabled)?>([^<]*)</option>', html)
    assert options == [("TEE-L", "", "Linen shirt L (45.00 USD)"),
                       ("TEE-S", " disabled", "Linen shirt S: sold out")]


def test_a_dearer_size_is_exchanged_and_the_payment_link_is_on_answer_and_status(
    swap_shop: ReturnsShop, stripe_server: FakeStripeServer,
) -> None:
    client = swap_shop.app.test_client()
    form = open_form(client)

    sent = submit(client, form, **{"line-1-qty": "1", "line-1-reason": "too_small",
                                   "line-1-exchange": "TEE-L"})

    assert sent.status_code == 200, sent.get_data(as_text=True)
    [session] = stripe_server.fake.checkout_sessions.values()
    assert session["amount_total"] == 500
    assert words(sent, "exchange-pay") == [
        "Pay the difference of 5.00 USD to go ahead with your exchange"]
    assert session["url"] in sent.get_data(as_text=True)
    assert "We will exchange Linen shirt for Linen shirt L." in text(sent)
    # what the customer gets and pays, never "after fees there is nothing left to refund"
    assert words(sent, "amount") == ["In exchange you get: Linen shirt L",
                                     "You pay the difference: 5.00 USD"]
    assert "nothing left to refund" not in text(sent)
    [row] = swap_shop.rows(decisions)
    status_link = re.search(r'id="status-link" href="([^"]+)"', sent.get_data(as_text=True))
    assert status_link and row
    status = client.get(status_link.group(1))
    assert "Waiting for your payment of the difference." in text(status)
    assert "No money is due" not in text(status)  # the customer owes the difference
    assert session["url"] in status.get_data(as_text=True)


def _shirt_swapped(sqlite_url: str, now: datetime, policy_text: str, sizes: list[Any],
                   **settings: str) -> tuple[ReturnsShop, TestResponse]:
    """A one-shirt order (40.00 USD) without a Stripe key, and its shirt asked to be exchanged
    for size L through the returns page; the shop and its answer."""
    shop = ReturnsShop(sqlite_url, lambda: now, {"policy": policy_text, **settings})
    shop.seed(order_event("1001", lines=[{"id": "l2", "sku": "TEE-M", "name": "Linen shirt",
                                         "quantity": 1, "unit_amount": 4000,
                                         "variants": sizes}]))
    client = shop.app.test_client()
    sent = submit(client, open_form(client), **{"line-0-id": "l2", "line-0-qty": "1",
                                               "line-0-reason": "too_small",
                                               "line-0-exchange": "TEE-L"})
    shop.drain()
    return shop, sent


def test_a_dry_run_shop_answers_a_dearer_size_with_the_refund_not_a_payment_it_cannot_take(
    sqlite_url: str, now: datetime, tmp_path: Path,
) -> None:
    """No Stripe key: nothing could take the 5.00 USD, so no "pay the difference" is offered."""
    policy = tmp_path / "swap.yaml"
    policy.write_text(POLICY)
    shop, sent = _shirt_swapped(sqlite_url, now, str(policy), SIZES)

    assert sent.status_code == 200, sent.get_data(as_text=True)
    assert ("We can't exchange Linen shirt for Linen shirt L: it costs more, and we cannot take "
            "the difference for this order, so it comes back as a refund instead.") in text(sent)
    assert words(sent, "exchange-pay") == []
    assert "Pay the difference" not in text(sent) and "once you have paid" not in text(sent)
    assert len(shop.rows(decisions)) == 1
    assert shop.rows(exchanges) == []  # no exchange waits for a payment that cannot come
    shop.close()


def test_a_size_no_longer_offered_is_named_and_nothing_is_recorded(
    swap_shop: ReturnsShop,
) -> None:
    client = swap_shop.app.test_client()
    form = open_form(client)
    before = swap_shop.snapshot()

    sent = submit(client, form, **{"line-1-qty": "1", "line-1-reason": "too_small",
                                   "line-1-exchange": "TEE-XXL"})

    assert sent.status_code == 400
    assert errors(sent) == [
        "Linen shirt: that size or colour is no longer offered; please choose again."]
    assert swap_shop.snapshot() == before


def test_a_saleor_products_variants_and_stock_are_read_over_graphql() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        saleor = FakeSaleor(mock)
        saleor.products["UHJvZHVjdDox"] = {"id": "UHJvZHVjdDox", "name": "Shirt", "variants": [
            {"id": "v-m", "name": "M", "sku": "SHIRT-M",
             "pricing": {"price": {"gross": money("10.00", "USD")}}},
            {"id": "v-l", "name": "L", "sku": "SHIRT-L",
             "pricing": {"price": {"gross": money("12.50", "USD")}}},
            {"id": "v-xl", "name": "XL", "sku": "SHIRT-XL",
             "pricing": {"price": {"gross": money("12.50", "USD")}}}]}
        saleor.stock.update({"v-l": 4})
        facts = OrderFacts("o1", "USD", (OrderLine("line-1", "SHIRT-M", "Shirt M", 1, 1000,
                                                   product_id="UHJvZHVjdDox"),), 0, 1000)
        found = order_variants(SaleorClient(API_URL, TOKEN), facts, "default-channel")

    assert [(v.sku, v.name, v.unit_amount, v.in_stock, v.variant_id) for v in found["line-1"]] \
        == [("SHIRT-L", "Shirt L", 1250, True, "v-l"),
            ("SHIRT-XL", "Shirt XL", 1250, False, "v-xl")]
    [(op, variables)] = [c for c in saleor.calls if c[0] == "RefundsProductVariants"]
    assert variables == {"id": "UHJvZHVjdDox", "channel": "default-channel"}


def test_an_exchange_handed_on_for_shipping_does_not_claim_the_parcel_is_moving(
    sqlite_url: str, now: datetime, tmp_path: Path,
) -> None:
    policy = tmp_path / "instant.yaml"
    policy.write_text(POLICY.replace("higher: charge}", "higher: charge}, ship_on: approval"))
    # the merchant's systems hear exchange.ready_to_ship: they place the order
    erp = responses.RequestsMock(assert_all_requests_are_fired=False)
    erp.add_callback(responses.POST, HOOK, callback=Receiver())
    erp.start()
    sizes = [{**SIZES[0], "unit_amount": 4000}]  # the same price: nothing to pay
    shop, sent = _shirt_swapped(sqlite_url, now, str(policy), sizes, **ANNOUNCED)
    client = shop.app.test_client()
    link = re.search(r'id="status-link" href="([^"]+)"', sent.get_data(as_text=True))
    assert link

    status = client.get(link.group(1))

    assert words(status, "shipped", attr="data-exchange") == [
        "Your exchange 1 × Linen shirt L We have placed the order for your new item; it will be "
        "sent to you."]
    assert "on its way" not in " ".join(words(status, "shipped", attr="data-exchange"))
    shop.close()
    erp.stop()
    erp.reset()
