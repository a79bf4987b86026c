"""``/returns`` for a Saleor shop: the customer types the order number Saleor showed them
(``1001``), not the order's global id, and the same email check guards it."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import func, select
from werkzeug.test import TestResponse

from refunds_plugin.ledger.tables import decisions, events, orders, refund_attempts
from tests.fakes import order_paid
from tests.fakes.returns_client import words
from tests.fakes.saleor_harness import STOREFRONT_SECRET
from webhooks import signatures

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
TX = "VHJhbnNhY3Rpb25JdGVtOjE="
NOT_FOUND = "We could not find an order with that number and email address."


def _field(resp: TestResponse, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', resp.get_data(as_text=True))
    assert found, f"no {name} in the page"
    return found.group(1)


def _lookup(client: Any, number: str, email: str) -> TestResponse:
    csrf = _field(client.get("/returns"), "csrf_token")
    return client.post("/returns", data={"csrf_token": csrf, "order_number": number,
                                         "email": email})


def _counts(shop: Any) -> tuple[int, ...]:
    with shop.engine.connect() as conn:
        return tuple(int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                     for t in (events, decisions, refund_attempts))


def _paid(shop: Any) -> None:
    shop.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    with shop.engine.connect() as conn:
        row = conn.execute(select(orders.c.order_id, orders.c.order_number)).one()
    assert tuple(row) == (ORDER, "1001")


def test_a_saleor_order_is_found_by_its_number_and_email_and_a_return_is_submitted(installed):
    _paid(installed)
    client = installed.app.test_client()

    found = _lookup(client, "#1001", "ANN@example.com")
    assert found.status_code == 303 and found.headers["Location"] == "/returns/order"
    form = client.get("/returns/order")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert "<title>Order 1001" in page and "<h1>Order 1001</h1>" in page
    assert ORDER not in page  # Saleor's global id means nothing to the customer
    assert _field(form, "line-0-id") == LINE
    sent = client.post("/returns/order", data={
        "csrf_token": _field(form, "csrf_token"), "form_token": _field(form, "form_token"),
        "line-0-id": LINE, "line-0-qty": "1", "line-0-reason": "changed_mind"})
    assert sent.status_code == 303, sent.get_data(as_text=True)  # post, redirect, get
    answer = client.get(sent.headers["Location"])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert "12.50" in answer.get_data(as_text=True)

    [decision] = _rows(installed, decisions)
    assert (decision.order_id, decision.outcome, decision.amount) == (ORDER, "approve", 1250)
    [attempt] = installed.attempts()
    assert (attempt.provider, attempt.payment_reference, attempt.amount) == ("saleor", TX, 1250)
    installed.executor.drain()
    assert [op for op, _ in installed.saleor.mutations()] == [
        "RefundsReturnProducts", "RefundsGrantRefund", "RefundsRequestGrantedRefund"]
    assert installed.saleor.mutations("RefundsGrantRefund")[0][1]["input"]["amount"] == "12.50"


def test_a_saleor_order_number_with_a_wrong_email_gets_the_unknown_order_page(installed):
    _paid(installed)
    client = installed.app.test_client()
    before = _counts(installed)

    wrong = _lookup(client, "1001", "someone.else@example.com")
    unknown = _lookup(client, "9999", "someone.else@example.com")
    by_id = _lookup(client, ORDER, "someone.else@example.com")

    assert wrong.status_code == unknown.status_code == by_id.status_code == 404
    strip = re.compile(r'nonce="[^"]+"|value="[^"]*"')
    assert strip.sub("", wrong.get_data(as_text=True)) == strip.sub(
        "", unknown.get_data(as_text=True))
    assert NOT_FOUND in wrong.get_data(as_text=True)
    assert "Shirt" not in wrong.get_data(as_text=True)
    assert client.get("/returns/order").status_code != 200  # nothing held in the session
    assert _counts(installed) == before


def _rows(shop: Any, table: Any) -> list[Any]:
    with shop.engine.connect() as conn:
        return list(conn.execute(select(table)))


BANNER = "This shop is in test mode: no money moves."


def _storefront_order(shop: Any, number: str) -> None:
    """A storefront order paid by Stripe, in a service with no Stripe key: its money is a dry
    run while the Saleor shop's money is real."""
    body = json.dumps(order_paid(number)).encode()
    resp = shop.client.post("/webhooks/storefront", data=body, headers={
        "Refunds-Signature": signatures.sign(STOREFRONT_SECRET, body),
        "Content-Type": "application/json"})
    assert resp.status_code == 200, resp.get_data(as_text=True)


def _walk(client: Any, number: str, line: str) -> dict[str, TestResponse]:
    """Every page a customer sees for one order: form, quote, answer, status."""
    assert _lookup(client, number, "ann@example.com").status_code == 303
    pages = {"form": client.get("/returns/order")}
    form = pages["form"]
    data = {"csrf_token": _field(form, "csrf_token"), "form_token": _field(form, "form_token"),
            "line-0-id": line, "line-0-qty": "1", "line-0-reason": "changed_mind"}
    for step in ("quote", "answer"):  # each posted, then read where the 303 leads
        sent = client.post("/returns/order", data={**data, "step": "quote"} if step == "quote"
                           else data)
        assert sent.status_code == 303, sent.get_data(as_text=True)
        pages[step] = client.get(sent.headers["Location"])
    answer = pages["answer"]
    link = re.search(r'href="(/returns/status/[^"]+)"', answer.get_data(as_text=True))
    assert link, answer.get_data(as_text=True)
    pages["status"] = client.get(link.group(1))
    return pages


def test_a_saleor_shops_pages_never_say_test_mode_while_its_refunds_are_real(installed):
    _paid(installed)
    client = installed.app.test_client()
    assert installed.runtime.config.dry_run  # no Stripe key: Stripe alone is a dry run

    pages = {"lookup": client.get("/returns"),
             "not found": _lookup(installed.app.test_client(), "9999", "x@example.com"),
             "bad link": client.get("/returns/status/nope"),
             **_walk(client, "1001", LINE)}

    assert {name: words(p, "test-mode") for name, p in pages.items()} == {
        name: [] for name in pages}


def test_a_dry_run_order_beside_a_live_saleor_shop_says_test_mode_on_its_own_pages(installed):
    _paid(installed)
    _storefront_order(installed, "2002")

    stripe_pages = _walk(installed.app.test_client(), "2002", "l1")
    saleor_pages = _walk(installed.app.test_client(), "1001", LINE)

    assert {name: words(p, "test-mode") for name, p in stripe_pages.items()} == {
        name: [BANNER] for name in stripe_pages}
    assert {name: words(p, "test-mode") for name, p in saleor_pages.items()} == {
        name: [] for name in saleor_pages}
    assert words(installed.app.test_client().get("/returns"), "test-mode") == []
