"""Finance sees the physical return: what the labels cost (a cost of returns), and promise
keeping measured from the parcel's trigger, not from a decision whose money had to wait."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from refunds_plugin.finance.tokens import create_token
from tests.integration.shipping.conftest import Returns

POLICY = """currency: USD
window: {days: 365, start: payment}
promise_hours: 48
return_shipping: {label: easypost}
refund_on: first_scan
"""


def test_label_costs_and_the_promise_clock_from_the_first_scan(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY)
    r.paid()
    r.ask(lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}])
    r.labels()
    token = create_token(r.h.runtime.engine, "Fin", "finance", r.h.clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    since = (r.h.clock() - timedelta(days=1)).date().isoformat()

    held = r.h.client().get("/api/decisions?status=held", headers=auth).json
    assert held is not None and [d["money_status"] for d in held["data"]] == ["held"]
    r.h.clock.advance(timedelta(days=3).total_seconds())
    waiting = r.h.client().get(f"/api/summary?since={since}", headers=auth).json
    r.track("evt_1", r.shipment().tracking_code, "in_transit")
    r.h.clock.advance(3600)
    r.h.drain()
    done = r.h.client().get(f"/api/summary?since={since}", headers=auth).json
    page = r.h.client().get(f"/finance/summary?since={since}", headers=auth)

    assert waiting is not None and done is not None
    assert waiting["promise"] == {"returned": 0, "median_seconds": None, "p95_seconds": None,
                                  "missed": 0, "overdue": 0,
                                  "dry_run": 0, "test_mode": 0}  # 3 days, but nothing was due
    assert done["promise"] == {"returned": 1, "median_seconds": 3600, "p95_seconds": 3600,
                               "missed": 0, "overdue": 0, "dry_run": 0, "test_mode": 0}
    assert done["return_labels"] == [{"currency": "USD", "labels": 1, "cost": 745}]
    assert "1 prepaid return label(s): 7.45 USD" in page.get_data(as_text=True)
    gone = r.h.client().get("/api/decisions?status=held", headers=auth).json
    assert gone is not None and gone["data"] == []
    decision = r.shipment().decision_id
    shown = r.h.client().get(f"/finance/decisions/{decision}", headers=auth)
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200, text
    for said in ("<dt>Parcel</dt><dd>in transit</dd>", "<dt>Label cost</dt><dd>7.45 USD</dd>",
                 "<dt>Tracking</dt><dd>USPS EZ0000000001</dd>",
                 "<dt>Money moves at</dt><dd>refund: first scan</dd>"):
        assert said in text, said
