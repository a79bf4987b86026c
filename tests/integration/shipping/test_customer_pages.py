"""What the customer reads about sending a return back: the address, the date, the label and,
once it moves, where the parcel is; the money waits for the parcel and says so."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.integration.shipping.conftest import Returns

POLICY = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, packing_notes: "Pack it in its box, please."}
refund_on: first_scan
"""


def _asked(returns_service: Callable[..., Returns]) -> tuple[Returns, str]:
    """A paid order and its approved return of one mug: the service and the decision id."""
    r = returns_service(POLICY)
    r.paid()
    answer = r.ask(lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}])
    return r, str(answer["decision_id"])


def test_the_status_page_shows_where_to_send_it_the_label_and_the_parcel(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision = _asked(returns_service)

    before = r.status_page(decision)
    r.labels()
    ready = r.status_page(decision)
    r.track("evt_1", r.shipment().tracking_code, "in_transit")
    moving = r.status_page(decision)

    assert "Your prepaid label is on its way" in before
    assert "Waiting for your parcel: it is sent as soon as your return is on its way" in before
    for text in ("Send your parcel to:", "Our shop returns<br>1 Dock Rd<br>Austin, TX 78701<br>US",
                 "Please send it by 24 December 2026.", "Packing: Pack it in its box, please.",
                 "Label ready: waiting for your parcel.",
                 f'href="https://labels.example/{r.shipment().shipment_id}.pdf"',
                 "Tracking: USPS EZ0000000001"):
        assert text in ready, text
    assert "On its way back to us." in moving
    assert "Requested: we have asked for your money to be sent." in moving
    assert "Send your parcel to:" not in moving


def test_an_expired_return_tells_the_customer_and_shows_no_address_any_more(
    returns_service: Callable[..., Returns],
) -> None:
    r, decision = _asked(returns_service)
    r.labels()
    r.h.clock.advance(timedelta(days=38).total_seconds())
    r.labels()

    page = r.status_page(decision)

    assert "We did not see your parcel in time, so this return has closed." in page
    assert "Send your parcel to:" not in page
    assert "Print your prepaid return label" not in page
    assert "Not sent: the return closed before your parcel was on its way." in page
    assert "Failed:" not in page


WAITS = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost}
refund_on: %s
"""


@pytest.mark.parametrize(("refund_on", "label", "scans", "stage"), [
    ("delivered", True, ("in_transit",), "as soon as your return reaches us."),
    ("inspected", True, ("in_transit", "delivered"),
     "as soon as we have received and checked your return."),
    # no label bought: no carrier scan can come, the parcel's arrival releases it
    ("first_scan", False, (), "as soon as your return reaches us."),
])
def test_held_money_says_what_it_really_waits_for_whatever_the_parcel_did_so_far(
    returns_service: Callable[..., Returns], refund_on: str, label: bool,
    scans: tuple[str, ...], stage: str,
) -> None:
    r = returns_service(WAITS % refund_on, label=label)
    r.paid()
    decision = r.ask(lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}])[
        "decision_id"]
    r.labels()
    for n, status in enumerate(scans):
        assert r.track(f"evt_{n}", r.shipment().tracking_code, status).status_code == 200
    r.h.drain()

    page = r.status_page(decision)

    assert r.attempts() == [("refund", 2500, "held")]  # the scans so far release nothing
    assert re.findall(r'data-stage="waiting">.*?<div>(.*?)</div>', page, re.S) == [
        f"Waiting for your parcel: it is sent {stage}"]
