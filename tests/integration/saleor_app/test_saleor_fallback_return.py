"""An exchange's fallback that moves no money (a free order's) on a Saleor shop: where the
exchange never made its replacement (it fell back unpaid, or for stock before Saleor recorded
its return), nothing returned the exchanged lines, so the fallback's return gets a
``saleor_returns`` row and is recorded in Saleor (``refund: false``), once; where the exchange
made its replacement, its return (``replace: true``) brought them back and nothing is sent
again (real Saleor refuses it: INVALID_QUANTITY)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from refunds_plugin.exchanges import fallback
from refunds_plugin.exchanges.shipping import ship_on_reached
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.exchanges import get_exchange
from refunds_plugin.ledger.tables import decisions, exchanges, refund_attempts, saleor_returns
from tests.fakes import Clock
from tests.fakes.saleor_api import FakeSaleor
from tests.fakes.saleor_harness import STOREFRONT_SECRET, SaleorHarness, rows
from tests.integration.saleor_app.conftest import install
from tests.integration.shipping.conftest import SHOP
from webhooks import signatures

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
FUL_LINE = "RnVsZmlsbG1lbnRMaW5lO0"
NEW_VARIANT = "UHJvZHVjdFZhcmlhbnQ6Mg=="
POLICY = """
window: {days: 365, start: payment}
resolution: {allow: [refund, credit, exchange]}
exchange: {scope: any_product, ship_on: delivered}
"""


@pytest.fixture
def free_shop(any_db_url: str, clock: Clock, saleor: FakeSaleor,
              tmp_path: Path) -> Iterator[SaleorHarness]:
    """A free order (one shirt for 0.00, no transaction) and an exchange of it for another
    size at no cost, waiting for its parcel."""
    h = install(any_db_url, clock, saleor, tmp_path / "x.yaml", POLICY, return_addresses=(SHOP,))
    saleor.add_order(ORDER, lines=[(LINE, 1, "0.00")], shipping="0.00", free=True)
    saleor.stock[NEW_VARIANT] = 3
    assert h.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    yield h
    h.close()


def _exchange(shop: SaleorHarness) -> str:
    """The storefront's signed exchange request: Shirt M for Shirt L, at the same price."""
    body = json.dumps({"id": "sf_evt_x", "type": "return.requested", "data": {"return": {
        "id": "ret_x", "order_id": ORDER, "lines": [{
            "line_id": LINE, "quantity": 1, "reason": "too_small",
            "exchange_for": {"sku": "SHIRT-L", "name": "Shirt L", "unit_amount": 0,
                             "variant_id": NEW_VARIANT, "in_stock": True}}]}}}).encode()
    answer = shop.client.post("/webhooks/storefront", data=body, headers={
        "Refunds-Signature": signatures.sign(STOREFRONT_SECRET, body),
        "Content-Type": "application/json"}).get_json()
    assert (answer["exchange"]["status"], answer["refund_amount"]) == ("waiting", 0)
    return str(answer["decision_id"])


def _unpaid(shop: SaleorHarness, decision_id: str, clock: Clock) -> None:
    """The exchange's difference never paid (as a Checkout Session that expired leaves it):
    the exchange falls back to what the policy offers instead."""
    with write_tx(shop.engine) as conn:
        conn.execute(update(exchanges).where(exchanges.c.decision_id == decision_id)
                     .values(status="awaiting_payment"))
        row = get_exchange(conn, decision_id)
        assert row is not None
        service = shop.runtime.service
        fallback.fall_back(conn, service.policy, service.route, row, clock())


def _sold_out(shop: SaleorHarness, decision_id: str, _clock: Clock) -> None:
    """The storefront says the new item sold out (``exchange.out_of_stock``, signed)."""
    body = json.dumps({"id": "sf_evt_oos", "type": "exchange.out_of_stock",
                       "data": {"exchange": {"decision_id": decision_id}}}).encode()
    resp = shop.client.post("/webhooks/storefront", data=body, headers={
        "Refunds-Signature": signatures.sign(STOREFRONT_SECRET, body),
        "Content-Type": "application/json"})
    assert resp.status_code == 200, resp.get_data(as_text=True)


