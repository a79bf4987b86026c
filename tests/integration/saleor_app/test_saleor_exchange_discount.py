"""A Saleor shirt M listed 50.00 USD and bought at 40.00 USD (a 20% discount: Saleor's
``undiscountedUnitPrice`` 50.00 above its ``unitPrice`` 40.00) is exchanged as a storefront's
would be: the discount carries over to the new size, rounded down in the customer's favour.
Size L at the same list price swaps for nothing, XL (60.00 list) costs 8.00 USD more, S (45.00
list) gives 4.00 USD back. A promotion still running on the sizes is not taken twice. A line
bought at its list price, and an order stored before the service read the list price, are
priced as before: the new size at what it sells for today."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import TestResponse

from refunds_plugin.ledger.tables import decisions, exchanges
from tests.fakes import Clock
from tests.fakes.returns_client import open_form, submit, text, words
from tests.fakes.returns_shop import EMAIL
from tests.fakes.saleor_api import FakeSaleor, money
from tests.fakes.saleor_harness import SaleorHarness, rows
from tests.integration.shipping.conftest import SHOP

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
PRODUCT = "UHJvZHVjdDox"
# the shop waives up to 20.00 USD of a dearer size: a Saleor order has no payment a difference
# could be charged to, so a charge would turn the swap back into a return
POLICY = """
window: {days: 365, start: payment}
resolution: {allow: [refund, credit, exchange]}
exchange:
  scope: same_product
  price_difference: {lower: refund, higher: {waive_up_to: {USD: "20.00"}}}
