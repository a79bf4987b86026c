"""EasyPost's ``cancelled`` and ``error`` tracker statuses (signed webhooks): the status page
says what happened and what to do, and keeps what the customer still needs to send the parcel:
the address and the send-by date, and the label while it can still be used."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta

from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.ledger.tables import follow_ups, outbox
from tests.integration.shipping.conftest import Returns

DELIVERED = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, return_by_days: 30, grace_days: 7}
refund_on: delivered
"""
MUG = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]


def _tracked(returns_service: Callable[..., Returns], status: str) -> tuple[Returns, str]:
    r = returns_service(DELIVERED)
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    r.labels()
    assert r.track("evt_1", r.shipment().tracking_code, status).status_code == 200
    assert r.shipment().status == status
    return r, r.status_page(decision)


def test_a_cancelled_label_is_said_and_withdrawn_and_the_address_and_date_stay(
    returns_service: Callable[..., Returns],
) -> None:
    r, page = _tracked(returns_service, "cancelled")
    assert '<p class="parcel parcel-cancelled" data-parcel="cancelled">The carrier cancelled ' \
        "your return label, so it can no longer be used. Please contact us for a new one " \
        "before you send your parcel.</p>" in page
    assert "<h2>How to send it back</h2>" in page
    assert '<p class="send-back">Please send back: Mug.</p>' in page
    assert "<p>Send your parcel to:</p>" in page and "1 Dock Rd" in page
    assert '<p class="return-by">Please send it by 24 December 2026.</p>' in page
    assert 'id="label-link"' not in page and r.shipment().label_url  # bought, now void
    assert r.attempts() == [("refund", 2500, "held")]  # still waits for the parcel


def test_a_tracking_error_is_said_and_the_address_date_and_label_stay(
    returns_service: Callable[..., Returns],
) -> None:
    r, page = _tracked(returns_service, "error")
    assert '<p class="parcel parcel-error" data-parcel="error">The carrier reported a problem ' \
        "tracking your parcel. If you have not sent it yet, please send it as shown here; if " \
        "you have, please keep your proof of postage.</p>" in page
    assert "<h2>Your parcel</h2>" in page
    assert "<p>Send your parcel to:</p>" in page and "1 Dock Rd" in page
    assert '<p class="return-by">Please send it by 24 December 2026.</p>' in page
    sid = r.shipment().shipment_id
    assert f'<a class="button" id="label-link" href="https://labels.example/{sid}.pdf">' \
        "Print your prepaid return label</a>" in page


def _kinds(r: Returns) -> list[str]:
    return [row.kind for row in r.h.rows(outbox) if row.channel == "mail"]


def _sweep_at(r: Returns, days: float) -> None:
    """The desk's round ``days`` after the return was opened (return-by at 30, grace 7)."""
    r.h.clock.now = r.shipment().created_at.replace(tzinfo=UTC) + timedelta(days=days)
    r.labels()


def test_a_cancelled_label_tells_a_person_is_not_reminded_and_the_return_still_expires(
    returns_service: Callable[..., Returns],
) -> None:
    r, _ = _tracked(returns_service, "cancelled")
    ret = r.shipment()
    follow = [(f.kind, f.subject, f.status, f.detail) for f in r.h.rows(follow_ups)]
    assert follow == [(
        "label_cancelled", ret.decision_id, "open",
        f"Return {ret.decision_id} of order 1001: the carrier cancelled its prepaid label before "
        "the parcel was sent. The customer was asked to contact you for a new one; unless the "
        "parcel is scanned, the return expires on 2026-12-31 and its held money is canceled.")]

    _sweep_at(r, 27)  # inside the reminder's 5 days: a dead label is not handed out again
    assert "return_reminder" not in _kinds(r)
    _sweep_at(r, 36.9)
    assert r.attempts() == [("refund", 2500, "held")] and r.shipment().status == "cancelled"

    _sweep_at(r, 37.1)  # return-by + grace: held money canceled, the label not voided again
    assert r.attempts() == [("refund", 2500, "canceled")]
    row = r.shipment()
    assert (row.status, row.label_status) == ("expired", "bought")
    assert r.easypost.fake.shipments[row.shipment_id].get("refund_status") is None
    assert _kinds(r).count("return_expired") == 1
    r.h.drain()
    assert r.stripe.fake.refunds == []
    assert verify_ledger(r.h.runtime.engine) == []


def test_a_tracking_error_before_any_scan_is_reminded_and_expires(
    returns_service: Callable[..., Returns],
) -> None:
    r, _ = _tracked(returns_service, "error")
    _sweep_at(r, 27)
    assert _kinds(r).count("return_reminder") == 1
    assert r.h.rows(follow_ups) == []
    _sweep_at(r, 37.1)
    assert r.attempts() == [("refund", 2500, "canceled")]
    row = r.shipment()
    assert (row.status, row.label_status) == ("expired", "voided")


def test_an_error_or_cancel_after_a_scan_leaves_the_parcel_on_its_way(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(DELIVERED)
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    r.labels()
    code = r.shipment().tracking_code
    assert r.track("evt_1", code, "in_transit").status_code == 200
    assert r.track("evt_2", code, "error").status_code == 200
    assert r.track("evt_3", code, "cancelled").status_code == 200

    assert r.shipment().status == "in_transit"
    page = r.status_page(decision)
    assert "<h2>Your parcel</h2>" in page and 'data-parcel="in_transit"' in page
    assert "problem tracking" not in page and "cancelled" not in page
    assert r.h.rows(follow_ups) == []
    _sweep_at(r, 40)  # on its way: never expired
    assert r.shipment().status == "in_transit"
    assert r.attempts() == [("refund", 2500, "held")]
