"""The physical return tells the customer (through a real SMTP server) and the merchant's
systems (Standard Webhooks, verified with the package's own verifier) at each step, each message
once: the approval with where and by when to send it, the label when it is bought, the reminder
before the return-by date, the expiry, and the receipt; nothing once the item is back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.tables import outbox
from tests.fakes.outbound_receiver import Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping.conftest import Returns

LABELLED = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, return_by_days: 30, grace_days: 7}
refund_on: first_scan
"""
INSPECTED = """currency: USD
window: {days: 365, start: payment}
refund_on: inspected
"""
MUG = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]
DAY = 86400
SHOP_ADDRESS = "Send the parcel to:\nOur shop returns\n1 Dock Rd\nAustin, TX 78701\nUS\n"


def _round(r: Returns, times: int = 2) -> None:
    """The shipping desk's round, then the courier; twice, as a second worker would."""
    for _ in range(times):
        r.labels()
        r.h.drain()


def _mails(smtp: SmtpSink) -> list[tuple[list[str], str]]:
    return [(m.rcpt_tos, m.subject) for m in smtp.received]


def _events(erp: Receiver, type_: str) -> list[dict[str, Any]]:
    return [p["data"] for _, p in erp.verified if p["type"] == type_]


def test_the_approval_says_where_and_by_when_and_the_label_follows_once(
    shop: Callable[..., Returns], smtp: SmtpSink, erp: Receiver,
) -> None:
    r = shop()
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    r.h.drain()  # the courier only: the label is not bought yet

    assert _mails(smtp) == [
        (["ann@example.com"], "We received your return request for order 1001"),
        (["ann@example.com"], "Your return for order 1001 is approved")]
    approved = smtp.received[1].part("plain")
    assert "Please send back: Mug." in approved and "send the item back" not in approved
    assert "\n\nSend it by 24 December 2026.\n\n" + SHOP_ADDRESS in approved
    assert "Your prepaid return label is on its way: we will email it to you as soon as it " \
        "is ready." in approved
    assert "Our shop returns<br>1 Dock Rd<br>Austin, TX 78701<br>US" in smtp.received[1].part(
        "html")
    [decided] = _events(erp, "return.decided")
    assert decided["return_instructions"] == {
        "address": {"name": "Our shop returns", "street": "1 Dock Rd", "city": "Austin",
                    "postal_code": "78701", "country": "US", "region": "TX"},
        "return_by": "2026-12-24T12:00:00+00:00", "label_url": None, "qr_code_url": None,
        "tracking_code": None, "carrier": None}

    _round(r)  # the label is bought; a second round and the courier add nothing

    shipment = r.shipment()
    sid = shipment.shipment_id
    assert _mails(smtp)[2:] == [(["ann@example.com"], "Your return label for order 1001")]
    label = smtp.received[2]
    assert label.part("plain").startswith(
        "Your prepaid return label is ready. Please send it back by 24 December 2026.\n\n"
        "- 1 × Mug: 25.00 USD\n\n" + SHOP_ADDRESS
        + "\nCarrier: USPS, tracking number EZ0000000001\n"
        f"Your return label: https://labels.example/{sid}.pdf\n"
        f"Or show this QR code at the drop-off point: https://labels.example/{sid}-qr.png\n")
    assert f'href="https://labels.example/{sid}.pdf"' in label.part("html")
    assert [(row.cause, row.status) for row in r.h.rows(outbox, kind="label_ready")] == [
        (f"return:{decision}:label", "sent")]


