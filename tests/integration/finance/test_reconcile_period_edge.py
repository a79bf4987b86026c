"""``refunds reconcile --since`` around a refund decided before the period and sent in it (a
return decided late on the last day of a month, or held for its parcel for days): Stripe lists
the refund, created in the period, and the ledger holds it under the attempt decided before.
That is agreement, never "a refund made outside this service"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from refunds_plugin.cli import main
from tests.fakes.shop import Shop
from tests.fakes.stripe_api import FakeStripeServer

API_KEY = "sk_live_reconcile"
DECIDED = datetime(2026, 11, 30, 23, 50, tzinfo=UTC)
SINCE = "2026-12-01"


@pytest.fixture
def shop(sqlite_url: str) -> Iterator[tuple[Shop, FakeStripeServer]]:
    server = FakeStripeServer().start()
    shop = Shop(sqlite_url, DECIDED, stripe_api_key=API_KEY, stripe_api_base=server.url,
                stripe_max_network_retries=0)
    server.fake.clock = lambda: shop.now.timestamp()  # Stripe's time is the shop's
    yield shop, server
    shop.runtime.engine.dispose()
    server.stop()


def reconciled(shop: Shop, server: FakeStripeServer) -> tuple[int, list[dict[str, object]]]:
    result = CliRunner().invoke(
        main, ["reconcile", "--provider", "stripe", "--since", SINCE, "--json"],
        env={"REFUNDS_DATABASE_URL": str(shop.runtime.config.database_url),
             "REFUNDS_STRIPE_API_KEY": API_KEY, "REFUNDS_STRIPE_API_BASE": server.url,
             "REFUNDS_STRIPE_MAX_NETWORK_RETRIES": "0"})
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


def test_a_refund_decided_before_the_period_and_sent_in_it_agrees(
    shop: tuple[Shop, FakeStripeServer],
) -> None:
    s, server = shop
    server.fake.add_payment_intent(2500, "eur", pi_id="pi_late")
    s.send("order.paid", {"order": {
        "id": "o-late", "currency": "EUR", "paid_at": (DECIDED - timedelta(days=2)).isoformat(),
        "customer": {"email": "late@example.com"},
        "lines": [{"id": "l1", "quantity": 1, "unit_amount": 2500}],
        "shipping_amount": 0, "total_amount": 2500,
        "payment": {"provider": "stripe", "reference": "pi_late", "amount": 2500}}})
    s.ask_return("o-late", "r-late")  # decided at 23:50 on 30 November
    s.pay_out(timedelta(minutes=20))  # sent at 00:10 on 1 December
    [refund] = server.fake.refunds
    assert datetime.fromtimestamp(refund["created"], UTC) == datetime(2026, 12, 1, 0, 10,
                                                                      tzinfo=UTC)

    code, lines = reconciled(s, server)
    assert (code, lines) == (0, [{"agree": True, "differences": [], "ledger_refunds": 1,
                                  "provider": "stripe", "provider_refunds": 1,
                                  "since": "2026-12-01T00:00:00+00:00"}])
