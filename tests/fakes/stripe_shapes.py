"""Stripe shapes for the trouble tests: payment intents, refunds and failures, signed for real."""

from __future__ import annotations

from typing import Any

from werkzeug.test import TestResponse

from tests.fakes import Harness, stripe_event
from tests.fakes.stripe_api import FakeStripe

T0 = 1763980000  # 2025-11-24 10:26:40 UTC: when the first payment intent was created


def payment_intent(pi_id: str, amount: int, *, created: int, order_id: str = "1001",
                   currency: str = "usd") -> dict[str, Any]:
    return {"id": pi_id, "object": "payment_intent", "amount": amount, "amount_received": amount,
            "currency": currency, "customer": "cus_ann", "receipt_email": "ann@example.com",
            "latest_charge": "ch_" + pi_id.removeprefix("pi_"), "status": "succeeded",
            "created": created, "metadata": {"order_id": order_id}}


def charge(pi_id: str, amount: int, *, created: int, order_id: str = "1001",
           refunded: int = 0) -> dict[str, Any]:
    return {"id": "ch_" + pi_id.removeprefix("pi_"), "object": "charge", "amount": amount,
            "amount_captured": amount, "amount_refunded": refunded, "currency": "usd",
            "captured": True, "payment_intent": pi_id, "created": created,
            "billing_details": {"email": "ann@example.com"}, "metadata": {"order_id": order_id}}


def failed_intent(pi_id: str, amount: int, *, order_id: str = "1001") -> dict[str, Any]:
    return {"id": pi_id, "object": "payment_intent", "amount": amount, "amount_received": 0,
            "currency": "usd", "customer": "cus_bo", "receipt_email": None,
            "status": "requires_payment_method", "created": T0,
            "metadata": {"order_id": order_id},
            "last_payment_error": {
                "code": "card_declined", "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds.", "type": "card_error",
                "payment_method": {"id": "pm_1", "billing_details": {"email": "bo@example.com"}},
            }}


def storefront_order(order_id: str = "1001", total: int = 10000,
                     reference: str = "pi_first") -> dict[str, Any]:
    """order.paid for one 95.00 line plus 5.00 shipping, paid by ``reference``."""
    return {
        "id": f"evt_paid_{order_id}", "type": "order.paid", "created": T0,
        "data": {"order": {
            "id": order_id, "currency": "USD", "paid_at": "2025-11-24T10:27:00Z",
            "customer": {"id": "c-7", "email": "ann@example.com"},
            "lines": [{"id": "l1", "sku": "SHOE-1", "name": "Shoes", "quantity": 1,
                       "unit_amount": total - 500}],
            "shipping_amount": 500, "total_amount": total,
            "payment": {"provider": "stripe", "reference": reference, "amount": total},
        }},
    }


def pay(h: Harness, fake: FakeStripe | None, pi_id: str, amount: int, *, created: int,
        order_id: str = "1001") -> TestResponse:
    """Stripe took ``amount`` on ``pi_id``; the fake knows it and the webhook tells us."""
    if fake is not None:
        fake.add_payment_intent(amount, "usd", pi_id, order_id=order_id)
    obj = payment_intent(pi_id, amount, created=created, order_id=order_id)
    resp = h.post_stripe(stripe_event(f"evt_{pi_id}", "payment_intent.succeeded", obj))
    assert resp.status_code == 200, resp.json
    return resp


def outside_refund(h: Harness, fake: FakeStripe, pi_id: str, amount: int) -> None:
    """A refund the merchant made in the Stripe dashboard, and the events Stripe sends for it."""
    refund = fake.create_refund({"payment_intent": pi_id, "amount": amount})
    resp = h.post_stripe(stripe_event(f"evt_{refund['id']}", "refund.created", refund))
    assert resp.status_code == 200, resp.json
    pi = fake.payment_intents[pi_id]
    obj = charge(pi_id, pi["amount_received"], created=T0, refunded=fake.refunded(pi_id))
    resp = h.post_stripe(stripe_event(f"evt_chr_{refund['id']}", "charge.refunded", obj))
    assert resp.status_code == 200, resp.json
