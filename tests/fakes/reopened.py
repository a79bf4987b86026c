"""A return the policy approved whose review a person re-opened and declined, made as the app
makes one: the payout refused (a Stripe dispute) or the parcel not what was sent back (the
warehouse receives a wrong item), then ``intake.reviews.decide(..., approve=False)``.

The order is ``order_paid(order_id)``'s (2 mugs at 25.00 + 5.00 shipping on ``payment``, paid
2026-11-01, customer c-7), one mug asked back."""

from __future__ import annotations

from collections.abc import Callable

from refunds_plugin.config import ReturnAddress
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.seal import settle
from refunds_plugin.ledger.tables import reviews
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe

# the policy keeps a mug under 30.00 with the customer (refunded without a return), or has it
# sent back (refunded at once: ``refund_on: approval``)
KEEP = """\
name: keep-mugs
currency: USD
window: {days: 365, start: payment}
resolution: {default: refund, allow: [refund, credit], keep_item: {below: "30.00"}}
"""
SEND_BACK = """\
name: send-back
currency: USD
window: {days: 365, start: payment}
"""
DOCK = ReturnAddress("Our shop returns", "1 Dock Rd", "Austin", "78701", "US", region="TX")


def approved(h: Harness, fake: FakeStripe, order_id: str = "1001",
             payment: str = "pi_123") -> str:
    """Order ``order_id`` paid on ``payment``, one mug asked back and approved by the policy:
    the decision id."""
    fake.add_payment_intent(5500, "usd", payment)
    assert h.post_storefront(order_paid(order_id, reference=payment)).status_code == 200
    answer = h.post_storefront(return_requested(f"r-{order_id}", order_id))
    assert answer.json is not None
    assert (answer.status_code, answer.json["outcome"]) == (201, "approve"), answer.json
    return str(answer.json["decision_id"])


def refuse_payout(h: Harness, fake: FakeStripe, payment: str = "pi_123") -> None:
    """Stripe refuses the refund (the charge is disputed): the review is re-opened."""
    fake.dispute(payment)
    h.drain()


def receive_wrong_item(h: Harness, decision_id: str) -> None:
    """The refund is paid at once, then the warehouse receives another item: re-opened."""
    h.drain()
    dock = create_token(h.runtime.engine, "Dock", "warehouse", h.clock()).secret
    received = h.client().post(
        f"/api/returns/{decision_id}/receive",
        json={"lines": [{"line_id": "l1", "condition": "wrong_item"}]},
        headers={"Authorization": f"Bearer {dock}"})
    assert received.status_code == 200, received.get_data(as_text=True)


def decline(h: Harness, decision_id: str) -> None:
    """A person declines the re-opened review."""
    assert [r.status for r in h.rows(reviews, decision_id=decision_id)] == ["open"]
    decide(h.runtime.engine, h.runtime.service, decision_id, approve=False, by="Ada Admin",
           note="not ours to pay", now=h.clock())
    settle(h.runtime.engine)


Reopen = Callable[[Harness, FakeStripe, str], None]
# each way a review is re-opened after the policy's approval: (the policy, the step, given the
# harness, the Stripe fake and the decision id)
WAYS: dict[str, tuple[str, Reopen]] = {
    "payout-refused": (KEEP, lambda h, fake, decision_id: refuse_payout(h, fake)),
    "wrong-item": (SEND_BACK, lambda h, fake, decision_id: receive_wrong_item(h, decision_id)),
}
