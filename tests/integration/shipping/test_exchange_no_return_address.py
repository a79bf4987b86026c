"""No ``[[return_addresses]]`` configured: no return is opened for a parcel, so an exchange whose
policy waits for the parcel (``ship_on: delivered``) is ready to ship at approval, as the money is
sent then, and the customer is told so (in the order's language); one left waiting by an older
decision is made ready by the exchange worker's next round, and until then a person is told why
it cannot be marked shipped by hand."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete, update

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import decisions, exchanges, outbox, return_shipments
from refunds_plugin.shipping.listing import address_warning
from tests.fakes import order_paid
from tests.fakes.outbound_receiver import ANNOUNCED
from tests.integration.shipping.conftest import ANN, Returns
from tests.integration.shipping.test_exchange_triggers import POLICY, SHIRT, events, swap

pytestmark = pytest.mark.usefixtures("erp")

DELIVERED = POLICY + "  ship_on: delivered\n"


def no_address_shop(returns_service: Callable[..., Returns], locale: str | None = None,
                    **settings: Any) -> Returns:
    """A shop with no return address, no label, and the order paid (in ``locale``)."""
    r = returns_service(DELIVERED, label=False, return_addresses=(), **settings)
    event = order_paid("1001", reference="pi_1001", lines=SHIRT, shipping=0)
    event["data"]["order"]["shipping_address"] = ANN
    if locale:
        event["data"]["order"]["locale"] = locale
    r.stripe.fake.add_payment_intent(event["data"]["order"]["total_amount"], "usd", "pi_1001")
    assert r.h.post_storefront(event).status_code in (200, 201)
    return r


def ship_trace(r: Returns, decision_id: str) -> list[tuple[str, dict[str, Any]]]:
    [row] = r.h.rows(decisions, id=decision_id)
    return [(t["code"], t["saw"]) for t in json.loads(row.body)["trace"]
            if t["rule"] == "exchange_ship"]


def test_without_a_return_address_an_exchange_is_ready_to_ship_at_approval(
    returns_service: Callable[..., Returns],
) -> None:
    r = no_address_shop(returns_service, **ANNOUNCED)
    answer = r.ask(lines=swap())
    decision = answer["decision_id"]

    assert r.h.rows(return_shipments) == []  # nothing to wait for
    assert answer["explanation"] == (
        "Your return of 1 × Shirt M is approved. We will exchange Shirt M for Shirt L. Your new "
        "item ships right away: we do not wait for your return to reach us. The new item costs "
        "the same: nothing to pay, nothing back. Please send back: Shirt M.")
    assert answer["exchange"]["ship_on"] == "approval"
    assert ship_trace(r, decision) == [("exchange_ships_approval_no_return_address", {
        "ship_on": "delivered", "tier": "base", "instant_for_tiers": [], "return_opened": False})]
    [opened] = [b for _, b in r.journal("exchange")]
    assert (opened["status"], opened["ship_on"]) == ("ready", "approval")
    assert events(r) == [("exchange.approved", f"exchange:{decision}"),
                         ("exchange.ready_to_ship", f"exchange:{decision}")]
    [row] = r.h.rows(exchanges)  # shipped through its channel (the merchant's systems)
    assert (row.status, row.ship_on, row.reached) == ("shipped", "approval", "approval")
    assert r.h.chain_problem() is None


def test_the_customer_is_told_in_their_language(
    returns_service: Callable[..., Returns],
) -> None:
    r = no_address_shop(returns_service, locale="de-DE")
    answer = r.ask(lines=swap())
    assert ("Ihr neuer Artikel wird sofort verschickt: Wir warten nicht, bis Ihre Rücksendung "
            "bei uns ist.") in answer["explanation"]
    [row] = r.h.rows(exchanges)
    assert (row.status, row.ship_on) == ("ready", "approval")  # no channel: a person ships it
    page = r.status_page(answer["decision_id"])
    assert "Der Shop teilt Ihnen mit, wohin Sie es schicken." in page
    assert "Ihr neuer Artikel ist versandbereit." in page


def test_an_exchange_an_older_decision_left_waiting_is_made_ready_by_the_worker(
    returns_service: Callable[..., Returns],
) -> None:
    r = no_address_shop(returns_service)
    decision = r.ask(lines=swap())["decision_id"]
    with r.h.runtime.engine.begin() as conn:  # as the code before this fix recorded it
        conn.execute(update(exchanges).values(status="waiting", ship_on="delivered",
                                              reached=None, progress="{}"))
        conn.execute(delete(outbox).where(outbox.c.kind == "exchange.ready_to_ship"))
    admin = create_token(r.h.runtime.engine, "Bo", "admin", r.h.clock()).secret
    bearer = {"Authorization": f"Bearer {admin}"}

    refused = r.h.client().post(f"/api/exchanges/{decision}/shipped", json={}, headers=bearer)
    assert refused.status_code == 409
    assert refused.get_json()["error"] == {
        "code": "not_shippable", "message": f"exchange {decision} is not ready to ship yet: no "
        "return was opened for its parcel (no return address was configured), so nothing is "
        "waited for; the exchange worker (refunds worker) makes it ready on its next round, "
        "then it ships through its channel or here"}
    assert [row.status for row in r.h.rows(exchanges)] == ["waiting"]

    worker = r.h.runtime.exchanges
    assert worker is not None
    worker.run_once()
    worker.run_once()
    [row] = r.h.rows(exchanges)
    assert (row.status, row.ship_on, row.reached) == ("ready", "delivered", "approval")
    assert [b for _, b in r.journal("exchange_ready")] == [
        {"trigger": "approval", "why": "exchange_ships_approval_no_return_address",
         "status": "ready", "reached": "approval"}]
    assert events(r) == [("exchange.approved", f"exchange:{decision}"),
                         ("exchange.ready_to_ship", f"exchange:{decision}")]

    shipped = r.h.client().post(f"/api/exchanges/{decision}/shipped", json={"carrier": "DHL"},
                                headers=bearer)
    assert shipped.status_code == 200, shipped.get_json()
    assert [row.status for row in r.h.rows(exchanges)] == ["shipped"]
    assert r.h.chain_problem() is None


def test_the_serve_warning_says_what_happens_to_exchanges() -> None:
    assert address_warning(False) == (
        "warning: no [[return_addresses]] are configured (REFUNDS_CONFIG_FILE), so a customer "
        "asked to send items back is told \"The shop will tell you where to send it.\" and gets "
        "no address, deadline or label from us; no return waits for its parcel, no money waits "
        "for it, and an exchange's new item is ready to ship at approval (whatever "
        "exchange.ship_on says), and the customer is told so: see docs/returns-shipping.md")
    assert address_warning(True) is None
