"""The label is bought once, whatever fails on the way; a return not sent in time expires (held
money canceled, label voided); a parcel seen after that goes to a person; the tracking webhook
is believed only when EasyPost signed it, recently, for a tracking code we know."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.intake.physical import instructions
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import (
    events,
    follow_ups,
    refund_attempts,
    return_shipments,
    reviews,
)
from refunds_plugin.shipping import tracking
from refunds_plugin.shipping.carriers import Label, LabelRequest, NoLabel
from refunds_plugin.shipping.returns import record_no_label
from tests.fakes.easypost_api import sign
from tests.integration.shipping.conftest import ANN, EASYPOST_SECRET, Returns

POLICY = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, return_by_days: 30, grace_days: 7}
refund_on: first_scan
"""
MUG = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]


def test_a_lost_answer_after_the_purchase_buys_no_second_label(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY)
    r.paid()
    r.ask(lines=MUG)
    r.easypost.fake.lose_next_buy = True  # bought at EasyPost, the answer never arrives

    assert r.labels() == 0
    row = r.shipment()
    assert (row.label_status, row.tries, row.tracking_code) == ("pending", 1, None)
    assert "503" in row.last_error or "answer was lost" in row.last_error
    r.h.clock.advance(3600)

    assert r.labels() == 1

    assert len(r.easypost.fake.shipments) == 1 and len(r.easypost.fake.bought) == 1
    assert r.easypost.fake.count("POST", "/buy") == 1
    assert (r.shipment().label_status, r.shipment().tracking_code) == ("bought", "EZ0000000001")


def test_a_crash_between_the_purchase_and_its_record_buys_no_second_label(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY)
    r.paid()
    r.ask(lines=MUG)
    desk = r.h.runtime.shipping_desk
    assert desk is not None
    real = desk.carrier

    class Dies:
        name = "easypost"

        def buy_return_label(self, request: LabelRequest) -> Label | NoLabel:
            real.buy_return_label(request)
            raise SystemExit("killed after buying, before recording")

        def void(self, shipment_id: str) -> str:
            return real.void(shipment_id)

    desk.carrier = Dies()
    with pytest.raises(SystemExit):
        desk.buy_due()
    assert (r.shipment().label_status, len(r.easypost.fake.bought)) == ("pending", 1)
    desk.carrier = real
    assert desk.buy_due() == 0  # still under the dead try's lease
    r.h.clock.advance(301)

    assert desk.buy_due() == 1

    assert len(r.easypost.fake.bought) == 1 and r.easypost.fake.count("POST", "/buy") == 1
    assert r.shipment().tracking_code == "EZ0000000001"


def test_a_carrier_outage_is_retried_with_backoff_under_the_same_reference(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY)
    r.paid()
    answer = r.ask(lines=MUG)
    r.easypost.fake.fail_next = [500]

    assert r.labels() == 0
    assert (r.shipment().label_status, r.shipment().tries) == ("pending", 1)
    shown = instructions(r.h.runtime.engine, answer["decision_id"])
    assert shown is not None and shown["label_status"] == "pending"  # "label on its way"
    r.h.clock.advance(3600)
    assert r.labels() == 1
    assert len(r.easypost.fake.shipments) == 1


