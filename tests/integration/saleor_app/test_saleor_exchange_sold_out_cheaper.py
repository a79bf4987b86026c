"""A Saleor exchange for a cheaper variant whose difference was already refunded, and which sold
out before it shipped: a person decides what instead. The exchange worker stops completing the
replacement (no Saleor call every round, and no order shipped later when stock comes back while
that person settles it by hand)."""

from __future__ import annotations

import json
from pathlib import Path

from refunds_plugin.exchanges.shipping import ship_on_reached
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import exchanges, refund_attempts, reviews
from tests.fakes import Clock
from tests.fakes.saleor_api import FakeSaleor
from tests.fakes.saleor_harness import STOREFRONT_SECRET, SaleorHarness, rows
from tests.integration.saleor_app.test_saleor_exchange import LINE, NEW_VARIANT, ORDER
from tests.integration.shipping.conftest import SHOP
from webhooks import signatures

POLICY = """
window: {days: 365, start: payment}
resolution: {allow: [refund, credit, exchange]}
exchange: {scope: any_product, ship_on: first_scan, price_difference: {lower: refund}}
"""


def test_a_cheaper_variant_sold_out_after_its_difference_went_back_is_never_shipped_alone(
    any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path,
) -> None:
    policy = tmp_path / "exchange.yaml"
    policy.write_text(POLICY)
    shop = SaleorHarness(any_db_url, clock, saleor, policy=str(policy), return_addresses=(SHOP,))
    try:
        assert shop.install().status_code == 200
        saleor.add_order(ORDER, lines=[(LINE, 1, "40.00")], shipping="5.00")
        saleor.stock[NEW_VARIANT] = 0
        assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
        body = json.dumps({"id": "sf_evt_x1", "type": "return.requested", "data": {"return": {
            "id": "ret_x", "order_id": ORDER, "lines": [{
                "line_id": LINE, "quantity": 1, "reason": "too_small",
                "exchange_for": {"sku": "SHIRT-S", "name": "Shirt S", "unit_amount": 3500,
                                 "variant_id": NEW_VARIANT, "in_stock": True}}]}}}).encode()
        answer = shop.client.post("/webhooks/storefront", data=body, headers={
            "Refunds-Signature": signatures.sign(STOREFRONT_SECRET, body),
            "Content-Type": "application/json"})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        decision_id = answer.get_json()["decision_id"]
        with write_tx(shop.engine) as conn:
            ship_on_reached(conn, decision_id, "delivered")
        assert shop.runtime.exchanges is not None

        for _ in range(3):
            shop.runtime.exchanges.run_once()
            clock.advance(600)
        saleor.stock[NEW_VARIANT] = 3  # back in stock while a person settles it by hand
        for _ in range(3):
            shop.runtime.exchanges.run_once()
            clock.advance(600)

        assert len(saleor.mutations("RefundsDraftComplete")) == 1
        assert [d["status"] for d in saleor.drafts.values()] == ["DRAFT"]
        [row] = rows(shop, exchanges)
        assert (row.status, row.back_amount, row.fallback_decision_id) == ("failed", 500, None)
        assert row.last_error.startswith("out_of_stock: out of stock (draftOrderComplete "
                                         "refused: INSUFFICIENT_STOCK")
        [review] = rows(shop, reviews)
        assert (review.decision_id, review.status) == (decision_id, "open")
        # only the cheaper item's 5.00: nothing else was decided or paid
        assert [(a.decision_id, a.kind, a.amount) for a in rows(shop, refund_attempts)] == [
            (decision_id, "refund", 500)]
    finally:
        shop.close()
