"""An exchange nobody was told to ship (no ``REFUNDS_OUTBOUND_URL``) whose new item sold out: its
``exchange_unshipped`` follow-up, which asks a person to send the new item, is cleared, so
nobody sends an item whose money went back. One whose cheaper item's difference was already
paid back goes to a person: it is ``failed`` (never "ready to ship" on the customer's page, and
no longer asked to be shipped), once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from refunds_plugin.ledger.tables import exchanges, follow_ups, refund_attempts, reviews
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_out_of_stock import sold_out
from tests.integration.shipping.test_exchange_triggers import POLICY, SHIRT, swap

pytestmark = pytest.mark.usefixtures("erp")
READY = "Your new item is ready to ship."


def _unshipped(returns_service: Callable[..., Returns], *swapped: str | int) -> tuple[Returns,
                                                                                      str]:
    """Shirt M swapped for ``swapped`` (sku, name, unit), ready at approval on a shop that
    tells nobody to ship it: its follow-up open after the worker's round."""
    r = returns_service(POLICY + "  ship_on: approval\n")
    r.paid(lines=SHIRT, shipping=0)
    decision = str(r.ask(lines=swap(*swapped))["decision_id"])  # type: ignore[arg-type]
    assert r.h.runtime.exchanges is not None
    r.h.runtime.exchanges.run_once()
    r.h.drain()
    [f] = r.h.rows(follow_ups, subject=decision)
    assert (f.kind, f.status) == ("exchange_unshipped", "open")
    return r, decision


def test_a_sold_out_exchange_no_longer_asks_a_person_to_ship_it(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision = _unshipped(returns_service)

    resp = sold_out(r, "sf_so_1", decision, ["SHIRT-L"])

    assert resp.status_code == 200, resp.get_data(as_text=True)
    [row] = r.h.rows(exchanges)
    assert row.status == "fallen_back"
    [f] = r.h.rows(follow_ups, subject=decision)
    assert (f.kind, f.status) == ("exchange_unshipped", "cleared")
    [attempt] = r.h.rows(refund_attempts)  # the refund instead, once, for the shirt's 30.00
    assert (attempt.decision_id, attempt.amount) == (row.fallback_decision_id, 3000)


def test_a_cheaper_exchange_that_sold_out_goes_to_a_person_and_is_not_said_ready(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision = _unshipped(returns_service, "SHIRT-S", "Shirt S", 2000)
    assert READY in r.status_page(decision)
    before = [(a.id, a.amount, a.status) for a in r.h.rows(refund_attempts)]

    resp = sold_out(r, "sf_so_1", decision, ["SHIRT-S"])
    again = sold_out(r, "sf_so_2", decision, ["SHIRT-S"])

    assert resp.status_code == again.status_code == 200
    [row] = r.h.rows(exchanges)
    assert (row.status, row.fallback_decision_id) == ("failed", None)
    assert row.last_error == (
        "out_of_stock: out of stock (the storefront has no SHIRT-S left to ship), and 10.00 "
        "USD for the cheaper item waits for the original to arrive (held: approving pays it "
        "now, declining cancels it): decide the refund or credit by hand")
    [review] = r.h.rows(reviews)
    assert (review.decision_id, review.status) == (decision, "open")
    assert review.reason == f"exchange_out_of_stock: {row.last_error[len('out_of_stock: '):]}"
    [f] = r.h.rows(follow_ups, subject=decision)
    assert f.status == "cleared"  # nobody is asked to send an item that is not there
    # no money moved: only the cheaper item's 10.00 back, as before
    assert [(a.id, a.amount, a.status) for a in r.h.rows(refund_attempts)] == before
    assert [a[1] for a in before] == [1000]
    page = r.status_page(decision)
    assert READY not in page
    assert "We could not ship your new item yet; our team will contact you." in page
    assert len(r.journal("exchange_failed")) == 1  # the second report changed nothing