def test_an_address_the_carrier_refuses_leaves_the_instructions_and_tells_a_person(
    returns_service: Callable[..., Returns], caplog: pytest.LogCaptureFixture,
) -> None:
    r = returns_service(POLICY)
    r.paid(address={**ANN, "postal_code": "00000"})
    r.ask(lines=MUG)

    r.labels()

    row = r.shipment()
    assert (row.status, row.label_status, row.tracking_code) == ("instructions", "no_label", None)
    said = ("EasyPost refused the shipment: ADDRESS.VERIFY.FAILURE: Address not found "
            "(street1: House number is missing)")
    assert row.last_error == said
    assert "no return label for decision" in caplog.text
    assert r.easypost.fake.bought == []
    # the customer still has where to send it and by when, with no label
    shown = instructions(r.h.runtime.engine, row.decision_id)
    assert shown is not None
    assert (shown["address"]["street"], shown["label_url"], shown["label_status"]) == (
        "1 Dock Rd", None, "no_label")
    assert shown["return_by"].startswith("2026-")
    # a person is told: one follow-up naming the return and the carrier's words
    [told] = r.h.rows(follow_ups)
    assert (told.kind, told.order_id, told.subject, told.payment_reference, told.status) == (
        "label_refused", "1001", row.decision_id, row.reference, "open")
    assert told.detail == (
        f"Return {row.decision_id} of order 1001: no prepaid label, the carrier refused it: "
        f"{said}. The customer has the return address and return-by date; check the address "
        "with them.")
    r.h.clock.advance(3600)
    r.labels()  # another round, and the same change again, tell nobody twice
    with write_tx(r.h.runtime.engine) as conn:
        assert record_no_label(conn, row.decision_id, NoLabel("address_rejected", said),
                               r.h.clock()) is False
    assert len(r.h.rows(follow_ups)) == 1


def test_a_refused_label_is_on_the_finance_follow_ups_and_cleared_by_the_receipt(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY)
    r.paid(address={**ANN, "postal_code": "00000"})
    r.ask(lines=MUG)
    r.labels()
    decision_id = r.shipment().decision_id
    token = create_token(r.h.runtime.engine, "Fin", "finance", r.h.clock()).secret

    listed = r.h.client().get("/api/follow-ups",
                              headers={"Authorization": f"Bearer {token}"}).get_json()["data"]

    assert [(d["kind"], d["order_id"], d["decision_id"], d["status"]) for d in listed] == [
        ("label_refused", "1001", decision_id, "open")]
    assert "ADDRESS.VERIFY.FAILURE: Address not found" in listed[0]["what_failed"]
    r.h.runtime.service.receive(decision_id, {"l1": ("as_new", None, False)}, "dock")
    assert [(f.kind, f.status) for f in r.h.rows(follow_ups)] == [("label_refused", "cleared")]


def test_a_label_dearer_than_the_item_is_not_bought(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY)
    r.paid(lines=[{"id": "l1", "sku": "PIN-1", "name": "Pin", "quantity": 1, "unit_amount": 600}])
    r.ask(lines=MUG)

    r.labels()

    row = r.shipment()
    assert (row.label_status, row.last_error) == (
        "no_label", "The cheapest label costs more than the item: keep it.")
    assert r.easypost.fake.bought == []


def test_the_customer_pays_the_label_fee_unless_the_fault_is_ours(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY.replace("return_by_days: 30", 'paid_by: customer, fee: "6.00"'))
    r.paid()
    theirs = r.ask(lines=MUG)
    assert theirs["refund_amount"] == 1900
    assert "We deducted 6.00 USD return shipping" in theirs["explanation"]
    r.paid("1002")
    ours = r.ask("r-2", "1002", lines=[{"line_id": "l1", "quantity": 1, "reason": "damaged"}])
    assert ours["refund_amount"] == 3000  # the mug and the shipping, no fee
    fees = {row.order_id: row.label_fee for row in r.h.rows(return_shipments)}
    assert fees == {"1001": 600, "1002": 0}


def test_a_return_not_sent_in_time_expires_its_held_money_is_canceled_and_its_label_voided(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY)
    r.labelled(MUG)
    desk = r.h.runtime.shipping_desk
    assert desk is not None
    r.h.clock.advance(timedelta(days=36, hours=23).total_seconds())
    assert desk.expire_due(apply=False) == []  # 30 days and 7 of grace are not over yet
    r.h.clock.advance(timedelta(hours=1).total_seconds())
    assert [x.decision_id for x in desk.expire_due(apply=False)] == [r.shipment().decision_id]

    r.labels()

    assert r.attempts() == [("refund", 2500, "canceled")]
    row = r.shipment()
    assert (row.status, row.label_status) == ("expired", "voided")
    assert r.easypost.fake.shipments[row.shipment_id]["refund_status"] == "submitted"
    assert [b["status"] for _, b in r.journal("return_expired")] == ["expired"]
    canceled = [b for t, b in r.journal("attempt") if b.get("status") == "canceled"]
    assert canceled[0]["last_error"] == "return expired: not sent by " + \
        row.return_by.date().isoformat()
    r.h.drain()
    assert r.stripe.fake.refunds == []


