"""An exchange ready to ship whose decision's stored body or order's stored ``extra`` cannot be
read (edited by hand, cut short by a restore) never stalls the exchange worker's round: it is
``failed`` at once with why, its decision goes to a person (a review, one error naming the
decision and order), it is never tried again, and the other customers' exchanges ship once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update

from refunds_plugin.ledger.tables import decisions, exchanges, orders, return_shipments, reviews
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_triggers import SHIRT, exchange_shop, swap

pytestmark = pytest.mark.usefixtures("erp")
CORRUPT = {
    "decision body not JSON": (decisions, "body", '{"outcome": "approve", "exch',
                               "decision (decisions.body) cannot be read (not valid JSON: "
                               "Unterminated string starting at: line 1 column 24 (char 23))"),
    "decision body of the wrong shape": (decisions, "body", '"approve"',
                                         "decision (decisions.body) cannot be read (JSON of "
                                         "the wrong shape: TypeError)"),
    "order extra cut short": (orders, "extra", '{"shipping_address": {"na',
                              "order (orders.extra) cannot be read (not valid JSON: "
                              "Unterminated string starting at: line 1 column 23 (char 22))"),
}


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [rec.getMessage() for rec in caplog.records
            if rec.name == "refunds.exchanges" and rec.levelname == "ERROR"]


@pytest.mark.parametrize("corruption", list(CORRUPT))
def test_an_exchange_that_cannot_be_read_goes_to_a_person_and_the_next_one_ships_once(
    returns_service: Callable[..., Returns], caplog: pytest.LogCaptureFixture, corruption: str,
) -> None:
    r = exchange_shop(returns_service, "first_scan")  # order 1001, shirts swapped at a scan
    r.paid("1002", lines=SHIRT, shipping=0)
    bad = r.ask("r-1", "1001", lines=swap())["decision_id"]
    r.h.clock.advance(60)  # the worker takes the older exchange first
    good = r.ask("r-2", "1002", lines=swap())["decision_id"]
    r.labels()
    codes = {row.order_id: row.tracking_code for row in r.h.rows(return_shipments)}
    for n, order in enumerate(("1001", "1002"), 1):
        assert r.track(f"evt_scan_{n}", str(codes[order]), "in_transit").status_code == 200
    assert sorted(row.status for row in r.h.rows(exchanges)) == ["ready", "ready"]
    table, column, stored, what = CORRUPT[corruption]
    key = decisions.c.id == bad if table is decisions else orders.c.order_id == "1001"
    with r.h.runtime.engine.begin() as conn:
        conn.execute(update(table).where(key).values({column: stored}))
    worker = r.h.runtime.exchanges
    assert worker is not None
    caplog.clear()

    assert worker.run_once() == 2

    why = f"not sent: its stored {what}; a person must repair the row"
    state = {row.decision_id: (row.status, row.tries, row.last_error)
             for row in r.h.rows(exchanges)}
    assert state == {bad: ("failed", 1, why), good: ("shipped", 0, None)}
    assert [(row.decision_id, row.status, row.reason) for row in r.h.rows(reviews)] == [
        (bad, "open", f"exchange_unreadable: {why}")]
    assert [body for _, body in r.journal("exchange_failed")] == [
        {"error": why, "last_error": why, "status": "failed", "tries": 1}]
    assert len(r.journal("exchange_shipped")) == 1
    assert _errors(caplog) == [f"exchange {bad} needs a person: {why}"]
    assert [getattr(rec, "order_id", None) for rec in caplog.records
            if rec.levelname == "ERROR"] == ["1001"]
    assert stored not in caplog.text

    r.h.clock.advance(3600)  # later rounds try nothing again
    assert worker.run_once() == 0
    assert {row.decision_id: (row.status, row.tries, row.last_error)
            for row in r.h.rows(exchanges)} == state
    assert len(r.journal("exchange_shipped")) == 1
    assert len(_errors(caplog)) == 1
