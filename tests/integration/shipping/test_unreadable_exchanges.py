"""An exchange ready to ship whose decision's stored body, own progress or order's stored
``extra`` cannot be read (edited by hand, cut short by a restore) never stalls the exchange
worker's round: it is ``failed`` at once with why, its decision goes to a person (a review, one
error naming the decision and order), it is never tried again, and the other customers'
exchanges ship once."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import update

from refunds_plugin.ledger.tables import (
    decisions,
    exchange_dues,
    exchanges,
    orders,
    outbox,
    refund_attempts,
    return_shipments,
    reviews,
)
from tests.integration.shipping.conftest import Returns, cut_at
from tests.integration.shipping.test_exchange_triggers import SHIRT, exchange_shop, swap

pytestmark = pytest.mark.usefixtures("erp")
EARLIER = "not valid JSON; an earlier try may have made its Saleor orders, check"
CORRUPT = {  # what each corruption stores where, which row the exchange says is at fault, how
    "decision body not JSON": (decisions, "body", '{"outcome": "approve", "exch',
                               "decision (decisions.body)", cut_at(23)),
    "decision body of the wrong shape": (decisions, "body", '"approve"',
                                         "decision (decisions.body)",
                                         "JSON of the wrong shape: TypeError"),
    "exchange progress cut short": (exchanges, "progress", '{"replacement": "T3Jk',
                                    "progress (exchanges.progress)", EARLIER),
    "order extra cut short": (orders, "extra", '{"shipping_address": {"na',
                              "order (orders.extra)", cut_at(22)),
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
    table, column, stored, at_fault, how = CORRUPT[corruption]
    key = {decisions: decisions.c.id == bad, exchanges: exchanges.c.decision_id == bad,
           orders: orders.c.order_id == "1001"}[table]
    with r.h.runtime.engine.begin() as conn:
        conn.execute(update(table).where(key).values({column: stored}))
    worker = r.h.runtime.exchanges
    assert worker is not None
    caplog.clear()

    assert worker.run_once() == 2

    why = f"not sent: its stored {at_fault} cannot be read ({how}); a person must repair the row"
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


def _two_swaps(returns_service: Callable[..., Returns], ship_on: str) -> tuple[Returns, str, str]:
    """Orders 1001 and 1002, a shirt swapped on each (1001's first), labels bought: the
    service and the two decision ids."""
    r = exchange_shop(returns_service, ship_on)
    r.paid("1002", lines=SHIRT, shipping=0)
    bad = r.ask("r-1", "1001", lines=swap("SHIRT-S", "Shirt S", 2000))["decision_id"]
    r.h.clock.advance(60)
    good = r.ask("r-2", "1002", lines=swap("SHIRT-S", "Shirt S", 2000))["decision_id"]
    r.labels()
    return r, bad, good


def _corrupt(r: Returns, decision_id: str) -> None:
    with r.h.runtime.engine.begin() as conn:
        conn.execute(update(decisions).where(decisions.c.id == decision_id)
                     .values(body='{"outcome": "approve", "exch'))


UNREADABLE = ("its stored decision (decisions.body) cannot be read (not valid JSON: "
              "Unterminated string starting at: line 1 column 24 (char 23)); a person must "
              "repair the row")


def test_a_scan_for_an_exchange_that_cannot_be_read_is_recorded_and_its_event_held(
    returns_service: Callable[..., Returns], caplog: pytest.LogCaptureFixture,
) -> None:
    r, bad, good = _two_swaps(returns_service, "first_scan")
    _corrupt(r, bad)
    codes = {row.decision_id: row.tracking_code for row in r.h.rows(return_shipments)}
    caplog.clear()

    answers = [r.track(f"evt_scan_{n}", str(codes[d]), "in_transit").status_code
               for n, d in enumerate((bad, good), 1)]

    # the scans are taken (EasyPost is not left retrying): both returns move, both exchanges
    # are ready; the bad one's event is recorded failed with why, never sent without its lines
    assert answers == [200, 200]
    assert sorted(row.status for row in r.h.rows(return_shipments)) == ["in_transit"] * 2
    assert {row.decision_id: row.status for row in r.h.rows(exchanges)} == {
        bad: "ready", good: "ready"}
    told = {json.loads(m.context)["decision_id"]: (m.status, m.last_error)
            for m in r.h.rows(outbox, kind="exchange.ready_to_ship")}
    assert told == {bad: ("failed", f"not sent: {UNREADABLE}"), good: ("queued", None)}
    assert _errors(caplog) == [
        f"exchange {bad}, order 1001: exchange.ready_to_ship is not sent: {UNREADABLE}"]
    worker = r.h.runtime.exchanges
    assert worker is not None
    assert worker.run_once() == 2  # then the worker: one shipped, one to a person
    assert {row.decision_id: row.status for row in r.h.rows(exchanges)} == {
        bad: "failed", good: "shipped"}


def test_the_expiry_sweep_goes_on_past_an_instant_exchange_that_cannot_be_read(
    returns_service: Callable[..., Returns], caplog: pytest.LogCaptureFixture,
) -> None:
    r, bad, good = _two_swaps(returns_service, "approval")  # shipped at approval
    _corrupt(r, bad)
    caplog.clear()

    r.h.clock.advance(38 * 86400)  # neither original came back: both returns expire
    r.labels()
    r.labels()  # a second round records nothing more

    assert sorted(row.status for row in r.h.rows(return_shipments)) == ["expired"] * 2
    # 20.00 due for the good one's original (30.00 less the 10.00 back the shop kept); none
    # recorded on a guess for the bad one: its decision goes to a person
    assert [(d.decision_id, d.amount) for d in r.h.rows(exchange_dues)] == [(good, 2000)]
    why = f"the original's value due is not recorded: {UNREADABLE}"
    assert [(row.decision_id, row.status, row.reason) for row in r.h.rows(reviews)] == [
        (bad, "open", f"exchange_unreadable: {why}")]
    assert _errors(caplog) == [f"instant exchange {bad}, order 1001: {why}"]
    assert sorted((a.decision_id, a.status, int(a.amount))
                  for a in r.h.rows(refund_attempts)) == sorted(
        [(bad, "canceled", 1000), (good, "canceled", 1000)])
