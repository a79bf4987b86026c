"""EasyPost sends every tracker event of an account to each of its webhooks, so this service
also hears of parcels it never bought labels for (another shop or system on the account). An
event is applied only to the return whose label it tracks: the same tracking code on another
shipment (another carrier's number, another shop's label) is ignored, changes nothing and
releases no money; EasyPost's event for our own shipment is applied as before."""

from __future__ import annotations

import json
from collections.abc import Callable

from refunds_plugin.ledger.tables import events
from tests.fakes.easypost_api import sign, tracker_event
from tests.integration.shipping.conftest import EASYPOST_SECRET, Returns

DELIVERED = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, return_by_days: 30, grace_days: 7}
refund_on: delivered
"""
MUG = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]


def _post(r: Returns, event_id: str, code: str, status: str, shipment_id: str) -> dict:
    when = r.h.clock().isoformat().replace("+00:00", "Z")
    body = json.dumps(tracker_event(event_id, code, status, when, shipment_id)).encode()
    resp = r.h.client().post(
        "/webhooks/easypost",
        data=body,
        headers={
            "X-Hmac-Signature": sign(body, EASYPOST_SECRET),
            "Content-Type": "application/json",
        },
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return dict(resp.get_json())


def test_a_tracker_of_another_shipment_with_our_code_is_ignored_and_pays_nothing(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(DELIVERED)
    r.paid()
    r.ask(lines=MUG)
    r.labels()
    ours = r.shipment()

    answer = _post(r, "evt_other", ours.tracking_code, "delivered", "shp_another_shops_label")

    assert answer == {"received": True, "duplicate": False, "ignored": "unknown tracking code"}
    assert r.shipment().status == "label_created"
    assert r.attempts() == [("refund", 2500, "held")]
    assert [e.event_id for e in r.h.rows(events) if e.source == "easypost"] == []
    r.h.drain()
    assert r.stripe.fake.refunds == []

    # EasyPost's event for our own shipment is applied, once
    _post(r, "evt_ours", ours.tracking_code, "delivered", ours.shipment_id)
    assert r.shipment().status == "delivered"
    assert r.attempts()[0][2] != "held"
