"""When the money of a return moves: at approval (as always), or held until the parcel's first
scan, its delivery, or the warehouse's inspection — released by the right event, never earlier,
with the label bought once and its cost in the ledger."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.facts import load_facts
from refunds_plugin.ledger.tables import decisions, return_shipments
from tests.integration.shipping.conftest import Returns

POLICY = """currency: USD
window: {days: 365, start: payment}
promise_hours: 48
return_shipping: {label: easypost, paid_by: merchant, return_by_days: 30, grace_days: 7,
                  packing_notes: "Pack it in its box."}
"""
MUG = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]


def test_approval_is_todays_behaviour_money_moves_at_once_and_the_label_is_bought(
    returns_service: Callable[..., Returns], now: datetime,
) -> None:
    r = returns_service(POLICY + "refund_on: approval\n")
    r.paid()

    answer = r.ask(lines=MUG)

    assert answer["outcome"] == "approve"
    assert answer["return_instructions"] == {
        "address": {"name": "Our shop returns", "street": "1 Dock Rd", "city": "Austin",
                    "postal_code": "78701", "country": "US", "region": "TX"},
        "return_by": (now + timedelta(days=30)).isoformat(timespec="seconds"),
        "label_url": None, "qr_code_url": None, "tracking_code": None, "carrier": None,
        "status": "label_pending", "label_status": "pending"}
    assert r.attempts() == [("refund", 2500, "pending")]
    r.h.drain()
    assert r.attempts() == [("refund", 2500, "succeeded")]
    assert r.labels() == 1
    row = r.shipment()
    assert (row.status, row.label_status, row.tracking_code, row.carrier_service,
            row.label_amount, row.label_currency, row.released_at is not None) == (
        "label_created", "bought", "EZ0000000001", "USPS GroundAdvantage", 745, "USD", True)
    assert len(r.easypost.fake.bought) == 1
    shipment = r.easypost.fake.bought[0]
    assert shipment["is_return"] is True
    assert shipment["reference"] == f"refunds-return-{row.decision_id}"
    assert shipment["to_address"]["zip"] == "02108"  # the customer's: is_return swaps them
    assert shipment["from_address"]["zip"] == "78701"
    # the states a US label needs: the return address's region and the order's
    assert (shipment["from_address"]["state"], shipment["to_address"]["state"]) == ("TX", "MA")


def test_first_scan_holds_the_refund_until_the_carrier_scans_the_parcel(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY + "refund_on: first_scan\n")
    r.paid()

    answer = r.ask(lines=MUG)

    assert "Your refund is sent once the carrier first scans your parcel." in answer["explanation"]
    assert [a["status"] for a in answer["attempts"]] == ["held"]
    r.h.drain()
    assert r.attempts() == [("refund", 2500, "held")]
    assert r.stripe.fake.refunds == []
    r.labels()
    code = r.shipment().tracking_code

    assert r.track("evt_1", code, "pre_transit").status_code == 200
    r.h.drain()
    assert r.attempts() == [("refund", 2500, "held")]  # a label printed is not a scan

    resp = r.track("evt_2", code, "in_transit")
    assert resp.status_code == 200
    assert resp.json is not None and resp.json["duplicate"] is False
    assert r.attempts() == [("refund", 2500, "pending")]
    r.h.drain()
    assert r.attempts() == [("refund", 2500, "succeeded")]
    assert [x["amount"] for x in r.stripe.fake.refunds] == [2500]
    assert r.shipment().status == "in_transit"
    row = r.shipment()
    journal = r.journal()
    # order.paid journalled the order's total and its payment first; the return's follow
    assert [t for t, _ in journal[:2]] == ["order_total", "payment_captured"]
    journal = journal[2:]
    assert [t for t, _ in journal] == ["decision", "attempt", "return_opened", "return_label",
                                       "return_tracking", "attempt", "attempt"]
    assert journal[1][1]["status"] == "held"
    assert journal[2][1] == {
        "status": "label_pending", "carrier": "easypost", "label_fee": 0,
        "address": {"name": "Our shop returns", "street": "1 Dock Rd", "city": "Austin",
                    "postal_code": "78701", "country": "US", "region": "TX"},
        "return_by": "2026-12-24T12:00:00+00:00", "refund_on": {"refund": "first_scan"}}
    assert journal[3][1] == {"label_status": "bought", "shipment_id": row.shipment_id,
                             "tracking_code": "EZ0000000001", "carrier": "USPS",
                             "service": "GroundAdvantage", "amount": 745, "currency": "USD"}
    assert journal[4][1] == {"status": "in_transit", "previous": "label_created",
                             "event_id": "evt_2"}
    assert journal[6][1]["status"] == "succeeded"
    released = [b for t, b in r.journal("attempt") if b.get("note") == "parcel in_transit"]
    assert released == [{"status": "pending", "next_try_at": released[0]["next_try_at"],
                         "note": "parcel in_transit"}]
    assert r.h.chain_problem() is None
    assert verify_ledger(r.h.runtime.engine) == []


def test_delivered_waits_past_the_first_scan_for_delivery(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY + "refund_on: delivered\n")
    code = r.labelled(MUG)

    r.track("evt_1", code, "in_transit")
    r.track("evt_2", code, "out_for_delivery")
    r.h.drain()
    assert r.attempts() == [("refund", 2500, "held")]

    r.track("evt_3", code, "delivered")
    r.h.drain()
    assert r.attempts() == [("refund", 2500, "succeeded")]
    assert [(b["previous"], b["status"]) for _, b in r.journal("return_tracking")] == [
        ("label_created", "in_transit"), ("in_transit", "out_for_delivery"),
        ("out_for_delivery", "delivered")]


def test_inspected_waits_for_the_warehouse_and_a_matching_receipt_releases_it(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY + "refund_on: inspected\n")
    r.paid()
    answer = r.ask(lines=MUG)
    r.labels()
    code = r.shipment().tracking_code
    r.track("evt_1", code, "delivered")
    r.h.drain()
    assert r.attempts() == [("refund", 2500, "held")]

    receipt = r.h.runtime.service.receive(answer["decision_id"], {"l1": ("as_new", 1, True)},
                                          by="dock-1")

    assert receipt.matched and receipt.mismatches == ()
    r.h.drain()
    assert r.attempts() == [("refund", 2500, "succeeded")]
    assert r.shipment().status == "received"


def test_store_credit_may_move_at_approval_while_the_refund_waits_for_the_scan(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY + "reasons: {changed_mind: credit}\n"
                        "refund_on: {refund: first_scan, credit: approval}\n")
    r.paid(lines=[{"id": "l1", "sku": "MUG-1", "name": "Mug", "quantity": 1,
                   "unit_amount": 2500},
                  {"id": "l2", "sku": "CAP-1", "name": "Cap", "quantity": 1,
                   "unit_amount": 1500}])
    r.ask(lines=[{"line_id": "l1", "quantity": 1, "reason": "damaged"},
                 {"line_id": "l2", "quantity": 1, "reason": "changed_mind"}])
    # the damaged mug and the shipping back to the card, the cap as store credit
    assert r.attempts() == [("refund", 3000, "held"), ("credit", 1500, "pending")]
    r.h.drain()
    assert r.attempts() == [("refund", 3000, "held"), ("credit", 1500, "succeeded")]
    r.labels()
    r.track("evt_1", r.shipment().tracking_code, "in_transit")
    r.h.drain()
    assert r.attempts() == [("refund", 3000, "succeeded"), ("credit", 1500, "succeeded")]


def test_without_a_return_address_nothing_is_held(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY + "refund_on: first_scan\n", return_addresses=())
    r.paid()
    answer = r.ask(lines=MUG)
    assert "return_instructions" not in answer
    assert r.attempts() == [("refund", 2500, "pending")]
    # and the customer is not told it waits for the carrier's scan: it does not
    assert "Your refund is sent once" not in answer["explanation"]


@pytest.mark.parametrize("country,city", [("AT", "Berlin"), ("US", "Austin")])
def test_the_return_address_is_chosen_by_the_customers_country(
    returns_service: Callable[..., Returns], country: str, city: str,
) -> None:
    r = returns_service(POLICY, label=False)
    r.paid(address={"name": "Ann", "street": "Ring 1", "city": "Wien", "postal_code": "1010",
                    "country": country})
    answer = r.ask(lines=MUG)
    assert answer["return_instructions"]["address"]["city"] == city
    assert answer["return_instructions"]["status"] == "instructions"


def test_held_money_is_reserved_against_what_the_order_can_still_refund(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY + "refund_on: first_scan\n")
    r.paid()  # 2 mugs at 25.00 and 5.00 shipping: 55.00 captured
    r.ask(lines=MUG)
    with r.h.runtime.engine.connect() as conn:
        facts = load_facts(conn, "1001", r.h.clock(), 90)
    assert facts is not None
    [pay] = facts.payments
    assert (pay.captured, pay.pending, pay.refundable) == (5500, 2500, 3000)
    r.h.drain()
    assert r.stripe.fake.refunds == []  # reserved, never claimed


def test_a_return_a_person_approves_is_held_and_opened_like_any_approval(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY + 'refund_on: first_scan\nlimits: {auto_approve_per_request: '
                        '"10.00"}\n')
    r.paid()
    answer = r.ask(lines=MUG)
    assert answer["outcome"] == "review" and "return_instructions" not in answer
    assert r.h.rows(return_shipments) == []

    decide(r.h.runtime.engine, r.h.runtime.service, answer["decision_id"], approve=True,
           by="ada", note="a regular customer", now=r.h.clock())

    assert r.attempts() == [("refund", 2500, "held")]
    assert (r.shipment().status, r.shipment().label_status) == ("label_pending", "pending")
    r.labels()
    r.track("evt_1", r.shipment().tracking_code, "in_transit")
    r.h.drain()
    assert r.attempts() == [("refund", 2500, "succeeded")]
    assert verify_ledger(r.h.runtime.engine) == []


def test_first_scan_without_a_label_waits_for_the_parcel_to_reach_us_and_says_so(
    returns_service: Callable[..., Returns],
) -> None:
    """No EasyPost key: no label, so no carrier scan can ever come. The refund waits for the
    warehouse's receipt instead (as ``delivered``), and the customer is told that."""
    r = returns_service(POLICY + "refund_on: first_scan\n", label=False)
    r.paid()

    answer = r.ask(lines=MUG)

    assert "Your refund is sent once your parcel reaches us." in answer["explanation"]
    assert "carrier first scans" not in answer["explanation"]
    with r.h.runtime.engine.connect() as conn:
        body = conn.execute(select(decisions.c.body)).scalar_one()
    [step] = [t for t in json.loads(body)["trace"] if t["rule"] == "refund_on"]
    assert (step["code"], step["saw"]) == ("refund_on_delivered",
                                           {"refund_on": {"refund": "delivered"}})
    assert r.attempts() == [("refund", 2500, "held")]
    row = r.shipment()
    assert (row.status, row.label_status) == ("instructions", "none")
    assert r.journal("return_opened")[0][1]["refund_on"] == {"refund": "delivered"}
    r.h.drain()
    assert r.stripe.fake.refunds == []

    r.h.runtime.service.receive(answer["decision_id"], {"l1": ("as_new", None, False)}, "dock")

    assert r.attempts() == [("refund", 2500, "pending")]
    r.h.drain()
    assert [x["amount"] for x in r.stripe.fake.refunds] == [2500]
