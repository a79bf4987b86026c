"""An order paid only in Stripe's test mode (its payments' ``livemode`` false) took no real
money: the insights' order value leaves it out, as ``/api/summary`` leaves it out of ``sales``,
whether the rollups were folded before Stripe said the mode or after. An order with a payment
of unknown mode (a storefront's word only) or a live one counts as before."""

from __future__ import annotations

from typing import Any

import pytest

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.fold import fold
from tests.fakes import Harness, order_paid, stripe_event

# whole UTC days around the orders' paid_at (2026-11-01 10:00): read from the rollups
PERIOD = "since=2026-10-30&until=2026-11-03"


def paid(h: Harness, order_id: str, livemode: bool | None) -> None:
    pi = f"pi_{order_id}"
    assert h.post_storefront(order_paid(order_id, reference=pi)).status_code == 200
    if livemode is None:
        return
    intent = {"id": pi, "object": "payment_intent", "amount": 5500, "amount_received": 5500,
              "currency": "usd", "latest_charge": f"ch_{order_id}", "status": "succeeded",
              "livemode": livemode, "metadata": {"order_id": order_id}}
    resp = h.post_stripe(stripe_event(f"evt_{pi}", "payment_intent.succeeded", intent,
                                      livemode=livemode))
    assert resp.status_code == 200, resp.json


def get(h: Harness, path: str) -> Any:
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    resp = h.client().get(path, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def order_value(h: Harness) -> list[dict[str, Any]]:
    return list(get(h, f"/api/insights/costs?{PERIOD}")["sales"])


@pytest.mark.parametrize("folded_first", [False, True])
def test_an_order_paid_only_in_stripe_test_mode_is_no_sale(
    harness: Harness, folded_first: bool
) -> None:
    paid(harness, "1001", True)  # live: 55.00
    paid(harness, "1002", None)  # a storefront's word only: counts as before
    if folded_first:  # the day's rollups already hold order 1002 and 1003's totals
        assert harness.post_storefront(order_paid("1003", reference="pi_1003")).status_code \
            == 200
        fold(harness.runtime.engine)
    paid(harness, "1003", False)  # Stripe's test mode: no real money taken
    if folded_first:
        assert order_value(harness) == [{"currency": "USD", "amount": 11000}]
        fold(harness.runtime.engine)

    assert order_value(harness) == [{"currency": "USD", "amount": 11000}]
    [totals] = get(harness, f"/api/summary?{PERIOD}")["totals"]
    assert (totals["sales"], totals["test_mode_sales"]) == (11000, 5500)
