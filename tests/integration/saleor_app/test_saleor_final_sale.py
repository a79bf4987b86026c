"""Final sale for a Saleor shop: product or variant metadata, product type, attribute values and
collections become the line tags the policy matches; a signed webhook stores them and a return
request is declined (or let through) with the policy's words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from refunds_plugin.ledger.tables import decisions, orders
from tests.fakes import Clock
from tests.fakes.saleor_api import FakeSaleor, product
from tests.fakes.saleor_harness import SaleorHarness

ORDER = "T3JkZXI6MQ=="
DRESS = "T3JkZXJMaW5lOjE="
SHIRT = "T3JkZXJMaW5lOjI="
POLICY = """
name: saleor-final-sale
window: {days: 365, start: payment, outside: review}
final_sale:
  tags: [final-sale, product-type:gift-cards, collection:clearance, attribute:sale:final]
reasons: {changed_mind: accept, too_small: accept, too_large: accept, other: accept}
resolution: {default: refund, allow: [refund]}
shipping: {refund_with_last_item: false, refund_on_merchant_fault: false}
"""


def _harness(db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path,
             **config: str) -> SaleorHarness:
    path = tmp_path / "final-sale.yaml"
    path.write_text(POLICY)
    h = SaleorHarness(db_url, clock, saleor, policy=str(path), **config)
    assert h.install().status_code == 200
    return h


@pytest.fixture
def final_shop(any_db_url: str, clock: Clock, saleor: FakeSaleor,
               tmp_path: Path) -> Iterator[SaleorHarness]:
    h = _harness(any_db_url, clock, saleor, tmp_path)
    yield h
    h.close()


def _paid(shop: SaleorHarness, dress_variant: dict) -> None:
    order = shop.saleor.add_order(ORDER, lines=[(DRESS, 1, "80.00"), (SHIRT, 1, "20.00")],
                                  shipping="0.00")
    order["lines"][0].update(productName="Silk dress", variantName="", variant=dress_variant)
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200


def _stored_tags(shop: SaleorHarness) -> dict[str, list[str]]:
    with shop.engine.connect() as conn:
        raw = conn.execute(select(orders.c.lines)).scalar_one()
    return {ln["id"]: ln["tags"] for ln in json.loads(raw)}


def _explanation(shop: SaleorHarness) -> str:
    with shop.engine.connect() as conn:
        return str(conn.execute(select(decisions.c.explanation)).scalar_one())


def test_a_product_marked_final_sale_in_metadata_is_declined_and_nothing_moves(final_shop):
    _paid(final_shop, product(metadata={"refunds.final_sale": "true"}, product_type="dresses"))
    assert _stored_tags(final_shop) == {
        DRESS: ["final-sale", "product-type:dresses"], SHIRT: ["product-type:shirts"]}

    body = final_shop.return_request(ORDER, [(DRESS, 1, "changed_mind")]).get_json()
    assert (body["outcome"], body["reason_code"], body["amount"]) == ("decline", "final_sale", 0)
    assert _explanation(final_shop) == (
        "We're sorry, we can't accept this return. Silk dress was sold as final sale and "
        "cannot be returned.")
    assert body["attempts"] == []
    final_shop.executor.drain()
    assert final_shop.saleor.mutations() == []


def test_the_final_sale_line_is_left_out_and_the_other_line_is_refunded(final_shop):
    _paid(final_shop, product(collections=("clearance",)))
    body = final_shop.return_request(
        ORDER, [(DRESS, 1, "changed_mind"), (SHIRT, 1, "changed_mind")]).get_json()
    assert (body["outcome"], body["reason_code"], body["refund_amount"]) == (
        "approve", "partially_approved", 2000)
    assert "Silk dress was sold as final sale and cannot be returned." in \
        _explanation(final_shop)
    final_shop.executor.drain()
    [(_, grant)] = final_shop.saleor.mutations("RefundsGrantRefund")
    assert (grant["input"]["amount"], grant["input"]["lines"]) == (
        "20.00", [{"id": SHIRT, "quantity": 1}])


def test_a_damaged_final_sale_item_is_our_fault_and_refunded(final_shop):
    _paid(final_shop, product(attributes={"sale": ["final"]}))
    assert _stored_tags(final_shop)[DRESS] == ["product-type:shirts", "attribute:sale:final"]
    body = final_shop.return_request(ORDER, [(DRESS, 1, "damaged")]).get_json()
    assert (body["outcome"], body["refund_amount"]) == ("approve", 8000)


def test_the_merchant_chooses_the_key_and_a_variant_can_opt_out_of_a_final_sale_product(
    any_db_url, clock, saleor, tmp_path,
):
    shop = _harness(any_db_url, clock, saleor, tmp_path,
                    saleor_final_sale_key="shop.no_returns")
    try:
        _paid(shop, product(metadata={"shop.no_returns": "yes", "refunds.final_sale": "no"},
                            variant_metadata={"shop.no_returns": "false"}))
        assert _stored_tags(shop)[DRESS] == ["product-type:shirts"]
        body = shop.return_request(ORDER, [(DRESS, 1, "changed_mind")]).get_json()
        assert (body["outcome"], body["refund_amount"]) == ("approve", 8000)
    finally:
        shop.close()
