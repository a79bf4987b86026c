"""An exchange nobody was told to ship (no ``REFUNDS_OUTBOUND_URL``) whose new item sold out: its
``exchange_unshipped`` follow-up, which asks a person to send the new item, is cleared, so
nobody sends an item whose money went back."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from refunds_plugin.ledger.tables import exchanges, follow_ups, refund_attempts
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_out_of_stock import sold_out
from tests.integration.shipping.test_exchange_triggers import POLICY, SHIRT, swap

pytestmark = pytest.mark.usefixtures("erp")


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

