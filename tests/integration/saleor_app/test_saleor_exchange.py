"""An exchange on a Saleor shop against the fake Saleor (every document validated against the
real 3.20 and 3.23 schemas by the contract test): the return recorded once with ``replace:
true``, the replacement draft's lines changed to the chosen variant and completed exactly once,
at ``ship_on``; a lost answer finds the draft Saleor made; errors retried, then a person told;
never a second replacement order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import graphql as gql
import pytest
from graphql.execution.values import get_variable_values

from refunds_plugin.exchanges.shipping import ship_on_reached
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import decisions, exchanges, outbox
from refunds_plugin.saleor import graphql
from refunds_plugin.saleor.graphql import ATTEMPT_MARK
from tests.fakes import Clock
from tests.fakes.saleor_api import FakeSaleor, money
from tests.fakes.saleor_harness import STOREFRONT_SECRET, SaleorHarness, journal, rows
from tests.integration.shipping.conftest import SHOP
from webhooks import signatures

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
FUL_LINE = "RnVsZmlsbG1lbnRMaW5lO0"
OLD_VARIANT = "UHJvZHVjdFZhcmlhbnQ6MQ=="
NEW_VARIANT = "UHJvZHVjdFZhcmlhbnQ6Mg=="
TRANSACTION = "VHJhbnNhY3Rpb25JdGVtOjE="
SCHEMAS: dict[str, gql.GraphQLSchema] = {}  # built once: a 1 MB SDL takes a second or two
POLICY = """
window: {{days: 365, start: payment}}
resolution: {{allow: [refund, credit, exchange]}}
exchange: {{scope: {scope}, ship_on: {ship_on}}}
"""


def make_shop(any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path,
              ship_on: str, scope: str = "any_product") -> SaleorHarness:
    policy = tmp_path / "exchange.yaml"
    policy.write_text(POLICY.format(ship_on=ship_on, scope=scope))
    # a return address: a return is opened, so the exchange waits for its parcel
    h = SaleorHarness(any_db_url, clock, saleor, policy=str(policy), return_addresses=(SHOP,))
    assert h.install().status_code == 200
    saleor.add_order(ORDER, lines=[(LINE, 1, "40.00")], shipping="5.00")
    saleor.stock[NEW_VARIANT] = 3
    assert h.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    return h


def ask_exchange(shop: SaleorHarness, n: int = 1, sku: str = "SHIRT-L",
                 variant: str = NEW_VARIANT) -> Any:
    body = json.dumps({"id": f"sf_evt_x{n}", "type": "return.requested", "data": {"return": {
        "id": "ret_x", "order_id": ORDER, "lines": [{
            "line_id": LINE, "quantity": 1, "reason": "too_small",
            "exchange_for": {"sku": sku, "name": "Shirt L", "unit_amount": 4000,
                             "variant_id": variant, "in_stock": True}}]}}}).encode()
    return shop.client.post("/webhooks/storefront", data=body, headers={
        "Refunds-Signature": signatures.sign(STOREFRONT_SECRET, body),
        "Content-Type": "application/json"})


DOCUMENTS = {"RefundsReturnProducts": graphql.RETURN_PRODUCTS,
             "RefundsDraftLinesCreate": graphql.DRAFT_LINES_CREATE,
             "RefundsDraftLineDelete": graphql.DRAFT_LINE_DELETE,
             "RefundsDraftComplete": graphql.DRAFT_COMPLETE,
             "RefundsGrantRefund": graphql.GRANT_REFUND,
             "RefundsRequestGrantedRefund": graphql.REQUEST_GRANTED_REFUND}


def valid_input(schema_dir: Path, document: str, variables: dict[str, Any]) -> None:
    """``variables`` coerce as ``document``'s on both Saleor schemas."""
    [operation] = gql.parse(document).definitions
    assert isinstance(operation, gql.OperationDefinitionNode)
    for version in ("3.20", "3.23"):
        schema = SCHEMAS.get(version) or SCHEMAS.setdefault(version, gql.build_schema(
            (schema_dir / f"schema-{version}.graphql").read_text(encoding="utf-8")))
        coerced = get_variable_values(schema, operation.variable_definitions or [], variables)
        assert not isinstance(coerced, list), [str(e) for e in coerced]


