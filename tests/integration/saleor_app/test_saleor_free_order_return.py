"""A free Saleor order's approved return (total 0, no transaction: nothing to refund, so no
refund attempt) is told to Saleor as a paid order's first attempt tells it: the return recorded
with ``orderFulfillmentReturnProducts`` and ``refund: false``, once, and nothing else (no
granted refund of 0, no refund request, no gift card). Its row is written in the decision's
transaction; a redelivered request, a lost answer, a try that never reached Saleor and a worker
that died holding it each leave exactly one return in Saleor. The variables sent are valid input
on Saleor 3.20 and 3.23."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import graphql
import pytest
from graphql.execution.values import get_variable_values
from sqlalchemy import delete, insert, select

from refunds_plugin.bootstrap import build
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger import facts as facts_mod
from refunds_plugin.ledger import saleor_returns as ledger_returns
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.decisions import find_decision
from refunds_plugin.ledger.tables import (
    decisions,
    exchanges,
    ledger_entries,
    provider_refunds,
    refund_attempts,
    saleor_returns,
)
from refunds_plugin.saleor.graphql import RETURN_PRODUCTS
from tests.fakes import Clock
from tests.fakes.saleor_api import APP_ID, FakeSaleor
from tests.fakes.saleor_harness import STOREFRONT_SECRET, SaleorHarness, rows
from tests.integration.saleor_app.conftest import install
from webhooks import signatures

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
FUL_LINE = "RnVsZmlsbG1lbnRMaW5lO0"
FULFILLMENT = "RnVsZmlsbG1lbnQ:1"  # the fake's first id: the RETURNED fulfillment it makes
SENT = ("RefundsReturnProducts", {"order": ORDER, "input": {
    "fulfillmentLines": [{"fulfillmentLineId": FUL_LINE, "quantity": 1}],
    "orderLines": [], "refund": False}})
RECORDED = {"return": "requested", "return_fulfillment": FULFILLMENT, "returned_before": []}


def _free_order(shop: SaleorHarness) -> None:
    """Two shirts for 0.00 (a 100% voucher), no transaction; Saleor's signed ORDER_FULLY_PAID."""
    shop.saleor.add_order(ORDER, lines=[(LINE, 2, "0.00")], shipping="0.00", free=True)
    resp = shop.webhook("ORDER_FULLY_PAID", ORDER)
    assert resp.status_code == 200, resp.get_data(as_text=True)


def _ask(shop: SaleorHarness, event: str = "sf_evt_free") -> Any:
    """The storefront's signed return request for one shirt, the same bytes on each delivery."""
    body = json.dumps({"id": event, "type": "return.requested", "data": {"return": {
        "id": "ret_free", "order_id": ORDER,
        "lines": [{"line_id": LINE, "quantity": 1, "reason": "changed_mind"}]}}}).encode()
    return shop.client.post("/webhooks/storefront", data=body, headers={
        "Refunds-Signature": signatures.sign(STOREFRONT_SECRET, body),
        "Content-Type": "application/json"})


def _row(shop: SaleorHarness) -> tuple[Any, ...]:
    [row] = rows(shop, saleor_returns)
    return (row.status, json.loads(row.lines), json.loads(row.progress), row.fulfillment_id,
            row.tries, row.last_error)


def _entries(shop: SaleorHarness, decision_id: str) -> list[dict[str, Any]]:
    le = ledger_entries.c
    with shop.engine.connect() as conn:
        return [json.loads(b) for b in conn.execute(
            select(le.body).where(le.subject_id == decision_id, le.entry_type == "saleor_return")
            .order_by(le.seq)).scalars()]


def _round(shop: SaleorHarness) -> int:
    assert shop.runtime.saleor_returns is not None
    return shop.runtime.saleor_returns.run_once()


def _returned(saleor: FakeSaleor) -> list[tuple[str, list[tuple[str, int]]]]:
    """Saleor's RETURNED fulfillments: (id, [(order line, units)])."""
    return [(f["id"], [(fl["orderLine"]["id"], fl["quantity"]) for fl in f["lines"]])
            for f in saleor.orders[ORDER]["fulfillments"] if f["status"] == "RETURNED"]


