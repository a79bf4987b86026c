"""An expired return's unused label is voided once: when EasyPost took the void but its answer
was lost (a timeout, a 5xx), the next try's void is refused as already asked for, and that is a
label voided, not one the carrier 'will not take back' (void_refused, for a person)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta

from refunds_plugin.shipping.carriers import Label, LabelRequest, NoLabel
from tests.integration.shipping.conftest import Returns

POLICY = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, return_by_days: 30, grace_days: 7}
refund_on: delivered
"""
MUG = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]


def test_a_void_whose_answer_was_lost_is_recorded_voided_once(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY)
    r.paid()
    r.ask(lines=MUG)
    r.labels()
    fake = r.easypost.fake
    fake.lose_next_refund = True  # EasyPost takes the void; our call sees a 503

    r.h.clock.now = r.shipment().created_at.replace(tzinfo=UTC) + timedelta(days=37.1)
    r.labels()
    row = r.shipment()
    assert (row.status, row.label_status) == ("expired", "void_pending")
    assert fake.shipments[row.shipment_id]["refund_status"] == "submitted"

    r.h.clock.advance(3600)
    r.labels()

    row = r.shipment()
    assert (row.label_status, row.last_error) == ("voided", None)
    voids = [b for _, b in r.journal("return_label") if b["label_status"] != "bought"]
    assert voids == [{"label_status": "voided", "refund_status": "submitted"}]


def test_a_second_worker_does_not_void_a_label_another_is_voiding(
    returns_service: Callable[..., Returns],
) -> None:
    """Two ``refunds worker`` rounds at once: the label being voided by one is claimed under a
    lease, so the other neither asks EasyPost again nor records a second outcome."""
    r = returns_service(POLICY)
    r.paid()
    r.ask(lines=MUG)
    r.labels()
    desk = r.h.runtime.shipping_desk
    assert desk is not None
    real = desk.carrier
    asked: list[str] = []

    class Racing:
        name = "easypost"

        def buy_return_label(self, request: LabelRequest) -> Label | NoLabel:
            return real.buy_return_label(request)

        def void(self, shipment_id: str) -> str:
            asked.append(shipment_id)
            if len(asked) == 1:
                assert desk is not None
                desk.void_due()  # the other worker's round, while this call is out
            return real.void(shipment_id)

    r.h.clock.now = r.shipment().created_at.replace(tzinfo=UTC) + timedelta(days=30.9)
    assert desk.expire_due() == []
    r.h.clock.now = r.shipment().created_at.replace(tzinfo=UTC) + timedelta(days=37.1)
    assert len(desk.expire_due()) == 1
    desk.carrier = Racing()
    desk.void_due()

    assert len(asked) == 1
    assert r.shipment().label_status == "voided"
    voids = [b for _, b in r.journal("return_label") if b["label_status"] != "bought"]
    assert voids == [{"label_status": "voided", "refund_status": "submitted"}]