def test_a_scan_after_the_return_expired_reopens_it_for_a_person_and_pays_nothing(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY)
    code = r.labelled(MUG)
    r.h.clock.advance(timedelta(days=38).total_seconds())
    r.labels()

    assert r.track("evt_late", code, "in_transit").status_code == 200

    assert r.shipment().status == "reopened"
    review = r.h.rows(reviews)
    assert [(x.status, x.reason) for x in review] == [
        ("open", "late_return: scanned (in_transit) after the return expired")]
    r.h.drain()
    assert r.attempts() == [("refund", 2500, "canceled")]

    decide(r.h.runtime.engine, r.h.runtime.service, r.shipment().decision_id, approve=True,
           by="ada", note="the parcel came after all", now=r.h.clock())
    r.h.drain()
    assert r.attempts() == [("refund", 2500, "canceled"), ("refund", 2500, "succeeded")]
    assert [x["amount"] for x in r.stripe.fake.refunds] == [2500]
    assert verify_ledger(r.h.runtime.engine) == []


def _webhook_case(r: Returns, case: str) -> tuple[int, str]:
    code = r.labelled(MUG)
    if case == "forged":
        resp = r.track("evt_f", code, "in_transit", secret="not-the-secret")
    elif case == "stale":
        old = (r.h.clock() - timedelta(days=8)).isoformat().replace("+00:00", "Z")
        resp = r.track("evt_s", code, "in_transit", created_at=old)
    elif case == "huge-number":  # signed, but an integer longer than Python reads
        body = b'{"id": "evt_h", "n": ' + b"9" * 4301 + b"}"
        resp = r.h.client().post("/webhooks/easypost", data=body, headers={
            "X-Hmac-Signature": sign(body, EASYPOST_SECRET), "Content-Type": "application/json"})
    else:
        body = json.dumps({"id": "evt_t"}).encode()
        resp = r.h.client().post("/webhooks/easypost", data=body,
                                 headers={"X-Hmac-Signature": "hmac-sha256-hex=" + "0" * 64})
    assert resp.json is not None
    return resp.status_code, resp.json["error"]["code"]


@pytest.mark.parametrize("case,code", [("forged", "bad_signature"), ("stale", "stale_event"),
                                       ("tampered", "bad_signature"),
                                       ("huge-number", "malformed_json")])
def test_a_forged_stale_or_tampered_tracking_webhook_is_400_and_records_nothing(
    returns_service: Callable[..., Returns], case: str, code: str,
) -> None:
    r = returns_service(POLICY)
    before = (r.h.rows(events), r.attempts())
    assert _webhook_case(r, case) == (400, code)
    assert r.h.rows(events, source="easypost") == []
    assert r.attempts() == [("refund", 2500, "held")]
    assert r.shipment().status == "label_created"
    assert before[1] == []


def test_a_replayed_event_id_is_400_and_records_nothing_new(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY.replace("first_scan", "delivered"))
    code = r.labelled(MUG)
    first = r.track("evt_1", code, "in_transit")
    assert (first.status_code, (first.json or {})["duplicate"]) == (200, False)
    tables = (r.h.rows(events), r.journal(), r.attempts(), r.shipment().status,
              r.shipment().updated_at)

    again = r.track("evt_1", code, "in_transit")

    assert again.status_code == 400
    assert again.json == {"error": {"code": "replayed_event", "message":
                                    "event evt_1 was received and recorded before: a replay"}}
    assert (r.h.rows(events), r.journal(), r.attempts(), r.shipment().status,
            r.shipment().updated_at) == tables
    assert len(r.journal("return_tracking")) == 1
    assert len(r.h.rows(events, source="easypost")) == 1