def exchange_ops(saleor: FakeSaleor) -> list[str]:
    return [op for op, _ in saleor.mutations() if op.startswith(("RefundsReturnProducts",
                                                                   "RefundsDraft"))]


@pytest.fixture
def first_scan_shop(any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path):
    h = make_shop(any_db_url, clock, saleor, tmp_path, "first_scan")
    yield h
    h.close()


def test_one_replacement_order_changed_and_completed_once_at_ship_on(
    first_scan_shop: SaleorHarness, saleor: FakeSaleor,
) -> None:
    shop = first_scan_shop
    answer = ask_exchange(shop)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    again = ask_exchange(shop, 2)  # the same request under another event id
    decision_id = answer.get_json()["decision_id"]
    assert again.get_json()["decision_id"] == decision_id

    # at approval: the return is recorded with replace: true, once; nothing ships yet
    assert saleor.mutations("RefundsReturnProducts") == [("RefundsReturnProducts", {
        "order": ORDER, "input": {"fulfillmentLines": [
            {"fulfillmentLineId": FUL_LINE, "quantity": 1, "replace": True}],
            "orderLines": [], "refund": False}})]
    [draft] = saleor.drafts.values()
    assert draft["status"] == "DRAFT"
    assert shop.runtime.exchanges is not None
    shop.runtime.exchanges.run_once()
    assert exchange_ops(saleor) == ["RefundsReturnProducts"]
    [row] = rows(shop, exchanges)
    assert (row.status, row.replacement_id) == ("waiting", draft["id"])

    # no label is bought (none is configured), so no carrier scan can come: the policy's
    # first_scan was decided as delivered, and the parcel's arrival ships it
    assert row.ship_on == "delivered"
    with write_tx(shop.engine) as conn:
        assert ship_on_reached(conn, decision_id, "delivered") is True
    shop.runtime.exchanges.run_once()
    shop.runtime.exchanges.run_once()

    assert exchange_ops(saleor) == ["RefundsReturnProducts", "RefundsDraftLinesCreate",
                                    "RefundsDraftLineDelete", "RefundsDraftComplete"]
    assert saleor.mutations("RefundsDraftLinesCreate")[0][1] == {
        "id": draft["id"], "input": [{"variantId": NEW_VARIANT, "quantity": 1}]}
    assert [ln["variant"]["id"] for ln in draft["lines"]] == [NEW_VARIANT]
    assert draft["status"] == "UNFULFILLED" and saleor.stock[NEW_VARIANT] == 2
    [row] = rows(shop, exchanges)
    assert (row.status, row.reached, row.replacement_id) == ("shipped", "delivered",
                                                             draft["id"])
    assert [e.get("status") for e in journal(shop, decision_id) if "status" in e] == [
        "waiting", "instructions", "ready", "shipped"]  # instructions: the return opened
    assert shop.attempts() == []  # an even exchange moves no money


def test_an_instant_exchange_ships_at_approval(
    any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path,
) -> None:
    shop = make_shop(any_db_url, clock, saleor, tmp_path, "approval")
    try:
        answer = ask_exchange(shop).get_json()
        assert answer["exchange"]["status"] == "shipped"
        [draft] = saleor.drafts.values()
        assert answer["exchange"]["replacement_id"] == draft["id"]
        assert draft["status"] == "UNFULFILLED"
        assert exchange_ops(saleor) == ["RefundsReturnProducts", "RefundsDraftLinesCreate",
                                        "RefundsDraftLineDelete", "RefundsDraftComplete"]
    finally:
        shop.close()


