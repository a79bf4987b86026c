"""Icelandic krónur on Stripe: its API keeps ISK two-decimal but takes only whole krónur
(amounts divisible by 100), refunds included; another amount is refused with
``invalid_charge_amount_no_decimal_compatible`` (docs.stripe.com/currencies). A return whose
share of a discounted order has aurar is refunded in whole krónur, as a KWD return is in tens of
fils: the customer is promised what Stripe will take, never an amount it refuses.

Signed storefront and Stripe webhooks through the Flask app; Stripe is the in-repo fake, which
refuses an ISK refund that is not whole krónur as Stripe does.
"""

from __future__ import annotations

from refunds_plugin.ledger.tables import refund_attempts
from tests.fakes import Harness, order_paid, return_requested, stripe_event
from tests.fakes.stripe_api import FakeStripe
from tests.fakes.stripe_shapes import T0, payment_intent


def test_a_return_of_a_discounted_isk_line_is_refunded_in_whole_kronur(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    # 3 mugs at 1,000 ISK with 100 ISK off the order: each mug was charged 966.66… ISK
    mugs = [{"id": "l1", "sku": "MUG", "name": "Mug", "quantity": 3, "unit_amount": 100000,
             "tags": []}]
    order = order_paid(currency="ISK", lines=mugs, shipping=0, total=290000, reference="pi_isk")
    assert harness.post_storefront(order).status_code == 200
    fake_stripe.add_payment_intent(290000, "isk", "pi_isk", order_id="1001")
    paid = payment_intent("pi_isk", 290000, created=T0, currency="isk")
    assert harness.post_stripe(stripe_event("evt_isk", "payment_intent.succeeded",
                                            paid)).status_code == 200

    resp = harness.post_storefront(return_requested(
        lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]))

    assert resp.status_code == 201, resp.json
    assert (resp.json["outcome"], resp.json["refund_amount"]) == ("approve", 96600)
    assert resp.json["explanation"] == (
        "Your return of 1 × Mug is approved. We will refund 966.00 ISK to your original "
        "payment. Please send back: Mug. The money will be on its way within 48 hours.")
    harness.drain()
    assert [(a.amount, a.status) for a in harness.rows(refund_attempts)] == [
        (96600, "succeeded")]
    assert [(r["payment_intent"], r["amount"]) for r in fake_stripe.refunds] == [
        ("pi_isk", 96600)]