def test_a_replay_carrying_a_later_status_changes_nothing_either(
    returns_service: Callable[..., Returns],
) -> None:
    """A replayed id signed for real (a captured delivery) is refused whatever it says."""
    r = returns_service(POLICY.replace("first_scan", "delivered"))
    code = r.labelled(MUG)
    assert r.track("evt_1", code, "in_transit").status_code == 200

    again = r.track("evt_1", code, "delivered")

    assert again.status_code == 400 and (again.json or {})["error"]["code"] == "replayed_event"
    assert r.shipment().status == "in_transit"
    assert r.attempts() == [("refund", 2500, "held")]


def test_a_delivery_that_failed_on_our_side_is_taken_when_easypost_retries_it(
    returns_service: Callable[..., Returns], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EasyPost retries a delivery that got no 2xx: the failed one recorded nothing, so the
    retry is a first delivery (200), not a replay."""
    r = returns_service(POLICY.replace("first_scan", "delivered"))
    code = r.labelled(MUG)

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the database went away")

    with monkeypatch.context() as m:
        m.setattr(tracking, "apply", boom)
        failed = r.track("evt_1", code, "in_transit")
    assert failed.status_code == 500
    assert r.h.rows(events, source="easypost") == [] and r.journal("return_tracking") == []

    retried = r.track("evt_1", code, "in_transit")

    assert (retried.status_code, (retried.json or {})["duplicate"]) == (200, False)
    assert r.shipment().status == "in_transit"
    assert len(r.h.rows(events, source="easypost")) == 1


def test_an_unknown_tracking_code_is_200_and_a_log_line_with_nothing_changed(
    returns_service: Callable[..., Returns], caplog: pytest.LogCaptureFixture,
) -> None:
    r = returns_service(POLICY)
    r.paid()
    r.ask(lines=MUG)
    r.labels()
    before = len(r.journal())

    resp = r.track("evt_x", "EZ9999999999", "delivered")

    assert (resp.status_code, resp.json) == (200, {"received": True, "duplicate": False,
                                                   "ignored": "unknown tracking code"})
    assert "easypost event ignored: unknown tracking code" in caplog.text
    assert len(r.journal()) == before and r.h.rows(events, source="easypost") == []
    assert [x.status for x in r.h.rows(refund_attempts)] == ["held"]


def test_the_parcel_weighs_the_returned_lines_and_only_allowed_carriers_are_bought(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY.replace("grace_days: 7", "grace_days: 7, carriers: [UPS, FedEx]"))
    r.paid(weights={"l1": 400})
    r.ask(lines=[{"line_id": "l1", "quantity": 2, "reason": "changed_mind"}])

    r.labels()

    [shipment] = r.easypost.fake.bought
    assert shipment["parcel"] == {"weight": 28.2, "length": 11.8, "width": 7.9, "height": 3.9}
    assert (shipment["selected_rate"]["carrier"], shipment["selected_rate"]["rate"]) == (
        "FedEx", "9.80")  # USPS is cheaper, but not allowed
    assert (r.shipment().label_amount, r.shipment().carrier_service) == (980, "FedEx FEDEX_GROUND")


def test_a_void_the_carrier_cannot_answer_is_asked_again_later(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY)
    r.labelled(MUG)
    r.h.clock.advance(timedelta(days=38).total_seconds())
    desk = r.h.runtime.shipping_desk
    assert desk is not None
    assert len(desk.expire_due()) == 1
    r.easypost.fake.fail_next = [502]

    assert desk.void_due() == 0
    assert (r.shipment().label_status, r.shipment().tries) == ("void_pending", 1)
    assert desk.void_due() == 0  # not due again yet: no call
    calls = len(r.easypost.fake.calls)
    r.h.clock.advance(3600)

    assert desk.void_due() == 1
    assert r.shipment().label_status == "voided"
    # two asks in all: the one answered 502, then the one that voided it
    assert r.easypost.fake.count("POST", "/refund") == 2 and len(r.easypost.fake.calls) == calls + 1
