"""Money Stripe took in its test mode is no real money, so it earns a customer nothing: the
customer's history (``ledger/history.py``) leaves a payment whose ``livemode`` is false out of
what they paid, and an order Stripe took only in test mode out of their orders. A payment whose
mode is not known (before revision 0029, or named only by the shop) counts as before.

The policy (standard-30-day) is generous by lifetime value: a "loyal" customer (3 orders, a
projected 1,000.00 USD) gets 30 more days to return. The order asked about was delivered 45
days ago.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from refunds_plugin.domain.facts import Customer
from refunds_plugin.ledger.history import customer_history
from refunds_plugin.ledger.tables import decisions, payments
from tests.fakes import Clock, Harness, order_paid, return_requested, stripe_event
from tests.fakes.stripe_api import FakeStripeServer

ANN = {"id": "c-7", "email": "ann@example.com"}
EARLIER = ("o1", "o2", "o3")  # 120.00 USD each, paid in June; o1 returned on 5 June


@pytest.fixture
def shop(any_db_url: str, clock: Clock, stripe_server: FakeStripeServer) -> Iterator[Harness]:
    h = Harness(any_db_url, clock, stripe_server.url,
                settings={"policy": "preset:standard-30-day"})
    yield h
    h.close()


def _order(harness: Harness, order_id: str, amount: int, paid_at: str) -> None:
    line = {"id": "l1", "sku": "COAT", "name": "Coat", "quantity": 1, "unit_amount": amount,
            "tags": []}
    event = order_paid(order_id, lines=[line], shipping=0, reference=f"pi_{order_id}",
                       paid_at=paid_at, customer=ANN)
    event["data"]["order"]["delivered_at"] = paid_at
    assert harness.post_storefront(event).status_code == 200


def _stripe_says(harness: Harness, order_id: str, amount: int, livemode: bool,
                 intent_id: str | None = None) -> None:
    """Stripe's own ``payment_intent.succeeded`` of the order's payment, in ``livemode``."""
    intent_id = intent_id or f"pi_{order_id}"
    intent = {"id": intent_id, "object": "payment_intent", "amount": amount,
              "amount_received": amount, "currency": "usd", "status": "succeeded",
              "metadata": {"order_id": order_id}, "livemode": livemode}
    event = stripe_event(f"evt_{intent_id}", "payment_intent.succeeded", intent, livemode)
    assert harness.post_stripe(event).status_code == 200


def _earlier_orders(harness: Harness, livemode: bool | None) -> int:
    """Three orders paid in June in ``livemode`` (None: Stripe never said), o1 returned on 5
    June, and the order asked about; what o1's return refunded."""
    for n, order_id in enumerate(EARLIER):
        _order(harness, order_id, 12000, f"2026-06-0{n + 1}T10:00:00Z")
        if livemode is not None:
            _stripe_says(harness, order_id, 12000, livemode)
    stood = harness.clock.now
    harness.clock.now = datetime(2026, 6, 5, 12, 0, tzinfo=UTC)
    back = harness.post_storefront(return_requested("r-o1", "o1", event_id="evt_r_o1"))
    assert back.get_json()["outcome"] == "approve"
    harness.clock.now = stood
    _order(harness, "o4", 5000, "2026-10-10T10:00:00Z")  # the order asked about, mode unknown
    return int(back.get_json()["refund_amount"])


def _trace(harness: Harness, rule: str) -> dict[str, Any]:
    with harness.runtime.engine.connect() as conn:
        body = conn.execute(select(decisions.c.body)
                            .where(decisions.c.order_id == "o4")).scalar_one()
    return next(r for r in json.loads(body)["trace"] if r["rule"] == rule)


def _history(harness: Harness) -> tuple[int, int, str | None, int]:
    """What they paid, their orders, since when, and what came back to them."""
    with harness.runtime.engine.connect() as conn:
        h = customer_history(conn, Customer("c-7", "ann@example.com"), harness.clock(), 90,
                             "USD")
    first = h.first_order_at.date().isoformat() if h.first_order_at else None
    return h.total_paid, h.order_count, first, h.total_refunded


def test_a_history_paid_in_stripe_test_mode_earns_no_loyalty(shop: Harness) -> None:
    # no loyalty in June either: the change of mind paid its 5.95 return shipping
    assert _earlier_orders(shop, livemode=False) == 11405
    assert [r.livemode for r in shop.rows(payments)] == [False, False, False, None]

    # only o4 counts: 50.00 paid, one order, a customer since October, nothing came back
    assert _history(shop) == (5000, 1, "2026-10-10", 0)
    answer = shop.post_storefront(return_requested(order_id="o4")).get_json()

    assert (answer["outcome"], answer["reason_code"]) == ("decline", "outside_window")
    assert _trace(shop, "tier")["saw"] == {"months_as_customer": 1, "projected_value": 15000,
                                            "orders": 1, "tier": "base"}
    assert _trace(shop, "window")["saw"]["days"] == 30


@pytest.mark.parametrize("livemode", [True, None], ids=["live", "mode_unknown"])
def test_a_history_paid_live_or_in_an_unknown_mode_earns_loyalty(
    shop: Harness, livemode: bool | None
) -> None:
    assert _earlier_orders(shop, livemode=livemode) == 12000  # loyal in June: no fee

    # 3 x 120.00 + 50.00, four orders, since June; 120.00 refunded for o1's coat
    assert _history(shop) == (41000, 4, "2026-06-01", 12000)
    answer = shop.post_storefront(return_requested(order_id="o4")).get_json()

    assert (answer["outcome"], answer["refund_amount"]) == ("approve", 5000)
    # 410.00 paid in 5 months, counted as a year: 1,230.00 in the policy's 3 years
    assert _trace(shop, "tier")["saw"] == {"months_as_customer": 5, "projected_value": 123000,
                                            "orders": 4, "tier": "loyal"}
    assert _trace(shop, "window")["saw"]["days"] == 60


def test_an_order_with_a_live_payment_beside_a_test_one_still_counts(shop: Harness) -> None:
    assert _earlier_orders(shop, livemode=False) == 11405
    # o1 paid again, live this time: the order is one of theirs, and only its live money
    _stripe_says(shop, "o1", 12000, livemode=True, intent_id="pi_o1_again")

    assert _history(shop) == (17000, 2, "2026-06-01", 11405)