def test_a_free_orders_return_is_recorded_in_saleor_once_and_nothing_is_refunded(
    installed: SaleorHarness, saleor_schema_dir: Path,
) -> None:
    _free_order(installed)

    answer = _ask(installed).get_json()
    assert (answer["outcome"], answer["refund_amount"], answer["amount"], answer["attempts"]) \
        == ("approve", 0, 0, [])
    decision_id = answer["decision_id"]
    assert _row(installed) == ("pending", {LINE: 1}, {}, None, 0, None)
    assert installed.saleor.mutations() == []  # the decision's transaction called nobody
    # the same request delivered again is the same decision: no second row
    again = _ask(installed).get_json()
    assert (again["duplicate"], again["decision_id"]) == (True, decision_id)

    assert _round(installed) == 1

    assert installed.saleor.mutations() == [SENT]
    assert _row(installed) == ("recorded", {LINE: 1}, RECORDED, FULFILLMENT, 1, None)
    assert _entries(installed, decision_id) == [
        {"status": "pending", "order_id": ORDER, "lines": {LINE: 1}},
        {"status": "recorded", "fulfillment_id": FULFILLMENT}]
    order = installed.saleor.orders[ORDER]
    assert (_returned(installed.saleor), order["status"]) == (
        [(FULFILLMENT, [(LINE, 1)])], "PARTIALLY_RETURNED")
    # no money asked for: no grant of 0, no refund, no gift card, no attempt
    assert (order["grantedRefunds"], installed.saleor.gift_cards) == ([], [])
    assert (rows(installed, refund_attempts), rows(installed, provider_refunds)) == ([], [])

    # Saleor's ORDER_UPDATED for the return the app made, and the request once more
    resp = installed.webhook("ORDER_UPDATED", ORDER,
                             principal={"__typename": "App", "id": APP_ID, "identifier": "x"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert _ask(installed).get_json()["duplicate"] is True
    assert _round(installed) == 0
    assert installed.saleor.mutations() == [SENT]

    # what was sent is valid input on both Saleor versions
    operation = graphql.parse(RETURN_PRODUCTS).definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    for version in ("3.20", "3.23"):
        schema = graphql.build_schema(
            (saleor_schema_dir / f"schema-{version}.graphql").read_text(encoding="utf-8"))
        coerced = get_variable_values(schema, operation.variable_definitions or [], SENT[1])
        assert not isinstance(coerced, list), [str(e) for e in coerced]


def test_the_executors_loop_records_it_each_round(installed: SaleorHarness,
                                                  clock: Clock) -> None:
    _free_order(installed)
    _ask(installed)
    runtime = build(installed.runtime.config, engine=installed.engine,
                    providers=installed.runtime.providers, clock=clock, with_executor=True)
    assert runtime.executor is not None and runtime.executor.poller is not None

    runtime.executor.poller()  # the background steps of one round of its loop

    assert installed.saleor.mutations() == [SENT]
    assert _row(installed)[0] == "recorded"


def test_a_lost_answer_finds_the_return_saleor_made_and_sends_no_second(
    installed: SaleorHarness, clock: Clock,
) -> None:
    _free_order(installed)
    _ask(installed)
    installed.saleor.fail["RefundsReturnProducts"] = ["network_after"]

    assert _round(installed) == 1

    [row] = rows(installed, saleor_returns)
    assert (row.status, row.tries, row.claim_until, json.loads(row.progress)) == (
        "pending", 1, None, {"return": "requested", "returned_before": []})
    assert row.last_error == ("network_error: could not reach Saleor at "
                              "https://shop.example.com/graphql/: ConnectionError")
    wait = (row.next_try_at.replace(tzinfo=clock.now.tzinfo) - clock.now).total_seconds()
    assert 1.0 <= wait <= 2.0  # the executor's backoff: 2 s with jitter
    assert _round(installed) == 0  # not due yet
    clock.advance(2)

    assert _round(installed) == 1

    assert installed.saleor.mutations() == [SENT]
    assert _row(installed) == ("recorded", {LINE: 1}, RECORDED, FULFILLMENT, 2,
                               None)
    assert _returned(installed.saleor) == [(FULFILLMENT, [(LINE, 1)])]


def test_a_try_that_never_reached_saleor_is_sent_once_on_the_next(
    installed: SaleorHarness, clock: Clock,
) -> None:
    _free_order(installed)
    _ask(installed)
    installed.saleor.fail["RefundsReturnProducts"] = ["network_before"]

    assert _round(installed) == 1
    assert installed.saleor.mutations() == []
    clock.advance(2)
    assert _round(installed) == 1

    assert installed.saleor.mutations() == [SENT]
    assert _row(installed) == ("recorded", {LINE: 1}, RECORDED, FULFILLMENT, 2, None)


def test_a_worker_that_died_after_saleor_recorded_it_leaves_one_return(
    installed: SaleorHarness, clock: Clock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _free_order(installed)
    _ask(installed)
    saved = ledger_returns.save_progress

    def dies_after_the_call(conn: Any, decision_id: str, progress: dict[str, Any],
                            now: Any) -> None:
        if "return_fulfillment" in progress:  # Saleor answered; the process dies here
            raise KeyboardInterrupt
        saved(conn, decision_id, progress, now)

    monkeypatch.setattr(ledger_returns, "save_progress", dies_after_the_call)
    with pytest.raises(KeyboardInterrupt):
        _round(installed)
    monkeypatch.setattr(ledger_returns, "save_progress", saved)
    [row] = rows(installed, saleor_returns)
    assert (row.status, row.tries, json.loads(row.progress)) == (
        "pending", 1, {"return": "requested", "returned_before": []})
    assert _round(installed) == 0  # its lease still holds
    clock.advance(61)

    assert _round(installed) == 1

    assert installed.saleor.mutations() == [SENT]
    assert _row(installed) == ("recorded", {LINE: 1}, RECORDED, FULFILLMENT, 2, None)


def test_a_return_no_try_can_record_is_failed_at_once_for_a_person(
    installed: SaleorHarness, clock: Clock,
) -> None:
    _free_order(installed)
    decision_id = _ask(installed).get_json()["decision_id"]
    del installed.saleor.orders[ORDER]  # staff deleted the order in the Dashboard

    assert _round(installed) == 1

    why = f"order_not_found: Saleor has no order {ORDER}"
    assert _row(installed) == ("failed", {LINE: 1}, {}, None, 1, why)
    assert _entries(installed, decision_id)[1:] == [{"status": "failed", "error": why}]
    clock.advance(3600)
    assert _round(installed) == 0
    assert installed.saleor.mutations() == []


@pytest.fixture
def two_tries(any_db_url: str, clock: Clock, saleor: FakeSaleor) -> Iterator[SaleorHarness]:
    h = install(any_db_url, clock, saleor, executor_max_tries=2)
    yield h
    h.close()


def test_a_refused_token_is_tried_again_then_failed_for_a_person(
    two_tries: SaleorHarness, clock: Clock,
) -> None:
    _free_order(two_tries)
    _ask(two_tries)
    two_tries.saleor.fail["RefundsReturnProducts"] = ["permission", "permission"]

    assert _round(two_tries) == 1
    assert _row(two_tries)[0::4] == ("pending", 1)
    clock.advance(2)
    assert _round(two_tries) == 1

    assert _row(two_tries)[0::4] == ("failed", 2)
    assert _row(two_tries)[5] == (
        "gave up after 2 tries: permission_denied: Saleor refused the app's token or "
        "permissions: You need one of the following permissions: MANAGE_ORDERS")
    assert _returned(two_tries.saleor) == []


REVIEWED = """
window: {days: 1, start: payment, outside: review}
"""


@pytest.fixture
def reviewing(any_db_url: str, clock: Clock, saleor: FakeSaleor,
              tmp_path: Path) -> Iterator[SaleorHarness]:
    h = install(any_db_url, clock, saleor, tmp_path / "review.yaml", REVIEWED)
    yield h
    h.close()


def test_a_person_approving_a_free_orders_review_has_its_return_recorded_once(
    reviewing: SaleorHarness, clock: Clock,
) -> None:
    _free_order(reviewing)
    answer = _ask(reviewing).get_json()
    assert (answer["outcome"], answer["reason_code"]) == ("review", "outside_window_review")
    decision_id = answer["decision_id"]
    assert rows(reviewing, saleor_returns) == []
    # the rule's other limits: the fallback of an exchange that made its replacement (its
    # return brought those lines back), an order outside Saleor and a return a Saleor attempt
    # records record no row
    with write_tx(reviewing.engine) as conn:
        facts = facts_mod.load_facts(conn, ORDER, clock(), 90)
        found = find_decision(conn, ORDER, "return:ret_free")
        assert facts is not None and found is not None
        conn.execute(insert(exchanges).values(
            decision_id=decision_id, order_id=ORDER, currency="USD", status="fallen_back",
            ship_on="delivered", difference=0, charge_amount=0, waived_amount=0, back_amount=0,
            replacement_id="T3JkZXI6Mg==", created_at=clock(), updated_at=clock()))
        assert ledger_returns.open_for(conn, decision_id, found.decision, facts,
                                       f"exchange-fallback:{decision_id}", [], clock()) is False
        conn.execute(delete(exchanges))
        assert ledger_returns.open_for(conn, decision_id, found.decision,
                                       replace(facts, source="storefront"),
                                       "return:ret_free", [], clock()) is False
        assert ledger_returns.open_for(conn, decision_id, found.decision, facts,
                                       "return:ret_free", [{"provider": "saleor"}],
                                       clock()) is False
    assert rows(reviewing, saleor_returns) == []

    decide(reviewing.engine, reviewing.runtime.service, decision_id, approve=True,
           by="ann@shop.example.com", note="a gift, it may come back", now=clock())
    assert _row(reviewing) == ("pending", {LINE: 1}, {}, None, 0, None)
    assert _round(reviewing) == 1

    assert reviewing.saleor.mutations() == [SENT]
    assert _row(reviewing) == ("recorded", {LINE: 1}, RECORDED, FULFILLMENT, 1, None)
    assert rows(reviewing, refund_attempts) == []
    [made] = rows(reviewing, decisions)
    assert (made.outcome, made.refund_amount) == ("review", 0)


def test_a_paid_orders_return_is_still_recorded_by_its_refund_attempt_alone(
    installed: SaleorHarness,
) -> None:
    installed.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert _ask(installed).get_json()["refund_amount"] == 1250

    assert rows(installed, saleor_returns) == []
    assert _round(installed) == 0
    installed.executor.drain()
    assert [op for op, _ in installed.saleor.mutations()] == [
        "RefundsReturnProducts", "RefundsGrantRefund", "RefundsRequestGrantedRefund"]
    assert installed.saleor.mutations("RefundsReturnProducts") == [SENT]

