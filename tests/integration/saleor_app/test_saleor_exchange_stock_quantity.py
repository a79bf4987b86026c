"""Saleor's stock is checked for the quantity asked: 2 shirts exchanged for size L when Saleor
has only 1 left is no exchange (they come back as the policy's refund instead), not one approved
that fails later when ``draftOrderComplete`` finds too little stock. Enough stock for every unit
is exchanged as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from refunds_plugin.ledger.tables import decisions, exchanges
from tests.fakes import Clock
from tests.fakes.saleor_api import FakeSaleor, money
from tests.fakes.saleor_harness import STOREFRONT_SECRET, SaleorHarness, rows
from tests.integration.saleor_app.test_saleor_exchange import (
    LINE,
    NEW_VARIANT,
    ORDER,
    POLICY,
    exchange_ops,
)
from tests.integration.shipping.conftest import SHOP
from webhooks import signatures

PRODUCT = "UHJvZHVjdDox"


def _ask_two(any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path,
             left: int) -> tuple[SaleorHarness, Any]:
    """An order of 2 shirts M (40.00 each) on a same-product policy, Saleor holding ``left``
    shirts L; both asked to be exchanged for L: (the shop, the answer)."""
    policy = tmp_path / "exchange.yaml"
    policy.write_text(POLICY.format(ship_on="first_scan", scope="same_product"))
    h = SaleorHarness(any_db_url, clock, saleor, policy=str(policy), return_addresses=(SHOP,))
    assert h.install().status_code == 200
    saleor.add_order(ORDER, lines=[(LINE, 2, "40.00")], shipping="5.00")
    saleor.products[PRODUCT] = {"id": PRODUCT, "name": "Shirt", "variants": [
        {"id": NEW_VARIANT, "name": "L", "sku": "SHIRT-L",
         "pricing": {"price": {"gross": money("40.00", "USD")}}}]}
    saleor.stock[NEW_VARIANT] = left
    assert h.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    body = json.dumps({"id": "sf_evt_two", "type": "return.requested", "data": {"return": {
        "id": "ret_two", "order_id": ORDER, "lines": [{
            "line_id": LINE, "quantity": 2, "reason": "too_small",
            "exchange_for": {"sku": "SHIRT-L", "name": "Shirt L", "unit_amount": 4000,
                             "variant_id": NEW_VARIANT, "in_stock": True}}]}}}).encode()
    answer = h.client.post("/webhooks/storefront", data=body, headers={
        "Refunds-Signature": signatures.sign(STOREFRONT_SECRET, body),
        "Content-Type": "application/json"})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return h, answer


def _exchange_said(h: SaleorHarness) -> dict[str, Any]:
    [decision] = rows(h, decisions)
    [said] = [t for t in json.loads(decision.body)["trace"] if t["rule"] == "exchange"]
    return dict(said)


def test_two_units_asked_when_saleor_has_one_are_not_exchanged(
    any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path,
) -> None:
    h, answer = _ask_two(any_db_url, clock, saleor, tmp_path, left=1)
    try:
        said = _exchange_said(h)
        assert (said["code"], said["message"]) == (
            "exchange_out_of_stock", "We can't exchange Shirt (M): Shirt L is out of stock, so "
            "it comes back as a refund instead.")
        assert answer.get_json().get("exchange") is None
        assert rows(h, exchanges) == []
        # no replacement draft asked of Saleor: the shirts come back as a plain return
        assert saleor.drafts == {}
        assert not any(v["input"]["fulfillmentLines"][0].get("replace")
                       for _, v in saleor.mutations("RefundsReturnProducts"))
        assert saleor.stock[NEW_VARIANT] == 1
    finally:
        h.close()


@pytest.mark.parametrize("left", [2, 5])
def test_enough_stock_for_every_unit_is_exchanged(
    any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path, left: int,
) -> None:
    h, answer = _ask_two(any_db_url, clock, saleor, tmp_path, left=left)
    try:
        assert _exchange_said(h)["code"] == "exchange_approved"
        assert answer.get_json()["exchange"] is not None
        [row] = rows(h, exchanges)
        assert row.status == "waiting"
        assert exchange_ops(saleor) == ["RefundsReturnProducts"]
    finally:
        h.close()
