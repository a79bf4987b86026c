"""Stripe charges three-decimal currencies in tens (docs.stripe.com/currencies): a 10.005 KWD
order is charged 10.010 KWD. That fils is Stripe's rounding, which no refund can give back:
the detectors find no overpayment in it, and an extra payment is refunded whole, once.

Signed Stripe and storefront webhooks through the Flask app; Stripe is the in-repo fake.
"""

from __future__ import annotations

from typing import Any

from refunds_plugin.ledger.tables import decisions, refund_attempts
from tests.fakes import Harness, stripe_event
from tests.fakes.stripe_api import FakeStripe
from tests.fakes.stripe_shapes import T0, payment_intent, storefront_order


def kwd_order(total: int) -> dict[str, Any]:
    """order.paid of one line at ``total`` KWD (in fils), no shipping, paid by pi_first."""
    event = storefront_order(reference="pi_first", total=total)
    order = event["data"]["order"]
    order.update(currency="KWD", shipping_amount=0)
    order["lines"][0]["unit_amount"] = total
    order["payment"]["amount"] = total
    return event


def paid_kwd(h: Harness, fake: FakeStripe, pi_id: str, amount: int, created: int) -> str:
    fake.add_payment_intent(amount, "kwd", pi_id, order_id="1001")
    obj = payment_intent(pi_id, amount, created=created, currency="kwd")
    resp = h.post_stripe(stripe_event(f"evt_{pi_id}", "payment_intent.succeeded", obj))
    assert resp.status_code == 200, resp.json
    return str(resp.json["note"])


def corrections(h: Harness) -> list[tuple[Any, ...]]:
    return sorted((d.kind, d.request_key, d.outcome, d.amount, d.explanation)
                  for d in h.rows(decisions))


def test_stripes_rounding_of_an_order_total_to_ten_fils_is_no_overpayment(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    assert harness.post_storefront(kwd_order(10005)).status_code == 200

    note = paid_kwd(harness, fake_stripe, "pi_first", 10010, T0)

    assert note == "payment recorded"
    assert corrections(harness) == []


def test_an_extra_kwd_payment_is_refunded_whole_and_the_rounding_fils_is_never_decided(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.post_storefront(kwd_order(10005))
    paid_kwd(harness, fake_stripe, "pi_first", 10010, T0)

    note = paid_kwd(harness, fake_stripe, "pi_extra", 1010, T0 + 60)

    assert note == "payment recorded; overpayment 1.010 KWD on pi_extra: approve"
    assert corrections(harness) == [
        ("overpayment", "overpayment:11020:pi_extra", "approve", 1010,
         "We noticed you paid more than the total of order 1001 and refunded the extra "
         "1.010 KWD.")]
    harness.drain()
    assert [(r["payment_intent"], r["amount"]) for r in fake_stripe.refunds] == [
        ("pi_extra", 1010)]
    assert fake_stripe.refunded("pi_first") == 0
    assert harness.count(refund_attempts) == 1
