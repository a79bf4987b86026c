"""A Saleor order re-queried in another currency than the ledger recorded is refused, like a
storefront's re-sent order.paid: the webhook answers 409 ``currency_changed`` and nothing of
that state is stored; the poller's re-query raises the same; a return is decided on what the
ledger holds, in the order's own currency."""

from __future__ import annotations

import pytest

from refunds_plugin.ledger.orders import CurrencyChanged
from refunds_plugin.ledger.tables import decisions, orders, payments, refund_attempts
from tests.fakes.saleor_harness import SaleorHarness, rows

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="


def test_a_saleor_order_read_back_in_another_currency_is_refused_and_nothing_is_stored(
    installed: SaleorHarness,
) -> None:
    installed.saleor.add_order(ORDER, lines=[(LINE, 2, "25.00")], shipping="5.00")
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    stored = ([tuple(r) for r in rows(installed, orders)],
              [tuple(r) for r in rows(installed, payments)], installed.event_count())

    installed.saleor.currency = "EUR"  # the same order, now read back in euros
    installed.saleor.add_order(ORDER, lines=[(LINE, 2, "25.00")], shipping="5.00")
    resp = installed.webhook("ORDER_UPDATED", ORDER)

    assert resp.status_code == 409
    assert resp.get_json()["error"] == {"code": "currency_changed", "message": (
        f"order {ORDER} is recorded in USD; this content says EUR. An order's currency never "
        "changes, so nothing of it was recorded: refund or cancel the order in the shop and "
        "send the new one under a new order id")}
    with pytest.raises(CurrencyChanged):
        installed.runtime.service.saleor_requery(ORDER)  # the poller's path: logged, retried
    assert ([tuple(r) for r in rows(installed, orders)],
            [tuple(r) for r in rows(installed, payments)], installed.event_count()) == stored

    # a return is decided on the ledger's facts (the refresh before it is refused and logged)
    assert installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).status_code == 201
    [d] = rows(installed, decisions)
    assert (d.currency, d.refund_amount) == ("USD", 2500)
    assert [(a.currency, a.amount) for a in rows(installed, refund_attempts)] == [("USD", 2500)]
