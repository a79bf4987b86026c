"""A cheaper exchange (Shirt M for Shirt S, 10.00 back for the difference) whose new item sold
out goes to a person; the note on the exchange and the review's reason say what became of the
10.00 as it is: paid back, or still held until the shirt arrives (not "already paid back")."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from refunds_plugin.ledger.tables import exchanges, refund_attempts, reviews
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_out_of_stock import sold_out
from tests.integration.shipping.test_exchange_triggers import POLICY, SHIRT, swap

pytestmark = pytest.mark.usefixtures("erp")
WHY = "out of stock (the storefront has no SHIRT-S left to ship), and "


def _sold_out(returns_service: Callable[..., Returns], *, delivered: bool) -> Returns:
    r = returns_service(POLICY + "  ship_on: approval\n")
    r.paid(lines=SHIRT, shipping=0)
    decision = str(r.ask(lines=swap("SHIRT-S", "Shirt S", 2000))["decision_id"])
    assert r.h.runtime.exchanges is not None
    r.h.runtime.exchanges.run_once()
    r.labels()
    if delivered:
        code = r.shipment().tracking_code
        assert r.track("evt_scan_1", code, "delivered").status_code == 200
    r.h.drain()
    assert sold_out(r, "sf_so_1", decision, ["SHIRT-S"]).status_code == 200
    return r


def test_a_difference_still_waiting_for_the_parcel_is_not_said_paid_back(
    returns_service: Callable[..., Returns],
) -> None:
    r = _sold_out(returns_service, delivered=False)

    [row] = r.h.rows(exchanges)
    assert row.status == "failed"
    assert row.last_error == (
        f"out_of_stock: {WHY}10.00 USD for the cheaper item waits for the original to arrive "
        "(held: approving pays it now, declining cancels it): decide the refund or credit by "
        "hand")
    [review] = r.h.rows(reviews)
    assert review.reason == f"exchange_out_of_stock: {row.last_error[len('out_of_stock: '):]}"
    assert "already paid back" not in review.reason
    assert [(a.amount, a.status) for a in r.h.rows(refund_attempts)] == [(1000, "held")]


def test_a_difference_that_went_back_is_said_paid_back(
    returns_service: Callable[..., Returns],
) -> None:
    r = _sold_out(returns_service, delivered=True)

    [row] = r.h.rows(exchanges)
    assert row.last_error == (
        f"out_of_stock: {WHY}10.00 USD was already paid back for the cheaper item: decide the "
        "refund or credit by hand")
    assert [(a.amount, a.status) for a in r.h.rows(refund_attempts)] == [(1000, "succeeded")]
