"""A dearer exchange whose difference the customer paid, then sold out before it shipped: the
shirt comes back as the refund, and the customer is told that the difference they paid is
refunded too (a person does it: ``fallback.out_of_stock``), by email and on the status page,
not only of the refund for the shirt."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from refunds_plugin.ledger.tables import exchanges, outbox, refund_attempts, reviews
from refunds_plugin.notify.preview import preview
from tests.fakes import stripe_event
from tests.fakes.outbound_receiver import ANNOUNCED
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_out_of_stock import sold_out
from tests.integration.shipping.test_exchange_triggers import POLICY, swap

pytestmark = pytest.mark.usefixtures("erp")
SHIRT = [{"id": "l1", "sku": "SHIRT-M", "name": "Shirt M", "quantity": 1, "unit_amount": 3000,
          "variants": [{"sku": "SHIRT-XL", "name": "Shirt XL", "unit_amount": 3500,
                        "in_stock": True, "variant_id": "vXL"}]}]
PAID_BACK = ("We are also refunding the 5.00 USD you paid for the difference; a person on our "
             "team is arranging it.")


def test_the_difference_paid_for_a_sold_out_item_is_said_to_come_back_too(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(POLICY + "  ship_on: approval\n", label=False, **ANNOUNCED)
    r.paid(lines=SHIRT, shipping=0)
    decision = str(r.ask(lines=swap("SHIRT-XL", "Shirt XL", 3500))["decision_id"])
    [cs_id] = r.stripe.fake.checkout_sessions
    paid = r.stripe.fake.complete_session(cs_id)
    assert r.h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed",
                                        paid)).status_code == 200
    r.h.drain()

    assert sold_out(r, "sf_so_1", decision, ["SHIRT-XL"]).status_code == 200

    [row] = r.h.rows(exchanges)
    assert (row.status, row.charge_amount, row.paid_at is not None) == ("fallen_back", 500, True)
    [attempt] = r.h.rows(refund_attempts)  # the shirt's 30.00; the 5.00 is a person's
    assert (attempt.decision_id, attempt.amount) == (row.fallback_decision_id, 3000)
    [review] = r.h.rows(reviews)
    assert "the customer paid a difference of 5.00 USD" in review.reason
    [mail] = [m for m in r.h.rows(outbox) if m.kind == "exchange_unavailable"]
    renderer = r.h.runtime.renderer
    assert renderer is not None
    said = renderer.render("exchange_unavailable", json.loads(mail.context))
    assert said.text.startswith(
        "We are sorry: Shirt XL went out of stock before we could send it, so we cannot make "
        "your exchange.\nInstead, we are refunding 30.00 USD to your original payment.\n"
        f"{PAID_BACK}\nNothing else will be sent to you for this exchange.\n")
    assert PAID_BACK in " ".join(r.status_page(decision).split())
    # finance's preview of it is the email as it was recorded, not a made-up one with no item
    shown = preview(r.h.runtime.engine, renderer, "exchange_unavailable", decision, r.h.clock())
    assert (shown.rendered.text, shown.example) == (said.text, False)
