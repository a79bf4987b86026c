"""The returns page's answer takes a label fee off only where the shop can buy the label: with
a carrier key "Return shipping fee, taken off: 4.00 USD" and 21.00 back; without one, no fee
line, the whole 25.00 back, and the send-back words promise no label."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from refunds_plugin.config import ReturnAddress
from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_client import open_form, submit, text, words
from tests.fakes.returns_shop import ReturnsShop, order_event, with_stripe
from tests.fakes.stripe_api import FakeStripeServer

POLICY = """
currency: USD
window: {days: 60}
return_shipping: {label: easypost, paid_by: customer, fee: "4.00"}
"""
SHOP = ReturnAddress("Harbour returns", "1 Dock Rd", "Austin", "78701", "US")
NOWHERE = "http://127.0.0.1:9"  # no label is bought while the page answers (the desk does it)


def _shop(sqlite_url: str, now: datetime, tmp_path: Path, stripe_server: FakeStripeServer,
          **settings: Any) -> ReturnsShop:
    policy = tmp_path / "labels.yaml"
    policy.write_text(POLICY)
    stripe_server.fake.add_payment_intent(9500, "usd", "pi_1001")
    s = ReturnsShop(sqlite_url, lambda: now, {"policy": str(policy), "return_addresses": (SHOP,),
                                              **with_stripe(stripe_server.url), **settings})
    s.seed(order_event("1001"))
    return s


@pytest.fixture
def labelled(sqlite_url: str, now: datetime, tmp_path: Path,
             stripe_server: FakeStripeServer) -> Iterator[ReturnsShop]:
    s = _shop(sqlite_url, now, tmp_path, stripe_server,
              easypost_api_key="EZTK_test", easypost_api_base=NOWHERE)
    yield s
    s.close()


@pytest.fixture
def unlabelled(sqlite_url: str, now: datetime, tmp_path: Path,
               stripe_server: FakeStripeServer) -> Iterator[ReturnsShop]:
    s = _shop(sqlite_url, now, tmp_path, stripe_server)  # no REFUNDS_EASYPOST_API_KEY
    yield s
    s.close()


def _one_mug_back(shop: ReturnsShop, step: str | None = None) -> Any:
    client = shop.app.test_client()
    form = open_form(client)
    more = {"step": step} if step else {}
    return submit(client, form, **{"line-0-qty": "1", "line-0-reason": "changed_mind"}, **more)


def test_with_a_carrier_the_answer_takes_the_label_fee_off(labelled: ReturnsShop) -> None:
    quote = _one_mug_back(labelled, "quote")
    sent = _one_mug_back(labelled)

    for page in (quote, sent):
        assert words(page, "fee") == ["Return shipping fee, taken off: 4.00 USD"]
        assert words(page, "amount") == ["Refund to your original payment: 21.00 USD"]
    assert _refunded(labelled) == [2100]  # the quote recorded nothing


def test_without_a_carrier_no_fee_is_taken_and_no_label_is_promised(
    unlabelled: ReturnsShop,
) -> None:
    quote = _one_mug_back(unlabelled, "quote")
    sent = _one_mug_back(unlabelled)

    for page in (quote, sent):
        assert words(page, "fee") == []
        assert words(page, "amount") == ["Refund to your original payment: 25.00 USD"]
        assert "label" not in text(page).lower()
    assert _refunded(unlabelled) == [2500]


def _refunded(shop: ReturnsShop) -> list[int]:
    at = list(decisions.c.keys()).index("refund_amount")
    return [int(row[at]) for row in shop.rows(decisions)]
