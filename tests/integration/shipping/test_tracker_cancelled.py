"""EasyPost's ``cancelled`` and ``error`` tracker statuses (signed webhooks): the status page
says what happened and what to do, and keeps what the customer still needs to send the parcel:
the address and the send-by date, and the label while it can still be used."""

from __future__ import annotations

from collections.abc import Callable

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