def test_the_reminder_comes_once_a_few_days_before_the_date_and_not_earlier(
    shop: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r = shop()
    r.paid()
    r.ask(lines=MUG)
    _round(r)
    before = len(smtp.received)
    r.h.clock.advance(24 * DAY)  # six days before the date: too early

    _round(r)
    assert len(smtp.received) == before

    r.h.clock.advance(DAY + 60)  # five days (less a minute) before: due
    _round(r)
    r.h.clock.advance(DAY)
    _round(r)  # the next day's rounds add nothing

    assert _mails(smtp)[before:] == [
        (["ann@example.com"],
         "Reminder: please send back your return for order 1001 by 24 December 2026")]
    text = smtp.received[before].part("plain")
    sid = r.shipment().shipment_id
    assert "We have not received your return yet. Please send it by 24 December 2026 so we can " \
        "complete it." in text
    assert SHOP_ADDRESS in text
    assert f"Your return label: https://labels.example/{sid}.pdf" in text


def test_a_scanned_parcel_is_neither_reminded_nor_expired_and_its_scans_reach_the_merchant_once(
    shop: Callable[..., Returns], smtp: SmtpSink, erp: Receiver,
) -> None:
    scanned = shop()
    scanned.paid()
    decision = scanned.ask(lines=MUG)["decision_id"]
    _round(scanned)
    code = scanned.shipment().tracking_code
    assert scanned.track("evt_scan_1", code, "in_transit").status_code == 200
    assert scanned.track("evt_scan_2", code, "out_for_delivery").status_code == 200
    scanned.h.drain()
    [moved] = _events(erp, "return.in_transit")  # the first scan only
    assert (moved["decision_id"], moved["status"]) == (decision, "in_transit")
    assert _mails(smtp)[-2:] == [  # the first scan told (``test_parcel_emails``), once
        (["ann@example.com"], "Your return for order 1001 is on its way to us"),
        (["ann@example.com"], "Your refund of 25.00 USD for order 1001 is on its way")]
    before = len(smtp.received)
    scanned.h.clock.advance(27 * DAY)
    _round(scanned)
    assert len(smtp.received) == before  # on its way: no reminder
    assert scanned.track("evt_scan_3", code, "delivered").status_code == 200
    scanned.h.clock.advance(20 * DAY)
    _round(scanned)
    assert _mails(smtp)[before:] == [  # the delivery, told once; no reminder, no expiry
        (["ann@example.com"], "We have your parcel for order 1001")]
    assert _events(erp, "return.expired") == []
    assert [(e["decision_id"], e["status"]) for e in _events(erp, "return.delivered")] == [
        (decision, "delivered")]
    assert len(_events(erp, "return.in_transit")) == 1


def test_a_return_not_sent_in_time_expires_and_the_customer_and_merchant_hear_once(
    shop: Callable[..., Returns], smtp: SmtpSink, erp: Receiver,
) -> None:
    r = shop()
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    _round(r)
    before = len(smtp.received)
    r.h.clock.advance(38 * DAY)  # past return_by and its grace, the reminder's days missed

    _round(r)

    assert r.shipment().status == "expired"
    assert _mails(smtp)[before:] == [
        (["ann@example.com"], "Your return for order 1001 has expired")]
    assert smtp.received[before].part("plain").startswith(
        "We did not see your return sent by 24 December 2026, so it has expired. "
        "The refund that was waiting for it will not be made.\n\n- 1 × Mug: 25.00 USD\n\n"
        "The return label is no longer valid: please do not use it.\n\n"
        "If you have already sent the item, reply to this email and we will look into it.\n")
    [expired] = _events(erp, "return.expired")
    assert (expired["decision_id"], expired["order_id"], len(expired["canceled_attempts"])) == (
        decision, "1001", 1)
    assert expired["return_instructions"]["tracking_code"] == "EZ0000000001"


def _receive(r: Returns, decision: str, lines: list[dict[str, Any]]) -> int:
    token = create_token(r.h.runtime.engine, "Dock", "warehouse", r.h.clock()).secret
    return r.h.client().post(f"/api/returns/{decision}/receive", json={"lines": lines},
                             headers={"Authorization": f"Bearer {token}"}).status_code


def test_the_receipt_is_told_once_with_what_came_back_and_nothing_follows_it(
    shop: Callable[..., Returns], smtp: SmtpSink, erp: Receiver,
) -> None:
    r = shop(INSPECTED, label=False)
    r.paid(lines=[{"id": "l1", "sku": "MUG-1", "name": "Mug", "quantity": 2,
                   "unit_amount": 2500}])
    decision = r.ask(lines=[{"line_id": "l1", "quantity": 2, "reason": "changed_mind"}])[
        "decision_id"]
    _round(r)
    approved = smtp.received[-1].part("plain")
    assert SHOP_ADDRESS in approved and "label" not in approved  # instructions only
    before = len(smtp.received)
    r.h.clock.advance(3 * DAY)
    lines = [{"line_id": "l1", "condition": "opened", "quantity": 2, "restock": True}]

    assert _receive(r, decision, lines) == 200
    assert _receive(r, decision, lines) == 200  # again: the same receipt, no new message
    _round(r)
    r.h.clock.advance(24 * DAY)  # the reminder's days, then the deadline: the item is back
    _round(r)
    r.h.clock.advance(20 * DAY)
    _round(r)

    assert _mails(smtp)[before:] == [
        (["ann@example.com"], "We received your return for order 1001"),
        (["ann@example.com"], "Your refund of 55.00 USD for order 1001 is on its way")]
    assert smtp.received[before].part("plain").startswith(
        "Your returned items arrived on 27 November 2026:\n\n- 2 × Mug: 50.00 USD\n\n"
        "We are sending 55.00 USD back to you now; we will write again when it is on its way.")
    [received] = _events(erp, "return.received")
    assert (received["decision_id"], received["received_at"], received["matched"]) == (
        decision, "2026-11-27T12:00:00+00:00", True)
    assert received["received"] == [
        {"line_id": "l1", "quantity": 2, "condition": "opened", "restock": True}]
    assert received["restock"] == [{"line_id": "l1", "quantity": 2, "status": "listed",
                                     "received_at": "2026-11-27T12:00:00+00:00"}]
    assert _events(erp, "return.expired") == []
    assert r.h.rows(outbox, kind="return_reminder") == []


MIXED = """currency: USD
window: {days: 365, start: payment}
final_sale: {tags: [final-sale], guarantee: credit}
refund_on: {refund: approval, credit: inspected}
"""


def test_the_receipt_names_only_the_money_it_releases_not_what_went_at_approval(
    shop: Callable[..., Returns], smtp: SmtpSink, erp: Receiver,
) -> None:
    r = shop(MIXED, label=False)
    r.paid(lines=[{"id": "l1", "sku": "MUG-1", "name": "Mug", "quantity": 1, "unit_amount": 2500,
                   "tags": []},
                  {"id": "l2", "sku": "CUP-1", "name": "Cup", "quantity": 1, "unit_amount": 1000,
                   "tags": ["final-sale"]}], shipping=0)
    decision = r.ask(lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"},
                            {"line_id": "l2", "quantity": 1, "reason": "changed_mind"}])[
        "decision_id"]
    _round(r)
    assert sorted(r.attempts()) == [("credit", 1000, "held"), ("refund", 2500, "succeeded")]
    before = len(smtp.received)

    assert _receive(r, decision, [
        {"line_id": "l1", "condition": "as_new", "quantity": 1, "restock": True},
        {"line_id": "l2", "condition": "as_new", "quantity": 1, "restock": True}]) == 200
    _round(r)

    assert _mails(smtp)[before:] == [
        (["ann@example.com"], "We received your return for order 1001"),
        (["ann@example.com"], "Your store credit of 10.00 USD for order 1001")]
    received = smtp.received[before]
    assert received.part("plain").startswith(
        "Your returned items arrived on 24 November 2026:\n\n- 1 × Mug: 25.00 USD\n"
        "- 1 × Cup: 10.00 USD\n\nWe are issuing your store credit of 10.00 USD now; we will "
        "write again when it is ready.\n")
    assert "We are sending" not in received.part("plain") + received.part("html")
    assert sorted(r.attempts()) == [("credit", 1000, "succeeded"), ("refund", 2500, "succeeded")]


