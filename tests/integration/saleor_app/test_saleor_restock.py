"""Receiving a Saleor return: a match releases the refund that waited for the inspection, and
what goes back on the shelf raises the variant's stock in the configured warehouse, once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from refunds_plugin.config import ReturnAddress
from refunds_plugin.ledger.tables import return_receipts, return_shipments
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
