"""An order recorded without a customer email (a guest's or a staff draft: the storefront's
email is optional, Saleor's too) is not opened on the returns page by any email. The look-up
compared the typed email with a stand-in's digest for such orders (so every answer costs the
same), and typing the stand-in's own words opened the order to anyone who knew its number: its
lines, a return on it, and under a credit policy the store credit code (found by a security
review)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from refunds_plugin.ledger.tables import decisions, events
from tests.fakes.returns_client import lookup
from tests.fakes.returns_shop import EMAIL, ReturnsShop, order_event


@pytest.fixture
def shop(sqlite_url: str, now: datetime) -> Iterator[ReturnsShop]:
    s = ReturnsShop(sqlite_url, lambda: now, {"policy": "preset:credit-first"})
    guest = order_event("2002")
    del guest["data"]["order"]["customer"]["email"]
    s.seed(guest)
    s.seed(order_event("2003"))  # with its email
    yield s
    s.close()


@pytest.mark.parametrize("typed", ["no order has this email", " No Order Has This Email ", ""])
def test_an_order_without_an_email_is_opened_by_no_email(shop: ReturnsShop, typed: str) -> None:
    client = shop.app.test_client()
    resp = lookup(client, "2002", typed)
    assert resp.status_code in (400, 404), resp.status_code
    assert "Blue enamel mug" not in client.get("/returns/order").get_data(as_text=True)
    with shop.runtime.engine.connect() as conn:
        assert conn.execute(decisions.select()).all() == []
        assert len(conn.execute(events.select()).all()) == 2  # the two orders, nothing more


def test_an_order_with_an_email_still_opens_with_it(shop: ReturnsShop) -> None:
    client = shop.app.test_client()
    assert lookup(client, "2003", "no order has this email").status_code == 404
    assert lookup(client, "2003", EMAIL).status_code == 303
    assert "Blue enamel mug" in client.get("/returns/order").get_data(as_text=True)