def test_a_return_a_person_approves_is_emailed_with_its_instructions_and_then_its_label(
    shop: Callable[..., Returns], smtp: SmtpSink, erp: Receiver,
) -> None:
    r = shop(LABELLED + 'limits: {auto_approve_per_request: "10.00"}\n')
    r.paid()
    answer = r.ask(lines=MUG)
    assert answer["outcome"] == "review"
    r.h.drain()
    assert [s for _, s in _mails(smtp)] == [
        "We received your return request for order 1001",
        "Your return for order 1001 is being reviewed"]

    decide(r.h.runtime.engine, r.h.runtime.service, answer["decision_id"], approve=True,
           by="ada", note="a regular customer", now=r.h.clock())
    _round(r)

    assert [s for _, s in _mails(smtp)[2:]] == [
        "Your return for order 1001 is approved", "Your return label for order 1001"]
    approved = smtp.received[2].part("plain")
    assert "Send it by 24 December 2026.\n\n" + SHOP_ADDRESS in approved
    assert "Your prepaid return label is on its way" in approved
    [reviewed] = _events(erp, "return.reviewed")
    assert reviewed["return_instructions"]["address"]["street"] == "1 Dock Rd"
    assert f"https://labels.example/{r.shipment().shipment_id}.pdf" in \
        smtp.received[3].part("plain")
