"""EasyPost has no idempotency key for a purchase, so a label is bought once by our reference:
each try looks the shipment up first. When a purchase finishes at EasyPost after our call gave
up, the next try may still see the shipment unbought and ask to buy it again; EasyPost refuses
(postage exists), and that refusal must not leave the customer without the label we paid for."""

from __future__ import annotations

from collections.abc import Callable

from refunds_plugin.ledger.tables import follow_ups, outbox
from tests.integration.shipping.conftest import Returns

POLICY = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, return_by_days: 30, grace_days: 7}
"""
MUG = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]


def test_a_purchase_that_finished_after_our_try_gave_up_is_recorded_not_refused(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY)
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    fake = r.easypost.fake
    fake.lose_next_buy = True  # bought at EasyPost; our call sees a 503

    assert r.labels() == 0
    assert (r.shipment().label_status, len(fake.bought)) == ("pending", 1)
    fake.stale_reads = 1  # the retry's look-up does not see the purchase yet
    r.h.clock.advance(3600)
    r.labels()

    row = r.shipment()
    [bought] = fake.bought
    assert (row.status, row.label_status) == ("label_created", "bought")
    assert (row.shipment_id, row.tracking_code, row.label_amount) == (
        bought["id"],
        bought["tracking_code"],
        745,
    )
    assert len(fake.shipments) == 1 and fake.count("POST", "/buy") == 2
    assert r.h.rows(follow_ups) == []
    assert [o.kind for o in r.h.rows(outbox) if o.channel == "mail"].count("label_ready") == 1
    assert f'href="https://labels.example/{bought["id"]}.pdf"' in r.status_page(decision)
