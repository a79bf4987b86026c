"""The physical return drives the exchange: the carrier's first scan, the delivery and a matching
inspection (each signed and recorded like any tracking event or receipt) make a waiting exchange
ready to ship in the transaction that records them, once, with its ``exchange.ready_to_ship``
event in the outbox. An instant exchange keeps the original's value reserved: its money waits for
the parcel, and when the return expires the money is canceled and the original's value due."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import url_for
from sqlalchemy import update

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import exchange_dues, exchanges, follow_ups, outbox, reviews
from tests.fakes.outbound_receiver import ANNOUNCED
from tests.integration.shipping.conftest import Returns
from webhooks.returns.views import status_token

pytestmark = pytest.mark.usefixtures("erp")

POLICY = """currency: USD
window: {days: 365, start: payment}
resolution: {allow: [refund, credit, exchange]}
return_shipping: {label: easypost, paid_by: merchant, return_by_days: 30, grace_days: 7}
exchange:
  scope: same_product
  price_difference: {lower: refund, higher: charge}
"""
SHIRT = [{"id": "l1", "sku": "SHIRT-M", "name": "Shirt M", "quantity": 1, "unit_amount": 3000,
          "variants": [
              {"sku": "SHIRT-L", "name": "Shirt L", "unit_amount": 3000, "in_stock": True,
               "variant_id": "vL"},
              {"sku": "SHIRT-S", "name": "Shirt S", "unit_amount": 2000, "in_stock": True,
               "variant_id": "vS"}]}]


def swap(sku: str = "SHIRT-L", name: str = "Shirt L", unit: int = 3000) -> list[dict[str, Any]]:
    return [{"line_id": "l1", "quantity": 1, "reason": "too_small",
             "exchange_for": {"sku": sku, "name": name, "unit_amount": unit,
                              "variant_id": "v" + sku[-1]}}]


def exchange_shop(returns_service: Callable[..., Returns], ship_on: str,
                  label: bool = True, announced: bool = True) -> Returns:
    """The merchant's systems hear ``exchange.ready_to_ship`` (``ANNOUNCED``; the module's
    ``erp`` receives it) unless ``announced`` is False."""
    r = returns_service(POLICY + f"  ship_on: {ship_on}\n", label=label,
                        **(ANNOUNCED if announced else {}))
    r.paid(lines=SHIRT, shipping=0)
    return r


def state(r: Returns) -> tuple[str, str | None]:
    [row] = r.h.rows(exchanges)
    return row.status, row.reached


def events(r: Returns) -> list[tuple[str, str]]:
    return [(row.kind, row.cause) for row in r.h.rows(outbox)
            if row.channel == "event" and row.kind.startswith("exchange.")]


def test_the_first_scan_makes_a_waiting_exchange_ready_once_with_its_event(
    returns_service: Callable[..., Returns],
) -> None:
    r = exchange_shop(returns_service, "first_scan")
    decision = r.ask(lines=swap())["decision_id"]
    r.labels()
    code = str(r.shipment().tracking_code)
    assert state(r) == ("waiting", None)
    assert events(r) == [("exchange.approved", f"exchange:{decision}")]

    assert r.track("evt_ep_1", code, "pre_transit").status_code == 200
    assert state(r) == ("waiting", None)  # a label printed is no scan
    assert r.track("evt_ep_2", code, "in_transit").status_code == 200
    assert r.track("evt_ep_3", code, "out_for_delivery").status_code == 200
    assert r.track("evt_ep_2", code, "in_transit").status_code == 400  # replayed: refused

    assert state(r) == ("ready", "first_scan")
    assert [b for _, b in r.journal("exchange_ready")] == [
        {"trigger": "first_scan", "status": "ready", "reached": "first_scan"}]
    assert events(r) == [("exchange.approved", f"exchange:{decision}"),
                         ("exchange.ready_to_ship", f"exchange:{decision}")]
    [ready] = [row for row in r.h.rows(outbox) if row.kind == "exchange.ready_to_ship"]
    body = json.loads(ready.context)
    assert {k: body[k] for k in ("decision_id", "order_id", "order_number", "status", "ship_on",
                                 "difference", "charge", "lines", "customer_email")} == {
        "decision_id": decision, "order_id": "1001", "order_number": "1001", "status": "ready",
        "ship_on": "first_scan", "difference": 0, "charge": 0,
        "lines": [{"line_id": "l1", "quantity": 1, "sku": "SHIRT-L", "name": "Shirt L",
                   "unit_amount": 3000, "variant_id": "vL"}],
        "customer_email": "ann@example.com"}
    assert r.h.runtime.exchanges is not None
    assert r.h.runtime.exchanges.run_once() == 1
    assert state(r) == ("shipped", "first_scan")
    assert r.h.chain_problem() is None


def test_an_exchange_waiting_for_delivery_is_not_shipped_on_the_first_scan(
    returns_service: Callable[..., Returns],
) -> None:
    r = exchange_shop(returns_service, "delivered")
    r.ask(lines=swap())
    r.labels()
    code = str(r.shipment().tracking_code)

    r.track("evt_ep_1", code, "in_transit")
    assert state(r) == ("waiting", None)
    assert [k for k, _ in events(r)] == ["exchange.approved"]
    r.track("evt_ep_2", code, "delivered")
    assert state(r) == ("ready", "delivered")
    assert [k for k, _ in events(r)] == ["exchange.approved", "exchange.ready_to_ship"]


def _receive(r: Returns, decision_id: str, condition: str) -> int:
    token = create_token(r.h.runtime.engine, "Dock", "warehouse", r.h.clock()).secret
    resp = r.h.client().post(f"/api/returns/{decision_id}/receive",
                             json={"lines": [{"line_id": "l1", "condition": condition}]},
                             headers={"Authorization": f"Bearer {token}"})
    return resp.status_code


def test_a_matching_inspection_ships_an_exchange_waiting_for_it(
    returns_service: Callable[..., Returns],
) -> None:
    r = exchange_shop(returns_service, "inspected", label=False)
    decision = r.ask(lines=swap())["decision_id"]

    assert _receive(r, decision, "as_new") == 200
    assert state(r) == ("ready", "inspected")
    assert [k for k, _ in events(r)] == ["exchange.approved", "exchange.ready_to_ship"]


def test_an_inspection_that_finds_a_problem_ships_nothing_and_goes_to_a_person(
    returns_service: Callable[..., Returns],
) -> None:
    r = exchange_shop(returns_service, "inspected", label=False)
    decision = r.ask(lines=swap())["decision_id"]

    assert _receive(r, decision, "wrong_item") == 200
    assert state(r) == ("waiting", None)  # it arrived, but inspection is what it waits for
    assert [k for k, _ in events(r)] == ["exchange.approved"]
    assert [(v.status, v.reason.split(":")[0]) for v in r.h.rows(reviews)] == [
        ("open", "received_mismatch")]
    assert r.journal("exchange_ready") == []


def test_an_instant_exchange_holds_its_money_for_the_parcel_and_owes_the_original_when_it_expires(
    returns_service: Callable[..., Returns],
) -> None:
    r = exchange_shop(returns_service, "approval")
    answer = r.ask(lines=swap("SHIRT-S", "Shirt S", 2000))
    decision = answer["decision_id"]
    r.labels()

    # the smaller size ships at once; the 10.00 USD back waits for the original to arrive
    assert answer["exchange"]["status"] in ("ready", "shipped")
    assert "Your refund is sent once your parcel reaches us." in answer["explanation"]
    assert r.attempts() == [("refund", 1000, "held")]
    assert json.loads(r.shipment().refund_on) == {"refund": "delivered"}
    assert r.h.runtime.exchanges is not None
    r.h.runtime.exchanges.run_once()
    assert state(r) == ("shipped", "approval")
    assert [k for k, _ in events(r)] == ["exchange.approved", "exchange.ready_to_ship"]

    r.h.clock.advance(timedelta(days=38).total_seconds())
    r.labels()  # the deadline sweep
    r.labels()  # a second round records nothing more

    # 30.00 for the original less the 10.00 back the shop kept: 20.00 due (a Stripe shop: the
    # worker charges it, ``test_exchange_original_due.py``), no review
    assert r.attempts() == [("refund", 1000, "canceled")]
    [row] = r.h.rows(exchanges)
    assert (row.status, row.original_due) == ("shipped", 2000)
    assert [b for _, b in r.journal("exchange_original_due")] == [
        {"amount": 2000, "currency": "USD", "status": "shipped"}]
    assert [k for k, _ in events(r)] == ["exchange.approved", "exchange.ready_to_ship",
                                         "exchange.original_due"]
    [due] = [row for row in r.h.rows(outbox) if row.kind == "exchange.original_due"]
    assert json.loads(due.context)["original_due"] == 2000
    assert [(d.status, d.amount) for d in r.h.rows(exchange_dues)] == [("charging", 2000)]
    assert r.h.rows(reviews) == []
    r.h.drain()
    assert r.stripe.fake.refunds == []
    assert r.h.chain_problem() is None
    assert r.h.rows(exchanges, decision_id=decision)


def test_an_exchange_nothing_tells_the_shop_to_ship_stays_ready_and_a_person_is_told(
    returns_service: Callable[..., Returns],
) -> None:
    """No REFUNDS_OUTBOUND_URL and not a Saleor order: ``exchange.ready_to_ship`` reaches no
    one, so the exchange is never marked shipped; one follow-up tells finance what to send."""
    r = exchange_shop(returns_service, "approval", announced=False)
    decision = r.ask(lines=swap("SHIRT-S", "Shirt S", 2000))["decision_id"]
    r.labels()
    assert r.h.runtime.exchanges is not None
    assert r.h.runtime.exchanges.run_once() == 0  # the decision's own step told a person
    r.h.drain()
    assert r.h.runtime.exchanges.run_once() == 0  # and no later round tries again

    assert state(r) == ("ready", "approval")
    assert r.journal("exchange_shipped") == []
    [ready] = [o for o in r.h.rows(outbox) if o.kind == "exchange.ready_to_ship"]
    assert ready.status == "skipped"
    [f] = r.h.rows(follow_ups)
    assert (f.kind, f.order_id, f.subject, f.amount, f.status) == (
        "exchange_unshipped", "1001", decision, None, "open")
    assert f.detail == (
        f"Exchange {decision} of order 1001 is ready to ship: 1 × Shirt S (SHIRT-S). Nothing "
        "told the shop to ship it: REFUNDS_OUTBOUND_URL is not set and the order is not a "
        "Saleor order. Send it to the customer from the shop, then record it as shipped here "
        "(/finance/follow-ups); until then the exchange stays ready to ship.")
    # the money is as it was: the 10.00 USD back still waits for the parcel, nothing reviewed
    assert r.attempts() == [("refund", 1000, "held")]
    assert r.h.rows(reviews) == []

    token = create_token(r.h.runtime.engine, "Fin", "finance", r.h.clock()).secret
    listed = r.h.client().get("/finance/follow-ups", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    assert (f'nobody told to ship: <a href="/finance/decisions/{decision}">exchange '
            f"{decision}</a>") in listed.get_data(as_text=True)
    api = r.h.client().get("/api/follow-ups", headers={"Authorization": f"Bearer {token}"})
    assert [(i["kind"], i["decision_id"]) for i in api.get_json()["data"]] == [
        ("exchange_unshipped", decision)]
    assert r.h.chain_problem() is None


def test_an_exchange_that_is_not_instant_owes_nothing_when_its_return_expires(
    returns_service: Callable[..., Returns],
) -> None:
    r = exchange_shop(returns_service, "first_scan")
    r.ask(lines=swap())
    r.labels()
    r.h.clock.advance(timedelta(days=38).total_seconds())
    r.labels()

    assert r.shipment().status == "expired"
    [row] = r.h.rows(exchanges)
    assert (row.status, row.original_due) == ("waiting", None)
    assert r.journal("exchange_original_due") == []
    assert [k for k, _ in events(r)] == ["exchange.approved"]
    assert r.h.rows(reviews) == []


def test_without_a_label_an_exchange_waiting_for_the_first_scan_ships_on_the_warehouse_receipt(
    returns_service: Callable[..., Returns],
) -> None:
    """No EasyPost key: no label is bought, so no carrier scan can ever come. An exchange whose
    policy ships at the first scan waits for the parcel to reach the shop instead (as
    ``refund_on: first_scan`` does), the customer is told so, and the receipt ships it."""
    r = exchange_shop(returns_service, "first_scan", label=False)
    answer = r.ask(lines=swap())
    decision = answer["decision_id"]

    assert "Your new item ships as soon as your return is delivered to us." in (
        answer["explanation"])
    assert "first scans" not in answer["explanation"]
    assert answer["exchange"]["ship_on"] == "delivered"
    [row] = r.h.rows(exchanges)
    assert (row.status, row.ship_on, row.reached) == ("waiting", "delivered", None)
    assert (r.shipment().status, r.shipment().label_status) == ("instructions", "none")
    assert "Your new item ships once your return reaches us." in r.status_page(decision)
    assert "on its way to us" not in r.status_page(decision)
    with r.h.app.test_request_context():
        url = url_for("returns.status", token=status_token(decision))
    german = r.h.client().get(url, headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Ihr neuer Artikel wird verschickt, sobald Ihre Rücksendung bei uns ankommt." in german
    assert ("Ihr neuer Artikel wird verschickt, sobald Ihre Rücksendung bei uns angekommen "
            "ist.") in german
    r.labels()
    assert state(r) == ("waiting", None)

    assert _receive(r, decision, "as_new") == 200

    assert state(r) == ("ready", "inspected")
    assert [b for _, b in r.journal("exchange_ready")] == [
        {"trigger": "inspected", "status": "ready", "reached": "inspected"}]
    assert events(r) == [("exchange.approved", f"exchange:{decision}"),
                         ("exchange.ready_to_ship", f"exchange:{decision}")]
    assert r.h.runtime.exchanges is not None
    assert r.h.runtime.exchanges.run_once() == 1
    [row] = r.h.rows(exchanges)
    assert (row.status, row.ship_on, row.reached) == ("shipped", "delivered", "inspected")
    assert r.h.chain_problem() is None


def test_an_exchange_recorded_for_the_first_scan_before_labels_counted_tells_the_truth_too(
    returns_service: Callable[..., Returns],
) -> None:
    """An exchange decided before the fix still says ``ship_on: first_scan`` while its return
    has no label: its page says it ships when the parcel reaches us, and the receipt ships it."""
    r = exchange_shop(returns_service, "first_scan", label=False)
    decision = r.ask(lines=swap())["decision_id"]
    with r.h.runtime.engine.begin() as conn:
        conn.execute(update(exchanges).values(ship_on="first_scan"))

    page = r.status_page(decision)

    assert "Your new item ships once your return reaches us." in page
    assert "on its way to us" not in page
    assert _receive(r, decision, "as_new") == 200
    assert state(r) == ("ready", "inspected")
