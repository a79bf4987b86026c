"""Receiving a Saleor return: a match releases the refund that waited for the inspection, and
what goes back on the shelf raises the variant's stock in the configured warehouse, once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from refunds_plugin.config import ReturnAddress
from refunds_plugin.ledger.tables import follow_ups, orders, return_receipts, return_shipments
from refunds_plugin.shipping.desk import LEASE, ShippingDesk
from refunds_plugin.shipping.restock import Planned
from tests.fakes import Clock
from tests.fakes.saleor_api import FakeSaleor
from tests.fakes.saleor_harness import SaleorHarness, journal
from tests.fakes.saleor_harness import rows as _rows

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
VARIANT = "UHJvZHVjdFZhcmlhbnQ6MQ=="
WAREHOUSE = "V2FyZWhvdXNlOjE="
POLICY = """currency: USD
window: {days: 365, start: payment}
refund_on: inspected
"""
ADDRESS = {"firstName": "Ann", "lastName": "Lee", "companyName": "",
           "streetAddress1": "9 Elm St", "streetAddress2": "", "city": "BOSTON",
           "postalCode": "02108", "country": {"code": "US"}}


@pytest.fixture
def shop(any_db_url: str, clock: Clock, saleor: FakeSaleor,
         tmp_path: Path) -> Iterator[SaleorHarness]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    h = SaleorHarness(any_db_url, clock, saleor, policy=str(policy),
                      saleor_restock_warehouse=WAREHOUSE,
                      return_addresses=(ReturnAddress("Returns", "1 Dock Rd", "Austin", "78701",
                                                      "US"),))
    assert h.install().status_code == 200
    yield h
    h.close()


def _returned(shop: SaleorHarness) -> str:
    shop.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping_address=ADDRESS)
    shop.saleor.stocks[(VARIANT, WAREHOUSE)] = 7
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    resp = shop.return_request(ORDER, [(LINE, 2, "changed_mind")])
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["return_instructions"]["status"] == "instructions"
    return str(body["decision_id"])


def test_a_matching_receipt_releases_the_refund_and_restocks_saleor_once(
    shop: SaleorHarness,
) -> None:
    decision_id = _returned(shop)
    [row] = _rows(shop, return_shipments)
    assert row.from_address == ('{"city":"BOSTON","country":"US","name":"Ann Lee",'
                                '"postal_code":"02108","street":"9 Elm St"}')
    shop.executor.drain()
    assert [a.status for a in shop.attempts()] == ["held"]
    assert shop.saleor.mutations() == []

    receipt = shop.runtime.service.receive(decision_id, {LINE: ("as_new", None, True)}, "dock")

    assert receipt.to_json()["restock"] == [
        {"line_id": LINE, "quantity": 2, "status": "done",
         "received_at": receipt.to_json()["restock"][0]["received_at"]}]
    assert shop.saleor.mutations("RefundsRestock") == [
        ("RefundsRestock", {"variantId": VARIANT,
                            "stocks": [{"warehouse": WAREHOUSE, "quantity": 9}]})]
    assert shop.saleor.stocks[(VARIANT, WAREHOUSE)] == 9
    assert [a.status for a in shop.attempts()] == ["pending"]

    again = shop.runtime.service.receive(decision_id, {LINE: ("as_new", 2, True)}, "dock")

    assert again.duplicate and again.matched
    assert len(shop.saleor.mutations("RefundsRestock")) == 1
    assert shop.saleor.stocks[(VARIANT, WAREHOUSE)] == 9
    assert [(r.line_id, r.quantity, r.condition, r.restock, r.restock_status)
            for r in _rows(shop, return_receipts)] == [(LINE, 2, "as_new", 1, "done")]
    restocked = [b for b in journal(shop, decision_id) if b.get("line_id") == LINE]
    assert restocked == [{"line_id": LINE, "status": "done", "note": f"+2 in {WAREHOUSE}"}]
    shop.executor.drain()
    assert [m[0] for m in shop.saleor.mutations()] == [
        "RefundsRestock", "RefundsReturnProducts", "RefundsGrantRefund",
        "RefundsRequestGrantedRefund"]


def _restock_row(shop: SaleorHarness) -> tuple[str, int, int | None, int | None]:
    [r] = _rows(shop, return_receipts)
    return r.restock_status, r.restock_tries, r.restock_before, r.restock_target


def _desk(shop: SaleorHarness) -> ShippingDesk:
    desk = shop.runtime.shipping_desk
    assert desk is not None and desk.restocker is not None
    return desk


def test_a_restock_that_died_after_saleor_set_the_stock_is_not_added_again(
    shop: SaleorHarness, clock: Clock,
) -> None:
    decision_id = _returned(shop)
    desk = _desk(shop)
    real = desk.restocker
    assert real is not None

    def dies_after_the_call(*args: Any) -> str:
        real(*args)
        raise RuntimeError("the worker was killed before it recorded the restock")

    desk.restocker = dies_after_the_call
    with pytest.raises(RuntimeError):
        shop.runtime.service.receive(decision_id, {LINE: ("as_new", None, True)}, "dock")
    desk.restocker = real
    assert _restock_row(shop) == ("in_progress", 1, 7, 9)
    assert shop.saleor.stocks[(VARIANT, WAREHOUSE)] == 9
    assert desk.restock_due() == 0  # the dead try's lease still holds it

    clock.advance(LEASE.total_seconds() + 1)
    assert desk.restock_due() == 1

    assert _restock_row(shop) == ("done", 2, 7, 9)
    assert shop.saleor.stocks[(VARIANT, WAREHOUSE)] == 9
    assert len(shop.saleor.mutations("RefundsRestock")) == 1
    assert [b for b in journal(shop, decision_id) if b.get("line_id") == LINE] == [
        {"line_id": LINE, "status": "done",
         "note": f"+2 in {WAREHOUSE} (already set to 9 by an earlier try)"}]
    assert desk.restock_due() == 0


def test_a_restock_that_died_before_the_call_sets_the_stock_once_on_the_retry(
    shop: SaleorHarness, clock: Clock,
) -> None:
    decision_id = _returned(shop)
    desk = _desk(shop)
    real = desk.restocker
    assert real is not None

    def dies_before_the_call(api: str, variant: str, warehouse: str, units: int,
                             planned: Planned | None, plan: Callable[[Planned], None]) -> str:
        def plan_then_die(p: Planned) -> None:
            plan(p)
            raise RuntimeError("killed between the plan and the call")
        return real(api, variant, warehouse, units, planned, plan_then_die)

    desk.restocker = dies_before_the_call
    with pytest.raises(RuntimeError):
        shop.runtime.service.receive(decision_id, {LINE: ("as_new", None, True)}, "dock")
    desk.restocker = real
    assert (_restock_row(shop), shop.saleor.stocks[(VARIANT, WAREHOUSE)]) == (
        ("in_progress", 1, 7, 9), 7)

    clock.advance(LEASE.total_seconds() + 1)
    assert desk.restock_due() == 1

    assert (_restock_row(shop), shop.saleor.stocks[(VARIANT, WAREHOUSE)]) == (("done", 2, 7, 9), 9)
    assert shop.saleor.mutations("RefundsRestock") == [
        ("RefundsRestock", {"variantId": VARIANT,
                            "stocks": [{"warehouse": WAREHOUSE, "quantity": 9}]})]


def test_a_lost_saleor_answer_is_retried_with_backoff_and_adds_the_units_once(
    shop: SaleorHarness, clock: Clock,
) -> None:
    decision_id = _returned(shop)
    desk = _desk(shop)
    shop.saleor.fail["RefundsRestock"] = ["network_after"]  # Saleor set it; the answer is lost

    receipt = shop.runtime.service.receive(decision_id, {LINE: ("as_new", None, True)}, "dock")

    assert [r["status"] for r in receipt.to_json()["restock"]] == ["pending"]
    assert _restock_row(shop) == ("pending", 1, 7, 9)
    assert desk.restock_due() == 0  # waiting for its backoff
    clock.advance(3600)
    assert desk.restock_due() == 1
    assert _restock_row(shop) == ("done", 2, 7, 9)
    assert shop.saleor.stocks[(VARIANT, WAREHOUSE)] == 9
    assert len(shop.saleor.mutations("RefundsRestock")) == 1


def test_a_stock_that_moved_since_an_interrupted_restock_goes_to_a_person_not_a_guess(
    shop: SaleorHarness, clock: Clock,
) -> None:
    decision_id = _returned(shop)
    desk = _desk(shop)
    shop.saleor.fail["RefundsRestock"] = ["network_before"]  # the call never reached Saleor
    shop.runtime.service.receive(decision_id, {LINE: ("as_new", None, True)}, "dock")
    shop.saleor.stocks[(VARIANT, WAREHOUSE)] = 6  # a sale in the meantime
    clock.advance(3600)

    assert desk.restock_due() == 0

    assert _restock_row(shop) == ("failed", 2, 7, 9)
    assert shop.saleor.stocks[(VARIANT, WAREHOUSE)] == 6
    assert shop.saleor.mutations("RefundsRestock") == []
    [told] = [b for b in journal(shop, decision_id) if b.get("line_id") == LINE]
    assert told == {"line_id": LINE, "status": "failed", "note": (
        f"the stock of {VARIANT} in {WAREHOUSE} is 6: an interrupted restock read 7 and was to "
        "set 9; check by hand whether the 2 unit(s) are counted")}


def test_a_restock_whose_order_cannot_be_read_fails_with_why_and_the_round_restocks_the_next(
    shop: SaleorHarness, clock: Clock, caplog: pytest.LogCaptureFixture,
) -> None:
    other, other_line = "T3JkZXI6Mg==", "T3JkZXJMaW5lOjI="
    first = _returned(shop)
    paid = shop.saleor.add_order(other, lines=[(other_line, 1, "12.50")],
                                 shipping_address=ADDRESS)
    paid["number"] = "1002"  # its own number and payment
    paid["transactions"][0].update(id="VHJhbnNhY3Rpb25JdGVtOjI=", pspReference="psp_2")
    paid["transactions"][0]["events"][0]["pspReference"] = "psp_2"
    assert shop.webhook("ORDER_FULLY_PAID", other).status_code == 200
    second = str(shop.return_request(other, [(other_line, 1, "changed_mind")]).get_json()[
        "decision_id"])
    desk = _desk(shop)
    real, desk.restocker = desk.restocker, None  # both received; their restocks wait
    shop.runtime.service.receive(first, {LINE: ("as_new", None, True)}, "dock")
    clock.advance(1)
    shop.runtime.service.receive(second, {other_line: ("as_new", None, True)}, "dock")
    desk.restocker = real
    with shop.engine.begin() as conn:  # the first order's stored extra, cut short
        conn.execute(update(orders).where(orders.c.order_id == ORDER)
                     .values(extra='{"saleor": {"api_url": "https://sal'))
    caplog.clear()

    assert desk.restock_due() == 1

    why = ("not restocked: its order's stored extra (orders.extra) cannot be read (not valid "
           "JSON: Unterminated string starting at: line 1 column 24 (char 23)); a person must "
           "repair the row and restock by hand")
    assert sorted((r.decision_id, r.restock_status, r.restock_note)
                  for r in _rows(shop, return_receipts)) == sorted(
        [(first, "failed", why), (second, "done", f"+1 in {WAREHOUSE}")])
    assert shop.saleor.stocks[(VARIANT, WAREHOUSE)] == 8  # the second's one unit, once
    assert [b for b in journal(shop, first) if b.get("line_id") == LINE] == [
        {"line_id": LINE, "status": "failed", "note": why}]
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f"the restock of line {LINE} of decision {first}: {why}"]

    clock.advance(3600)  # nothing is tried again
    assert desk.restock_due() == 0
    assert len(shop.saleor.mutations("RefundsRestock")) == 1
    assert len([r for r in caplog.records if r.levelname == "ERROR"]) == 1


def test_a_restock_that_failed_is_put_in_front_of_a_person(
    shop: SaleorHarness, clock: Clock,
) -> None:
    """The journal alone is read by nobody: a failed restock opens a ``restock_failed``
    follow-up (``/finance/follow-ups``) naming the return, the line and why, once."""
    decision_id = _returned(shop)
    desk = _desk(shop)
    shop.saleor.fail["RefundsRestock"] = ["network_before"]
    shop.runtime.service.receive(decision_id, {LINE: ("as_new", None, True)}, "dock")
    shop.saleor.stocks[(VARIANT, WAREHOUSE)] = 6  # a sale in the meantime
    clock.advance(3600)
    assert desk.restock_due() == 0
    clock.advance(3600)
    assert desk.restock_due() == 0  # a later round tells no one twice

    assert [(f.kind, f.order_id, f.subject, f.status, f.detail)
            for f in _rows(shop, follow_ups)] == [(
        "restock_failed", ORDER, decision_id, "open",
        f"Return {decision_id}: line {LINE} was not restocked in Saleor: the stock of {VARIANT} "
        f"in {WAREHOUSE} is 6: an interrupted restock read 7 and was to set 9; check by hand "
        "whether the 2 unit(s) are counted. Check the variant's stock in the Saleor dashboard "
        "and set it by hand.")]