"""


def _size(n: int, name: str, sku: str, listed: str, price: str | None = None) -> dict[str, Any]:
    """A variant as PRODUCT_VARIANTS reads it: ``price`` after a promotion running today,
    ``priceUndiscounted`` its list price."""
    return {"id": f"UHJvZHVjdFZhcmlhbnQ6{n}", "name": name, "sku": sku, "pricing": {
        "price": {"gross": money(price or listed, "USD")},
        "priceUndiscounted": {"gross": money(listed, "USD")}}}


def _shop(any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path, paid: str,
          listed: str | None, *, promotion: bool = False, old: bool = False) -> SaleorHarness:
    policy = tmp_path / "swap.yaml"
    policy.write_text(POLICY)
    # a return address: a return is opened, so the exchange waits for its parcel
    h = SaleorHarness(any_db_url, clock, saleor, policy=str(policy), return_addresses=(SHOP,))
    assert h.install().status_code == 200
    order = saleor.add_order(ORDER, lines=[(LINE, 1, paid)], shipping="5.00",
                             email=EMAIL.lower(), listed={LINE: listed} if listed else None)
    if old:  # as the service read orders before it asked for the list price
        del order["lines"][0]["undiscountedUnitPrice"]
    # ``promotion``: a 20% promotion still runs on the sizes (Saleor's ``price`` below
    # ``priceUndiscounted``); without it they sell at their list price
    saleor.products[PRODUCT] = {"id": PRODUCT, "name": "Shirt", "variants": [
        _size(2, "L", "SHIRT-L", "50.00", "40.00" if promotion else None),
        _size(3, "XL", "SHIRT-XL", "60.00", "48.00" if promotion else None),
        _size(4, "S", "SHIRT-S", "45.00", "36.00" if promotion else None)]}
    saleor.stock.update({f"UHJvZHVjdFZhcmlhbnQ6{n}": 3 for n in (2, 3, 4)})
    assert h.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    return h


@pytest.fixture
def discounted(any_db_url: str, clock: Clock, saleor: FakeSaleor,
               tmp_path: Path) -> Iterator[SaleorHarness]:
    h = _shop(any_db_url, clock, saleor, tmp_path, "40.00", "50.00")
    yield h
    h.close()


def _swap(shop: SaleorHarness, sku: str) -> TestResponse:
    client = shop.app.test_client()
    form = open_form(client)
    sent = submit(client, form, **{"line-0-id": LINE, "line-0-qty": "1",
                                   "line-0-reason": "too_small", "line-0-exchange": sku})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    return sent


def _exchange(shop: SaleorHarness) -> tuple[Any, ...]:
    """(status, difference, waived, back) of the one exchange."""
    [row] = rows(shop, exchanges)
    return row.status, row.difference, row.waived_amount, row.back_amount


def _refunded(shop: SaleorHarness) -> list[int]:
    return [int(row.refund_amount) for row in rows(shop, decisions)]


def test_the_form_offers_each_size_at_its_list_price_with_the_lines_discount(
    discounted: SaleorHarness,
) -> None:
    form = open_form(discounted.app.test_client())

    assert words(form, "price") == ["40.00 USD each"]
    assert re.findall(r'<option value="(SHIRT-[A-Z]+)">([^<]*)</option>',
                      form.get_data(as_text=True)) == [
        ("SHIRT-L", "Shirt L (40.00 USD)"), ("SHIRT-XL", "Shirt XL (48.00 USD)"),
        ("SHIRT-S", "Shirt S (36.00 USD)")]


def test_the_same_list_price_swaps_with_nothing_to_pay(discounted: SaleorHarness) -> None:
    sent = _swap(discounted, "SHIRT-L")

    assert "The new item costs the same: nothing to pay, nothing back." in text(sent)
    assert _exchange(discounted) == ("waiting", 0, 0, 0)
    assert _refunded(discounted) == [0]


def test_a_dearer_size_costs_the_discounted_difference(discounted: SaleorHarness) -> None:
    sent = _swap(discounted, "SHIRT-XL")

    assert "The new item costs 8.00 USD more; we waive the difference." in text(sent)
    assert _exchange(discounted) == ("waiting", 800, 800, 0)


def test_a_cheaper_size_gives_the_discounted_difference_back(
    discounted: SaleorHarness, saleor: FakeSaleor,
) -> None:
    sent = _swap(discounted, "SHIRT-S")

    assert ("The new item costs 4.00 USD less; that difference comes back to your original "
            "payment.") in text(sent)
    assert _exchange(discounted) == ("waiting", -400, 0, 400)
    assert _refunded(discounted) == [400]
    discounted.executor.drain()
    [(_, grant)] = saleor.mutations("RefundsGrantRefund")
    assert grant["input"]["amount"] == "4.00"


def test_a_promotion_still_running_on_the_sizes_is_not_taken_twice(
    any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path,
) -> None:
    # bought in the promotion: the new size at its list price less the line's 20%, which is what
    # the promotion sells it for, not 20% off that again
    shop = _shop(any_db_url, clock, saleor, tmp_path, "40.00", "50.00", promotion=True)
    try:
        assert re.findall(r'<option value="(SHIRT-[A-Z]+)">([^<]*)</option>',
                          open_form(shop.app.test_client()).get_data(as_text=True)) == [
            ("SHIRT-L", "Shirt L (40.00 USD)"), ("SHIRT-XL", "Shirt XL (48.00 USD)"),
            ("SHIRT-S", "Shirt S (36.00 USD)")]
        assert "The new item costs the same: nothing to pay, nothing back." in text(
            _swap(shop, "SHIRT-L"))
        assert _exchange(shop) == ("waiting", 0, 0, 0)
    finally:
        shop.close()


def test_a_line_bought_at_its_list_price_swaps_at_what_the_size_sells_for(
    any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path,
) -> None:
    shop = _shop(any_db_url, clock, saleor, tmp_path, "50.00", None, promotion=True)
    try:
        assert ("The new item costs 2.00 USD less; that difference comes back to your original "
                "payment.") in text(_swap(shop, "SHIRT-XL"))  # 48.00 in the promotion
        assert _exchange(shop) == ("waiting", -200, 0, 200)
    finally:
        shop.close()


def test_an_order_stored_without_its_list_price_is_priced_as_before(
    any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path,
) -> None:
    # nothing says the 40.00 was discounted: the line counts as listed at what it was paid
    shop = _shop(any_db_url, clock, saleor, tmp_path, "40.00", "50.00", old=True)
    try:
        assert "The new item costs 10.00 USD more; we waive the difference." in text(
            _swap(shop, "SHIRT-L"))
        assert _exchange(shop) == ("waiting", 1000, 1000, 0)
    finally:
        shop.close()