def test_a_lost_answer_finds_the_draft_saleor_made_instead_of_a_second_one(
    first_scan_shop: SaleorHarness, saleor: FakeSaleor, clock: Clock,
) -> None:
    shop = first_scan_shop
    saleor.fail["RefundsReturnProducts"] = ["network_after"]
    ask_exchange(shop)
    [row] = rows(shop, exchanges)
    assert (row.tries, row.replacement_id) == (1, None)

    clock.advance(10)
    assert shop.runtime.exchanges is not None
    shop.runtime.exchanges.run_once()

    assert len(saleor.drafts) == 1
    assert len(saleor.mutations("RefundsReturnProducts")) == 1
    [row] = rows(shop, exchanges)
    assert row.replacement_id == next(iter(saleor.drafts))


def test_saleor_errors_are_retried_then_a_person_is_told_and_nothing_ships_twice(
    first_scan_shop: SaleorHarness, saleor: FakeSaleor, clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shop = first_scan_shop
    decision_id = ask_exchange(shop).get_json()["decision_id"]
    saleor.fail["RefundsDraftComplete"] = ["permission"] * 8  # the app lost MANAGE_ORDERS
    with write_tx(shop.engine) as conn:
        ship_on_reached(conn, decision_id, "delivered")
    assert shop.runtime.exchanges is not None
    for _ in range(8):
        shop.runtime.exchanges.run_once()
        clock.advance(600)

    [row] = rows(shop, exchanges)
    assert (row.status, row.tries) == ("failed", 5)
    assert "MANAGE_ORDERS" in row.last_error
    assert [d["status"] for d in saleor.drafts.values()] == ["DRAFT"]
    assert len(saleor.drafts) == 1 and len(saleor.mutations("RefundsReturnProducts")) == 1
    assert len(saleor.mutations("RefundsDraftLinesCreate")) == 1  # the lines changed once
    assert f"exchange {decision_id} needs a person" in caplog.text


def test_a_variant_sold_out_before_shipping_becomes_a_refund_and_the_customer_is_told(
    first_scan_shop: SaleorHarness, saleor: FakeSaleor, clock: Clock, saleor_schema_dir: Path,
) -> None:
    shop = first_scan_shop
    decision_id = ask_exchange(shop).get_json()["decision_id"]
    saleor.stock[NEW_VARIANT] = 0  # sold out between the request and the shipping
    with write_tx(shop.engine) as conn:
        ship_on_reached(conn, decision_id, "delivered")
    assert shop.runtime.exchanges is not None

    shop.runtime.exchanges.run_once()

    [row] = rows(shop, exchanges)
    assert (row.status, row.tries) == ("fallen_back", 0)
    assert row.last_error.startswith(
        "out_of_stock: draftOrderComplete refused: INSUFFICIENT_STOCK")
    [instead] = [d for d in rows(shop, decisions) if d.id != decision_id]
    assert (row.fallback_decision_id, instead.request_key, instead.outcome) == (
        instead.id, f"exchange-fallback:{decision_id}", "approve")
    # the money moves through the usual attempt, exactly once: the shirt and, as the policy
    # says for a whole order sent back, its 5.00 shipping
    [attempt] = shop.attempts()
    assert (attempt.decision_id, attempt.kind, attempt.amount, attempt.status) == (
        instead.id, "refund", 4500, "pending")
    [draft] = saleor.drafts.values()
    shop.executor.drain()
    [attempt] = shop.attempts()
    assert attempt.status == "sent"  # Saleor's refund is asked for; its webhook settles it
    # the exchange's return (replace: true) brought the shirt back already: the fallback's
    # first attempt returns nothing again, it grants and requests the refund, once
    grant = saleor.orders[ORDER]["grantedRefunds"][0]["id"]
    assert saleor.mutations()[-3:] == [
        ("RefundsDraftComplete", {"id": draft["id"]}),
        ("RefundsGrantRefund", {"id": ORDER, "input": {
            "amount": "45.00", "reason": f"{ATTEMPT_MARK}{attempt.id}: decision {instead.id}",
            "lines": [{"id": LINE, "quantity": 1}], "transactionId": TRANSACTION}}),
        ("RefundsRequestGrantedRefund", {"grantedRefundId": grant,
                                         "transactionId": TRANSACTION})]
    assert saleor.mutations("RefundsReturnProducts") == [("RefundsReturnProducts", {
        "order": ORDER, "input": {"fulfillmentLines": [
            {"fulfillmentLineId": FUL_LINE, "quantity": 1, "replace": True}],
            "orderLines": [], "refund": False}})]
    assert json.loads(attempt.progress) == {
        "return": "exchange", "replacement": draft["id"], "grant": "requested",
        "granted_refund": grant, "refund_requested": True}
    for op, variables in saleor.mutations():  # each valid input on Saleor 3.20 and 3.23
        valid_input(saleor_schema_dir, DOCUMENTS[op], variables)
    # Saleor holds the shirt once, as replaced; nothing of it is returned a second time
    assert [(f["status"], [(fl["orderLine"]["id"], fl["quantity"]) for fl in f["lines"]])
            for f in saleor.orders[ORDER]["fulfillments"]] == [
        ("RETURNED", []), ("REPLACED", [(LINE, 1)])]
    # nothing shipped, and later rounds try nothing again
    for _ in range(3):
        clock.advance(600)
        shop.runtime.exchanges.run_once()
    assert len(saleor.mutations("RefundsDraftComplete")) == 1
    assert [d["status"] for d in saleor.drafts.values()] == ["DRAFT"]
    assert saleor.stock[NEW_VARIANT] == 0
    assert [e.get("status") for e in journal(shop, decision_id) if "status" in e] == [
        "waiting", "instructions", "ready", "fallen_back"]
    # the customer is told, once, in these words
    [mail] = [m for m in rows(shop, outbox) if m.kind == "exchange_unavailable"]
    assert (mail.cause, mail.recipient) == (f"exchange:{decision_id}:unavailable",
                                            "ann@example.com")
    renderer = shop.runtime.renderer
    assert renderer is not None
    said = renderer.render("exchange_unavailable", json.loads(mail.context))
    assert said.subject == "Your exchange for order 1001: the new item is out of stock"
    assert said.text.startswith(
        "We are sorry: Shirt L went out of stock before we could send it, so we cannot make "
        "your exchange.\nInstead, we are refunding 45.00 USD to your original payment.\n"
        "Nothing else will be sent to you for this exchange.\n")


@pytest.mark.parametrize(("sku", "variant", "code"), [
    ("SHIRT-L", NEW_VARIANT, "exchange_approved"),
    ("HAT-1", "UHJvZHVjdFZhcmlhbnQ6OQ==", "exchange_not_same_product")])
def test_same_product_is_checked_against_the_products_variants_read_from_saleor(
    any_db_url: str, clock: Clock, saleor: FakeSaleor, tmp_path: Path, sku: str, variant: str,
    code: str,
) -> None:
    shop = make_shop(any_db_url, clock, saleor, tmp_path, "first_scan", "same_product")
    saleor.products["UHJvZHVjdDox"] = {"id": "UHJvZHVjdDox", "name": "Shirt", "variants": [
        {"id": NEW_VARIANT, "name": "L", "sku": "SHIRT-L",
         "pricing": {"price": {"gross": money("40.00", "USD")}}}]}
    try:
        answer = ask_exchange(shop, sku=sku, variant=variant).get_json()
        [decision] = rows(shop, decisions)
        [said] = [t for t in json.loads(decision.body)["trace"] if t["rule"] == "exchange"]
        assert said["code"] == code
        assert (answer.get("exchange") is not None) is (code == "exchange_approved")
    finally:
        shop.close()
