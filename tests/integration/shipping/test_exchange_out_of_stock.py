"""A storefront exchange whose new item sold out between the request and the shipping: the
storefront says so (``exchange.out_of_stock``, signed), the exchanged lines become the refund
the policy offers, through the usual attempt, once; the customer is told by email and on the
status page; nothing is shipped, and a replay, a second report or a report about something the
exchange does not send changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import update

from refunds_plugin.ledger.tables import decisions, events, exchanges, outbox, refund_attempts
from refunds_plugin.notify.links import status_token
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_triggers import exchange_shop, state, swap

pytestmark = pytest.mark.usefixtures("erp")

WORDS = ("Your new item went out of stock before we could send it, so your exchange became a "
         "refund or store credit instead. Nothing else will be sent to you for this exchange.")


def sold_out(r: Returns, event_id: str, decision_id: str,
             skus: list[str] | None = None) -> Any:
    data: dict[str, Any] = {"decision_id": decision_id}
    if skus is not None:
        data["skus"] = skus
    return r.h.post_storefront({"id": event_id, "type": "exchange.out_of_stock",
                                "created": int(r.h.clock().timestamp()),
                                "data": {"exchange": data}})


def ready(returns_service: Callable[..., Returns]) -> tuple[Returns, str]:
    """An even exchange (Shirt M for Shirt L), handed to the storefront to ship at approval
    (``exchange.ready_to_ship``), which has not sent it."""
    r = exchange_shop(returns_service, "approval", label=False)
    decision_id = r.ask(lines=swap())["decision_id"]
    return r, decision_id


def tables(r: Returns) -> tuple[Any, ...]:
    return (r.h.rows(events), r.h.rows(decisions), r.h.rows(refund_attempts),
            r.h.rows(exchanges), r.h.rows(outbox))


def test_sold_out_before_shipping_becomes_the_refund_once_and_the_customer_is_told(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision_id = ready(returns_service)
    assert state(r) == ("shipped", "approval")
    [before] = r.h.rows(exchanges)

    resp = sold_out(r, "sf_so_1", decision_id, ["SHIRT-L"])

    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    [row] = r.h.rows(exchanges)
    assert (row.status, row.last_error) == (
        "fallen_back", "out_of_stock: the storefront has no SHIRT-L left to ship")
    assert body["exchange"] == {"status": "fallen_back",
                                "fallback_decision_id": row.fallback_decision_id}
    assert (before.status, before.replacement_id) == ("shipped", None)
    # the refund waits, as the instant exchange's money did, for the original to come back
    [attempt] = r.h.rows(refund_attempts)
    assert (attempt.decision_id, attempt.kind, attempt.amount, attempt.currency,
            attempt.status) == (row.fallback_decision_id, "refund", 3000, "USD", "held")
    r.h.drain()
    assert [a.status for a in r.h.rows(refund_attempts)] == ["held"]
    receipt = r.h.runtime.service.receive(decision_id, {"l1": ("as_new", None, False)}, "dock")
    assert receipt.released == (attempt.id,)
    r.h.drain()
    [attempt] = r.h.rows(refund_attempts)
    assert attempt.status == "succeeded"
    assert [(x["amount"], x["payment_intent"]) for x in r.stripe.fake.refunds] == [
        (3000, "pi_1001")]
    [mail] = [m for m in r.h.rows(outbox) if m.kind == "exchange_unavailable"]
    renderer = r.h.runtime.renderer
    assert renderer is not None
    said = renderer.render("exchange_unavailable", json.loads(mail.context))
    assert said.text.startswith(
        "We are sorry: Shirt L went out of stock before we could send it, so we cannot make "
        "your exchange.\nInstead, we are refunding 30.00 USD to your original payment.\n"
        "Nothing else will be sent to you for this exchange.\n")
    assert not [m for m in r.h.rows(outbox) if m.kind == "exchange.ready_to_ship"
                and m.created_at > before.updated_at]
    secret = r.h.runtime.renderer.secret_key()
    page = r.h.client().get(f"/returns/status/{status_token(secret, decision_id)}")
    assert page.status_code == 200
    assert WORDS in page.get_data(as_text=True)


def test_a_replay_or_a_second_report_changes_nothing(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision_id = ready(returns_service)
    assert sold_out(r, "sf_so_1", decision_id).status_code == 200
    after = tables(r)[1:]

    again = sold_out(r, "sf_so_1", decision_id)
    other = sold_out(r, "sf_so_2", decision_id)

    assert (again.status_code, again.get_json()["duplicate"]) == (200, True)
    assert other.status_code == 200
    assert other.get_json()["note"].endswith("is fallen_back: nothing falls back for stock")
    assert tables(r)[1:] == after


def test_an_unknown_exchange_or_an_item_it_does_not_send_is_refused_with_nothing_recorded(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision_id = ready(returns_service)
    before = tables(r)

    unknown = sold_out(r, "sf_so_1", "no-such-decision")
    wrong = sold_out(r, "sf_so_2", decision_id, ["HAT-1"])

    assert (unknown.status_code, unknown.get_json()["error"]["code"]) == (404,
                                                                          "unknown_exchange")
    assert (wrong.status_code, wrong.get_json()["error"]) == (400, {
        "code": "invalid_sku",
        "message": f"HAT-1 is not a new item of exchange {decision_id} (it sends SHIRT-L)"})
    assert tables(r) == before


def test_the_refund_decided_instead_is_told_in_the_language_chosen_for_the_exchange(
    returns_service: Callable[..., Returns],
) -> None:
    """The exchange was asked for on the returns pages in French (``decisions.chosen_locale``):
    the refund decided in its place keeps that choice, so its email is French too."""
    r, decision_id = ready(returns_service)
    with r.h.runtime.engine.begin() as conn:
        conn.execute(update(decisions).where(decisions.c.id == decision_id)
                     .values(chosen_locale="fr"))

    assert sold_out(r, "sf_so_1", decision_id, ["SHIRT-L"]).status_code == 200

    [row] = r.h.rows(exchanges)
    assert {d.id: d.chosen_locale for d in r.h.rows(decisions)} == {
        decision_id: "fr", row.fallback_decision_id: "fr"}
    [mail] = [m for m in r.h.rows(outbox) if m.kind == "exchange_unavailable"]
    assert mail.locale == "fr"