def _round(shop: SaleorHarness) -> int:
    assert shop.runtime.saleor_returns is not None
    return shop.runtime.saleor_returns.run_once()


def _returned(saleor: FakeSaleor) -> list[tuple[str, list[tuple[str, int]]]]:
    """Saleor's fulfillments: (status, [(order line, units)])."""
    return [(f["status"], [(fl["orderLine"]["id"], fl["quantity"]) for fl in f["lines"]])
            for f in saleor.orders[ORDER]["fulfillments"]]


@pytest.mark.parametrize("falls_back", [_unpaid, _sold_out], ids=["unpaid", "sold_out"])
def test_a_fallback_whose_exchange_returned_nothing_records_its_return_in_saleor_once(
    free_shop: SaleorHarness, saleor: FakeSaleor, clock: Clock, falls_back: Any,
) -> None:
    saleor.fail["RefundsReplacementOf"] = ["network_before"]  # Saleor away at approval
    decision_id = _exchange(free_shop)
    [ex] = rows(free_shop, exchanges)
    assert (ex.status, ex.replacement_id, ex.progress) == ("waiting", None, "{}")

    falls_back(free_shop, decision_id, clock)

    [ex] = rows(free_shop, exchanges)
    [instead] = [d for d in rows(free_shop, decisions) if d.id != decision_id]
    assert (ex.status, ex.fallback_decision_id, instead.request_key, instead.outcome,
            instead.refund_amount) == (
        "fallen_back", instead.id, f"exchange-fallback:{decision_id}", "approve", 0)
    assert rows(free_shop, refund_attempts) == []  # no money, so no attempt tells Saleor
    [row] = rows(free_shop, saleor_returns)
    assert (row.decision_id, row.order_id, json.loads(row.lines), row.status, row.tries) == (
        instead.id, ORDER, {LINE: 1}, "pending", 0)
    assert saleor.mutations() == []

    assert _round(free_shop) == 1
    assert _round(free_shop) == 0

    assert saleor.mutations() == [("RefundsReturnProducts", {"order": ORDER, "input": {
        "fulfillmentLines": [{"fulfillmentLineId": FUL_LINE, "quantity": 1}],
        "orderLines": [], "refund": False}})]
    [row] = rows(free_shop, saleor_returns)
    assert (row.status, row.fulfillment_id, row.tries, row.last_error) == (
        "recorded", "RnVsZmlsbG1lbnQ:1", 1, None)
    assert _returned(saleor) == [("RETURNED", [(LINE, 1)])]


def test_a_fallback_whose_exchange_made_its_replacement_sends_no_second_return(
    free_shop: SaleorHarness, saleor: FakeSaleor,
) -> None:
    decision_id = _exchange(free_shop)  # its return recorded with replace: true, the draft made
    [ex] = rows(free_shop, exchanges)
    assert ex.replacement_id is not None
    saleor.stock[NEW_VARIANT] = 0  # sold out before it ships: Saleor refuses to complete it
    with write_tx(free_shop.engine) as conn:
        ship_on_reached(conn, decision_id, "delivered")
    assert free_shop.runtime.exchanges is not None
    free_shop.runtime.exchanges.run_once()

    [ex] = rows(free_shop, exchanges)
    [instead] = [d for d in rows(free_shop, decisions) if d.id != decision_id]
    assert (ex.status, ex.fallback_decision_id, instead.refund_amount) == (
        "fallen_back", instead.id, 0)
    assert (rows(free_shop, saleor_returns), rows(free_shop, refund_attempts)) == ([], [])
    assert _round(free_shop) == 0
    assert saleor.mutations("RefundsReturnProducts") == [("RefundsReturnProducts", {
        "order": ORDER, "input": {"fulfillmentLines": [
            {"fulfillmentLineId": FUL_LINE, "quantity": 1, "replace": True}],
            "orderLines": [], "refund": False}})]
    assert _returned(saleor) == [("RETURNED", []), ("REPLACED", [(LINE, 1)])]
