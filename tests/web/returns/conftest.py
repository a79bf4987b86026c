"""Fixtures for the returns page: a shop on a migrated database with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.fakes.returns_shop import ReturnsShop, order_event, with_stripe
from tests.fakes.stripe_api import FakeStripeServer


@pytest.fixture
def shop(sqlite_url: str, now: datetime) -> Iterator[ReturnsShop]:
    s = ReturnsShop(sqlite_url, lambda: now)
    s.seed(order_event("1001"))
    yield s
    s.close()


@pytest.fixture
def stripe_shop(sqlite_url: str, now: datetime,
                stripe_server: FakeStripeServer) -> Iterator[ReturnsShop]:
    """The same shop, live against the Stripe fake (which holds the order's payment)."""
    stripe_server.fake.add_payment_intent(9500, "usd", "pi_1001")
    s = ReturnsShop(sqlite_url, lambda: now, with_stripe(stripe_server.url))
    s.seed(order_event("1001"))
    yield s
    s.close()


@pytest.fixture
def french_order_shop(sqlite_url: str, now: datetime) -> Iterator[ReturnsShop]:
    """Order 1001 placed in French (``order.paid``'s ``locale``)."""
    s = ReturnsShop(sqlite_url, lambda: now)
    event = order_event("1001")
    event["data"]["order"]["locale"] = "fr-BE"
    s.seed(event)
    yield s
    s.close()
